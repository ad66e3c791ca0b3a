//! U256 against u128 where values fit, and against arithmetic identities where they do not.

use otedama_proto::uint::{ParseU256Error, U256};
use proptest::prelude::*;

fn any_u256() -> impl Strategy<Value = U256> {
    // Mix full-width values with small and sparse ones so that carries and zero limbs both occur.
    prop_oneof![
        any::<[u64; 4]>().prop_map(U256::from_le_limbs),
        any::<u64>().prop_map(U256::from_u64),
        (any::<u64>(), 0u32..256).prop_map(|(v, s)| U256::from_u64(v) << s),
        Just(U256::ZERO),
        Just(U256::MAX),
    ]
}

proptest! {
    #[test]
    fn add_sub_match_u128(a in any::<u128>(), b in any::<u128>()) {
        let (x, y) = (U256::from(a), U256::from(b));
        let sum = x.checked_add(y).expect("two u128 never overflow 256 bits");
        match a.checked_add(b) {
            Some(s) => prop_assert_eq!(sum.to_u128(), Some(s)),
            None => prop_assert!(sum.to_u128().is_none()),
        }
        prop_assert_eq!(x.checked_sub(y).map(|d| d.to_u128().expect("fits")), a.checked_sub(b));
        prop_assert_eq!(x.saturating_sub(y).to_u128(), Some(a.saturating_sub(b)));
    }

    #[test]
    fn mul_div_rem_match_u128(a in any::<u64>(), b in any::<u64>(), c in any::<u128>(), d in 1u128..) {
        let product = U256::from(a).checked_mul(U256::from(b)).expect("fits");
        prop_assert_eq!(product.to_u128(), Some(u128::from(a) * u128::from(b)));
        prop_assert_eq!(U256::from(a).checked_mul_u64(b), Some(product));
        let (q, r) = U256::from(c).div_rem(U256::from(d)).expect("d > 0");
        prop_assert_eq!(q.to_u128(), Some(c / d));
        prop_assert_eq!(r.to_u128(), Some(c % d));
        if let Ok(small) = u64::try_from(d) {
            let (q, r) = U256::from(c).div_rem_u64(small).expect("d > 0");
            prop_assert_eq!(q.to_u128(), Some(c / d));
            prop_assert_eq!(u128::from(r), c % d);
        }
    }

    #[test]
    fn shifts_and_bits_match_u128(a in any::<u128>(), s in 0u32..128) {
        let x = U256::from(a);
        prop_assert_eq!((x >> s).to_u128(), Some(a >> s));
        prop_assert_eq!(x.leading_zeros(), a.leading_zeros() + 128);
        prop_assert_eq!(x.bits(), 128 - a.leading_zeros());
        prop_assert_eq!((x << s) >> s, x);
        prop_assert_eq!((x << s).to_le_limbs()[0], (a << s) as u64);
    }

    #[test]
    fn division_identity(a in any_u256(), b in any_u256()) {
        prop_assume!(!b.is_zero());
        let (q, r) = a.div_rem(b).expect("b > 0");
        prop_assert!(r < b);
        let back = q.checked_mul(b).and_then(|qb| qb.checked_add(r));
        prop_assert_eq!(back, Some(a));
    }

    #[test]
    fn add_sub_and_wide_mul_identities(a in any_u256(), b in any_u256()) {
        let (sum, overflow) = a.overflowing_add(b);
        prop_assert_eq!(sum.overflowing_sub(b).0, a);
        prop_assert_eq!(overflow, a.checked_add(b).is_none());
        prop_assert_eq!(a.saturating_add(b), if overflow { U256::MAX } else { sum });
        let (lo, hi) = a.widening_mul(b);
        prop_assert_eq!(b.widening_mul(a), (lo, hi));
        prop_assert_eq!(a.checked_mul(b).is_some(), hi.is_zero());
        prop_assert_eq!(a.saturating_mul(b), if hi.is_zero() { lo } else { U256::MAX });
    }

    #[test]
    fn byte_and_hex_round_trips(a in any_u256()) {
        prop_assert_eq!(U256::from_le_bytes(a.to_le_bytes()), a);
        prop_assert_eq!(U256::from_be_bytes(a.to_be_bytes()), a);
        let mut rev = a.to_le_bytes();
        rev.reverse();
        prop_assert_eq!(rev, a.to_be_bytes());
        prop_assert_eq!(U256::from_be_hex(&a.to_be_hex()), Ok(a));
        prop_assert_eq!(U256::from_be_hex(&format!("{a:#x}")), Ok(a));
    }

    #[test]
    fn ordering_matches_u128_and_subtraction(a in any_u256(), b in any_u256()) {
        prop_assert_eq!(a <= b, b.checked_sub(a).is_some());
    }

    #[test]
    fn decimal_display_matches_u128(a in any::<u128>()) {
        prop_assert_eq!(U256::from(a).to_string(), a.to_string());
    }

    #[test]
    fn to_f64_matches_u128_conversion(a in any::<u128>()) {
        prop_assert_eq!(U256::from(a).to_f64(), a as f64);
    }

    #[test]
    fn checked_shl_refuses_to_drop_bits(a in any_u256(), s in 0u32..300) {
        match a.checked_shl(s) {
            Some(shifted) => prop_assert_eq!(shifted >> s, a),
            None => prop_assert!(s > a.leading_zeros()),
        }
    }
}

#[test]
fn edges() {
    assert_eq!(U256::MAX.checked_add(U256::ONE), None);
    assert_eq!(U256::ZERO.checked_sub(U256::ONE), None);
    assert_eq!(U256::ONE.div_rem(U256::ZERO), None);
    assert_eq!(U256::ONE.div_rem_u64(0), None);
    assert_eq!(U256::MAX.leading_zeros(), 0);
    assert_eq!(U256::ZERO.leading_zeros(), 256);
    assert_eq!(U256::ONE << 256, U256::ZERO);
    assert_eq!(U256::MAX >> 255, U256::ONE);
    assert_eq!(
        U256::MAX.to_string(),
        "115792089237316195423570985008687907853269984665640564039457584007913129639935"
    );
    assert_eq!(U256::MAX.to_f64(), 2f64.powi(256));
    assert_eq!((U256::ONE << 200).to_f64(), 2f64.powi(200));
    assert_eq!(format!("{:x}", U256::ZERO), "0");
    assert_eq!(format!("{:?}", U256::from_u64(255)), "U256(0xff)");
    assert!(U256::MAX.bit(255) && !U256::MAX.bit(256));
    assert_eq!(U256::from_be_hex(""), Err(ParseU256Error::Empty));
    assert_eq!(U256::from_be_hex(&"0".repeat(70)), Ok(U256::ZERO));
    assert!(matches!(
        U256::from_be_hex(&format!("1{}", "0".repeat(64))),
        Err(ParseU256Error::TooLong(_))
    ));
    assert!(matches!(
        U256::from_be_hex("12x4"),
        Err(ParseU256Error::BadDigit { bad: 'x', .. })
    ));
}

#[test]
fn to_f64_rounds_to_nearest() {
    // 2^200 + 2^147 is exactly halfway between two doubles (ties to even: 2^200); one more unit
    // in the last place of the dropped bits must round up.
    let half = (U256::ONE << 200) | (U256::ONE << 147);
    assert_eq!(half.to_f64(), 2f64.powi(200));
    let above = half | U256::ONE;
    assert_eq!(above.to_f64(), 2f64.powi(200) + 2f64.powi(148));
}
