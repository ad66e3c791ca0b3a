//! The one payout function (`docs/consensus.md` §10.3–10.6): from the credits of a window, the
//! coinbase value, the finder's script and the parent's id, the exact payout outputs in coinbase
//! order. Template building and validation both call [`split`], so they cannot drift apart.
//!
//! Integer-only; the outputs always sum to the coinbase value.

use std::cmp::Ordering;

use bitcoin::{Script, ScriptBuf};
use otedama_proto::amount::Amount;
use otedama_proto::hash::PowHash;
use otedama_proto::target::Work;
use otedama_proto::uint::U256;

use crate::params::Consensus;

/// One payout output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payout {
    /// The output script.
    pub script: ScriptBuf,
    /// The amount paid.
    pub amount: Amount,
    /// The payee's credit in the window (0 for a finder with no credit), for display.
    pub weight: Work,
}

/// The outputs of [`split`] as the bytes of their consensus encoding, concatenated: a compact
/// fingerprint for comparing payouts across nodes.
pub fn payout_bytes(payouts: &[Payout]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in payouts {
        let txout = bitcoin::TxOut {
            value: p.amount.into(),
            script_pubkey: p.script.clone(),
        };
        out.extend_from_slice(&bitcoin::consensus::serialize(&txout));
    }
    out
}

/// Payees ranked as §10.4 ranks them: greatest credit first, then script ascending; zero
/// credits left out. Computing it is the costly part of [`split`], so the chain keeps the ranking
/// of recent parents.
#[derive(Debug, Clone, Default)]
pub struct Ranking<'a> {
    entries: Vec<(&'a Script, U256)>,
    total: U256,
}

