//! The scrypt proof-of-work core against the `scrypt` crate and real Litecoin headers: every
//! back-end this CPU runs, the single-hash path, batching and nonce scanning.

use otedama_proto::scrypt::{scrypt_1024_1_1, ScryptBackend, ScryptHasher};

/// A small deterministic generator (xorshift64*), so the tests need no extra crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn headers(&mut self, n: usize) -> Vec<[u8; 80]> {
        (0..n)
            .map(|_| {
                let mut h = [0u8; 80];
                for chunk in h.chunks_exact_mut(8) {
                    chunk.copy_from_slice(&self.next().to_le_bytes());
                }
                h
            })
            .collect()
    }
}

/// The reference: the `scrypt` crate.
fn oracle(header: &[u8; 80]) -> [u8; 32] {
    let params = scrypt::Params::new(10, 1, 1, 32).expect("N=2^10, r=1, p=1 are valid");
    let mut out = [0u8; 32];
    scrypt::scrypt(header, header, &params, &mut out).expect("32 bytes is a valid length");
    out
}

/// The target a compact `bits` field encodes, as 32 little-endian bytes.
fn target_from_bits(bits: u32) -> [u8; 32] {
    let exponent = (bits >> 24) as usize;
    let mantissa = (bits & 0x007f_ffff).to_le_bytes();
    let mut target = [0u8; 32];
    target[exponent - 3..exponent].copy_from_slice(&mantissa[..3]);
    target
}

/// Whether `hash` ≤ `target`, both little-endian 256-bit numbers.
fn meets(hash: &[u8; 32], target: &[u8; 32]) -> bool {
    hash.iter().rev().cmp(target.iter().rev()).is_le()
}

fn header_from_hex(hex_str: &str) -> [u8; 80] {
    hex::decode(hex_str)
        .expect("valid hex")
        .try_into()
        .expect("80 bytes")
}

/// Litecoin's genesis header, assembled from its fields.
fn genesis() -> [u8; 80] {
    let mut merkle_root =
        hex::decode("97ddfbbae6be97fd6cdf3e7ca13232a3afff2353e29badfab7f73011edd4ced9").unwrap();
    merkle_root.reverse(); // display order to internal order
    let mut h = Vec::with_capacity(80);
    h.extend_from_slice(&1u32.to_le_bytes());
    h.extend_from_slice(&[0u8; 32]);
    h.extend_from_slice(&merkle_root);
    h.extend_from_slice(&1_317_972_665u32.to_le_bytes());
    h.extend_from_slice(&0x1e0f_fff0u32.to_le_bytes());
    h.extend_from_slice(&2_084_524_493u32.to_le_bytes());
    h.try_into().expect("80 bytes")
}

/// Real mainnet headers (genesis, block 1, block 2383209) and their `bits`.
fn mainnet_headers() -> Vec<([u8; 80], u32)> {
    vec![
        (genesis(), 0x1e0f_fff0),
        (
            header_from_hex(
                "01000000e2bf047e7e5a191aa4ef34d314979dc9986e0f19251edaba5940fd1fe365a712\
                 f6509b1757baa71bc746e17cb4d0ed22e8935f71e2d0724336789021a40639fabfed8f4e\
                 f0ff0f1e7f270400",
            ),
            0x1e0f_fff0,
        ),
        (
            header_from_hex(
                "000000204bed9389a16d27aaee1d555ed52443c05be6e16afc1cf248764540054f591bd0\
                 c99d9f0ea11ef495ab4234e307dec88a0206ea962c6d4a991e8d21708e248ef2d9989263\
                 d8d3001a698ebdcd",
            ),
            0x1a00_d3d8,
        ),
    ]
}

#[test]
fn genesis_header_is_assembled_as_litecoin_serializes_it() {
    let expected = "010000000000000000000000000000000000000000000000000000000000000000000000\
                    d9ced4ed1130f7b7faad9be25323ffafa33232a17c3edf6cfd97bee6bafbdd97b9aa8e4e\
                    f0ff0f1ecd513f7c";
    assert_eq!(hex::encode(genesis()), expected);
}

#[test]
fn single_matches_the_scrypt_crate() {
    for header in Rng(1).headers(16) {
        assert_eq!(scrypt_1024_1_1(&header), oracle(&header));
    }
}

#[test]
fn every_backend_matches_the_scrypt_crate() {
    let mut rng = Rng(2);
    for backend in ScryptBackend::available() {
        let mut hasher = ScryptHasher::with_backend(backend).expect("listed as available");
        assert_eq!(hasher.lanes(), backend.lanes());
        // Two full batches and a short one.
        let headers = rng.headers(2 * hasher.lanes() + 1);
        let mut out = vec![[0u8; 32]; headers.len()];
        hasher.hash_many(&headers, &mut out);
        for (header, hash) in headers.iter().zip(&out) {
            assert_eq!(*hash, oracle(header), "back-end {backend}");
        }
    }
}

