//! Any arrival order of a set of shares (with forks and uncles) gives the same tip and
//! byte-identical payouts (`docs/consensus.md` §9).

mod common;

use common::*;
use otedama_proto::chain::Coin;
use otedama_proto::hash::ShareId;
use otedama_sharechain::{AddOutcome, Consensus, MemoryStore, Share, ShareChain};
use proptest::prelude::*;

/// A set of `n` shares grown from `seed`: mostly on the tip, sometimes on the tip's parent or
/// grandparent (forks), with the uncles templates pick up. Returns the shares in creation order
/// and the oracle chain that saw them in that order.
fn share_set(seed: u64, n: usize, window: u32) -> (Vec<Share>, ShareChain<MemoryStore>) {
    let c = consensus(Coin::Bitcoin, window);
    let mut oracle = memory_chain(&c);
    let mut rng = SimRng::new(seed);
    let mut shares = Vec::new();
    let mut recent: Vec<ShareId> = Vec::new();
    for i in 0..n {
        let parent = match (oracle.tip(), rng.below(10)) {
            (None, _) => None,
            (Some(tip), 0..=5) => Some(tip),
            (Some(tip), _) => {
                let back = recent.len().saturating_sub(1 + rng.below(3) as usize);
                Some(recent.get(back).copied().unwrap_or(tip))
            }
        };
        let miner = rng.below(4) as u32;
        let height = parent
            .and_then(|p| oracle.get_share(&p).ok().flatten())
            .map_or(0, |s| s.data.height + 1);
        let t = template(&oracle, parent.as_ref(), miner);
        let time = (T0 + height + rng.below(2) as u32).max(t.min_time);
        let share = mine_template(oracle.consensus(), &t, time, i as u64);
        let id = accept(&mut oracle, share.clone());
        recent.push(id);
        shares.push(share);
    }
    (shares, oracle)
}

fn replay(consensus: &Consensus, shares: &[Share]) -> ShareChain<MemoryStore> {
    let mut chain = memory_chain(consensus);
    for s in shares {
        match chain.add(s.clone(), NOW).expect("store") {
            AddOutcome::Rejected(r) => panic!("share {} rejected in replay: {r}", s.id()),
            AddOutcome::Accepted(_) | AddOutcome::WaitingForParent(_) => {}
        }
    }
    assert_eq!(
        chain.orphan_count(),
        0,
        "every orphan connects once all shares are in"
    );
    chain
}

#[test]
fn the_generated_sets_have_forks_and_uncles() {
    let (shares, oracle) = share_set(1, 60, 2160);
    let tip_height = oracle.height().expect("tip");
    assert!(
        (tip_height as usize) < shares.len() - 5,
        "forks leave shares off the best chain"
    );
    assert!(
        shares.iter().any(|s| !s.data.uncles.is_empty()),
        "some share names uncles"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_arrival_order_gives_the_same_tip_and_payouts(seed in 0u64..10_000, order in any::<u64>(), small_window in any::<bool>()) {
        let window = if small_window { 8 } else { 2160 };
        let (mut shares, oracle) = share_set(seed, 40, window);
        let want_tip = oracle.tip();
        let want_payouts = payout_bytes(&oracle, 77);
        let want_template = oracle.template(&request(78)).expect("template");
        SimRng::new(order).shuffle(&mut shares);
        let chain = replay(oracle.consensus(), &shares);
        prop_assert_eq!(chain.tip(), want_tip);
        prop_assert_eq!(payout_bytes(&chain, 77), want_payouts);
        let template = chain.template(&request(78)).expect("template");
        prop_assert_eq!(template, want_template);
        prop_assert_eq!(chain.len(), shares.len());
    }
}

#[test]
fn reverse_order_is_one_of_them() {
    let (mut shares, oracle) = share_set(99, 80, 2160);
    shares.reverse();
    let chain = replay(oracle.consensus(), &shares);
    assert_eq!(chain.tip(), oracle.tip());
    assert_eq!(payout_bytes(&chain, 3), payout_bytes(&oracle, 3));
}
