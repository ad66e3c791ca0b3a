//! OpenCL hash rates of both kernels on one device: `cargo bench -p otedama-miner --bench
//! opencl`. Kernel launches are coarse and slow on CPU drivers, so this times whole scans with
//! [`otedama_miner::opencl::bench`] instead of using criterion.
//!
//! Environment: `OTEDAMA_OPENCL_DEVICE` (default 0), `OTEDAMA_BENCH_SECONDS` (default 5),
//! `OTEDAMA_OPENCL_GWS`, `OTEDAMA_OPENCL_LWS`, `OTEDAMA_OPENCL_NPI` and
//! `OTEDAMA_OPENCL_LOOKUP_GAP` to try tunings, `OTEDAMA_BENCH_ALGO` (sha256d or scrypt) to run
//! one algorithm only.

use std::time::Duration;

use otedama_miner::opencl::{bench, devices, OpenClConfig};
use otedama_proto::chain::PowAlgo;

fn env<T: std::str::FromStr>(name: &str) -> Option<T> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value} does not parse")),
    )
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` does not, and gets a quick run.
    let quick = !std::env::args().any(|a| a == "--bench");
    let device = env("OTEDAMA_OPENCL_DEVICE").unwrap_or(0usize);
    let seconds = if quick {
        0.0
    } else {
        env("OTEDAMA_BENCH_SECONDS").unwrap_or(5.0)
    };
    let all = devices().unwrap_or_else(|e| panic!("{e}"));
    let info = all
        .get(device)
        .unwrap_or_else(|| panic!("no OpenCL device {device}"));
    println!("device {info}");
    let config = OpenClConfig {
        global_work_size: env("OTEDAMA_OPENCL_GWS"),
        local_work_size: env("OTEDAMA_OPENCL_LWS"),
        nonces_per_item: env("OTEDAMA_OPENCL_NPI"),
        lookup_gap: env("OTEDAMA_OPENCL_LOOKUP_GAP"),
        ..OpenClConfig::default()
    };
    let only: Option<PowAlgo> = env("OTEDAMA_BENCH_ALGO");
    for algo in [PowAlgo::Sha256d, PowAlgo::Scrypt] {
        if only.is_some_and(|o| o != algo) {
            continue;
        }
        let r = bench(device, algo, &config, Duration::from_secs_f64(seconds))
            .unwrap_or_else(|e| panic!("{e}"));
        let (rate, unit) = if r.hashrate >= 1e6 {
            (r.hashrate / 1e6, "MH/s")
        } else {
            (r.hashrate / 1e3, "kH/s")
        };
        println!(
            "opencl {:<8} {rate:>9.3} {unit}  ({} hashes in {:.2} s; {} work items, {} nonces \
             per launch, lookup gap {})",
            algo.name(),
            r.hashes,
            r.seconds,
            r.global_work_size,
            r.batch_nonces,
            r.lookup_gap,
        );
    }
}
