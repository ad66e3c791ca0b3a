//! A 256-bit unsigned integer for consensus arithmetic: targets, work and difficulty.
//!
//! Integer-only and deterministic: every operation gives the same answer on every machine and in
//! every build profile. The `+ - * / %` operators panic on overflow or division by zero in every
//! profile (unlike the primitive integers, which wrap in release builds); consensus code that can
//! meet such a case uses the `checked_*` or `saturating_*` forms instead.

use std::cmp::Ordering;
use std::fmt;
use std::ops::{Add, BitAnd, BitOr, BitXor, Div, Mul, Not, Rem, Shl, Shr, Sub};

/// An unsigned 256-bit integer, stored as four 64-bit limbs, least significant first.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct U256([u64; 4]);

/// Hex text that is not a 256-bit number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseU256Error {
    /// The text has no digits.
    #[error("empty hex number")]
    Empty,
    /// More than 64 significant hex digits.
    #[error("hex number `{0}` has more than 64 digits and does not fit in 256 bits")]
    TooLong(String),
    /// A character that is not a hex digit.
    #[error("`{text}` is not a hex number: bad character {bad:?}")]
    BadDigit {
        /// The whole text given.
        text: String,
        /// The first character that is not a hex digit.
        bad: char,
    },
}

impl U256 {
    /// Zero.
    pub const ZERO: U256 = U256([0; 4]);
    /// One.
    pub const ONE: U256 = U256([1, 0, 0, 0]);
    /// 2^256 - 1.
    pub const MAX: U256 = U256([u64::MAX; 4]);

    /// The number whose limbs, least significant first, are `limbs`.
    pub const fn from_le_limbs(limbs: [u64; 4]) -> Self {
        U256(limbs)
    }

    /// The limbs, least significant first.
    pub const fn to_le_limbs(self) -> [u64; 4] {
        self.0
    }

    /// The number `v`.
    pub const fn from_u64(v: u64) -> Self {
        U256([v, 0, 0, 0])
    }

    /// The number `v`.
    pub const fn from_u128(v: u128) -> Self {
        U256([v as u64, (v >> 64) as u64, 0, 0])
    }

    /// Reads 32 little-endian bytes (the internal order of hashes and targets).
    pub const fn from_le_bytes(bytes: [u8; 32]) -> Self {
        let mut limbs = [0u64; 4];
        let mut i = 0;
        while i < 32 {
            limbs[i / 8] |= (bytes[i] as u64) << (8 * (i % 8));
            i += 1;
        }
        U256(limbs)
    }

    /// Writes 32 little-endian bytes.
    pub const fn to_le_bytes(self) -> [u8; 32] {
        let mut out = [0u8; 32];
        let mut i = 0;
        while i < 32 {
            out[i] = (self.0[i / 8] >> (8 * (i % 8))) as u8;
            i += 1;
        }
        out
    }

    /// Reads 32 big-endian bytes (the order in which RPC and explorers print targets).
    pub const fn from_be_bytes(bytes: [u8; 32]) -> Self {
        let mut le = [0u8; 32];
        let mut i = 0;
        while i < 32 {
            le[i] = bytes[31 - i];
            i += 1;
        }
        Self::from_le_bytes(le)
    }

    /// Writes 32 big-endian bytes.
    pub const fn to_be_bytes(self) -> [u8; 32] {
        let le = self.to_le_bytes();
        let mut out = [0u8; 32];
        let mut i = 0;
        while i < 32 {
            out[i] = le[31 - i];
            i += 1;
        }
        out
    }

