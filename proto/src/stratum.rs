//! Stratum V1 byte-order helpers: the fields of `mining.notify` and `mining.submit` and how they
//! become the 80-byte header.
//!
//! Stratum inherited its byte order from getwork, which handed miners the header as 32-bit
//! big-endian words. So:
//! - `prevhash` is the previous block hash with the order of its eight 4-byte words reversed
//!   relative to the RPC (explorer) hex; equivalently, the header's internal bytes with each
//!   4-byte word byte-swapped;
//! - `version`, `nbits`, `ntime` and the submitted `nonce` are the big-endian hex of the `u32`,
//!   which the header stores little-endian;
//! - the merkle root is never sent: the miner computes it (internal byte order) from the coinbase
//!   and the branch, see [`crate::merkle`].

use crate::hash::{BlockHash, MerkleNode};
use crate::header::Header;
use crate::target::CompactTarget;

/// The version bits BIP 320 leaves to miners, the usual mask for version rolling (BIP 310).
pub const BIP320_VERSION_MASK: u32 = 0x1fff_e000;

/// A Stratum field that does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StratumError {
    /// Not the right number of hex digits.
    #[error("stratum field `{field}` = `{value}` should be {expected} hex digits")]
    WrongLength {
        /// The field's name.
        field: &'static str,
        /// The text given.
        value: String,
        /// How many hex digits it should have.
        expected: usize,
    },
    /// A character that is not a hex digit.
    #[error("stratum field `{field}` = `{value}` is not hex")]
    BadHex {
        /// The field's name.
        field: &'static str,
        /// The text given.
        value: String,
    },
    /// Submitted version bits outside the negotiated mask.
    #[error("version bits {bits:08x} change bits outside the negotiated mask {mask:08x}")]
    VersionBitsOutsideMask {
        /// The bits the miner submitted.
        bits: u32,
        /// The mask agreed in `mining.configure`.
        mask: u32,
    },
}

/// Decodes exactly `N` bytes of hex for `field`.
fn decode_hex<const N: usize>(field: &'static str, value: &str) -> Result<[u8; N], StratumError> {
    if !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(StratumError::BadHex {
            field,
            value: value.to_owned(),
        });
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(value, &mut out).map_err(|_| StratumError::WrongLength {
        field,
        value: value.to_owned(),
        expected: 2 * N,
    })?;
    Ok(out)
}

/// Swaps the bytes within each 4-byte word (its own inverse).
fn swap_words(bytes: [u8; 32]) -> [u8; 32] {
    let mut out = bytes;
    for word in out.chunks_exact_mut(4) {
        word.reverse();
    }
    out
}

/// The `prevhash` field of `mining.notify` for a previous block hash.
pub fn prevhash_to_stratum(hash: &BlockHash) -> String {
    hex::encode(swap_words(hash.0))
}

/// The previous block hash from a `mining.notify` `prevhash` field (64 hex digits).
pub fn prevhash_from_stratum(text: &str) -> Result<BlockHash, StratumError> {
    decode_hex::<32>("prevhash", text).map(|bytes| BlockHash(swap_words(bytes)))
}

/// The big-endian hex of a `u32` field (`version`, `nbits`, `ntime`, `nonce`): `"1d00ffff"`.
pub fn u32_to_hex(value: u32) -> String {
    format!("{value:08x}")
}

/// A `u32` field from its eight big-endian hex digits.
pub fn u32_from_hex(field: &'static str, text: &str) -> Result<u32, StratumError> {
    decode_hex::<4>(field, text).map(u32::from_be_bytes)
}

/// The version a share was mined with under version rolling (BIP 310): the job's version with
/// the bits in `mask` replaced by the miner's.
pub fn roll_version(job_version: u32, mask: u32, miner_bits: u32) -> u32 {
    (job_version & !mask) | (miner_bits & mask)
}

/// Checks that submitted version bits stay inside the negotiated mask.
pub fn check_version_bits(miner_bits: u32, mask: u32) -> Result<(), StratumError> {
    if miner_bits & !mask == 0 {
        Ok(())
    } else {
        Err(StratumError::VersionBitsOutsideMask {
            bits: miner_bits,
            mask,
        })
    }
}

/// The header fields as a Stratum job and submission carry them, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StratumHeader {
    /// The block version, after version rolling.
    pub version: u32,
    /// The previous block hash.
    pub prev_hash: BlockHash,
    /// The merkle root the miner computed from the coinbase and the branch (internal order).
    pub merkle_root: MerkleNode,
    /// The header time.
    pub ntime: u32,
    /// The compact block target.
    pub nbits: CompactTarget,
    /// The nonce.
    pub nonce: u32,
}

impl StratumHeader {
    /// Decodes the hex fields of `mining.notify` (`version`, `prevhash`, `nbits`) and
    /// `mining.submit` (`ntime`, `nonce`), with the merkle root the miner computed.
    pub fn from_hex_fields(
        version: &str,
        prevhash: &str,
        merkle_root: MerkleNode,
        ntime: &str,
        nbits: &str,
        nonce: &str,
    ) -> Result<Self, StratumError> {
        Ok(StratumHeader {
            version: u32_from_hex("version", version)?,
            prev_hash: prevhash_from_stratum(prevhash)?,
            merkle_root,
            ntime: u32_from_hex("ntime", ntime)?,
            nbits: CompactTarget::from_consensus(u32_from_hex("nbits", nbits)?),
            nonce: u32_from_hex("nonce", nonce)?,
        })
    }

    /// The header.
    pub fn to_header(&self) -> Header {
        // The version's bits are kept as they are; consensus reads the field as signed.
        Header::new(
            self.version as i32,
            self.prev_hash,
            self.merkle_root,
            self.ntime,
            self.nbits,
            self.nonce,
        )
    }

    /// The 80 header bytes, ready to hash.
    pub fn to_bytes(&self) -> [u8; 80] {
        self.to_header().to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u32_fields_are_big_endian_hex() {
        assert_eq!(u32_to_hex(0x1d00ffff), "1d00ffff");
        assert_eq!(u32_to_hex(2), "00000002");
        assert_eq!(u32_from_hex("nbits", "1a02b098"), Ok(0x1a02b098));
        assert_eq!(
            u32_from_hex("ntime", "5e148a8"),
            Err(StratumError::WrongLength {
                field: "ntime",
                value: "5e148a8".into(),
                expected: 8
            })
        );
        assert_eq!(
            u32_from_hex("nonce", "5e148a8z"),
            Err(StratumError::BadHex {
                field: "nonce",
                value: "5e148a8z".into()
            })
        );
    }

    #[test]
    fn version_rolling_replaces_only_masked_bits() {
        assert_eq!(
            roll_version(0x2000_0000, BIP320_VERSION_MASK, 0x1fff_e000),
            0x3fff_e000
        );
        assert_eq!(
            roll_version(0x2000_0004, BIP320_VERSION_MASK, 0x0000_2000),
            0x2000_2004
        );
        assert_eq!(
            roll_version(0x2000_0000, BIP320_VERSION_MASK, 0xffff_ffff),
            0x3fff_e000
        );
        assert_eq!(roll_version(0x2000_0000, 0, 0xffff_ffff), 0x2000_0000);
        assert!(check_version_bits(0x0000_6000, BIP320_VERSION_MASK).is_ok());
        assert_eq!(
            check_version_bits(0x4000_0000, BIP320_VERSION_MASK),
            Err(StratumError::VersionBitsOutsideMask {
                bits: 0x4000_0000,
                mask: BIP320_VERSION_MASK
            })
        );
    }
}
