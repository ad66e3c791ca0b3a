//! Per-miner coinbases. Every share pays its own miner's address through the share data its
//! coinbase commits to, so two miners on one job hash different coinbases: the job carries a
//! [`CoinbaseProvider`] that the session asks for its miner's halves once it is authorized.

use otedama_proto::address::PayoutAddress;
use otedama_proto::target::Target;
use std::fmt;
use std::sync::Arc;

/// The coinbase halves and the share target of one miner on one job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MinerCoinbase {
    /// The coinbase (non-witness serialization) up to the extranonce space.
    pub coinb1: Vec<u8>,
    /// The coinbase after the extranonce space.
    pub coinb2: Vec<u8>,
    /// The sharechain target a share of this miner needs.
    pub share_target: Target,
}

/// Builds (and caches) each miner's coinbase for one job.
pub trait CoinbaseProvider: Send + Sync + fmt::Debug + 'static {
    /// The coinbase of a miner paid at `payout`, or why none can be built (shown to the miner).
    fn coinbase_for(&self, payout: &PayoutAddress) -> Result<Arc<MinerCoinbase>, String>;
}

/// A provider that gives every miner the same coinbase: for tests and for work that pays no
/// one in particular.
#[derive(Debug)]
pub struct FixedCoinbase(pub Arc<MinerCoinbase>);

impl CoinbaseProvider for FixedCoinbase {
    fn coinbase_for(&self, _payout: &PayoutAddress) -> Result<Arc<MinerCoinbase>, String> {
        Ok(self.0.clone())
    }
}
