//! Mining shares against easy targets: for tests, benchmarks, simulations, fixtures and the
//! node's test miner. Grinds the header nonce (no randomness) until the share target is met.
//!
//! [`mine`] hashes one header at a time on the caller's thread. [`mine_chain`] builds long
//! chains: it hashes many nonces at once (scrypt's multi-lane [`ScryptHasher`]) on every core.
//! Test support is the one place in this crate that starts threads; consensus code never does.

use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;

use bitcoin::ScriptBuf;
use otedama_proto::amount::Amount;
use otedama_proto::chain::PowAlgo;
use otedama_proto::hash::{BlockHash, MerkleNode};
use otedama_proto::header::Header;
use otedama_proto::pow;
use otedama_proto::scrypt::ScryptHasher;
use otedama_proto::target::{CompactTarget, Target};

use crate::chain::{AddOutcome, ShareChain};
use crate::coinbase;
use crate::params::Consensus;
use crate::share::Share;
use crate::store::MemoryStore;
use crate::template::{ShareTemplate, TemplateRequest};

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

/// The coin job every share of [`mine_chain`] is mined on: a regtest block target (`207fffff`,
/// every share is also a block), coin height 200, a fixed fake previous block, no other
/// transactions.
pub fn chain_job() -> CoinJob {
    CoinJob {
        coin_height: 200,
        prev_block: BlockHash::from_byte_array([0x0d; 32]),
        block_bits: CompactTarget::from_consensus(0x207f_ffff),
        merkle_branch: Vec::new(),
    }
}

/// The coinbase value of every share of [`mine_chain`]: 50 coins.
pub const CHAIN_COINBASE_VALUE: Amount = Amount::from_sat(50 * 100_000_000);

/// Mines `template` at header time `time` with `extranonce`: returns the first share (nonce from
/// 0 up) that meets the share target. Panics after 2^32 nonces (use an easy target).
pub fn mine(
    consensus: &Consensus,
    template: &ShareTemplate,
    job: &CoinJob,
    time: u32,
    extranonce: u64,
) -> Share {
    let (probe, mut header) = unmined(template, job, time, extranonce);
    for nonce in 0..=u32::MAX {
        header = header.with_nonce(nonce);
        if header.meets(consensus.pow_algo(), &template.share_target) {
            return Share { header, ..probe };
        }
    }
    panic!("no nonce meets the share target: use an easier target in tests");
}

/// [`mine`] on every core, many hashes at a time: returns the same share as [`mine`] (the lowest
/// nonce that meets the share target), several times faster for scrypt. Panics after 2^32
/// nonces.
pub fn mine_parallel(
    consensus: &Consensus,
    template: &ShareTemplate,
    job: &CoinJob,
    time: u32,
    extranonce: u64,
) -> Share {
    let (probe, header) = unmined(template, job, time, extranonce);
    let bytes = header.to_bytes();
    let prefix: [u8; 76] = bytes[..76].try_into().expect("a header is 80 bytes");
    let nonce = lowest_nonce(consensus.pow_algo(), &prefix, &template.share_target)
        .expect("no nonce meets the share target: use an easier target in tests");
    Share {
        header: header.with_nonce(nonce),
        ..probe
    }
}

