//! Proof-of-work targets, their compact `nBits` form, work, and difficulty, for both coins.
//!
//! Consensus uses only [`Target`], [`CompactTarget`] and [`Work`], all integer. [`Difficulty`] and
//! the `f64` conversions exist for the edges (Stratum `mining.set_difficulty`, the HTTP API,
//! logs) and must never feed back into a consensus decision.
//!
//! Per-network proof-of-work limits live here too ([`Target::pow_limit`]), keyed by the
//! [`Coin`] and [`Network`] of `chain.rs`.

use std::fmt;
use std::ops::{Add, AddAssign};
use std::str::FromStr;

use crate::chain::{Coin, Network, PowAlgo};
use crate::hash::PowHash;
use crate::uint::{ParseU256Error, U256};

/// A 256-bit target: a header's proof-of-work hash, read as a little-endian number, must be at
/// most this.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Target(U256);

/// The compact 32-bit `nBits` encoding of a target used in block headers.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CompactTarget(u32);

/// Expected number of hashes to meet a target: 2^256 / (target + 1), as Bitcoin Core's
/// `GetBlockProof`. Sums of work order chains.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Work(U256);

/// A difficulty as miners and explorers show it. For the Stratum and API edge only.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, serde::Serialize)]
#[serde(transparent)]
pub struct Difficulty(f64);

/// A compact target that does not decode to a usable target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompactTargetError {
    /// The sign bit (0x00800000) is set with a non-zero mantissa.
    #[error("compact target {0} has the sign bit 0x00800000 set: the target would be negative")]
    Negative(CompactTarget),
    /// The exponent shifts the mantissa past 256 bits.
    #[error("compact target {0} overflows 256 bits")]
    Overflow(CompactTarget),
    /// The target is zero, which no hash can meet.
    #[error("compact target {0} is zero: no hash can meet it")]
    Zero(CompactTarget),
    /// The target is easier than the network allows.
    #[error("compact target {bits} is easier than the network's proof-of-work limit {limit}")]
    AboveLimit {
        /// The compact target given.
        bits: CompactTarget,
        /// The network's limit.
        limit: Target,
    },
    /// Text that is not eight hex digits.
    #[error("`{0}` is not a compact target (8 hex digits, such as 1d00ffff)")]
    Parse(String),
}

/// A difficulty that has no target.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DifficultyError {
    /// Zero, negative, infinite or NaN.
    #[error("difficulty {0} is not a positive finite number")]
    NotPositive(f64),
    /// So high that the target would round to zero.
    #[error("difficulty {0} is too high: its target would be zero")]
    TooHigh(f64),
    /// So low that the target would exceed 2^256 - 1.
    #[error("difficulty {0} is too low: its target would exceed 2^256 - 1")]
    TooLow(f64),
}

impl Target {
    /// Zero: only the all-zero hash meets it.
    pub const ZERO: Target = Target(U256::ZERO);
    /// 2^256 - 1: every hash meets it.
    pub const MAX: Target = Target(U256::MAX);
    /// Difficulty 1 of sha256d (Bitcoin's genesis target), `0xffff << 208`. Both coins report
    /// their block difficulty (`getdifficulty`) against this.
    pub const SHA256D_DIFF1: Target = Target(U256::from_le_limbs([0, 0, 0, 0xffff << 16]));
    /// Stratum difficulty 1 of scrypt, `0xffff << 224`: 65536 times easier than sha256d's.
    pub const SCRYPT_STRATUM_DIFF1: Target = Target(U256::from_le_limbs([0, 0, 0, 0xffff << 32]));

    /// Wraps a number.
    pub const fn from_u256(value: U256) -> Self {
        Target(value)
    }

    /// The number.
    pub const fn to_u256(self) -> U256 {
        self.0
    }

    /// Reads 32 little-endian bytes.
    pub const fn from_le_bytes(bytes: [u8; 32]) -> Self {
        Target(U256::from_le_bytes(bytes))
    }

