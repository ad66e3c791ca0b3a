//! The Stratum V1 server miners connect to: ASIC, GPU and CPU firmware as it exists today.
//!
//! The layers, from the inside out:
//! - [`session`]: the protocol state of one connection. It takes a line and `now` and returns the
//!   lines to send and the shares to hand on ([`Outbound`]); no socket, no clock, no spawning, so
//!   every rule of `STRATUM-NOTES.md` is tested without a network.
//! - [`job`]: the work the rest of the node hands out ([`JobSpec`] → [`Job`]) and the
//!   [`JobBroadcast`] that fans it out to every session; [`provider`]: each miner's own coinbase
//!   (every share pays its miner through the share data its coinbase commits to); [`submit`]: what a share must pass and the
//!   [`Submission`] a valid one becomes.
//! - [`vardiff`] and [`stats`]: per-connection difficulty and per-worker counts.
//! - [`server`]: tokio, one task per connection, bounded everywhere, graceful shutdown.
//!
//! The node's share path reads [`Submission`]s from the bounded channel given to [`Server::new`];
//! the template builder calls [`JobBroadcast::publish`].

pub mod config;
pub mod job;
pub mod message;
pub mod provider;
pub mod server;
pub mod session;
#[cfg(test)]
mod session_tests;
pub mod stats;
pub mod submit;
pub mod testkit;
pub mod vardiff;

pub use config::{StratumConfig, VardiffConfig};
pub use job::{Job, JobBroadcast, JobError, JobReceiver, JobSpec};
pub use message::{ErrorCode, Line};
pub use provider::{CoinbaseProvider, FixedCoinbase, MinerCoinbase};
pub use server::{Server, ServerError, ServerStats};
pub use session::{Outbound, Session};
pub use stats::{StatsRegistry, WorkerSnapshot, WorkerStats};
pub use submit::Submission;

/// A point in time as the session sees it: milliseconds since the Unix epoch. The server reads the
/// clock and passes it in; tests pass whatever they like.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The time `secs` seconds after the epoch.
    pub const fn from_secs(secs: u64) -> Self {
        Timestamp(secs * 1000)
    }

    /// Whole seconds since the epoch.
    pub const fn as_secs(self) -> u64 {
        self.0 / 1000
    }

    /// Seconds from `earlier` to `self` (zero if `earlier` is later: a clock that stepped back).
    pub fn secs_since(self, earlier: Timestamp) -> f64 {
        self.0.saturating_sub(earlier.0) as f64 / 1000.0
    }

    /// This time plus `ms` milliseconds.
    pub const fn plus_millis(self, ms: u64) -> Self {
        Timestamp(self.0 + ms)
    }

    /// The system clock now.
    pub fn now() -> Self {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(since.as_millis() as u64)
    }
}
