//! An adversary in the deterministic simulation (issue 10): honest nodes and one byzantine miner
//! that runs a strategy — selfish share mining, harder-than-rule siblings, timestamp games, uncle
//! games, floor-difficulty spam — and a measurement of what the strategy gains over honest
//! mining: `gain = (attacker's credit in the PPLNS payouts of the final chain ÷ all credit) ÷
//! (work of the shares the attacker found ÷ work of all shares found)`; 1.00 is fair. Dividing
//! by the work found, not by the nominal hash rate, takes the luck of finding shares out of the
//! ratio, so a few short runs measure the strategy and not the dice.
//!
//! The model: hash rate is exact (hashes per second per miner); a miner finds a share in a tick
//! with probability `hashes in the tick ÷ work(target)`, so the difficulty rule (ASERT) acts on
//! it as on a real pool. Shares are real (sha256d against easy targets), checked by real
//! `ShareChain`s through the public API only. Honest shares reach the other honest nodes after
//! 20–300 ms; the attacker is well connected: it hears every share and reaches every node in
//! 20 ms, and an honest attacker (`Strategy::Honest`) gets the same links, so the honest
//! baseline carries the same advantage and the gain of a strategy is read against it.
//!
//! The CI tests run short simulations; the full table of `docs/consensus.md` §16.1 comes from
//! the ignored `attack_table` test:
//! `cargo test --release -p otedama-sharechain --test byzantine -- --ignored --nocapture`.

mod common;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};

use common::*;
use otedama_proto::chain::Coin;
use otedama_proto::hash::ShareId;
use otedama_proto::target::{CompactTarget, Target};
use otedama_sharechain::{
    AddOutcome, Consensus, MemoryStore, RejectReason, Share, ShareChain, ShareTemplate,
    TemplateRequest,
};

/// Honest nodes, one honest miner each.
const HONEST: usize = 4;
/// The attacker's node: every share, its withheld ones included. Also the attacker's miner index.
const FULL: usize = HONEST;
/// The attacker's mirror of what is public: honest shares and the attacker's published ones.
const PUBLIC: usize = HONEST + 1;
const TICK_MS: u64 = 20;
/// The pool's hash rate, in hashes per second. At the floor target (2^255, two hashes a share)
/// that is 32 shares a second; ASERT (T = 1 s) settles near 64 hashes a share.
const HASHES_PER_S: f64 = 64.0;
const ATTACKER: u32 = 100;
/// The finder named when the final payouts are computed: nobody, so its bonus is no one's.
const NOBODY: u32 = 999;
/// A window longer than any run: the final payouts credit every share of the best chain.
const WINDOW: u32 = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Strategy {
    /// Mines on its tip and publishes at once: the baseline.
    Honest,
    /// Withholds its shares and releases them to race when the public chain catches up
    /// (Eyal and Sirer's selfish mining, by share height).
    Selfish,
    /// When its tip is an honest share it heard of less than [`FRESH_MS`] ago, mines a sibling
    /// of it (on its parent) one compact step harder than the rule, so that on the claimed-bits
    /// fork choice the sibling outweighs it; otherwise mines one step harder on the tip.
    HarderSibling,
    /// Stamps its shares `max_future − 1` seconds ahead, which makes their children's target
    /// up to twice easier.
    FutureTime,
    /// Stamps its shares at the median time, the lowest allowed, which makes their children's
    /// target up to twice harder.
    LowTime,
    /// Withholds each share until it finds the next, then publishes both, the second naming the
    /// first as an uncle when an honest share took its height meanwhile.
    WithholdThenUncle,
    /// Spends its hash rate on floor-difficulty children of the genesis share.
    FloorSpam,
}

/// What one run measured.
#[derive(Debug, Clone, Copy)]
struct Outcome {
    /// Attacker's credit share in the final payouts ÷ its share of the work found.
    gain: f64,
    /// Shares each honest node holds at the end.
    held: usize,
    /// Attacker shares the honest nodes refused.
    refused: usize,
    height: u32,
    tricks: usize,
    /// Attacker shares on the honest best chain.
    on_best_chain: usize,
    /// Harder siblings on the honest best chain.
    siblings_won: usize,
}

