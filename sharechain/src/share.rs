//! The share and its parts (`docs/consensus.md` §3): the share data a miner commits to, the
//! varying parts of the coinbase, and the proofs that tie them to the header.
//!
//! These are the decoded, typed forms; `codec` owns the bytes.

use std::fmt;

use bitcoin::ScriptBuf;
use otedama_proto::amount::Amount;
use otedama_proto::hash::{MerkleNode, ShareId, Txid, WitnessCommitment};
use otedama_proto::header::Header;
use otedama_proto::target::CompactTarget;

use crate::params::ConsensusId;

/// The fields a share's coinbase commits to (fields 1–8 of §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareData {
    /// The share format version.
    pub version: u16,
    /// The sharechain the share belongs to.
    pub consensus_id: ConsensusId,
    /// The parent share; all zero for a genesis share.
    pub prev_share: ShareId,
    /// The sharechain height: 0 for genesis, else the parent's plus one.
    pub height: u32,
    /// The difficulty rule's target for this share.
    pub max_bits: CompactTarget,
    /// The share's own target: the rule's or harder.
    pub bits: CompactTarget,
    /// Where the miner of this share is paid.
    pub payout_script: ScriptBuf,
    /// Shares off the chain that this share credits, strictly ascending.
    pub uncles: Vec<ShareId>,
}

/// The parts of the coinbase transaction that are not computed by the payout function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoinbaseParts {
    /// The coinbase input script: BIP34 height, extranonce, tag.
    pub script_sig: ScriptBuf,
    /// The total of the coinbase outputs (subsidy plus the fees the share's node saw).
    pub value: Amount,
    /// The BIP141 witness commitment, when the block commits to witnesses.
    pub witness_commitment: Option<WitnessCommitment>,
}

/// The BLAKE3 commitment to a share's data, carried in the coinbase (§3.2).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ShareCommitment(pub [u8; 32]);

impl fmt::Debug for ShareCommitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ShareCommitment(")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

/// A share: a block header meeting the share target, its share data, and what a validator needs
/// to rebuild and check its coinbase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    /// What the coinbase commits to.
    pub data: ShareData,
    /// The coin block header.
    pub header: Header,
    /// The varying parts of the coinbase.
    pub coinbase: CoinbaseParts,
    /// The share-data commitment (redundant: checked against `data`).
    pub commitment: ShareCommitment,
    /// The coinbase txid (redundant: checked against the merkle root and the rebuilt coinbase).
    pub coinbase_txid: Txid,
    /// The merkle branch from the coinbase (first transaction) to the header's merkle root.
    pub merkle_branch: Vec<MerkleNode>,
}

impl Share {
    /// The share id: the header's block hash.
    pub fn id(&self) -> ShareId {
        ShareId::from_byte_array(self.header.block_hash().to_byte_array())
    }

    /// Whether this is a genesis share (no parent).
    pub fn is_genesis(&self) -> bool {
        self.data.prev_share == ShareId::ZERO
    }

    /// The share's time: the header's timestamp.
    pub fn time(&self) -> u32 {
        self.header.time()
    }
}
