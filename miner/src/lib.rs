//! Otedama's miner: CPU hashers for sha256d and scrypt, the hashing threads that feed them, and a
//! Stratum V1 client that keeps them busy with a pool's work.
pub mod bench;
pub mod client;
pub mod mining;
pub mod opencl;
pub mod sha256d;