struct Sim {
    strategy: Strategy,
    alpha: f64,
    rng: SimRng,
    consensus: Consensus,
    /// `0..HONEST` honest nodes, then `FULL` and `PUBLIC`.
    nodes: Vec<ShareChain<MemoryStore>>,
    /// (deliver at ms, sequence, node, index into `found`)
    queue: BinaryHeap<Reverse<(u64, u64, usize, usize)>>,
    found: Vec<Share>,
    attacker_ids: HashSet<ShareId>,
    seq: u64,
    now_ms: u64,
    attacker_work: f64,
    total_work: f64,
    floor_work: f64,
    genesis: ShareId,
    /// Attacker shares not yet published, oldest first (indices into `found`).
    withheld: Vec<usize>,
    /// The tip of the selfish miner's private branch.
    private_tip: Option<ShareId>,
    /// The selfish miner published a branch as long as the public one and races.
    racing: bool,
    refused: usize,
    /// When `FULL`'s tip last changed.
    tip_since_ms: u64,
    /// Times the strategy did its trick (released a withheld branch, mined a sibling of an
    /// honest share, named a withheld share as an uncle): proof that a test exercised it.
    tricks: usize,
    /// The harder siblings of honest shares the attacker mined.
    siblings: HashSet<ShareId>,
}

/// How fresh an honest tip must be for the sibling attack to try to replace it: a sibling found
/// later than this mostly arrives after the honest share has children, and then only becomes an
/// uncle.
const FRESH_MS: u64 = 300;

fn work(target: Target) -> f64 {
    target.to_work().to_f64()
}

/// The compact target one step harder than `bits` (mantissa minus one), kept canonical.
fn one_step_harder(bits: CompactTarget) -> CompactTarget {
    let v = bits.to_consensus();
    let (exp, mantissa) = (v >> 24, v & 0x007f_ffff);
    if mantissa > 0x8000 {
        CompactTarget::from_consensus(v - 1)
    } else {
        CompactTarget::from_consensus(((exp - 1) << 24) | 0x007f_ffff)
    }
}

impl Sim {
    fn new(strategy: Strategy, alpha: f64, seed: u64) -> Sim {
        Sim::with_max_future(strategy, alpha, seed, None)
    }

    /// [`Sim::new`] with `max_future` in seconds instead of the network's (12 `T`).
    fn with_max_future(strategy: Strategy, alpha: f64, seed: u64, max_future: Option<u32>) -> Sim {
        let mut p = params(Coin::Bitcoin, WINDOW);
        p.max_future = max_future.unwrap_or(p.max_future);
        let consensus = Consensus::new(p).expect("valid");
        let floor_work = work(consensus.pow_limit());
        let nodes = (0..=PUBLIC).map(|_| memory_chain(&consensus)).collect();
        let mut sim = Sim {
            strategy,
            alpha,
            rng: SimRng::new(seed),
            consensus,
            nodes,
            queue: BinaryHeap::new(),
            found: Vec::new(),
            attacker_ids: HashSet::new(),
            seq: 0,
            now_ms: 0,
            attacker_work: 0.0,
            total_work: 0.0,
            floor_work,
            genesis: ShareId::ZERO,
            withheld: Vec::new(),
            private_tip: None,
            racing: false,
            refused: 0,
            tip_since_ms: 0,
            tricks: 0,
            siblings: HashSet::new(),
        };
        // Honest miner 0 mines the genesis share; every node has it before the clock starts.
        let t = template(&sim.nodes[0], None, 0);
        let share = mine_template(&sim.consensus, &t, T0, 0);
        sim.genesis = share.id();
        for node in 0..=PUBLIC {
            accept(&mut sim.nodes[node], share.clone());
        }
        sim
    }

    fn now_s(&self) -> u32 {
        T0 + (self.now_ms / 1000) as u32
    }

