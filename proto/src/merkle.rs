//! Transaction merkle trees under Bitcoin's rules (both coins): roots, the coinbase branch that
//! Stratum jobs and shares carry, and the BIP 141 witness root and commitment.
//!
//! At every level of the tree an odd last node is paired with itself. Roots come from the
//! `bitcoin` crate; the coinbase branch, which it does not offer, is built here.
//!
//! These functions do not detect the CVE-2012-2459 mutation (a list whose tail repeats gives the
//! same root as the list without the repeat); block validity is the coin daemon's to judge.

use bitcoin::hashes::Hash as _;
use bitcoin::script::{Builder, PushBytesBuf};
use bitcoin::{opcodes, ScriptBuf};

use crate::hash::{MerkleNode, Txid, WitnessCommitment, Wtxid};
use crate::pow::sha256d;

/// The first bytes of a witness commitment output script: OP_RETURN, a 36-byte push, and the
/// BIP 141 header `aa21a9ed`.
pub const WITNESS_COMMITMENT_PREFIX: [u8; 6] = [0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed];

/// The merkle root of a block's txids in block order (coinbase first), or `None` for no
/// transactions.
pub fn merkle_root(txids: &[Txid]) -> Option<MerkleNode> {
    let leaves = txids.iter().map(|t| bitcoin::Txid::from(*t));
    bitcoin::merkle_tree::calculate_root(leaves).map(|root| MerkleNode(root.to_byte_array()))
}

/// The parent of two merkle nodes: sha256d(left || right).
pub fn hash_pair(left: &MerkleNode, right: &MerkleNode) -> MerkleNode {
    let mut both = [0u8; 64];
    both[..32].copy_from_slice(&left.0);
    both[32..].copy_from_slice(&right.0);
    MerkleNode(sha256d(&both))
}

/// The merkle branch of the coinbase (index 0) as Stratum's `mining.notify` sends it: the
/// sibling of the coinbase's path at each level, bottom up. `other_txids` are the txids of every
/// transaction after the coinbase, in block order; the coinbase itself is not needed, which is
/// the point: the branch is fixed while the miner varies the coinbase.
pub fn coinbase_branch(other_txids: &[Txid]) -> Vec<MerkleNode> {
    // `level` holds a tree level without its first node (the one on the coinbase's path).
    let mut level: Vec<MerkleNode> = other_txids.iter().map(|t| MerkleNode::from(*t)).collect();
    let mut branch = Vec::new();
    while let Some(sibling) = level.first() {
        branch.push(*sibling);
        // The path node pairs with level[0]; the rest pair among themselves, the odd one with itself.
        level = level[1..]
            .chunks(2)
            .map(|pair| hash_pair(&pair[0], pair.get(1).unwrap_or(&pair[0])))
            .collect();
    }
    branch
}

/// The merkle root from the coinbase's txid and its branch, as a miner or share validator
/// computes it: hash with each branch node in turn, the running hash on the left.
pub fn root_from_branch(coinbase_txid: &Txid, branch: &[MerkleNode]) -> MerkleNode {
    branch
        .iter()
        .fold(MerkleNode::from(*coinbase_txid), |acc, node| {
            hash_pair(&acc, node)
        })
}

/// The BIP 141 witness merkle root: the coinbase's wtxid counts as zero, followed by the wtxids
/// of every other transaction in block order.
pub fn witness_root(other_wtxids: &[Wtxid]) -> MerkleNode {
    let leaves = std::iter::once(bitcoin::Wtxid::all_zeros())
        .chain(other_wtxids.iter().map(|w| bitcoin::Wtxid::from(*w)));
    let root =
        bitcoin::merkle_tree::calculate_root(leaves).expect("the coinbase leaf is always there");
    MerkleNode(root.to_byte_array())
}

/// The BIP 141 commitment: sha256d(witness root || witness reserved value). The reserved value
/// is the single 32-byte item of the coinbase input's witness (all zero in practice).
pub fn witness_commitment(
    witness_root: &MerkleNode,
    reserved_value: &[u8; 32],
) -> WitnessCommitment {
    let mut both = [0u8; 64];
    both[..32].copy_from_slice(&witness_root.0);
    both[32..].copy_from_slice(reserved_value);
    WitnessCommitment(sha256d(&both))
}

/// The coinbase output script that carries `commitment`:
/// `OP_RETURN <aa21a9ed || commitment>`, 38 bytes.
pub fn witness_commitment_script(commitment: &WitnessCommitment) -> ScriptBuf {
    let mut data = [0u8; 36];
    data[..4].copy_from_slice(&WITNESS_COMMITMENT_PREFIX[2..]);
    data[4..].copy_from_slice(&commitment.0);
    let push = PushBytesBuf::try_from(data.to_vec()).expect("36 bytes is a valid push");
    Builder::new()
        .push_opcode(opcodes::all::OP_RETURN)
        .push_slice(push)
        .into_script()
}

/// The commitment carried by an output script, if it is a witness commitment output (BIP 141:
/// at least 38 bytes starting with [`WITNESS_COMMITMENT_PREFIX`]).
pub fn commitment_in_script(script: &bitcoin::Script) -> Option<WitnessCommitment> {
    let bytes = script.as_bytes();
    if bytes.len() < 38 || bytes[..6] != WITNESS_COMMITMENT_PREFIX {
        return None;
    }
    let mut commitment = [0u8; 32];
    commitment.copy_from_slice(&bytes[6..38]);
    Some(WitnessCommitment(commitment))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txid(n: u8) -> Txid {
        Txid([n; 32])
    }

    #[test]
    fn single_transaction_root_is_its_txid() {
        assert_eq!(merkle_root(&[txid(7)]), Some(MerkleNode([7; 32])));
        assert_eq!(merkle_root(&[]), None);
        assert!(coinbase_branch(&[]).is_empty());
        assert_eq!(root_from_branch(&txid(7), &[]), MerkleNode([7; 32]));
    }

    #[test]
    fn odd_levels_duplicate_the_last_node() {
        let (a, b, c) = (txid(1), txid(2), txid(3));
        let ab = hash_pair(&a.into(), &b.into());
        let cc = hash_pair(&c.into(), &c.into());
        assert_eq!(merkle_root(&[a, b, c]), Some(hash_pair(&ab, &cc)));
        assert_eq!(coinbase_branch(&[b, c]), vec![MerkleNode::from(b), cc]);
    }

    #[test]
    fn commitment_script_round_trips() {
        let commitment = WitnessCommitment([0x5a; 32]);
        let script = witness_commitment_script(&commitment);
        assert_eq!(script.len(), 38);
        assert_eq!(script.as_bytes()[..6], WITNESS_COMMITMENT_PREFIX);
        assert_eq!(commitment_in_script(&script), Some(commitment));
        assert_eq!(commitment_in_script(&ScriptBuf::new()), None);
    }
}
