//! Criterion benchmark of the sha256d nonce scanner, one thread, in hashes per second.
//!
//! `sha256d/<backend>` is timed by the wall clock, as usual. `sha256d-cpu/<backend>` runs the same
//! scan timed by the thread's own CPU time (Linux `/proc/thread-self/schedstat`), which stays
//! right while other processes share the cores: on a loaded machine the two differ, and the CPU
//! figure is the one to compare with `openssl speed` (which also divides by CPU time). Each
//! iteration scans a fixed range of nonces of a real header (Bitcoin block 125552) against a
//! share-like target (top word zero). Run with `cargo bench -p otedama-miner --bench sha256d`.

use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use otedama_miner::sha256d::{scan, Sha256dBackend, Sha256dJob};

/// Bitcoin block 125552's header, the usual worked example of block hashing.
const HEADER_HEX: &str = concat!(
    "01000000",
    "81cd02ab7e569e8bcd9317e2fe99f2de44d49ab2b8851ba4a308000000000000",
    "e320b6c2fffc8d750423db8b1eb942ae710e951ed797f7affc8892b0f1fc122b",
    "c7f5d74d",
    "f2b9441a",
    "42a14695",
);

fn bench_scan<M: Measurement>(c: &mut Criterion<M>, group_name: &str) {
    let header: [u8; 80] = hex::decode(HEADER_HEX)
        .expect("valid hex")
        .try_into()
        .expect("80 bytes");
    let job = Sha256dJob::new(&header, 0);
    let mut group = c.benchmark_group(group_name);
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    for backend in Sha256dBackend::available() {
        let count: u32 = if backend == Sha256dBackend::Portable {
            1 << 16
        } else {
            1 << 20
        };
        group.throughput(Throughput::Elements(u64::from(count)));
        let mut out = Vec::new();
        let mut start = 0u32;
        group.bench_function(backend.name(), |b| {
            b.iter(|| {
                out.clear();
                let done = scan(backend, &job, start, count, &mut out);
                start = start.wrapping_add(count);
                done
            })
        });
    }
    group.finish();
}

fn wall(c: &mut Criterion) {
    bench_scan(c, "sha256d");
}

fn cpu(c: &mut Criterion<ThreadCpuTime>) {
    bench_scan(c, "sha256d-cpu");
}

/// Time the current thread has spent on a CPU, in nanoseconds (0 where Linux's schedstat is
/// missing, which makes the `sha256d-cpu` figures meaningless but harmless).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// A criterion measurement of the benchmark thread's CPU time.
struct ThreadCpuTime;

impl Measurement for ThreadCpuTime {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns().saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, ns: &u64) -> f64 {
        *ns as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

/// Shows nanoseconds of CPU time as ms and throughputs as elements per CPU second.
struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, _typical: f64, values: &mut [f64]) -> &'static str {
        values.iter_mut().for_each(|v| *v /= 1e6);
        "ms (cpu)"
    }
    fn scale_throughputs(&self, _typical: f64, t: &Throughput, values: &mut [f64]) -> &'static str {
        let per_iter = match *t {
            Throughput::Bytes(n) | Throughput::BytesDecimal(n) | Throughput::Elements(n) => n,
        } as f64;
        // ns per iteration -> millions of elements per CPU second.
        values.iter_mut().for_each(|v| *v = per_iter * 1e3 / *v);
        "Melem/cpu-s"
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

criterion_group!(wall_benches, wall);
criterion_group! {
    name = cpu_benches;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = cpu
}
criterion_main!(wall_benches, cpu_benches);
