//! Network benchmark: real `otedama node` processes (release build) on loopback.
//!
//! ```text
//! cargo build --release -p otedama-node -p otedama-tests --bin otedama --bin netbench
//! target/release/netbench [--nodes 10] [--publish 50] [--gap-ms 250] [--sync-runs 3]
//! ```
//!
//! 1. **Propagation.** `--nodes` nodes are seeded with the fixture's first 2200 − `--publish`
//!    shares; node 0 starts alone, the others bootstrap from it, and the bench waits until every
//!    node has at least 3 peers. A publisher swarm built in this process with the node's own
//!    behaviour (`otedama_node::p2p::behaviour::swarm`) dials node 0 only (every other node's
//!    peer id is on its block list, so its Kademlia cannot dial them) and gossips the remaining
//!    fixture shares one at a time, `--gap-ms` apart. Each node logs `gossiped share accepted`
//!    (`RUST_LOG=info,otedama_node::p2p=debug`) with the time at the start of the line; the
//!    delay of a share to a node is that time minus the wall-clock time of the publish call.
//! 2. **Memory.** `VmRSS` of every node, each then holding 2200 shares; node 0 has the most peers.
//! 3. **Full-window sync.** A node with an empty data directory bootstraps from node 0; the time
//!    from its process start to its log line `sharechain synced with the network`, checked
//!    against the API (tip = node 0's, height 2199, and all 2200 shares received: fetched by sync
//!    or, for the newest few, by gossipsub's IHAVE/IWANT repair of recent messages when the run
//!    starts within its 12 s history of the publishing). Repeated `--sync-runs` times with a
//!    fresh directory each.
//!
//! The nodes are given a daemon URL where nothing listens: the network does not need a daemon.
//! Set `OTEDAMA_TEST_KEEP=1` to keep the data directories and logs. Every child process is
//! stopped on exit, on error and on panic (their handles kill them when dropped).

use anyhow::{bail, ensure, Context, Result};
use futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance};
use libp2p::identity::Keypair;
use libp2p::request_response;
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId};
use otedama_node::p2p::behaviour::{self, BehaviourEvent, SyncCall};
use otedama_node::p2p::wire::{self, ChainStatus, SyncRequest, SyncResponse};
use otedama_sharechain::codec::decode_share;
use otedama_sharechain::ConsensusId;
use otedama_tests::fixture::{regtest_consensus, FIXTURE_SHARES};
use otedama_tests::pool::{tip, Daemon, Launch, PoolNode};
use otedama_tests::{free_addr, regtest_chain, seed_store, wait_for, TestDir};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

/// What the nodes log: the peer-to-peer actor at debug for `gossiped share accepted`.
const NODE_LOG: &str = "info,otedama_node::p2p=debug";
/// Peers every node must have before shares are published.
const MIN_PEERS: u64 = 3;
const ACCEPTED: &str = "gossiped share accepted";
const SYNCED: &str = "sharechain synced with the network";

#[derive(Debug, Clone)]
struct Args {
    nodes: usize,
    publish: usize,
    gap: Duration,
    sync_runs: usize,
}

impl Args {
    fn parse() -> Result<Self> {
        let mut args = Args {
            nodes: 10,
            publish: 50,
            gap: Duration::from_millis(250),
            sync_runs: 3,
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            let mut value = || -> Result<u64> {
                let v = it.next().with_context(|| format!("{flag} needs a value"))?;
                v.parse()
                    .with_context(|| format!("{flag} {v}: not a number"))
            };
            match flag.as_str() {
                "--nodes" => args.nodes = usize::try_from(value()?)?,
                "--publish" => args.publish = usize::try_from(value()?)?,
                "--gap-ms" => args.gap = Duration::from_millis(value()?),
                "--sync-runs" => args.sync_runs = usize::try_from(value()?)?,
                "-h" | "--help" => {
                    println!(
                        "usage: netbench [--nodes 10] [--publish 50] [--gap-ms 250] [--sync-runs 3]"
                    );
                    std::process::exit(0);
                }
                other => bail!("unknown argument {other} (try --help)"),
            }
        }
        ensure!(args.nodes >= 2, "--nodes must be at least 2");
        ensure!(
            (1..FIXTURE_SHARES).contains(&args.publish),
            "--publish must be 1..{FIXTURE_SHARES}"
        );
        Ok(args)
    }
}

