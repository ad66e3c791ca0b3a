//! Fault soak: a regtest pool run for a long time with faults injected on a schedule (issue 11,
//! "a long run"), reporting what a miner and an operator care about.
//!
//! ```text
//! cargo build --release -p otedama-node -p otedama-miner -p otedama-tests \
//!     --bin otedama --bin otedama-miner --bin soak
//! target/release/soak [--minutes 60] [--cycle-secs 600] [--report soak.md]
//! ```
//!
//! Three connected `litecoind -regtest`: the primary (with the daemon's default `-rpcthreads`, so
//! that abandoned long-polls would show), the backup, and a third that only relays, so that each
//! of the other two keeps a peer while one is down (litecoind serves no template without one).
//! Three Otedama nodes, each given the primary and the backup (in that order), each with one CPU
//! miner paying its own address. Node C's data directory is a 256 MiB tmpfs (when this runs as
//! root and may mount one), so that its disk can be filled. Before the nodes start, the daemons
//! mine past MWEB activation, so that every block of the run is an MWEB block as on mainnet,
//! and the soak waits until the chain's median time is behind the clock again.
//!
//! Every cycle (`--cycle-secs`, default 600 s) runs the same faults, each at its offset:
//!
//! | offset | fault |
//! |---|---|
//! | 60 s | the primary daemon is killed (SIGKILL); restarted 60 s later |
//! | 180 s | the backup hangs (SIGSTOP: its RPC answers nothing, it falls behind); 20 s later the primary is killed too, so no daemon can take a block; the primary comes back 60 s later, the backup resumes (SIGCONT) 20 s after that and catches up |
//! | 330 s | the primary's clock runs 60 s ahead (`setmocktime`, past regtest's 12 s share limit); back after 60 s |
//! | 450 s | node C's disk is full (a file fills its tmpfs); freed after 60 s |
//! | 540 s | node B is stopped (SIGTERM) and started again 20 s later with its data directory (its miner reconnects) |
//!
//! The run ends with a report: blocks found (accepted by a daemon), how many of them are in the
//! final best chain, stale blocks (another block at the height came first), **blocks lost**
//! (refused or never submitted: must be 0), the longest and the total time each node had no work
//! for its miners (no job, a withdrawn template, waiting for sync; node B's planned downtime
//! apart), and each node's memory (`VmRSS`) and data directory size after the first cycle and at
//! the end, as growth per hour. The exit status is 1 when a block was lost or a node had no work
//! for longer than one template refresh (30 s) outside its planned downtime.

use anyhow::{bail, ensure, Context, Result};
use otedama_node::daemon::regtest::{RegtestDaemon, RegtestPair, MWEB_ACTIVATION_HEIGHT};
use otedama_node::daemon::rpc::RpcClient;
use otedama_tests::pool::{regtest_address, Daemon, Launch, PoolNode};
use otedama_tests::{get_json, scrypt_miner_from, Process, TestDir};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The longest a node may leave its miners without work: one template refresh.
const MAX_NO_WORK: Duration = Duration::from_secs(30);
/// How often every node's status is read.
const SAMPLE_EVERY: Duration = Duration::from_secs(1);
/// The size of node C's tmpfs.
const TMPFS_SIZE: &str = "256m";

#[derive(Debug, Clone)]
struct Args {
    minutes: u64,
    cycle: Duration,
    report: Option<PathBuf>,
}

