//! Shares over real TCP with real proof of work against easy targets: version rolling with a job
//! version that has bits inside the mask, fractional difficulties under both algorithms (the
//! scrypt 65536 factor), duplicate / low / unknown-job errors, stale blocks handed on, vardiff.

mod stratum_support;

use otedama_node::stratum::testkit::stratum_target;
use otedama_proto::chain::{Coin, PowAlgo};
use otedama_proto::pow::pow_hash;
use serde_json::json;
use stratum_support::{code, config, job, Miner, TestServer, BTC, LTC};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_rolling_with_job_bits_inside_the_mask() {
    let mut server = TestServer::start(config(Coin::Bitcoin)).await;
    let mut spec = job(PowAlgo::Sha256d, 1, true, 1.0);
    spec.version = 0x2000_6000; // bits 13 and 14: inside the BIP 320 mask
    server.publish(spec);
    let mut c = server.client().await;
    let reply = c
        .request(
            "mining.configure",
            json!([["version-rolling"], {"version-rolling.mask": "1fffe000"}]),
        )
        .await
        .unwrap();
    assert_eq!(reply["result"]["version-rolling.mask"], json!("1fffe000"));
    let mut m = Miner::start_with(c, BTC, "x").await;
    // Miner bits keep 13, clear 14, set 15 and 20: (job & !mask) | (bits & mask) = 0x2010a000,
    // while OR gives 0x2010e000 and XOR 0x2010c000.
    let bits = 0x0010_a000;
    let rolled = 0x2010_a000;
    let nonce = m.mine(PowAlgo::Sha256d, 1, rolled, 1e-6, None);
    let reply = m.submit(1, nonce, Some(bits)).await;
    assert_eq!(reply["result"], json!(true), "{reply}");
    let share = server.shares.recv().await.unwrap();
    assert_eq!(
        u32::from_le_bytes(share.header[..4].try_into().unwrap()),
        rolled
    );
    // Hashing the OR or XOR version instead finds a header the server does not build.
    for wrong in [0x2000_6000 | bits, 0x2000_6000 ^ bits] {
        let nonce = m.mine(PowAlgo::Sha256d, 2, wrong, 1e-6, None);
        let right = m.job.header(
            &m.extranonce1,
            &2u32.to_be_bytes(),
            m.job.ntime,
            nonce,
            rolled,
        );
        if !stratum_target(PowAlgo::Sha256d, 1e-6).meets(&pow_hash(PowAlgo::Sha256d, &right)) {
            assert_eq!(code(&m.submit(2, nonce, Some(bits)).await), 23);
        }
    }
    // Bits outside the mask.
    assert_eq!(code(&m.submit(3, nonce, Some(0x4000_0000)).await), 20);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fractional_difficulty_under_sha256d() {
    let mut server = TestServer::start(config(Coin::Bitcoin)).await;
    server.publish(job(PowAlgo::Sha256d, 1, true, 1.0));
    // The raw text of set_difficulty: a plain JSON number.
    let mut c = server.client().await;
    c.send_raw(format!("{{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}}\n{{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"{BTC}\",\"d=0.001\"]}}\n").as_bytes())
        .await
        .unwrap();
    let line = loop {
        let line = c.read_line().await.unwrap().unwrap();
        if line.contains(r#""method":"mining.set_difficulty""#) {
            break line;
        }
    };
    assert!(line.contains(r#""params":[0.001]"#), "{line}");
    let mut m = Miner::start(&server, BTC, "d=0.001").await;
    assert_eq!(m.difficulty, 0.001);
    // A hash meeting 0.0005 but not 0.001 is low; one meeting 0.001 is a share.
    let low = m.mine(PowAlgo::Sha256d, 1, m.job.version, 0.0005, Some(0.001));
    assert_eq!(code(&m.submit(1, low, None).await), 23);
    let nonce = m.mine(PowAlgo::Sha256d, 2, m.job.version, 0.001, None);
    assert_eq!(m.submit(2, nonce, None).await["result"], json!(true));
    assert_eq!(server.shares.recv().await.unwrap().difficulty, 0.001);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fractional_difficulty_under_scrypt_has_the_65536_factor() {
    let mut server = TestServer::start(config(Coin::Litecoin)).await;
    server.publish(job(PowAlgo::Scrypt, 1, true, 1.0));
    let mut m = Miner::start(&server, LTC, "d=0.00015").await;
    assert_eq!(m.difficulty, 0.00015);
    // Scrypt stratum difficulty 0.00015: target 0xffff << 224 / 0.00015, about one hash in ten.
    let target = stratum_target(PowAlgo::Scrypt, 0.00015);
    let sha_style = stratum_target(PowAlgo::Sha256d, 0.00015);
    assert!(target > sha_style);
    let nonce = m.mine(
        PowAlgo::Scrypt,
        1,
        m.job.version,
        0.00015,
        Some(0.00015 * 65536.0),
    );
    let header = m.job.header(
        &m.extranonce1,
        &1u32.to_be_bytes(),
        m.job.ntime,
        nonce,
        m.job.version,
    );
    let hash = pow_hash(PowAlgo::Scrypt, &header);
    assert!(
        target.meets(&hash) && !sha_style.meets(&hash),
        "a server without the factor rejects it"
    );
    assert_eq!(m.submit(1, nonce, None).await["result"], json!(true));
    let share = server.shares.recv().await.unwrap();
    assert_eq!(share.pow_hash, hash);
    let low = m.mine(
        PowAlgo::Scrypt,
        2,
        m.job.version,
        0.00015 / 8.0,
        Some(0.00015),
    );
    assert_eq!(code(&m.submit(2, low, None).await), 23);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_low_and_unknown_job_errors() {
    let server = TestServer::start(config(Coin::Bitcoin)).await;
    server.publish(job(PowAlgo::Sha256d, 1, true, 1.0));
    let mut m = Miner::start(&server, BTC, "d=0.0001").await;
    let nonce = m.mine(PowAlgo::Sha256d, 5, m.job.version, 0.0001, None);
    assert_eq!(m.submit(5, nonce, None).await["result"], json!(true));
    assert_eq!(code(&m.submit(5, nonce, None).await), 22);
    let low = m.mine(PowAlgo::Sha256d, 6, m.job.version, 0.00001, Some(0.0001));
    assert_eq!(code(&m.submit(6, low, None).await), 23);
    m.job.job_id = "ffffff".into();
    assert_eq!(code(&m.submit(7, nonce, None).await), 21);
    let stats = server
        .registry
        .snapshot(PowAlgo::Sha256d, otedama_node::stratum::Timestamp::now());
    assert_eq!(
        (stats[0].name.as_str(), stats[0].accepted, stats[0].rejected),
        (BTC, 1, 3)
    );
    assert!(stats[0].hashrate > 0.0);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_share_on_a_job_from_before_the_last_block_that_is_a_block_is_handed_on() {
    let mut server = TestServer::start(config(Coin::Bitcoin)).await;
    // Block (and share) difficulty 0.0001; the miner works at 0.00001.
    server.publish(job(PowAlgo::Sha256d, 1, true, 0.0001));
    let mut m = Miner::start(&server, BTC, "d=0.00001").await;
    let old = m.job.clone();
    server.publish(job(PowAlgo::Sha256d, 2, true, 0.0001));
    assert!(m.next_job().await.clean);
    m.job = old;
    let not_block = m.mine(PowAlgo::Sha256d, 1, m.job.version, 0.00001, Some(0.0001));
    let reply = m.submit(1, not_block, None).await;
    assert_eq!(code(&reply), 21);
    assert!(reply["error"][1].as_str().unwrap().contains("stale"));
    let block = m.mine(PowAlgo::Sha256d, 2, m.job.version, 0.0001, None);
    assert_eq!(m.submit(2, block, None).await["result"], json!(true));
    let share = server.shares.recv().await.unwrap();
    assert!(share.is_block() && share.stale && !share.is_sharechain_share());
    assert_eq!(share.job.spec.height, 201);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vardiff_raises_the_difficulty_of_a_fast_miner() {
    let mut server = TestServer::start(config(Coin::Bitcoin)).await;
    server.publish(job(PowAlgo::Sha256d, 1, true, 1.0));
    let mut m = Miner::start(&server, BTC, "x").await;
    assert_eq!(m.difficulty, 1e-6);
    // Twelve shares as fast as this machine finds them: far above one per five seconds.
    for en2 in 0..12 {
        let nonce = m.mine(PowAlgo::Sha256d, en2, m.job.version, 1e-6, None);
        assert_eq!(m.submit(en2, nonce, None).await["result"], json!(true));
    }
    let raised = m
        .client
        .notification("mining.set_difficulty")
        .await
        .unwrap()[0]
        .as_f64()
        .unwrap();
    assert_eq!(raised, 4e-6);
    let old = m.job.clone();
    let job = m.next_job().await;
    assert_ne!(job.job_id, old.job_id);
    assert!(!job.clean);
    for _ in 0..12 {
        server.shares.recv().await.unwrap();
    }
    server.shutdown().await;
}