impl<'a> Ranking<'a> {
    /// Ranks `credits` (one entry per script, any order).
    pub fn new(credits: impl IntoIterator<Item = (&'a Script, U256)>) -> Self {
        let mut entries: Vec<(&Script, U256)> =
            credits.into_iter().filter(|(_, c)| !c.is_zero()).collect();
        entries.sort_unstable_by(rank);
        let total = entries.iter().fold(U256::ZERO, |acc, (_, c)| acc + *c);
        Ranking { entries, total }
    }

    /// Wraps entries that are already ranked (greatest credit first, then script ascending,
    /// no zero credits).
    pub(crate) fn from_ranked(entries: Vec<(&'a Script, U256)>, total: U256) -> Self {
        debug_assert!(entries.windows(2).all(|w| rank(&w[0], &w[1]).is_lt()));
        Ranking { entries, total }
    }
}

/// Splits `value` among `credits` (one entry per script, any order) as §10 says, with `finder`
/// as the share's own payout script and `seed` the parent share's proof-of-work hash (the
/// lottery seed, §10.5).
/// Returns the payout outputs sorted by script.
pub fn split(
    consensus: &Consensus,
    credits: &[(&Script, U256)],
    value: Amount,
    finder: &Script,
    seed: &PowHash,
) -> Vec<Payout> {
    split_ranked(
        consensus,
        &Ranking::new(credits.iter().copied()),
        value,
        finder,
        seed,
    )
}

/// [`split`] of credits already ranked.
pub fn split_ranked(
    consensus: &Consensus,
    ranking: &Ranking<'_>,
    value: Amount,
    finder: &Script,
    seed: &PowHash,
) -> Vec<Payout> {
    let p = consensus.params();
    let v = value.to_sat();
    let bonus = v / u64::from(p.finder_bonus_divisor);
    let d = v - bonus;
    let total = ranking.total;
    let ranked = &ranking.entries;
    let mut outputs: Vec<(&Script, u64, U256)> = Vec::new();
    let mut finder_amount = bonus;
    if total.is_zero() {
        finder_amount = v;
    } else {
        let max_kept = (p.max_payout_outputs as usize).saturating_sub(2);
        let mut paid = 0u64;
        let mut kept_credit = U256::ZERO;
        let mut k = 0;
        while k < ranked.len().min(max_kept) {
            let amount = mul_div(d, ranked[k].1, total);
            if amount < p.min_payout.to_sat() {
                break;
            }
            outputs.push((ranked[k].0, amount, ranked[k].1));
            paid += amount;
            kept_credit = kept_credit + ranked[k].1;
            k += 1;
        }
        let tail = &ranked[k..];
        let tail_credit = total - kept_credit;
        let tail_amount = if tail.is_empty() {
            0
        } else {
            mul_div(d, tail_credit, total)
        };
        finder_amount += d - paid - tail_amount;
        if !tail.is_empty() && tail_amount >= p.min_payout.to_sat() {
            let winner = draw(tail, tail_credit, seed);
            outputs.push((winner.0, tail_amount, winner.1));
        } else {
            finder_amount += tail_amount;
        }
    }
    if finder_amount > 0 {
        match outputs.iter_mut().find(|o| o.0 == finder) {
            Some(o) => o.1 += finder_amount,
            None => {
                let weight = ranked
                    .iter()
                    .find(|c| c.0 == finder)
                    .map_or(U256::ZERO, |c| c.1);
                outputs.push((finder, finder_amount, weight));
            }
        }
    }
    outputs.retain(|o| o.1 > 0);
    outputs.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    outputs
        .into_iter()
        .map(|(script, amount, weight)| Payout {
            script: script.to_owned(),
            amount: Amount::from_sat(amount),
            weight: Work::from_u256(weight),
        })
        .collect()
}

/// Greater credit first, then script ascending.
pub(crate) fn rank(a: &(&Script, U256), b: &(&Script, U256)) -> Ordering {
    b.1.cmp(&a.1)
        .then_with(|| a.0.as_bytes().cmp(b.0.as_bytes()))
}

/// The lottery of §10.5: the first tail payee at which the running credit exceeds
/// `seed mod tail_credit`.
fn draw<'a>(tail: &[(&'a Script, U256)], tail_credit: U256, seed: &PowHash) -> (&'a Script, U256) {
    let x = U256::from_le_bytes(seed.to_byte_array()) % tail_credit;
    let mut running = U256::ZERO;
    for entry in tail {
        running = running + entry.1;
        if running > x {
            return *entry;
        }
    }
    unreachable!("the running sum reaches tail_credit, which exceeds x")
}