impl Args {
    fn parse() -> Result<Self> {
        let mut args = Args {
            minutes: 60,
            cycle: Duration::from_secs(600),
            report: None,
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--minutes" => args.minutes = value()?.parse().context("--minutes")?,
                "--cycle-secs" => {
                    args.cycle = Duration::from_secs(value()?.parse().context("--cycle-secs")?);
                }
                "--report" => args.report = Some(PathBuf::from(value()?)),
                "-h" | "--help" => {
                    println!(
                        "soak [--minutes 60] [--cycle-secs 600] [--report FILE]\n\
                         Runs a regtest pool with faults on a schedule and reports lost blocks,\n\
                         time without work, and memory and disk growth (see the source's header)."
                    );
                    std::process::exit(0);
                }
                other => bail!("unknown argument {other} (try --help)"),
            }
        }
        ensure!(args.minutes > 0, "--minutes must be at least 1");
        ensure!(
            args.cycle >= Duration::from_secs(600) || args.cycle == Duration::from_secs(300),
            "--cycle-secs is 600 or more (300 runs a compressed schedule)"
        );
        Ok(args)
    }
}

/// One fault step of the schedule: at `at` into the cycle, do `what`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    KillPrimary,
    RestartPrimary,
    FreezeBackup,
    ThawBackup,
    SkewPrimaryClock,
    FixPrimaryClock,
    FillDisk,
    FreeDisk,
    StopNodeB,
    StartNodeB,
}

/// The schedule for a cycle of `cycle` (600 s, or 300 s compressed to half).
fn schedule(cycle: Duration) -> Vec<(Duration, Step)> {
    let half = cycle < Duration::from_secs(600);
    let s = |secs: u64| Duration::from_secs(if half { secs / 2 } else { secs });
    vec![
        (s(60), Step::KillPrimary),
        (s(120), Step::RestartPrimary),
        (s(180), Step::FreezeBackup),
        (s(200), Step::KillPrimary),
        (s(260), Step::RestartPrimary),
        (s(280), Step::ThawBackup),
        (s(330), Step::SkewPrimaryClock),
        (s(390), Step::FixPrimaryClock),
        (s(450), Step::FillDisk),
        (s(510), Step::FreeDisk),
        (s(540), Step::StopNodeB),
        (s(560), Step::StartNodeB),
    ]
}

/// What the sampler keeps of one node.
#[derive(Debug, Default, Clone)]
struct NodeRecord {
    /// Since when the node has had no work (outside planned downtime).
    no_work_since: Option<Instant>,
    /// What it was doing when the stretch began.
    no_work_reason: String,
    longest_no_work: Duration,
    longest_reason: String,
    total_no_work: Duration,
    /// Stale and rejected blocks: the counters restart with the process, so increases are
    /// summed.
    stale: u64,
    rejected: u64,
    last_stale: u64,
    last_rejected: u64,
    /// Planned downtime in progress.
    down: bool,
}

struct Pool {
    nodes: Vec<PoolNode>,
    records: Arc<Mutex<Vec<NodeRecord>>>,
    fault: Arc<Mutex<String>>,
}

fn main() -> Result<()> {
    let args = Args::parse()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let dir = TestDir::new()?;
    let result = run(&args, dir.path(), &runtime);
    let tmpfs = dir.path().join("c");
    if is_mounted(&tmpfs) {
        let _ = Command::new("umount").arg("-l").arg(&tmpfs).status();
    }
    result
}

