//! Consensus parameters of one sharechain and its consensus id (`docs/consensus.md` §2).
//!
//! [`ConsensusParams`] is plain data, one value per (coin, network, pool name); [`Consensus`] is
//! the validated form every other module reads, with the consensus id and the targets computed
//! once.

use std::fmt;

use otedama_proto::amount::Amount;
use otedama_proto::chain::{Coin, Network, PowAlgo};
use otedama_proto::target::{CompactTarget, Target};
use otedama_proto::uint::U256;

use crate::codec;

/// The share format version this crate speaks.
pub const SHARE_VERSION: u16 = 1;

/// The largest encoded share, in bytes; also the codec's decode limit.
pub const MAX_SHARE_BYTES: usize = 1400;

/// The longest merkle branch a share may carry (a block of up to 2^24 transactions).
pub const MAX_MERKLE_BRANCH: usize = 24;

/// The longest pool name.
pub const MAX_POOL_NAME: usize = 32;

/// The pool name used when none is configured.
pub const DEFAULT_POOL_NAME: &str = "otedama";

/// Every consensus parameter of one sharechain. Two nodes mix shares only if all are equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsensusParams {
    /// The coin.
    pub coin: Coin,
    /// The coin's network.
    pub network: Network,
    /// Free ASCII text that separates independent pools on one coin.
    pub pool_name: String,
    /// The share format version.
    pub share_version: u16,
    /// Target seconds between shares (`T`).
    pub share_period: u32,
    /// Seconds for the share target to double or halve (`H`).
    pub half_life: u32,
    /// How far a share's time may be ahead of the validator's clock, in seconds.
    pub max_future: u32,
    /// How many ancestors the median time is taken over.
    pub median_span: u32,
    /// The easiest share target, and the genesis share's target.
    pub share_pow_limit: CompactTarget,
    /// No share target may be below 2^this (keeps every sum of work within 256 bits).
    pub min_target_log2: u32,
    /// PPLNS window length in shares (`N`).
    pub window_shares: u32,
    /// PPLNS window cap in blocks' worth of work (`M`); 0 disables the cap.
    pub window_block_multiple: u32,
    /// Uncles per share.
    pub max_uncles: u32,
    /// How many shares back an uncle may be.
    pub max_uncle_depth: u32,
    /// The part of an uncle's work credited to the uncle's miner, in percent.
    pub uncle_credit_percent: u32,
    /// The finder's bonus is `value / finder_bonus_divisor`.
    pub finder_bonus_divisor: u32,
    /// The most payout outputs in a coinbase (`K`).
    pub max_payout_outputs: u32,
    /// The smallest payout output.
    pub min_payout: Amount,
    /// The largest encoded share, in bytes.
    pub max_share_bytes: u32,
    /// The longest merkle branch.
    pub max_merkle_branch: u32,
    /// The coin's supply cap; no coinbase may claim more.
    pub max_money: Amount,
    /// How far a share's coin height may be above the median coin height of its ancestors,
    /// plus one block per quarter of the coin's block time since their median time (§5 check
    /// 16b); 0 disables the bound (testnets and regtest, whose blocks come in bursts).
    pub max_coin_height_lead: u32,
}

