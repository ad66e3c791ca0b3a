//! The miner's side of Stratum, small and plain, for tests, the load generator and the local
//! demo: jobs built from a simple coinbase, a job read back from `mining.notify`, the header a
//! miner hashes, a nonce search, and a line-based client ([`TestClient`]).
//!
//! The miner side works from the notify text, not from the server's [`Job`], so that tests check
//! the wire format (word-swapped prevhash, big-endian fields) end to end.

pub mod client;

use std::ops::Range;
use std::sync::Arc;

use otedama_proto::chain::PowAlgo;
use otedama_proto::hash::{BlockHash, MerkleNode, PowHash, Txid};
use otedama_proto::merkle::{coinbase_branch, root_from_branch};
use otedama_proto::pow::{pow_hash, sha256d};
use otedama_proto::stratum::{u32_from_hex, u32_to_hex, StratumHeader};
use otedama_proto::target::{CompactTarget, Target};
use serde_json::Value;

pub use client::TestClient;

use super::job::JobSpec;
use super::provider::{FixedCoinbase, MinerCoinbase};

/// The header fields of a hand-built job.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SimpleJob {
    /// The previous block.
    pub prev_hash: BlockHash,
    /// The height (pushed in the coinbase, BIP 34 style).
    pub height: u32,
    /// Block version before rolling.
    pub version: u32,
    /// Compact block target.
    pub nbits: CompactTarget,
    /// Header time.
    pub ntime: u32,
    /// Sharechain target.
    pub share_target: Target,
    /// Whether it starts a new block.
    pub clean: bool,
    /// How many made-up transactions follow the coinbase (for a merkle branch).
    pub other_transactions: u8,
}

impl SimpleJob {
    /// A job spec whose every miner gets the same one-output coinbase: height push, then an
    /// 8-byte push holding extranonce1 ‖ extranonce2, then an `OP_TRUE` output of 50 coins.
    pub fn spec(&self) -> JobSpec {
        let mut coinb1 = Vec::new();
        coinb1.extend_from_slice(&1u32.to_le_bytes()); // tx version
        coinb1.push(1); // one input
        coinb1.extend_from_slice(&[0u8; 32]); // null prevout
        coinb1.extend_from_slice(&u32::MAX.to_le_bytes());
        coinb1.push(4 + 1 + 8); // scriptSig length
        coinb1.push(3); // push 3 bytes: the height
        coinb1.extend_from_slice(&self.height.to_le_bytes()[..3]);
        coinb1.push(8); // push 8 bytes: the extranonce space
        let mut coinb2 = Vec::new();
        coinb2.extend_from_slice(&u32::MAX.to_le_bytes()); // sequence
        coinb2.push(1); // one output
        coinb2.extend_from_slice(&5_000_000_000u64.to_le_bytes());
        coinb2.extend_from_slice(&[1, 0x51]); // OP_TRUE
        coinb2.extend_from_slice(&0u32.to_le_bytes()); // lock time
        let others: Vec<Txid> = (1..=self.other_transactions)
            .map(|i| Txid([i; 32]))
            .collect();
        JobSpec {
            prev_hash: self.prev_hash,
            coinbases: Arc::new(FixedCoinbase(Arc::new(MinerCoinbase {
                coinb1,
                coinb2,
                share_target: self.share_target,
            }))),
            merkle_branch: coinbase_branch(&others),
            version: self.version,
            nbits: self.nbits,
            ntime: self.ntime,
            clean: self.clean,
            share_parent: None,
            share_target: self.share_target,
            height: self.height,
            attachment: None,
        }
    }
}

/// A `mining.notify` that does not decode.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("bad mining.notify: {0}")]
pub struct NotifyError(String);

