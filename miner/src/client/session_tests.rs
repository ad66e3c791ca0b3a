//! Tests of the Stratum session's rules, line by line, without sockets.

use super::*;
use otedama_proto::hash::PowHash;

fn config(algo: PowAlgo) -> SessionConfig {
    SessionConfig {
        user: "addr.w1".into(),
        password: "x".into(),
        algo,
        user_agent: "otedama-miner/test".into(),
        suggest_difficulty: None,
        extranonce_subscribe: true,
        version_rolling: algo == PowAlgo::Sha256d,
    }
}

fn sent(line: &str) -> Value {
    serde_json::from_str(line).expect("the session writes JSON")
}

fn notify(id: &str, version: &str, clean: bool) -> String {
    json!({"id": null, "method": "mining.notify", "params": [
        id, "00".repeat(32), "01", "02", [], version, "1d00ffff", "60000000", clean
    ]})
    .to_string()
}

/// A session past the handshake (sha256d: ids 1 configure, 2 subscribe, 3 authorize; scrypt
/// has no configure, so 1 subscribe, 2 authorize).
fn ready(algo: PowAlgo, mask: &str) -> (Session, Vec<Event>) {
    let mut s = Session::new(config(algo), 7);
    s.start();
    let mut events = Vec::new();
    if algo == PowAlgo::Sha256d {
        let reply = json!({"id": 1, "result": {"version-rolling": true, "version-rolling.mask": mask}, "error": null});
        events.extend(s.handle_line(&reply.to_string()).expect("configure"));
    }
    let (sub, auth) = if algo == PowAlgo::Sha256d {
        (2, 3)
    } else {
        (1, 2)
    };
    let reply =
        json!({"id": sub, "result": [[["mining.notify", "s"]], "0a0b0c0d", 4], "error": null});
    events.extend(s.handle_line(&reply.to_string()).expect("subscribe"));
    let reply = json!({"id": auth, "result": true, "error": null});
    events.extend(s.handle_line(&reply.to_string()).expect("authorize"));
    (s, events)
}

fn works(events: &[Event]) -> Vec<Arc<Work>> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Work(w) => Some(Arc::clone(w)),
            _ => None,
        })
        .collect()
}

fn share(work: &Work, index: u64) -> Share {
    work.share(&work.unit(index).expect("unit"), 42, PowHash([0; 32]), 0)
}

#[test]
fn handshake_is_configure_subscribe_authorize_then_options() {
    let mut cfg = config(PowAlgo::Sha256d);
    cfg.suggest_difficulty = Some(0.5);
    let lines: Vec<Value> = Session::new(cfg, 1)
        .start()
        .iter()
        .map(|l| sent(l))
        .collect();
    let methods: Vec<&str> = lines
        .iter()
        .map(|l| l["method"].as_str().expect("method"))
        .collect();
    assert_eq!(
        methods,
        [
            "mining.configure",
            "mining.subscribe",
            "mining.authorize",
            "mining.suggest_difficulty",
            "mining.extranonce.subscribe"
        ]
    );
    assert_eq!(lines[0]["params"][1]["version-rolling.mask"], "1fffe000");
    assert_eq!(lines[1]["params"], json!(["otedama-miner/test"]));
    assert_eq!(lines[2]["params"], json!(["addr.w1", "x"]));
    assert_eq!(lines[3]["params"], json!([0.5]));
    let scrypt: Vec<Value> = Session::new(config(PowAlgo::Scrypt), 1)
        .start()
        .iter()
        .map(|l| sent(l))
        .collect();
    assert_eq!(
        scrypt[0]["method"], "mining.subscribe",
        "no version rolling for scrypt"
    );
}

