//! The Stratum V1 client: connects to a pool (with failover across several), keeps the hashing
//! threads supplied with the pool's work and submits their shares.
//!
//! Layers, from the wire up: [`codec`] frames newline-delimited lines with a size cap;
//! [`message`] decodes and encodes the JSON; [`session`] holds one connection's protocol state
//! and makes every decision, without I/O; [`connection`] runs one TCP connection around a
//! session; [`runner`] keeps a connection up (backoff, failover, failback, `client.reconnect`)
//! and runs the hashing threads and the periodic report; [`failback`] probes preferred pools.

pub mod codec;
pub mod connection;
pub mod failback;
pub mod message;
pub mod runner;
pub mod session;
pub mod tally;
pub mod url;

pub use runner::{mine, MinerConfig, MinerError};
pub use session::{Event, Session, SessionConfig, SessionError};
pub use tally::{Counts, ShareTally};
pub use url::{PoolUrl, PoolUrlError};

/// The user agent sent with `mining.subscribe`: `otedama-miner/<version>`.
pub fn user_agent() -> String {
    format!("otedama-miner/{}", env!("CARGO_PKG_VERSION"))
}