/// `floor(d · c / total)` exactly, for `c <= total`, `0 < total < 2^192` and `d < 2^63`. The
/// quotient is at most `d`, which lets a 64-bit estimate from the top bits replace a 256-bit
/// long division; a multiply-and-compare then makes it exact.
pub fn mul_div(d: u64, c: U256, total: U256) -> u64 {
    debug_assert!(c <= total && !total.is_zero() && d < 1 << 63);
    let n = c.checked_mul_u64(d).expect("credits are below 2^192");
    let bits = total.bits();
    if bits <= 64 {
        let n = n.to_u128().expect("n < total · 2^63 < 2^127");
        return (n / u128::from(total.low_u64())) as u64;
    }
    let shift = bits - 64;
    let total_hi = (total >> shift).low_u64();
    let n_hi = (n >> shift).to_u128().expect("n >> shift < 2^127");
    let mut q = (n_hi / u128::from(total_hi)) as u64;
    let mut product = total
        .checked_mul_u64(q)
        .expect("q <= 2^63 + 1 and total < 2^192");
    while product > n {
        q -= 1;
        product = product - total;
    }
    while let Some(next) = product.checked_add(total).filter(|next| *next <= n) {
        q += 1;
        product = next;
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use otedama_proto::chain::{Coin, Network};
    use proptest::prelude::*;

    fn consensus() -> Consensus {
        Consensus::for_network(Coin::Bitcoin, Network::Mainnet).expect("exists")
    }

    fn script(n: u16) -> ScriptBuf {
        let mut bytes = vec![0x00, 0x14];
        bytes.extend_from_slice(&[0u8; 18]);
        bytes.extend_from_slice(&n.to_be_bytes());
        ScriptBuf::from_bytes(bytes)
    }

    fn u256(hi: u128, lo: u128) -> U256 {
        (U256::from_u128(hi) << 128) + U256::from_u128(lo)
    }

    proptest! {
        #[test]
        fn mul_div_is_exact(d in 0u64..(1 << 63), a in any::<u64>(), b in any::<u128>(), extra in any::<u128>()) {
            let c = u256(u128::from(a) >> 2, b);
            let total = c + u256(0, extra) + U256::ONE;
            let want = (c.checked_mul_u64(d).unwrap() / total).to_u64().unwrap();
            prop_assert_eq!(mul_div(d, c, total), want);
        }

        #[test]
        fn outputs_sum_to_the_value(value in 0u64..2_100_000_000_000_000, n in 0usize..300, seed in any::<[u8; 32]>()) {
            let scripts: Vec<ScriptBuf> = (0..n as u16).map(script).collect();
            let credits: Vec<(&Script, U256)> = scripts
                .iter()
                .enumerate()
                .map(|(i, s)| (s.as_script(), U256::from_u64((i as u64 * 7919) % 1000 + 1) << 70))
                .collect();
            let finder = script(9999);
            let out = split(&consensus(), &credits, Amount::from_sat(value), &finder, &PowHash::from_byte_array(seed));
            prop_assert_eq!(out.iter().map(|p| p.amount.to_sat()).sum::<u64>(), value);
            prop_assert!(out.len() <= 100);
            prop_assert!(out.windows(2).all(|w| w[0].script < w[1].script));
        }
    }

    #[test]
    fn empty_window_pays_the_finder_everything() {
        let finder = script(1);
        let out = split(
            &consensus(),
            &[],
            Amount::from_sat(5_000),
            &finder,
            &PowHash::from_byte_array([0; 32]),
        );
        assert_eq!(
            out,
            vec![Payout {
                script: finder,
                amount: Amount::from_sat(5_000),
                weight: Work::ZERO
            }]
        );
    }

    #[test]
    fn proportional_split_with_bonus_and_remainder_to_the_finder() {
        let (a, b, f) = (script(1), script(2), script(3));
        let credits = [
            (a.as_script(), U256::from_u64(1) << 80),
            (b.as_script(), U256::from_u64(3) << 80),
        ];
        let out = split(
            &consensus(),
            &credits,
            Amount::from_sat(1_000_000_001),
            &f,
            &PowHash::from_byte_array([0; 32]),
        );
        // bonus = 5_000_000; D = 995_000_001: a gets D/4, b gets 3D/4, remainder 1 to the finder.
        let amounts: Vec<u64> = out.iter().map(|p| p.amount.to_sat()).collect();
        assert_eq!(amounts, vec![248_750_000, 746_250_000, 5_000_001]);
    }

    #[test]
    fn the_smallest_payees_share_one_output_by_lottery() {
        let scripts: Vec<ScriptBuf> = (0..150).map(script).collect();
        let credits: Vec<(&Script, U256)> = scripts
            .iter()
            .map(|s| (s.as_script(), U256::ONE << 80))
            .collect();
        let finder = script(500);
        let value = 312_500_000;
        let out = split(
            &consensus(),
            &credits,
            Amount::from_sat(value),
            &finder,
            &PowHash::from_byte_array([5; 32]),
        );
        assert_eq!(out.len(), 100);
        let d = value - value / 200;
        let each = d / 150;
        let tail = d * 52 / 150;
        assert_eq!(out.iter().filter(|p| p.amount.to_sat() == each).count(), 98);
        assert_eq!(out.iter().filter(|p| p.amount.to_sat() == tail).count(), 1);
    }
}