/// Mines a linear chain of `count` valid shares of `consensus` and returns them, oldest (the
/// genesis share, height 0) first.
///
/// Each share is built by [`ShareChain::template`] on the tip of an in-memory chain, with the
/// coin job [`chain_job`], a coinbase of [`CHAIN_COINBASE_VALUE`], no witness commitment, the
/// rule's share target, payout script `payout_scripts[i % len]` and extranonce `i` for share `i`,
/// and header time `start_time + i·T` (`T` the share period, so ASERT keeps the target where
/// it starts: the floor). Shares are mined with [`mine_parallel`], so the result depends only on
/// the arguments. Each share is checked to be accepted (at `now` = its own time) before the next
/// is built.
///
/// On Litecoin regtest (floor 2^12 hashes) 2200 shares are about 9 M scrypt hashes: some two
/// minutes on two quiet AVX-512 cores in a release build (5.4 min measured while other builds
/// shared those cores).
///
/// # Panics
/// If `payout_scripts` is empty or holds a non-standard script, or if a share is not accepted.
pub fn mine_chain(
    consensus: &Consensus,
    count: usize,
    start_time: u32,
    payout_scripts: &[ScriptBuf],
) -> Vec<Share> {
    assert!(
        !payout_scripts.is_empty(),
        "mine_chain needs a payout script"
    );
    let mut chain = ShareChain::open(consensus.clone(), MemoryStore::new())
        .expect("a memory store does not fail");
    let job = chain_job();
    let period = consensus.params().share_period;
    let mut time = start_time;
    let mut shares = Vec::with_capacity(count);
    for (i, script) in (0..count).zip(payout_scripts.iter().cycle()) {
        let req = TemplateRequest {
            payout_script: script.clone(),
            coinbase_value: CHAIN_COINBASE_VALUE,
            block_bits: job.block_bits,
            witness_commitment: None,
            share_bits: None,
        };
        let template = chain
            .template(&req)
            .unwrap_or_else(|e| panic!("no template for share {i}: {e}"));
        let share = mine_parallel(consensus, &template, &job, time, i as u64);
        match chain.add(share.clone(), u64::from(time)) {
            Ok(AddOutcome::Accepted(_)) => {}
            other => panic!("mined share {i} was not accepted: {other:?}"),
        }
        shares.push(share);
        time = time
            .checked_add(period)
            .expect("share times stay below 2^32");
    }
    shares
}

/// The share of `template` with `extranonce`, and its header at `time` with nonce 0.
fn unmined(template: &ShareTemplate, job: &CoinJob, time: u32, extranonce: u64) -> (Share, Header) {
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
    let header = Header::new(0x2000_0000, job.prev_block, root, time, job.block_bits, 0);
    (probe, header)
}

/// Nonces a worker takes at a time: a multiple of every scrypt back-end's lane count (1, 3, 6,
/// 12), so no batch runs with idle lanes.
const CHUNK: u64 = 240;

/// The lowest nonce whose header `prefix ‖ nonce` meets `target`, searched on every core.
///
/// Workers take chunks of nonces in increasing order and stop once their next chunk starts past
/// the lowest hit so far; every chunk below it has then been searched in full, so the answer
/// is the same as a search from 0 up on one thread.
fn lowest_nonce(algo: PowAlgo, prefix: &[u8; 76], target: &Target) -> Option<u32> {
    let workers = thread::available_parallelism().map_or(1, |n| n.get());
    let next_chunk = AtomicU64::new(0);
    let best = AtomicU64::new(u64::MAX);
    let end = u64::from(u32::MAX) + 1;
    let work = || {
        let mut scrypt = (algo == PowAlgo::Scrypt).then(ScryptHasher::new);
        let target_le = target.to_le_bytes();
        let mut found = Vec::new();
        loop {
            let start = next_chunk.fetch_add(1, Ordering::Relaxed) * CHUNK;
            if start >= end || start >= best.load(Ordering::Relaxed) {
                return;
            }
            let count = CHUNK.min(end - start);
            let first = u32::try_from(start).expect("below 2^32");
            found.clear();
            match scrypt.as_mut() {
                Some(hasher) => {
                    let n = u32::try_from(count).expect("a chunk is small");
                    hasher.scan(prefix, first, n, &target_le, &mut found);
                }
                None => {
                    let mut header = [0u8; 80];
                    header[..76].copy_from_slice(prefix);
                    for nonce in (0..count).map(|k| first + k as u32) {
                        header[76..].copy_from_slice(&nonce.to_le_bytes());
                        if pow::pow_hash_meets(algo, &header, target) {
                            found.push(nonce);
                        }
                    }
                }
            }
            if let Some(&lowest) = found.iter().min() {
                best.fetch_min(u64::from(lowest), Ordering::Relaxed);
            }
        }
    };
    thread::scope(|s| {
        for _ in 1..workers {
            s.spawn(work);
        }
        work();
    });
    let best = best.into_inner();
    (best < end).then(|| u32::try_from(best).expect("below 2^32"))
}