    fn uniform(&mut self) -> f64 {
        (self.rng.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn deliver(&mut self, node: usize, i: usize) {
        let share = self.found[i].clone();
        let id = share.id();
        let by_attacker = self.attacker_ids.contains(&id);
        let height_before = self.nodes[node].height();
        let tip_before = self.nodes[node].tip();
        let now = u64::from(self.now_s());
        let outcome = self.nodes[node].add(share, now).expect("memory store");
        match outcome {
            AddOutcome::Accepted(a) => {
                for (orphan, reason) in &a.orphans_rejected {
                    assert!(
                        self.attacker_ids.contains(orphan),
                        "node {node} refused an honest share: {reason}"
                    );
                    self.refused += usize::from(node < HONEST);
                }
            }
            AddOutcome::WaitingForParent(_) => {}
            AddOutcome::Rejected(RejectReason::Duplicate) => {}
            AddOutcome::Rejected(_) if by_attacker => self.refused += usize::from(node < HONEST),
            AddOutcome::Rejected(r) => panic!("node {node} refused an honest share: {r}"),
        }
        if node == FULL && self.nodes[node].tip() != tip_before {
            self.tip_since_ms = self.now_ms;
        }
        if node == PUBLIC && !by_attacker && self.nodes[node].height() != height_before {
            self.on_public_change();
        }
    }

    /// Sends honest share `i`, found by the miner of `node`.
    fn broadcast_honest(&mut self, node: usize, i: usize) {
        self.deliver(node, i);
        for peer in (0..HONEST).filter(|p| *p != node) {
            let at = self.now_ms + 20 + self.rng.below(281);
            self.schedule(at, peer, i);
        }
        self.schedule(self.now_ms + 20, FULL, i);
        self.schedule(self.now_ms + 20, PUBLIC, i);
    }

    /// Publishes attacker share `i` (already held by `FULL`).
    fn publish(&mut self, i: usize) {
        self.deliver(PUBLIC, i);
        for peer in 0..HONEST {
            self.schedule(self.now_ms + 20, peer, i);
        }
    }

    fn publish_withheld(&mut self, up_to_height: u32) {
        let (now, later): (Vec<usize>, Vec<usize>) = self
            .withheld
            .iter()
            .partition(|i| self.found[**i].data.height <= up_to_height);
        self.withheld = later;
        for i in now {
            self.publish(i);
        }
    }

    fn schedule(&mut self, at: u64, node: usize, i: usize) {
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq, node, i)));
    }

    /// Selfish mining's reaction to the public chain growing (Eyal and Sirer, by height).
    fn on_public_change(&mut self) {
        if self.strategy != Strategy::Selfish || self.private_tip.is_none() {
            return;
        }
        let Some(&last) = self.withheld.last() else {
            // The race was decided by an honest share on one branch or the other.
            self.private_tip = None;
            self.racing = false;
            return;
        };
        let private = self.found[last].data.height;
        let public = self.nodes[PUBLIC].height().expect("genesis");
        if private < public {
            self.withheld.clear();
            self.private_tip = None;
        } else if private == public {
            self.publish_withheld(u32::MAX);
            self.racing = true;
            self.tricks += 1;
        } else if private == public + 1 {
            self.publish_withheld(u32::MAX);
            self.private_tip = None;
            self.tricks += 1;
        } else {
            self.publish_withheld(public);
        }
    }

    fn attacker_request(bits: Option<CompactTarget>) -> TemplateRequest {
        TemplateRequest {
            share_bits: bits,
            ..request(ATTACKER)
        }
    }

    fn template_on(&self, parent: ShareId, bits: Option<CompactTarget>) -> ShareTemplate {
        self.nodes[FULL]
            .template_at(Some(&parent), &Self::attacker_request(bits))
            .expect("template")
    }

    /// The attacker's job: its template and header time.
    fn attacker_job(&self) -> (ShareTemplate, u32) {
        let full = &self.nodes[FULL];
        let tip = full.tip().expect("genesis");
        let now = self.now_s();
        let t = match self.strategy {
            Strategy::Honest | Strategy::FutureTime | Strategy::LowTime => {
                self.template_on(tip, None)
            }
            Strategy::Selfish => self.template_on(self.private_tip.unwrap_or(tip), None),
            Strategy::HarderSibling => {
                let share = full.get_share(&tip).expect("read").expect("held");
                let fresh = self.now_ms < self.tip_since_ms + FRESH_MS;
                let parent = if self.attacker_ids.contains(&tip) || share.is_genesis() || !fresh {
                    tip
                } else {
                    share.data.prev_share
                };
                let rule = self.template_on(parent, None).data.max_bits;
                self.template_on(parent, Some(one_step_harder(rule)))
            }
            Strategy::WithholdThenUncle => {
                let public_tip = self.nodes[PUBLIC].tip().expect("genesis");
                match self.withheld.first() {
                    // Nobody took its height: build on it as an honest miner would.
                    Some(&a) if self.found[a].data.prev_share == public_tip => {
                        self.template_on(self.found[a].id(), None)
                    }
                    _ => self.template_on(public_tip, None),
                }
            }
            Strategy::FloorSpam => self.template_on(self.genesis, None),
        };
        let time = match self.strategy {
            Strategy::FutureTime => now + self.consensus.params().max_future - 1,
            Strategy::LowTime => t.min_time,
            _ => now,
        };
        let time = time.max(t.min_time);
        (t, time)
    }

    fn attacker_found(&mut self, t: ShareTemplate, time: u32) {
        self.seq += 1;
        let share = mine_template(&self.consensus, &t, time, self.seq);
        let id = share.id();
        let (on_tip, t_parent) = (self.nodes[FULL].tip(), share.data.prev_share);
        self.attacker_ids.insert(id);
        self.found.push(share);
        let i = self.found.len() - 1;
        self.deliver(FULL, i);
        match self.strategy {
            Strategy::Selfish => {
                self.withheld.push(i);
                self.private_tip = Some(id);
                if self.racing {
                    // Ahead by one on the branch it raced with: publish and win.
                    self.publish_withheld(u32::MAX);
                    self.racing = false;
                    self.private_tip = None;
                }
            }
            Strategy::WithholdThenUncle => {
                self.tricks += self.found[i]
                    .data
                    .uncles
                    .iter()
                    .filter(|u| self.attacker_ids.contains(u))
                    .count();
                let earlier = std::mem::replace(&mut self.withheld, vec![i]);
                for a in earlier {
                    self.publish(a);
                }
            }
            Strategy::HarderSibling => {
                if on_tip.is_none_or(|tip| tip != t_parent) {
                    self.tricks += 1;
                    self.siblings.insert(id);
                }
                self.publish(i);
            }
            _ => self.publish(i),
        }
    }

    fn step(&mut self) {
        self.now_ms += TICK_MS;
        while self
            .queue
            .peek()
            .is_some_and(|Reverse(e)| e.0 <= self.now_ms)
        {
            let Reverse((_, _, node, i)) = self.queue.pop().expect("peeked");
            self.deliver(node, i);
        }
        for miner in 0..=HONEST {
            let rate = if miner == FULL {
                self.alpha
            } else {
                (1.0 - self.alpha) / HONEST as f64
            } * HASHES_PER_S;
            // Thinning: a candidate at the floor's rate, kept with probability
            // work(floor) / work(target) once the job's target is known.
            let hashes = rate * TICK_MS as f64 / 1000.0;
            if self.uniform() >= hashes / self.floor_work {
                continue;
            }
            let (t, time) = if miner == FULL {
                self.attacker_job()
            } else {
                let t = template(&self.nodes[miner], None, miner as u32);
                let time = self.now_s().max(t.min_time);
                (t, time)
            };
            let w = work(t.share_target);
            if self.uniform() >= self.floor_work / w {
                continue;
            }
            self.total_work += w;
            if miner == FULL {
                self.attacker_work += w;
                self.attacker_found(t, time);
            } else {
                self.seq += 1;
                let share = mine_template(&self.consensus, &t, time, self.seq);
                self.found.push(share);
                self.broadcast_honest(miner, self.found.len() - 1);
            }
        }
    }

    fn run(&mut self, duration_ms: u64) -> Outcome {
        while self.now_ms < duration_ms {
            self.step();
        }
        while let Some(Reverse((at, _, node, i))) = self.queue.pop() {
            self.now_ms = self.now_ms.max(at);
            self.deliver(node, i);
        }
        self.outcome()
    }

    /// Asserts that the honest nodes agree, and measures the attacker's gain on their chain.
    fn outcome(&self) -> Outcome {
        let reference = &self.nodes[0];
        let tip = reference.tip().expect("genesis");
        let payouts = payout_bytes(reference, NOBODY);
        for node in &self.nodes[1..HONEST] {
            assert_eq!(
                node.tip(),
                Some(tip),
                "{:?}: honest tips differ",
                self.strategy
            );
            assert_eq!(payout_bytes(node, NOBODY), payouts, "{:?}", self.strategy);
        }
        let r = request(NOBODY);
        let split = reference.payouts(Some(&tip), r.coinbase_value, r.block_bits, &script(NOBODY));
        let total: f64 = split.iter().map(|p| p.weight.to_f64()).sum();
        let attacker: f64 = split
            .iter()
            .filter(|p| p.script == script(ATTACKER))
            .map(|p| p.weight.to_f64())
            .sum();
        let gain = if self.attacker_work > 0.0 {
            (attacker / total) / (self.attacker_work / self.total_work)
        } else {
            1.0
        };
        Outcome {
            gain,
            held: reference.len(),
            refused: self.refused,
            height: reference.height().expect("genesis"),
            tricks: self.tricks,
            on_best_chain: self
                .best_chain()
                .iter()
                .filter(|id| self.attacker_ids.contains(id))
                .count(),
            siblings_won: self
                .best_chain()
                .iter()
                .filter(|id| self.siblings.contains(id))
                .count(),
        }
    }

    /// The ids on the honest best chain.
    fn best_chain(&self) -> HashSet<ShareId> {
        let chain = &self.nodes[0];
        let mut ids = HashSet::new();
        let mut at = chain.tip();
        while let Some(id) = at {
            let share = chain.get_share(&id).expect("read").expect("held");
            ids.insert(id);
            at = (!share.is_genesis()).then_some(share.data.prev_share);
        }
        ids
    }
}

