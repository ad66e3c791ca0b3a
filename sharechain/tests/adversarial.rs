//! Every way a share can be wrong, each rejected with its own reason (`docs/consensus.md` §5).
//! Each forged share carries real proof of work, so only the rule under test can reject it.

mod common;

use bitcoin::ScriptBuf;
use common::*;
use otedama_proto::amount::Amount;
use otedama_proto::chain::Coin;
use otedama_proto::hash::{MerkleNode, ShareId};
use otedama_proto::header::Header;
use otedama_proto::target::{CompactTarget, Target};
use otedama_proto::uint::U256;
use otedama_sharechain::codec::{decode_share, encode_share};
use otedama_sharechain::coinbase::{self, share_commitment};
use otedama_sharechain::testkit;
use otedama_sharechain::{
    AddOutcome, Consensus, MemoryStore, Payout, RejectReason, Share, ShareChain, ShareCommitment,
    ShareTemplate,
};

/// A chain of 12 shares (heights 0..=11, times T0..T0+11) by three miners.
fn base() -> (Consensus, ShareChain<MemoryStore>, Vec<ShareId>) {
    let c = consensus(Coin::Bitcoin, 2160);
    let mut chain = memory_chain(&c);
    let ids = linear(&mut chain, 12, 3);
    (c, chain, ids)
}

/// Mines the tip template of miner 5 after `f` tampers with it (at time T0 + 12).
fn forge(
    c: &Consensus,
    chain: &ShareChain<MemoryStore>,
    f: impl FnOnce(&mut ShareTemplate),
) -> Share {
    let mut t = template(chain, None, 5);
    f(&mut t);
    mine_template(c, &t, T0 + 12, 5)
}

fn recommit(t: &mut ShareTemplate) {
    t.commitment = share_commitment(&t.data);
}

fn rejected(
    f: impl FnOnce(&Consensus, &ShareChain<MemoryStore>, &[ShareId]) -> Share,
) -> RejectReason {
    let (c, mut chain, ids) = base();
    let share = f(&c, &chain, &ids);
    let tip = chain.tip();
    let reason = reject(&mut chain, share);
    assert_eq!(chain.tip(), tip, "a rejected share must not move the tip");
    reason
}

#[test]
fn control_an_untampered_share_is_accepted() {
    let (c, mut chain, _) = base();
    let share = forge(&c, &chain, |_| {});
    accept(&mut chain, share);
}

#[test]
fn payouts_one_satoshi_off() {
    let r = rejected(|c, chain, _| {
        forge(c, chain, |t| {
            t.payouts[0].amount = Amount::from_sat(t.payouts[0].amount.to_sat() + 1)
        })
    });
    assert_eq!(r, RejectReason::PayoutsMismatch);
    let r = rejected(|c, chain, _| {
        forge(c, chain, |t| {
            t.payouts[0].amount = Amount::from_sat(t.payouts[0].amount.to_sat() + 1);
            t.payouts[1].amount = Amount::from_sat(t.payouts[1].amount.to_sat() - 1);
        })
    });
    assert_eq!(r, RejectReason::PayoutsMismatch);
}

#[test]
fn payouts_reordered() {
    let r = rejected(|c, chain, _| forge(c, chain, |t| t.payouts.swap(0, 1)));
    assert_eq!(r, RejectReason::PayoutsMismatch);
}

#[test]
fn payouts_missing_a_payee() {
    let r = rejected(|c, chain, _| {
        forge(c, chain, |t| {
            let gone = t.payouts.remove(0);
            t.payouts[0].amount = t.payouts[0].amount.checked_add(gone.amount).expect("fits");
        })
    });
    assert_eq!(r, RejectReason::PayoutsMismatch);
}

