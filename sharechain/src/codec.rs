//! The one codec of the sharechain: shares, share data, stored records and the consensus
//! parameters, all through bincode 2 with one fixed configuration (`docs/consensus.md` §3.1).
//!
//! Fixed-width little-endian integers, `u64` sequence lengths, a size limit on every decode
//! (checked before decoding and enforced while decoding, so a length prefix can never make it
//! allocate more), and trailing bytes rejected. Swapping the format later means changing this file
//! only.

use bincode::config::{self, Configuration, Fixint, Limit, LittleEndian};
use bincode::{Decode, Encode};
use bitcoin::ScriptBuf;
use otedama_proto::amount::Amount;
use otedama_proto::hash::{MerkleNode, ShareId, Txid, WitnessCommitment};
use otedama_proto::header::Header;
use otedama_proto::target::{CompactTarget, Work};
use otedama_proto::uint::U256;

use crate::params::{ConsensusId, ConsensusParams, MAX_SHARE_BYTES};
use crate::share::{CoinbaseParts, Share, ShareCommitment, ShareData};

/// The codec configuration. The limit is the largest share; records add a fixed header that is
/// split off before the share is decoded.
const CONFIG: Configuration<LittleEndian, Fixint, Limit<MAX_SHARE_BYTES>> = config::standard()
    .with_little_endian()
    .with_fixed_int_encoding()
    .with_limit::<MAX_SHARE_BYTES>();

/// The version byte that starts every stored record.
pub const RECORD_VERSION: u8 = 1;

/// Bytes that are not a share or a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// More bytes than the limit; nothing was decoded.
    #[error("{len} bytes is over the {limit}-byte limit")]
    TooLong {
        /// The length given.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// bincode could not decode the bytes (truncated, a length over the limit, a bad option tag).
    #[error("undecodable: {0}")]
    Decode(String),
    /// The value decoded but bytes were left over.
    #[error("{0} trailing bytes after the value")]
    TrailingBytes(usize),
    /// A stored record with a version byte this node does not know.
    #[error("stored record version {0} is unknown (this node reads version {RECORD_VERSION})")]
    UnknownRecordVersion(u8),
    /// A stored record shorter than its fixed header.
    #[error("stored record of {0} bytes is shorter than its header")]
    ShortRecord(usize),
}

#[derive(Encode, Decode)]
struct WireShareData {
    version: u16,
    consensus_id: [u8; 32],
    prev_share: [u8; 32],
    height: u32,
    max_bits: u32,
    bits: u32,
    payout_script: Vec<u8>,
    uncles: Vec<[u8; 32]>,
}

#[derive(Encode, Decode)]
struct WireShare {
    data: WireShareData,
    header: [u8; 80],
    script_sig: Vec<u8>,
    coinbase_value: u64,
    witness_commitment: Option<[u8; 32]>,
    commitment: [u8; 32],
    coinbase_txid: [u8; 32],
    merkle_branch: Vec<[u8; 32]>,
}

#[derive(Encode)]
struct WireParams<'a> {
    coin: &'a str,
    network: &'a str,
    pool_name: &'a str,
    share_version: u16,
    share_period: u32,
    half_life: u32,
    max_future: u32,
    median_span: u32,
    share_pow_limit: u32,
    min_target_log2: u32,
    window_shares: u32,
    window_block_multiple: u32,
    max_uncles: u32,
    max_uncle_depth: u32,
    uncle_credit_percent: u32,
    finder_bonus_divisor: u32,
    max_payout_outputs: u32,
    min_payout: u64,
    max_share_bytes: u32,
    max_merkle_branch: u32,
    max_money: u64,
    max_coin_height_lead: u32,
}

fn wire_data(d: &ShareData) -> WireShareData {
    WireShareData {
        version: d.version,
        consensus_id: d.consensus_id.0,
        prev_share: d.prev_share.to_byte_array(),
        height: d.height,
        max_bits: d.max_bits.to_consensus(),
        bits: d.bits.to_consensus(),
        payout_script: d.payout_script.to_bytes(),
        uncles: d.uncles.iter().map(|u| u.to_byte_array()).collect(),
    }
}

