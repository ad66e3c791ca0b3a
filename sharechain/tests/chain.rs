//! The chain's ordinary life: genesis, extension, events, uncles, reorgs, orphans, the window
//! and templates agreeing with validation.

mod common;

use common::*;
use otedama_proto::chain::Coin;
use otedama_sharechain::{AddOutcome, ChainEvent};

#[test]
fn genesis_then_a_linear_chain() {
    let c = consensus(Coin::Bitcoin, 2160);
    let mut chain = memory_chain(&c);
    assert_eq!(chain.tip(), None);
    let ids = linear(&mut chain, 20, 3);
    assert_eq!(chain.tip(), Some(ids[19]));
    assert_eq!(chain.height(), Some(19));
    assert_eq!(chain.window_ids().len(), 20);
    // Three miners, one share each in turn: payouts to the three plus the finder.
    let r = request(0);
    let payouts = chain.payouts(
        chain.tip().as_ref(),
        r.coinbase_value,
        r.block_bits,
        &r.payout_script,
    );
    assert_eq!(payouts.len(), 3);
    assert_eq!(
        payouts.iter().map(|p| p.amount.to_sat()).sum::<u64>(),
        5_000_000_000
    );
}

#[test]
fn a_late_genesis_is_refused_by_policy() {
    let c = consensus(Coin::Bitcoin, 10);
    let mut chain = memory_chain(&c);
    linear(&mut chain, 2, 1);
    let other = memory_chain(&c);
    let early = mine(&other, None, 8, T0 + 1);
    accept(&mut chain, early);
    linear(&mut chain, 9, 1);
    let other = memory_chain(&c);
    let genesis = mine(&other, None, 7, T0 + 5);
    assert_eq!(
        reject(&mut chain, genesis),
        otedama_sharechain::RejectReason::GenesisNotAllowed
    );
}

#[test]
fn extension_emits_new_tip() {
    let c = consensus(Coin::Bitcoin, 2160);
    let mut chain = memory_chain(&c);
    let ids = linear(&mut chain, 3, 1);
    let s = mine(&chain, None, 1, T0 + 3);
    let id = s.id();
    let AddOutcome::Accepted(a) = chain.add(s, NOW).expect("store") else {
        panic!("not accepted")
    };
    assert_eq!(
        a.event,
        Some(ChainEvent::NewTip {
            tip: id,
            height: 3,
            added: vec![id]
        })
    );
    assert_ne!(ids[2], id);
}

#[test]
fn the_heavier_fork_wins_and_the_loser_becomes_an_uncle() {
    let c = consensus(Coin::Bitcoin, 2160);
    let mut chain = memory_chain(&c);
    let ids = linear(&mut chain, 5, 2);
    let base = ids[4];
    // Two siblings on the same parent with the same target: the lower id wins the tie.
    let a = mine(&chain, Some(&base), 10, T0 + 5);
    let b = mine(&chain, Some(&base), 11, T0 + 5);
    let (a_id, b_id) = (a.id(), b.id());
    accept(&mut chain, a);
    accept(&mut chain, b);
    let lower = if otedama_proto::uint::U256::from_le_bytes(a_id.0)
        < otedama_proto::uint::U256::from_le_bytes(b_id.0)
    {
        a_id
    } else {
        b_id
    };
    let loser = if lower == a_id { b_id } else { a_id };
    assert_eq!(chain.tip(), Some(lower));
    // The next share names the loser as an uncle and is accepted.
    let t = template(&chain, None, 12);
    assert_eq!(t.data.uncles, vec![loser]);
    let next = mine_template(chain.consensus(), &t, T0 + 6, 12);
    accept(&mut chain, next);
    // Extending the loser instead: a reorg once that branch is heavier (two shares on it), or
    // already at one share if it wins the tie with `next` (the lower proof-of-work hash, §9).
    let l1 = mine(&chain, Some(&loser), 13, T0 + 6);
    let l1_id = l1.id();
    let AddOutcome::Accepted(acc1) = chain.add(l1, NOW).expect("store") else {
        panic!("not accepted")
    };
    let l2 = mine(&chain, Some(&l1_id), 13, T0 + 7);
    let l2_id = l2.id();
    let AddOutcome::Accepted(acc2) = chain.add(l2, NOW).expect("store") else {
        panic!("not accepted")
    };
    let (event, want_tip, want_added) = match acc1.event {
        Some(ChainEvent::Reorg { .. }) => (acc1.event, l1_id, vec![loser, l1_id]),
        _ => (acc2.event, l2_id, vec![loser, l1_id, l2_id]),
    };
    match event {
        Some(ChainEvent::Reorg {
            new_tip,
            removed,
            added,
            ..
        }) => {
            assert_eq!(new_tip, want_tip);
            assert_eq!(added, want_added);
            assert_eq!(removed.len(), 2);
            assert_eq!(removed[1], lower);
        }
        other => panic!("expected a reorg, got {other:?}"),
    }
    assert_eq!(chain.tip(), Some(l2_id));
}