// ---- the publisher: a libp2p peer in this process with the node's behaviour ----

#[derive(Debug)]
enum Order {
    Block(PeerId),
    Dial(Multiaddr),
    Publish(usize, Vec<u8>),
}

#[derive(Debug)]
enum Seen {
    Connected(PeerId),
    Closed(PeerId),
    DialFailed(String),
    Subscribed(PeerId),
    Published {
        index: usize,
        at: SystemTime,
        result: Result<(), String>,
    },
}

#[derive(Debug)]
struct Publisher {
    id: PeerId,
    orders: mpsc::UnboundedSender<Order>,
    seen: std_mpsc::Receiver<Seen>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Publisher {
    fn spawn(rt: &tokio::runtime::Runtime, consensus: &ConsensusId) -> Result<Self> {
        let key = Keypair::generate_ed25519();
        let id = key.public().to_peer_id();
        // The swarm's transport registers with the runtime it is built in.
        let mut swarm = {
            let _guard = rt.enter();
            behaviour::swarm(key, consensus, "otedama-netbench/0")?
        };
        let topic = IdentTopic::new(wire::share_topic(consensus));
        let (orders_tx, mut orders) = mpsc::unbounded_channel();
        let (seen_tx, seen) = std_mpsc::channel();
        let task = rt.spawn(async move {
            let say = |s: Seen| {
                let _ = seen_tx.send(s);
            };
            // Shares published so far, to answer a node's `Shares` request honestly.
            let mut published: HashMap<[u8; 32], Vec<u8>> = HashMap::new();
            loop {
                tokio::select! {
                    order = orders.recv() => match order {
                        None => return,
                        Some(Order::Block(peer)) => {
                            swarm.behaviour_mut().blocked.block_peer(peer);
                        }
                        Some(Order::Dial(addr)) => {
                            if let Err(e) = swarm.dial(addr) {
                                say(Seen::DialFailed(e.to_string()));
                            }
                        }
                        Some(Order::Publish(index, bytes)) => {
                            if let Ok(share) = decode_share(&bytes) {
                                published.insert(share.id().to_byte_array(), bytes.clone());
                            }
                            let at = SystemTime::now();
                            let result = swarm
                                .behaviour_mut()
                                .gossipsub
                                .publish(topic.clone(), bytes)
                                .map(|_| ())
                                .map_err(|e| e.to_string());
                            say(Seen::Published { index, at, result });
                        }
                    },
                    event = swarm.select_next_some() => match event {
                        SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                            say(Seen::Connected(peer_id));
                        }
                        SwarmEvent::ConnectionClosed { peer_id, .. } => say(Seen::Closed(peer_id)),
                        SwarmEvent::OutgoingConnectionError { error, .. } => {
                            say(Seen::DialFailed(error.to_string()));
                        }
                        SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(event)) => match event {
                            gossipsub::Event::Subscribed { peer_id, topic: t }
                                if t == topic.hash() =>
                            {
                                say(Seen::Subscribed(peer_id));
                            }
                            // Nothing should come back (node 0 does not return a share to its
                            // source); anything that does is not ours to forward.
                            gossipsub::Event::Message { propagation_source, message_id, .. } => {
                                swarm
                                    .behaviour_mut()
                                    .gossipsub
                                    .report_message_validation_result(
                                        &message_id,
                                        &propagation_source,
                                        MessageAcceptance::Ignore,
                                    );
                            }
                            _ => {}
                        },
                        // Answer the node's sync requests, so that it has no reason to mark us
                        // down: an empty chain, and the shares we published if asked.
                        SwarmEvent::Behaviour(BehaviourEvent::Sync(
                            request_response::Event::Message {
                                message: request_response::Message::Request { request, channel, .. },
                                ..
                            },
                        )) => {
                            let response = match request {
                                SyncCall::Request(SyncRequest::Status) => {
                                    SyncResponse::Status(ChainStatus::EMPTY)
                                }
                                SyncCall::Request(SyncRequest::Ids { .. }) => SyncResponse::Ids {
                                    ids: Vec::new(),
                                    more: false,
                                },
                                SyncCall::Request(SyncRequest::Shares(ids)) => {
                                    SyncResponse::Shares(
                                        ids.iter()
                                            .filter_map(|id| published.get(id).cloned())
                                            .collect(),
                                    )
                                }
                                SyncCall::Malformed(reason) => SyncResponse::Refused(reason),
                            };
                            let _ = swarm.behaviour_mut().sync.send_response(channel, response);
                        }
                        _ => {}
                    },
                }
            }
        });
        Ok(Publisher {
            id,
            orders: orders_tx,
            seen,
            task,
        })
    }

    fn order(&self, order: Order) -> Result<()> {
        self.orders
            .send(order)
            .map_err(|_| anyhow::anyhow!("the publisher task stopped"))
    }

    /// Waits for an event `pick` accepts, failing after `limit`; other events go to `other`.
    fn wait<T>(
        &self,
        limit: Duration,
        what: &str,
        mut pick: impl FnMut(Seen) -> Result<Option<T>>,
    ) -> Result<T> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.seen.recv_timeout(left) {
                Ok(seen) => {
                    if let Some(v) = pick(seen)? {
                        return Ok(v);
                    }
                }
                Err(std_mpsc::RecvTimeoutError::Timeout) => {
                    bail!("publisher: timed out after {limit:?} waiting for {what}")
                }
                Err(std_mpsc::RecvTimeoutError::Disconnected) => {
                    bail!("publisher: its task stopped while waiting for {what}")
                }
            }
        }
    }
}