fn run(args: &Args, base: &Path, runtime: &tokio::runtime::Runtime) -> Result<()> {
    let bin = binaries()?;
    println!(
        "soak: {} minutes, a fault cycle every {:?}, files in {}",
        args.minutes,
        args.cycle,
        base.display()
    );
    let mut pair = runtime.block_on(async {
        RegtestPair::start_with_rpc_threads(Path::new("litecoind"), &base.join("litecoind"), None)
            .await
    })?;
    let _relay = runtime.block_on(async {
        let relay = RegtestDaemon::start(
            Path::new("litecoind"),
            &base.join("litecoind").join("relay"),
            Some(pair.primary.p2p_port()),
        )
        .await?;
        let backup = format!("127.0.0.1:{}", pair.peer.p2p_port());
        call(relay.rpc(), "addnode", json!([backup, "add"])).await?;
        anyhow::Ok(relay)
    })?;
    runtime.block_on(past_mweb_activation(&pair))?;
    let (user, password) = pair.primary.rpc_credentials();
    let daemon = Daemon {
        url: pair.primary.rpc_url().to_owned(),
        user: user.into(),
        password: password.into(),
    };
    let launch = Launch {
        program: Some(bin.join("otedama")),
        env: Vec::new(),
        args: vec!["--daemon-url".into(), pair.peer.rpc_url().to_owned()],
    };
    let disk_fault = mount_tmpfs(&base.join("c"));
    let mut nodes = Vec::new();
    let first = PoolNode::start_with("a", base, &daemon, &[], launch.clone())?;
    let bootstrap = vec![first.multiaddr()?];
    nodes.push(first);
    for name in ["b", "c"] {
        nodes.push(PoolNode::start_with(
            name,
            base,
            &daemon,
            &bootstrap,
            launch.clone(),
        )?);
    }
    let mut miners: Vec<Process> = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let address = regtest_address(0x51 + i as u8);
        miners.push(start_miner(&bin, node, &address, base, i)?);
    }
    for node in &nodes {
        node.wait(Duration::from_secs(120), "work for the miners", has_work)?;
    }
    println!("soak: three nodes mining; faults start");
    let pool = Pool {
        nodes,
        records: Arc::new(Mutex::new(vec![NodeRecord::default(); 3])),
        fault: Arc::new(Mutex::new("none".into())),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let apis: Vec<_> = pool.nodes.iter().map(|n| n.api).collect();
        let (records, fault, stop) = (pool.records.clone(), pool.fault.clone(), stop.clone());
        std::thread::spawn(move || sample(&apis, &records, &fault, &stop))
    };
    let result = drive(args, base, runtime, &mut pair, pool, disk_fault);
    stop.store(true, Ordering::SeqCst);
    let _ = sampler.join();
    for m in &mut miners {
        m.stop(Duration::from_secs(5));
    }
    runtime.block_on(pair.stop());
    result
}

/// Drives the schedule for the whole run, then measures and reports.
fn drive(
    args: &Args,
    base: &Path,
    runtime: &tokio::runtime::Runtime,
    pair: &mut RegtestPair,
    mut pool: Pool,
    disk_fault: bool,
) -> Result<()> {
    let started = Instant::now();
    let end = started + Duration::from_secs(args.minutes * 60);
    let steps = schedule(args.cycle);
    let mut first_sizes = None;
    let mut cycle_start = started;
    let mut bootstrap = Vec::new();
    'run: loop {
        for (at, step) in &steps {
            let when = cycle_start + *at;
            if when >= end {
                break 'run;
            }
            sleep_until(when);
            let label = format!("{step:?}");
            println!("soak: {:>5} s  {label}", started.elapsed().as_secs());
            match step {
                Step::KillPrimary => {
                    set_fault(&pool, "primary daemon down");
                    pair.primary.kill();
                }
                Step::RestartPrimary => {
                    runtime.block_on(pair.restart_primary())?;
                    set_fault(&pool, "none");
                }
                Step::FreezeBackup => {
                    set_fault(&pool, "backup daemon hung and lagging");
                    signal(pair.peer.pid(), "STOP");
                }
                Step::ThawBackup => {
                    signal(pair.peer.pid(), "CONT");
                    set_fault(&pool, "none");
                }
                Step::SkewPrimaryClock => {
                    set_fault(&pool, "primary daemon clock 60 s ahead");
                    let ahead = unix_now() + 60;
                    runtime.block_on(call(pair.primary.rpc(), "setmocktime", json!([ahead])))?;
                }
                Step::FixPrimaryClock => {
                    runtime.block_on(call(pair.primary.rpc(), "setmocktime", json!([0])))?;
                    set_fault(&pool, "none");
                }
                Step::FillDisk if disk_fault => {
                    set_fault(&pool, "node c disk full");
                    fill(&base.join("c").join("filler"));
                }
                Step::FreeDisk if disk_fault => {
                    let _ = std::fs::remove_file(base.join("c").join("filler"));
                    set_fault(&pool, "none");
                }
                Step::FillDisk | Step::FreeDisk => {}
                Step::StopNodeB => {
                    set_fault(&pool, "node b restarting");
                    pool.records.lock().expect("sampler alive")[1].down = true;
                    pool.nodes[1].stop();
                }
                Step::StartNodeB => {
                    if bootstrap.is_empty() {
                        bootstrap = vec![pool.nodes[0].multiaddr()?];
                    }
                    pool.nodes[1].restart(&bootstrap)?;
                    // Down until it hands out work again (the sampler clears it); its miner
                    // reconnects by itself.
                    set_fault(&pool, "none");
                }
            }
        }
        if first_sizes.is_none() {
            first_sizes = Some((Instant::now(), sizes(&pool)));
        }
        cycle_start += args.cycle;
    }
    sleep_until(end);
    let last = sizes(&pool);
    // Undo any fault still in force, so that the daemons can be asked about the blocks.
    signal(pair.peer.pid(), "CONT");
    if pair.primary.pid().is_none() {
        runtime.block_on(pair.restart_primary())?;
    }
    let _ = runtime.block_on(call(pair.primary.rpc(), "setmocktime", json!([0])));
    let _ = std::fs::remove_file(base.join("c").join("filler"));
    let report = report(
        args,
        runtime,
        pair,
        &pool,
        first_sizes,
        last,
        started.elapsed(),
    )?;
    println!("{}", report.text);
    if let Some(path) = &args.report {
        std::fs::write(path, &report.text)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    ensure!(
        report.lost == 0,
        "{} block(s) lost (see the report above)",
        report.lost
    );
    ensure!(
        report.longest_no_work <= MAX_NO_WORK,
        "a node left its miners without work for {:?}, longer than {MAX_NO_WORK:?}",
        report.longest_no_work
    );
    Ok(())
}

