//! Targets, compact bits, work and difficulty: known answers from Bitcoin Core and real chains,
//! and the SetCompact/GetCompact edge cases.

use otedama_proto::chain::{Coin, Network, PowAlgo};
use otedama_proto::hash::PowHash;
use otedama_proto::target::{
    CompactTarget, CompactTargetError, Difficulty, DifficultyError, Target, Work,
};
use otedama_proto::uint::U256;
use proptest::prelude::*;

fn bits(b: u32) -> CompactTarget {
    CompactTarget::from_consensus(b)
}

fn target_hex(b: u32) -> String {
    Target::from_compact(bits(b))
        .expect("valid bits")
        .to_string()
}

fn close(a: f64, b: f64) -> bool {
    ((a - b) / b).abs() < 1e-15
}

#[test]
fn compact_known_answers() {
    // Bitcoin genesis and difficulty 1.
    assert_eq!(
        target_hex(0x1d00ffff),
        format!("00000000ffff{}", "0".repeat(52))
    );
    assert_eq!(
        Target::from_compact(bits(0x1d00ffff)),
        Ok(Target::SHA256D_DIFF1)
    );
    // Regtest (both coins).
    assert_eq!(target_hex(0x207fffff), format!("7fffff{}", "0".repeat(58)));
    // Litecoin genesis.
    assert_eq!(
        target_hex(0x1e0ffff0),
        format!("00000ffff0{}", "0".repeat(54))
    );
    // Signet's limit.
    assert_eq!(
        target_hex(0x1e0377ae),
        format!("00000377ae{}", "0".repeat(54))
    );
}

#[test]
fn set_compact_edge_cases_as_bitcoin_core() {
    // The cases of Bitcoin Core's arith_uint256_tests `bignum_SetCompact`.
    let ok = |b: u32, expect: &str, back: u32| {
        let t = Target::from_compact(bits(b)).expect("decodes");
        assert_eq!(
            t.to_u256(),
            U256::from_be_hex(expect).expect("hex"),
            "{b:08x}"
        );
        assert_eq!(t.to_compact(), bits(back), "{b:08x} re-encodes");
    };
    ok(0x00000000, "0", 0);
    ok(0x00123456, "0", 0);
    ok(0x01003456, "0", 0);
    ok(0x02000056, "0", 0);
    ok(0x03000000, "0", 0);
    ok(0x04000000, "0", 0);
    ok(0x00923456, "0", 0);
    ok(0x01803456, "0", 0);
    ok(0x02800056, "0", 0);
    ok(0x03800000, "0", 0);
    ok(0x04800000, "0", 0);
    ok(0x01123456, "12", 0x01120000);
    ok(0x02123456, "1234", 0x02123400);
    ok(0x03123456, "123456", 0x03123456);
    ok(0x04123456, "12345600", 0x04123456);
    ok(0x05009234, "92340000", 0x05009234);
    ok(0x20123456, &format!("123456{}", "0".repeat(58)), 0x20123456);
    // 0x80 in the mantissa is re-encoded with one more exponent byte.
    assert_eq!(
        Target::from_u256(U256::from_u64(0x80)).to_compact(),
        bits(0x02008000)
    );
    // Negative and overflowing encodings.
    assert_eq!(
        Target::from_compact(bits(0x01fedcba)),
        Err(CompactTargetError::Negative(bits(0x01fedcba)))
    );
    assert_eq!(
        Target::from_compact(bits(0x04923456)),
        Err(CompactTargetError::Negative(bits(0x04923456)))
    );
    assert_eq!(
        Target::from_compact(bits(0xff123456)),
        Err(CompactTargetError::Overflow(bits(0xff123456)))
    );
    assert_eq!(
        Target::from_compact(bits(0x23000100)),
        Err(CompactTargetError::Overflow(bits(0x23000100)))
    );
    assert_eq!(
        Target::from_compact(bits(0x22000100)),
        Err(CompactTargetError::Overflow(bits(0x22000100)))
    );
    assert_eq!(
        Target::from_compact(bits(0x21010000)),
        Err(CompactTargetError::Overflow(bits(0x21010000)))
    );
    assert_eq!(target_hex(0x220000ff), format!("ff{}", "0".repeat(62)));
    assert_eq!(target_hex(0x2100ffff), format!("ffff{}", "0".repeat(60)));
    let negative = Target::from_compact(bits(0x04923456))
        .unwrap_err()
        .to_string();
    assert!(
        negative.contains("04923456") && negative.contains("negative"),
        "{negative}"
    );
}

