//! Shared helpers of the sharechain tests: easy consensus parameters, payout scripts, a miner
//! that builds real shares (real proof of work against an easy target) on any parent, and a
//! small seeded PRNG for simulations.

#![allow(dead_code)]

use bitcoin::ScriptBuf;
use otedama_proto::amount::Amount;
use otedama_proto::chain::{Coin, Network};
use otedama_proto::hash::{BlockHash, MerkleNode, ShareId};
use otedama_proto::target::CompactTarget;
use otedama_sharechain::testkit::{self, CoinJob};
use otedama_sharechain::{
    AddOutcome, Consensus, ConsensusParams, MemoryStore, Share, ShareChain, ShareStore,
    ShareTemplate, TemplateRequest,
};

/// A clock far enough ahead that no test share is "in the future".
pub const NOW: u64 = 4_000_000_000;

/// The first share time of the tests.
pub const T0: u32 = 1_700_000_000;

/// A regtest block target: every share is a block, as on a real regtest.
pub const BLOCK_BITS: u32 = 0x207f_ffff;

/// Bitcoin regtest parameters with an easy floor (half of all hashes are shares) and a window of
/// `window` shares.
pub fn params(coin: Coin, window: u32) -> ConsensusParams {
    let mut p = ConsensusParams::for_network(coin, Network::Regtest).expect("regtest exists");
    p.share_pow_limit = CompactTarget::from_consensus(0x207f_ffff);
    p.window_shares = window;
    p.pool_name = "otedama-test".into();
    p
}

/// [`params`] validated.
pub fn consensus(coin: Coin, window: u32) -> Consensus {
    Consensus::new(params(coin, window)).expect("test parameters are valid")
}

/// A P2WPKH script for miner `n`.
pub fn script(n: u32) -> ScriptBuf {
    let mut bytes = vec![0x00, 0x14];
    bytes.extend_from_slice(&[0x11; 16]);
    bytes.extend_from_slice(&n.to_be_bytes());
    ScriptBuf::from_bytes(bytes)
}

/// A coin job at coin height `coin_height` with a one-transaction branch.
pub fn job(coin_height: u32) -> CoinJob {
    CoinJob {
        coin_height,
        prev_block: BlockHash::from_byte_array([coin_height as u8; 32]),
        block_bits: CompactTarget::from_consensus(BLOCK_BITS),
        merkle_branch: vec![MerkleNode::from_byte_array([0xab; 32])],
    }
}

/// The template request of miner `n` for a coinbase of 50 coins.
pub fn request(n: u32) -> TemplateRequest {
    TemplateRequest {
        payout_script: script(n),
        coinbase_value: Amount::from_sat(5_000_000_000),
        block_bits: CompactTarget::from_consensus(BLOCK_BITS),
        witness_commitment: Some(otedama_proto::hash::WitnessCommitment::from_byte_array(
            [0x77; 32],
        )),
        share_bits: None,
    }
}

/// The template of miner `n` on `parent` (or the tip).
pub fn template<S: ShareStore>(
    chain: &ShareChain<S>,
    parent: Option<&ShareId>,
    n: u32,
) -> ShareTemplate {
    match parent {
        Some(p) => chain.template_at(Some(p), &request(n)),
        None => chain.template(&request(n)),
    }
    .expect("template")
}

/// Mines `template` at `time`.
pub fn mine_template(
    chain_consensus: &Consensus,
    t: &ShareTemplate,
    time: u32,
    extranonce: u64,
) -> Share {
    testkit::mine(
        chain_consensus,
        t,
        &job(100 + t.data.height),
        time,
        extranonce,
    )
}

/// Mines a share of miner `n` on `parent` (or the tip) at `time`.
pub fn mine<S: ShareStore>(
    chain: &ShareChain<S>,
    parent: Option<&ShareId>,
    n: u32,
    time: u32,
) -> Share {
    let t = template(chain, parent, n);
    mine_template(chain.consensus(), &t, time.max(t.min_time), u64::from(n))
}

/// A fresh in-memory chain.
pub fn memory_chain(consensus: &Consensus) -> ShareChain<MemoryStore> {
    ShareChain::open(consensus.clone(), MemoryStore::new()).expect("an empty store opens")
}

/// Adds and expects acceptance.
pub fn accept<S: ShareStore>(chain: &mut ShareChain<S>, share: Share) -> ShareId {
    let id = share.id();
    match chain.add(share, NOW).expect("store works") {
        AddOutcome::Accepted(a) => assert_eq!(a.id, id),
        other => panic!("share {id} not accepted: {other:?}"),
    }
    id
}

/// Adds and returns the rejection reason (panics if not rejected).
pub fn reject<S: ShareStore>(
    chain: &mut ShareChain<S>,
    share: Share,
) -> otedama_sharechain::RejectReason {
    match chain.add(share, NOW).expect("store works") {
        AddOutcome::Rejected(r) => r,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// A linear chain of `n` shares by miners `0..miners` in turn, one second apart.
pub fn linear(chain: &mut ShareChain<MemoryStore>, n: u32, miners: u32) -> Vec<ShareId> {
    let mut ids = Vec::new();
    for i in 0..n {
        let time = T0 + chain.height().map_or(0, |h| h + 1);
        let share = mine(chain, None, i % miners, time);
        ids.push(accept(chain, share));
    }
    ids
}

/// The payout fingerprint of the chain's tip for miner `n`.
pub fn payout_bytes<S: ShareStore>(chain: &ShareChain<S>, n: u32) -> Vec<u8> {
    let r = request(n);
    let p = chain.payouts(
        chain.tip().as_ref(),
        r.coinbase_value,
        r.block_bits,
        &r.payout_script,
    );
    otedama_sharechain::payout::payout_bytes(&p)
}

/// A small deterministic PRNG (xorshift64*), for simulations.
#[derive(Debug, Clone)]
pub struct SimRng(u64);

impl SimRng {
    pub fn new(seed: u64) -> Self {
        SimRng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }
}
