//! Coin amounts in base units (satoshis, litoshis): integer-only, overflow-checked.
//!
//! Payout arithmetic is consensus: every node must split a coinbase to the same base unit, so
//! there is no floating point here. `Display` and `FromStr` use the coin notation with up to eight
//! decimals ("12.50026312"); serde writes the integer number of base units.

use std::fmt;
use std::iter::Sum;
use std::str::FromStr;

/// An amount of a coin in base units (1 coin = 100 000 000 base units).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct Amount(u64);

/// Text that is not an amount of coins.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountParseError {
    /// Nothing (or only a dot) was given.
    #[error("empty amount")]
    Empty,
    /// A character other than digits and one decimal point.
    #[error("amount `{0}` is not a decimal number of coins (digits and at most one `.`)")]
    Invalid(String),
    /// More than eight digits after the decimal point.
    #[error("amount `{0}` has more than 8 decimals, finer than one base unit")]
    TooPrecise(String),
    /// More base units than fit in 64 bits.
    #[error("amount `{0}` is too large")]
    TooLarge(String),
}

impl Amount {
    /// Nothing.
    pub const ZERO: Amount = Amount(0);
    /// One base unit.
    pub const ONE_SAT: Amount = Amount(1);
    /// One whole coin.
    pub const COIN: Amount = Amount(100_000_000);
    /// The largest representable amount.
    pub const MAX: Amount = Amount(u64::MAX);

    /// The amount of `sats` base units.
    pub const fn from_sat(sats: u64) -> Self {
        Amount(sats)
    }

    /// The number of base units.
    pub const fn to_sat(self) -> u64 {
        self.0
    }

    /// `coins` whole coins, or `None` if that does not fit.
    pub fn from_coins(coins: u64) -> Option<Self> {
        coins.checked_mul(Self::COIN.0).map(Amount)
    }

    /// Adds, or `None` on overflow.
    pub fn checked_add(self, rhs: Amount) -> Option<Amount> {
        self.0.checked_add(rhs.0).map(Amount)
    }

    /// Subtracts, or `None` if `rhs` is larger.
    pub fn checked_sub(self, rhs: Amount) -> Option<Amount> {
        self.0.checked_sub(rhs.0).map(Amount)
    }

    /// Multiplies by an integer, or `None` on overflow.
    pub fn checked_mul(self, rhs: u64) -> Option<Amount> {
        self.0.checked_mul(rhs).map(Amount)
    }

    /// Divides by an integer rounding down, or `None` when dividing by zero.
    pub fn checked_div(self, rhs: u64) -> Option<Amount> {
        self.0.checked_div(rhs).map(Amount)
    }

    /// Subtracts, stopping at zero.
    pub fn saturating_sub(self, rhs: Amount) -> Amount {
        Amount(self.0.saturating_sub(rhs.0))
    }

    /// The sum of `amounts`, or `None` on overflow.
    pub fn checked_sum<I: IntoIterator<Item = Amount>>(amounts: I) -> Option<Amount> {
        amounts
            .into_iter()
            .try_fold(Amount::ZERO, Amount::checked_add)
    }
}

/// Sums amounts; panics on overflow (use [`Amount::checked_sum`] where that can happen).
impl Sum for Amount {
    fn sum<I: Iterator<Item = Amount>>(iter: I) -> Amount {
        Amount::checked_sum(iter).expect("sum of amounts overflowed u64")
    }
}

impl From<bitcoin::Amount> for Amount {
    fn from(a: bitcoin::Amount) -> Self {
        Amount(a.to_sat())
    }
}

impl From<Amount> for bitcoin::Amount {
    fn from(a: Amount) -> Self {
        bitcoin::Amount::from_sat(a.0)
    }
}

/// Whole coins, a dot and always eight decimals: `12.50026312`.
impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = format!("{}.{:08}", self.0 / Self::COIN.0, self.0 % Self::COIN.0);
        f.pad(&text)
    }
}

impl FromStr for Amount {
    type Err = AmountParseError;

    /// Parses coins with up to eight decimals: `12`, `12.5`, `.5`, `0.00000001`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
        if whole.is_empty() && frac.is_empty() {
            return Err(AmountParseError::Empty);
        }
        let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(whole) || !all_digits(frac) {
            return Err(AmountParseError::Invalid(s.to_owned()));
        }
        if frac.len() > 8 {
            return Err(AmountParseError::TooPrecise(s.to_owned()));
        }
        let too_large = || AmountParseError::TooLarge(s.to_owned());
        let whole: u64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| too_large())?
        };
        let frac_sats: u64 = format!("{frac:0<8}")
            .parse()
            .expect("eight ASCII digits fit in u64");
        whole
            .checked_mul(Self::COIN.0)
            .and_then(|w| w.checked_add(frac_sats))
            .map(Amount)
            .ok_or_else(too_large)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_eight_decimals() {
        assert_eq!(Amount::from_sat(1_250_026_312).to_string(), "12.50026312");
        assert_eq!(Amount::ZERO.to_string(), "0.00000000");
        assert_eq!(Amount::ONE_SAT.to_string(), "0.00000001");
        assert_eq!(Amount::MAX.to_string(), "184467440737.09551615");
    }

    #[test]
    fn parses_what_it_displays() {
        for sats in [0, 1, 99_999_999, 100_000_000, 1_250_026_312, u64::MAX] {
            let a = Amount::from_sat(sats);
            assert_eq!(a.to_string().parse::<Amount>(), Ok(a));
        }
        assert_eq!(
            "12.5".parse::<Amount>(),
            Ok(Amount::from_sat(1_250_000_000))
        );
        assert_eq!(".5".parse::<Amount>(), Ok(Amount::from_sat(50_000_000)));
        assert_eq!("7".parse::<Amount>(), Ok(Amount::from_sat(700_000_000)));
    }

    #[test]
    fn rejects_bad_text_with_specific_errors() {
        assert_eq!("".parse::<Amount>(), Err(AmountParseError::Empty));
        assert_eq!(".".parse::<Amount>(), Err(AmountParseError::Empty));
        assert!(matches!(
            "-1".parse::<Amount>(),
            Err(AmountParseError::Invalid(_))
        ));
        assert!(matches!(
            "1.2.3".parse::<Amount>(),
            Err(AmountParseError::Invalid(_))
        ));
        assert!(matches!(
            "0.000000001".parse::<Amount>(),
            Err(AmountParseError::TooPrecise(_))
        ));
        assert!(matches!(
            "184467440737.09551616".parse::<Amount>(),
            Err(AmountParseError::TooLarge(_))
        ));
    }

    #[test]
    fn checked_arithmetic() {
        let a = Amount::from_sat(5);
        assert_eq!(
            a.checked_add(Amount::from_sat(7)),
            Some(Amount::from_sat(12))
        );
        assert_eq!(Amount::MAX.checked_add(Amount::ONE_SAT), None);
        assert_eq!(a.checked_sub(Amount::from_sat(6)), None);
        assert_eq!(a.checked_mul(3), Some(Amount::from_sat(15)));
        assert_eq!(a.checked_div(0), None);
        assert_eq!(Amount::checked_sum([a, a, a]), Some(Amount::from_sat(15)));
        assert_eq!(Amount::checked_sum([Amount::MAX, a]), None);
        assert_eq!(
            Amount::from_coins(50),
            Some(Amount::from_sat(5_000_000_000))
        );
        assert_eq!(serde_json::to_string(&a).expect("serializes"), "5");
        assert_eq!(bitcoin::Amount::from(a).to_sat(), 5);
    }
}