#[test]
fn work_waits_for_subscription_login_and_a_job_in_any_order() {
    let mut s = Session::new(config(PowAlgo::Scrypt), 7);
    s.start();
    assert!(works(
        &s.handle_line(&notify("a", "20000000", true))
            .expect("notify")
    )
    .is_empty());
    let sub = r#"{"id":1,"result":[[],"0a0b0c0d",4],"error":null}"#;
    assert!(!s.is_subscribed());
    assert!(works(&s.handle_line(sub).expect("subscribe")).is_empty());
    assert!(s.is_subscribed() && !s.is_authorized());
    let events = s
        .handle_line(r#"{"id":2,"result":true,"error":null}"#)
        .expect("auth");
    assert!(matches!(events[0], Event::Authorized));
    let w = works(&events);
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].job.id, "a");
    assert_eq!(w[0].extranonce1, vec![10, 11, 12, 13]);
    assert_eq!(w[0].difficulty, 1.0, "difficulty 1 until the pool sets one");
    assert_eq!(w[0].target, Target::SCRYPT_STRATUM_DIFF1);
    assert_eq!(w[0].session, 7);
}

#[test]
fn a_clean_job_drops_shares_of_older_jobs_a_plain_one_does_not() {
    let (mut s, _) = ready(PowAlgo::Scrypt, "");
    let a = works(&s.handle_line(&notify("a", "20000000", true)).expect("a"))[0].clone();
    let b = works(&s.handle_line(&notify("b", "20000000", false)).expect("b"))[0].clone();
    assert!(
        s.submit(&share(&a, 0)).is_some(),
        "a plain job keeps older ones live"
    );
    let c = works(&s.handle_line(&notify("c", "20000000", true)).expect("c"))[0].clone();
    assert!(s.submit(&share(&a, 1)).is_none());
    assert!(s.submit(&share(&b, 1)).is_none());
    let line = s.submit(&share(&c, 1)).expect("the current job");
    let v = sent(&line);
    assert_eq!(v["method"], "mining.submit");
    assert_eq!(
        v["params"],
        json!(["addr.w1", "c", "00000001", "60000000", "0000002a"])
    );
    let mut other_connection = share(&c, 2);
    other_connection.session = 6;
    assert!(s.submit(&other_connection).is_none());
}

#[test]
fn fractional_difficulty_and_the_scrypt_factor() {
    for (algo, diff1) in [
        (PowAlgo::Sha256d, Target::SHA256D_DIFF1),
        (PowAlgo::Scrypt, Target::SCRYPT_STRATUM_DIFF1),
    ] {
        let (mut s, _) = ready(algo, "1fffe000");
        s.handle_line(&notify("a", "20000000", true))
            .expect("notify");
        let set = r#"{"id":null,"method":"mining.set_difficulty","params":[0.00015]}"#;
        let w = works(&s.handle_line(set).expect("difficulty"));
        assert_eq!(w.len(), 1, "{algo}: the first difficulty applies at once");
        assert_eq!(
            w[0].target,
            Target::from_stratum_difficulty(algo, 0.00015).expect("valid")
        );
        assert!(
            w[0].target > diff1,
            "{algo}: a fractional difficulty is easier than 1"
        );
        let d1 = diff1.to_u256().to_f64();
        let ratio = w[0].target.to_u256().to_f64() / d1;
        assert!(
            (ratio - 1.0 / 0.00015).abs() < 1e-6 * ratio,
            "{algo}: {ratio}"
        );
    }
    let scrypt = Target::SCRYPT_STRATUM_DIFF1.to_u256().to_f64();
    let sha = Target::SHA256D_DIFF1.to_u256().to_f64();
    assert_eq!(scrypt / sha, 65536.0);
}

