//! `otedama-miner bench`: the hash rate of the mining threads themselves on a synthetic job.
//!
//! The threads, units, chunking and counters are exactly those of mining; only the work is made
//! up (a job whose target no hash meets, so nothing is sent anywhere). After a short warm-up
//! (scratchpads touched, chunk sizes settled, clocks up), the counters are read at the start and
//! the end of the timed part: `hashes` are those done in between, `seconds` its length.
//!
//! The machine may be shared: the report also gives the CPU time the process got during the
//! timed part (from `/proc/self/task/*/schedstat` on Linux), so a rate can be read per CPU
//! second as well as per wall-clock second.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use otedama_proto::chain::PowAlgo;
use otedama_proto::hash::{BlockHash, MerkleNode};
use otedama_proto::target::{CompactTarget, Target};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::mining::{Engine, Job, MinerThreads, RateMeter, StartError, Work};

/// What to measure.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// One hashing thread per engine.
    pub engines: Vec<Engine>,
    /// Length of the timed part.
    pub duration: Duration,
    /// Length of the warm-up before it.
    pub warmup: Duration,
}

/// The outcome, as `bench --json` prints it (the fields after `hashrate` are not printed).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BenchReport {
    /// `sha256d` or `scrypt`.
    pub algo: &'static str,
    /// `cpu` or `opencl`.
    pub backend: &'static str,
    /// Hashing threads.
    pub threads: usize,
    /// Hashes done in the timed part, all threads.
    pub hashes: u64,
    /// Length of the timed part, in seconds.
    pub seconds: f64,
    /// Hashes per second, all threads.
    pub hashrate: f64,
    /// Hashes per second of each thread.
    #[serde(skip)]
    pub per_thread: Vec<f64>,
    /// What each thread ran (`CPU sha256d on sha-ni`).
    #[serde(skip)]
    pub engine: String,
    /// CPU seconds the process got during the timed part, where the system says.
    #[serde(skip)]
    pub cpu_seconds: Option<f64>,
}

/// A job no hash meets (target zero), with made-up but well-formed fields.
fn synthetic_work(algo: PowAlgo) -> Work {
    Work {
        job: Arc::new(Job {
            id: "bench".into(),
            prev_hash: BlockHash([0x5a; 32]),
            coinb1: vec![0x01; 42],
            coinb2: vec![0x02; 60],
            branch: vec![MerkleNode([0x33; 32]); 10],
            version: 0x2000_0000,
            nbits: CompactTarget::from_consensus(0x1d00_ffff),
            ntime: 0x6700_0000,
            clean: true,
        }),
        algo,
        session: 0,
        extranonce1: vec![0xab; 4],
        extranonce2_size: 4,
        target: Target::ZERO,
        difficulty: f64::INFINITY,
        version_mask: 0,
        units: Arc::new(AtomicU64::new(0)),
    }
}

/// CPU time of every thread of this process so far, in seconds (Linux only).
fn process_cpu_seconds() -> Option<f64> {
    let mut nanos = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        nanos += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(nanos as f64 / 1e9)
}

/// Runs the benchmark.
pub fn run(config: &BenchConfig) -> Result<BenchReport, StartError> {
    let algo = config
        .engines
        .first()
        .map_or(PowAlgo::Sha256d, |e| e.algo());
    // Nothing meets the target; the receiver only keeps the channel open.
    let (tx, _rx) = mpsc::channel(1);
    let mut threads = MinerThreads::start(&config.engines, tx)?;
    threads.board().post(Some(Arc::new(synthetic_work(algo))));
    thread::sleep(config.warmup);
    let cpu_before = process_cpu_seconds();
    let mut meter = RateMeter::start(threads.counters());
    thread::sleep(config.duration);
    let rates = meter.read(threads.counters());
    let cpu_after = process_cpu_seconds();
    threads.stop();
    let seconds = rates.elapsed.as_secs_f64();
    Ok(BenchReport {
        algo: algo.name(),
        backend: match config.engines.first() {
            Some(Engine::OpenCl { .. }) => "opencl",
            _ => "cpu",
        },
        threads: config.engines.len(),
        hashes: rates.hashes,
        seconds,
        hashrate: rates.hashes as f64 / seconds,
        per_thread: rates.per_thread,
        engine: config
            .engines
            .first()
            .map_or_else(String::new, ToString::to_string),
        cpu_seconds: cpu_before.zip(cpu_after).map(|(b, a)| a - b),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mining::CpuKernel;

    #[test]
    fn a_short_run_counts_hashes_of_every_thread() {
        let engine = Engine::Cpu(CpuKernel::best(PowAlgo::Scrypt));
        let report = run(&BenchConfig {
            engines: vec![engine; 2],
            duration: Duration::from_millis(300),
            warmup: Duration::from_millis(100),
        })
        .expect("CPU threads start");
        assert_eq!(
            (report.algo, report.backend, report.threads),
            ("scrypt", "cpu", 2)
        );
        assert!(report.hashes > 0);
        assert!(report.per_thread.iter().all(|&r| r > 0.0), "{report:?}");
        assert!((report.hashrate - report.hashes as f64 / report.seconds).abs() < 1e-6);
        let json = serde_json::to_value(&report).expect("serializes");
        let keys: Vec<&str> = json
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys.len(), 6, "{keys:?}");
    }
}