#[test]
fn checked_decoding_applies_zero_and_the_pow_limit() {
    let btc = Target::pow_limit(Coin::Bitcoin, Network::Mainnet).expect("has mainnet");
    assert_eq!(
        Target::from_compact_checked(bits(0x1d00ffff), &btc),
        Ok(Target::SHA256D_DIFF1)
    );
    assert_eq!(
        Target::from_compact_checked(bits(0x03000000), &btc),
        Err(CompactTargetError::Zero(bits(0x03000000)))
    );
    assert!(matches!(
        Target::from_compact_checked(bits(0x1e0ffff0), &btc),
        Err(CompactTargetError::AboveLimit { .. })
    ));
    let ltc = Target::pow_limit(Coin::Litecoin, Network::Mainnet).expect("has mainnet");
    assert!(Target::from_compact_checked(bits(0x1e0ffff0), &ltc).is_ok());
}

#[test]
fn pow_limits_encode_to_their_known_bits() {
    let limit_bits =
        |coin, net| Target::pow_limit(coin, net).map(|t| t.to_compact().to_consensus());
    assert_eq!(
        limit_bits(Coin::Bitcoin, Network::Mainnet),
        Some(0x1d00ffff)
    );
    assert_eq!(
        limit_bits(Coin::Bitcoin, Network::Testnet),
        Some(0x1d00ffff)
    );
    assert_eq!(limit_bits(Coin::Bitcoin, Network::Signet), Some(0x1e0377ae));
    assert_eq!(
        limit_bits(Coin::Bitcoin, Network::Regtest),
        Some(0x207fffff)
    );
    assert_eq!(
        limit_bits(Coin::Litecoin, Network::Mainnet),
        Some(0x1e0fffff)
    );
    assert_eq!(
        limit_bits(Coin::Litecoin, Network::Testnet),
        Some(0x1e0fffff)
    );
    assert_eq!(
        limit_bits(Coin::Litecoin, Network::Regtest),
        Some(0x207fffff)
    );
    assert_eq!(limit_bits(Coin::Litecoin, Network::Signet), None);
    // chain.rs keeps the same limits in compact form.
    for coin in Coin::ALL {
        for net in Network::ALL {
            let ours = limit_bits(coin, net);
            let theirs = coin.params(net).ok().map(|p| p.pow_limit_bits);
            assert_eq!(ours, theirs, "{coin} {net}");
        }
    }
    assert_eq!(
        Target::pow_limit(Coin::Litecoin, Network::Mainnet).map(|t| t.to_string()),
        Some(format!("00000{}", "f".repeat(59)))
    );
}

#[test]
fn difficulty_known_answers() {
    // Difficulty 1, regtest, Litecoin genesis, and the difficulties RPC reported for real blocks
    // (Litecoin 2383209 and Bitcoin 766390, see tests/data).
    let diff = |b: u32| {
        Target::from_compact(bits(b))
            .expect("valid")
            .to_difficulty()
    };
    assert_eq!(diff(0x1d00ffff), 1.0);
    assert!(close(diff(0x207fffff), 4.656542373906925e-10));
    assert_eq!(diff(0x1e0ffff0), 0.000244140625);
    assert!(close(diff(0x1a00d3d8), 20273913.01371884));
    assert!(close(diff(0x17083830), 34244331613176.18));
    assert_eq!(Target::from_difficulty(1.0), Ok(Target::SHA256D_DIFF1));
    assert_eq!(
        Target::from_difficulty(0.000244140625).map(|t| t.to_compact()),
        Ok(bits(0x1e0ffff0))
    );
}