#[test]
fn payouts_with_an_extra_payee() {
    let r = rejected(|c, chain, _| {
        forge(c, chain, |t| {
            t.payouts[0].amount = Amount::from_sat(t.payouts[0].amount.to_sat() - 100_000);
            t.payouts.push(Payout {
                script: script(99),
                amount: Amount::from_sat(100_000),
                weight: Default::default(),
            });
            t.payouts.sort_by(|a, b| a.script.cmp(&b.script));
        })
    });
    assert_eq!(r, RejectReason::PayoutsMismatch);
}

fn scaled(bits: CompactTarget, up: bool) -> CompactTarget {
    let t = Target::from_compact(bits).expect("valid").to_u256();
    Target::from_u256(if up { t << 1 } else { t >> 1 }).to_compact()
}

#[test]
fn target_easier_than_the_rule() {
    // Shares all at one time make the rule's target fall below the floor, so there is room above.
    let c = consensus(Coin::Bitcoin, 2160);
    let mut chain = memory_chain(&c);
    for _ in 0..12 {
        let s = mine(&chain, None, 1, T0);
        accept(&mut chain, s);
    }
    let mut t = template(&chain, None, 5);
    t.data.max_bits = scaled(t.data.max_bits, true);
    t.data.bits = t.data.max_bits;
    t.share_target = Target::from_compact(t.data.bits).expect("valid");
    recommit(&mut t);
    let r = reject(&mut chain, mine_template(&c, &t, T0, 5));
    assert!(
        matches!(r, RejectReason::TargetEasierThanRule { .. }),
        "{r:?}"
    );
}

#[test]
fn target_easier_than_its_own_max() {
    let r = rejected(|c, chain, _| {
        forge(c, chain, |t| {
            t.data.max_bits = scaled(t.data.max_bits, false);
            recommit(t);
        })
    });
    assert!(matches!(r, RejectReason::TargetAboveMax { .. }), "{r:?}");
}

#[test]
fn max_bits_not_the_rules() {
    let r = rejected(|c, chain, _| {
        forge(c, chain, |t| {
            t.data.max_bits = scaled(t.data.max_bits, false);
            t.data.bits = t.data.max_bits;
            t.share_target = Target::from_compact(t.data.bits).expect("valid");
            recommit(t);
        })
    });
    assert!(matches!(r, RejectReason::MaxTargetMismatch { .. }), "{r:?}");
}

#[test]
fn timestamp_in_the_future() {
    let (c, mut chain, _) = base();
    let t = template(&chain, None, 5);
    let future = (NOW + u64::from(c.params().max_future) + 1) as u32;
    let share = mine_template(&c, &t, future, 5);
    let r = reject(&mut chain, share.clone());
    assert!(
        matches!(r, RejectReason::TimestampTooFarInFuture { .. }),
        "{r:?}"
    );
    assert!(!r.is_fault());
    // Not remembered: accepted once the clock has caught up.
    assert!(matches!(
        chain.add(share, u64::from(future)).expect("store"),
        AddOutcome::Accepted(_)
    ));
}

#[test]
fn timestamp_below_the_median() {
    let (c, mut chain, _) = base();
    let t = template(&chain, None, 5);
    assert_eq!(t.min_time, T0 + 6);
    let r = reject(&mut chain, mine_template(&c, &t, T0 + 5, 5));
    assert_eq!(
        r,
        RejectReason::TimestampBelowMedian {
            time: T0 + 5,
            median: T0 + 6
        }
    );
    accept(&mut chain, mine_template(&c, &t, T0 + 6, 5));
}

#[test]
fn bad_merkle_branch() {
    let r = rejected(|c, chain, _| {
        let mut s = forge(c, chain, |_| {});
        s.merkle_branch[0] = MerkleNode::from_byte_array([0xcd; 32]);
        s
    });
    assert_eq!(r, RejectReason::BadMerkleBranch);
}

#[test]
fn wrong_commitment() {
    let r = rejected(|c, chain, _| forge(c, chain, |t| t.commitment = ShareCommitment([1; 32])));
    assert_eq!(r, RejectReason::WrongCommitment);
}

