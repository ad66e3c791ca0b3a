//! Sharechain benchmarks (figures in `docs/benchmarks.md`, "Sharechain"):
//!
//! - `accept/sha256d`, `accept/scrypt`: validate and store (sled, unflushed) one new share on the
//!   tip of a chain holding a full window (2160 shares, 200 miners); `accept/flush` is the group
//!   commit that follows a batch.
//! - `pplns/full_window`: the payouts of a full window with uncles at the tip (incremental
//!   window) and at the tip's parent (window rebuilt by walking).
//! - `store/load`: opening a chain of ten windows (21 600 shares) from sled.
//! - `sync/ids_worst`: the answer to the costliest `Ids` request a peer can send: a locator of
//!   64 copies of a deep side-branch id against a chain of four windows.

use std::path::Path;
use std::time::{Duration, Instant};

use bitcoin::ScriptBuf;
use criterion::{criterion_group, criterion_main, Criterion};
use otedama_proto::amount::Amount;
use otedama_proto::chain::{Coin, Network};
use otedama_proto::hash::{BlockHash, MerkleNode, ShareId, WitnessCommitment};
use otedama_proto::target::CompactTarget;
use otedama_sharechain::chain::ChainConfig;
use otedama_sharechain::testkit::{self, CoinJob};
use otedama_sharechain::{
    AddOutcome, Consensus, ConsensusParams, MemoryStore, Share, ShareChain, ShareStore, SledStore,
    TemplateRequest,
};

const WINDOW: u32 = 2160;
const MINERS: u32 = 200;
const T0: u32 = 1_700_000_000;
const NOW: u64 = 4_000_000_000;
/// A mainnet-like block target, so the window's work cap does not bind.
const BLOCK_BITS: u32 = 0x1d00_ffff;

fn consensus(coin: Coin) -> Consensus {
    let mut p = ConsensusParams::for_network(coin, Network::Mainnet).expect("mainnet exists");
    p.share_pow_limit = CompactTarget::from_consensus(0x207f_ffff);
    Consensus::new(p).expect("valid")
}

fn script(n: u32) -> ScriptBuf {
    let mut b = vec![0x00, 0x14];
    b.extend_from_slice(&[0x22; 16]);
    b.extend_from_slice(&n.to_be_bytes());
    ScriptBuf::from_bytes(b)
}

fn request(n: u32) -> TemplateRequest {
    TemplateRequest {
        payout_script: script(n),
        // At least the subsidy at coin height 800 000 on both coins (6.25 BTC, 50 LTC).
        coinbase_value: Amount::from_sat(5_000_000_000),
        block_bits: CompactTarget::from_consensus(BLOCK_BITS),
        witness_commitment: Some(WitnessCommitment::from_byte_array([7; 32])),
        share_bits: None,
    }
}

fn job(height: u32) -> CoinJob {
    CoinJob {
        coin_height: 800_000 + height / 60,
        prev_block: BlockHash::from_byte_array([1; 32]),
        block_bits: CompactTarget::from_consensus(BLOCK_BITS),
        merkle_branch: (0..12)
            .map(|i| MerkleNode::from_byte_array([i; 32]))
            .collect(),
    }
}

/// A share of miner `n` on `parent` (or the tip), one share period after its parent.
fn next_share<S: ShareStore>(
    chain: &ShareChain<S>,
    parent: Option<&ShareId>,
    n: u32,
    extranonce: u64,
) -> Share {
    let t = match parent {
        Some(p) => chain.template_at(Some(p), &request(n)),
        None => chain.template(&request(n)),
    }
    .expect("template");
    let time = T0 + 10 * t.data.height;
    testkit::mine(
        chain.consensus(),
        &t,
        &job(t.data.height),
        time.max(t.min_time),
        extranonce,
    )
}

fn add<S: ShareStore>(chain: &mut ShareChain<S>, share: Share) {
    match chain.add(share, NOW).expect("store") {
        AddOutcome::Accepted(_) => {}
        other => panic!("bench share not accepted: {other:?}"),
    }
}