    /// Writes 32 little-endian bytes.
    pub const fn to_le_bytes(self) -> [u8; 32] {
        self.0.to_le_bytes()
    }

    /// Whether `hash`, read as a little-endian number, is at most this target.
    pub fn meets(&self, hash: &PowHash) -> bool {
        U256::from_le_bytes(hash.0) <= self.0
    }

    /// Decodes `nBits` exactly as Bitcoin Core's `arith_uint256::SetCompact`, rejecting the
    /// negative and overflow cases. A zero target is returned as [`Target::ZERO`]; use
    /// [`Target::from_compact_checked`] for a header's bits.
    pub fn from_compact(bits: CompactTarget) -> Result<Target, CompactTargetError> {
        let size = bits.0 >> 24;
        let mut word = bits.0 & 0x007f_ffff;
        let value = if size <= 3 {
            word >>= 8 * (3 - size);
            U256::from_u64(u64::from(word))
        } else {
            U256::from_u64(u64::from(word)) << (8 * (size - 3))
        };
        if word != 0 && bits.0 & 0x0080_0000 != 0 {
            return Err(CompactTargetError::Negative(bits));
        }
        let overflow = size > 34 || (word > 0xff && size > 33) || (word > 0xffff && size > 32);
        if word != 0 && overflow {
            return Err(CompactTargetError::Overflow(bits));
        }
        Ok(Target(value))
    }

    /// Decodes a header's `nBits` as Bitcoin Core's `DeriveTarget`: also rejects a zero target
    /// and one easier than `pow_limit`.
    pub fn from_compact_checked(
        bits: CompactTarget,
        pow_limit: &Target,
    ) -> Result<Target, CompactTargetError> {
        let target = Target::from_compact(bits)?;
        if target == Target::ZERO {
            return Err(CompactTargetError::Zero(bits));
        }
        if target > *pow_limit {
            return Err(CompactTargetError::AboveLimit {
                bits,
                limit: *pow_limit,
            });
        }
        Ok(target)
    }

    /// Encodes as `nBits` exactly as Bitcoin Core's `arith_uint256::GetCompact`: keeps the top
    /// 23 bits of mantissa, rounding down.
    pub fn to_compact(self) -> CompactTarget {
        let mut size = self.0.bits().div_ceil(8);
        let mut compact = if size <= 3 {
            (self.0.low_u64() << (8 * (3 - size))) as u32
        } else {
            (self.0 >> (8 * (size - 3))).low_u64() as u32
        };
        if compact & 0x0080_0000 != 0 {
            compact >>= 8;
            size += 1;
        }
        CompactTarget(compact | (size << 24))
    }

    /// The work of a hash meeting this target. Zero for a zero target, as Bitcoin Core.
    pub fn to_work(self) -> Work {
        if self.0.is_zero() {
            return Work::ZERO;
        }
        // 2^256 / (t + 1) = (~t / (t + 1)) + 1, which avoids the 257-bit numerator.
        match self.0.checked_add(U256::ONE) {
            Some(t1) => Work((!self.0) / t1 + U256::ONE),
            None => Work(U256::ONE),
        }
    }

    /// The target of a coin difficulty as `getdifficulty` reports it (relative to
    /// [`Target::SHA256D_DIFF1`] for both coins). For the API edge only.
    pub fn from_difficulty(diff: f64) -> Result<Target, DifficultyError> {
        diff1_over(Target::SHA256D_DIFF1.0, diff).map(Target)
    }

    /// The coin difficulty of this target, as `getdifficulty` reports it. Display only.
    pub fn to_difficulty(self) -> f64 {
        Target::SHA256D_DIFF1.0.to_f64() / self.0.to_f64()
    }

    /// The target of Stratum difficulty 1 under `algo`.
    pub const fn stratum_diff1(algo: PowAlgo) -> Target {
        match algo {
            PowAlgo::Sha256d => Target::SHA256D_DIFF1,
            PowAlgo::Scrypt => Target::SCRYPT_STRATUM_DIFF1,
        }
    }