/// A share on `parent` by miner 40 + `n`, off the best chain.
fn side(chain: &ShareChain<MemoryStore>, parent: &ShareId, n: u32) -> Share {
    let t = template(chain, Some(parent), 40 + n);
    mine_template(chain.consensus(), &t, T0 + t.data.height, u64::from(40 + n))
}

fn with_uncles(c: &Consensus, chain: &ShareChain<MemoryStore>, uncles: Vec<ShareId>) -> Share {
    forge(c, chain, |t| {
        t.data.uncles = uncles;
        recommit(t);
    })
}

#[test]
fn uncles_within_three_are_accepted_and_deeper_rejected() {
    let (c, mut chain, ids) = base();
    // New share at height 12. A sibling of height 9 is 3 deep (fine); of height 8, 4 deep.
    let ok = side(&chain, &ids[8], 1);
    let deep = side(&chain, &ids[7], 2);
    let (ok_id, deep_id) = (accept(&mut chain, ok), accept(&mut chain, deep));
    let r = {
        let s = with_uncles(&c, &chain, vec![deep_id]);
        reject(&mut chain, s)
    };
    assert_eq!(r, RejectReason::UncleTooDeep(deep_id));
    let t = template(&chain, None, 5);
    assert_eq!(
        t.data.uncles,
        vec![ok_id],
        "the template picks the eligible uncle only"
    );
    accept(&mut chain, mine_template(&c, &t, T0 + 12, 5));
}

#[test]
fn uncle_duplicated_in_the_list_or_already_included() {
    let (c, mut chain, ids) = base();
    // A sibling of the tip: it may win the tie-break, so build on ids[11] explicitly.
    let u = {
        let s = side(&chain, &ids[10], 1);
        accept(&mut chain, s)
    };
    let on_tip = |chain: &ShareChain<MemoryStore>, uncles: Vec<ShareId>| {
        let mut t = template(chain, Some(&ids[11]), 5);
        t.data.uncles = uncles;
        recommit(&mut t);
        mine_template(&c, &t, T0 + 12, 5)
    };
    let r = {
        let s = on_tip(&chain, vec![u, u]);
        reject(&mut chain, s)
    };
    assert_eq!(r, RejectReason::DuplicateUncle(u));
    let first = {
        let s = on_tip(&chain, vec![u]);
        accept(&mut chain, s)
    };
    assert_eq!(chain.tip(), Some(first));
    let t = template(&chain, None, 6);
    assert!(
        t.data.uncles.is_empty(),
        "already included: not offered again"
    );
    let mut again = t;
    again.data.uncles = vec![u];
    recommit(&mut again);
    let r = reject(&mut chain, mine_template(&c, &again, T0 + 13, 6));
    assert_eq!(r, RejectReason::UncleAlreadyIncluded(u));
}

#[test]
fn uncle_that_is_an_ancestor_too_recent_or_off_chain() {
    let (c, mut chain, ids) = base();
    assert_eq!(
        {
            let s = with_uncles(&c, &chain, vec![ids[10]]);
            reject(&mut chain, s)
        },
        RejectReason::UncleIsAncestor(ids[10])
    );
    let sibling = {
        let s = side(&chain, &ids[11], 1);
        accept(&mut chain, s)
    };
    // Both shares at height 12 have the same weight; keep the original tip by building on ids[11].
    let share = forge(&c, &chain, |_| {});
    let _ = share;
    let mut t = template(&chain, Some(&ids[11]), 5);
    t.data.uncles = vec![sibling];
    recommit(&mut t);
    let r = reject(&mut chain, mine_template(&c, &t, T0 + 12, 5));
    assert_eq!(r, RejectReason::UncleTooRecent(sibling));
    let off = {
        let s = side(&chain, &ids[9], 2);
        accept(&mut chain, s)
    };
    let off_child = {
        let s = side(&chain, &off, 3);
        accept(&mut chain, s)
    };
    let mut t = template(&chain, Some(&ids[11]), 5);
    t.data.uncles = vec![off_child];
    recommit(&mut t);
    let r = reject(&mut chain, mine_template(&c, &t, T0 + 12, 5));
    assert_eq!(r, RejectReason::UncleNotSibling(off_child));
}