fn encode<T: Encode>(value: &T) -> Vec<u8> {
    bincode::encode_to_vec(value, CONFIG).expect("encoding into a Vec cannot fail")
}

/// The encoding of a share's data (fields 1–8), the input of the share-data commitment.
pub fn encode_share_data(data: &ShareData) -> Vec<u8> {
    encode(&wire_data(data))
}

/// The wire encoding of a share.
pub fn encode_share(share: &Share) -> Vec<u8> {
    encode(&WireShare {
        data: wire_data(&share.data),
        header: share.header.to_bytes(),
        script_sig: share.coinbase.script_sig.to_bytes(),
        coinbase_value: share.coinbase.value.to_sat(),
        witness_commitment: share.coinbase.witness_commitment.map(|w| w.to_byte_array()),
        commitment: share.commitment.0,
        coinbase_txid: share.coinbase_txid.to_byte_array(),
        merkle_branch: share
            .merkle_branch
            .iter()
            .map(|m| m.to_byte_array())
            .collect(),
    })
}

/// Decodes a share: at most [`MAX_SHARE_BYTES`], no trailing bytes. Field limits beyond the byte
/// limit (uncle count, branch length, script forms) are validation's, so that each gets its own
/// rejection reason.
pub fn decode_share(bytes: &[u8]) -> Result<Share, CodecError> {
    if bytes.len() > MAX_SHARE_BYTES {
        return Err(CodecError::TooLong {
            len: bytes.len(),
            limit: MAX_SHARE_BYTES,
        });
    }
    let (w, used): (WireShare, usize) =
        bincode::decode_from_slice(bytes, CONFIG).map_err(|e| CodecError::Decode(e.to_string()))?;
    if used != bytes.len() {
        return Err(CodecError::TrailingBytes(bytes.len() - used));
    }
    let d = w.data;
    Ok(Share {
        data: ShareData {
            version: d.version,
            consensus_id: ConsensusId(d.consensus_id),
            prev_share: ShareId::from_byte_array(d.prev_share),
            height: d.height,
            max_bits: CompactTarget::from_consensus(d.max_bits),
            bits: CompactTarget::from_consensus(d.bits),
            payout_script: ScriptBuf::from_bytes(d.payout_script),
            uncles: d.uncles.into_iter().map(ShareId::from_byte_array).collect(),
        },
        header: Header::from_array(&w.header),
        coinbase: CoinbaseParts {
            script_sig: ScriptBuf::from_bytes(w.script_sig),
            value: Amount::from_sat(w.coinbase_value),
            witness_commitment: w.witness_commitment.map(WitnessCommitment::from_byte_array),
        },
        commitment: ShareCommitment(w.commitment),
        coinbase_txid: Txid::from_byte_array(w.coinbase_txid),
        merkle_branch: w
            .merkle_branch
            .into_iter()
            .map(MerkleNode::from_byte_array)
            .collect(),
    })
}

/// The canonical encoding of the consensus parameters, the input of the consensus id (§2.3).
pub fn encode_params(p: &ConsensusParams) -> Vec<u8> {
    encode(&WireParams {
        coin: p.coin.name(),
        network: p.network.name(),
        pool_name: &p.pool_name,
        share_version: p.share_version,
        share_period: p.share_period,
        half_life: p.half_life,
        max_future: p.max_future,
        median_span: p.median_span,
        share_pow_limit: p.share_pow_limit.to_consensus(),
        min_target_log2: p.min_target_log2,
        window_shares: p.window_shares,
        window_block_multiple: p.window_block_multiple,
        max_uncles: p.max_uncles,
        max_uncle_depth: p.max_uncle_depth,
        uncle_credit_percent: p.uncle_credit_percent,
        finder_bonus_divisor: p.finder_bonus_divisor,
        max_payout_outputs: p.max_payout_outputs,
        min_payout: p.min_payout.to_sat(),
        max_share_bytes: p.max_share_bytes,
        max_merkle_branch: p.max_merkle_branch,
        max_money: p.max_money.to_sat(),
        max_coin_height_lead: p.max_coin_height_lead,
    })
}

