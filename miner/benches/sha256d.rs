//! Criterion benchmark of the sha256d nonce scanner: `sha256d/<backend>`, in hashes per second.
//!
//! Each iteration scans a fixed range of nonces of a real header (Bitcoin block 125552) with a
//! share-like target (top word zero), one thread. Run with
//! `cargo bench -p otedama-miner --bench sha256d`; the figures go in `docs/benchmarks.md`.

use std::time::Duration;

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

fn bench_scan(c: &mut Criterion) {
    let header: [u8; 80] = hex::decode(HEADER_HEX)
        .expect("valid hex")
        .try_into()
        .expect("80 bytes");
    let job = Sha256dJob::new(&header, 0);
    let mut group = c.benchmark_group("sha256d");
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

criterion_group!(benches, bench_scan);
criterion_main!(benches);