#[test]
fn share_of_another_consensus_id() {
    let r = rejected(|_, _, _| {
        let mut p = params(Coin::Bitcoin, 2160);
        p.pool_name = "another-pool".into();
        let other = Consensus::new(p).expect("valid");
        let other_chain = memory_chain(&other);
        mine(&other_chain, None, 1, T0)
    });
    assert!(matches!(r, RejectReason::WrongConsensusId { .. }), "{r:?}");
}

#[test]
fn oversized_malformed_and_trailing_bytes() {
    let (c, mut chain, _) = base();
    let limit = c.params().max_share_bytes as usize;
    let add = |chain: &mut ShareChain<MemoryStore>, bytes: &[u8]| match chain
        .add_encoded(bytes, NOW)
        .expect("store")
    {
        AddOutcome::Rejected(r) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        add(&mut chain, &vec![0u8; limit + 1]),
        RejectReason::Oversized {
            len: limit + 1,
            limit
        }
    );
    assert!(matches!(
        add(&mut chain, &[1u8; 200]),
        RejectReason::Malformed(_)
    ));
    let mut bytes = encode_share(&forge(&c, &chain, |_| {}));
    assert!(decode_share(&bytes).is_ok());
    bytes.push(0);
    assert!(matches!(
        add(&mut chain, &bytes),
        RejectReason::Malformed(_)
    ));
    bytes.pop();
    assert!(matches!(
        chain.add_encoded(&bytes, NOW).expect("store"),
        AddOutcome::Accepted(_)
    ));
}

#[test]
fn too_many_uncles_unsorted_and_long_branches() {
    let many: Vec<ShareId> = (1..=5u8)
        .map(|i| ShareId::from_byte_array([i; 32]))
        .collect();
    let r = rejected(|c, chain, _| with_uncles(c, chain, many.clone()));
    assert_eq!(r, RejectReason::TooManyUncles(5));
    let r = rejected(|c, chain, _| with_uncles(c, chain, vec![many[1], many[0]]));
    assert_eq!(r, RejectReason::UnclesNotSorted);
    let r = rejected(|c, chain, _| {
        let mut s = forge(c, chain, |_| {});
        s.merkle_branch = vec![MerkleNode::from_byte_array([1; 32]); 25];
        s
    });
    assert_eq!(r, RejectReason::MerkleBranchTooLong(25));
}

#[test]
fn insufficient_work() {
    let r = rejected(|c, chain, _| {
        let mut s = forge(c, chain, |_| {});
        let target = Target::from_compact(s.data.bits).expect("valid");
        let bad = (0..)
            .map(|n| s.header.with_nonce(n))
            .find(|h| !h.meets(c.pow_algo(), &target))
            .expect("found");
        s.header = bad;
        s
    });
    assert_eq!(r, RejectReason::InsufficientWork);
}

/// Mines `t` with a hand-made input script (grinding the nonce here).
fn mine_with_script_sig(
    c: &Consensus,
    t: &ShareTemplate,
    script_sig: ScriptBuf,
    block_bits: u32,
) -> Share {
    let branch = vec![MerkleNode::from_byte_array([0xab; 32])];
    let probe = t.share(
        Header::new(
            1,
            Default::default(),
            MerkleNode::ZERO,
            T0 + 12,
            CompactTarget::from_consensus(block_bits),
            0,
        ),
        script_sig,
        branch,
    );
    let root = coinbase::merkle_root(&probe.coinbase_txid, &probe.merkle_branch);
    let mut header = Header::new(
        1,
        Default::default(),
        root,
        T0 + 12,
        CompactTarget::from_consensus(block_bits),
        0,
    );
    while !header.meets(c.pow_algo(), &t.share_target) {
        header = header.with_nonce(header.nonce() + 1);
    }
    Share { header, ..probe }
}

