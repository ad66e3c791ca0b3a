//! The 80-byte block header of both coins, over `bitcoin::block::Header`.
//!
//! Litecoin's header has the same layout and the same block id (sha256d) as Bitcoin's; only the
//! proof-of-work function differs, so one type serves both and the algorithm is an argument.

use std::fmt;
use std::str::FromStr;

use bitcoin::block::Version;
use bitcoin::consensus::{encode, Encodable};

use crate::chain::PowAlgo;
use crate::hash::{BlockHash, MerkleNode, PowHash};
use crate::pow;
use crate::target::{CompactTarget, CompactTargetError, Target};

/// A block header: version, previous block hash, merkle root, time, bits, nonce.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header(bitcoin::block::Header);

/// Bytes or text that are not an 80-byte header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// Not exactly 80 bytes.
    #[error("a block header is exactly 80 bytes, got {0}")]
    WrongLength(usize),
    /// Hex text with a bad character or an odd number of digits.
    #[error("block header hex is not valid hex: {0}")]
    BadHex(String),
}

impl Header {
    /// The serialized size.
    pub const SIZE: usize = 80;

    /// A header from its fields. `version` is the signed 32-bit field as consensus defines it;
    /// miners that think of it as `u32` can pass `v as i32` (same bits).
    pub fn new(
        version: i32,
        prev_block_hash: BlockHash,
        merkle_root: MerkleNode,
        time: u32,
        bits: CompactTarget,
        nonce: u32,
    ) -> Self {
        Header(bitcoin::block::Header {
            version: Version::from_consensus(version),
            prev_blockhash: prev_block_hash.into(),
            merkle_root: merkle_root.into(),
            time,
            bits: bits.into(),
            nonce,
        })
    }

    /// Decodes exactly 80 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, HeaderError> {
        let array: &[u8; 80] = bytes
            .try_into()
            .map_err(|_| HeaderError::WrongLength(bytes.len()))?;
        Ok(Header::from_array(array))
    }

    /// Decodes an 80-byte array.
    pub fn from_array(bytes: &[u8; 80]) -> Self {
        // Every field is fixed-size, so any 80 bytes decode and nothing is left over.
        Header(encode::deserialize(bytes).expect("any 80 bytes are a header"))
    }

    /// The 80 bytes in consensus encoding.
    pub fn to_bytes(&self) -> [u8; 80] {
        let mut out = [0u8; 80];
        let written = self
            .0
            .consensus_encode(&mut &mut out[..])
            .expect("an 80-byte buffer holds a header");
        debug_assert_eq!(written, 80);
        out
    }

    /// The block id: sha256d of the 80 bytes, for both coins.
    pub fn block_hash(&self) -> BlockHash {
        self.0.block_hash().into()
    }

    /// The proof-of-work hash under `algo` (sha256d for Bitcoin, scrypt for Litecoin).
    pub fn pow_hash(&self, algo: PowAlgo) -> PowHash {
        pow::pow_hash(algo, &self.to_bytes())
    }

    /// Whether the proof-of-work hash under `algo` meets `target`.
    pub fn meets(&self, algo: PowAlgo, target: &Target) -> bool {
        target.meets(&self.pow_hash(algo))
    }

    /// The target encoded in the header's bits (negative and overflowing bits are errors).
    pub fn target(&self) -> Result<Target, CompactTargetError> {
        Target::from_compact(self.bits())
    }

    /// The version field.
    pub fn version(&self) -> i32 {
        self.0.version.to_consensus()
    }

    /// The hash of the previous block.
    pub fn prev_block_hash(&self) -> BlockHash {
        self.0.prev_blockhash.into()
    }

    /// The merkle root of the block's transactions.
    pub fn merkle_root(&self) -> MerkleNode {
        self.0.merkle_root.into()
    }

    /// The timestamp, in seconds since the Unix epoch.
    pub fn time(&self) -> u32 {
        self.0.time
    }

    /// The compact target.
    pub fn bits(&self) -> CompactTarget {
        self.0.bits.into()
    }

    /// The nonce.
    pub fn nonce(&self) -> u32 {
        self.0.nonce
    }

    /// The same header with another nonce.
    pub fn with_nonce(mut self, nonce: u32) -> Self {
        self.0.nonce = nonce;
        self
    }

    /// The same header with another time.
    pub fn with_time(mut self, time: u32) -> Self {
        self.0.time = time;
        self
    }

    /// The same header with another version.
    pub fn with_version(mut self, version: i32) -> Self {
        self.0.version = Version::from_consensus(version);
        self
    }

    /// The `bitcoin` crate's header.
    pub fn as_bitcoin(&self) -> &bitcoin::block::Header {
        &self.0
    }
}

