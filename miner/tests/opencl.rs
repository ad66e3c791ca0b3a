//! Tests of the OpenCL back-end on a real OpenCL device: pocl (the CPU driver) in CI, or the
//! device `OTEDAMA_OPENCL_DEVICE` names. With no OpenCL device these tests fail with the install
//! hint, on purpose: CI installs pocl (scripts/setup), so a missing driver is a broken setup.
//!
//! Both kernels are checked against real blocks (Bitcoin 125552, Litecoin genesis) and against
//! the CPU hashers on seeded random headers with easy targets, including ranges that wrap past
//! `u32::MAX`, several tunings, and result-buffer overflow. Scrypt ranges stay at a few hundred
//! hashes: pocl on two shared cores does only a few thousand a second.

use otedama_miner::opencl::{devices, OpenClConfig, OpenClError, OpenClMiner};
use otedama_miner::sha256d::{scan, top_word, Sha256dBackend, Sha256dJob};
use otedama_proto::chain::PowAlgo;
use otedama_proto::scrypt::scrypt_1024_1_1;
use otedama_proto::selftest::KNOWN_HEADERS;
use otedama_proto::target::{CompactTarget, Target};

/// Bitcoin block 125552 (as in tests/sha256d.rs).
const BLOCK_125552: &str = concat!(
    "01000000",
    "81cd02ab7e569e8bcd9317e2fe99f2de44d49ab2b8851ba4a308000000000000",
    "e320b6c2fffc8d750423db8b1eb942ae710e951ed797f7affc8892b0f1fc122b",
    "c7f5d74d",
    "f2b9441a",
    "42a14695",
);

/// The device under test: `OTEDAMA_OPENCL_DEVICE` or the first one. Panics with the install
/// hint when there is none.
fn device() -> usize {
    let all = devices().unwrap_or_else(|e| panic!("{e}"));
    match std::env::var("OTEDAMA_OPENCL_DEVICE") {
        Ok(i) => i.parse().expect("OTEDAMA_OPENCL_DEVICE is a device number"),
        Err(_) => all[0].index,
    }
}

fn miner(algo: PowAlgo, config: &OpenClConfig) -> OpenClMiner {
    OpenClMiner::new(device(), algo, config).unwrap_or_else(|e| panic!("{e}"))
}

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
    fn header(&mut self) -> [u8; 80] {
        let mut h = [0u8; 80];
        for b in &mut h {
            *b = self.next_u64() as u8;
        }
        h
    }
}

/// A target whose most significant 32-bit word is `top` and every other bit set.
fn target_with_top(top: u32) -> Target {
    let mut le = [0xff; 32];
    le[28..].copy_from_slice(&top.to_le_bytes());
    Target::from_le_bytes(le)
}

#[test]
fn devices_are_listed_and_a_bad_index_is_refused() {
    let all = devices().unwrap_or_else(|e| panic!("{e}"));
    for (i, d) in all.iter().enumerate() {
        assert_eq!(d.index, i);
        assert!(d.compute_units >= 1 && d.global_mem_bytes > 0, "{d}");
        eprintln!("OpenCL device {d}");
    }
    let err = OpenClMiner::new(all.len(), PowAlgo::Sha256d, &OpenClConfig::default())
        .expect_err("one past the last device");
    assert!(matches!(err, OpenClError::BadDeviceIndex { .. }), "{err}");
}

#[test]
fn invalid_settings_and_the_wrong_algorithm_are_refused() {
    for config in [
        OpenClConfig {
            lookup_gap: Some(0),
            ..OpenClConfig::default()
        },
        OpenClConfig {
            nonces_per_item: Some(0),
            ..OpenClConfig::default()
        },
        OpenClConfig {
            nonces_per_item: Some(33),
            ..OpenClConfig::default()
        },
        OpenClConfig {
            local_work_size: Some(0),
            ..OpenClConfig::default()
        },
        OpenClConfig {
            max_candidates: 0,
            ..OpenClConfig::default()
        },
        OpenClConfig {
            global_work_size: Some(0),
            ..OpenClConfig::default()
        },
    ] {
        let err = OpenClMiner::new(device(), PowAlgo::Scrypt, &config).expect_err("invalid");
        assert!(matches!(err, OpenClError::Config(_)), "{err}");
    }
    let mut m = miner(PowAlgo::Sha256d, &OpenClConfig::default());
    let err = m
        .scan_scrypt(&[0; 76], 0, 1, &Target::MAX, &mut Vec::new())
        .expect_err("a sha256d miner cannot scan scrypt");
    assert!(matches!(err, OpenClError::WrongAlgo { .. }), "{err}");
}

#[test]
fn sha256d_finds_the_nonce_of_block_125552() {
    let h = header(BLOCK_125552);
    let nonce = nonce_of(&h);
    let job = Sha256dJob::new(&h, 0);
    let mut m = miner(PowAlgo::Sha256d, &OpenClConfig::default());
    let mut out = Vec::new();
    let done = m
        .scan_sha256d(&job, nonce.wrapping_sub(70_000), 100_001, &mut out)
        .expect("scan");
    assert_eq!(done, 100_001);
    assert_eq!(out, vec![nonce]);
    assert_eq!(m.hardware_errors(), 0);
}

