//! Storage limits against cheap shares (`docs/consensus.md` §11.6): a valid share whose branch
//! is far below the best chain's work, or whose parent already has the most children a node
//! stores, is held back in memory instead of stored, and taken as soon as a heavier branch
//! needs it, whatever the order the shares arrive in.

mod common;

use common::*;
use otedama_proto::chain::Coin;
use otedama_proto::hash::ShareId;
use otedama_proto::target::Target;
use otedama_sharechain::{
    AddOutcome, MemoryStore, RejectReason, Share, ShareChain, CHEAP_FACTOR, LIGHT_MARGIN_SHARES,
    MAX_CHILDREN,
};

/// Grows `chain` by `n` shares on its tip, by miners `first_miner..first_miner + 3` in turn, one
/// second apart (the rule stays at the floor), and returns them oldest first.
fn grow(chain: &mut ShareChain<MemoryStore>, n: u32, first_miner: u32) -> Vec<Share> {
    let mut shares = Vec::new();
    for i in 0..n {
        let time = T0 + chain.height().map_or(0, |h| h + 1);
        let share = mine(chain, None, first_miner + i % 3, time);
        accept(chain, share.clone());
        shares.push(share);
    }
    shares
}

/// A chain of `main` shares on a genesis share, and a side branch of `side` shares on that
/// genesis share by other miners (built on a copy of the genesis share alone).
fn two_branches(main: u32, side: u32) -> (ShareChain<MemoryStore>, Share, Vec<Share>) {
    let c = consensus(Coin::Bitcoin, 2160);
    let mut chain = memory_chain(&c);
    let genesis = grow(&mut chain, 1, 0).remove(0);
    grow(&mut chain, main, 0);
    let mut other = memory_chain(&c);
    accept(&mut other, genesis.clone());
    let branch = grow(&mut other, side, 10);
    (chain, genesis, branch)
}

#[test]
fn a_share_far_below_the_best_chain_is_held_back_not_stored() {
    // The tip is 40 floor shares above the genesis share; a second child of the genesis share
    // is 39 shares' work behind, more than the margin.
    const { assert!(LIGHT_MARGIN_SHARES < 39) };
    let (mut chain, _, branch) = two_branches(40, 1);
    let (tip, len) = (chain.tip(), chain.len());
    let reason = reject(&mut chain, branch[0].clone());
    assert_eq!(reason, RejectReason::BranchTooLight);
    assert!(
        !reason.is_fault(),
        "a correct peer relays such shares in a race"
    );
    assert_eq!(chain.len(), len, "nothing stored");
    assert_eq!(chain.tip(), tip);
    assert_eq!(chain.held_back_count(), 1);
    assert!(chain.knows(&branch[0].id()), "not fetched again");
    assert_eq!(
        reject(&mut chain, branch[0].clone()),
        RejectReason::Duplicate
    );
}

#[test]
fn a_race_within_the_margin_is_stored() {
    // Honest forks: a side branch a few shares behind the tip is stored as before.
    let (mut chain, _, branch) = two_branches(12, 3);
    for share in branch {
        accept(&mut chain, share);
    }
    assert_eq!(chain.len(), 1 + 12 + 3);
    assert_eq!(chain.held_back_count(), 0);
}

#[test]
fn a_light_branch_is_taken_once_it_outweighs_the_tip_in_any_order() {
    // The side branch starts far below the tip but ends heavier: a node syncing it oldest
    // first holds its first shares back and takes them all once enough of it has arrived; in
    // any other order the result is the same.
    let (chain, genesis, branch) = two_branches(40, 45);
    let main: Vec<Share> = {
        let mut ids = Vec::new();
        let mut at = chain.tip();
        while let Some(id) = at.filter(|id| *id != genesis.id()) {
            let share = chain.get_share(&id).expect("store").expect("held");
            at = Some(share.data.prev_share);
            ids.push(share);
        }
        ids.reverse();
        ids
    };
    let want_tip = branch.last().map(Share::id);
    let c = chain.consensus().clone();
    let orders = [0u64, 1, 7];
    let mut payouts = Vec::new();
    let mut held = Vec::new();
    for order in orders {
        let mut again = memory_chain(&c);
        accept(&mut again, genesis.clone());
        for share in &main {
            accept(&mut again, share.clone());
        }
        let mut side = branch.clone();
        // Oldest first, newest first, and shuffled.
        match order {
            0 => {}
            1 => side.reverse(),
            seed => SimRng::new(seed).shuffle(&mut side),
        }
        let mut held_back = 0;
        for share in side {
            match again.add(share, NOW).expect("store") {
                AddOutcome::Rejected(RejectReason::BranchTooLight) => held_back += 1,
                AddOutcome::Rejected(r) => panic!("rejected: {r}"),
                AddOutcome::Accepted(_) | AddOutcome::WaitingForParent(_) => {}
            }
        }
        assert_eq!(again.tip(), want_tip);
        assert_eq!(again.len(), 1 + 40 + 45, "every share stored in the end");
        assert_eq!(again.held_back_count(), 0);
        assert_eq!(again.orphan_count(), 0);
        payouts.push(payout_bytes(&again, 5));
        held.push(held_back);
    }
    assert!(payouts.windows(2).all(|w| w[0] == w[1]));
    // Oldest first, the branch's first shares were held back: the rule was exercised.
    assert!(held[0] > 0, "{held:?}");
}