// ---- logs, clocks, statistics ----

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses tracing's timestamp, `2026-11-25T11:40:00.123456Z` (UTC, any number of fraction
/// digits).
fn parse_time(s: &str) -> Option<SystemTime> {
    let s = s.strip_suffix('Z')?;
    let (date, clock) = s.split_once('T')?;
    let mut d = date.split('-').map(str::parse::<i64>);
    let (y, mo, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let mut t = hms.split(':').map(str::parse::<i64>);
    let (h, mi, sec) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
    let secs = days_from_civil(y, mo, day) * 86_400 + h * 3600 + mi * 60 + sec;
    let mut nanos = 0u32;
    for (i, c) in frac.chars().take(9).enumerate() {
        nanos += c.to_digit(10)? * 10u32.pow(8 - u32::try_from(i).ok()?);
    }
    let secs = u64::try_from(secs).ok()?;
    Some(UNIX_EPOCH + Duration::new(secs, nanos))
}

/// The time at the start of a log line.
fn line_time(line: &str) -> Option<SystemTime> {
    parse_time(line.split_whitespace().next()?)
}

/// The value of `key=` in a log line.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let at = line.find(&format!(" {key}="))? + key.len() + 2;
    line[at..].split_whitespace().next()
}

/// Signed milliseconds from `from` to `to`.
fn ms_between(from: SystemTime, to: SystemTime) -> f64 {
    match to.duration_since(from) {
        Ok(d) => d.as_secs_f64() * 1e3,
        Err(e) => -e.duration().as_secs_f64() * 1e3,
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

/// `VmRSS` and `VmHWM` of a process, in KiB.
fn memory_kib(pid: u32) -> Result<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("cannot read /proc/{pid}/status"))?;
    let get = |key: &str| -> Result<u64> {
        let line = text
            .lines()
            .find(|l| l.starts_with(key))
            .with_context(|| format!("no {key} in /proc/{pid}/status"))?;
        Ok(line
            .split_whitespace()
            .nth(1)
            .context("no value")?
            .parse()?)
    };
    Ok((get("VmRSS:")?, get("VmHWM:")?))
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The `otedama` binary next to this one.
fn otedama_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find this executable")?;
    let path = exe
        .parent()
        .context("executable directory")?
        .join("otedama");
    ensure!(
        path.is_file(),
        "{} not found: build it with `cargo build --release -p otedama-node -p otedama-tests \
         --bin otedama --bin netbench`",
        path.display()
    );
    Ok(path)
}