/// The gains of `seeds` runs and their means.
#[derive(Debug, Clone, Copy)]
struct Measured {
    mean: f64,
    min: f64,
    max: f64,
    /// Mean best-chain height at the end: the pool's share rate.
    height: f64,
    /// Mean shares an honest node holds at the end.
    held: f64,
    /// Mean attacker shares the honest nodes refused (all four counted).
    refused: f64,
    /// Mean harder siblings that ended on the best chain.
    siblings_won: f64,
}

/// Runs `strategy` at `alpha` for seeds `1..=seeds`, `duration_ms` each.
fn measure_with(
    strategy: Strategy,
    alpha: f64,
    seeds: u64,
    duration_ms: u64,
    max_future: Option<u32>,
) -> Measured {
    let runs: Vec<Outcome> = (1..=seeds)
        .map(|seed| Sim::with_max_future(strategy, alpha, seed, max_future).run(duration_ms))
        .collect();
    let n = runs.len() as f64;
    Measured {
        mean: runs.iter().map(|o| o.gain).sum::<f64>() / n,
        min: runs.iter().map(|o| o.gain).fold(f64::INFINITY, f64::min),
        max: runs
            .iter()
            .map(|o| o.gain)
            .fold(f64::NEG_INFINITY, f64::max),
        height: runs.iter().map(|o| f64::from(o.height)).sum::<f64>() / n,
        held: runs.iter().map(|o| o.held as f64).sum::<f64>() / n,
        refused: runs.iter().map(|o| o.refused as f64).sum::<f64>() / n,
        siblings_won: runs.iter().map(|o| o.siblings_won as f64).sum::<f64>() / n,
    }
}