#[test]
fn children_past_the_cap_are_held_back_unless_they_would_take_the_tip() {
    let c = consensus(Coin::Bitcoin, 2160);
    let mut chain = memory_chain(&c);
    let ids: Vec<ShareId> = grow(&mut chain, 3, 0).iter().map(Share::id).collect();
    let genesis = ids[0];
    // `ids[1]` is the genesis share's first child; its siblings are one share behind the tip.
    let mut stored = 1;
    let mut crowded = Vec::new();
    for n in 100..100 + MAX_CHILDREN as u32 + 3 {
        let share = mine(&chain, Some(&genesis), n, T0 + 1);
        match chain.add(share.clone(), NOW).expect("store") {
            AddOutcome::Accepted(_) => stored += 1,
            AddOutcome::Rejected(RejectReason::TooManyChildren) => crowded.push(share),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(stored, MAX_CHILDREN);
    assert_eq!(crowded.len(), 4);
    assert!(!RejectReason::TooManyChildren.is_fault());
    // A crowded child whose descendants outweigh the tip is taken with them.
    let best = crowded.pop().expect("crowded");
    let mut on_best = memory_chain(&c);
    accept(
        &mut on_best,
        chain.get_share(&genesis).expect("store").expect("held"),
    );
    accept(&mut on_best, best.clone());
    let descendants = grow(&mut on_best, 3, 20);
    for share in &descendants {
        assert!(matches!(
            chain.add(share.clone(), NOW).expect("store"),
            AddOutcome::Accepted(_) | AddOutcome::WaitingForParent(_)
        ));
    }
    assert_eq!(chain.tip(), descendants.last().map(Share::id));
    assert!(chain.contains(&best.id()));
}

#[test]
fn a_share_the_rule_asked_far_less_work_of_than_the_tip_is_held_back() {
    // Forty shares stamped at one time: ASERT makes each 2^(1/10) harder, so the tip's rule
    // asks 16 times the floor's work. A second child of the genesis share is within the margin
    // of the best chain's work, but its rule asked an eighth of the tip's work or less: a share
    // that cheap is stored only if its branch would take the tip.
    let c = consensus(Coin::Bitcoin, 2160);
    let mut chain = memory_chain(&c);
    let genesis = mine(&chain, None, 0, T0);
    accept(&mut chain, genesis.clone());
    for i in 0..40 {
        let share = mine(&chain, None, i % 3, T0);
        accept(&mut chain, share);
    }
    let tip = chain
        .get_share(&chain.tip().expect("tip"))
        .expect("store")
        .expect("held");
    let tip_rule = Target::from_compact(tip.data.max_bits)
        .expect("valid")
        .to_work()
        .to_u256();
    let margin = tip_rule
        .checked_mul_u64(LIGHT_MARGIN_SHARES)
        .expect("small");
    let best = chain.chain_work().expect("tip").to_u256();
    assert!(best < margin, "within the margin: only cheapness refuses");
    let floor = c.pow_limit().to_work().to_u256();
    assert!(floor.checked_mul_u64(CHEAP_FACTOR).expect("small") < tip_rule);
    let cheap = mine(&chain, Some(&genesis.id()), 50, T0 + 1);
    assert_eq!(reject(&mut chain, cheap), RejectReason::BranchTooLight);
    // A child of the tip is stored as ever.
    let next = mine(&chain, None, 51, T0 + 1);
    accept(&mut chain, next);
}