fn set_fault(pool: &Pool, fault: &str) {
    *pool.fault.lock().expect("sampler alive") = fault.into();
}

/// Whether a status says the node's miners have work: a job on the current template, also
/// while the sharechain catches up, and a template not withdrawn.
fn has_work(status: &Value) -> bool {
    let state = status["work"]["state"].as_str().unwrap_or_default();
    matches!(state, "mining" | "new_blocks_only")
        && !status["daemon"]["template_expired"]
            .as_bool()
            .unwrap_or(false)
}

/// Reads every node's status each second and keeps the stretches without work and the block
/// counters, until `stop`.
fn sample(
    apis: &[std::net::SocketAddr],
    records: &Mutex<Vec<NodeRecord>>,
    fault: &Mutex<String>,
    stop: &AtomicBool,
) {
    while !stop.load(Ordering::SeqCst) {
        let now = Instant::now();
        let fault_now = fault.lock().expect("driver alive").clone();
        for (i, api) in apis.iter().enumerate() {
            let status = get_json(*api, "/api/v1/status").ok();
            let mut records = records.lock().expect("driver alive");
            let r = &mut records[i];
            let working = status.as_ref().is_some_and(has_work);
            if r.down {
                // Planned downtime ends when the restarted node hands out work again.
                if working {
                    r.down = false;
                }
                continue;
            }
            if let Some(s) = &status {
                let stale = s["blocks_stale"].as_u64().unwrap_or(0);
                let rejected = s["blocks_rejected"].as_u64().unwrap_or(0);
                r.stale += increase(r.last_stale, stale);
                r.rejected += increase(r.last_rejected, rejected);
                r.last_stale = stale;
                r.last_rejected = rejected;
            }
            match (working, r.no_work_since) {
                (false, None) => {
                    r.no_work_since = Some(now);
                    let why = status
                        .as_ref()
                        .map_or_else(|| "API not answering".to_owned(), describe);
                    r.no_work_reason = format!("{why} (fault: {fault_now})");
                }
                (true, Some(since)) => {
                    let stretch = now - since;
                    r.total_no_work += stretch;
                    if stretch > r.longest_no_work {
                        r.longest_no_work = stretch;
                        r.longest_reason = r.no_work_reason.clone();
                    }
                    r.no_work_since = None;
                }
                _ => {}
            }
        }
        std::thread::sleep(SAMPLE_EVERY.saturating_sub(now.elapsed()));
    }
    // A stretch still open at the end counts too.
    let now = Instant::now();
    for r in records.lock().expect("driver alive").iter_mut() {
        if let Some(since) = r.no_work_since.take() {
            let stretch = now - since;
            r.total_no_work += stretch;
            if stretch > r.longest_no_work {
                r.longest_no_work = stretch;
                r.longest_reason = r.no_work_reason.clone();
            }
        }
    }
}