/// Grows `chain` by `n` shares; every 10th height gets a competing share that the next share
/// names as an uncle.
fn grow<S: ShareStore>(chain: &mut ShareChain<S>, n: u32) {
    for i in 0..n {
        let h = chain.height().map_or(0, |h| h + 1);
        if h % 10 == 5 {
            let parent = chain.tip();
            let a = next_share(chain, parent.as_ref(), h % MINERS, u64::from(h));
            let b = next_share(
                chain,
                parent.as_ref(),
                (h + 1) % MINERS,
                u64::from(h) + 1_000_000,
            );
            add(chain, a);
            add(chain, b);
        } else {
            let s = next_share(chain, None, (h * 7 + i) % MINERS, u64::from(h));
            add(chain, s);
        }
        if i % 256 == 255 {
            chain.flush().expect("flush");
        }
    }
    chain.flush().expect("flush");
}

fn open_sled(path: &Path, consensus: &Consensus, windows: u32) -> ShareChain<SledStore> {
    let config = ChainConfig {
        max_orphans: 4096,
        keep_heights: windows * WINDOW + 64,
        prune_interval: 64,
    };
    ShareChain::open_with(
        consensus.clone(),
        SledStore::open(path).expect("sled"),
        config,
    )
    .expect("loads")
}

/// Times `add` of a fresh share on the tip. With `cold`, the window ranking the node would have
/// computed for its own template on that tip is forgotten first.
fn accept_on<S: ShareStore>(c: &mut Criterion, mut chain: ShareChain<S>, name: &str, cold: bool) {
    grow(&mut chain, WINDOW + 10);
    let mut extranonce = 1u64 << 40;
    c.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for i in 0..iters {
                extranonce += 1;
                let share = next_share(&chain, None, (i as u32) % MINERS, extranonce);
                if cold {
                    chain.forget_rankings();
                }
                let start = Instant::now();
                let outcome = chain.add(share, NOW).expect("store");
                total += start.elapsed();
                assert!(matches!(outcome, AddOutcome::Accepted(_)), "{outcome:?}");
                if i % 64 == 63 {
                    chain.flush().expect("flush");
                }
            }
            total
        })
    });
}

fn accept(c: &mut Criterion, coin: Coin, name: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let consensus = consensus(coin);
    accept_on(c, open_sled(dir.path(), &consensus, 4), name, false);
}

fn accept_cold(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let consensus = consensus(Coin::Bitcoin);
    accept_on(
        c,
        open_sled(dir.path(), &consensus, 4),
        "accept/sha256d_cold",
        true,
    );
}

fn accept_memory(c: &mut Criterion) {
    let chain = ShareChain::open(consensus(Coin::Bitcoin), MemoryStore::new()).expect("opens");
    accept_on(c, chain, "accept/sha256d_memory_store", false);
}

fn accept_sha256d(c: &mut Criterion) {
    accept(c, Coin::Bitcoin, "accept/sha256d");
}

fn accept_scrypt(c: &mut Criterion) {
    accept(c, Coin::Litecoin, "accept/scrypt");
}

/// The group commit: `flush` after a batch of `n` accepted shares (batch write + fsync).
fn accept_flush(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let consensus = consensus(Coin::Bitcoin);
    let mut chain = open_sled(dir.path(), &consensus, 4);
    grow(&mut chain, 50);
    let mut extranonce = 1u64 << 41;
    for n in [1u32, 8] {
        c.bench_function(&format!("accept/flush_after_{n}_shares"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for i in 0..iters {
                    for j in 0..n {
                        extranonce += 1;
                        let share = next_share(&chain, None, (i as u32 + j) % MINERS, extranonce);
                        add(&mut chain, share);
                    }
                    let start = Instant::now();
                    chain.flush().expect("flush");
                    total += start.elapsed();
                }
                total
            })
        });
    }
}

