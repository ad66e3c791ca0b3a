//! End to end on a real Litecoin regtest network: two connected `litecoind`, an `otedama node`
//! process and two `otedama-miner` processes with different payout addresses. Blocks found
//! through Stratum must be accepted into litecoind's best chain, each coinbase must pay exactly
//! what the sharechain's payout function computes for its window, and the node must survive the
//! daemon being killed and restarted.

use anyhow::{ensure, Context, Result};
use bitcoin::ScriptBuf;
use otedama_node::daemon::regtest::RegtestPair;
use otedama_proto::address::PayoutAddress;
use otedama_proto::amount::Amount;
use otedama_proto::chain::{Coin, Network};
use otedama_proto::hash::ShareId;
use otedama_sharechain::{Consensus, ShareChain, SledStore};
use otedama_tests::{binary, free_addr, get_json, scrypt_miner, wait_for, Process};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

const OTDM_PREFIX: &str = "6a244f54444d";

fn address(script: &[u8]) -> String {
    PayoutAddress::from_script(
        &ScriptBuf::from_bytes(script.to_vec()),
        Coin::Litecoin,
        Network::Regtest,
    )
    .expect("a standard script has an address")
}

async fn wait_status(
    api: SocketAddr,
    limit: Duration,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Result<Value> {
    let started = Instant::now();
    loop {
        if let Ok(s) = get_json(api, "/api/v1/status") {
            if check(&s) {
                return Ok(s);
            }
            if started.elapsed() > limit {
                anyhow::bail!("timed out after {limit:?} waiting for {what}; last status {s}");
            }
        } else if started.elapsed() > limit {
            anyhow::bail!("timed out after {limit:?} waiting for {what}; the API does not answer");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn blocks_found(s: &Value) -> u64 {
    s["blocks_found"].as_u64().unwrap_or(0)
}

fn miner(dir: &Path, name: &str, stratum: SocketAddr, user: &str) -> Result<Process> {
    scrypt_miner(stratum, user, &dir.join(format!("{name}.log")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_found_through_stratum_pay_the_window_and_survive_a_daemon_restart() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut pair =
        RegtestPair::start(Path::new("litecoind"), &dir.path().join("litecoind")).await?;
    let (user, password) = pair.primary.rpc_credentials();
    let (stratum, api) = (free_addr()?, free_addr()?);
    let node_dir = dir.path().join("node");
    let args: Vec<String> = [
        "node",
        "--coin",
        "litecoin",
        "--network",
        "regtest",
        "--data-dir",
        node_dir.to_str().context("utf-8 path")?,
        "--daemon-url",
        pair.primary.rpc_url(),
        "--daemon-user",
        user,
        "--daemon-password",
        password,
        "--stratum",
        &stratum.to_string(),
        "--api",
        &api.to_string(),
        "--p2p",
        "/ip4/127.0.0.1/tcp/0",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let mut node = Process::start(&binary("otedama")?, &args, &dir.path().join("node.log"))?;
    let status = wait_status(api, Duration::from_secs(60), "the node to be synced", |s| {
        s["synced"] == true
    })
    .await
    .with_context(|| node.log_text())?;
    assert_eq!(status["coin"], "litecoin");
    assert_eq!(status["network"], "regtest");

    let mut script_a = vec![0x00, 0x14];
    script_a.extend_from_slice(&[0xaa; 20]);
    let mut script_b = vec![0x76, 0xa9, 0x14];
    script_b.extend_from_slice(&[0xbb; 20]);
    script_b.extend_from_slice(&[0x88, 0xac]);
    let (addr_a, addr_b) = (address(&script_a), address(&script_b));
    let mut miner_a = miner(dir.path(), "miner-a", stratum, &format!("{addr_a}.rig1"))?;
    let mut miner_b = miner(dir.path(), "miner-b", stratum, &format!("{addr_b}.rig2"))?;

    let found = wait_status(api, Duration::from_secs(240), "six blocks", |s| {
        blocks_found(s) >= 6
    })
    .await
    .with_context(|| {
        format!(
            "node log:\n{}\nminer a:\n{}",
            node.log_text(),
            miner_a.log_text()
        )
    })?;
    assert!(found["stratum_clients"].as_u64() >= Some(2), "{found}");
    assert!(found["sharechain_height"].as_u64() >= Some(5), "{found}");

    // The daemon dies: the node keeps its miners and says what is wrong; once the daemon is back
    // blocks are accepted again.
    pair.primary.kill();
    let down = wait_status(
        api,
        Duration::from_secs(60),
        "the daemon to be reported down",
        |s| s["daemon"]["healthy"] == false,
    )
    .await?;
    assert!(
        down["daemon"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("unreachable")),
        "{down}"
    );
    assert!(node.is_running(), "the node survives its daemon dying");
    pair.restart_primary().await?;
    let before = blocks_found(&down);
    wait_status(
        api,
        Duration::from_secs(240),
        "blocks after the daemon restart",
        |s| blocks_found(s) >= before + 3,
    )
    .await
    .with_context(|| node.log_text())?;

    let payouts = get_json(api, "/api/v1/payouts")?;
    let listed: Vec<&str> = payouts
        .as_array()
        .context("a list")?
        .iter()
        .filter_map(|p| p["address"].as_str())
        .collect();
    assert!(
        listed.contains(&addr_a.as_str()) && listed.contains(&addr_b.as_str()),
        "{payouts}"
    );
    // `?finder=` moves the finder's bonus (and rounding) to that address and nothing else:
    // same total, more for the named finder. Read while the tip stays put (miners still run).
    let amount = |list: &Value, addr: &str| -> u64 {
        list.as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["address"] == addr)
            .filter_map(|p| p["amount"].as_u64())
            .sum()
    };
    let total = |list: &Value| -> u64 {
        list.as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["amount"].as_u64())
            .sum()
    };
    let (as_a, as_b) = wait_for(
        Duration::from_secs(30),
        "a quiet moment for payouts",
        || {
            let before = get_json(api, "/api/v1/payouts").ok()?;
            let as_a = get_json(api, &format!("/api/v1/payouts?finder={addr_a}")).ok()?;
            let as_b = get_json(api, &format!("/api/v1/payouts?finder={addr_b}")).ok()?;
            let after = get_json(api, "/api/v1/payouts").ok()?;
            (before == after).then_some((as_a, as_b))
        },
    )?;
    assert_eq!(total(&as_a), total(&as_b), "{as_a} {as_b}");
    assert!(
        amount(&as_a, &addr_a) > amount(&as_b, &addr_a),
        "{as_a} {as_b}"
    );
    assert!(
        amount(&as_b, &addr_b) > amount(&as_a, &addr_b),
        "{as_a} {as_b}"
    );
    let refused = get_json(api, "/api/v1/payouts?finder=not-an-address")
        .expect_err("a bad finder address is refused");
    assert!(refused.to_string().contains("400"), "{refused}");
    // Per-worker statistics: both rigs, by their full Stratum user, with accepted shares.
    let workers = get_json(api, "/api/v1/workers")?;
    for (addr, rig) in [(&addr_a, "rig1"), (&addr_b, "rig2")] {
        let name = format!("{addr}.{rig}");
        let w = workers
            .as_array()
            .and_then(|a| a.iter().find(|w| w["name"] == name.as_str()))
            .with_context(|| format!("worker {name} listed: {workers}"))?;
        assert!(w["accepted"].as_u64().is_some_and(|n| n > 0), "{w}");
        assert!(w["hashrate"].as_f64().is_some_and(|h| h > 0.0), "{w}");
    }

    miner_a.stop(Duration::from_secs(5));
    miner_b.stop(Duration::from_secs(5));
    node.stop(Duration::from_secs(20));
    pair.wait_synced().await.ok();

    // Every Otedama block in litecoind's best chain pays exactly the payout function's outputs
    // for its share's window, in order, summing to the block's whole reward.
    let chain = ShareChain::open(
        Consensus::for_network(Coin::Litecoin, Network::Regtest).context("regtest parameters")?,
        SledStore::open(&node_dir.join("sharechain"))?,
    )?;
    let rpc = pair.primary.rpc();
    let height: u64 = rpc.call("getblockcount", json!([])).await?;
    let params = Coin::Litecoin.params(Network::Regtest)?;
    let mut checked = 0;
    let mut last_paid = Vec::new();
    for h in 1..=height {
        let hash: String = rpc.call("getblockhash", json!([h])).await?;
        let block: Value = rpc.call("getblock", json!([hash, 2])).await?;
        let outputs = block["tx"][0]["vout"]
            .as_array()
            .context("coinbase outputs")?;
        let Some(commit_at) = outputs.iter().position(|o| {
            o["scriptPubKey"]["hex"]
                .as_str()
                .is_some_and(|s| s.starts_with(OTDM_PREFIX))
        }) else {
            continue;
        };
        let id: ShareId = hash.parse()?;
        let share = chain
            .get_share(&id)?
            .with_context(|| format!("block {hash} at {h} is a share the node stored"))?;
        let parent = (share.data.height > 0).then_some(share.data.prev_share);
        let expected = chain.payouts(
            parent.as_ref(),
            share.coinbase.value,
            share.header.bits(),
            &share.data.payout_script,
        );
        ensure!(
            expected.len() == commit_at,
            "block {h}: {} payout outputs expected, {commit_at} found",
            expected.len()
        );
        let mut total = 0u64;
        for (p, o) in expected.iter().zip(outputs) {
            let sats = (o["value"].as_f64().context("value")? * 1e8).round() as u64;
            assert_eq!(
                o["scriptPubKey"]["hex"].as_str(),
                Some(hex::encode(p.script.as_bytes()).as_str()),
                "block {h}"
            );
            assert_eq!(sats, p.amount.to_sat(), "block {h}: amount of {}", p.script);
            total += sats;
        }
        assert_eq!(
            Amount::from_sat(total),
            share.coinbase.value,
            "block {h}: outputs sum to the coinbase value"
        );
        assert_eq!(
            total,
            params.subsidy(h as u32),
            "block {h}: the whole reward is paid out (no fees on this chain)"
        );
        checked += 1;
        last_paid = expected;
    }
    assert!(
        checked >= 6,
        "only {checked} Otedama blocks in the best chain"
    );

    // Both miners are paid, each in proportion to its work in the window (the finder's 0.5 %
    // bonus and rounding aside).
    let total_weight: f64 = last_paid.iter().map(|p| p.weight.to_f64()).sum();
    let value: f64 = last_paid.iter().map(|p| p.amount.to_sat() as f64).sum();
    for p in &last_paid {
        let share_of_value = p.amount.to_sat() as f64 / value;
        let share_of_work = p.weight.to_f64() / total_weight;
        assert!(
            (share_of_value - share_of_work).abs() < 0.006,
            "{p:?}: {share_of_value} of the value for {share_of_work} of the work"
        );
    }
    let paid: Vec<Vec<u8>> = last_paid.iter().map(|p| p.script.to_bytes()).collect();
    assert!(
        paid.contains(&script_a) && paid.contains(&script_b),
        "both miners are in the window: {last_paid:?}"
    );
    pair.stop().await;
    Ok(())
}
