//! The share difficulty rule: ASERT in relative form with aserti3-2d's integer approximation of
//! 2^x, a clamp of one halving or doubling per share, and a floor and a ceiling
//! (`docs/consensus.md` §6). Integer-only.

use otedama_proto::target::{CompactTarget, Target};
use otedama_proto::uint::U256;

use crate::params::Consensus;

/// One unit of the exponent's fixed-point fraction (the exponent is in 1/65536 half-lives).
const ONE: i64 = 1 << 16;

/// What the rule needs to know about a share's parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParentTiming {
    /// The parent's `max_bits`.
    pub max_bits: CompactTarget,
    /// The parent's time.
    pub time: u32,
    /// The grandparent's time, or `None` when the parent is a genesis share.
    pub grandparent_time: Option<u32>,
}

/// The rule's target for a share whose parent is described by `parent` (`None` for a genesis
/// share). The share must carry `compact(result)` as its `max_bits`.
pub fn next_max_target(consensus: &Consensus, parent: Option<&ParentTiming>) -> Target {
    let Some(parent) = parent else {
        return consensus.pow_limit();
    };
    let t = Target::from_compact(parent.max_bits)
        .expect("a held share's max_bits passed validation")
        .to_u256();
    let Some(gp_time) = parent.grandparent_time else {
        return Target::from_u256(t);
    };
    let p = consensus.params();
    let dt = i64::from(parent.time) - i64::from(gp_time);
    let exponent = ((dt - i64::from(p.share_period)) * ONE)
        .div_euclid(i64::from(p.half_life))
        .clamp(-ONE, ONE);
    let n = scale_by_pow2(t, exponent);
    let n = n
        .max(consensus.min_target().to_u256())
        .min(consensus.pow_limit().to_u256());
    Target::from_u256(n)
}

/// `t · 2^(exponent / 65536)` for `exponent` in −65536..=65536, with aserti3-2d's cubic for the
/// fractional part; `t` below 2^255.
fn scale_by_pow2(t: U256, exponent: i64) -> U256 {
    let shifts = exponent.div_euclid(ONE);
    let frac = exponent.rem_euclid(ONE) as u128;
    let poly = 195_766_423_245_049u128 * frac
        + 971_821_376u128 * frac * frac
        + 5_127u128 * frac * frac * frac
        + (1u128 << 47);
    let factor = 65_536u64 + (poly >> 48) as u64;
    // floor(t · factor / 65536) without a 273-bit product.
    let high = (t >> 16)
        .checked_mul_u64(factor)
        .expect("t < 2^255 and factor < 2^17");
    let low = U256::from_u64((t.low_u64() & 0xffff) * factor) >> 16;
    let n = high + low;
    match shifts {
        1 => n << 1,
        -1 => n >> 1,
        _ => n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otedama_proto::chain::{Coin, Network};

    fn regtest() -> Consensus {
        Consensus::for_network(Coin::Bitcoin, Network::Regtest).expect("exists")
    }

    fn step(c: &Consensus, bits: u32, dt: i64) -> Target {
        let parent = ParentTiming {
            max_bits: CompactTarget::from_consensus(bits),
            time: (1_000_000 + dt) as u32,
            grandparent_time: Some(1_000_000),
        };
        next_max_target(c, Some(&parent))
    }

    #[test]
    fn on_schedule_keeps_the_target() {
        let c = regtest();
        let bits = 0x1e12_3456;
        assert_eq!(step(&c, bits, 1).to_compact().to_consensus(), bits);
    }

    #[test]
    fn one_half_life_late_doubles_and_the_clamp_holds() {
        let c = regtest();
        let t = Target::from_compact(CompactTarget::from_consensus(0x1e12_3456))
            .expect("valid")
            .to_u256();
        // Δt − T = H = 10 s: exactly one doubling.
        assert_eq!(step(&c, 0x1e12_3456, 11).to_u256(), t << 1);
        // A day late is still one doubling.
        assert_eq!(step(&c, 0x1e12_3456, 86_400).to_u256(), t << 1);
        // Far early: one halving at most.
        assert_eq!(step(&c, 0x1e12_3456, -86_400).to_u256(), t >> 1);
        // One half-life early exactly (Δt − T = −H).
        assert_eq!(step(&c, 0x1e12_3456, -9).to_u256(), t >> 1);
    }

    #[test]
    fn half_a_half_life_is_close_to_the_square_root_of_two() {
        let c = regtest();
        let t = Target::from_compact(CompactTarget::from_consensus(0x1e12_3456)).expect("valid");
        let got = step(&c, 0x1e12_3456, 6).to_f64_for_test() / t.to_f64_for_test();
        assert!((got - 2f64.sqrt()).abs() < 2e-4, "{got}");
    }

    #[test]
    fn floor_and_ceiling() {
        let c = regtest();
        let limit = c.pow_limit();
        assert_eq!(step(&c, limit.to_compact().to_consensus(), 100), limit);
        assert_eq!(next_max_target(&c, None), limit);
        let hardest = c.min_target().to_compact().to_consensus();
        assert_eq!(step(&c, hardest, -100), c.min_target());
    }

    trait ToF64 {
        fn to_f64_for_test(self) -> f64;
    }
    impl ToF64 for Target {
        fn to_f64_for_test(self) -> f64 {
            self.to_u256().to_f64()
        }
    }
}
