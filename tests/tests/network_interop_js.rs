//! Otedama speaks standard libp2p: a js-libp2p peer (`tests/js/interop.mjs`) joins a pool of two
//! real `otedama node` processes on a litecoind regtest pair. Through node A only, it must
//! connect (TCP + Noise + Yamux), find node B by a Kademlia `FIND_NODE` lookup on Otedama's DHT,
//! dial B, subscribe to the share topic and receive, signed by B (gossipsub StrictSign), shares
//! that B's miner found: shares that decode with the sharechain codec, belong to the regtest
//! sharechain, pay B's miner and end up in both nodes' stores. Both nodes must list the js peer
//! with its js-libp2p agent (identify) and ban nobody.

use anyhow::{bail, ensure, Context, Result};
use otedama_node::p2p::wire::share_topic;
use otedama_proto::chain::{Coin, Network};
use otedama_proto::hash::ShareId;
use otedama_proto::target::Target;
use otedama_sharechain::codec::decode_share;
use otedama_sharechain::{Consensus, Share, ShareChain, SledStore};
use otedama_tests::pool::{regtest_address, regtest_daemon, wait_converged, PoolNode};
use otedama_tests::wait_for;
use serde_json::Value;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

/// How long each stage may take.
const LIMIT: Duration = Duration::from_secs(60);
/// Gossip messages the js peer must receive.
const MESSAGES: usize = 2;
/// The witness program byte of B's miner's payout address.
const B_PAYEE: u8 = 0xb2;

/// `tests/js`, with its dependencies installed (`npm ci` from the committed lock, once: a mutex
/// within this process and a file lock across processes).
fn js_harness() -> Result<PathBuf> {
    static IN_PROCESS: Mutex<()> = Mutex::new(());
    let js = Path::new(env!("CARGO_MANIFEST_DIR")).join("js");
    let _guard = IN_PROCESS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let lock_path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("otedama-js-npm-ci.lock");
    let lock = File::create(&lock_path)
        .with_context(|| format!("cannot create {}", lock_path.display()))?;
    lock.lock()
        .with_context(|| format!("cannot lock {}", lock_path.display()))?;
    // `npm ci` writes this file last, so its presence means a complete install.
    if js.join("node_modules/.package-lock.json").is_file() {
        return Ok(js);
    }
    eprintln!(
        "installing the js-libp2p harness: npm ci in {}",
        js.display()
    );
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&js)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot run npm ({e}): this test needs Node.js >= 20 and npm on PATH \
                 to install the js-libp2p harness in {}",
                js.display()
            )
        })?;
    if !out.status.success() {
        bail!(
            "`npm ci --no-audit --no-fund` in {} failed ({}):\n{}\n{}",
            js.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    ensure!(
        js.join("node_modules/.package-lock.json").is_file(),
        "npm ci succeeded but {} has no node_modules/.package-lock.json",
        js.display()
    );
    Ok(js)
}

/// The js-libp2p peer: killed when dropped; its stdout events arrive on `events`, its stderr
/// goes to a log file.
struct JsPeer {
    child: Child,
    events: mpsc::Receiver<Value>,
    log: PathBuf,
    seen: Vec<Value>,
}

impl JsPeer {
    fn start(js: &Path, args: &[String], log: &Path) -> Result<Self> {
        let err = File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
        let mut child = Command::new("node")
            .arg(js.join("interop.mjs"))
            .args(args)
            .current_dir(js)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(err)
            .spawn()
            .context("cannot start node (Node.js >= 20 must be on PATH)")?;
        let stdout = child.stdout.take().context("the js peer's stdout")?;
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let event = serde_json::from_str(&line)
                    .unwrap_or_else(|_| serde_json::json!({"event": "unparsed", "line": line}));
                if tx.send(event).is_err() {
                    break;
                }
            }
        });
        Ok(JsPeer {
            child,
            events,
            log: log.to_owned(),
            seen: Vec::new(),
        })
    }

    /// What went wrong, with everything it printed.
    fn report(&self, what: &str) -> anyhow::Error {
        let seen: Vec<String> = self.seen.iter().map(Value::to_string).collect();
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        anyhow::anyhow!(
            "js peer: {what}\n--- its events ---\n{}\n--- its stderr (tail) ---\n{}",
            seen.join("\n"),
            tail.join("\n")
        )
    }

    /// The next event, failing on `error`, `timeout`, an exit or after `limit`.
    fn next(&mut self, limit: Duration) -> Result<Value> {
        match self.events.recv_timeout(limit) {
            Ok(event) => {
                self.seen.push(event.clone());
                match event["event"].as_str() {
                    Some("error" | "timeout" | "unparsed") => {
                        Err(self.report(&format!("failed: {event}")))
                    }
                    _ => Ok(event),
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                Err(self.report(&format!("no event for {limit:?}")))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = self.child.wait().ok();
                Err(self.report(&format!("exited ({status:?}) before finishing")))
            }
        }
    }

    /// The next event, which must be `name`.
    fn expect(&mut self, name: &str, limit: Duration) -> Result<Value> {
        let event = self.next(limit)?;
        if event["event"] != name {
            return Err(self.report(&format!("expected `{name}`, got {event}")));
        }
        Ok(event)
    }
}