fn measure(strategy: Strategy, alpha: f64, seeds: u64, duration_ms: u64) -> Measured {
    measure_with(strategy, alpha, seeds, duration_ms, None)
}

#[test]
#[ignore = "the full table of docs/consensus.md §16.1; run with --release -- --ignored --nocapture"]
fn attack_table() {
    let strategies = [
        Strategy::Honest,
        Strategy::Selfish,
        Strategy::HarderSibling,
        Strategy::FutureTime,
        Strategy::LowTime,
        Strategy::WithholdThenUncle,
        Strategy::FloorSpam,
    ];
    let row = |label: &str, alpha: f64, m: Measured, honest: Measured| {
        println!(
            "{label} {alpha:.2}: gain {:.3} ({:.3}–{:.3}); height {:.0} ({:.2} of honest), \
             held {:.0} ({:.2} of honest), refused {:.0}, siblings won {:.0}",
            m.mean,
            m.min,
            m.max,
            m.height,
            m.height / honest.height,
            m.held,
            m.held / honest.held,
            m.refused,
            m.siblings_won
        );
    };
    for alpha in [0.10, 0.25, 0.33] {
        let honest = measure(Strategy::Honest, alpha, 8, 600_000);
        for strategy in strategies {
            let m = measure(strategy, alpha, 8, 600_000);
            row(&format!("{strategy:?}"), alpha, m, honest);
        }
        // Regtest's old max_future (120 T), which let the attack slow the pool.
        let honest120 = measure_with(Strategy::Honest, alpha, 8, 600_000, Some(120));
        let m = measure_with(Strategy::FutureTime, alpha, 8, 600_000, Some(120));
        row("FutureTime(max_future 120 T)", alpha, m, honest120);
    }
    // The measurement sees a strategy that wins: selfish mining well above a third.
    let m = measure(Strategy::Selfish, 0.45, 8, 600_000);
    println!(
        "Selfish 0.45: gain {:.3} ({:.3}–{:.3})",
        m.mean, m.min, m.max
    );
}