/// A share as stored, with what the index needs that the share does not say (§12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredShare {
    /// The share.
    pub share: Share,
    /// Whether it was added as a root (its parent deliberately not held).
    pub root: bool,
    /// Its chain work when it was added; used on load for shares whose parent is no longer held.
    pub chain_work: Work,
}

const RECORD_HEADER: usize = 1 + 1 + 32;

/// `[version] [flags] [chain work, 32 bytes LE] [share]`.
pub fn encode_record(record: &StoredShare) -> Vec<u8> {
    let share = encode_share(&record.share);
    let mut out = Vec::with_capacity(RECORD_HEADER + share.len());
    out.push(RECORD_VERSION);
    out.push(u8::from(record.root));
    out.extend_from_slice(&record.chain_work.to_u256().to_le_bytes());
    out.extend_from_slice(&share);
    out
}

/// Decodes a stored share record.
pub fn decode_record(bytes: &[u8]) -> Result<StoredShare, CodecError> {
    if bytes.len() < RECORD_HEADER {
        return Err(CodecError::ShortRecord(bytes.len()));
    }
    if bytes[0] != RECORD_VERSION {
        return Err(CodecError::UnknownRecordVersion(bytes[0]));
    }
    let work: [u8; 32] = bytes[2..34].try_into().expect("the slice is 32 bytes");
    Ok(StoredShare {
        share: decode_share(&bytes[RECORD_HEADER..])?,
        root: bytes[1] & 1 == 1,
        chain_work: Work::from_u256(U256::from_le_bytes(work)),
    })
}

/// `[version] [share id]`: the stored tip.
pub fn encode_tip(tip: &ShareId) -> Vec<u8> {
    let mut out = Vec::with_capacity(33);
    out.push(RECORD_VERSION);
    out.extend_from_slice(tip.as_byte_array());
    out
}

/// Decodes a stored tip.
pub fn decode_tip(bytes: &[u8]) -> Result<ShareId, CodecError> {
    match bytes {
        [RECORD_VERSION, rest @ ..] if rest.len() == 32 => {
            Ok(ShareId::from_byte_array(rest.try_into().expect("32 bytes")))
        }
        [RECORD_VERSION, ..] => Err(CodecError::ShortRecord(bytes.len())),
        [v, ..] => Err(CodecError::UnknownRecordVersion(*v)),
        [] => Err(CodecError::ShortRecord(0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_length_prefix_is_refused_without_allocating() {
        // version, id, prev, height, bits x2, then a payout script claiming 2^60 bytes.
        let mut bytes = vec![1, 0];
        bytes.extend_from_slice(&[0; 32 + 32 + 4 + 4 + 4]);
        bytes.extend_from_slice(&(1u64 << 60).to_le_bytes());
        assert!(matches!(decode_share(&bytes), Err(CodecError::Decode(_))));
    }

    #[test]
    fn over_the_limit_is_refused_before_decoding() {
        let err = decode_share(&vec![0; MAX_SHARE_BYTES + 1]).unwrap_err();
        assert_eq!(
            err,
            CodecError::TooLong {
                len: MAX_SHARE_BYTES + 1,
                limit: MAX_SHARE_BYTES
            }
        );
    }

    #[test]
    fn tip_records_are_versioned() {
        let id = ShareId::from_byte_array([7; 32]);
        assert_eq!(decode_tip(&encode_tip(&id)), Ok(id));
        assert_eq!(
            decode_tip(&[2; 33]),
            Err(CodecError::UnknownRecordVersion(2))
        );
        assert_eq!(decode_tip(&[1; 5]), Err(CodecError::ShortRecord(5)));
    }
}
