//! `otedama-loadgen run`: starts the server child, loads it in phases and prints the figures.
//!
//! Phases: connect N idle miners (errors counted); server memory per idle connection (VmRSS of
//! the child before and after); `rounds` new blocks, each timed from the command to the child
//! until every one of the N miners has read its `mining.notify`; then `submitters` extra
//! connections send pre-mined valid shares for `submit_secs`.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::sync::{mpsc, Semaphore};

use crate::client;

/// Options of `run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Idle miner connections.
    #[arg(long, default_value_t = 5000)]
    connections: usize,
    /// New blocks timed.
    #[arg(long, default_value_t = 20)]
    rounds: usize,
    /// Connections submitting shares.
    #[arg(long, default_value_t = 50)]
    submitters: usize,
    /// Seconds of share submission.
    #[arg(long, default_value_t = 5.0)]
    submit_secs: f64,
    /// Shares per write of a submitter.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Worker threads of the server child's runtime.
    #[arg(long, default_value_t = 2)]
    server_threads: usize,
    /// Worker threads of the load's runtime.
    #[arg(long, default_value_t = 2)]
    client_threads: usize,
}

/// The server child and its control pipes.
struct ServerChild {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    pid: u32,
}

impl ServerChild {
    async fn start(threads: usize) -> anyhow::Result<(ServerChild, std::net::SocketAddr)> {
        let exe = std::env::current_exe().context("finding this executable")?;
        let mut child = tokio::process::Command::new(exe)
            .args(["serve", "--threads", &threads.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting the server child")?;
        let pid = child.id().context("child pid")?;
        let stdin = child.stdin.take().context("child stdin")?;
        let mut stdout = BufReader::new(child.stdout.take().context("child stdout")?).lines();
        let first = stdout.next_line().await?.context("server child exited")?;
        let addr = first
            .strip_prefix("listening ")
            .with_context(|| format!("unexpected first line `{first}`"))?
            .parse()?;
        Ok((
            ServerChild {
                child,
                stdin,
                stdout,
                pid,
            },
            addr,
        ))
    }

    async fn command(&mut self, command: &str) -> anyhow::Result<()> {
        self.stdin
            .write_all(format!("{command}\n").as_bytes())
            .await?;
        self.stdin.flush().await?;
        Ok(())
    }

    async fn stats(&mut self) -> anyhow::Result<serde_json::Value> {
        self.command("stats").await?;
        let line = self
            .stdout
            .next_line()
            .await?
            .context("server child exited")?;
        Ok(serde_json::from_str(&line)?)
    }

    /// User plus system CPU time of the child so far, in milliseconds.
    fn cpu_ms(&self) -> anyhow::Result<f64> {
        cpu_ms(self.pid)
    }

    fn rss_kib(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .context("no VmRSS in /proc/PID/status")
    }
}

/// User plus system CPU time of process `pid`, in milliseconds (`/proc/PID/stat` fields 14
/// and 15, in clock ticks of 10 ms).
fn cpu_ms(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name may hold spaces; the fields are counted after its closing parenthesis.
    let after = stat.rsplit_once(')').context("malformed /proc/PID/stat")?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
    Ok(ticks * 10.0)
}

/// The soft limit on open files of this process.
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} cores")
}

