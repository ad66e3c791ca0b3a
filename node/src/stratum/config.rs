//! What the Stratum server is configured with: the coin and network miners pay to, difficulty
//! bounds, vardiff, and the limits that keep one connection from costing the node much.

use std::time::Duration;

use otedama_proto::chain::{Coin, Network, PowAlgo};
use otedama_proto::stratum::BIP320_VERSION_MASK;

/// How the difficulty of one connection follows its hash rate.
#[derive(Clone, Debug, PartialEq)]
pub struct VardiffConfig {
    /// The share interval aimed at, in seconds.
    pub target_share_secs: f64,
    /// Retarget once this many shares' worth of work (at the current difficulty) came in.
    pub retarget_shares: f64,
    /// Retarget at the first chance after this many seconds, even with few or no shares.
    pub retarget_secs: f64,
    /// The largest factor of one change, up or down (4 = at most ×4 or ÷4 at a time).
    pub max_step: f64,
    /// Changes smaller than this fraction are not worth a `mining.set_difficulty`.
    pub min_change: f64,
}

impl Default for VardiffConfig {
    fn default() -> Self {
        VardiffConfig {
            target_share_secs: 5.0,
            retarget_shares: 12.0,
            retarget_secs: 60.0,
            max_step: 4.0,
            min_change: 0.2,
        }
    }
}

/// Everything the Stratum sessions and server need to know.
#[derive(Clone, Debug, PartialEq)]
pub struct StratumConfig {
    /// The coin mined: payout addresses must be of this coin.
    pub coin: Coin,
    /// The network: payout addresses must be of this network.
    pub network: Network,
    /// The version bits the server lets miners roll (BIP 310); the mask a miner gets is this AND
    /// the mask it asks for.
    pub version_mask: u32,
    /// The difficulty a connection starts at, before vardiff or a suggestion.
    pub initial_difficulty: f64,
    /// The lowest difficulty vardiff, a suggestion or `d=N` may set.
    pub min_difficulty: f64,
    /// The highest difficulty vardiff or a suggestion may set (the job's share and block targets
    /// cap it further).
    pub max_difficulty: f64,
    /// Vardiff settings.
    pub vardiff: VardiffConfig,
    /// How far past `max(job ntime, now)` a submitted ntime may be, in seconds: the coin's own
    /// limit (two hours on both coins) less a margin. Only a block may go this far.
    pub max_ntime_ahead_secs: u32,
    /// How far past `now` the ntime of a share may be, in seconds: the sharechain's
    /// `max_future`. A share beyond it would be rejected by the sharechain, so it is answered
    /// with an error (20) unless it is a block, which goes to the coin daemon only.
    pub max_share_ntime_ahead_secs: u32,
    /// The longest line accepted from a miner, in bytes, newline included. Longer: an error reply,
    /// then a disconnect.
    pub max_line_bytes: usize,
    /// How many miners may be connected at once; further ones wait in the listen backlog.
    pub max_connections: usize,
    /// How long a write to a miner may take before the miner is dropped as a slow reader.
    pub write_timeout: Duration,
    /// How long a connection may stay without subscribing and authorizing.
    pub handshake_timeout: Duration,
    /// How many jobs a session remembers for late shares (and for stale blocks).
    pub jobs_kept: usize,
    /// How many distinct shares one session may submit on one job (duplicate detection memory).
    pub max_shares_per_job: usize,
    /// How many workers the per-worker stats keep (the `.worker` suffix is free text); past it
    /// the oldest idle ones are forgotten.
    pub max_workers: usize,
    /// How long a worker no connection uses may go without a share before its stats are
    /// forgotten.
    pub worker_idle: Duration,
    /// How often idle workers are looked for.
    pub stats_prune_every: Duration,
}

impl StratumConfig {
    /// Defaults for `coin` on `network`: the BIP 320 version mask, vardiff at a share every five
    /// seconds, a start difficulty a small ASIC or GPU reaches in seconds.
    pub fn new(coin: Coin, network: Network) -> Self {
        // Stratum difficulty 1 is 2^32 hashes under sha256d and 2^16 under scrypt.
        let (initial, min) = match coin.pow_algo() {
            PowAlgo::Sha256d => (1024.0, 0.001),
            PowAlgo::Scrypt => (64.0, 0.001),
        };
        StratumConfig {
            coin,
            network,
            version_mask: BIP320_VERSION_MASK,
            initial_difficulty: initial,
            min_difficulty: min,
            max_difficulty: 1e15,
            vardiff: VardiffConfig::default(),
            max_ntime_ahead_secs: 7000,
            max_share_ntime_ahead_secs: 120,
            max_line_bytes: 4096,
            max_connections: 10_000,
            write_timeout: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(60),
            jobs_kept: 12,
            max_shares_per_job: 16_384,
            max_workers: 10_000,
            worker_idle: Duration::from_secs(24 * 3600),
            stats_prune_every: Duration::from_secs(600),
        }
    }

    /// The proof-of-work function of the coin.
    pub fn algo(&self) -> PowAlgo {
        self.coin.pow_algo()
    }

    /// `difficulty` held to the pool's bounds.
    pub fn clamp_difficulty(&self, difficulty: f64) -> f64 {
        difficulty.clamp(self.min_difficulty, self.max_difficulty)
    }
}