#[test]
fn bad_input_script_and_block_bits() {
    let r = rejected(|c, chain, _| {
        let t = template(chain, None, 5);
        mine_with_script_sig(
            c,
            &t,
            ScriptBuf::from_bytes(vec![0x08, 1, 2, 3, 4, 5, 6, 7, 8]),
            BLOCK_BITS,
        )
    });
    assert_eq!(r, RejectReason::BadScriptSig);
    let r = rejected(|c, chain, _| {
        let t = template(chain, None, 5);
        let mut long = vec![0x01, 0x70];
        long.resize(101, 0x61);
        mine_with_script_sig(c, &t, ScriptBuf::from_bytes(long), BLOCK_BITS)
    });
    assert_eq!(r, RejectReason::BadScriptSig);
    let r = rejected(|c, chain, _| {
        let t = template(chain, None, 5);
        mine_with_script_sig(c, &t, coinbase::otedama_script_sig(7, [0; 8], b""), 0)
    });
    assert_eq!(
        r,
        RejectReason::BadBlockBits(CompactTarget::from_consensus(0))
    );
}

#[test]
fn non_standard_payout_script_and_value_too_large() {
    let r = rejected(|c, chain, _| {
        forge(c, chain, |t| {
            t.data.payout_script = ScriptBuf::from_bytes(vec![0x51]);
            recommit(t);
        })
    });
    assert_eq!(r, RejectReason::NonStandardPayoutScript);
    let r = rejected(|c, chain, _| {
        forge(c, chain, |t| {
            t.coinbase_value = Amount::from_sat(c.params().max_money.to_sat() + 1)
        })
    });
    assert!(matches!(r, RejectReason::ValueTooLarge(_)), "{r:?}");
}

#[test]
fn bad_height_and_bad_genesis() {
    let r = rejected(|c, chain, _| {
        forge(c, chain, |t| {
            t.data.height += 1;
            recommit(t);
        })
    });
    assert_eq!(r, RejectReason::BadHeight { got: 13, want: 12 });
    let r = rejected(|c, chain, _| {
        forge(c, chain, |t| {
            t.data.prev_share = ShareId::ZERO;
            recommit(t);
        })
    });
    assert_eq!(r, RejectReason::BadGenesis);
}

#[test]
fn bad_compact_and_out_of_range_targets() {
    let r = rejected(|c, chain, _| {
        forge(c, chain, |t| {
            t.data.bits = CompactTarget::from_consensus(0x0300_0001);
            recommit(t);
        })
    });
    assert_eq!(
        r,
        RejectReason::BadCompactTarget(CompactTarget::from_consensus(0x0300_0001))
    );
    let r = rejected(|c, chain, _| {
        forge(c, chain, |t| {
            t.data.bits = Target::from_u256(U256::ONE << 127).to_compact();
            recommit(t);
        })
    });
    assert_eq!(r, RejectReason::TargetOutOfRange);
}

#[test]
fn duplicates_are_not_faults() {
    let (c, mut chain, _) = base();
    let s = forge(&c, &chain, |_| {});
    accept(&mut chain, s.clone());
    let r = reject(&mut chain, s);
    assert_eq!(r, RejectReason::Duplicate);
    assert!(!r.is_fault());
    assert!(RejectReason::PayoutsMismatch.is_fault());
}

/// A full node's chain of window 5: heights 0..=5, two siblings at height 6, then `more` shares
/// on the tip, the first of which names the losing sibling as an uncle. Returns the chain and
/// the best chain's shares, oldest first.
fn chain_with_an_uncle(c: &Consensus, more: u32) -> (ShareChain<MemoryStore>, Vec<Share>) {
    let mut full = memory_chain(c);
    let ids = linear(&mut full, 6, 3);
    let a = mine(&full, Some(&ids[5]), 7, T0 + 6);
    let b = mine(&full, Some(&ids[5]), 8, T0 + 6);
    accept(&mut full, a);
    accept(&mut full, b);
    linear(&mut full, more, 3);
    let mut best: Vec<Share> = Vec::new();
    let mut next = full.tip();
    while let Some(id) = next {
        let share = full.get_share(&id).expect("store").expect("held");
        next = (!share.is_genesis()).then_some(share.data.prev_share);
        best.push(share);
    }
    best.reverse();
    assert_eq!(best[7].data.uncles.len(), 1, "share 7 names the loser");
    (full, best)
}

