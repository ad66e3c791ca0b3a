//! Unit tests of [`Session`]: the protocol rules without a socket, with real proof of work
//! against easy targets and a clock the test moves by hand.

use std::sync::Arc;

use otedama_proto::chain::{Coin, Network, PowAlgo};
use otedama_proto::hash::{BlockHash, ShareId};
use otedama_proto::target::Target;
use serde_json::{json, Value};

use super::job::JobBroadcast;
use super::testkit::{stratum_target, MinerJob, SimpleJob};
use super::{Outbound, Session, StatsRegistry, StratumConfig, Submission, Timestamp};

const BTC: &str = "bcrt1qdavt4j2sd7dlhqsavtnfxvzppw6k7qy97tmnu9";
const T0: u64 = 1_700_000_000;

struct Harness {
    session: Session,
    jobs: JobBroadcast,
    registry: Arc<StatsRegistry>,
    now: Timestamp,
    next_id: u64,
}

fn config(coin: Coin) -> StratumConfig {
    let mut config = StratumConfig::new(coin, Network::Regtest);
    config.min_difficulty = 1e-12;
    config.initial_difficulty = 1e-6;
    config
}

fn simple(prev: u8, clean: bool, block_difficulty: f64) -> SimpleJob {
    SimpleJob {
        prev_hash: BlockHash([prev; 32]),
        height: 100 + u32::from(prev),
        version: 0x2000_0000,
        nbits: stratum_target(PowAlgo::Sha256d, block_difficulty).to_compact(),
        ntime: T0 as u32,
        share_target: stratum_target(PowAlgo::Sha256d, block_difficulty),
        clean,
        other_transactions: 3,
    }
}

impl Harness {
    fn new(config: StratumConfig) -> Self {
        let registry = Arc::new(StatsRegistry::default());
        let now = Timestamp::from_secs(T0);
        let jobs = JobBroadcast::new(config.algo());
        let session = Session::new(
            Arc::new(config),
            registry.clone(),
            [0xde, 0xad, 0xbe, 0xef],
            now,
        );
        Harness {
            session,
            jobs,
            registry,
            now,
            next_id: 1,
        }
    }

    /// Sends a request; returns the reply and whatever followed it.
    fn call(&mut self, method: &str, params: Value) -> (Value, Vec<Value>, Vec<Submission>) {
        let id = self.next_id;
        self.next_id += 1;
        let line = json!({"id": id, "method": method, "params": params}).to_string();
        let out = self.session.handle_line(line.as_bytes(), self.now);
        let (mut messages, shares) = split(out);
        let at = messages
            .iter()
            .position(|m| m["id"] == json!(id))
            .expect("a reply");
        let reply = messages.remove(at);
        (reply, messages, shares)
    }

    fn publish(&mut self, job: SimpleJob) -> Vec<Value> {
        let job = self.jobs.publish(job.spec()).expect("valid job");
        split(self.session.on_job(&job, self.now)).0
    }

    /// Subscribes and authorizes; returns the first work sent.
    fn ready(&mut self, password: &str) -> Vec<Value> {
        let (reply, _, _) = self.call("mining.subscribe", json!(["test/1"]));
        assert_eq!(reply["error"], Value::Null);
        let (reply, work, _) =
            self.call("mining.authorize", json!([format!("{BTC}.rig"), password]));
        assert_eq!(reply["result"], json!(true), "{reply}");
        work
    }

    /// Mines a share of `job` meeting `target` (and, if `not_block`, missing `block`).
    fn mine(
        &self,
        job: &MinerJob,
        en2: u32,
        version: u32,
        target: &Target,
        avoid: Option<&Target>,
    ) -> u32 {
        let en1 = self.session.extranonce1();
        let mut start = 0;
        loop {
            let (nonce, hash) = job
                .search(
                    PowAlgo::Sha256d,
                    &en1,
                    &en2.to_be_bytes(),
                    job.ntime,
                    version,
                    target,
                    start..u32::MAX,
                )
                .expect("a nonce in range");
            if avoid.is_none_or(|t| !t.meets(&hash)) {
                return nonce;
            }
            start = nonce + 1;
        }
    }