/// Seeds and simulated time of the CI tests: four runs of 400 s (about 430 shares each) per
/// strategy and hash rate, a few seconds in all in a debug build.
const CI_SEEDS: u64 = 4;
const CI_MS: u64 = 400_000;

/// How much a strategy may beat the honest baseline before a test calls it a win. The honest
/// attacker's own gain is 1.01–1.03 (its 20 ms links lose fewer races than the 20–300 ms honest
/// ones), and the mean over four seeds of any strategy moves by about ±0.01 from seed set to
/// seed set (the per-seed spread in §16.1 is ±0.02); 0.02 is two of those, so an honest
/// strategy passes and a strategy that earns 2 % more than honest mining fails.
const TOLERANCE: f64 = 0.02;

/// Runs `strategy` at 10 % and 25 % of the hash rate and asserts that it earns no more than
/// honest mining (on the same links) plus [`TOLERANCE`]; every run asserts that the honest
/// nodes agree on the tip and on the payout bytes. Returns the outcomes of the seed-1 runs.
fn assert_no_gain(strategy: Strategy) -> Vec<Outcome> {
    let mut last = Vec::new();
    for alpha in [0.10, 0.25] {
        let honest = measure(Strategy::Honest, alpha, CI_SEEDS, CI_MS);
        let m = measure(strategy, alpha, CI_SEEDS, CI_MS);
        assert!(
            m.mean <= honest.mean + TOLERANCE,
            "{strategy:?} at {alpha}: gain {:.3} ({:.3}–{:.3}) against honest {:.3}",
            m.mean,
            m.min,
            m.max,
            honest.mean
        );
        last.push(Sim::new(strategy, alpha, 1).run(CI_MS));
    }
    last
}

#[test]
fn selfish_share_mining_below_a_quarter_gains_nothing() {
    for o in assert_no_gain(Strategy::Selfish) {
        assert!(o.tricks > 0, "the selfish miner never released a branch");
        assert!(
            o.on_best_chain > 0,
            "no released share reached the best chain"
        );
    }
}

#[test]
fn harder_than_rule_siblings_gain_nothing() {
    for o in assert_no_gain(Strategy::HarderSibling) {
        assert!(o.tricks > 0, "no sibling of an honest share was mined");
        assert!(o.siblings_won > 0, "no sibling ever won a race");
    }
}

#[test]
fn future_timestamps_gain_nothing() {
    assert_no_gain(Strategy::FutureTime);
}

