//! What the chain tells the network layer about relaying: a share accepted without every check
//! (a root, a share whose held ancestry is too short for the difficulty rule, the median time or
//! the uncles, a share on an incomplete window) is reported in `Accepted::unchecked`, so that the
//! node stores it but never forwards it (`docs/protocol.md` §3.3).

mod common;

use common::*;
use otedama_proto::chain::Coin;
use otedama_sharechain::AddOutcome;

fn accepted(outcome: AddOutcome) -> otedama_sharechain::Accepted {
    match outcome {
        AddOutcome::Accepted(a) => a,
        other => panic!("not accepted: {other:?}"),
    }
}

#[test]
fn a_chain_synced_from_genesis_checks_every_share() {
    let c = consensus(Coin::Bitcoin, 5);
    let mut full = memory_chain(&c);
    let ids = linear(&mut full, 20, 3);
    let mut again = memory_chain(&c);
    for id in &ids {
        let share = full.get_share(id).expect("store").expect("held");
        let a = accepted(again.add(share, NOW).expect("store"));
        assert!(a.unchecked.is_empty(), "share {id}: {:?}", a.unchecked);
        assert!(a.fully_checked());
    }
}

#[test]
fn shares_on_a_root_are_unchecked_until_their_ancestry_is_deep_enough() {
    let c = consensus(Coin::Bitcoin, 5);
    let mut full = memory_chain(&c);
    let ids = linear(&mut full, 40, 3);
    let shares: Vec<_> = ids
        .iter()
        .map(|id| full.get_share(id).expect("store").expect("held"))
        .collect();
    let mut late = memory_chain(&c);
    let root = accepted(late.add_root(shares[10].clone(), NOW).expect("store"));
    assert_eq!(
        root.unchecked,
        vec![ids[10]],
        "a root is checked without context"
    );
    // The root's child skips the difficulty rule (no grandparent): unchecked.
    let child = accepted(late.add(shares[11].clone(), NOW).expect("store"));
    assert_eq!(child.unchecked, vec![ids[11]]);
    assert!(!child.fully_checked());
    // An orphan let in by an unchecked share is reported too.
    assert!(matches!(
        late.add(shares[13].clone(), NOW).expect("store"),
        AddOutcome::WaitingForParent(_)
    ));
    let a = accepted(late.add(shares[12].clone(), NOW).expect("store"));
    assert_eq!(a.connected, vec![ids[13]]);
    assert_eq!(a.unchecked, vec![ids[12], ids[13]]);
    // The held ancestry covers every check once it is `needed` deep (median span, uncle depth);
    // until then every share is unchecked. (Whether the window is complete is the window's
    // business: a share is fully checked only when both hold.)
    let p = c.params();
    let needed = (p.median_span as usize).max(p.max_uncle_depth as usize + 2);
    for (k, s) in shares.iter().enumerate().skip(14) {
        let a = accepted(late.add(s.clone(), NOW).expect("store"));
        let deep = late.has_context(Some(&ids[k - 1]));
        assert_eq!(deep, k - 10 >= needed, "share {k}");
        if !deep {
            assert_eq!(a.unchecked, vec![ids[k]], "share {k}");
        }
    }
    assert!(
        full.has_context(Some(&ids[3])),
        "genesis ends every ancestry"
    );
    assert!(late.has_context(None));
}
