//! The server side of the load generator: the real Stratum server on a listener, with jobs and
//! counters driven from stdin so that the parent can time a new block from the outside.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::Context as _;
use otedama_node::stratum::testkit::{stratum_target, SimpleJob};
use otedama_node::stratum::{JobBroadcast, Server, StratumConfig};
use otedama_proto::chain::{Coin, Network, PowAlgo};
use otedama_proto::hash::BlockHash;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// The difficulty load miners ask for with `d=`: about three hashes in four are shares.
pub const LOAD_DIFFICULTY: f64 = 3e-10;
/// The job's ntime.
pub const NTIME: u32 = 1_700_000_000;

/// The job of block `prev`: a branch of eight nodes (255 other transactions), share difficulty
/// 1, block difficulty 10^6.
pub fn load_job(prev: u32, clean: bool) -> SimpleJob {
    let mut hash = [0u8; 32];
    hash[..4].copy_from_slice(&prev.to_le_bytes());
    SimpleJob {
        prev_hash: BlockHash(hash),
        height: 1000 + prev,
        version: 0x2000_0000,
        nbits: stratum_target(PowAlgo::Sha256d, 1e6).to_compact(),
        ntime: NTIME,
        share_target: stratum_target(PowAlgo::Sha256d, 1.0),
        clean,
        other_transactions: 255,
    }
}

pub fn main(listen: SocketAddr, threads: usize) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
        .context("starting the server runtime")?;
    runtime.block_on(serve(listen))
}

async fn serve(listen: SocketAddr) -> anyhow::Result<()> {
    let mut config = StratumConfig::new(Coin::Bitcoin, Network::Regtest);
    config.min_difficulty = 2.5e-10;
    config.max_connections = 100_000;
    config.max_shares_per_job = 1 << 20;
    let jobs = Arc::new(JobBroadcast::new(PowAlgo::Sha256d));
    let (share_tx, mut shares) = mpsc::channel(4096);
    let server = Server::new(config, &jobs, share_tx)?;
    let stats = server.stats();
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let mut block = 1u32;
    jobs.publish(load_job(block, true).spec())?;
    // The node's share path, reduced to a counter.
    let consumed = Arc::new(AtomicU64::new(0));
    let counter = consumed.clone();
    tokio::spawn(async move {
        while shares.recv().await.is_some() {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    });
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server_task = tokio::spawn(server.run(listener, async {
        let _ = stop_rx.await;
    }));
    println!("listening {addr}");
    let mut commands = stdin_lines();
    while let Some(command) = commands.recv().await {
        match command.trim() {
            "block" => {
                block += 1;
                jobs.publish(load_job(block, true).spec())?;
            }
            "job" => {
                jobs.publish(load_job(block, false).spec())?;
            }
            "stats" => println!(
                "{}",
                serde_json::json!({
                    "connected": stats.connected(),
                    "connections": stats.connections.load(Ordering::Relaxed),
                    "shares": stats.shares.load(Ordering::Relaxed),
                    "consumed": consumed.load(Ordering::Relaxed),
                    "dropped_slow": stats.dropped_slow.load(Ordering::Relaxed),
                    "dropped_garbage": stats.dropped_garbage.load(Ordering::Relaxed),
                    "notify_delays": stats.notify_delay.count(),
                    "notify_delay_p50_ms": stats.notify_delay.percentile_ms(0.5),
                    "notify_delay_p99_ms": stats.notify_delay.percentile_ms(0.99),
                    "notify_delay_max_ms": stats.notify_delay.percentile_ms(1.0),
                })
            ),
            "reset" => stats.notify_delay.reset(),
            "quit" | "" => break,
            other => eprintln!("unknown command `{other}` (block, job, stats, quit)"),
        }
    }
    let _ = stop_tx.send(());
    server_task.await?;
    Ok(())
}

/// Lines of stdin, read on a thread of their own.
fn stdin_lines() -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel(16);
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    rx
}
