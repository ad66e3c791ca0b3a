//! The miner against a fake Stratum pool (see `common`): the built binary connects, shakes
//! hands, mines the pool's jobs and submits shares; the pool rebuilds every share's header from
//! the submitted fields with its own code and checks it against the share target.
//!
//! Difficulties are low so that debug builds find shares every fraction of a second.

mod common;

use std::time::{Duration, Instant};

use common::{meets, pow, Handshake, Miner, Pool, Submit, TestJob};
use serde_json::json;

const USER: &str = "bcrt1qexampleaddress.rig7";
/// About 43,000 sha256d hashes per share.
const SHA_DIFF: f64 = 0.0000123;
/// About 2,600 scrypt hashes per share (with the 65536 factor).
const SCRYPT_DIFF: f64 = 0.04;

fn handshake(mask: Option<u32>) -> Handshake {
    Handshake {
        mask,
        refuse: None,
        extranonce1: vec![0xf0, 0x00, 0x00, 0x0f],
    }
}

fn miner(url: &str, algo: &str, threads: &str) -> Miner {
    Miner::start(&[
        "--url",
        url,
        "--user",
        USER,
        "--algo",
        algo,
        "--threads",
        threads,
        "--report-every",
        "1",
    ])
}

/// Checks that `s` is a share of `job`: right user, header meets the target under `algo`.
fn check_share(algo: &str, job: &TestJob, en1: &[u8], mask: u32, s: &Submit, difficulty: f64) {
    assert_eq!(s.user, USER);
    assert_eq!(s.job_id, job.id);
    assert_eq!(
        s.extranonce2.len(),
        4,
        "extranonce2 has the size the pool gave"
    );
    assert_eq!(s.ntime, job.ntime, "ntime is not rolled");
    let header = job.header(en1, s, mask);
    let hash = pow(algo, &header);
    assert!(
        meets(algo, &hash, difficulty),
        "{algo} share {s:?} does not meet difficulty {difficulty}: hash {}",
        hex::encode(hash.iter().rev().copied().collect::<Vec<u8>>())
    );
}