    fn submit(
        &mut self,
        job: &MinerJob,
        en2: u32,
        nonce: u32,
        bits: Option<u32>,
    ) -> (Value, Vec<Value>, Vec<Submission>) {
        let mut params = vec![
            json!(format!("{BTC}.rig")),
            json!(job.job_id),
            json!(format!("{en2:08x}")),
            json!(format!("{:08x}", job.ntime)),
            json!(format!("{nonce:08x}")),
        ];
        params.extend(bits.map(|b| json!(format!("{b:08x}"))));
        self.call("mining.submit", Value::Array(params))
    }
}

fn split(out: Vec<Outbound>) -> (Vec<Value>, Vec<Submission>) {
    let mut messages = Vec::new();
    let mut shares = Vec::new();
    for item in out {
        match item {
            Outbound::Send(line) => {
                assert!(line.as_str().ends_with('\n'));
                messages.push(serde_json::from_str(line.as_str()).expect("JSON line"));
            }
            Outbound::Share(share) => shares.push(*share),
            Outbound::Close => messages.push(json!("CLOSE")),
        }
    }
    (messages, shares)
}

fn notify(messages: &[Value]) -> MinerJob {
    let n = messages
        .iter()
        .rev()
        .find(|m| m["method"] == "mining.notify")
        .expect("a notify");
    MinerJob::from_notify(&n["params"]).expect("notify decodes")
}

fn difficulty(messages: &[Value]) -> Option<f64> {
    messages
        .iter()
        .rev()
        .find(|m| m["method"] == "mining.set_difficulty")
        .map(|m| m["params"][0].as_f64().expect("a number"))
}

fn code(reply: &Value) -> u64 {
    reply["error"][0]
        .as_u64()
        .unwrap_or_else(|| panic!("an error reply: {reply}"))
}

#[test]
fn work_comes_after_subscribe_and_authorize_in_either_order() {
    let mut h = Harness::new(config(Coin::Bitcoin));
    assert!(h.publish(simple(1, true, 1.0)).is_empty());
    let (reply, work, _) = h.call("mining.authorize", json!([BTC, "x"]));
    assert_eq!((reply["result"].clone(), work.len()), (json!(true), 0));
    let (reply, work, _) = h.call("mining.subscribe", json!([]));
    assert_eq!(reply["result"][1], json!("deadbeef"));
    assert_eq!(reply["result"][2], json!(4));
    assert_eq!(difficulty(&work), Some(1e-6));
    assert!(notify(&work).clean);
}

