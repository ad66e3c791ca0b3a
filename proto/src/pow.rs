//! Proof of work of an 80-byte header: sha256d for Bitcoin, scrypt for Litecoin.

use crate::chain::PowAlgo;
use crate::hash::PowHash;
use crate::target::Target;
use sha2::{Digest, Sha256};

/// The proof-of-work hash of an 80-byte header under `algo`.
pub fn pow_hash(algo: PowAlgo, header: &[u8; 80]) -> PowHash {
    match algo {
        PowAlgo::Sha256d => PowHash(sha256d(header)),
        PowAlgo::Scrypt => PowHash(crate::scrypt::scrypt_1024_1_1(header)),
    }
}

/// Whether the proof-of-work hash of `header` under `algo` meets `target`.
pub fn pow_hash_meets(algo: PowAlgo, header: &[u8; 80], target: &Target) -> bool {
    target.meets(&pow_hash(algo, header))
}

/// SHA-256 applied twice.
pub fn sha256d(data: &[u8]) -> [u8; 32] {
    Sha256::digest(Sha256::digest(data)).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(hex_text: &str) -> [u8; 80] {
        hex::decode(hex_text)
            .expect("test vector is hex")
            .try_into()
            .expect("test vector is 80 bytes")
    }

    // Litecoin testnet4 genesis header; its sha256d is the genesis hash in Litecoin's
    // chainparams.cpp (4966625a…), its scrypt hash is a public known answer.
    const LTC_TESTNET_GENESIS: &str = "010000000000000000000000000000000000000000000000000000000000000000000000d9ced4ed1130f7b7faad9be25323ffafa33232a17c3edf6cfd97bee6bafbdd97f60ba158f0ff0f1ee1790400";

    #[test]
    fn sha256d_known_answers() {
        assert_eq!(
            hex::encode(sha256d(b"")),
            "5df6e0e2761359d30a8275058e299fcc0381534545f55cf43e41983f5d4c9456"
        );
        assert_eq!(
            hex::encode(sha256d(b"abc")),
            "4f8b42c22dd3729b519ba6f68d2da7cc5b2d606d05daed5ad5128cc03e6c6358"
        );
    }

    #[test]
    fn scrypt_and_sha256d_of_a_litecoin_header() {
        let h = header(LTC_TESTNET_GENESIS);
        assert_eq!(
            hex::encode(pow_hash(PowAlgo::Scrypt, &h).to_byte_array()),
            "64de605b080d5c80ef6bf8460faf954bffb170d64d6087c3b4c42502cc060000"
        );
        assert_eq!(
            pow_hash(PowAlgo::Sha256d, &h).to_string(),
            "4966625a4b2851d9fdee139e56211a0d88575f59ed816ff5e6a63deb4e3e29a0"
        );
    }

    #[test]
    fn meets_compares_against_the_target() {
        let h = header(LTC_TESTNET_GENESIS);
        let bits = crate::target::CompactTarget::from_consensus(0x1e0ffff0);
        let target = Target::from_compact(bits).expect("valid bits");
        assert!(pow_hash_meets(PowAlgo::Scrypt, &h, &target));
        assert!(!pow_hash_meets(PowAlgo::Sha256d, &h, &target));
        assert!(pow_hash_meets(PowAlgo::Sha256d, &h, &Target::MAX));
    }
}