#[test]
fn stratum_difficulty_of_both_algorithms() {
    let sha_1 = Target::from_stratum_difficulty(PowAlgo::Sha256d, 1.0).expect("valid");
    let scrypt_1 = Target::from_stratum_difficulty(PowAlgo::Scrypt, 1.0).expect("valid");
    assert_eq!(sha_1, Target::SHA256D_DIFF1);
    assert_eq!(scrypt_1.to_string(), format!("0000ffff{}", "0".repeat(56)));
    assert_eq!(
        scrypt_1.to_u256(),
        Target::SHA256D_DIFF1
            .to_u256()
            .checked_mul_u64(65536)
            .expect("fits")
    );
    // A scrypt difficulty is 65536 times easier than the same sha256d difficulty (exactly so
    // where the division is exact; otherwise each is rounded down on its own).
    for d in [1.0, 2.0, 1024.0, 65536.0, 1e6, 0.001] {
        let s = Target::from_stratum_difficulty(PowAlgo::Scrypt, d)
            .expect("valid")
            .to_u256();
        let h = Target::from_stratum_difficulty(PowAlgo::Sha256d, d)
            .expect("valid")
            .to_u256();
        let scaled = h.checked_mul_u64(65536).expect("fits");
        assert!(
            scaled <= s && s < scaled + U256::from_u64(65536),
            "difficulty {d}"
        );
        if d.log2().fract() == 0.0 {
            assert_eq!(s, scaled, "difficulty {d}");
        }
        let s = Target::from_u256(s);
        assert!(
            close(s.to_stratum_difficulty(PowAlgo::Scrypt), d),
            "difficulty {d}"
        );
    }
    // Fractional difficulties, as ASIC firmware and CPU miners ask for.
    for algo in [PowAlgo::Sha256d, PowAlgo::Scrypt] {
        for d in [0.001, 0.00015, 0.5, 1.5] {
            let t = Target::from_stratum_difficulty(algo, d).expect("valid");
            assert!(close(t.to_stratum_difficulty(algo), d), "{algo} {d}");
            assert!(t > Target::stratum_diff1(algo) || d >= 1.0);
        }
    }
    // Powers of two are exact.
    assert_eq!(
        Target::from_stratum_difficulty(PowAlgo::Sha256d, 0.25).map(|t| t.to_u256()),
        Ok(Target::SHA256D_DIFF1.to_u256() << 2)
    );
}

#[test]
fn impossible_difficulties_are_errors() {
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            Target::from_stratum_difficulty(PowAlgo::Scrypt, bad),
            Err(DifficultyError::NotPositive(_))
        ));
        assert!(Difficulty::new(bad).is_err());
    }
    assert_eq!(
        Target::from_stratum_difficulty(PowAlgo::Scrypt, 1e-5),
        Err(DifficultyError::TooLow(1e-5))
    );
    assert_eq!(
        Target::from_stratum_difficulty(PowAlgo::Sha256d, 1e80),
        Err(DifficultyError::TooHigh(1e80))
    );
    assert!(Target::from_stratum_difficulty(PowAlgo::Sha256d, f64::MIN_POSITIVE).is_err());
    assert!(Target::from_stratum_difficulty(PowAlgo::Sha256d, 5e-324).is_err());
}

#[test]
fn difficulty_newtype_is_for_the_edge() {
    let d = Difficulty::new(0.00015).expect("positive");
    let t = d.to_stratum_target(PowAlgo::Scrypt).expect("has a target");
    assert!(close(
        Difficulty::of_stratum_target(PowAlgo::Scrypt, &t)
            .expect("non-zero")
            .value(),
        0.00015
    ));
    assert_eq!(serde_json::to_string(&d).expect("serializes"), "0.00015");
    assert!(serde_json::from_str::<Difficulty>("-2").is_err());
    assert!(Difficulty::of_stratum_target(PowAlgo::Scrypt, &Target::ZERO).is_err());
}

#[test]
fn work_known_answers() {
    let work = |b: u32| Target::from_compact(bits(b)).expect("valid").to_work();
    assert_eq!(work(0x1d00ffff).to_u256(), U256::from_u64(0x1_0001_0001));
    assert_eq!(work(0x207fffff).to_u256(), U256::from_u64(2));
    assert_eq!(work(0x1e0ffff0).to_u256(), U256::from_u64(0x10_0010));
    assert_eq!(Target::MAX.to_work().to_u256(), U256::ONE);
    assert_eq!(Target::ZERO.to_work(), Work::ZERO);
    let total: Work = [work(0x1d00ffff), work(0x207fffff)].into_iter().sum();
    assert_eq!(total.to_u256(), U256::from_u64(0x1_0001_0003));
    assert!(work(0x1b04864c) > work(0x1d00ffff));
    assert_eq!(
        Work::from_u256(U256::MAX).checked_add(work(0x207fffff)),
        None
    );
    assert_eq!(
        work(0x1d00ffff).to_string(),
        format!("{}100010001", "0".repeat(55))
    );
}

