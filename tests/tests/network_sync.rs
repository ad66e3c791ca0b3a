//! The pool's network, end to end: real `otedama node` processes on loopback sharing a real
//! litecoind regtest pair. A node started late syncs a full window from its peers and then
//! follows the chain; a restarted node is back in sync from its own store plus only the shares it
//! missed.

use anyhow::{ensure, Context, Result};
use otedama_tests::pool::{regtest_address, regtest_daemon, tip, wait_converged, PoolNode};
use otedama_tests::{regtest_chain, seed_store};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_node_syncs_a_full_window_then_follows() -> Result<()> {
    let dir = otedama_tests::TestDir::new()?;
    let (mut pair, daemon) = regtest_daemon(dir.path()).await?;
    let chain = regtest_chain();
    let base = dir.path();
    // Three peers hold the chain, so that batches come back from several peers in any order.
    for name in ["a", "a2", "a3"] {
        seed_store(&base.join(name), &chain)?;
    }
    let a = PoolNode::start("a", base, &daemon, &[])?;
    let a_addr = a.multiaddr()?;
    let a2 = PoolNode::start("a2", base, &daemon, std::slice::from_ref(&a_addr))?;
    let a3 = PoolNode::start("a3", base, &daemon, std::slice::from_ref(&a_addr))?;
    let a_status = a.wait(Duration::from_secs(30), "a to load its chain", |s| {
        s["sharechain_height"] == 2199
    })?;
    let seeded_tip = tip(&a_status).context("a has a tip")?;
    let peers = vec![a_addr.clone(), a2.multiaddr()?, a3.multiaddr()?];

    let started = Instant::now();
    let b = PoolNode::start("b", base, &daemon, &peers)?;
    let b_status = b.wait(Duration::from_secs(60), "b to sync the window", |s| {
        tip(s).as_deref() == Some(seeded_tip.as_str()) && s["synced"] == true
    })?;
    let took = started.elapsed();
    assert_eq!(
        b_status["shares"], 2160,
        "b holds the full window: {b_status}"
    );
    assert_eq!(b_status["sync"]["fetched"], 2200, "{b_status}");
    assert_eq!(b_status["sharechain_height"], 2199, "{b_status}");
    assert!(
        b_status["peers"].as_u64().is_some_and(|p| p >= 3),
        "{b_status}"
    );
    eprintln!("late node synced 2200 shares in {took:?} (process start included)");

    // It follows: a share mined at a reaches b by gossip.
    let mut miner = a.miner("miner-a", &regtest_address(0xa1))?;
    let new_tip = b.wait(Duration::from_secs(60), "b to follow a new share", |s| {
        s["sharechain_height"].as_u64().is_some_and(|h| h > 2200)
    })?;
    miner.stop(Duration::from_secs(5));
    ensure!(new_tip["sync"]["synced"] == true, "{new_tip}");
    wait_converged(&[&a, &a2, &a3, &b], Duration::from_secs(20))?;
    let b_peers = b.peers()?;
    assert_eq!(b_peers["banned"].as_array().map(Vec::len), Some(0));
    pair.stop().await;
    Ok(())
}