#[tokio::test]
async fn sha256d_shares_meet_a_fractional_difficulty() {
    let pool = Pool::bind().await;
    let miner = miner(&pool.url(), "sha256d", "1");
    let mut conn = pool.accept(&miner).await;
    let h = handshake(None);
    let seen = conn.handshake(&miner, &h).await;
    assert_eq!(
        seen.methods,
        [
            "mining.configure",
            "mining.subscribe",
            "mining.authorize",
            "mining.extranonce.subscribe"
        ]
    );
    assert!(
        seen.user_agent.starts_with("otedama-miner/"),
        "{}",
        seen.user_agent
    );
    assert_eq!(seen.login, json!([USER, "x"]));
    conn.set_difficulty(SHA_DIFF).await;
    let job = TestJob::new("a1", 0x2000_0000, 0x1d00_ffff);
    conn.send(job.notify()).await;
    let mut nonces = Vec::new();
    for _ in 0..5 {
        let s = conn.next_submit(&miner).await;
        assert_eq!(s.version_bits, None, "the pool declined version rolling");
        check_share("sha256d", &job, &h.extranonce1, 0, &s, SHA_DIFF);
        assert!(
            !nonces.contains(&(s.extranonce2.clone(), s.nonce)),
            "no duplicate shares"
        );
        nonces.push((s.extranonce2, s.nonce));
    }
    // The periodic report (every second here) gives the rates and the share counts.
    let reported = |log: &str| {
        log.lines().any(|l| {
            l.contains("hashrate ")
                && l.contains("H/s (per thread: ")
                && l.contains(" accepted, 0 rejected")
        })
    };
    let started = Instant::now();
    while !reported(&miner.stderr()) {
        assert!(
            started.elapsed() < common::STEP,
            "no rate report in:\n{}",
            miner.stderr()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn version_rolling_submits_bits_that_rebuild_the_header() {
    let pool = Pool::bind().await;
    let miner = miner(&pool.url(), "sha256d", "2");
    let mut conn = pool.accept(&miner).await;
    let mask = 0x1fff_e000;
    let h = handshake(Some(mask));
    conn.handshake(&miner, &h).await;
    conn.set_difficulty(SHA_DIFF).await;
    // A bit inside the mask is set in the job's version: miners and pools that OR or XOR the
    // bits instead of replacing them disagree on such a job.
    let job = TestJob::new("v1", 0x2000_2000, 0x1d00_ffff);
    conn.send(job.notify()).await;
    let (mut kept, mut rolled) = (0, 0);
    while kept == 0 || rolled == 0 {
        let s = conn.next_submit(&miner).await;
        let bits = s
            .version_bits
            .expect("version bits are submitted when rolling");
        assert_eq!(bits & !mask, 0, "bits {bits:08x} stay inside the mask");
        check_share("sha256d", &job, &h.extranonce1, mask, &s, SHA_DIFF);
        if bits == job.version & mask {
            kept += 1;
        } else {
            rolled += 1;
        }
        assert!(
            kept + rolled < 200,
            "every share used the job's own version"
        );
    }
}

#[tokio::test]
async fn scrypt_shares_meet_the_target_with_the_65536_factor() {
    let pool = Pool::bind().await;
    let miner = miner(&pool.url(), "scrypt", "1");
    let mut conn = pool.accept(&miner).await;
    let h = handshake(Some(0x1fff_e000));
    let seen = conn.handshake(&miner, &h).await;
    assert_eq!(
        seen.methods[0], "mining.subscribe",
        "no version rolling for scrypt"
    );
    conn.set_difficulty(SCRYPT_DIFF).await;
    let job = TestJob::new("ltc", 0x2000_0000, 0x1e0f_fff0);
    conn.send(job.notify()).await;
    for _ in 0..3 {
        let s = conn.next_submit(&miner).await;
        assert_eq!(s.version_bits, None);
        check_share("scrypt", &job, &h.extranonce1, 0, &s, SCRYPT_DIFF);
    }
}

#[tokio::test]
async fn a_clean_job_stops_shares_of_the_old_one_and_a_new_extranonce_applies() {
    let pool = Pool::bind().await;
    let miner = miner(&pool.url(), "sha256d", "2");
    let mut conn = pool.accept(&miner).await;
    let h = handshake(None);
    conn.handshake(&miner, &h).await;
    conn.set_difficulty(SHA_DIFF).await;
    let old = TestJob::new("old", 0x2000_0000, 0x1d00_ffff);
    conn.send(old.notify()).await;
    for _ in 0..2 {
        let s = conn.next_submit(&miner).await;
        check_share("sha256d", &old, &h.extranonce1, 0, &s, SHA_DIFF);
    }
    let new_en1 = [0x0e, 0x0e, 0x0e, 0x0e];
    conn.send(
        json!({"id": null, "method": "mining.set_extranonce", "params": [hex::encode(new_en1), 4]}),
    )
    .await;
    let mut new = TestJob::new("new", 0x2000_0000, 0x1d00_ffff);
    new.ntime += 600;
    conn.send(new.notify()).await;
    let switched = Instant::now();
    // Shares of the old job may already be on the wire; after a short grace, none may come.
    let grace = Duration::from_millis(500);
    let mut on_new = 0;
    while on_new < 4 {
        let s = conn.next_submit(&miner).await;
        if s.job_id == "old" {
            assert!(
                switched.elapsed() < grace,
                "a share of the replaced job came {:?} after the clean job",
                switched.elapsed()
            );
            continue;
        }
        check_share("sha256d", &new, &new_en1, 0, &s, SHA_DIFF);
        on_new += 1;
    }
}

#[tokio::test]
async fn a_refused_login_exits_with_the_pools_reason() {
    let pool = Pool::bind().await;
    let mut miner = miner(&pool.url(), "sha256d", "1");
    let mut conn = pool.accept(&miner).await;
    let mut h = handshake(None);
    h.refuse = Some((
        24,
        "address bcrt1qexampleaddress is not a payout address of this pool",
    ));
    conn.handshake(&miner, &h).await;
    let status = miner.exit().await;
    assert_eq!(status.code(), Some(1));
    let log = miner.stderr();
    assert!(
        log.contains("refused the login of `bcrt1qexampleaddress.rig7`: error 24 (unauthorized worker): address bcrt1qexampleaddress is not a payout address of this pool"),
        "{log}"
    );
}

#[tokio::test]
async fn fails_over_to_the_next_url_when_the_first_refuses_connections() {
    let closed = {
        let gone = Pool::bind().await;
        gone.url()
    };
    let pool = Pool::bind().await;
    let miner = Miner::start(&[
        "--url",
        &closed,
        "--url",
        &pool.url(),
        "--user",
        USER,
        "--algo",
        "sha256d",
        "--threads",
        "1",
    ]);
    let mut conn = pool.accept(&miner).await;
    let h = handshake(None);
    conn.handshake(&miner, &h).await;
    conn.set_difficulty(SHA_DIFF).await;
    let job = TestJob::new("f", 0x2000_0000, 0x1d00_ffff);
    conn.send(job.notify()).await;
    let s = conn.next_submit(&miner).await;
    check_share("sha256d", &job, &h.extranonce1, 0, &s, SHA_DIFF);
    assert!(
        miner.stderr().contains(&closed),
        "the failed pool is named in the log"
    );
}

#[tokio::test]
async fn client_reconnect_moves_to_the_pool_it_names() {
    let first = Pool::bind().await;
    let second = Pool::bind().await;
    let miner = miner(&first.url(), "scrypt", "1");
    let mut conn = first.accept(&miner).await;
    let h = handshake(None);
    conn.handshake(&miner, &h).await;
    conn.send(json!({"id": null, "method": "client.reconnect", "params": ["127.0.0.1", second.port(), 0]}))
        .await;
    let mut conn = second.accept(&miner).await;
    let seen = conn.handshake(&miner, &h).await;
    assert_eq!(seen.methods[0], "mining.subscribe");
    conn.set_difficulty(SCRYPT_DIFF).await;
    let job = TestJob::new("r", 0x2000_0000, 0x1e0f_fff0);
    conn.send(job.notify()).await;
    let s = conn.next_submit(&miner).await;
    check_share("scrypt", &job, &h.extranonce1, 0, &s, SCRYPT_DIFF);
}

/// The OpenCL back-end through the same path (pocl in CI, which scripts/setup installs; without
/// an OpenCL driver this fails, as tests/opencl.rs does).
#[tokio::test]
async fn opencl_backend_mines_shares_that_meet_the_target() {
    for (algo, difficulty, nbits) in [
        ("sha256d", SHA_DIFF, 0x1d00_ffff),
        ("scrypt", SCRYPT_DIFF, 0x1e0f_fff0),
    ] {
        let pool = Pool::bind().await;
        let url = pool.url();
        let miner = Miner::start(&[
            "--url",
            &url,
            "--user",
            USER,
            "--algo",
            algo,
            "--backend",
            "opencl",
        ]);
        let mut conn = pool.accept(&miner).await;
        let h = handshake(Some(0x1fff_e000));
        conn.handshake(&miner, &h).await;
        conn.set_difficulty(difficulty).await;
        let job = TestJob::new("cl", 0x2000_0000, nbits);
        conn.send(job.notify()).await;
        for _ in 0..2 {
            let s = conn.next_submit(&miner).await;
            check_share(algo, &job, &h.extranonce1, 0x1fff_e000, &s, difficulty);
        }
        assert!(
            miner
                .stderr()
                .contains(&format!("hashing threads: 1 × {algo} on OpenCL device 0")),
            "{}",
            miner.stderr()
        );
    }
}