impl ConsensusParams {
    /// The parameters of `coin` on `network` for the pool named [`DEFAULT_POOL_NAME`]
    /// (`docs/consensus.md` §2.2). `None` for a network the coin does not have.
    pub fn for_network(coin: Coin, network: Network) -> Option<Self> {
        let (period, pow_limit) = match (coin, network) {
            // The mainnet floors are about a second of one current ASIC (§2.2): 2^48 hashes
            // (difficulty 65 536) on Bitcoin, 2^34 on Litecoin.
            (Coin::Bitcoin, Network::Mainnet) => (10, 0x1b00_ffff),
            (Coin::Bitcoin, Network::Testnet) => (10, 0x1d00_ffff),
            (Coin::Bitcoin, Network::Signet) => (10, 0x1e03_77ae),
            (Coin::Bitcoin, Network::Regtest) => (1, 0x1f00_ffff),
            (Coin::Litecoin, Network::Mainnet) => (10, 0x1c3f_ffff),
            (Coin::Litecoin, Network::Testnet) => (10, 0x1e0f_ffff),
            (Coin::Litecoin, Network::Regtest) => (1, 0x1f0f_ffff),
            (Coin::Litecoin, Network::Signet) => return None,
        };
        let (min_payout, max_money) = match coin {
            Coin::Bitcoin => (10_000, 21_000_000 * 100_000_000),
            Coin::Litecoin => (100_000, 84_000_000 * 100_000_000),
        };
        let block_multiple = match network {
            Network::Mainnet | Network::Signet => 2,
            // Regtest's block target is meaningless and the testnets' minimum-difficulty blocks
            // make it jump: a work cap would collapse the window (§2.2).
            Network::Testnet | Network::Regtest => 0,
        };
        // Six blocks above the ancestors' median (§5 check 16b); the testnets' block storms and
        // regtest's generated blocks come faster than any bound would allow.
        let coin_height_lead = match network {
            Network::Mainnet | Network::Signet => 6,
            Network::Testnet | Network::Regtest => 0,
        };
        Some(ConsensusParams {
            coin,
            network,
            pool_name: DEFAULT_POOL_NAME.to_owned(),
            share_version: SHARE_VERSION,
            share_period: period,
            half_life: 10 * period,
            // 12 `T` (120 s on mainnet, 12 s on regtest): a fixed 120 s was 12 half-lives on
            // regtest, enough for shares stamped ahead to stall the pool (§16.1).
            max_future: 12 * period,
            median_span: 11,
            share_pow_limit: CompactTarget::from_consensus(pow_limit),
            min_target_log2: 128,
            window_shares: 2160,
            window_block_multiple: block_multiple,
            max_uncles: 4,
            max_uncle_depth: 3,
            uncle_credit_percent: 80,
            finder_bonus_divisor: 200,
            max_payout_outputs: 100,
            min_payout: Amount::from_sat(min_payout),
            max_share_bytes: MAX_SHARE_BYTES as u32,
            max_merkle_branch: MAX_MERKLE_BRANCH as u32,
            max_money: Amount::from_sat(max_money),
            max_coin_height_lead: coin_height_lead,
        })
    }
}

/// A parameter set that no node can run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamsError {
    /// A parameter is outside the range the rules are defined for.
    #[error("consensus parameter `{name}` = {value} is out of range: {why}")]
    OutOfRange {
        /// The parameter.
        name: &'static str,
        /// Its value, as text.
        value: String,
        /// What the range is.
        why: &'static str,
    },
}

/// The hash of every consensus parameter (`docs/consensus.md` §2.3). Shares name the id of the
/// chain they belong to.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConsensusId(pub [u8; 32]);

impl fmt::Display for ConsensusId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ConsensusId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConsensusId({self})")
    }
}

/// Validated parameters with everything derived from them computed once.
#[derive(Debug, Clone)]
pub struct Consensus {
    params: ConsensusParams,
    id: ConsensusId,
    pow_algo: PowAlgo,
    pow_limit: Target,
    min_target: Target,
}

impl Consensus {
    /// Checks `params` and computes the consensus id.
    pub fn new(params: ConsensusParams) -> Result<Self, ParamsError> {
        let bad = |name: &'static str, value: String, why: &'static str| {
            Err(ParamsError::OutOfRange { name, value, why })
        };
        let p = &params;
        if p.pool_name.is_empty()
            || p.pool_name.len() > MAX_POOL_NAME
            || !p
                .pool_name
                .bytes()
                .all(|b| b.is_ascii_graphic() || b == b' ')
        {
            return bad(
                "pool_name",
                p.pool_name.clone(),
                "1..=32 printable ASCII characters",
            );
        }
        if p.share_version != SHARE_VERSION {
            return bad(
                "share_version",
                p.share_version.to_string(),
                "this node speaks version 1",
            );
        }
        if p.share_period == 0 || p.half_life == 0 || p.median_span == 0 {
            return bad(
                "share_period",
                p.share_period.to_string(),
                "period, half-life, median span > 0",
            );
        }
        let pow_limit = match Target::from_compact(p.share_pow_limit) {
            Ok(t) if t.to_compact() == p.share_pow_limit && t.to_u256().bits() <= 255 => t,
            _ => {
                return bad(
                    "share_pow_limit",
                    p.share_pow_limit.to_string(),
                    "a canonical target below 2^255",
                )
            }
        };
        if !(64..=200).contains(&p.min_target_log2) {
            return bad("min_target_log2", p.min_target_log2.to_string(), "64..=200");
        }
        let min_target = Target::from_u256(U256::ONE << p.min_target_log2);
        if min_target > pow_limit {
            return bad(
                "min_target_log2",
                p.min_target_log2.to_string(),
                "below the share pow limit",
            );
        }
        if p.window_shares == 0 || p.window_shares > 100_000 {
            return bad("window_shares", p.window_shares.to_string(), "1..=100000");
        }
        if p.max_uncles > 8 || p.max_uncle_depth > 8 {
            return bad(
                "max_uncles",
                p.max_uncles.to_string(),
                "at most 8 uncles, 8 deep",
            );
        }
        if p.uncle_credit_percent > 100 {
            return bad(
                "uncle_credit_percent",
                p.uncle_credit_percent.to_string(),
                "0..=100",
            );
        }
        if p.finder_bonus_divisor == 0 {
            return bad("finder_bonus_divisor", "0".into(), "> 0");
        }
        if p.max_payout_outputs < 2 {
            return bad(
                "max_payout_outputs",
                p.max_payout_outputs.to_string(),
                ">= 2 (finder and lottery)",
            );
        }
        if p.max_share_bytes as usize > MAX_SHARE_BYTES
            || p.max_merkle_branch as usize > MAX_MERKLE_BRANCH
        {
            return bad(
                "max_share_bytes",
                p.max_share_bytes.to_string(),
                "at most the codec's limits",
            );
        }
        if p.max_money.to_sat() >= 1 << 63 {
            return bad("max_money", p.max_money.to_sat().to_string(), "below 2^63");
        }
        let id = ConsensusId(
            *blake3::Hasher::new_derive_key("otedama consensus-id v1")
                .update(&codec::encode_params(p))
                .finalize()
                .as_bytes(),
        );
        Ok(Consensus {
            pow_algo: p.coin.pow_algo(),
            params,
            id,
            pow_limit,
            min_target,
        })
    }