#[test]
fn meets_reads_the_hash_as_little_endian() {
    // The target 0xffff << 208 is bytes 26 and 27 = 0xff in little-endian order.
    let t = Target::from_compact(bits(0x1d00ffff)).expect("valid");
    assert!(
        t.meets(&PowHash(t.to_le_bytes())),
        "a hash equal to the target meets it"
    );
    let mut above = [0u8; 32];
    above[28] = 1; // 1 << 224
    assert!(!t.meets(&PowHash(above)));
    let mut just_above = t.to_le_bytes();
    just_above[0] = 1; // target + 1
    assert!(!t.meets(&PowHash(just_above)));
    let mut below = [0xffu8; 32];
    below[26..].copy_from_slice(&[0xfe, 0xff, 0, 0, 0, 0]); // 0xfffe << 208 plus lower bits
    assert!(t.meets(&PowHash(below)));
}

#[test]
fn text_forms() {
    assert_eq!(bits(0x1d00ffff).to_string(), "1d00ffff");
    assert_eq!("1d00ffff".parse::<CompactTarget>(), Ok(bits(0x1d00ffff)));
    assert!(matches!(
        "1d00fff".parse::<CompactTarget>(),
        Err(CompactTargetError::Parse(_))
    ));
    assert!(matches!(
        "1d00fffg".parse::<CompactTarget>(),
        Err(CompactTargetError::Parse(_))
    ));
    let t = Target::SCRYPT_STRATUM_DIFF1;
    assert_eq!(t.to_string().parse::<Target>(), Ok(t));
    assert_eq!(
        serde_json::to_string(&bits(0x207fffff)).expect("serializes"),
        "\"207fffff\""
    );
    let json = serde_json::to_string(&t).expect("serializes");
    assert_eq!(
        serde_json::from_str::<Target>(&json).expect("deserializes"),
        t
    );
    let theirs: bitcoin::Target = t.into();
    assert_eq!(Target::from(theirs), t);
    assert_eq!(
        CompactTarget::from(bitcoin::CompactTarget::from(bits(0x1e0ffff0))),
        bits(0x1e0ffff0)
    );
}

proptest! {
    #[test]
    fn compact_round_trip(b in any::<u32>()) {
        if let Ok(t) = Target::from_compact(bits(b)) {
            // Re-encoding is canonical: decoding it again gives the same target.
            prop_assert_eq!(Target::from_compact(t.to_compact()), Ok(t));
            // Matches the bitcoin crate on every valid encoding.
            let theirs = bitcoin::Target::from_compact(bitcoin::CompactTarget::from_consensus(b));
            prop_assert_eq!(Target::from(theirs), t);
        }
    }

    #[test]
    fn to_compact_rounds_down(limbs in any::<[u64; 4]>()) {
        let t = Target::from_u256(U256::from_le_limbs(limbs));
        let back = Target::from_compact(t.to_compact()).expect("GetCompact output decodes");
        prop_assert!(back <= t);
        prop_assert_eq!(t.to_compact(), CompactTarget::from(bitcoin::Target::from(t).to_compact_lossy()));
    }

    #[test]
    fn work_matches_its_definition(limbs in any::<[u64; 4]>()) {
        let t = Target::from_u256(U256::from_le_limbs(limbs));
        prop_assume!(t != Target::ZERO && t != Target::MAX);
        // work = floor(2^256 / (t + 1)): work * (t + 1) <= 2^256 < (work + 1) * (t + 1).
        let w = t.to_work().to_u256();
        let t1 = t.to_u256() + U256::ONE;
        let (lo, hi) = w.widening_mul(t1);
        prop_assert!(hi.is_zero() || (hi == U256::ONE && lo.is_zero()));
        let (lo2, hi2) = (w + U256::ONE).widening_mul(t1);
        prop_assert!(hi2 > U256::ONE || (hi2 == U256::ONE && !lo2.is_zero()));
        prop_assert_eq!(t.to_work().to_u256(), U256::from_le_bytes(bitcoin::Target::from(t).to_work().to_le_bytes()));
    }

    #[test]
    fn stratum_difficulty_is_monotonic(a in 1e-4f64..1e12, b in 1e-4f64..1e12) {
        let ta = Target::from_stratum_difficulty(PowAlgo::Scrypt, a).expect("in range");
        let tb = Target::from_stratum_difficulty(PowAlgo::Scrypt, b).expect("in range");
        prop_assert_eq!(a <= b, ta >= tb);
    }
}
