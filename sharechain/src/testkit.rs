//! Mining shares against easy targets: for tests, benchmarks, simulations and the node's test
//! miner. Grinds the header nonce (no randomness) until the share target is met.

use otedama_proto::hash::{BlockHash, MerkleNode};
use otedama_proto::header::Header;
use otedama_proto::target::CompactTarget;

use crate::coinbase;
use crate::params::Consensus;
use crate::share::Share;
use crate::template::ShareTemplate;

/// The coin-side facts of a job: what a coin block template would give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoinJob {
    /// The coin height of the block being mined.
    pub coin_height: u32,
    /// The previous coin block.
    pub prev_block: BlockHash,
    /// The block target.
    pub block_bits: CompactTarget,
    /// The coinbase's merkle branch (the other transactions of the block).
    pub merkle_branch: Vec<MerkleNode>,
}

/// Mines `template` at header time `time` with `extranonce`: returns the first share (nonce from
/// 0 up) that meets the share target. Panics after 2^32 nonces (use an easy target).
pub fn mine(
    consensus: &Consensus,
    template: &ShareTemplate,
    job: &CoinJob,
    time: u32,
    extranonce: u64,
) -> Share {
    let script_sig = coinbase::otedama_script_sig(
        job.coin_height,
        extranonce.to_le_bytes(),
        coinbase::DEFAULT_TAG,
    );
    let probe = template.share(
        Header::new(
            0x2000_0000,
            job.prev_block,
            MerkleNode::ZERO,
            time,
            job.block_bits,
            0,
        ),
        script_sig,
        job.merkle_branch.clone(),
    );
    let root = coinbase::merkle_root(&probe.coinbase_txid, &probe.merkle_branch);
    let mut header = Header::new(0x2000_0000, job.prev_block, root, time, job.block_bits, 0);
    for nonce in 0..=u32::MAX {
        header = header.with_nonce(nonce);
        if header.meets(consensus.pow_algo(), &template.share_target) {
            return Share { header, ..probe };
        }
    }
    panic!("no nonce meets the share target: use an easier target in tests");
}