#[test]
fn higher_difficulty_applies_at_once_lower_with_the_next_job() {
    let (mut s, _) = ready(PowAlgo::Sha256d, "00000000");
    let set =
        |d: f64| json!({"id": null, "method": "mining.set_difficulty", "params": [d]}).to_string();
    s.handle_line(&set(2.0)).expect("difficulty");
    let first = works(&s.handle_line(&notify("a", "20000000", true)).expect("a"))[0].clone();
    first.next_unit();
    let up = works(&s.handle_line(&set(4.0)).expect("up"));
    assert_eq!(up[0].difficulty, 4.0);
    assert!(
        Arc::ptr_eq(&up[0].units, &first.units),
        "same job: units continue"
    );
    assert!(works(&s.handle_line(&set(0.5)).expect("down")).is_empty());
    assert_eq!(s.difficulty(), 4.0);
    let next = works(&s.handle_line(&notify("b", "20000000", false)).expect("b"));
    assert_eq!(next[0].difficulty, 0.5);
    assert!(works(&s.handle_line(&set(-1.0)).expect("ignored")).is_empty());
    assert_eq!(s.difficulty(), 0.5);
}

#[test]
fn version_rolling_uses_the_pools_mask_and_submits_the_bits() {
    let (mut s, _) = ready(PowAlgo::Sha256d, "1fffe0ff");
    assert_eq!(
        s.version_mask(),
        0x1fff_e000,
        "the pool's mask, within BIP 320's bits"
    );
    let w = works(
        &s.handle_line(&notify("a", "20002000", true))
            .expect("notify"),
    )[0]
    .clone();
    assert_eq!(w.version_mask, 0x1fff_e000);
    let v = sent(&s.submit(&share(&w, 1)).expect("live"));
    assert_eq!(
        v["params"][5], "00000000",
        "unit 1 clears the job's bit inside the mask"
    );
    let v = sent(&s.submit(&share(&w, 0)).expect("live"));
    assert_eq!(
        v["params"][5], "00002000",
        "bits are the version's bits inside the mask"
    );
    let mask = r#"{"id":null,"method":"mining.set_version_mask","params":["00006000"]}"#;
    let w = works(&s.handle_line(mask).expect("mask"));
    assert_eq!(w[0].version_mask, 0x6000);
    let (s, _) = ready(PowAlgo::Sha256d, "00000000");
    assert_eq!(s.version_mask(), 0);
}