    /// Parses big-endian hex with an optional `0x`, 1 to 64 digits (leading zeros beyond 64 allowed).
    pub fn from_be_hex(text: &str) -> Result<Self, ParseU256Error> {
        let digits = text
            .strip_prefix("0x")
            .or_else(|| text.strip_prefix("0X"))
            .unwrap_or(text);
        if digits.is_empty() {
            return Err(ParseU256Error::Empty);
        }
        if let Some(bad) = digits.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(ParseU256Error::BadDigit {
                text: text.to_owned(),
                bad,
            });
        }
        let significant = digits.trim_start_matches('0');
        if significant.len() > 64 {
            return Err(ParseU256Error::TooLong(text.to_owned()));
        }
        let mut value = U256::ZERO;
        for c in significant.chars() {
            let d = c.to_digit(16).expect("checked to be a hex digit above");
            value = (value << 4) | U256::from_u64(u64::from(d));
        }
        Ok(value)
    }

    /// The 64-digit big-endian hex form, zero-padded, without `0x` (as RPC prints targets).
    pub fn to_be_hex(self) -> String {
        hex::encode(self.to_be_bytes())
    }

    /// Whether the number is zero.
    pub const fn is_zero(self) -> bool {
        self.0[0] == 0 && self.0[1] == 0 && self.0[2] == 0 && self.0[3] == 0
    }

    /// The lowest 64 bits.
    pub const fn low_u64(self) -> u64 {
        self.0[0]
    }

    /// The number as a `u64`, if it fits.
    pub fn to_u64(self) -> Option<u64> {
        (self.0[1] == 0 && self.0[2] == 0 && self.0[3] == 0).then_some(self.0[0])
    }

    /// The number as a `u128`, if it fits.
    pub fn to_u128(self) -> Option<u128> {
        (self.0[2] == 0 && self.0[3] == 0)
            .then_some(u128::from(self.0[0]) | (u128::from(self.0[1]) << 64))
    }

    /// The number of leading zero bits (256 for zero).
    pub fn leading_zeros(self) -> u32 {
        for i in (0..4).rev() {
            if self.0[i] != 0 {
                return (3 - i as u32) * 64 + self.0[i].leading_zeros();
            }
        }
        256
    }

    /// The number of significant bits (0 for zero).
    pub fn bits(self) -> u32 {
        256 - self.leading_zeros()
    }

    /// Whether bit `index` (0 = least significant) is set; false past bit 255.
    pub fn bit(self, index: u32) -> bool {
        index < 256 && (self.0[(index / 64) as usize] >> (index % 64)) & 1 == 1
    }

    /// Adds, returning the result modulo 2^256 and whether it overflowed.
    pub fn overflowing_add(self, rhs: Self) -> (Self, bool) {
        let mut out = [0u64; 4];
        let mut carry = false;
        for (i, limb) in out.iter_mut().enumerate() {
            let (s1, c1) = self.0[i].overflowing_add(rhs.0[i]);
            let (s2, c2) = s1.overflowing_add(u64::from(carry));
            *limb = s2;
            carry = c1 || c2;
        }
        (U256(out), carry)
    }

    /// Adds, or `None` on overflow.
    pub fn checked_add(self, rhs: Self) -> Option<Self> {
        let (sum, overflow) = self.overflowing_add(rhs);
        (!overflow).then_some(sum)
    }

    /// Adds, stopping at [`U256::MAX`].
    pub fn saturating_add(self, rhs: Self) -> Self {
        self.checked_add(rhs).unwrap_or(U256::MAX)
    }

    /// Subtracts, returning the result modulo 2^256 and whether it borrowed.
    pub fn overflowing_sub(self, rhs: Self) -> (Self, bool) {
        let mut out = [0u64; 4];
        let mut borrow = false;
        for (i, limb) in out.iter_mut().enumerate() {
            let (d1, b1) = self.0[i].overflowing_sub(rhs.0[i]);
            let (d2, b2) = d1.overflowing_sub(u64::from(borrow));
            *limb = d2;
            borrow = b1 || b2;
        }
        (U256(out), borrow)
    }

    /// Subtracts, or `None` if `rhs > self`.
    pub fn checked_sub(self, rhs: Self) -> Option<Self> {
        let (diff, borrow) = self.overflowing_sub(rhs);
        (!borrow).then_some(diff)
    }

    /// Subtracts, stopping at zero.
    pub fn saturating_sub(self, rhs: Self) -> Self {
        self.checked_sub(rhs).unwrap_or(U256::ZERO)
    }

    /// Multiplies by a `u64`, returning the low 256 bits and whether anything was lost.
    pub fn overflowing_mul_u64(self, rhs: u64) -> (Self, bool) {
        let mut out = [0u64; 4];
        let mut carry = 0u128;
        for (i, limb) in out.iter_mut().enumerate() {
            let t = u128::from(self.0[i]) * u128::from(rhs) + carry;
            *limb = t as u64;
            carry = t >> 64;
        }
        (U256(out), carry != 0)
    }

    /// Multiplies by a `u64`, or `None` on overflow.
    pub fn checked_mul_u64(self, rhs: u64) -> Option<Self> {
        let (product, overflow) = self.overflowing_mul_u64(rhs);
        (!overflow).then_some(product)
    }

    /// Multiplies by a `u64`, stopping at [`U256::MAX`].
    pub fn saturating_mul_u64(self, rhs: u64) -> Self {
        self.checked_mul_u64(rhs).unwrap_or(U256::MAX)
    }

    /// The full 512-bit product, as (low 256 bits, high 256 bits).
    pub fn widening_mul(self, rhs: Self) -> (Self, Self) {
        let mut wide = [0u64; 8];
        for i in 0..4 {
            let mut carry = 0u128;
            for j in 0..4 {
                let t =
                    u128::from(self.0[i]) * u128::from(rhs.0[j]) + u128::from(wide[i + j]) + carry;
                wide[i + j] = t as u64;
                carry = t >> 64;
            }
            wide[i + 4] = carry as u64;
        }
        let lo = U256([wide[0], wide[1], wide[2], wide[3]]);
        let hi = U256([wide[4], wide[5], wide[6], wide[7]]);
        (lo, hi)
    }

    /// Multiplies, or `None` on overflow.
    pub fn checked_mul(self, rhs: Self) -> Option<Self> {
        let (lo, hi) = self.widening_mul(rhs);
        hi.is_zero().then_some(lo)
    }

    /// Multiplies, stopping at [`U256::MAX`].
    pub fn saturating_mul(self, rhs: Self) -> Self {
        self.checked_mul(rhs).unwrap_or(U256::MAX)
    }

    /// Divides by a `u64`: (quotient, remainder), or `None` when dividing by zero.
    pub fn div_rem_u64(self, rhs: u64) -> Option<(Self, u64)> {
        if rhs == 0 {
            return None;
        }
        let mut out = [0u64; 4];
        let mut rem = 0u128;
        for i in (0..4).rev() {
            let cur = (rem << 64) | u128::from(self.0[i]);
            out[i] = (cur / u128::from(rhs)) as u64;
            rem = cur % u128::from(rhs);
        }
        Some((U256(out), rem as u64))
    }

    /// Divides: (quotient, remainder), or `None` when dividing by zero.
    pub fn div_rem(self, rhs: Self) -> Option<(Self, Self)> {
        if rhs.is_zero() {
            return None;
        }
        if self < rhs {
            return Some((U256::ZERO, self));
        }
        if let Some(small) = rhs.to_u64() {
            let (q, r) = self.div_rem_u64(small)?;
            return Some((q, U256::from_u64(r)));
        }
        // Shift-and-subtract long division, starting where the divisor's top bit meets ours.
        let shift = rhs.leading_zeros() - self.leading_zeros();
        let mut divisor = rhs << shift;
        let mut rem = self;
        let mut quotient = U256::ZERO;
        for i in (0..=shift).rev() {
            if rem >= divisor {
                rem = rem.overflowing_sub(divisor).0;
                quotient.0[(i / 64) as usize] |= 1 << (i % 64);
            }
            divisor = divisor >> 1;
        }
        Some((quotient, rem))
    }

    /// Divides, or `None` when dividing by zero.
    pub fn checked_div(self, rhs: Self) -> Option<Self> {
        self.div_rem(rhs).map(|(q, _)| q)
    }

    /// The remainder, or `None` when dividing by zero.
    pub fn checked_rem(self, rhs: Self) -> Option<Self> {
        self.div_rem(rhs).map(|(_, r)| r)
    }

    /// Shifts left, or `None` if a set bit would be shifted out.
    pub fn checked_shl(self, n: u32) -> Option<Self> {
        if self.is_zero() {
            return Some(self);
        }
        (n <= self.leading_zeros()).then(|| self << n)
    }

    /// The nearest `f64`, for display only: never use the result in consensus.
    pub fn to_f64(self) -> f64 {
        let bits = self.bits();
        if bits <= 64 {
            return self.low_u64() as f64;
        }
        let shift = bits - 64;
        let mut top = (self >> shift).low_u64();
        // A sticky bit for the dropped low bits keeps the rounding of `top as f64` correct.
        if !(self << (256 - shift)).is_zero() {
            top |= 1;
        }
        (top as f64) * 2f64.powi(shift as i32)
    }
}