pub fn main(args: RunArgs) -> anyhow::Result<()> {
    let needed = (args.connections + args.submitters + 64) as u64;
    if let Some(limit) = open_files_limit() {
        if limit < needed {
            bail!("the open-files limit is {limit}; {needed} are needed: raise it with `ulimit -n {needed}`");
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads.max(1))
        .enable_all()
        .build()?;
    runtime.block_on(run(args))
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    println!("machine: {}", machine());
    let (mut server, addr) = ServerChild::start(args.server_threads).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = server.rss_kib()?;

    // Phase 1: idle miners.
    let n = args.connections;
    let started = Instant::now();
    let (ready_tx, mut ready_rx) = mpsc::channel(n.max(1));
    let (arrival_tx, mut arrivals) = mpsc::channel(n.max(1));
    let handshakes = Arc::new(Semaphore::new(256));
    for worker in 0..n {
        let permit = handshakes.clone().acquire_owned().await?;
        let (ready, arrival) = (ready_tx.clone(), arrival_tx.clone());
        // The permit is held until the handshake reports, bounding connects in flight.
        let (relay_tx, mut relay_rx) = mpsc::channel(1);
        tokio::spawn(client::idle(addr, worker, relay_tx, arrival));
        tokio::spawn(async move {
            if let Some(result) = relay_rx.recv().await {
                let _ = ready.send(result).await;
            }
            drop(permit);
        });
    }
    drop((ready_tx, arrival_tx));
    let (mut connected, mut errors) = (0usize, Vec::new());
    while connected + errors.len() < n {
        match tokio::time::timeout(Duration::from_secs(60), ready_rx.recv()).await {
            Ok(Some(Ok(()))) => connected += 1,
            Ok(Some(Err(e))) => errors.push(e.to_string()),
            Ok(None) | Err(_) => break,
        }
    }
    let connect_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_idle = server.rss_kib()?;
    let stats = server.stats().await?;
    println!(
        "connected: {connected} of {n} in {connect_secs:.1} s, handshake errors: {} {}; server sees {} connected",
        errors.len(),
        errors.first().map(String::as_str).unwrap_or(""),
        stats["connected"]
    );
    let per_conn = (rss_idle.saturating_sub(rss_before)) as f64 / connected.max(1) as f64;
    println!(
        "server RSS: {rss_before} KiB before, {rss_idle} KiB with {connected} idle miners: {per_conn:.1} KiB per idle connection"
    );

    // Phase 2: new block → notify to all.
    let mut all = Vec::new();
    let mut round_p99 = Vec::new();
    let mut missing = 0;
    server.command("reset").await?;
    let (server_cpu, client_cpu) = (server.cpu_ms()?, cpu_ms(std::process::id())?);
    for _ in 0..args.rounds {
        let t0 = Instant::now();
        server.command("block").await?;
        let mut round = Vec::with_capacity(connected);
        while round.len() < connected {
            match tokio::time::timeout(Duration::from_secs(10), arrivals.recv()).await {
                Ok(Some(at)) => round.push(at.saturating_duration_since(t0).as_secs_f64() * 1000.0),
                _ => break,
            }
        }
        missing += connected - round.len();
        round.sort_by(f64::total_cmp);
        round_p99.push(percentile(&round, 0.99));
        all.extend(round);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // The pauses between rounds are idle; what is left is the broadcasts' cost.
    let rounds = args.rounds.max(1) as f64;
    let server_cpu = (server.cpu_ms()? - server_cpu) / rounds;
    let client_cpu = (cpu_ms(std::process::id())? - client_cpu) / rounds;
    all.sort_by(f64::total_cmp);
    round_p99.sort_by(f64::total_cmp);
    println!(
        "new block -> notify to all {connected} ({} rounds): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; worst round p99 {:.1} ms; missing {missing}",
        args.rounds,
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        all.last().copied().unwrap_or(f64::NAN),
        round_p99.last().copied().unwrap_or(f64::NAN),
    );
    let delays = server.stats().await?;
    println!(
        "server side, publish -> notify written to each miner's socket ({} writes): p50 {} ms, p99 {} ms, max {} ms (rounded up to the ms)",
        delays["notify_delays"], delays["notify_delay_p50_ms"], delays["notify_delay_p99_ms"], delays["notify_delay_max_ms"]
    );
    println!(
        "CPU per new block: server {server_cpu:.1} ms, load clients {client_cpu:.1} ms (machine load average now {})",
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().split(' ').next().unwrap_or("?")
    );

    // Phase 3: shares.
    let per_submitter =
        ((600_000.0 * args.submit_secs) as usize / args.submitters.max(1)).clamp(1000, 1 << 19);
    let mut submitters = Vec::new();
    for i in 0..args.submitters {
        let conn = client::connect(addr, n + i).await?;
        let shares = client::premine(&conn, per_submitter);
        submitters.push((conn, shares));
    }
    let before = server.stats().await?;
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(args.submit_secs);
    let tasks: Vec<_> = submitters
        .into_iter()
        .enumerate()
        .map(|(i, (conn, shares))| {
            tokio::spawn(client::submit(conn, n + i, shares, args.batch, deadline))
        })
        .collect();
    let mut total = client::Submitted::default();
    for task in tasks {
        let seen = task.await??;
        total.accepted += seen.accepted;
        total.duplicates += seen.duplicates;
        total.rejected += seen.rejected;
    }
    let secs = start.elapsed().as_secs_f64();
    let after = server.stats().await?;
    let server_shares =
        after["shares"].as_u64().unwrap_or(0) - before["shares"].as_u64().unwrap_or(0);
    println!(
        "shares: {} accepted, {} duplicates rejected (22), {} other rejections in {secs:.2} s by {} connections: {:.0} submissions/s checked, {:.0} valid shares/s (server handed on {server_shares})",
        total.accepted,
        total.duplicates,
        total.rejected,
        args.submitters,
        (total.accepted + total.duplicates + total.rejected) as f64 / secs,
        total.accepted as f64 / secs,
    );
    let end = server.stats().await?;
    println!("server after: {end}");
    server.command("quit").await?;
    let _ = tokio::time::timeout(Duration::from_secs(10), server.child.wait()).await;
    Ok(())
}