#[test]
fn refused_login_carries_the_pools_reason() {
    let mut s = Session::new(config(PowAlgo::Sha256d), 1);
    s.start();
    let e = s
        .handle_line(r#"{"id":3,"result":null,"error":[24,"unknown payout address",null]}"#)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "the pool refused the login of `addr.w1`: error 24 (unauthorized worker): unknown payout address"
    );
    let mut s = Session::new(config(PowAlgo::Sha256d), 1);
    s.start();
    let e = s
        .handle_line(r#"{"id":3,"result":false,"error":null}"#)
        .unwrap_err();
    assert!(e.to_string().contains("answered false"), "{e}");
}

#[test]
fn share_results_are_reported_with_reasons() {
    let (mut s, _) = ready(PowAlgo::Scrypt, "");
    let w = works(&s.handle_line(&notify("a", "20000000", true)).expect("a"))[0].clone();
    let id = |line: &str| sent(line)["id"].as_u64().expect("id");
    let first = id(&s.submit(&share(&w, 0)).expect("live"));
    let second = id(&s.submit(&share(&w, 1)).expect("live"));
    assert_eq!(s.unanswered_shares(), 2);
    let ok = s
        .handle_line(&json!({"id": first, "result": true, "error": null}).to_string())
        .expect("reply");
    assert_eq!(
        s.unanswered_shares(),
        1,
        "an answered share is no longer pending"
    );
    assert!(matches!(&ok[0], Event::Accepted { job_id, .. } if job_id == "a"));
    let no = json!({"id": second, "result": null, "error": [23, "Low difficulty share", null]});
    match &s.handle_line(&no.to_string()).expect("reply")[0] {
        Event::Rejected { error, .. } => assert_eq!(error.reason(), "23 low difficulty share"),
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(s.unanswered_shares(), 0);
}

#[test]
fn a_new_extranonce_applies_with_the_next_job() {
    let (mut s, _) = ready(PowAlgo::Scrypt, "");
    s.handle_line(&notify("a", "20000000", true)).expect("a");
    let set = r#"{"id":null,"method":"mining.set_extranonce","params":["ffee",2]}"#;
    assert!(works(&s.handle_line(set).expect("set")).is_empty());
    let w = works(&s.handle_line(&notify("b", "20000000", true)).expect("b"));
    assert_eq!(w[0].extranonce1, vec![0xff, 0xee]);
    assert_eq!(w[0].extranonce2_size, 2);
}

#[test]
fn pool_requests_get_answers() {
    let (mut s, _) = ready(PowAlgo::Scrypt, "");
    let events = s
        .handle_line(r#"{"id":"v","method":"client.get_version","params":[]}"#)
        .expect("ok");
    match &events[0] {
        Event::Send(line) => assert_eq!(sent(line)["result"], "otedama-miner/test"),
        other => panic!("expected a reply, got {other:?}"),
    }
    let events = s
        .handle_line(r#"{"id":9,"method":"client.frobnicate","params":[]}"#)
        .expect("ok");
    match &events[0] {
        Event::Send(line) => assert_eq!(sent(line)["error"][0], 20),
        other => panic!("expected an error reply, got {other:?}"),
    }
    let events = s
        .handle_line(r#"{"id":null,"method":"client.reconnect","params":["other",3334,2]}"#)
        .expect("ok");
    assert!(matches!(
        &events[0],
        Event::Reconnect { host: Some(h), port: Some(3334), wait } if h == "other" && wait.as_secs() == 2
    ));
    assert!(s.handle_line("not json").is_err());
}

#[test]
fn the_same_job_under_a_new_id_keeps_the_nonce_walk() {
    let (mut s, _) = ready(PowAlgo::Sha256d, "1fffe000");
    let set =
        |d: f64| json!({"id": null, "method": "mining.set_difficulty", "params": [d]}).to_string();
    s.handle_line(&set(2.0)).expect("difficulty");
    let first = works(&s.handle_line(&notify("5", "20000000", true)).expect("5"))[0].clone();
    for _ in 0..3 {
        first.next_unit();
    }
    // Vardiff lowers the difficulty and re-sends job 5 under a new id: same header fields.
    assert!(works(&s.handle_line(&set(1.0)).expect("down")).is_empty());
    let again = works(
        &s.handle_line(&notify("5.1", "20000000", false))
            .expect("5.1"),
    )[0]
    .clone();
    assert_eq!((again.job.id.as_str(), again.difficulty), ("5.1", 1.0));
    assert_eq!(
        again.next_unit(),
        first.unit(3),
        "the walk goes on where it was, no header is hashed twice"
    );
    // A job whose header fields differ starts from unit 0.
    let other = works(&s.handle_line(&notify("6", "20000004", false)).expect("6"))[0].clone();
    assert_eq!(other.next_unit(), other.unit(0));
}

#[test]
fn a_new_extranonce_retires_the_jobs_before_it() {
    let (mut s, _) = ready(PowAlgo::Scrypt, "");
    let old = works(&s.handle_line(&notify("a", "20000000", true)).expect("a"))[0].clone();
    assert!(s.submit(&share(&old, 0)).is_some());
    let set = r#"{"id":null,"method":"mining.set_extranonce","params":["ffee0011",4]}"#;
    s.handle_line(set).expect("set");
    assert!(
        s.submit(&share(&old, 1)).is_none(),
        "found under the old extranonce1: the pool would reject it"
    );
    // Neither a plain job nor the old id sent again brings the old work back.
    let new = works(
        &s.handle_line(&notify("a", "20000000", false))
            .expect("a again"),
    )[0]
    .clone();
    assert_eq!(new.extranonce1, vec![0xff, 0xee, 0x00, 0x11]);
    assert!(s.submit(&share(&old, 2)).is_none());
    assert!(s.submit(&share(&new, 2)).is_some());
}