/// A job as a miner sees it, read from `mining.notify`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MinerJob {
    /// The job id to submit with.
    pub job_id: String,
    /// The prevhash field as sent.
    pub prevhash: String,
    /// Coinbase before the extranonces.
    pub coinb1: Vec<u8>,
    /// Coinbase after the extranonces.
    pub coinb2: Vec<u8>,
    /// The merkle branch.
    pub branch: Vec<MerkleNode>,
    /// The job's version.
    pub version: u32,
    /// The nbits field as sent.
    pub nbits: String,
    /// The job's ntime.
    pub ntime: u32,
    /// The clean-jobs flag.
    pub clean: bool,
}

impl MinerJob {
    /// Reads the `params` of a `mining.notify`.
    pub fn from_notify(params: &Value) -> Result<MinerJob, NotifyError> {
        let bad = |what: &str| NotifyError(format!("{what} in {params}"));
        let text = |i: usize| {
            params
                .get(i)
                .and_then(Value::as_str)
                .ok_or_else(|| bad("missing field"))
        };
        let bytes = |i: usize| hex::decode(text(i)?).map_err(|_| bad("bad hex"));
        let branch = params
            .get(4)
            .and_then(Value::as_array)
            .ok_or_else(|| bad("missing branch"))?
            .iter()
            .map(|node| {
                let mut out = [0u8; 32];
                let text = node.as_str().ok_or_else(|| bad("bad branch"))?;
                hex::decode_to_slice(text, &mut out).map_err(|_| bad("bad branch"))?;
                Ok(MerkleNode(out))
            })
            .collect::<Result<Vec<_>, NotifyError>>()?;
        let number = |i: usize, name| u32_from_hex(name, text(i)?).map_err(|e| bad(&e.to_string()));
        Ok(MinerJob {
            job_id: text(0)?.to_owned(),
            prevhash: text(1)?.to_owned(),
            coinb1: bytes(2)?,
            coinb2: bytes(3)?,
            branch,
            version: number(5, "version")?,
            nbits: text(6)?.to_owned(),
            ntime: number(7, "ntime")?,
            clean: params
                .get(8)
                .and_then(Value::as_bool)
                .ok_or_else(|| bad("missing clean"))?,
        })
    }

    /// The coinbase a miner hashes with these extranonces.
    pub fn coinbase(&self, extranonce1: &[u8], extranonce2: &[u8]) -> Vec<u8> {
        [&self.coinb1[..], extranonce1, extranonce2, &self.coinb2[..]].concat()
    }

    /// The 80-byte header for these extranonces, ntime, nonce and (rolled) version.
    pub fn header(
        &self,
        extranonce1: &[u8],
        extranonce2: &[u8],
        ntime: u32,
        nonce: u32,
        version: u32,
    ) -> [u8; 80] {
        let txid = Txid(sha256d(&self.coinbase(extranonce1, extranonce2)));
        let root = root_from_branch(&txid, &self.branch);
        StratumHeader::from_hex_fields(
            &u32_to_hex(version),
            &self.prevhash,
            root,
            &u32_to_hex(ntime),
            &self.nbits,
            &u32_to_hex(nonce),
        )
        .expect("fields read from a notify re-encode")
        .to_bytes()
    }

    /// The first nonce in `nonces` whose header meets `target`, with its hash.
    #[allow(clippy::too_many_arguments)]
    pub fn search(
        &self,
        algo: PowAlgo,
        extranonce1: &[u8],
        extranonce2: &[u8],
        ntime: u32,
        version: u32,
        target: &Target,
        nonces: Range<u32>,
    ) -> Option<(u32, PowHash)> {
        let mut header = self.header(extranonce1, extranonce2, ntime, 0, version);
        nonces.into_iter().find_map(|nonce| {
            header[76..].copy_from_slice(&nonce.to_le_bytes());
            let hash = pow_hash(algo, &header);
            target.meets(&hash).then_some((nonce, hash))
        })
    }
}

/// The target of Stratum difficulty `difficulty` under `algo`; panics on a difficulty with no
/// target (test helper).
pub fn stratum_target(algo: PowAlgo, difficulty: f64) -> Target {
    Target::from_stratum_difficulty(algo, difficulty).expect("a difficulty with a target")
}
