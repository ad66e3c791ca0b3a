//! Failback against fake pools (see `common`): a miner that failed over to its backup pool
//! returns to its first pool once that pool accepts a login again, and only then.
//!
//! The first pool starts down (its port bound but not listening, so connections are refused)
//! and comes up on the same port during the test. Probes run every second here.

mod common;

use std::time::{Duration, Instant};

use common::{meets, pow, Conn, Down, Handshake, Miner, Pool, Submit, TestJob};
use serde_json::json;

const USER: &str = "bcrt1qexampleaddress.rig3";
/// About 43,000 sha256d hashes per share.
const SHA_DIFF: f64 = 0.0000123;

fn handshake() -> Handshake {
    Handshake {
        mask: None,
        refuse: None,
        extranonce1: vec![0xf0, 0x00, 0x00, 0x0f],
    }
}

/// Checks that `s` is a good share of `job`.
fn check_share(job: &TestJob, s: &Submit) {
    assert_eq!(s.user, USER);
    assert_eq!(s.job_id, job.id);
    let header = job.header(&handshake().extranonce1, s, 0);
    assert!(
        meets("sha256d", &pow("sha256d", &header), SHA_DIFF),
        "{s:?} does not meet the share target"
    );
}

/// Starts a miner on `first` then `backup` with `extra` arguments and `env`, and has it mine
/// one share on the backup; returns the miner and its backup connection.
async fn mining_on_the_backup(
    first: &Down,
    backup: &Pool,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (Miner, Conn) {
    let (first, second) = (first.url(), backup.url());
    let mut args = vec![
        "--url",
        &first,
        "--url",
        &second,
        "--user",
        USER,
        "--algo",
        "sha256d",
        "--threads",
        "1",
    ];
    args.extend_from_slice(extra);
    let miner = Miner::start_with_env(&args, env);
    let mut conn = backup.accept(&miner).await;
    conn.handshake(&miner, &handshake()).await;
    conn.set_difficulty(SHA_DIFF).await;
    let job = TestJob::new("b1", 0x2000_0000, 0x1d00_ffff);
    conn.send(job.notify()).await;
    let s = conn.next_submit(&miner).await;
    check_share(&job, &s);
    (miner, conn)
}

/// Sends a new clean job on `conn` and waits for a share of it (shares of older jobs that were
/// already on the way are skipped): the connection is alive and mined on.
async fn mines_a_new_job(miner: &Miner, conn: &mut Conn, id: &str) {
    let mut job = TestJob::new(id, 0x2000_0000, 0x1d00_ffff);
    job.ntime += 1200;
    conn.send(job.notify()).await;
    loop {
        let s = conn.next_submit(miner).await;
        if s.job_id == id {
            check_share(&job, &s);
            return;
        }
    }
}

#[tokio::test]
async fn fails_back_to_the_first_pool_once_it_accepts_a_login() {
    let first = Down::bind();
    let first_url = first.url();
    let backup = Pool::bind().await;
    // The interval from the environment, as a service file would set it.
    let (miner, mut on_backup) = mining_on_the_backup(
        &first,
        &backup,
        &[],
        &[("OTEDAMA_MINER_FAILBACK_SECS", "1")],
    )
    .await;

    let first = first.listen();
    let came_up = Instant::now();
    // A probe: a login and nothing more, then the miner closes it (the handshake ends there).
    let mut probe = first.accept(&miner).await;
    let seen = probe.handshake(&miner, &handshake()).await;
    assert_eq!(
        seen.methods,
        ["mining.subscribe", "mining.authorize"],
        "{}",
        miner.stderr()
    );
    assert_eq!(seen.login, json!([USER, "x"]));
    // Then the real connection, with the full handshake.
    let mut on_first = first.accept(&miner).await;
    let seen = on_first.handshake(&miner, &handshake()).await;
    assert_eq!(seen.methods[0], "mining.configure");
    assert!(
        came_up.elapsed() < Duration::from_secs(15),
        "failback took {:?} with probes every second",
        came_up.elapsed()
    );
    on_first.set_difficulty(SHA_DIFF).await;
    let job = TestJob::new("p1", 0x2000_0000, 0x1d00_ffff);
    on_first.send(job.notify()).await;
    let s = on_first.next_submit(&miner).await;
    check_share(&job, &s);

    // The backup connection is closed (after any shares that were already on the way).
    while let Some(m) = on_backup.recv(&miner).await {
        assert_eq!(m["method"], "mining.submit", "{m}");
    }
    let log = miner.stderr();
    assert!(
        log.contains(&format!("failing back to {first_url}")),
        "{log}"
    );
}

#[tokio::test]
async fn a_pool_that_never_answers_the_probe_is_not_failed_back_to() {
    let first = Down::bind();
    let first_url = first.url();
    let backup = Pool::bind().await;
    let (miner, mut on_backup) =
        mining_on_the_backup(&first, &backup, &["--failback-secs", "1", "-v"], &[]).await;

    // The first pool accepts connections but answers nothing.
    let first = first.listen();
    let mut probe = first.accept(&miner).await;
    let m = probe.recv(&miner).await.expect("a request");
    assert_eq!(m["method"], "mining.subscribe", "{m}");
    let m = probe.recv(&miner).await.expect("a request");
    assert_eq!(m["method"], "mining.authorize", "{m}");
    let asked = Instant::now();
    assert!(
        probe.recv(&miner).await.is_none(),
        "the probe sends nothing more and closes"
    );
    assert!(
        asked.elapsed() >= Duration::from_secs(4),
        "the probe gave up after {:?}, before its 5 s timeout",
        asked.elapsed()
    );
    // Probed again next round, and the miner stays on the backup meanwhile.
    let mut again = first.accept(&miner).await;
    let m = again.recv(&miner).await.expect("a request");
    assert_eq!(m["method"], "mining.subscribe", "{m}");
    mines_a_new_job(&miner, &mut on_backup, "b2").await;

    let log = miner.stderr();
    assert!(!log.contains("failing back"), "{log}");
    assert!(
        log.contains(&format!(
            "failback probe of {first_url}: not back: no answer"
        )),
        "a failed probe is logged at debug level:\n{log}"
    );
}

#[tokio::test]
async fn failback_secs_0_stays_on_the_backup() {
    let first = Down::bind();
    let backup = Pool::bind().await;
    // The flag wins over the environment.
    let (miner, mut on_backup) = mining_on_the_backup(
        &first,
        &backup,
        &["--failback-secs", "0"],
        &[("OTEDAMA_MINER_FAILBACK_SECS", "1")],
    )
    .await;

    let first = first.listen();
    assert!(
        first.try_accept(Duration::from_secs(4)).await.is_none(),
        "no probe with failback off:\n{}",
        miner.stderr()
    );
    mines_a_new_job(&miner, &mut on_backup, "b2").await;
    let log = miner.stderr();
    assert!(!log.contains("failing back"), "{log}");
}
