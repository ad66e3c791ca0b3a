//! Unit tests of the scrypt core: word order, every back-end against the `scrypt` crate, batching.

use super::*;

/// A small deterministic generator (xorshift64*), so the tests need no extra crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn header(&mut self) -> [u8; 80] {
        let mut h = [0u8; 80];
        for chunk in h.chunks_exact_mut(8) {
            chunk.copy_from_slice(&self.next().to_le_bytes());
        }
        h
    }
}

fn oracle(header: &[u8; 80]) -> [u8; 32] {
    let params = scrypt::Params::new(10, 1, 1, 32).expect("N=2^10, r=1, p=1 are valid");
    let mut out = [0u8; 32];
    scrypt::scrypt(header, header, &params, &mut out).expect("32 bytes is a valid length");
    out
}

#[test]
fn diagonal_order_round_trips() {
    let b: [u32; 32] = core::array::from_fn(|i| i as u32 * 7 + 1);
    assert_eq!(from_diagonal(&to_diagonal(&b)), b);
    assert_eq!(
        to_diagonal(&b)[16],
        b[16],
        "Integerify's word stays in place"
    );
}

#[test]
fn single_matches_oracle() {
    let mut rng = Rng(0x5eed_0001);
    for _ in 0..4 {
        let h = rng.header();
        assert_eq!(scrypt_1024_1_1(&h), oracle(&h));
    }
}

#[test]
fn both_single_paths_match_oracle() {
    // N blocks of scratch select the SSE2 path even where AVX-512 would serve.
    let mut rng = Rng(0x5eed_0004);
    for len in [N, ScryptBackend::single_scratch_len()] {
        let mut v = vec![Block::ZERO; len];
        for _ in 0..2 {
            let h = rng.header();
            assert_eq!(hash_single(&h, &mut v), oracle(&h), "{len} scratch blocks");
        }
    }
}

#[test]
fn every_backend_matches_oracle() {
    let mut rng = Rng(0x5eed_0002);
    for backend in ScryptBackend::available() {
        let mut hasher = ScryptHasher::with_backend(backend).expect("listed as available");
        // One full batch plus a short one, so that padding lanes are exercised too.
        let headers: Vec<[u8; 80]> = (0..backend.lanes() + 1).map(|_| rng.header()).collect();
        let mut out = vec![[0u8; 32]; headers.len()];
        hasher.hash_many(&headers, &mut out);
        for (h, got) in headers.iter().zip(&out) {
            assert_eq!(*got, oracle(h), "back-end {backend}");
        }
    }
}

#[test]
fn scan_reports_exactly_the_nonces_under_target() {
    let mut rng = Rng(0x5eed_0003);
    let header = rng.header();
    let prefix: [u8; 76] = header[..76].try_into().unwrap();
    // A target that about half of all hashes meet.
    let mut target = [0xffu8; 32];
    target[31] = 0x7f;
    let start = u32::MAX - 5; // wraps past u32::MAX
    let mut expected = Vec::new();
    for i in 0..11u32 {
        let nonce = start.wrapping_add(i);
        let mut h = header;
        h[76..].copy_from_slice(&nonce.to_le_bytes());
        if meets_target(&oracle(&h), &target) {
            expected.push(nonce);
        }
    }
    for backend in ScryptBackend::available() {
        let mut hasher = ScryptHasher::with_backend(backend).unwrap();
        let mut found = Vec::new();
        assert_eq!(hasher.scan(&prefix, start, 11, &target, &mut found), 11);
        assert_eq!(found, expected, "back-end {backend}");
    }
}

#[test]
fn target_comparison_is_little_endian() {
    let mut low = [0u8; 32];
    low[0] = 0xff;
    let mut high = [0u8; 32];
    high[31] = 1;
    assert!(meets_target(&low, &high));
    assert!(!meets_target(&high, &low));
    assert!(meets_target(&high, &high));
}

#[test]
fn backend_names_round_trip() {
    for backend in ScryptBackend::ALL {
        assert_eq!(backend.name().parse::<ScryptBackend>().unwrap(), backend);
    }
    assert!("sse4".parse::<ScryptBackend>().is_err());
    assert!(ScryptBackend::detect_best().is_available());
}
