//! The server's limits over real TCP: the connection cap, slow readers dropped, the handshake
//! deadline, a job reaching hundreds of miners, and graceful shutdown.

mod stratum_support;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use otedama_node::stratum::FixedCoinbase;
use otedama_proto::address::PayoutAddress;
use otedama_proto::chain::{Coin, Network, PowAlgo};
use serde_json::json;
use stratum_support::{config, job, Miner, TestServer, BTC};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_wait_until_one_leaves() {
    let mut cfg = config(Coin::Bitcoin);
    cfg.max_connections = 2;
    let server = TestServer::start(cfg).await;
    let mut a = server.client().await;
    let mut b = server.client().await;
    a.subscribe().await.unwrap();
    b.subscribe().await.unwrap();
    let mut c = server.client().await;
    c.send_raw(b"{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}\n")
        .await
        .unwrap();
    let early = tokio::time::timeout(Duration::from_millis(300), c.reply_to(&json!(1))).await;
    assert!(
        early.is_err(),
        "the third miner is not served while two are connected"
    );
    assert_eq!(server.stats.connected(), 2);
    drop(a);
    let reply = c.reply_to(&json!(1)).await.unwrap();
    assert_eq!(reply["result"][2], json!(4));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_miner_that_does_not_read_is_dropped_and_others_are_not() {
    let mut cfg = config(Coin::Bitcoin);
    cfg.write_timeout = Duration::from_secs(1);
    let server = TestServer::start(cfg).await;
    server.publish(job(PowAlgo::Sha256d, 1, true, 1.0));
    let slow = Miner::start(&server, BTC, "x").await;
    let mut fast = Miner::start(&server, BTC, "x").await;
    // Jobs go through a watch channel: a busy session skips to the newest, so the reader waits
    // for the last one (its coinb2 ends in 119) rather than counting.
    let reader = tokio::spawn(async move {
        while fast.next_job().await.coinb2.last() != Some(&119) {}
        fast
    });
    // 120 jobs of about 200 kB each: far more than the socket buffers hold.
    for i in 0..120u8 {
        let mut spec = job(PowAlgo::Sha256d, 1, false, 1.0).spec();
        let payout = PayoutAddress::parse(BTC, Coin::Bitcoin, Network::Regtest).unwrap();
        let mut coinbase = (*spec.coinbases.coinbase_for(&payout).unwrap()).clone();
        coinbase.coinb2.extend(std::iter::repeat_n(i, 100_000));
        spec.coinbases = Arc::new(FixedCoinbase(Arc::new(coinbase)));
        server.jobs.publish(spec).unwrap();
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    let fast = tokio::time::timeout(Duration::from_secs(30), reader)
        .await
        .unwrap()
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while server.stats.dropped_slow.load(Ordering::Relaxed) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the slow reader was not dropped"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(server.stats.connected(), 1);
    drop((slow, fast));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_never_subscribes_is_closed() {
    let mut cfg = config(Coin::Bitcoin);
    cfg.handshake_timeout = Duration::from_millis(200);
    let server = TestServer::start(cfg).await;
    let mut idle = server.client().await;
    let closed = tokio::time::timeout(Duration::from_secs(5), idle.read_message()).await;
    assert!(matches!(closed, Ok(Ok(None))), "{closed:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_block_reaches_hundreds_of_miners() {
    let server = TestServer::start(config(Coin::Bitcoin)).await;
    server.publish(job(PowAlgo::Sha256d, 1, true, 1.0));
    let mut miners = Vec::new();
    for i in 0..300 {
        miners.push(Miner::start(&server, &format!("{BTC}.m{i}"), "x").await);
    }
    assert_eq!(server.stats.connected(), 300);
    server.publish(job(PowAlgo::Sha256d, 2, true, 1.0));
    let mut ids = std::collections::HashSet::new();
    for m in &mut miners {
        let job = m.next_job().await;
        assert!(job.clean);
        ids.insert(job.job_id);
    }
    assert_eq!(ids.len(), 1);
    let extranonces: std::collections::HashSet<_> =
        miners.iter().map(|m| m.extranonce1.clone()).collect();
    assert_eq!(extranonces.len(), 300);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_every_connection() {
    let server = TestServer::start(config(Coin::Bitcoin)).await;
    server.publish(job(PowAlgo::Sha256d, 1, true, 1.0));
    let mut a = Miner::start(&server, BTC, "x").await;
    let mut b = server.client().await;
    let stats = server.stats.clone();
    server.shutdown().await;
    assert_eq!(stats.connected(), 0);
    // Closed: an end of stream, or a reset when the server closed with unread bytes pending.
    for read in [a.client.read_message().await, b.read_message().await] {
        match read {
            Ok(None) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            other => panic!("the connection is still open: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stats_of_a_worker_that_left_are_pruned_on_a_timer() {
    let mut cfg = config(Coin::Bitcoin);
    cfg.worker_idle = Duration::ZERO;
    cfg.stats_prune_every = Duration::from_millis(50);
    let server = TestServer::start(cfg).await;
    server.publish(job(PowAlgo::Sha256d, 1, true, 1.0));
    let miner = Miner::start(&server, &format!("{BTC}.rig"), "x").await;
    // Held by its connection: kept, however idle.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(server.registry.len(), 1);
    drop(miner);
    let mut waited = Duration::ZERO;
    while !server.registry.is_empty() && waited < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += Duration::from_millis(50);
    }
    assert!(
        server.registry.is_empty(),
        "the worker's entry outlived its connection"
    );
    server.shutdown().await;
}