/// Mines the tip template of miner 5 with one satoshi moved between two payees.
fn one_satoshi_moved(chain: &ShareChain<MemoryStore>) -> Share {
    let mut t = template(chain, None, 5);
    assert!(t.payouts.len() >= 2);
    t.payouts[0].amount = Amount::from_sat(t.payouts[0].amount.to_sat() + 1);
    t.payouts[1].amount = Amount::from_sat(t.payouts[1].amount.to_sat() - 1);
    let time = t.min_time.max(T0 + t.data.height);
    mine_template(chain.consensus(), &t, time, 5)
}

#[test]
fn a_node_synced_from_a_root_checks_payouts_once_its_window_is_full() {
    let c = consensus(Coin::Bitcoin, 5);
    let (mut full, best) = chain_with_an_uncle(&c, 20);
    // The late node starts from share 7, whose uncle it never holds: the root's uncle credits
    // are unknown, so payouts on a window that still holds the root cannot be checked.
    let mut late = memory_chain(&c);
    assert!(matches!(
        late.add_root(best[7].clone(), NOW).expect("store"),
        AddOutcome::Accepted(_)
    ));
    // Every honest share is accepted, including the one whose window ends at the root.
    for s in &best[8..] {
        accept(&mut late, s.clone());
    }
    assert_eq!(late.tip(), full.tip());
    assert_eq!(payout_bytes(&late, 4), payout_bytes(&full, 4));
    // The window is full again (5 shares above the root): a share paying the wrong outputs is
    // rejected by the late node exactly as by the full node.
    let forged = one_satoshi_moved(&late);
    assert_eq!(
        reject(&mut late, forged.clone()),
        RejectReason::PayoutsMismatch
    );
    assert_eq!(reject(&mut full, forged), RejectReason::PayoutsMismatch);
}

#[test]
fn a_node_synced_from_a_root_checks_payouts_once_the_work_cap_is_reached() {
    // A work cap of two blocks' work: the regtest block target equals the share floor, so the
    // window is two shares long however long N is.
    let mut p = params(Coin::Bitcoin, 2160);
    p.window_block_multiple = 2;
    let c = Consensus::new(p).expect("valid");
    let (mut full, best) = chain_with_an_uncle(&c, 6);
    let mut late = memory_chain(&c);
    assert!(matches!(
        late.add_root(best[7].clone(), NOW).expect("store"),
        AddOutcome::Accepted(_)
    ));
    for s in &best[8..] {
        accept(&mut late, s.clone());
    }
    assert_eq!(late.tip(), full.tip());
    let forged = one_satoshi_moved(&late);
    assert_eq!(
        reject(&mut late, forged.clone()),
        RejectReason::PayoutsMismatch
    );
    assert_eq!(reject(&mut full, forged), RejectReason::PayoutsMismatch);
}

#[test]
fn a_coin_height_far_above_the_ancestors_is_rejected() {
    let mut p = params(Coin::Bitcoin, 2160);
    p.max_coin_height_lead = 6;
    let c = Consensus::new(p).expect("valid");
    let mut chain = memory_chain(&c);
    // Coin heights 100..=111 one second apart: the median of the last 11 is 106.
    linear(&mut chain, 12, 3);
    let t = template(&chain, None, 5);
    let far = testkit::mine(&c, &t, &job(10_000), T0 + 12, 5);
    let r = reject(&mut chain, far);
    assert_eq!(
        r,
        RejectReason::CoinHeightTooFarAhead {
            got: 10_000,
            max: 112
        }
    );
    let just_past = testkit::mine(&c, &t, &job(113), T0 + 12, 5);
    assert!(matches!(
        reject(&mut chain, just_past),
        RejectReason::CoinHeightTooFarAhead { got: 113, .. }
    ));
    // The honest share, six blocks above the median, is accepted.
    accept(&mut chain, testkit::mine(&c, &t, &job(112), T0 + 12, 5));
}

