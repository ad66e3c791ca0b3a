//! A deterministic simulation: several nodes, many miners, two sharechains (two pools with
//! different consensus ids) side by side, random delays and a partition from a seed. Forks happen
//! and resolve: at the end every node agrees on each chain's tip and payouts.

mod common;

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use common::*;
use otedama_proto::chain::Coin;
use otedama_sharechain::{
    AddOutcome, ChainEvent, Consensus, MemoryStore, RejectReason, Share, ShareChain,
};

const NODES: usize = 5;
const POOLS: usize = 2;
const MINERS: u32 = 12;

struct Sim {
    rng: SimRng,
    pools: Vec<Consensus>,
    /// chains[node][pool]
    chains: Vec<Vec<ShareChain<MemoryStore>>>,
    /// (deliver at ms, sequence, node, index into `found`)
    queue: BinaryHeap<Reverse<(u64, u64, usize, usize)>>,
    found: Vec<Share>,
    seq: u64,
    reorgs: usize,
    wrong_chain_rejections: usize,
    /// Honest shares held back as too light (§11.6).
    held_back: usize,
}

impl Sim {
    fn new(seed: u64) -> Sim {
        let pools: Vec<Consensus> = (0..POOLS)
            .map(|i| {
                let mut p = params(Coin::Bitcoin, 120);
                p.pool_name = format!("pool-{i}");
                Consensus::new(p).expect("valid")
            })
            .collect();
        let chains = (0..NODES)
            .map(|_| pools.iter().map(memory_chain).collect())
            .collect();
        Sim {
            rng: SimRng::new(seed),
            pools,
            chains,
            queue: BinaryHeap::new(),
            found: Vec::new(),
            seq: 0,
            reorgs: 0,
            wrong_chain_rejections: 0,
            held_back: 0,
        }
    }

    fn partitioned(at_ms: u64, a: usize, b: usize) -> bool {
        (200_000..320_000).contains(&at_ms) && (a < 2) != (b < 2)
    }

    /// Delivers `share` to every pool of `node` (the wrong pool must refuse it by id).
    fn deliver(&mut self, node: usize, share: &Share, now_ms: u64) {
        for pool in 0..POOLS {
            let outcome = self.chains[node][pool]
                .add(share.clone(), now_ms / 1000)
                .expect("memory store");
            match outcome {
                AddOutcome::Accepted(a) => {
                    if matches!(a.event, Some(ChainEvent::Reorg { .. })) {
                        self.reorgs += 1;
                    }
                    assert!(a.orphans_rejected.is_empty(), "{:?}", a.orphans_rejected);
                }
                AddOutcome::WaitingForParent(_) | AddOutcome::Rejected(RejectReason::Duplicate) => {
                }
                AddOutcome::Rejected(RejectReason::WrongConsensusId { .. }) => {
                    self.wrong_chain_rejections += 1
                }
                // The minority's branch after the partition is far below the majority's: held
                // back, not stored (§11.6).
                AddOutcome::Rejected(RejectReason::BranchTooLight) => self.held_back += 1,
                AddOutcome::Rejected(r) => {
                    panic!("node {node} pool {pool} rejected an honest share: {r}")
                }
            }
        }
    }

    fn run(&mut self, duration_ms: u64) {
        let mut now = 0u64;
        while now < duration_ms {
            now += 100;
            while self.queue.peek().is_some_and(|Reverse(e)| e.0 <= now) {
                let Reverse((_, _, node, i)) = self.queue.pop().expect("peeked");
                let share = self.found[i].clone();
                self.deliver(node, &share, T0 as u64 * 1000 + now);
            }
            // About one share every 1.5 s per pool: each miner finds one with probability 1/(15·MINERS/POOLS).
            for miner in 0..MINERS {
                if self.rng.below(u64::from(15 * MINERS) / POOLS as u64) != 0 {
                    continue;
                }
                let node = (miner as usize) % NODES;
                let pool = (miner as usize) % POOLS;
                let chain = &self.chains[node][pool];
                let t = template(chain, None, miner);
                let time = ((T0 as u64 * 1000 + now) / 1000) as u32;
                let share = mine_template(&self.pools[pool], &t, time.max(t.min_time), self.seq);
                self.seq += 1;
                let abs_now = T0 as u64 * 1000 + now;
                self.deliver(node, &share, abs_now);
                self.found.push(share);
                let i = self.found.len() - 1;
                for peer in (0..NODES).filter(|p| *p != node) {
                    let mut at = now + 50 + self.rng.below(2500);
                    if Self::partitioned(now, node, peer) {
                        at = at.max(320_000);
                    }
                    self.seq += 1;
                    self.queue.push(Reverse((at, self.seq, peer, i)));
                }
            }
        }
        while let Some(Reverse((at, _, node, i))) = self.queue.pop() {
            let share = self.found[i].clone();
            self.deliver(node, &share, T0 as u64 * 1000 + at.max(now));
        }
    }
}

#[test]
fn nodes_converge_after_forks_and_a_partition() {
    for seed in [1, 2, 3] {
        let mut sim = Sim::new(seed);
        sim.run(420_000);
        assert!(
            sim.reorgs > 0,
            "seed {seed}: the delays should have caused reorgs"
        );
        assert!(sim.wrong_chain_rejections > 0);
        println!("seed {seed}: {} honest shares held back", sim.held_back);
        for pool in 0..POOLS {
            let reference = &sim.chains[0][pool];
            let tip = reference.tip().expect("shares were found");
            assert!(
                reference.height().expect("tip") > 80,
                "seed {seed}: too few shares"
            );
            let payouts = payout_bytes(reference, 1000);
            let with_uncles = reference
                .window_ids()
                .iter()
                .filter(|id| {
                    !reference
                        .get_share(id)
                        .expect("read")
                        .expect("held")
                        .data
                        .uncles
                        .is_empty()
                })
                .count();
            assert!(
                with_uncles > 0,
                "seed {seed} pool {pool}: forks should produce uncles"
            );
            for node in 1..NODES {
                let chain = &sim.chains[node][pool];
                assert_eq!(
                    chain.tip(),
                    Some(tip),
                    "seed {seed}: node {node} pool {pool} disagrees"
                );
                assert_eq!(payout_bytes(chain, 1000), payouts);
                // Orphans may wait for a held-back share of the minority's branch; nothing is
                // left to fetch.
                assert!(chain.missing().is_empty(), "seed {seed}: node {node} waits");
            }
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_history() {
    let mut a = Sim::new(42);
    let mut b = Sim::new(42);
    a.run(60_000);
    b.run(60_000);
    for pool in 0..POOLS {
        assert_eq!(a.chains[0][pool].tip(), b.chains[0][pool].tip());
    }
}
