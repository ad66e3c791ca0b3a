//! A pool of real `otedama node` processes on loopback sharing one litecoind regtest pair:
//! five nodes found from one bootstrap node converge on one tip and identical payouts while two
//! of them mine; two groups mining apart heal onto the chain with the most work; a restarted node
//! catches up from its own store plus only the shares it missed.

use anyhow::{ensure, Context, Result};
use otedama_proto::chain::{Coin, Network};
use otedama_sharechain::{Consensus, ShareChain, SledStore};
use otedama_tests::pool::{regtest_address, regtest_daemon, tip, wait_converged, PoolNode};
use otedama_tests::{regtest_chain, seed_store, wait_for, TestDir};
use serde_json::Value;
use std::collections::HashSet;
use std::time::Duration;

fn height(s: &Value) -> u64 {
    s["sharechain_height"].as_u64().unwrap_or(0)
}

fn work(s: &Value) -> u128 {
    s["chain_work"]
        .as_str()
        .and_then(|w| w.parse().ok())
        .unwrap_or(0)
}

/// The ids of the shares in a stopped node's store.
fn stored_ids(node: &PoolNode) -> Result<HashSet<String>> {
    let consensus =
        Consensus::for_network(Coin::Litecoin, Network::Regtest).context("consensus")?;
    let store = SledStore::open(&node.data_dir.join("sharechain"))?;
    let chain = ShareChain::open(consensus, store)?;
    Ok(chain.held_ids().iter().map(ToString::to_string).collect())
}

fn synced_with_peers(min_peers: u64) -> impl Fn(&Value) -> bool {
    move |s| s["synced"] == true && s["peers"].as_u64().is_some_and(|p| p >= min_peers)
}

/// Waits until every node's `/api/v1/payouts` is the same non-empty list, and returns it.
fn wait_same_payouts(nodes: &[&PoolNode]) -> Result<Value> {
    wait_for(
        Duration::from_secs(20),
        "identical payouts everywhere",
        || {
            let lists: Vec<Value> = nodes.iter().filter_map(|n| n.payouts().ok()).collect();
            (lists.len() == nodes.len()
                && lists[0].as_array().is_some_and(|a| !a.is_empty())
                && lists.iter().all(|l| *l == lists[0]))
            .then(|| lists[0].clone())
        },
    )
}