#[test]
fn orphans_wait_for_their_parent_then_connect() {
    let c = consensus(Coin::Bitcoin, 2160);
    let mut source = memory_chain(&c);
    let ids = linear(&mut source, 6, 2);
    let shares: Vec<_> = ids
        .iter()
        .map(|id| source.get_share(id).expect("store").expect("held"))
        .collect();
    let mut chain = memory_chain(&c);
    // Everything but genesis first, newest first: all wait.
    for s in shares[1..].iter().rev() {
        match chain.add(s.clone(), NOW).expect("store") {
            AddOutcome::WaitingForParent(missing) => assert_eq!(missing, vec![s.data.prev_share]),
            other => panic!("expected to wait: {other:?}"),
        }
    }
    assert_eq!(chain.orphan_count(), 5);
    assert_eq!(chain.missing(), vec![ids[0]]);
    let AddOutcome::Accepted(a) = chain.add(shares[0].clone(), NOW).expect("store") else {
        panic!()
    };
    assert_eq!(a.connected, ids[1..].to_vec());
    assert_eq!(chain.tip(), Some(ids[5]));
    assert_eq!(chain.orphan_count(), 0);
    assert!(matches!(
        a.event,
        Some(ChainEvent::NewTip { height: 5, .. })
    ));
}

#[test]
fn the_window_slides_and_payouts_follow_it() {
    let c = consensus(Coin::Bitcoin, 10);
    let mut chain = memory_chain(&c);
    // Miner 0 mines 10 shares, then miner 1 mines 10: miner 0 leaves the window.
    for i in 0..20u32 {
        let s = mine(&chain, None, i / 10, T0 + i);
        accept(&mut chain, s);
    }
    assert_eq!(chain.window_ids().len(), 10);
    let r = request(5);
    let payouts = chain.payouts(
        chain.tip().as_ref(),
        r.coinbase_value,
        r.block_bits,
        &r.payout_script,
    );
    let scripts: Vec<_> = payouts.iter().map(|p| p.script.clone()).collect();
    assert!(
        scripts.contains(&script(1))
            && scripts.contains(&script(5))
            && !scripts.contains(&script(0))
    );
}

#[test]
fn templates_and_validation_agree_over_many_shares() {
    let c = consensus(Coin::Bitcoin, 30);
    let mut chain = memory_chain(&c);
    let mut rng = SimRng::new(7);
    let mut time = T0;
    for i in 0..120u32 {
        time += rng.below(3) as u32;
        let s = mine(&chain, None, (rng.below(5)) as u32, time);
        accept(&mut chain, s);
        assert_eq!(chain.height(), Some(i));
    }
}