#[test]
fn a_coinbase_below_the_subsidy_is_rejected() {
    // Bitcoin regtest: 50 coins below coin height 150, 25 from 150 on.
    let (c, mut chain, _) = base();
    let with_value = |chain: &ShareChain<MemoryStore>, sat: u64| {
        let mut req = request(5);
        req.coinbase_value = Amount::from_sat(sat);
        chain.template(&req).expect("template")
    };
    // A miner burning the block it might find: one satoshi instead of the subsidy.
    let burn = testkit::mine(&c, &with_value(&chain, 1), &job(112), T0 + 12, 5);
    assert_eq!(
        reject(&mut chain, burn),
        RejectReason::ValueBelowSubsidy {
            value: Amount::from_sat(1),
            subsidy: Amount::from_sat(5_000_000_000)
        }
    );
    let t = with_value(&chain, 2_500_000_000);
    let short = testkit::mine(&c, &t, &job(149), T0 + 12, 5);
    assert!(matches!(
        reject(&mut chain, short),
        RejectReason::ValueBelowSubsidy { .. }
    ));
    // After the halving, 25 coins is the whole subsidy.
    accept(&mut chain, testkit::mine(&c, &t, &job(150), T0 + 12, 5));
}

#[test]
fn a_share_naming_a_sibling_of_the_sync_root_is_accepted_without_that_uncle() {
    let c = consensus(Coin::Bitcoin, 5);
    let (full, best) = chain_with_an_uncle(&c, 20);
    // The late node's root is share 6; share 7 names share 6's sibling, whose parent (share 5)
    // the late node will never hold: the uncle cannot be verified there.
    let uncle = best[7].data.uncles[0];
    let mut late = memory_chain(&c);
    assert!(matches!(
        late.add_root(best[6].clone(), NOW).expect("store"),
        AddOutcome::Accepted(_)
    ));
    for s in &best[7..] {
        accept(&mut late, s.clone());
    }
    assert!(!late.contains(&uncle));
    assert_eq!(late.orphan_count(), 0);
    assert!(
        late.missing().is_empty(),
        "nothing to fetch back to the horizon"
    );
    assert_eq!(late.tip(), full.tip());
    // Once the window has moved past the shares near the root, the late node's payouts are
    // the full node's, and its payout check is on.
    assert_eq!(payout_bytes(&late, 4), payout_bytes(&full, 4));
    let forged = one_satoshi_moved(&late);
    assert_eq!(reject(&mut late, forged), RejectReason::PayoutsMismatch);
}

#[test]
fn a_root_at_the_greatest_height_has_no_child() {
    let (c, other, _) = base();
    // A root at height 2^32 − 1 (its parent is not held, so only the context-free checks ran).
    let mut t = template(&other, None, 5);
    t.data.height = u32::MAX;
    recommit(&mut t);
    let top = testkit::mine(&c, &t, &job(112), T0 + 12, 5);
    let top_id = top.id();
    let mut late = memory_chain(&c);
    assert!(matches!(
        late.add_root(top, NOW).expect("store"),
        AddOutcome::Accepted(_)
    ));
    assert_eq!(late.height(), Some(u32::MAX));
    // No template on it, and a share naming it as its parent is rejected, without a panic.
    assert_eq!(
        late.template(&request(1)),
        Err(otedama_sharechain::TemplateError::HeightOverflow)
    );
    let mut t = template(&other, None, 6);
    t.data.prev_share = top_id;
    recommit(&mut t);
    let child = testkit::mine(&c, &t, &job(113), T0 + 13, 6);
    assert_eq!(reject(&mut late, child), RejectReason::HeightOverflow);
}
