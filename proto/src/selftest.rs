//! The miner's self-test: real block headers of both coins, hashed with each coin's proof of work
//! and checked against the target their own `nBits` sets.
//!
//! A header is known good when its sha256d block id equals the id the coin's explorers show, so a
//! wrong header cannot pass by accident; its proof of work must then be at or below its target.
//! The expected values were also checked with an independent implementation (Python's `hashlib`).

use crate::chain::{Coin, PowAlgo};
use crate::hash::{BlockHash, PowHash};
use crate::header::Header;
use crate::target::{CompactTarget, CompactTargetError, Target};

/// A real mainnet block header with its block id.
#[derive(Clone, Copy, Debug)]
pub struct KnownHeader {
    /// The coin whose chain has the block.
    pub coin: Coin,
    /// The block's height.
    pub height: u32,
    /// The 80-byte header, hex in serialization order (as `getblockheader HASH false` prints it).
    pub header_hex: &'static str,
    /// The block id, hex in display order (as block explorers show it).
    pub block_id: &'static str,
}

/// The headers the self-test hashes: each coin's genesis block and a later block.
pub const KNOWN_HEADERS: [KnownHeader; 4] = [
    KnownHeader {
        coin: Coin::Bitcoin,
        height: 0,
        header_hex: "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c",
        block_id: "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f",
    },
    KnownHeader {
        coin: Coin::Bitcoin,
        height: 100_000,
        header_hex: "0100000050120119172a610421a6c3011dd330d9df07b63616c2cc1f1cd00200000000006657a9252aacd5c0b2940996ecff952228c3067cc38d4885efb5a4ac4247e9f337221b4d4c86041b0f2b5710",
        block_id: "000000000003ba27aa200b1cecaad478d2b00432346c3f1f3986da1afd33e506",
    },
    // Version 1, previous block zero, merkle root 97ddfbba…d4ced9, time 1317972665,
    // bits 0x1e0ffff0, nonce 2084524493.
    KnownHeader {
        coin: Coin::Litecoin,
        height: 0,
        header_hex: "010000000000000000000000000000000000000000000000000000000000000000000000d9ced4ed1130f7b7faad9be25323ffafa33232a17c3edf6cfd97bee6bafbdd97b9aa8e4ef0ff0f1ecd513f7c",
        block_id: "12a765e31ffd4059bada1e25190f6e98c99d9714d334efa41a195a7e7e04bfe2",
    },
    KnownHeader {
        coin: Coin::Litecoin,
        height: 2_000_000,
        header_hex: "00000020c4fbec9d43f174745899ff294bd105d74a072440f1159c59bb0ddb57fce3ff173d2eac89cebaa82bbaf56dd90b3ff78b1af22ba94e54a43cab456350d37edfd58b902760a0a4011a09ad630b",
        block_id: "3a4d8e7c77a85554fc8bd30d4e42d56eb71010e769ea9737f16241ba79bed9c5",
    },
];

/// The outcome for one header.
#[derive(Clone, Debug)]
pub struct Check {
    /// The header checked.
    pub known: KnownHeader,
    /// The proof-of-work function used (the coin's).
    pub algo: PowAlgo,
    /// The block id computed (sha256d).
    pub block_id: BlockHash,
    /// The proof-of-work hash computed.
    pub pow: PowHash,
    /// The header's compact target.
    pub bits: CompactTarget,
    /// The target `bits` encodes, or why it encodes none.
    pub target: Result<Target, CompactTargetError>,
    /// Whether the block id is the expected one.
    pub id_ok: bool,
    /// Whether the proof of work is at or below the target.
    pub pow_ok: bool,
}

impl Check {
    /// Whether both checks passed.
    pub fn passed(&self) -> bool {
        self.id_ok && self.pow_ok
    }
}

/// Hashes and checks one header.
pub fn check(known: KnownHeader, header: &Header) -> Check {
    let algo = known.coin.pow_algo();
    let block_id = header.block_hash();
    let pow = header.pow_hash(algo);
    let target = header.target();
    Check {
        known,
        algo,
        id_ok: block_id.to_string() == known.block_id,
        block_id,
        pow,
        bits: header.bits(),
        pow_ok: target.as_ref().is_ok_and(|t| t.meets(&pow)),
        target,
    }
}

/// Checks every header of [`KNOWN_HEADERS`].
pub fn run() -> Vec<Check> {
    KNOWN_HEADERS
        .iter()
        .map(|known| {
            let header: Header = known
                .header_hex
                .parse()
                .expect("the known headers are 160 hex digits");
            check(*known, &header)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::MerkleNode;

    #[test]
    fn every_known_header_passes() {
        for c in run() {
            assert!(c.passed(), "{c:?}");
        }
    }

    #[test]
    fn litecoin_genesis_is_built_from_its_published_fields() {
        let merkle_root: MerkleNode =
            "97ddfbbae6be97fd6cdf3e7ca13232a3afff2353e29badfab7f73011edd4ced9"
                .parse()
                .expect("64 hex digits");
        let header = Header::new(
            1,
            BlockHash::ZERO,
            merkle_root,
            1_317_972_665,
            CompactTarget::from_consensus(0x1e0f_fff0),
            2_084_524_493,
        );
        assert_eq!(header.to_string(), KNOWN_HEADERS[2].header_hex);
    }

    #[test]
    fn litecoin_genesis_scrypt_pow_is_the_known_value() {
        let c = &run()[2];
        assert_eq!(c.algo, PowAlgo::Scrypt);
        assert_eq!(
            c.pow.to_string(),
            "0000050c34a64b415b6b15b37f2216634b5b1669cb9a2e38d76f7213b0671e00"
        );
        assert_eq!(
            c.target.as_ref().map(ToString::to_string),
            Ok("00000ffff0000000000000000000000000000000000000000000000000000000".to_owned())
        );
    }

    #[test]
    fn a_changed_nonce_fails_both_checks() {
        let known = KNOWN_HEADERS[0];
        let header: Header = known.header_hex.parse().expect("valid hex");
        let c = check(known, &header.with_nonce(header.nonce() ^ 1));
        assert!(!c.id_ok && !c.pow_ok, "{c:?}");
    }
}