fn pays(payouts: &Value, address: &str) -> bool {
    payouts
        .as_array()
        .is_some_and(|a| a.iter().any(|p| p["address"] == address))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_nodes_from_one_bootstrap_converge_while_two_mine() -> Result<()> {
    let dir = TestDir::new()?;
    let base = dir.path();
    let (mut pair, daemon) = regtest_daemon(base).await?;
    let n1 = PoolNode::start("n1", base, &daemon, &[])?;
    let boot = vec![n1.multiaddr()?];
    let mut nodes = vec![n1];
    for i in 2..=5 {
        nodes.push(PoolNode::start(&format!("n{i}"), base, &daemon, &boot)?);
    }
    for n in &nodes[1..] {
        n.wait(
            Duration::from_secs(60),
            "a synced node with a peer",
            synced_with_peers(1),
        )?;
    }
    // Kademlia finds the others: each node ends up with more peers than its bootstrap.
    for n in &nodes {
        n.wait(
            Duration::from_secs(60),
            "three or more peers",
            synced_with_peers(3),
        )?;
    }

    let (addr_a, addr_b) = (regtest_address(0xa2), regtest_address(0xb4));
    let mut miner_a = nodes[1].miner("miner-n2", &addr_a)?;
    let mut miner_b = nodes[3].miner("miner-n4", &addr_b)?;
    nodes[0].wait(Duration::from_secs(120), "20 shares in the pool", |s| {
        height(s) >= 20
    })?;
    miner_a.stop(Duration::from_secs(5));
    miner_b.stop(Duration::from_secs(5));

    let all: Vec<&PoolNode> = nodes.iter().collect();
    let tip = wait_converged(&all, Duration::from_secs(30))?;
    let payouts = wait_same_payouts(&all)?;
    ensure!(
        pays(&payouts, &addr_a) && pays(&payouts, &addr_b),
        "both miners are paid by every node: {payouts}"
    );
    for n in &nodes {
        let s = n.status()?;
        assert_eq!(s["tip"], tip.as_str(), "{}", n.name);
        let peers = n.peers()?;
        assert_eq!(
            peers["banned"].as_array().map(Vec::len),
            Some(0),
            "{}: {peers}",
            n.name
        );
        assert_eq!(peers["gossip_invalid"], 0, "{}: {peers}", n.name);
    }
    // Shares crossed the network by gossip, not only by sync.
    let gossiped: u64 = nodes
        .iter()
        .filter_map(|n| n.peers().ok())
        .map(|p| p["gossip_accepted"].as_u64().unwrap_or(0))
        .sum();
    ensure!(gossiped >= 20, "gossip carried shares: {gossiped}");
    pair.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_heals_onto_the_chain_with_the_most_work() -> Result<()> {
    let dir = TestDir::new()?;
    let base = dir.path();
    let (mut pair, daemon) = regtest_daemon(base).await?;
    // A common history, then two groups that cannot reach each other.
    let history = &regtest_chain()[..60];
    for name in ["a1", "a2", "b1", "b2"] {
        seed_store(&base.join(name), history)?;
    }
    let a1 = PoolNode::start("a1", base, &daemon, &[])?;
    let a2 = PoolNode::start("a2", base, &daemon, &[a1.multiaddr()?])?;
    let b1 = PoolNode::start("b1", base, &daemon, &[])?;
    let mut b2 = PoolNode::start("b2", base, &daemon, &[b1.multiaddr()?])?;
    for n in [&a2, &b2] {
        n.wait(
            Duration::from_secs(60),
            "a synced node with a peer",
            synced_with_peers(1),
        )?;
    }
    let mut miner_a = a1.miner("miner-a", &regtest_address(0xaa))?;
    let mut miner_b = b1.miner("miner-b", &regtest_address(0xbb))?;
    a2.wait(Duration::from_secs(120), "group a to mine 12 shares", |s| {
        height(s) >= 59 + 12
    })?;
    miner_a.stop(Duration::from_secs(5));
    b2.wait(Duration::from_secs(120), "group b to mine 4 shares", |s| {
        height(s) >= 59 + 4
    })?;
    miner_b.stop(Duration::from_secs(5));
    let tip_a = wait_converged(&[&a1, &a2], Duration::from_secs(30))?;
    let tip_b = wait_converged(&[&b1, &b2], Duration::from_secs(30))?;
    ensure!(tip_a != tip_b, "the groups mined apart");
    let (work_a, work_b) = (work(&a1.status()?), work(&b1.status()?));
    let winner = if work_a > work_b { &tip_a } else { &tip_b };
    ensure!(work_a != work_b, "equal work: no winner to check");

    // The partition heals: b2 comes back knowing a1.
    b2.restart(&[a1.multiaddr()?])?;
    let healed = wait_converged(&[&a1, &a2, &b1, &b2], Duration::from_secs(60))?;
    assert_eq!(
        &healed, winner,
        "the chain with the most work wins (a {work_a}, b {work_b})"
    );
    let payouts = wait_same_payouts(&[&a1, &a2, &b1, &b2])?;
    let winner_pays = if work_a > work_b { 0xaa } else { 0xbb };
    ensure!(pays(&payouts, &regtest_address(winner_pays)), "{payouts}");
    for n in [&a1, &a2, &b1, &b2] {
        assert_eq!(
            n.peers()?["banned"].as_array().map(Vec::len),
            Some(0),
            "{}",
            n.name
        );
    }
    pair.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_fetches_only_what_it_missed() -> Result<()> {
    let dir = TestDir::new()?;
    let base = dir.path();
    let (mut pair, daemon) = regtest_daemon(base).await?;
    let mut a = PoolNode::start("a", base, &daemon, &[])?;
    let mut b = PoolNode::start("b", base, &daemon, &[a.multiaddr()?])?;
    b.wait(
        Duration::from_secs(60),
        "b synced with a",
        synced_with_peers(1),
    )?;
    let mut miner = a.miner("miner-a", &regtest_address(0xa1))?;
    b.wait(Duration::from_secs(120), "10 shares at b", |s| {
        height(s) >= 10
    })?;
    wait_converged(&[&a, &b], Duration::from_secs(30))?;
    b.stop();
    let held = stored_ids(&b)?;
    let stopped_at = height(&a.status()?);
    a.wait(
        Duration::from_secs(120),
        "8 more shares while b is away",
        |s| height(s) >= stopped_at + 8,
    )?;
    miner.stop(Duration::from_secs(5));

    b.restart(&[])?; // no bootstrap: it finds a in its remembered peers
    let tip_now = wait_converged(&[&a, &b], Duration::from_secs(60))?;
    assert_eq!(Some(tip_now), tip(&a.status()?));
    let s = b.wait(Duration::from_secs(10), "b synced", |s| s["synced"] == true)?;
    let fetched = s["sync"]["fetched"].as_u64().context("fetched")?;
    a.stop();
    b.stop();
    let (a_ids, b_ids) = (stored_ids(&a)?, stored_ids(&b)?);
    let lacked = a_ids.iter().filter(|id| !held.contains(*id)).count() as u64;
    // It fetched at least the 8 best-chain shares mined while it was away, and nothing it had.
    assert!(
        (8..=lacked).contains(&fetched),
        "b fetched {fetched}; it lacked {lacked} of a's {} shares and held {}",
        a_ids.len(),
        held.len()
    );
    assert!(b_ids.is_superset(&held));
    pair.stop().await;
    Ok(())
}
