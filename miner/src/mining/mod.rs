//! Mining: turning Stratum jobs into headers and hashing them on every core.
//!
//! The Stratum client decodes a `mining.notify` into a [`Job`] and posts a [`Work`] (the job plus
//! the session's extranonce1, share target and version mask) on the [`WorkBoard`]. Each hashing
//! thread of [`MinerThreads`] takes units of that work (a distinct extranonce2 and version, see
//! [`work`]), scans their nonces with its [`Hasher`], re-checks candidates against the full
//! target ([`verify`]) and sends [`Share`]s back on a bounded channel.

mod board;
mod hasher;
mod rate;
mod threads;
pub mod work;
mod worker;

pub use board::{HashCounters, WorkBoard};
pub use hasher::{verify, CpuKernel, Engine, Hasher, HasherError};
pub use rate::{format_hashrate, RateMeter, Rates};
pub use threads::{default_threads, MinerThreads, StartError};
pub use work::{deposit_bits, Job, Share, Unit, Work};
pub use worker::ShareSender;