    /// The share target of a Stratum difficulty (`mining.set_difficulty`), fractional allowed:
    /// `floor(stratum_diff1(algo) / diff)`, computed exactly from the `f64`'s binary value.
    pub fn from_stratum_difficulty(algo: PowAlgo, diff: f64) -> Result<Target, DifficultyError> {
        diff1_over(Target::stratum_diff1(algo).0, diff).map(Target)
    }

    /// The Stratum difficulty of this target under `algo`. Display and Stratum only.
    pub fn to_stratum_difficulty(self, algo: PowAlgo) -> f64 {
        Target::stratum_diff1(algo).0.to_f64() / self.0.to_f64()
    }

    /// The easiest target a block of `coin` on `network` may have (`consensus.powLimit`), or
    /// `None` for a network the coin does not have (Litecoin has no signet).
    pub fn pow_limit(coin: Coin, network: Network) -> Option<Target> {
        let all_but_top = |zero_bits: u32| Target(U256::MAX >> zero_bits);
        match (coin, network) {
            (Coin::Bitcoin, Network::Mainnet | Network::Testnet) => Some(all_but_top(32)),
            (Coin::Bitcoin, Network::Signet) => Some(Target(U256::from_u64(0x0377ae) << 216)),
            (Coin::Litecoin, Network::Mainnet | Network::Testnet) => Some(all_but_top(20)),
            (Coin::Litecoin, Network::Signet) => None,
            (_, Network::Regtest) => Some(all_but_top(1)),
        }
    }
}

/// floor(diff1 / diff) for a positive finite `diff`, exact: the `f64` is `m * 2^e` with an
/// integer `m`, so the quotient is `floor(diff1 * 2^-e / m)`, done in integers.
fn diff1_over(diff1: U256, diff: f64) -> Result<U256, DifficultyError> {
    if !(diff.is_finite() && diff > 0.0) {
        return Err(DifficultyError::NotPositive(diff));
    }
    let raw = diff.to_bits();
    let biased = ((raw >> 52) & 0x7ff) as i32;
    let fraction = raw & ((1u64 << 52) - 1);
    let (m, e) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | 1 << 52, biased - 1075)
    };
    let target = if e >= 0 {
        let divisor = U256::from_u64(m)
            .checked_shl(e as u32)
            .ok_or(DifficultyError::TooHigh(diff))?;
        diff1 / divisor
    } else {
        // diff1 = q*m + r, so diff1 * 2^k / m = q * 2^k + (r * 2^k) / m.
        let k = e.unsigned_abs();
        let (q, r) = diff1
            .div_rem_u64(m)
            .expect("m is non-zero for a positive f64");
        let high = q.checked_shl(k).ok_or(DifficultyError::TooLow(diff))?;
        let low = U256::from_u64(r)
            .checked_shl(k)
            .ok_or(DifficultyError::TooLow(diff))?
            / U256::from_u64(m);
        high.checked_add(low).ok_or(DifficultyError::TooLow(diff))?
    };
    if target.is_zero() {
        return Err(DifficultyError::TooHigh(diff));
    }
    Ok(target)
}

impl CompactTarget {
    /// Wraps the `nBits` field as it appears in a header.
    pub const fn from_consensus(bits: u32) -> Self {
        CompactTarget(bits)
    }

    /// The `nBits` field.
    pub const fn to_consensus(self) -> u32 {
        self.0
    }
}

impl Work {
    /// No work.
    pub const ZERO: Work = Work(U256::ZERO);

    /// Wraps a number.
    pub const fn from_u256(value: U256) -> Self {
        Work(value)
    }

    /// The number.
    pub const fn to_u256(self) -> U256 {
        self.0
    }

    /// Adds, or `None` on overflow.
    pub fn checked_add(self, rhs: Work) -> Option<Work> {
        self.0.checked_add(rhs.0).map(Work)
    }

