//! Otedama's wire types, coin primitives and proof of work.
//!
//! This crate is pure: no sockets, no threads, no clocks, no storage. Everything above it (the
//! sharechain, the miner, the node) takes its hashes, ids, targets and amounts from here, so that a
//! bare `[u8; 32]` or `u64` never crosses a crate boundary.

pub mod address;
pub mod amount;
pub mod chain;
pub mod hash;
pub mod header;
pub mod merkle;
pub mod pow;
pub mod scrypt;
pub mod selftest;
pub mod stratum;
pub mod target;
pub mod uint;