#[test]
fn unknown_methods_get_error_20_and_notifications_no_reply() {
    let mut h = Harness::new(config(Coin::Bitcoin));
    let (reply, _, _) = h.call("mining.get_transactions", json!([]));
    assert_eq!(code(&reply), 20);
    let out = h.session.handle_line(
        br#"{"id":null,"method":"mining.suggest_difficulty","params":[0.5]}"#,
        h.now,
    );
    assert!(out.is_empty());
    let out = h.session.handle_line(br#"{"id":5}"#, h.now);
    assert_eq!(code(&split(out).0[0]), 20);
    let (garbage, _) = split(h.session.handle_line(b"\x16\x03\x01 not json", h.now));
    assert_eq!(
        (code(&garbage[0]), garbage[1].clone()),
        (20, json!("CLOSE"))
    );
}

#[test]
fn configure_answers_every_extension() {
    let mut h = Harness::new(config(Coin::Bitcoin));
    let (reply, _, _) = h.call(
        "mining.configure",
        json!([["minimum-difficulty", "version-rolling", "subscribe-extranonce"],
               {"version-rolling.mask": "00ffe000", "version-rolling.min-bit-count": 2, "minimum-difficulty.value": 2048}]),
    );
    assert_eq!(
        reply["result"],
        json!({"minimum-difficulty": false, "version-rolling": true,
               "version-rolling.mask": "00ffe000", "subscribe-extranonce": false})
    );
    let (reply, _, _) = h.call(
        "mining.configure",
        json!([["version-rolling"], {"version-rolling.mask": "ffffffff", "version-rolling.min-bit-count": 20}]),
    );
    assert_eq!(reply["result"], json!({"version-rolling": false}));
}

#[test]
fn submit_errors_use_the_standard_codes() {
    let mut h = Harness::new(config(Coin::Bitcoin));
    h.publish(simple(1, true, 1.0));
    let params = json!([BTC, "1", "00000000", format!("{T0:08x}"), "00000000"]);
    assert_eq!(code(&h.call("mining.submit", params.clone()).0), 25);
    h.call("mining.subscribe", json!([]));
    assert_eq!(code(&h.call("mining.submit", params).0), 24);
    let work = h.ready("x");
    let job = notify(&work);
    let target = stratum_target(PowAlgo::Sha256d, 1e-6);
    let nonce = h.mine(&job, 7, job.version, &target, None);
    let wrong = |h: &mut Harness, i: usize, v: Value| {
        let mut p = vec![
            json!(format!("{BTC}.rig")),
            json!(job.job_id),
            json!("00000007"),
            json!(format!("{:08x}", job.ntime)),
            json!(format!("{nonce:08x}")),
        ];
        p[i] = v;
        code(&h.call("mining.submit", Value::Array(p)).0)
    };
    assert_eq!(wrong(&mut h, 2, json!("0007")), 20);
    assert_eq!(
        wrong(&mut h, 3, json!(format!("{:08x}", job.ntime - 1))),
        20
    );
    assert_eq!(wrong(&mut h, 3, json!(format!("{:08x}", T0 + 7200))), 20);
    assert_eq!(wrong(&mut h, 1, json!("ffff")), 21);
    assert_eq!(wrong(&mut h, 1, json!("not-a-job")), 21);
    // Version bits without mining.configure: the mask is empty.
    assert_eq!(code(&h.submit(&job, 7, nonce, Some(0x2000)).0), 20);
    assert_eq!(h.submit(&job, 7, nonce, None).0["result"], json!(true));
    assert_eq!(code(&h.submit(&job, 7, nonce, None).0), 22);
    let low = h.mine(&job, 8, job.version, &Target::MAX, Some(&target));
    assert_eq!(code(&h.submit(&job, 8, low, None).0), 23);
    let stats = h.registry.snapshot(PowAlgo::Sha256d, h.now);
    assert_eq!((stats[0].accepted, stats[0].rejected), (1, 8));
}

#[test]
fn version_rolling_replaces_the_masked_bits_of_the_job_version() {
    let mut h = Harness::new(config(Coin::Bitcoin));
    let mut job = simple(1, true, 1.0);
    job.version = 0x2000_6000; // bits 13 and 14 set, inside the mask
    h.publish(job);
    h.call(
        "mining.configure",
        json!([["version-rolling"], {"version-rolling.mask": "ffffffff"}]),
    );
    let job = notify(&h.ready("x"));
    let target = stratum_target(PowAlgo::Sha256d, 1e-6);
    let bits = 0x0000_a000; // bit 13 kept, bit 14 cleared, bit 15 set
    let version = 0x2000_a000;
    let nonce = h.mine(&job, 1, version, &target, None);
    let (reply, _, shares) = h.submit(&job, 1, nonce, Some(bits));
    assert_eq!(reply["result"], json!(true), "{reply}");
    assert_eq!(
        u32::from_le_bytes(shares[0].header[..4].try_into().unwrap()),
        version
    );
    // A miner that ORs (0x2000e000) hashed another header: not a share of the right one.
    let or_nonce = h.mine(&job, 2, 0x2000_6000 | bits, &target, None);
    let check = stratum_target(PowAlgo::Sha256d, 1e-6);
    let right = job.header(
        &h.session.extranonce1(),
        &2u32.to_be_bytes(),
        job.ntime,
        or_nonce,
        version,
    );
    if !check.meets(&otedama_proto::pow::pow_hash(PowAlgo::Sha256d, &right)) {
        assert_eq!(code(&h.submit(&job, 2, or_nonce, Some(bits)).0), 23);
    }
    assert_eq!(code(&h.submit(&job, 3, nonce, Some(0x4000_0000)).0), 20);
}

#[test]
fn a_difficulty_change_applies_to_the_next_job_only() {
    let mut h = Harness::new(config(Coin::Bitcoin));
    h.publish(simple(1, true, 1.0));
    let old = notify(&h.ready("x"));
    let (reply, after, _) = h.call("mining.suggest_difficulty", json!([0.0001]));
    assert_eq!(reply["result"], json!(true));
    assert_eq!(difficulty(&after), Some(0.0001));
    let new = notify(&after);
    assert_ne!(new.job_id, old.job_id);
    assert!(!new.clean);
    // A share on the old job at its own difficulty is still good, credited at that difficulty.
    let easy = stratum_target(PowAlgo::Sha256d, 1e-6);
    let hard = stratum_target(PowAlgo::Sha256d, 0.0001);
    let nonce = h.mine(&old, 1, old.version, &easy, Some(&hard));
    let (reply, _, shares) = h.submit(&old, 1, nonce, None);
    assert_eq!(
        (reply["result"].clone(), shares[0].difficulty),
        (json!(true), 1e-6)
    );
    // (Another extranonce2: the same one would give the same header, a duplicate.)
    let nonce = h.mine(&new, 2, new.version, &easy, Some(&hard));
    assert_eq!(code(&h.submit(&new, 2, nonce, None).0), 23);
}

#[test]
fn fixed_difficulty_by_password_and_vardiff_for_others() {
    let mut h = Harness::new(config(Coin::Bitcoin));
    h.publish(simple(1, true, 1.0));
    let work = h.ready("x,d=0.00002");
    assert_eq!(difficulty(&work), Some(0.00002));
    let job = notify(&work);
    let target = stratum_target(PowAlgo::Sha256d, 0.00002);
    for en2 in 0..14 {
        let nonce = h.mine(&job, en2, job.version, &target, None);
        let (reply, after, _) = h.submit(&job, en2, nonce, None);
        assert_eq!((reply["result"].clone(), after.len()), (json!(true), 0));
    }

    let mut h = Harness::new(config(Coin::Bitcoin));
    h.publish(simple(1, true, 1.0));
    let job = notify(&h.ready("x"));
    let target = stratum_target(PowAlgo::Sha256d, 1e-6);
    let mut changes = Vec::new();
    for en2 in 0..12 {
        let nonce = h.mine(&job, en2, job.version, &target, None);
        h.now = h.now.plus_millis(100);
        let (reply, after, _) = h.submit(&job, en2, nonce, None);
        assert_eq!(reply["result"], json!(true));
        changes.extend(difficulty(&after));
    }
    assert_eq!(changes, vec![4e-6]);
}

#[test]
fn vardiff_goes_down_on_a_new_job_when_shares_are_overdue_but_not_below_the_suggestion() {
    let mut h = Harness::new(config(Coin::Bitcoin));
    h.publish(simple(1, true, 1.0));
    h.ready("x");
    h.call("mining.suggest_difficulty", json!([0.00001]));
    h.now = h.now.plus_millis(61_000);
    assert_eq!(difficulty(&h.publish(simple(1, false, 1.0))), None);
    let mut h = Harness::new(config(Coin::Bitcoin));
    h.publish(simple(1, true, 1.0));
    h.ready("x");
    h.now = h.now.plus_millis(61_000);
    assert_eq!(difficulty(&h.publish(simple(1, false, 1.0))), Some(2.5e-7));
}

#[test]
fn difficulty_is_capped_by_the_job_share_and_block_targets() {
    let mut h = Harness::new(config(Coin::Bitcoin));
    h.publish(simple(1, true, 1e-7));
    let work = h.ready("d=1000");
    let cap = difficulty(&work).expect("a difficulty");
    assert!(cap <= 1e-7 && cap > 0.99e-7, "{cap}");
}

#[test]
fn a_stale_share_is_rejected_unless_it_is_a_block() {
    let mut h = Harness::new(config(Coin::Bitcoin));
    // Block difficulty 16x the miner's: most shares are not blocks, some are.
    h.publish(simple(1, true, 1.6e-5));
    let old = notify(&h.ready("x"));
    let new = notify(&h.publish(simple(2, true, 1.6e-5)));
    assert!(new.clean);
    let share = stratum_target(PowAlgo::Sha256d, 1e-6);
    let block = stratum_target(PowAlgo::Sha256d, 1.6e-5);
    let nonce = h.mine(&old, 1, old.version, &share, Some(&block));
    let (reply, _, shares) = h.submit(&old, 1, nonce, None);
    assert_eq!((code(&reply), shares.len()), (21, 0));
    let nonce = h.mine(&old, 2, old.version, &block, None);
    let (reply, _, shares) = h.submit(&old, 2, nonce, None);
    assert_eq!(reply["result"], json!(true));
    assert!(shares[0].is_block() && shares[0].stale && !shares[0].is_sharechain_share());
    let stats = h.registry.snapshot(PowAlgo::Sha256d, h.now);
    assert_eq!(
        (stats[0].accepted, stats[0].stale, stats[0].blocks),
        (1, 1, 1)
    );
}

#[test]
fn a_valid_share_carries_the_header_and_coinbase() {
    let mut h = Harness::new(config(Coin::Bitcoin));
    h.publish(simple(1, true, 1.0));
    let job = notify(&h.ready("x"));
    let target = stratum_target(PowAlgo::Sha256d, 1e-6);
    let nonce = h.mine(&job, 9, job.version, &target, None);
    let (_, _, shares) = h.submit(&job, 9, nonce, None);
    let share = &shares[0];
    let en1 = h.session.extranonce1();
    assert_eq!(share.coinbase, job.coinbase(&en1, &9u32.to_be_bytes()));
    assert_eq!(
        share.header,
        job.header(&en1, &9u32.to_be_bytes(), job.ntime, nonce, job.version)
    );
    assert_eq!(share.worker, format!("{BTC}.rig"));
    assert_eq!(share.payout.as_str(), BTC);
    assert!(share.meets_share_target || !share.is_sharechain_share());
}

#[test]
fn set_extranonce_goes_only_to_subscribers() {
    let mut h = Harness::new(config(Coin::Bitcoin));
    h.publish(simple(1, true, 1.0));
    h.ready("x");
    assert!(h.session.set_extranonce1([1, 2, 3, 4]).is_none());
    assert_eq!(h.session.extranonce1(), [0xde, 0xad, 0xbe, 0xef]);
    h.call("mining.extranonce.subscribe", json!([]));
    let (messages, _) = split(h.session.set_extranonce1([1, 2, 3, 4]).expect("subscribed"));
    assert_eq!(messages[0]["method"], json!("mining.set_extranonce"));
    assert_eq!(messages[0]["params"], json!(["01020304", 4]));
    assert!(notify(&messages).clean);
}

#[test]
fn a_bad_address_is_unauthorized_with_the_reason() {
    let mut h = Harness::new(config(Coin::Litecoin));
    let (reply, _, _) = h.call("mining.authorize", json!([format!("{BTC}.rig"), "x"]));
    assert_eq!(code(&reply), 24);
    let message = reply["error"][1].as_str().unwrap();
    assert!(
        message.contains(BTC) && message.contains("litecoin regtest"),
        "{message}"
    );
    let (reply, _, _) = h.call(
        "mining.authorize",
        json!(["rltc1qj08ys4ct2hzzc2hcz6h2hgrvlmsjynawf4nr3r.w1", "x"]),
    );
    assert_eq!(reply["result"], json!(true));
}

/// Gives each address its own coinbase (its script in the output) and share target, and no work
/// at all to one address.
#[derive(Debug)]
struct PerMiner {
    share_difficulty: f64,
    refused: &'static str,
}

impl super::CoinbaseProvider for PerMiner {
    fn coinbase_for(
        &self,
        payout: &otedama_proto::address::PayoutAddress,
    ) -> Result<Arc<super::MinerCoinbase>, String> {
        if payout.as_str() == self.refused {
            return Err("its payout would be dust".into());
        }
        let script = payout.script_pubkey().as_bytes();
        let mut coinb2 = vec![0xff, 0xff, 0xff, 0xff, 1];
        coinb2.extend_from_slice(&5_000_000_000u64.to_le_bytes());
        coinb2.push(script.len() as u8);
        coinb2.extend_from_slice(script);
        coinb2.extend_from_slice(&[0; 4]);
        Ok(Arc::new(super::MinerCoinbase {
            coinb1: hex::decode("01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff0d0364000008").unwrap(),
            coinb2,
            share_target: stratum_target(PowAlgo::Sha256d, self.share_difficulty),
        }))
    }
}

const BTC2: &str = "mfhE6jAUwjUDNZhaX1PAsDTKfneQF2Nshc";

#[test]
fn each_miner_hashes_its_own_coinbase_and_share_target() {
    let provider = Arc::new(PerMiner {
        share_difficulty: 2e-6,
        refused: "2MxFajLApXpYk4VodBSZSt7rw8y4ryABkfA",
    });
    let spec = |h: &Harness| {
        let mut spec = simple(1, true, 1.0).spec();
        spec.coinbases = provider.clone();
        h.jobs.publish(spec).expect("valid job")
    };
    let mut a = Harness::new(config(Coin::Bitcoin));
    let job = spec(&a);
    a.session.on_job(&job, a.now);
    let job_a = notify(&a.ready("d=0.001"));
    // The cap is this miner's share difficulty, not the job's default.
    assert!((a.session.difficulty().unwrap() / 2e-6 - 1.0).abs() < 1e-9);
    let mut b = Harness::new(config(Coin::Bitcoin));
    b.session.on_job(&job, b.now);
    b.call("mining.subscribe", json!([]));
    let (reply, work, _) = b.call("mining.authorize", json!([BTC2, "x"]));
    assert_eq!(reply["result"], json!(true));
    let job_b = notify(&work);
    assert_eq!(job_a.job_id, job_b.job_id);
    assert_eq!(job_a.coinb1, job_b.coinb1);
    assert_ne!(
        job_a.coinb2, job_b.coinb2,
        "each coinbase pays its own miner"
    );
    // A second address on the same connection, and an address the provider refuses: 24.
    let (reply, _, _) = b.call("mining.authorize", json!([BTC, "x"]));
    assert_eq!(code(&reply), 24);
    let mut c = Harness::new(config(Coin::Bitcoin));
    c.session.on_job(&job, c.now);
    let (reply, _, _) = c.call(
        "mining.authorize",
        json!(["2MxFajLApXpYk4VodBSZSt7rw8y4ryABkfA", "x"]),
    );
    assert_eq!(code(&reply), 24);
    assert!(
        reply["error"][1].as_str().unwrap().contains("dust"),
        "{reply}"
    );
    // A share carries the miner's own coinbase, checked against its own share target.
    let target = stratum_target(PowAlgo::Sha256d, 1e-6);
    let share_target = stratum_target(PowAlgo::Sha256d, 2e-6);
    let nonce = b.mine(&job_b, 3, job_b.version, &target, Some(&share_target));
    let mut params = vec![
        json!(BTC2),
        json!(job_b.job_id),
        json!("00000003"),
        json!(format!("{:08x}", job_b.ntime)),
        json!(format!("{nonce:08x}")),
    ];
    let (reply, _, shares) = b.call("mining.submit", Value::Array(std::mem::take(&mut params)));
    assert_eq!(reply["result"], json!(true));
    assert_eq!(
        shares[0].coinbase,
        job_b.coinbase(&b.session.extranonce1(), &3u32.to_be_bytes())
    );
    assert!(!shares[0].meets_share_target);
    assert_eq!(shares[0].payout.as_str(), BTC2);
}

#[test]
fn notify_and_header_byte_order_as_miners_expect() {
    let mut h = Harness::new(config(Coin::Bitcoin));
    let mut spec = simple(1, true, 1.0);
    // Internal byte order 00 01 02 … 1f; RPC shows it reversed: 1f1e…00.
    spec.prev_hash = BlockHash(std::array::from_fn(|i| i as u8));
    spec.version = 0x2000_0004;
    h.publish(spec);
    let work = h.ready("x");
    let raw = work
        .iter()
        .rev()
        .find(|m| m["method"] == "mining.notify")
        .unwrap()["params"]
        .clone();
    let rpc_hex: String = (0..32u8).rev().map(|b| format!("{b:02x}")).collect();
    // prevhash: the eight 4-byte words of the RPC hex in reverse order.
    let words: Vec<&str> = (0..8).map(|i| &rpc_hex[8 * i..8 * i + 8]).collect();
    let expected: String = words.iter().rev().copied().collect();
    assert_eq!(raw[1], json!(expected));
    assert_eq!(raw[5], json!("20000004"));
    assert_eq!(raw[6], json!(format!("{:08x}", spec.nbits.to_consensus())));
    assert_eq!(raw[7], json!(format!("{T0:08x}")));
    // In the header the same fields are little-endian, the hash in internal order.
    let job = notify(&work);
    let target = stratum_target(PowAlgo::Sha256d, 1e-6);
    let nonce = h.mine(&job, 1, job.version, &target, None);
    let (_, _, shares) = h.submit(&job, 1, nonce, None);
    let header = shares[0].header;
    assert_eq!(header[..4], 0x2000_0004u32.to_le_bytes());
    assert_eq!(header[4..36], std::array::from_fn::<u8, 32, _>(|i| i as u8));
    assert_eq!(header[68..72], (T0 as u32).to_le_bytes());
    assert_eq!(header[72..76], spec.nbits.to_consensus().to_le_bytes());
    assert_eq!(header[76..80], nonce.to_le_bytes());
}

#[test]
fn a_block_is_never_refused_for_the_share_cap() {
    let mut config = config(Coin::Bitcoin);
    config.max_shares_per_job = 2;
    let mut h = Harness::new(config);
    // Block difficulty 16x the miner's: most shares are not blocks, some are.
    h.publish(simple(1, true, 1.6e-5));
    let job = notify(&h.ready("d=0.000001"));
    let share = stratum_target(PowAlgo::Sha256d, 1e-6);
    let block = stratum_target(PowAlgo::Sha256d, 1.6e-5);
    for en2 in 0..2 {
        let nonce = h.mine(&job, en2, job.version, &share, Some(&block));
        assert_eq!(h.submit(&job, en2, nonce, None).0["result"], json!(true));
    }
    let nonce = h.mine(&job, 2, job.version, &share, Some(&block));
    let (reply, _, shares) = h.submit(&job, 2, nonce, None);
    assert_eq!((code(&reply), shares.len()), (20, 0), "the cap holds");
    let nonce = h.mine(&job, 3, job.version, &block, None);
    let (reply, _, shares) = h.submit(&job, 3, nonce, None);
    assert_eq!(reply["result"], json!(true), "{reply}");
    assert!(shares[0].is_block());
    // The same block again is a duplicate: it was handed on already.
    assert_eq!(code(&h.submit(&job, 3, nonce, None).0), 22);
}

#[test]
fn ntime_past_the_sharechain_limit_is_refused_unless_a_block() {
    let mut h = Harness::new(config(Coin::Bitcoin));
    h.publish(simple(1, true, 1.6e-5));
    let job = notify(&h.ready("x"));
    let share = stratum_target(PowAlgo::Sha256d, 1e-6);
    let block = stratum_target(PowAlgo::Sha256d, 1.6e-5);
    // The sharechain takes a header time up to now + 120 s (its `max_future`).
    let mut at_limit = job.clone();
    at_limit.ntime = T0 as u32 + 120;
    let nonce = h.mine(&at_limit, 1, job.version, &share, Some(&block));
    assert_eq!(h.submit(&at_limit, 1, nonce, None).0["result"], json!(true));
    let mut beyond = job.clone();
    beyond.ntime = T0 as u32 + 121;
    let nonce = h.mine(&beyond, 2, job.version, &share, Some(&block));
    let (reply, _, shares) = h.submit(&beyond, 2, nonce, None);
    assert_eq!((code(&reply), shares.len()), (20, 0), "{reply}");
    // The coin takes the block all the same: it goes to the daemon, not to the sharechain.
    let nonce = h.mine(&beyond, 3, job.version, &block, None);
    let (reply, _, shares) = h.submit(&beyond, 3, nonce, None);
    assert_eq!(reply["result"], json!(true), "{reply}");
    assert!(shares[0].is_block() && !shares[0].is_sharechain_share());
}

#[test]
fn a_share_is_a_duplicate_under_a_reissue_of_its_job() {
    let mut h = Harness::new(config(Coin::Bitcoin));
    h.publish(simple(1, true, 1.0));
    let old = notify(&h.ready("x"));
    let (_, after, _) = h.call("mining.suggest_difficulty", json!([1e-7]));
    let new = notify(&after);
    assert_ne!(new.job_id, old.job_id);
    let target = stratum_target(PowAlgo::Sha256d, 1e-6);
    let nonce = h.mine(&old, 1, old.version, &target, None);
    assert_eq!(h.submit(&old, 1, nonce, None).0["result"], json!(true));
    // The same header under the job's new id.
    assert_eq!(code(&h.submit(&new, 1, nonce, None).0), 22);
    let nonce = h.mine(&new, 2, new.version, &target, None);
    assert_eq!(h.submit(&new, 2, nonce, None).0["result"], json!(true));
    assert_eq!(code(&h.submit(&old, 2, nonce, None).0), 22);
}

#[test]
fn a_new_share_parent_cleans_jobs_but_shares_on_the_old_one_still_count() {
    let mut h = Harness::new(config(Coin::Bitcoin));
    let mut spec = simple(1, true, 1.0).spec();
    spec.share_parent = Some(ShareId([1; 32]));
    let job = h.jobs.publish(spec.clone()).expect("valid job");
    h.session.on_job(&job, h.now);
    let old = notify(&h.ready("x"));
    // A template refresh on the same parent: miners may finish the old work.
    let mut refresh = spec.clone();
    refresh.clean = false;
    let job = h.jobs.publish(refresh.clone()).expect("valid job");
    assert!(!notify(&split(h.session.on_job(&job, h.now)).0).clean);
    // A new sharechain tip: miners drop work on the old parent at once.
    let mut tip = refresh;
    tip.share_parent = Some(ShareId([2; 32]));
    let job = h.jobs.publish(tip).expect("valid job");
    assert!(notify(&split(h.session.on_job(&job, h.now)).0).clean);
    // A share on the old parent that was already on its way still counts (as an uncle).
    let target = stratum_target(PowAlgo::Sha256d, 1e-6);
    let nonce = h.mine(&old, 1, old.version, &target, None);
    let (reply, _, shares) = h.submit(&old, 1, nonce, None);
    assert_eq!(reply["result"], json!(true), "{reply}");
    assert!(!shares[0].stale);
}
