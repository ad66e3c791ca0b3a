//! Proof of work of an 80-byte header: sha256d for Bitcoin, scrypt for Litecoin.

use crate::chain::PowAlgo;
use crate::hash::PowHash;
use sha2::{Digest, Sha256};

/// The proof-of-work hash of an 80-byte header under `algo`.
pub fn pow_hash(algo: PowAlgo, header: &[u8; 80]) -> PowHash {
    match algo {
        PowAlgo::Sha256d => PowHash(sha256d(header)),
        PowAlgo::Scrypt => PowHash(crate::scrypt::scrypt_1024_1_1(header)),
    }
}

/// SHA-256 applied twice.
pub fn sha256d(data: &[u8]) -> [u8; 32] {
    Sha256::digest(Sha256::digest(data)).into()
}
