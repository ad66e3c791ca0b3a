//! Merkle roots and coinbase branches: the branch a Stratum job carries always leads back to the
//! root of the whole txid list, for every list length, and agrees with the bitcoin crate.

use otedama_proto::hash::{MerkleNode, Txid, Wtxid};
use otedama_proto::merkle::{
    coinbase_branch, hash_pair, merkle_root, root_from_branch, witness_root,
};
use proptest::prelude::*;

fn txids(max: usize) -> impl Strategy<Value = Vec<Txid>> {
    prop::collection::vec(any::<[u8; 32]>().prop_map(Txid), 1..max)
}

/// The merkle root by the textbook definition, independently of the code under test.
fn reference_root(leaves: &[[u8; 32]]) -> [u8; 32] {
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        if level.len() % 2 == 1 {
            level.push(*level.last().expect("non-empty"));
        }
        level = level
            .chunks(2)
            .map(|p| hash_pair(&MerkleNode(p[0]), &MerkleNode(p[1])).0)
            .collect();
    }
    level[0]
}

proptest! {
    #[test]
    fn branch_leads_to_the_root(ids in txids(70)) {
        let root = merkle_root(&ids).expect("non-empty");
        let leaves: Vec<[u8; 32]> = ids.iter().map(|t| t.0).collect();
        prop_assert_eq!(root.0, reference_root(&leaves));
        let branch = coinbase_branch(&ids[1..]);
        prop_assert_eq!(root_from_branch(&ids[0], &branch), root);
        // The branch does not depend on the coinbase: any other coinbase gives another root.
        let other = Txid([!ids[0].0[0]; 32]);
        let mut changed = ids.clone();
        changed[0] = other;
        prop_assert_eq!(root_from_branch(&other, &branch), merkle_root(&changed).expect("non-empty"));
    }

    #[test]
    fn witness_root_counts_the_coinbase_as_zero(ids in prop::collection::vec(any::<[u8; 32]>(), 0..20)) {
        let wtxids: Vec<Wtxid> = ids.iter().copied().map(Wtxid).collect();
        let mut leaves = vec![[0u8; 32]];
        leaves.extend(ids.iter().copied());
        prop_assert_eq!(witness_root(&wtxids).0, reference_root(&leaves));
    }
}
