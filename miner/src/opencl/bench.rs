//! Timing an OpenCL device: full launches of a fixed job, after one warm-up launch, for at least
//! a given time. What `otedama-miner bench --backend opencl` and `benches/opencl.rs` report.

use std::time::{Duration, Instant};

use otedama_proto::chain::PowAlgo;
use otedama_proto::target::Target;

use super::{OpenClConfig, OpenClError, OpenClMiner};
use crate::sha256d::Sha256dJob;

/// The outcome of [`bench`].
#[derive(Clone, Debug, PartialEq)]
pub struct BenchReport {
    /// The device's name.
    pub device: String,
    /// Work items per launch.
    pub global_work_size: usize,
    /// Nonces per launch.
    pub batch_nonces: u32,
    /// The scrypt lookup gap (1 for sha256d).
    pub lookup_gap: u32,
    /// Hashes done in the timed part.
    pub hashes: u64,
    /// Length of the timed part.
    pub seconds: f64,
    /// Hashes per second.
    pub hashrate: f64,
}

/// Builds `algo`'s kernel on device `device_index`, runs one launch to warm up, then runs full
/// launches until at least `duration` has passed (at least one), and reports the hash rate.
pub fn bench(
    device_index: usize,
    algo: PowAlgo,
    config: &OpenClConfig,
    duration: Duration,
) -> Result<BenchReport, OpenClError> {
    let mut miner = OpenClMiner::new(device_index, algo, config)?;
    bench_miner(&mut miner, duration)
}

/// [`bench`] with a miner already built (so the caller can reuse it).
pub fn bench_miner(
    miner: &mut OpenClMiner,
    duration: Duration,
) -> Result<BenchReport, OpenClError> {
    let batch = miner.batch_nonces();
    let mut header = [0u8; 80];
    for (i, b) in header.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(29).wrapping_add(3);
    }
    // A target as hard as a real share's: the scan finds (almost) nothing, as when mining.
    let sha_job = Sha256dJob::new(&header, 0);
    let prefix: [u8; 76] = header[..76].try_into().expect("80 bytes hold 76");
    let target = Target::ZERO;
    let mut found = Vec::new();
    let mut scan = |miner: &mut OpenClMiner, start: u32| match miner.algo() {
        PowAlgo::Sha256d => miner.scan_sha256d(&sha_job, start, batch, &mut found),
        PowAlgo::Scrypt => miner.scan_scrypt(&prefix, start, batch, &target, &mut found),
    };
    scan(miner, 0)?;
    let mut start = batch;
    let mut hashes = 0u64;
    let began = Instant::now();
    while hashes == 0 || began.elapsed() < duration {
        hashes += scan(miner, start)?;
        start = start.wrapping_add(batch);
    }
    let seconds = began.elapsed().as_secs_f64();
    Ok(BenchReport {
        device: miner.device().name.clone(),
        global_work_size: miner.global_work_size(),
        batch_nonces: batch,
        lookup_gap: miner.lookup_gap(),
        hashes,
        seconds,
        hashrate: hashes as f64 / seconds,
    })
}
