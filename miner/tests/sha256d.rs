//! Tests of the sha256d scanner: the reference against the `sha2` crate, real Bitcoin headers,
//! and every back-end this CPU can run against the reference on seeded random headers and ranges
//! (wrapping past `u32::MAX` included).

use otedama_miner::sha256d::{
    scan, sha256d_header, top_word, Midstate, Sha256dBackend, Sha256dJob,
};
use sha2::{Digest, Sha256};

/// Bitcoin block 125552, the usual worked example of block hashing.
const BLOCK_125552: &str = concat!(
    "01000000",
    "81cd02ab7e569e8bcd9317e2fe99f2de44d49ab2b8851ba4a308000000000000",
    "e320b6c2fffc8d750423db8b1eb942ae710e951ed797f7affc8892b0f1fc122b",
    "c7f5d74d",
    "f2b9441a",
    "42a14695",
);
const BLOCK_125552_HASH: &str = "00000000000000001e8d6829a8a21adc5d38d0a473b144b6765798e61f98bd1d";

/// The Bitcoin genesis block.
const GENESIS: &str = concat!(
    "01000000",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "3ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a",
    "29ab5f49",
    "ffff001d",
    "1dac2b7c",
);
const GENESIS_HASH: &str = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f";

fn header(hex_str: &str) -> [u8; 80] {
    hex::decode(hex_str)
        .expect("valid hex")
        .try_into()
        .expect("80 bytes")
}

fn nonce_of(header: &[u8; 80]) -> u32 {
    u32::from_le_bytes(header[76..].try_into().expect("4 bytes"))
}

/// splitmix64: a small seeded generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
    fn header(&mut self) -> [u8; 80] {
        let mut h = [0u8; 80];
        for b in &mut h {
            *b = self.next_u64() as u8;
        }
        h
    }
}

fn sha2_double(data: &[u8]) -> [u8; 32] {
    Sha256::digest(Sha256::digest(data)).into()
}

/// The nonces of the range whose hash's top word is at most `job.target_hi`, by the reference.
fn expected(job: &Sha256dJob, start: u32, count: u32) -> Vec<u32> {
    (0..count)
        .map(|i| start.wrapping_add(i))
        .filter(|&n| top_word(&job.hash(n).0) <= job.target_hi)
        .collect()
}

#[test]
fn reference_matches_sha2_on_random_headers() {
    let mut rng = Rng(1);
    for _ in 0..200 {
        let h = rng.header();
        assert_eq!(sha256d_header(&h).0, sha2_double(&h));
        let job = Sha256dJob::new(&h, 0);
        let nonce = rng.next_u32();
        let mut with_nonce = h;
        with_nonce[76..].copy_from_slice(&nonce.to_le_bytes());
        assert_eq!(job.hash(nonce).0, sha2_double(&with_nonce));
    }
}

#[test]
fn real_headers_hash_to_their_block_hashes() {
    for (hex_str, hash) in [(BLOCK_125552, BLOCK_125552_HASH), (GENESIS, GENESIS_HASH)] {
        let h = header(hex_str);
        // Explorers show the hash as a big-endian number: the internal bytes reversed.
        let mut shown = sha256d_header(&h).0;
        shown.reverse();
        assert_eq!(hex::encode(shown), hash);
        assert_eq!(Midstate::of_header(&h), Sha256dJob::new(&h, 0).midstate);
    }
}

#[test]
fn every_backend_finds_the_real_nonce() {
    for hex_str in [BLOCK_125552, GENESIS] {
        let h = header(hex_str);
        let nonce = nonce_of(&h);
        // Both blocks' targets have a zero top word, as every Bitcoin target since genesis has.
        let job = Sha256dJob::new(&h, 0);
        for backend in Sha256dBackend::available() {
            let mut out = Vec::new();
            let done = scan(backend, &job, nonce.wrapping_sub(700), 1001, &mut out);
            assert_eq!(done, 1001);
            assert!(out.contains(&nonce), "{backend} missed the nonce: {out:?}");
            for n in out {
                assert_eq!(top_word(&job.hash(n).0), 0, "{backend} reported {n:#x}");
            }
        }
    }
}

#[test]
fn every_backend_agrees_with_the_reference_on_random_ranges() {
    let mut rng = Rng(2);
    let backends = Sha256dBackend::available();
    assert!(backends.contains(&Sha256dBackend::Portable));
    for round in 0..24 {
        let h = rng.header();
        // Targets letting through none, about 1/16, about 1/2 and all of the nonces.
        let target_hi = [0, 0x0fff_ffff, 0x7fff_ffff, u32::MAX][round % 4];
        let job = Sha256dJob::new(&h, target_hi);
        let start = match round % 3 {
            0 => rng.next_u32(),
            1 => u32::MAX - (rng.next_u32() % 40), // wraps past u32::MAX
            _ => rng.next_u32() % 40,
        };
        let count = 1 + rng.next_u32() % 100;
        let want = expected(&job, start, count);
        for &backend in &backends {
            let mut out = vec![7];
            assert_eq!(
                scan(backend, &job, start, count, &mut out),
                u64::from(count)
            );
            assert_eq!(out[0], 7, "{backend} must append, not overwrite");
            assert_eq!(out[1..], want, "{backend} start {start:#x} count {count}");
        }
    }
}

#[test]
fn with_the_easiest_target_every_nonce_is_reported_and_hashes_right() {
    let mut rng = Rng(3);
    let h = rng.header();
    let job = Sha256dJob::new(&h, u32::MAX);
    let start = u32::MAX - 16;
    let count = 53;
    let all: Vec<u32> = (0..count).map(|i| start.wrapping_add(i)).collect();
    for backend in Sha256dBackend::available() {
        let mut out = Vec::new();
        scan(backend, &job, start, count, &mut out);
        assert_eq!(out, all, "{backend}");
    }
    for n in all {
        let mut with_nonce = h;
        with_nonce[76..].copy_from_slice(&n.to_le_bytes());
        assert_eq!(job.hash(n).0, sha2_double(&with_nonce));
    }
}

#[test]
fn an_empty_range_reports_nothing() {
    let job = Sha256dJob::new(&header(GENESIS), u32::MAX);
    for backend in Sha256dBackend::available() {
        let mut out = Vec::new();
        assert_eq!(scan(backend, &job, 5, 0, &mut out), 0);
        assert!(out.is_empty(), "{backend}");
    }
}

#[test]
fn backend_names_round_trip_and_the_best_is_available() {
    for backend in Sha256dBackend::ALL {
        assert_eq!(backend.name().parse::<Sha256dBackend>().ok(), Some(backend));
    }
    assert!("sha512".parse::<Sha256dBackend>().is_err());
    assert!(Sha256dBackend::detect_best().is_available());
    assert_eq!(
        Sha256dBackend::available().first(),
        Some(&Sha256dBackend::detect_best())
    );
}