/// How much a counter grew since `last`; a counter below `last` restarted from 0.
fn increase(last: u64, now: u64) -> u64 {
    if now >= last {
        now - last
    } else {
        now
    }
}

fn describe(status: &Value) -> String {
    let work = &status["work"];
    let mut why = format!("work {}", work["state"].as_str().unwrap_or("?"));
    if let Some(detail) = work["detail"].as_str() {
        let _ = write!(why, ": {detail}");
    }
    if status["daemon"]["template_expired"].as_bool() == Some(true) {
        why.push_str(", template withdrawn");
    }
    if let Some(e) = status["daemon"]["error"].as_str() {
        let _ = write!(why, ", daemon: {e}");
    }
    why
}

/// A node's memory (`VmRSS`, KiB; `None` while it is down) and data directory size (bytes).
type Sizes = (Option<u64>, u64);

/// The [`Sizes`] of each node.
fn sizes(pool: &Pool) -> Vec<Sizes> {
    pool.nodes
        .iter()
        .map(|n| (n.pid().and_then(rss_kib), dir_size(&n.data_dir)))
        .collect()
}

fn rss_kib(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn dir_size(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            Ok(_) if e.file_name() != "filler" => e.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}

struct Report {
    text: String,
    lost: u64,
    longest_no_work: Duration,
}

fn report(
    args: &Args,
    runtime: &tokio::runtime::Runtime,
    pair: &RegtestPair,
    pool: &Pool,
    first: Option<(Instant, Vec<Sizes>)>,
    last: Vec<Sizes>,
    ran: Duration,
) -> Result<Report> {
    let records = pool.records.lock().expect("sampler stopped").clone();
    let mut text = String::new();
    let _ = writeln!(
        text,
        "## Fault soak: {} min, fault cycle {} s\n",
        ran.as_secs() / 60,
        args.cycle.as_secs()
    );
    // The primary may have lost its newest blocks to the last SIGKILL; the backup was never
    // killed, and the two (and the nodes) are given time to agree.
    let _ = runtime.block_on(pair.wait_synced());
    let nodes: Vec<&PoolNode> = pool.nodes.iter().collect();
    let _ = otedama_tests::pool::wait_converged(&nodes, Duration::from_secs(60));
    let daemon = pair.peer.rpc();
    let height: u64 = runtime
        .block_on(call(daemon, "getblockcount", json!([])))?
        .as_u64()
        .unwrap_or(0);
    let tips: Vec<Option<String>> = pool
        .nodes
        .iter()
        .map(|n| {
            n.status()
                .ok()
                .and_then(|s| s["tip"].as_str().map(str::to_owned))
        })
        .collect();
    let agree = tips.windows(2).all(|w| w[0] == w[1]) && tips[0].is_some();
    let _ = writeln!(
        text,
        "Sharechain tips at the end: {}.\n",
        if agree {
            "all nodes agree"
        } else {
            "the nodes disagree"
        }
    );
    let _ = writeln!(text, "Coin height at the end: {height}.\n");
    let _ = writeln!(
        text,
        "| node | blocks found | in best chain | orphaned later | stale | lost | longest without work | total without work |"
    );
    let _ = writeln!(text, "|---|---|---|---|---|---|---|---|");
    let mut lost = 0;
    let mut longest = Duration::ZERO;
    let mut reasons = Vec::new();
    for (node, r) in pool.nodes.iter().zip(&records) {
        let found = found_blocks(&node.data_dir);
        let mut in_chain = 0;
        let mut orphaned = 0;
        for hash in &found {
            let header = runtime.block_on(call(daemon, "getblockheader", json!([hash])));
            match header.ok().and_then(|h| h["confirmations"].as_i64()) {
                Some(c) if c >= 1 => in_chain += 1,
                _ => orphaned += 1,
            }
        }
        lost += r.rejected;
        longest = longest.max(r.longest_no_work);
        if !r.longest_reason.is_empty() {
            reasons.push(format!(
                "- node {}: longest stretch {:.1} s, {}",
                node.name,
                r.longest_no_work.as_secs_f64(),
                r.longest_reason
            ));
        }
        let _ = writeln!(
            text,
            "| {} | {} | {in_chain} | {orphaned} | {} | {} | {:.1} s | {:.1} s |",
            node.name,
            found.len(),
            r.stale,
            r.rejected,
            r.longest_no_work.as_secs_f64(),
            r.total_no_work.as_secs_f64()
        );
    }
    let _ = writeln!(text);
    if !reasons.is_empty() {
        let _ = writeln!(text, "Why the longest stretches without work:\n");
        for r in &reasons {
            let _ = writeln!(text, "{r}");
        }
        let _ = writeln!(text);
    }
    if let Some((at, first)) = first {
        let hours = at.elapsed().as_secs_f64() / 3600.0;
        let _ = writeln!(
            text,
            "Growth from the end of the first cycle to the end ({:.2} h):\n",
            hours
        );
        let _ = writeln!(
            text,
            "| node | RSS then | RSS end | RSS / hour | data then | data end | data / hour |"
        );
        let _ = writeln!(text, "|---|---|---|---|---|---|---|");
        let mut per = BTreeMap::new();
        for (i, node) in pool.nodes.iter().enumerate() {
            per.insert(node.name.clone(), (first[i], last[i]));
        }
        for (name, ((rss0, d0), (rss1, d1))) in per {
            let restarted = name == "b";
            let mib = |k: Option<u64>| {
                k.map_or("-".to_owned(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
            };
            let rate = |a: f64, b: f64| if hours > 0.0 { (b - a) / hours } else { 0.0 };
            let rss_rate = match (rss0, rss1) {
                _ if restarted => "-".into(),
                (Some(a), Some(b)) => format!("{:+.1} MiB", rate(a as f64, b as f64) / 1024.0),
                _ => "-".into(),
            };
            let _ = writeln!(
                text,
                "| {name} | {} | {} | {rss_rate} | {:.1} MiB | {:.1} MiB | {:+.1} MiB |",
                mib(rss0),
                mib(rss1),
                d0 as f64 / 1048576.0,
                d1 as f64 / 1048576.0,
                rate(d0 as f64, d1 as f64) / 1048576.0
            );
        }
        let _ = writeln!(
            text,
            "\nNode b is restarted every cycle, so its memory is that of a young process (no rate)."
        );
    }
    Ok(Report {
        text,
        lost,
        longest_no_work: longest,
    })
}

/// The hashes in a node's `found_blocks.jsonl`.
fn found_blocks(data_dir: &Path) -> Vec<String> {
    std::fs::read_to_string(data_dir.join("found_blocks.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["hash"].as_str().map(str::to_owned))
        .collect()
}

/// Mines to height 432 with the daemons' own miner, pegging in before, so that MWEB is active
/// and the nodes' every block is an MWEB block; then waits until the chain's time is back
/// behind the clock. A block's time is at least the median of the last 11 plus one second, so
/// 432 blocks in a few seconds run the chain's time about 70 s ahead, past regtest's 12 s share
/// limit, and the nodes would refuse the daemons' work until the clock caught up.
async fn past_mweb_activation(pair: &RegtestPair) -> Result<()> {
    let wallet =
        otedama_node::daemon::regtest::MwebWallet::fund(pair.primary.rpc(), "soak").await?;
    let height = call(pair.primary.rpc(), "getblockcount", json!([]))
        .await?
        .as_u64()
        .unwrap_or(0);
    if height + 1 < MWEB_ACTIVATION_HEIGHT {
        pair.generate(u32::try_from(MWEB_ACTIVATION_HEIGHT - 1 - height)?)
            .await?;
    }
    wallet.peg_in_before_activation().await?;
    pair.generate(1).await?;
    loop {
        let info = call(pair.primary.rpc(), "getblockchaininfo", json!([])).await?;
        let median = info["mediantime"].as_u64().unwrap_or(0);
        if median < unix_now() {
            return Ok(());
        }
        println!(
            "soak: waiting {} s for the clock to pass the chain's median time",
            median + 1 - unix_now()
        );
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

/// Calls `method`, trying three times: litecoind closes idle RPC connections after 30 s, and a
/// call that meets one being closed fails without reaching the daemon.
async fn call(rpc: &RpcClient, method: &str, params: Value) -> Result<Value> {
    let mut tries = 0;
    loop {
        tries += 1;
        match rpc.call::<Value>(method, params.clone()).await {
            Ok(v) => return Ok(v),
            Err(e) if tries >= 3 => {
                return Err(e).with_context(|| format!("{method} on {}", rpc.url()))
            }
            Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    }
}

fn start_miner(
    bin: &Path,
    node: &PoolNode,
    address: &str,
    base: &Path,
    i: usize,
) -> Result<Process> {
    let log = base.join(format!("miner-{i}-{}.log", unix_now()));
    scrypt_miner_from(&bin.join("otedama-miner"), node.stratum, address, &log)
}

/// The directory of `otedama` and `otedama-miner`: this binary's.
fn binaries() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find this executable")?;
    let dir = exe.parent().context("executable directory")?.to_owned();
    for name in ["otedama", "otedama-miner"] {
        ensure!(
            dir.join(name).is_file(),
            "{} not found: build it with `cargo build --release -p otedama-node -p \
             otedama-miner -p otedama-tests --bin otedama --bin otedama-miner --bin soak`",
            dir.join(name).display()
        );
    }
    Ok(dir)
}

/// Mounts a small tmpfs at `path` for node C's data directory; false (and no disk fault) when
/// that is not allowed here.
fn mount_tmpfs(path: &Path) -> bool {
    if std::fs::create_dir_all(path).is_err() {
        return false;
    }
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={TMPFS_SIZE}"), "tmpfs"])
        .arg(path)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        println!("soak: cannot mount a tmpfs (not root?); the disk-full fault is skipped");
    }
    mounted
}

fn is_mounted(path: &Path) -> bool {
    let Ok(mounts) = std::fs::read_to_string("/proc/mounts") else {
        return false;
    };
    let p = path.to_string_lossy();
    mounts.lines().any(|l| l.split(' ').nth(1) == Some(&*p))
}

/// Sends `SIG<name>` to `pid`.
fn signal(pid: Option<u32>, name: &str) {
    if let Some(pid) = pid {
        let _ = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(pid.to_string())
            .status();
    }
}

/// Writes zeros to `path` until the file system is full.
fn fill(path: &Path) {
    use std::io::Write;
    let Ok(mut f) = std::fs::File::create(path) else {
        return;
    };
    let chunk = vec![0u8; 1 << 20];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.flush();
}

fn sleep_until(when: Instant) {
    let now = Instant::now();
    if when > now {
        std::thread::sleep(when - now);
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