#[test]
fn a_claimed_harder_target_weighs_more() {
    let c = consensus(Coin::Bitcoin, 2160);
    let mut chain = memory_chain(&c);
    linear(&mut chain, 3, 1);
    let rule = template(&chain, None, 1).share_target;
    let mut req = request(2);
    let harder = otedama_proto::target::Target::from_u256(rule.to_u256() >> 4).to_compact();
    req.share_bits = Some(harder);
    let t = chain.template(&req).expect("template");
    assert_eq!(t.data.bits, harder);
    let s = mine_template(chain.consensus(), &t, T0 + 3, 2);
    accept(&mut chain, s);
    let r = request(9);
    let p = chain.payouts(
        chain.tip().as_ref(),
        r.coinbase_value,
        r.block_bits,
        &r.payout_script,
    );
    let two = p
        .iter()
        .find(|p| p.script == script(2))
        .expect("miner 2 paid");
    let one = p
        .iter()
        .find(|p| p.script == script(0))
        .expect("miner 0 paid");
    // 16 times the work of one share against miner 0's three.
    assert!(two.amount.to_sat() > 5 * one.amount.to_sat());
}

#[test]
fn a_late_node_syncs_from_a_root_and_agrees_once_its_window_is_full() {
    let c = consensus(Coin::Bitcoin, 5);
    let mut full = memory_chain(&c);
    let ids = linear(&mut full, 30, 3);
    let shares: Vec<_> = ids
        .iter()
        .map(|id| full.get_share(id).expect("store").expect("held"))
        .collect();
    let mut late = memory_chain(&c);
    // Its parent is not held and will not be fetched: a root, checked without context.
    assert!(matches!(
        late.add(shares[10].clone(), NOW).expect("store"),
        AddOutcome::WaitingForParent(_)
    ));
    let mut late = memory_chain(&c);
    assert!(matches!(
        late.add_root(shares[10].clone(), NOW).expect("store"),
        AddOutcome::Accepted(_)
    ));
    for s in &shares[11..] {
        accept(&mut late, s.clone());
    }
    assert_eq!(late.tip(), full.tip());
    assert_eq!(payout_bytes(&late, 4), payout_bytes(&full, 4));
    // A forged root is still checked for everything it carries.
    let mut forged = shares[20].clone();
    forged.commitment = otedama_sharechain::ShareCommitment([9; 32]);
    let mut other = memory_chain(&c);
    assert!(matches!(
        other.add_root(forged, NOW).expect("store"),
        AddOutcome::Rejected(otedama_sharechain::RejectReason::WrongCommitment)
    ));
}

#[test]
fn locators_find_the_fork_and_ids_after_fill_the_gap() {
    let c = consensus(Coin::Bitcoin, 2160);
    let mut full = memory_chain(&c);
    let ids = linear(&mut full, 40, 2);
    let locator = full.locator();
    assert_eq!(locator[0], ids[39]);
    assert_eq!(locator[9], ids[30]);
    assert_eq!(*locator.last().expect("non-empty"), ids[0]);
    // A peer that has the first 25 shares asks with its locator.
    let mut behind = memory_chain(&c);
    for id in &ids[..25] {
        accept(
            &mut behind,
            full.get_share(id).expect("store").expect("held"),
        );
    }
    let batch = full.ids_after(&behind.locator(), 10);
    assert_eq!(batch, ids[25..35].to_vec());
    assert_eq!(full.ids_after(&[], 3), ids[..3].to_vec());
    assert!(full.is_on_best_chain(&ids[7]) && !behind.is_on_best_chain(&ids[30]));
}

#[test]
fn pool_hashrate_is_the_windows_work_over_its_time_span() {
    let c = consensus(Coin::Bitcoin, 10);
    let mut chain = memory_chain(&c);
    assert_eq!(chain.pool_hashrate(), None);
    // Every share meets the floor target 0x207fffff: 2 expected hashes each, 3 seconds apart.
    for i in 0..15u32 {
        let s = mine(&chain, None, i % 2, T0 + 3 * i);
        accept(&mut chain, s);
        if i == 0 {
            // One share spans no time.
            assert_eq!(chain.pool_hashrate(), None);
        }
    }
    // The window holds the last 10 (times T0+15 … T0+42): 9 shares' work, 18 hashes, in 27 s.
    let rate = chain.pool_hashrate().expect("a full window");
    assert!((rate - 18.0 / 27.0).abs() < 1e-12, "{rate}");
}