impl Ord for U256 {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.iter().rev().cmp(other.0.iter().rev())
    }
}

impl PartialOrd for U256 {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl From<u64> for U256 {
    fn from(v: u64) -> Self {
        U256::from_u64(v)
    }
}

impl From<u128> for U256 {
    fn from(v: u128) -> Self {
        U256::from_u128(v)
    }
}

impl Add for U256 {
    type Output = U256;
    fn add(self, rhs: Self) -> Self {
        self.checked_add(rhs)
            .expect("U256 addition overflowed 2^256")
    }
}

impl Sub for U256 {
    type Output = U256;
    fn sub(self, rhs: Self) -> Self {
        self.checked_sub(rhs)
            .expect("U256 subtraction went below zero")
    }
}

impl Mul for U256 {
    type Output = U256;
    fn mul(self, rhs: Self) -> Self {
        self.checked_mul(rhs)
            .expect("U256 multiplication overflowed 2^256")
    }
}

impl Div for U256 {
    type Output = U256;
    fn div(self, rhs: Self) -> Self {
        self.checked_div(rhs).expect("U256 division by zero")
    }
}

impl Rem for U256 {
    type Output = U256;
    fn rem(self, rhs: Self) -> Self {
        self.checked_rem(rhs).expect("U256 remainder by zero")
    }
}

/// Shifts left; bits shifted past bit 255 are dropped, and a shift of 256 or more gives zero.
impl Shl<u32> for U256 {
    type Output = U256;
    fn shl(self, n: u32) -> Self {
        if n >= 256 {
            return U256::ZERO;
        }
        let (limbs, bits) = ((n / 64) as usize, n % 64);
        let mut out = [0u64; 4];
        for i in (limbs..4).rev() {
            out[i] = self.0[i - limbs] << bits;
            if bits > 0 && i > limbs {
                out[i] |= self.0[i - limbs - 1] >> (64 - bits);
            }
        }
        U256(out)
    }
}

/// Shifts right; a shift of 256 or more gives zero.
impl Shr<u32> for U256 {
    type Output = U256;
    fn shr(self, n: u32) -> Self {
        if n >= 256 {
            return U256::ZERO;
        }
        let (limbs, bits) = ((n / 64) as usize, n % 64);
        let mut out = [0u64; 4];
        for (i, limb) in out.iter_mut().enumerate().take(4 - limbs) {
            *limb = self.0[i + limbs] >> bits;
            if bits > 0 && i + limbs + 1 < 4 {
                *limb |= self.0[i + limbs + 1] << (64 - bits);
            }
        }
        U256(out)
    }
}

macro_rules! bitwise {
    ($trait:ident, $method:ident, $op:tt) => {
        impl $trait for U256 {
            type Output = U256;
            fn $method(self, rhs: Self) -> Self {
                U256([
                    self.0[0] $op rhs.0[0],
                    self.0[1] $op rhs.0[1],
                    self.0[2] $op rhs.0[2],
                    self.0[3] $op rhs.0[3],
                ])
            }
        }
    };
}
bitwise!(BitAnd, bitand, &);
bitwise!(BitOr, bitor, |);
bitwise!(BitXor, bitxor, ^);

impl Not for U256 {
    type Output = U256;
    fn not(self) -> Self {
        U256([!self.0[0], !self.0[1], !self.0[2], !self.0[3]])
    }
}

/// Decimal, as for the primitive integers.
impl fmt::Display for U256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.pad_integral(true, "", "0");
        }
        // Peel off 19 decimal digits at a time (10^19 is the largest power of ten in a u64).
        const CHUNK: u64 = 10_000_000_000_000_000_000;
        let mut chunks = Vec::new();
        let mut rest = *self;
        while !rest.is_zero() {
            let (q, r) = rest.div_rem_u64(CHUNK).expect("CHUNK is not zero");
            chunks.push(r);
            rest = q;
        }
        let mut text = chunks
            .pop()
            .expect("a non-zero number has a chunk")
            .to_string();
        for chunk in chunks.iter().rev() {
            text.push_str(&format!("{chunk:019}"));
        }
        f.pad_integral(true, "", &text)
    }
}

/// Hex without leading zeros (`{:#x}` adds `0x`), as for the primitive integers.
impl fmt::LowerHex for U256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let full = self.to_be_hex();
        let trimmed = full.trim_start_matches('0');
        f.pad_integral(true, "0x", if trimmed.is_empty() { "0" } else { trimmed })
    }
}

impl fmt::Debug for U256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "U256({self:#x})")
    }
}