    /// Adds, stopping at 2^256 - 1.
    pub fn saturating_add(self, rhs: Work) -> Work {
        Work(self.0.saturating_add(rhs.0))
    }

    /// Subtracts, or `None` if `rhs` is larger.
    pub fn checked_sub(self, rhs: Work) -> Option<Work> {
        self.0.checked_sub(rhs.0).map(Work)
    }

    /// Multiplies by an integer, or `None` on overflow.
    pub fn checked_mul_u64(self, rhs: u64) -> Option<Work> {
        self.0.checked_mul_u64(rhs).map(Work)
    }

    /// The nearest `f64`. Display only (hash rates, charts).
    pub fn to_f64(self) -> f64 {
        self.0.to_f64()
    }
}

/// Adds work; panics past 2^256 - 1, which no real chain reaches.
impl Add for Work {
    type Output = Work;
    fn add(self, rhs: Work) -> Work {
        self.checked_add(rhs).expect("total work overflowed 2^256")
    }
}

impl AddAssign for Work {
    fn add_assign(&mut self, rhs: Work) {
        *self = *self + rhs;
    }
}

impl std::iter::Sum for Work {
    fn sum<I: Iterator<Item = Work>>(iter: I) -> Work {
        iter.fold(Work::ZERO, |a, b| a + b)
    }
}

impl Difficulty {
    /// Wraps a difficulty, which must be positive and finite.
    pub fn new(value: f64) -> Result<Self, DifficultyError> {
        if value.is_finite() && value > 0.0 {
            Ok(Difficulty(value))
        } else {
            Err(DifficultyError::NotPositive(value))
        }
    }

    /// The number.
    pub const fn value(self) -> f64 {
        self.0
    }

    /// The share target of this Stratum difficulty under `algo`.
    pub fn to_stratum_target(self, algo: PowAlgo) -> Result<Target, DifficultyError> {
        Target::from_stratum_difficulty(algo, self.0)
    }

    /// The Stratum difficulty of `target` under `algo`; an error for a zero target.
    pub fn of_stratum_target(algo: PowAlgo, target: &Target) -> Result<Self, DifficultyError> {
        Difficulty::new(target.to_stratum_difficulty(algo))
    }
}

impl<'de> serde::Deserialize<'de> for Difficulty {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Difficulty::new(f64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Difficulty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Targets and work print as 64 big-endian hex digits, as RPC prints `target` and `chainwork`.
macro_rules! u256_text {
    ($name:ident) => {
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0.to_be_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }

        impl FromStr for $name {
            type Err = ParseU256Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                U256::from_be_hex(s).map($name)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
u256_text!(Target);
u256_text!(Work);

/// Eight hex digits, as RPC prints `bits`: `1d00ffff`.
impl fmt::Display for CompactTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", self.0)
    }
}

impl fmt::Debug for CompactTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CompactTarget({:08x})", self.0)
    }
}

impl FromStr for CompactTarget {
    type Err = CompactTargetError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.strip_prefix("0x").unwrap_or(s);
        if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(CompactTargetError::Parse(s.to_owned()));
        }
        u32::from_str_radix(digits, 16)
            .map(CompactTarget)
            .map_err(|_| CompactTargetError::Parse(s.to_owned()))
    }
}

impl serde::Serialize for CompactTarget {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for CompactTarget {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl From<bitcoin::CompactTarget> for CompactTarget {
    fn from(c: bitcoin::CompactTarget) -> Self {
        CompactTarget(c.to_consensus())
    }
}

impl From<CompactTarget> for bitcoin::CompactTarget {
    fn from(c: CompactTarget) -> Self {
        bitcoin::CompactTarget::from_consensus(c.0)
    }
}

impl From<bitcoin::Target> for Target {
    fn from(t: bitcoin::Target) -> Self {
        Target::from_le_bytes(t.to_le_bytes())
    }
}

impl From<Target> for bitcoin::Target {
    fn from(t: Target) -> Self {
        bitcoin::Target::from_le_bytes(t.to_le_bytes())
    }
}