impl From<bitcoin::block::Header> for Header {
    fn from(h: bitcoin::block::Header) -> Self {
        Header(h)
    }
}

impl From<Header> for bitcoin::block::Header {
    fn from(h: Header) -> Self {
        h.0
    }
}

/// The 160 hex digits of the 80 bytes, in consensus order (as `getblockheader … false` prints).
impl fmt::Display for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.to_bytes()))
    }
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Header")
            .field("block_hash", &self.block_hash())
            .field("version", &format_args!("{:#010x}", self.version()))
            .field("prev_block_hash", &self.prev_block_hash())
            .field("merkle_root", &self.merkle_root())
            .field("time", &self.time())
            .field("bits", &self.bits())
            .field("nonce", &self.nonce())
            .finish()
    }
}

impl FromStr for Header {
    type Err = HeaderError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = hex::decode(s).map_err(|e| HeaderError::BadHex(e.to_string()))?;
        Header::from_bytes(&bytes)
    }
}

impl serde::Serialize for Header {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(self)
        } else {
            s.serialize_bytes(&self.to_bytes())
        }
    }
}

impl<'de> serde::Deserialize<'de> for Header {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
            text.parse().map_err(serde::de::Error::custom)
        } else {
            let bytes = <Vec<u8>>::deserialize(d)?;
            Header::from_bytes(&bytes).map_err(serde::de::Error::custom)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Bitcoin block 100000's header (its block hash is checked in tests/mainnet_headers.rs).
    const BLOCK_100000: &str = "0100000050120119172a610421a6c3011dd330d9df07b63616c2cc1f1cd00200000000006657a9252aacd5c0b2940996ecff952228c3067cc38d4885efb5a4ac4247e9f337221b4d4c86041b0f2b5710";

    #[test]
    fn wrong_lengths_are_errors() {
        assert_eq!(
            Header::from_bytes(&[0u8; 79]),
            Err(HeaderError::WrongLength(79))
        );
        assert_eq!(
            Header::from_bytes(&[0u8; 81]),
            Err(HeaderError::WrongLength(81))
        );
        assert!(matches!(
            "zz".parse::<Header>(),
            Err(HeaderError::BadHex(_))
        ));
        assert_eq!("00".parse::<Header>(), Err(HeaderError::WrongLength(1)));
    }

    #[test]
    fn fields_and_round_trip() {
        let header: Header = BLOCK_100000.parse().expect("valid header");
        assert_eq!(header.to_string(), BLOCK_100000);
        assert_eq!(header.version(), 1);
        assert_eq!(header.time(), 1_293_623_863);
        assert_eq!(header.bits(), CompactTarget::from_consensus(0x1b04864c));
        assert_eq!(header.nonce(), 274_148_111);
        let rebuilt = Header::new(
            header.version(),
            header.prev_block_hash(),
            header.merkle_root(),
            header.time(),
            header.bits(),
            header.nonce(),
        );
        assert_eq!(rebuilt, header);
        assert_ne!(header.with_nonce(0).to_bytes(), header.to_bytes());
        let json = serde_json::to_string(&header).expect("serializes");
        assert_eq!(
            serde_json::from_str::<Header>(&json).expect("deserializes"),
            header
        );
    }
}