    /// The default parameters of `coin` on `network`, validated.
    pub fn for_network(coin: Coin, network: Network) -> Option<Self> {
        ConsensusParams::for_network(coin, network)
            .map(|p| Consensus::new(p).expect("the built-in parameter sets are valid"))
    }

    /// The parameters.
    pub fn params(&self) -> &ConsensusParams {
        &self.params
    }

    /// The consensus id.
    pub fn id(&self) -> ConsensusId {
        self.id
    }

    /// The coin's proof-of-work function.
    pub fn pow_algo(&self) -> PowAlgo {
        self.pow_algo
    }

    /// The easiest share target.
    pub fn pow_limit(&self) -> Target {
        self.pow_limit
    }

    /// The hardest share target, 2^min_target_log2.
    pub fn min_target(&self) -> Target {
        self.min_target
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_network_has_valid_distinct_ids() {
        let mut ids = Vec::new();
        for coin in Coin::ALL {
            for network in Network::ALL {
                if let Some(c) = Consensus::for_network(coin, network) {
                    ids.push(c.id());
                }
            }
        }
        assert_eq!(ids.len(), 7);
        let mut dedup = ids.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(dedup.len(), ids.len());
    }

    #[test]
    fn mainnet_floors_cost_about_a_second_of_one_asic() {
        // An Antminer S21 does about 2^47.5 sha256d hashes a second, an L9 about 2^34 scrypt
        // hashes: at 2^32 and 2^20 each made tens of thousands of floor shares a second (§2.2).
        let floor = |coin, network| {
            let c = Consensus::for_network(coin, network).expect("exists");
            c.pow_limit().to_work().to_u256().bits() - 1
        };
        assert_eq!(floor(Coin::Bitcoin, Network::Mainnet), 48);
        assert_eq!(floor(Coin::Litecoin, Network::Mainnet), 34);
        // The testnets keep the floors CPUs and GPUs can reach.
        assert_eq!(floor(Coin::Bitcoin, Network::Testnet), 32);
        assert_eq!(floor(Coin::Litecoin, Network::Testnet), 20);
    }

    #[test]
    fn any_parameter_changes_the_id() {
        let base = ConsensusParams::for_network(Coin::Litecoin, Network::Regtest).expect("exists");
        let id = Consensus::new(base.clone()).expect("valid").id();
        let mut other = base.clone();
        other.pool_name = "another".into();
        assert_ne!(Consensus::new(other).expect("valid").id(), id);
        let mut other = base;
        other.min_payout = Amount::from_sat(1);
        assert_ne!(Consensus::new(other).expect("valid").id(), id);
    }

    #[test]
    fn bad_parameters_are_named() {
        let mut p = ConsensusParams::for_network(Coin::Bitcoin, Network::Mainnet).expect("exists");
        p.pool_name = String::new();
        let err = Consensus::new(p).unwrap_err();
        assert!(err.to_string().contains("pool_name"), "{err}");
    }
}