#[test]
fn mainnet_headers_meet_their_targets_on_every_path() {
    let headers = mainnet_headers();
    for (header, bits) in &headers {
        let hash = scrypt_1024_1_1(header);
        assert_eq!(hash, oracle(header));
        assert!(
            meets(&hash, &target_from_bits(*bits)),
            "{} > target",
            hex::encode(hash)
        );
    }
    let only_headers: Vec<[u8; 80]> = headers.iter().map(|(h, _)| *h).collect();
    for backend in ScryptBackend::available() {
        let mut out = vec![[0u8; 32]; only_headers.len()];
        ScryptHasher::with_backend(backend)
            .unwrap()
            .hash_many(&only_headers, &mut out);
        for (header, hash) in only_headers.iter().zip(&out) {
            assert_eq!(*hash, scrypt_1024_1_1(header), "back-end {backend}");
        }
    }
}

#[test]
fn scanning_around_the_genesis_nonce_finds_it() {
    let header = genesis();
    let prefix: [u8; 76] = header[..76].try_into().unwrap();
    let nonce = 2_084_524_493u32;
    let target = target_from_bits(0x1e0f_fff0);
    for backend in ScryptBackend::available() {
        let mut hasher = ScryptHasher::with_backend(backend).unwrap();
        let mut found = Vec::new();
        let tried = hasher.scan(&prefix, nonce - 20, 41, &target, &mut found);
        assert_eq!(tried, 41);
        assert!(
            found.contains(&nonce),
            "back-end {backend} missed the genesis nonce"
        );
        // Everything reported really meets the target (about 1 in 4096 nonces does).
        for n in &found {
            let mut h = header;
            h[76..].copy_from_slice(&n.to_le_bytes());
            assert!(meets(&scrypt_1024_1_1(&h), &target));
        }
    }
}

#[test]
fn scan_reports_every_nonce_under_an_easy_target_in_order() {
    let header = Rng(3).headers(1)[0];
    let prefix: [u8; 76] = header[..76].try_into().unwrap();
    // About a quarter of all hashes meet this target.
    let mut target = [0xffu8; 32];
    target[31] = 0x3f;
    let start = u32::MAX - 9; // the range wraps past u32::MAX
    let expected: Vec<u32> = (0..30u32)
        .map(|i| start.wrapping_add(i))
        .filter(|n| {
            let mut h = header;
            h[76..].copy_from_slice(&n.to_le_bytes());
            meets(&oracle(&h), &target)
        })
        .collect();
    assert!(!expected.is_empty());
    for backend in ScryptBackend::available() {
        let mut found = vec![7]; // appended to, not replaced
        ScryptHasher::with_backend(backend)
            .unwrap()
            .scan(&prefix, start, 30, &target, &mut found);
        assert_eq!(found[0], 7);
        assert_eq!(found[1..], expected[..], "back-end {backend}");
    }
}

#[test]
fn empty_batches_do_nothing() {
    let mut hasher = ScryptHasher::new();
    hasher.hash_many(&[], &mut []);
    let mut found = Vec::new();
    assert_eq!(hasher.scan(&[0; 76], 0, 0, &[0xff; 32], &mut found), 0);
    assert!(found.is_empty());
}

#[test]
#[should_panic(expected = "one output per header")]
fn hash_many_needs_one_output_per_header() {
    ScryptHasher::new().hash_many(&[[0; 80]; 2], &mut [[0; 32]; 1]);
}

#[test]
fn single_hashes_agree_across_threads() {
    let headers = Rng(4).headers(8);
    let expected: Vec<[u8; 32]> = headers.iter().map(oracle).collect();
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                for (header, want) in headers.iter().zip(&expected) {
                    assert_eq!(scrypt_1024_1_1(header), *want);
                }
            });
        }
    });
}

#[test]
fn backends_are_detected_and_named() {
    let available = ScryptBackend::available();
    assert!(available.contains(&ScryptBackend::Portable));
    assert!(available.contains(&ScryptBackend::detect_best()));
    assert_eq!(ScryptHasher::new().backend(), ScryptBackend::detect_best());
    for backend in ScryptBackend::ALL {
        assert_eq!(
            backend.to_string().parse::<ScryptBackend>().unwrap(),
            backend
        );
        assert_eq!(
            ScryptHasher::with_backend(backend).is_ok(),
            backend.is_available()
        );
    }
    assert!("sse4".parse::<ScryptBackend>().is_err());
}