#[test]
fn sha256d_matches_the_cpu_scanner_on_random_headers() {
    let configs = [
        OpenClConfig::default(),
        OpenClConfig {
            global_work_size: Some(1000),
            local_work_size: Some(8),
            nonces_per_item: Some(3),
            ..OpenClConfig::default()
        },
    ];
    let mut rng = Rng(6);
    for config in &configs {
        let mut m = miner(PowAlgo::Sha256d, config);
        for round in 0..6u32 {
            // About one nonce in 256 passes; every other range wraps past u32::MAX.
            let job = Sha256dJob::new(&rng.header(), 0x00ff_ffff);
            let start = if round % 2 == 0 {
                rng.next_u64() as u32
            } else {
                u32::MAX - 999
            };
            let count = 20_000 + (rng.next_u64() % 50_000) as u32;
            let mut gpu = Vec::new();
            m.scan_sha256d(&job, start, count, &mut gpu).expect("scan");
            let mut cpu = Vec::new();
            scan(Sha256dBackend::Portable, &job, start, count, &mut cpu);
            assert!(!cpu.is_empty());
            assert_eq!(gpu, cpu, "{config:?} start {start:#x} count {count}");
        }
        assert_eq!(m.hardware_errors(), 0);
    }
}

#[test]
fn sha256d_overflowing_results_are_scanned_again() {
    let config = OpenClConfig {
        max_candidates: 5,
        ..OpenClConfig::default()
    };
    let mut m = miner(PowAlgo::Sha256d, &config);
    let job = Sha256dJob::new(&Rng(9).header(), 0x0fff_ffff);
    let mut gpu = Vec::new();
    m.scan_sha256d(&job, 12_345, 3_000, &mut gpu).expect("scan");
    let cpu: Vec<u32> = (12_345..15_345)
        .filter(|&n| top_word(&job.hash(n).0) <= job.target_hi)
        .collect();
    assert!(cpu.len() > 5);
    assert_eq!(gpu, cpu);
    assert!(m.overflows() > 0);
}

#[test]
fn scrypt_finds_the_nonce_of_the_litecoin_genesis_block() {
    let known = KNOWN_HEADERS
        .iter()
        .find(|k| k.coin == otedama_proto::chain::Coin::Litecoin && k.height == 0)
        .expect("the Litecoin genesis block is a known header");
    let h = header(known.header_hex);
    let nonce = nonce_of(&h);
    assert_eq!(nonce, 2_084_524_493);
    let target = Target::from_compact(CompactTarget::from_consensus(0x1e0f_fff0)).expect("bits");
    let prefix: [u8; 76] = h[..76].try_into().expect("76 bytes");
    let mut m = miner(PowAlgo::Scrypt, &OpenClConfig::default());
    let mut out = Vec::new();
    let done = m
        .scan_scrypt(&prefix, nonce - 150, 200, &target, &mut out)
        .expect("scan");
    assert_eq!(done, 200);
    assert!(out.contains(&nonce), "{out:?}");
    assert_eq!(m.hardware_errors(), 0);
}

#[test]
fn scrypt_matches_the_cpu_hasher_on_random_headers() {
    // Lookup gaps 1, 2 and 3 (3 does not divide 1024), odd work sizes, a wrapping range.
    let configs = [
        (OpenClConfig::default(), 200u32),
        (
            OpenClConfig {
                lookup_gap: Some(2),
                global_work_size: Some(24),
                nonces_per_item: Some(2),
                ..OpenClConfig::default()
            },
            100,
        ),
        (
            OpenClConfig {
                lookup_gap: Some(3),
                global_work_size: Some(13),
                local_work_size: Some(1),
                ..OpenClConfig::default()
            },
            60,
        ),
    ];
    let mut rng = Rng(11);
    // About one hash in 16 passes.
    let target = target_with_top(0x0fff_ffff);
    for (config, count) in &configs {
        let mut m = miner(PowAlgo::Scrypt, config);
        for start in [rng.next_u64() as u32, u32::MAX - 20] {
            let h = rng.header();
            let prefix: [u8; 76] = h[..76].try_into().expect("76 bytes");
            let mut gpu = Vec::new();
            m.scan_scrypt(&prefix, start, *count, &target, &mut gpu)
                .expect("scan");
            let cpu: Vec<u32> = (0..*count)
                .map(|i| start.wrapping_add(i))
                .filter(|&n| {
                    let mut full = h;
                    full[76..].copy_from_slice(&n.to_le_bytes());
                    top_word(&scrypt_1024_1_1(&full)) <= 0x0fff_ffff
                })
                .collect();
            assert_eq!(gpu, cpu, "{config:?} start {start:#x}");
        }
        assert_eq!(m.hardware_errors(), 0, "{config:?}");
    }
}

#[test]
fn the_miner_can_move_to_a_mining_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<OpenClMiner>();
}