/// With a `max_future` of 120 `T` (12 `H`, regtest's old value) an attacker at a quarter of the
/// hash rate stamps enough shares ahead that the median time (§7) moves into the future; honest
/// shares must then be stamped at the median too, their time differences are zero, and ASERT
/// makes every share harder until the clock catches up: the pool found about half its shares
/// (§16.1). `max_future` is now 12 `T` on every network, where the attack does not slow the pool.
#[test]
fn future_timestamps_do_not_slow_the_pool() {
    for alpha in [0.10, 0.25] {
        let honest = measure(Strategy::Honest, alpha, CI_SEEDS, CI_MS);
        let m = measure(Strategy::FutureTime, alpha, CI_SEEDS, CI_MS);
        assert!(
            m.height >= 0.9 * honest.height,
            "at {alpha}: {:.0} shares against {:.0}",
            m.height,
            honest.height
        );
    }
}

#[test]
fn future_timestamps_do_not_slow_a_pool_with_mainnets_max_future() {
    for alpha in [0.10, 0.25] {
        let honest = measure_with(Strategy::Honest, alpha, CI_SEEDS, CI_MS, Some(12));
        let m = measure_with(Strategy::FutureTime, alpha, CI_SEEDS, CI_MS, Some(12));
        assert!(
            m.height >= 0.9 * honest.height,
            "at {alpha}: {:.0} shares against {:.0}",
            m.height,
            honest.height
        );
        assert!(
            m.mean <= honest.mean + TOLERANCE,
            "at {alpha}: gain {:.3}",
            m.mean
        );
    }
}

#[test]
fn median_timestamps_gain_nothing() {
    assert_no_gain(Strategy::LowTime);
}

#[test]
fn withholding_shares_to_name_them_as_uncles_gains_nothing() {
    for o in assert_no_gain(Strategy::WithholdThenUncle) {
        assert!(o.tricks > 0, "no withheld share was named as an uncle");
    }
}

/// Floor-difficulty children of the genesis share cost the spammer two hashes each (a share on
/// the tip costs about 64): they must never move the honest tip or earn anything. What they
/// cost in storage is asserted by `floor_difficulty_spam_does_not_inflate_storage`.
#[test]
fn floor_difficulty_spam_never_reaches_the_best_chain() {
    for alpha in [0.10, 0.33] {
        for seed in 1..=2 {
            let mut sim = Sim::new(Strategy::FloorSpam, alpha, seed);
            let o = sim.run(CI_MS / 2);
            // A spam share may be the first child of the genesis share (it is a fair share
            // then); above height 1 none may be on the best chain.
            let spam_above_1 = sim
                .best_chain()
                .iter()
                .filter(|id| sim.attacker_ids.contains(id))
                .filter_map(|id| sim.nodes[0].get_share(id).expect("read"))
                .filter(|s| s.data.height > 1)
                .count();
            assert_eq!(spam_above_1, 0, "seed {seed}: spam on the best chain");
            assert!(sim.attacker_ids.len() > 100, "seed {seed}: too little spam");
            assert!(o.gain < 0.01, "seed {seed}: spam earned {:.3}", o.gain);
            assert!(
                o.height > 150,
                "seed {seed}: the honest chain stalled at {}",
                o.height
            );
        }
    }
}

/// Floor spam must not fill honest nodes' storage (`docs/consensus.md` §11.6): a spam share
/// far below the best chain's work, asked far less work than the tip, or past a parent's child
/// cap is held back in memory, not stored. Without those limits an honest node held 3.6 times
/// the shares of the honest run at 10 % and 9.9 times at 33 % (§16.1); with them, at most the
/// spam of the chain's first seconds (while the tip is still at the floor) is stored.
#[test]
fn floor_difficulty_spam_does_not_inflate_storage() {
    for alpha in [0.10, 0.33] {
        let honest = measure(Strategy::Honest, alpha, 2, CI_MS);
        let spam = measure(Strategy::FloorSpam, alpha, 2, CI_MS);
        println!(
            "at {alpha}: held {:.0} against {:.0} ({:.2}), refused {:.0}",
            spam.held,
            honest.held,
            spam.held / honest.held,
            spam.refused
        );
        assert!(
            spam.held <= 1.2 * honest.held,
            "at {alpha}: {:.0} shares held against {:.0}",
            spam.held,
            honest.held
        );
        assert!(
            spam.refused > spam.held,
            "at {alpha}: the spam was not sent"
        );
    }
}