impl Drop for JsPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The peer `id` in a node's `/api/v1/peers`, once it has an agent string.
fn listed_with_agent(node: &PoolNode, id: &str) -> Option<Value> {
    let peers = node.peers().ok()?;
    peers["peers"]
        .as_array()?
        .iter()
        .find(|p| p["peer_id"] == id && p["agent"].is_string())
        .cloned()
}

fn no_bans(node: &PoolNode) -> Result<()> {
    let peers = node.peers()?;
    let banned = peers["banned"]
        .as_array()
        .with_context(|| format!("{}: no ban list in {peers}", node.name))?;
    ensure!(banned.is_empty(), "{} banned peers: {peers}", node.name);
    Ok(())
}

/// Opens the sharechain store of a stopped node.
fn open_chain(node: &PoolNode, consensus: &Consensus) -> Result<ShareChain<SledStore>> {
    let dir = node.data_dir.join("sharechain");
    let store = SledStore::open(&dir).with_context(|| format!("cannot open {}", dir.display()))?;
    Ok(ShareChain::open(consensus.clone(), store)?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_js_libp2p_peer_finds_b_through_a_and_receives_its_shares() -> Result<()> {
    let started = Instant::now();
    let js = js_harness()?;
    let dir = otedama_tests::TestDir::new()?;
    let base = dir.path();
    let (mut pair, daemon) = regtest_daemon(base).await?;
    let consensus =
        Consensus::for_network(Coin::Litecoin, Network::Regtest).context("regtest consensus")?;
    let topic = share_topic(&consensus.id());

    let mut a = PoolNode::start("a", base, &daemon, &[])?;
    let a_addr = a.multiaddr()?;
    let mut b = PoolNode::start("b", base, &daemon, std::slice::from_ref(&a_addr))?;
    let b_addr = b.multiaddr()?;
    let b_id = b_addr.rsplit('/').next().context("b's peer id")?.to_owned();
    let a_id = a_addr.rsplit('/').next().context("a's peer id")?.to_owned();
    for node in [&a, &b] {
        node.wait(LIMIT, "a peer and sync", |s| {
            s["peers"].as_u64().is_some_and(|n| n >= 1) && s["synced"] == true
        })?;
    }

    let args: Vec<String> = [
        "--bootstrap",
        &a_addr,
        "--find",
        &b_id,
        "--topic",
        &topic,
        "--count",
        &MESSAGES.to_string(),
        "--timeout-ms",
        "60000",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let mut peer = JsPeer::start(&js, &args, &base.join("js-peer.log"))?;
    let js_started = Instant::now();

    let js_id = peer.expect("started", LIMIT)?["peerId"]
        .as_str()
        .context("started: peerId")?
        .to_owned();
    let first = peer.expect("connected", LIMIT)?;
    ensure!(first["peer"] == a_id.as_str(), "js dialled A but: {first}");
    let found = peer.expect("found", LIMIT)?;
    ensure!(
        found["peer"] == b_id.as_str(),
        "js looked for B but: {found}"
    );
    let found_addrs = found["addrs"].as_array().context("found: addrs")?;
    ensure!(
        !found_addrs.is_empty(),
        "the DHT gave B without addresses: {found}"
    );
    ensure!(
        found_addrs.iter().any(|a| a
            .as_str()
            .is_some_and(|a| a.contains(&format!("/tcp/{}", b.p2p_port)))),
        "the DHT did not give B's listen address (port {}): {found}",
        b.p2p_port
    );
    let second = peer.expect("connected", LIMIT)?;
    ensure!(
        second["peer"] == b_id.as_str(),
        "js dialled B but: {second}"
    );
    peer.expect("subscribed", LIMIT)?;
    let took_to_subscribe = js_started.elapsed();

    // Identify, both ways: each node lists the js peer with its agent.
    let mut agents = Vec::new();
    for node in [&a, &b] {
        let listed = wait_for(LIMIT, &format!("{} to list the js peer", node.name), || {
            listed_with_agent(node, &js_id)
        })
        .map_err(|e| anyhow::anyhow!("{e:#}; peers: {:?}", node.peers().map(|p| p.to_string())))?;
        let agent = listed["agent"].as_str().unwrap_or_default().to_owned();
        ensure!(
            agent.contains("js-libp2p"),
            "{} lists the js peer with agent {agent:?}: {listed}",
            node.name
        );
        agents.push(agent);
    }

    // B mines; its shares reach the js peer by gossip (directly or through A).
    let mut miner = b.miner("miner-b", &regtest_address(B_PAYEE))?;
    let b_script = {
        let mut s = vec![0x00, 0x14];
        s.extend_from_slice(&[B_PAYEE; 20]);
        s
    };
    let mut shares: Vec<Share> = Vec::new();
    loop {
        let event = peer.next(LIMIT)?;
        match event["event"].as_str() {
            Some("message") => {
                ensure!(event["topic"] == topic.as_str(), "wrong topic: {event}");
                ensure!(
                    event["from"] == b_id.as_str(),
                    "a share of B's miner not signed by B: {event}"
                );
                let bytes = hex::decode(event["data"].as_str().context("message: data")?)?;
                ensure!(event["bytes"] == bytes.len(), "length mismatch: {event}");
                let share = decode_share(&bytes).map_err(|e| {
                    anyhow::anyhow!("gossiped bytes are not a share ({e}): {event}")
                })?;
                ensure!(
                    share.data.consensus_id == consensus.id(),
                    "share {} of another sharechain",
                    share.id()
                );
                ensure!(
                    share.data.payout_script.as_bytes() == b_script.as_slice(),
                    "share {} does not pay B's miner",
                    share.id()
                );
                let target = Target::from_compact(share.data.bits)
                    .map_err(|e| anyhow::anyhow!("share {}: bits: {e}", share.id()))?;
                ensure!(
                    share.header.meets(consensus.pow_algo(), &target),
                    "share {} does not meet its own target",
                    share.id()
                );
                shares.push(share);
            }
            Some("done") => break,
            _ => return Err(peer.report(&format!("unexpected event {event}"))),
        }
    }
    let took_to_receive = js_started.elapsed();
    ensure!(
        shares.len() >= MESSAGES,
        "done after {} shares",
        shares.len()
    );
    let mut ids: Vec<ShareId> = shares.iter().map(Share::id).collect();
    ids.sort_by_key(|id| id.to_byte_array());
    ids.dedup();
    ensure!(ids.len() == shares.len(), "a share arrived twice");
    let _ = peer.child.wait();
    miner.stop(Duration::from_secs(5));

    wait_converged(&[&a, &b], LIMIT)?;
    // Stale-job shares may be siblings (two genesis shares), so compare heights, not counts.
    let b_status = b.status()?;
    let highest = shares.iter().map(|s| u64::from(s.data.height)).max();
    ensure!(
        b_status["sharechain_height"].as_u64() >= highest
            && b_status["shares_found"]
                .as_u64()
                .is_some_and(|n| n >= shares.len() as u64),
        "B's chain does not account for the {} shares it gossiped (highest {highest:?}): \
         {b_status}",
        shares.len()
    );
    no_bans(&a)?;
    no_bans(&b)?;

    // Every share the js peer got is in both stores, byte for byte the same share.
    a.stop();
    b.stop();
    for node in [&a, &b] {
        let chain = open_chain(node, &consensus)?;
        for share in &shares {
            let stored = chain
                .get_share(&share.id())?
                .with_context(|| format!("{} does not have share {}", node.name, share.id()))?;
            ensure!(
                &stored == share,
                "{} stores another share {}",
                node.name,
                share.id()
            );
        }
    }
    pair.stop().await;
    eprintln!(
        "js peer {js_id} ({}) subscribed in {took_to_subscribe:?}, got {} shares of B in \
         {took_to_receive:?}; test took {:?}",
        agents.join(" / "),
        shares.len(),
        started.elapsed()
    );
    Ok(())
}