fn pplns(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let consensus = consensus(Coin::Bitcoin);
    let mut chain = open_sled(dir.path(), &consensus, 4);
    grow(&mut chain, WINDOW + 10);
    let tip = chain.tip().expect("tip");
    let parent = chain
        .get_share(&tip)
        .expect("read")
        .expect("held")
        .data
        .prev_share;
    let r = request(MINERS + 1);
    let mut group = c.benchmark_group("pplns");
    group.bench_function("full_window", |b| {
        b.iter(|| {
            chain.forget_rankings();
            chain.payouts(Some(&tip), r.coinbase_value, r.block_bits, &r.payout_script)
        })
    });
    group.bench_function("full_window_rebuilt", |b| {
        b.iter(|| {
            chain.forget_rankings();
            chain.payouts(
                Some(&parent),
                r.coinbase_value,
                r.block_bits,
                &r.payout_script,
            )
        })
    });
    group.bench_function("full_window_cached", |b| {
        b.iter(|| chain.payouts(Some(&tip), r.coinbase_value, r.block_bits, &r.payout_script))
    });
    group.bench_function("template", |b| {
        b.iter(|| chain.template(&r).expect("template"))
    });
    // Worst case: 2160 distinct payees (every share in the window by a different miner).
    let dir2 = tempfile::tempdir().expect("temp dir");
    let mut wide = open_sled(dir2.path(), &consensus, 4);
    for i in 0..WINDOW + 10 {
        let s = next_share(&wide, None, 10_000 + i, u64::from(i));
        add(&mut wide, s);
    }
    let wide_tip = wide.tip().expect("tip");
    group.bench_function("full_window_2160_payees", |b| {
        b.iter(|| {
            wide.forget_rankings();
            wide.payouts(
                Some(&wide_tip),
                r.coinbase_value,
                r.block_bits,
                &r.payout_script,
            )
        })
    });
    group.finish();
}

fn store_load(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let consensus = consensus(Coin::Bitcoin);
    {
        let mut chain = open_sled(dir.path(), &consensus, 11);
        grow(&mut chain, 10 * WINDOW);
        assert!(chain.len() >= (10 * WINDOW) as usize);
    }
    let mut group = c.benchmark_group("store");
    group.sample_size(10);
    group.bench_function("load_ten_windows", |b| {
        b.iter(|| {
            let chain = open_sled(dir.path(), &consensus, 11);
            assert!(chain.len() >= (10 * WINDOW) as usize);
            chain
        })
    });
    group.finish();
}

/// The worst `Ids` request (`docs/protocol.md` §5.3): 64 copies of the deepest side-branch share
/// held (on no best chain, so the answer falls back to the sync depth below the tip), `max` 2000,
/// against four windows of shares (8640, what a node keeps before it prunes).
fn sync_ids(c: &mut Criterion) {
    let mut chain = ShareChain::open(consensus(Coin::Bitcoin), MemoryStore::new()).expect("opens");
    grow(&mut chain, 4 * WINDOW);
    let side = chain
        .held_ids()
        .into_iter()
        .filter(|id| !chain.is_on_best_chain(id))
        .map(|id| {
            let height = chain
                .get_share(&id)
                .expect("read")
                .expect("held")
                .data
                .height;
            (height, id)
        })
        .min()
        .expect("grow makes side shares")
        .1;
    let locator = vec![side; 64];
    let depth = 2 * WINDOW as usize + 12;
    c.bench_function("sync/ids_worst", |b| {
        b.iter(|| {
            let (ids, more) = chain.ids_after_bounded(criterion::black_box(&locator), 2000, depth);
            assert!(ids.len() == 2000 && more);
            ids
        })
    });
}

/// The floor under `accept/scrypt`: one scrypt hash of a header (proto's single-hash path); and
/// the work of a target (a 256-bit division), which every accepted share costs once.
fn pow_floor(c: &mut Criterion) {
    let t = otedama_proto::target::Target::from_compact(CompactTarget::from_consensus(0x1b0404cb))
        .expect("valid");
    c.bench_function("pow/target_to_work", |b| {
        b.iter(|| criterion::black_box(t).to_work())
    });
    let header = [0x5a; 80];
    c.bench_function("pow/scrypt_single", |b| {
        b.iter(|| {
            otedama_proto::pow::pow_hash(
                otedama_proto::chain::PowAlgo::Scrypt,
                criterion::black_box(&header),
            )
        })
    });
}

criterion_group!(
    benches,
    accept_sha256d,
    accept_cold,
    accept_memory,
    accept_scrypt,
    accept_flush,
    pplns,
    store_load,
    pow_floor,
    sync_ids
);
criterion_main!(benches);