fn node_log(node: &PoolNode) -> Result<String> {
    let path = node.log_path().context("the node is not running")?;
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn status_u64(s: &Value, key: &str) -> Option<u64> {
    s[key].as_u64()
}

// ---- the benchmark ----

#[derive(Debug)]
struct Propagation {
    pairs: Vec<f64>,
    to_all: Vec<f64>,
    first_node0: Vec<f64>,
}

#[derive(Debug)]
struct SyncRun {
    secs: f64,
    peers_at_end: u64,
    synced_in_api_at_log: bool,
    /// Why the node's chain after sync is not node 0's.
    failure: Option<String>,
}

fn main() -> Result<()> {
    let args = Args::parse()?;
    let program = otedama_binary()?;
    let load_start = loadavg();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let dir = TestDir::new()?;
    let base = dir.path();
    let chain = regtest_chain();
    ensure!(
        chain.len() == FIXTURE_SHARES,
        "the fixture holds {} shares",
        chain.len()
    );
    let ids: Vec<String> = chain
        .iter()
        .map(|b| decode_share(b).map(|s| s.id().to_string()))
        .collect::<Result<_, _>>()
        .context("the fixture does not decode")?;
    let seeded = FIXTURE_SHARES - args.publish;
    let consensus = regtest_consensus().id();
    let launch = Launch {
        program: Some(program.clone()),
        env: vec![("RUST_LOG".into(), NODE_LOG.into())],
        ..Launch::default()
    };
    // Nothing listens there: the nodes run without a coin daemon.
    let daemon = Daemon {
        url: format!("http://{}", free_addr()?),
        user: "netbench".into(),
        password: "netbench".into(),
    };
    println!(
        "netbench: {} nodes, {} seeded shares each, {} published {} ms apart, {} sync runs; \
         binary {}; load average {load_start}",
        args.nodes,
        seeded,
        args.publish,
        args.gap.as_millis(),
        args.sync_runs,
        program.display()
    );

    // -- start the network --
    let began = Instant::now();
    for i in 0..args.nodes {
        seed_store(&base.join(format!("node{i}")), &chain[..seeded])?;
    }
    println!(
        "seeded {} data directories in {:.1?}",
        args.nodes,
        began.elapsed()
    );
    let began = Instant::now();
    let mut nodes: Vec<PoolNode> = Vec::with_capacity(args.nodes);
    nodes.push(PoolNode::start_with(
        "node0",
        base,
        &daemon,
        &[],
        launch.clone(),
    )?);
    let addr0 = nodes[0].multiaddr()?;
    for i in 1..args.nodes {
        nodes.push(PoolNode::start_with(
            &format!("node{i}"),
            base,
            &daemon,
            std::slice::from_ref(&addr0),
            launch.clone(),
        )?);
    }
    let want_height = seeded as u64 - 1;
    let mut peer_ids = Vec::new();
    for node in &nodes {
        let s = node.wait(
            Duration::from_secs(120),
            &format!("its chain loaded, p2p synced and >= {MIN_PEERS} peers"),
            |s| {
                status_u64(s, "sharechain_height") == Some(want_height)
                    && s["sync"]["synced"] == true
                    && status_u64(s, "peers").is_some_and(|p| p >= MIN_PEERS)
            },
        )?;
        let id: PeerId = s["peer_id"]
            .as_str()
            .context("no peer id")?
            .parse()
            .context("bad peer id")?;
        peer_ids.push(id);
    }
    let peers: Vec<u64> = nodes
        .iter()
        .map(|n| {
            n.status()
                .ok()
                .and_then(|s| status_u64(&s, "peers"))
                .unwrap_or(0)
        })
        .collect();
    println!(
        "{} nodes up, each with >= {MIN_PEERS} peers, in {:.1?} (peers: {peers:?}); no daemon",
        args.nodes,
        began.elapsed()
    );
    // Let gossipsub build its meshes (700 ms heartbeat).
    std::thread::sleep(Duration::from_secs(3));

    // -- 1. propagation --
    let publisher = Publisher::spawn(&rt, &consensus)?;
    for id in &peer_ids[1..] {
        publisher.order(Order::Block(*id))?;
    }
    publisher.order(Order::Dial(addr0.parse().context("node 0's address")?))?;
    let node0_id = peer_ids[0];
    println!(
        "publisher {} dials node 0 only ({} other nodes on its block list)",
        publisher.id,
        peer_ids.len() - 1
    );
    publisher.wait(
        Duration::from_secs(30),
        "node 0 to subscribe",
        |seen| match seen {
            Seen::Subscribed(p) if p == node0_id => Ok(Some(())),
            Seen::DialFailed(e) => bail!("cannot dial node 0: {e}"),
            Seen::Connected(p) if p != node0_id => bail!("the publisher connected to {p}"),
            _ => Ok(None),
        },
    )?;
    // One heartbeat so that node 0 also has the publisher in its view of the topic.
    std::thread::sleep(Duration::from_secs(1));
    let mut published_at = Vec::with_capacity(args.publish);
    for k in 0..args.publish {
        let next = Instant::now() + args.gap;
        publisher.order(Order::Publish(k, chain[seeded + k].clone()))?;
        let at = publisher.wait(Duration::from_secs(10), "a publish", |seen| match seen {
            Seen::Published { index, at, result } if index == k => match result {
                Ok(()) => Ok(Some(at)),
                Err(e) => bail!("publishing share {k} failed: {e}"),
            },
            Seen::Connected(p) if p != node0_id => bail!("the publisher connected to {p}"),
            Seen::Closed(p) if p == node0_id => bail!("node 0 closed the connection"),
            _ => Ok(None),
        })?;
        published_at.push(at);
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    let last = &ids[FIXTURE_SHARES - 1];
    for node in &nodes {
        node.wait(Duration::from_secs(30), "the last published share", |s| {
            tip(s).as_deref() == Some(last.as_str())
        })?;
    }
    let propagation = propagation(&nodes, &ids[seeded..], &published_at)?;

    // -- 2. memory, with every node holding the full fixture --
    let node0_status = nodes[0].status()?;
    let node0_peers = status_u64(&node0_status, "peers").unwrap_or(0);
    let mut rss = Vec::new();
    for node in &nodes {
        let s = node.status()?;
        ensure!(
            status_u64(&s, "sharechain_height") == Some(FIXTURE_SHARES as u64 - 1),
            "{} does not hold the fixture: {s}",
            node.name
        );
        let pid = node.pid().context("node stopped")?;
        let (now, peak) = memory_kib(pid)?;
        rss.push((
            node.name.clone(),
            now,
            peak,
            status_u64(&s, "peers").unwrap_or(0),
        ));
    }
    let max_rss = rss.iter().map(|r| r.1).max().unwrap_or(0);
    let max_hwm = rss.iter().map(|r| r.2).max().unwrap_or(0);
    drop(publisher);

    // -- 3. full-window sync of a fresh node --
    let tip0 = tip(&nodes[0].status()?).context("node 0 has a tip")?;
    let mut syncs = Vec::new();
    for r in 1..=args.sync_runs {
        syncs.push(sync_run(
            &format!("sync{r}"),
            base,
            &daemon,
            &addr0,
            &launch,
            &tip0,
        )?);
    }
    let load_end = loadavg();

    // -- report --
    let pairs = sorted(propagation.pairs.clone());
    let to_all = sorted(propagation.to_all.clone());
    let first = sorted(propagation.first_node0.clone());
    println!();
    println!(
        "== Propagation: {} shares gossiped into node 0, {} nodes ==",
        args.publish, args.nodes
    );
    println!(
        "publish -> accepted, all {} (share, node) pairs: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        pairs.len(),
        percentile(&pairs, 50.0),
        percentile(&pairs, 99.0),
        pairs.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "publish -> accepted by node 0 (first hop): p50 {:.1} ms, p99 {:.1} ms",
        percentile(&first, 50.0),
        percentile(&first, 99.0)
    );
    println!(
        "publish -> accepted by all {} nodes, per share: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        args.nodes,
        percentile(&to_all, 50.0),
        percentile(&to_all, 99.0),
        to_all.last().copied().unwrap_or(f64::NAN)
    );
    println!();
    println!("== Memory: every node holding {FIXTURE_SHARES} shares ==");
    for (name, now, peak, p) in &rss {
        println!(
            "{name}: VmRSS {:.1} MiB (peak {:.1} MiB), {p} peers",
            mib(*now),
            mib(*peak)
        );
    }
    println!(
        "node0 ({node0_peers} peers): {:.1} MiB; max over nodes: {:.1} MiB (peak {:.1} MiB)",
        mib(rss[0].1),
        mib(max_rss),
        mib(max_hwm)
    );
    println!();
    println!("== Full-window sync: empty node bootstrapping node 0 ==");
    for (i, s) in syncs.iter().enumerate() {
        match &s.failure {
            None => println!(
                "run {}: {:.2} s from process start to synced, {:.0} shares/s ({} peers at the \
                 end{})",
                i + 1,
                s.secs,
                FIXTURE_SHARES as f64 / s.secs,
                s.peers_at_end,
                if s.synced_in_api_at_log {
                    ""
                } else {
                    "; the API still lagged the log line"
                }
            ),
            Some(why) => println!("run {}: WRONG CHAIN: {why}", i + 1),
        }
    }
    println!();
    println!("load average: {load_start} at start, {load_end} at the end");
    let line = json!({
        "bench": "netbench",
        "nodes": args.nodes,
        "published": args.publish,
        "gap_ms": args.gap.as_millis() as u64,
        "propagation_ms": {
            "pairs": pairs.len(),
            "p50": percentile(&pairs, 50.0),
            "p99": percentile(&pairs, 99.0),
            "max": pairs.last(),
            "first_hop_p50": percentile(&first, 50.0),
            "first_hop_p99": percentile(&first, 99.0),
            "all_nodes_p50": percentile(&to_all, 50.0),
            "all_nodes_p99": percentile(&to_all, 99.0),
            "all_nodes_max": to_all.last(),
        },
        "rss_mib": {
            "node0": mib(rss[0].1),
            "node0_peers": node0_peers,
            "max": mib(max_rss),
            "max_peak": mib(max_hwm),
        },
        "sync": syncs.iter().map(|s| json!({
            "shares": FIXTURE_SHARES,
            "secs": s.secs,
            "shares_per_s": FIXTURE_SHARES as f64 / s.secs,
            "ok": s.failure.is_none(),
            "failure": s.failure,
        })).collect::<Vec<_>>(),
        "loadavg_start": load_start,
        "loadavg_end": load_end,
    });
    println!("{line}");
    drop(nodes);
    let failed = syncs.iter().filter(|s| s.failure.is_some()).count();
    ensure!(
        failed == 0,
        "{failed} of {} sync runs ended on a chain other than node 0's",
        syncs.len()
    );
    Ok(())
}

/// Reads every node's log for the published shares' arrival times.
fn propagation(
    nodes: &[PoolNode],
    published: &[String],
    published_at: &[SystemTime],
) -> Result<Propagation> {
    let index: HashMap<&str, usize> = published
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    // arrival[share][node]
    let mut arrival = vec![vec![None::<SystemTime>; nodes.len()]; published.len()];
    for (n, node) in nodes.iter().enumerate() {
        for line in node_log(node)?.lines().filter(|l| l.contains(ACCEPTED)) {
            let Some(&k) = field(line, "share").and_then(|id| index.get(id)) else {
                continue;
            };
            let at = line_time(line).with_context(|| format!("no time in `{line}`"))?;
            ensure!(
                arrival[k][n].replace(at).is_none(),
                "{} accepted share {k} twice",
                node.name
            );
        }
    }
    let mut missing = Vec::new();
    for (k, row) in arrival.iter().enumerate() {
        for (n, at) in row.iter().enumerate() {
            if at.is_none() {
                missing.push(format!("share {k} ({}) at {}", published[k], nodes[n].name));
            }
        }
    }
    if !missing.is_empty() {
        for m in &missing {
            eprintln!("not accepted by gossip: {m}");
        }
        bail!(
            "{} of {} (share, node) pairs have no `{ACCEPTED}` line (logs under {}; set \
             OTEDAMA_TEST_KEEP=1 to keep them)",
            missing.len(),
            published.len() * nodes.len(),
            nodes[0]
                .data_dir
                .parent()
                .map_or(Path::new("?"), |p| p)
                .display()
        );
    }
    let mut pairs = Vec::new();
    let mut to_all = Vec::new();
    let mut first_node0 = Vec::new();
    for (k, row) in arrival.iter().enumerate() {
        let delays: Vec<f64> = row
            .iter()
            .map(|at| ms_between(published_at[k], at.expect("checked above")))
            .collect();
        first_node0.push(delays[0]);
        to_all.push(delays.iter().copied().fold(f64::MIN, f64::max));
        pairs.extend(delays);
    }
    Ok(Propagation {
        pairs,
        to_all,
        first_node0,
    })
}

/// Starts a node with an empty data directory that bootstraps from `addr0` and times its sync.
fn sync_run(
    name: &str,
    base: &Path,
    daemon: &Daemon,
    addr0: &str,
    launch: &Launch,
    tip0: &str,
) -> Result<SyncRun> {
    let mut node = PoolNode::start_with(name, base, daemon, &[addr0.to_owned()], launch.clone())?;
    let started = node.started_at().context("not started")?;
    let synced_at = wait_for(Duration::from_secs(120), "the sync log line", || {
        node_log(&node)
            .ok()?
            .lines()
            .find(|l| l.contains(SYNCED))
            .and_then(line_time)
    })?;
    let at_log = node.status()?;
    // Every share arrived by sync, or (the newest few, right after the propagation phase) by
    // gossipsub repairing the new peer's view of recent messages.
    let received = |s: &Value| {
        let gossiped = node
            .peers()
            .ok()
            .and_then(|p| p["gossip_accepted"].as_u64())
            .unwrap_or(0);
        s["sync"]["fetched"].as_u64().unwrap_or(0) + gossiped
    };
    let complete = |s: &Value| {
        tip(s).as_deref() == Some(tip0)
            && status_u64(s, "sharechain_height") == Some(FIXTURE_SHARES as u64 - 1)
            && received(s) == FIXTURE_SHARES as u64
    };
    let synced_in_api_at_log = complete(&at_log);
    let secs = ms_between(started, synced_at) / 1e3;
    // A node that says it is synced must hold node 0's tip; give the API a little time.
    let (last, failure) = match node.wait(Duration::from_secs(20), "the full fixture", complete) {
        Ok(s) => (s, None),
        Err(e) => {
            let last = node.status().unwrap_or(Value::Null);
            let why = format!(
                "logged `{SYNCED}` after {secs:.2} s but 20 s later has height {} (node 0: {}), \
                 tip {} (node 0: {tip0}), fetched {} (with gossip: {}), sync state {}",
                last["sharechain_height"],
                FIXTURE_SHARES - 1,
                last["tip"],
                last["sync"]["fetched"],
                received(&last),
                last["sync"]["state"]
            );
            eprintln!("{name}: {e:#}");
            (last, Some(why))
        }
    };
    let peers_at_end = status_u64(&last, "peers").unwrap_or(0);
    match &failure {
        None => println!(
            "{name}: synced {} shares in {secs:.2} s ({} of them by gossip; height {}, tip = node \
             0's, {} peers)",
            received(&last),
            received(&last) - last["sync"]["fetched"].as_u64().unwrap_or(0),
            last["sharechain_height"],
            peers_at_end
        ),
        Some(why) => println!("{name}: FAILED: {why}"),
    }
    node.stop();
    Ok(SyncRun {
        secs,
        peers_at_end,
        synced_in_api_at_log,
        failure,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracing_timestamps_parse() {
        let t = parse_time("2026-11-25T11:40:00.123456Z").unwrap();
        let d = t.duration_since(UNIX_EPOCH).unwrap();
        assert_eq!(d.as_secs(), 1_795_606_800);
        assert_eq!(d.subsec_micros(), 123_456);
        assert_eq!(
            parse_time("1970-01-01T00:00:01Z").unwrap(),
            UNIX_EPOCH + Duration::from_secs(1)
        );
        let line = "2026-11-25T11:40:00.5Z DEBUG otedama_node::p2p::actor: gossiped share \
                    accepted share=ab12 from=12D3";
        assert_eq!(field(line, "share"), Some("ab12"));
        assert!(line_time(line).is_some());
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
    }
}
