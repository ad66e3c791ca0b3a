//! Benchmarks of the scrypt core, one thread: `scrypt/single` is the latency of one hash (share
//! validation), `scrypt/<backend>` the mining throughput of each back-end this CPU runs, and
//! `scrypt/scrypt-crate` the `scrypt` crate for comparison. Throughput is in hashes ("elem/s").
//!
//! Run with `cargo bench -p otedama-proto --bench scrypt`; figures go to `docs/benchmarks.md`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use otedama_proto::scrypt::{scrypt_1024_1_1, ScryptBackend, ScryptHasher};

/// Litecoin's genesis header.
const GENESIS: &str = "01000000000000000000000000000000000000000000000000000000000000000000\
                       0000d9ced4ed1130f7b7faad9be25323ffafa33232a17c3edf6cfd97bee6bafbdd97\
                       b9aa8e4ef0ff0f1ecd513f7c";

fn scrypt_benches(c: &mut Criterion) {
    let header: [u8; 80] = hex::decode(GENESIS)
        .expect("hex")
        .try_into()
        .expect("80 bytes");
    let prefix: [u8; 76] = header[..76].try_into().expect("76 bytes");
    let mut group = c.benchmark_group("scrypt");
    group
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(6));

    group.throughput(Throughput::Elements(1));
    group.bench_function("single", |b| b.iter(|| scrypt_1024_1_1(black_box(&header))));

    for backend in ScryptBackend::available() {
        let mut hasher = ScryptHasher::with_backend(backend).expect("listed as available");
        let lanes = hasher.lanes() as u32;
        let mut found = Vec::new();
        let mut nonce = 0u32;
        group.throughput(Throughput::Elements(u64::from(lanes)));
        group.bench_function(backend.name(), |b| {
            b.iter(|| {
                // An all-zero target: every nonce is hashed, none is reported.
                hasher.scan(&prefix, nonce, lanes, &[0; 32], &mut found);
                nonce = nonce.wrapping_add(lanes);
            })
        });
    }

    let params = scrypt::Params::new(10, 1, 1, 32).expect("valid parameters");
    group.throughput(Throughput::Elements(1));
    group.bench_function("scrypt-crate", |b| {
        b.iter(|| {
            let mut out = [0u8; 32];
            scrypt::scrypt(black_box(&header), &header, &params, &mut out).expect("valid length");
            out
        })
    });
    group.finish();
}

criterion_group!(benches, scrypt_benches);
criterion_main!(benches);
