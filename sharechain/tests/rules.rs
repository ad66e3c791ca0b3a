//! Rules of `docs/consensus.md` not covered elsewhere, each with a test that breaks with it: the
//! window's work cap (§10.1), uncle credits (§8, §10.2), the fork-choice weight and tie-break (§9), the
//! minimum payout (§10.4) and the dust policy (§10.7).

mod common;

use bitcoin::ScriptBuf;
use common::*;
use otedama_proto::amount::Amount;
use otedama_proto::chain::Coin;
use otedama_proto::target::{CompactTarget, Target};
use otedama_proto::uint::U256;
use otedama_sharechain::testkit;
use otedama_sharechain::{Consensus, Payout, TemplateRequest};

fn weight_of(payouts: &[Payout], s: &ScriptBuf) -> U256 {
    payouts
        .iter()
        .find(|p| &p.script == s)
        .map_or(U256::ZERO, |p| p.weight.to_u256())
}

#[test]
fn the_work_cap_cuts_the_window_at_twice_the_block_work() {
    let mut p = params(Coin::Bitcoin, 2160);
    p.window_block_multiple = 2;
    let c = Consensus::new(p).expect("valid");
    let mut chain = memory_chain(&c);
    // Five shares by miner 1, then five by miner 2; every share weighs 2 (target 207fffff).
    for i in 0..10u32 {
        let s = mine(&chain, None, 1 + i / 5, T0 + i);
        accept(&mut chain, s);
    }
    // A block target whose work is 5: the cap is 10, five shares.
    let block = Target::from_u256(U256::MAX / U256::from_u64(5)).to_compact();
    let value = Amount::from_sat(5_000_000_000);
    let capped = chain.payouts(chain.tip().as_ref(), value, block, &script(9));
    assert_eq!(weight_of(&capped, &script(1)), U256::ZERO);
    assert_eq!(weight_of(&capped, &script(2)), U256::from_u64(10));
    // Block work 8, cap 16: the newest eight shares (heights 2..=9), three of them miner 1's.
    // (This cut keeps most of the window, which the chain computes by subtracting the rest.)
    let block = Target::from_u256(U256::MAX / U256::from_u64(8)).to_compact();
    let capped = chain.payouts(chain.tip().as_ref(), value, block, &script(9));
    assert_eq!(weight_of(&capped, &script(1)), U256::from_u64(6));
    assert_eq!(weight_of(&capped, &script(2)), U256::from_u64(10));
    // With a block target worth far more work the cap does not bind: both miners are paid.
    let hard_block = Target::from_u256(U256::MAX >> 40).to_compact();
    let open = chain.payouts(chain.tip().as_ref(), value, hard_block, &script(9));
    assert_eq!(weight_of(&open, &script(1)), U256::from_u64(10));
}

#[test]
fn an_uncle_is_credited_80_percent_and_its_includer_20() {
    let mut p = params(Coin::Bitcoin, 2160);
    p.share_pow_limit = CompactTarget::from_consensus(0x2000_ffff); // work 256: 20 % is exact enough
    let c = Consensus::new(p).expect("valid");
    let mut chain = memory_chain(&c);
    let ids = linear(&mut chain, 3, 1);
    let x = mine(&chain, Some(&ids[2]), 10, T0 + 3);
    let y = mine(&chain, Some(&ids[2]), 11, T0 + 3);
    let (x_id, y_id) = (accept(&mut chain, x), accept(&mut chain, y));
    let tip = chain.tip().expect("tip");
    let loser_miner = if tip == x_id { 11 } else { 10 };
    let t = template(&chain, None, 12);
    assert_eq!(t.data.uncles, vec![if tip == x_id { y_id } else { x_id }]);
    accept(&mut chain, mine_template(&c, &t, T0 + 4, 12));
    let w = Target::from_compact(t.data.bits)
        .expect("valid")
        .to_work()
        .to_u256();
    let payouts = chain.payouts(
        chain.tip().as_ref(),
        Amount::from_sat(5_000_000_000),
        t.data.bits,
        &script(99),
    );
    let fifth = w / U256::from_u64(5);
    assert_eq!(weight_of(&payouts, &script(loser_miner)), w - fifth);
    assert_eq!(weight_of(&payouts, &script(12)), w + fifth);
}

/// A share's proof-of-work hash as a 256-bit number.
fn pow_number(c: &Consensus, s: &otedama_sharechain::Share) -> U256 {
    U256::from_le_bytes(s.header.pow_hash(c.pow_algo()).to_byte_array())
}

#[test]
fn equal_rule_work_goes_to_the_lower_pow_hash_not_the_coin_height_or_the_id() {
    // Litecoin: the proof-of-work hash (scrypt) is not the share id (sha256d).
    let c = consensus(Coin::Litecoin, 2160);
    let mut chain = memory_chain(&c);
    let ids = linear(&mut chain, 3, 1);
    let t = template(&chain, Some(&ids[2]), 4);
    let u = template(&chain, Some(&ids[2]), 5);
    let mut job_a = job(500);
    let mut job_b = job(501);
    job_a.merkle_branch.clear();
    job_b.merkle_branch.clear();
    // Try extranonces until the stale (lower coin height) share has the lower pow hash but the
    // greater id: only the pow hash can make it win.
    let (stale, fresh) = (0u64..)
        .map(|e| {
            (
                testkit::mine(&c, &t, &job_a, T0 + 3, e),
                testkit::mine(&c, &u, &job_b, T0 + 3, e),
            )
        })
        .find(|(a, b)| {
            pow_number(&c, a) < pow_number(&c, b)
                && U256::from_le_bytes(a.id().0) > U256::from_le_bytes(b.id().0)
        })
        .expect("found");
    let stale_id = stale.id();
    accept(&mut chain, fresh);
    accept(&mut chain, stale);
    assert_eq!(chain.tip(), Some(stale_id));
}

#[test]
fn a_sibling_one_step_harder_than_the_rule_does_not_win_the_race() {
    // A floor of 2^16 hashes (2^240), so that one compact step shows in the integer work: the
    // next harder compact, 1effff00, is 2^-16 less target and one hash more work (65537).
    let mut p = params(Coin::Bitcoin, 2160);
    p.share_pow_limit = CompactTarget::from_consensus(0x1f01_0000);
    let c = Consensus::new(p).expect("valid");
    let mut chain = memory_chain(&c);
    let ids = linear(&mut chain, 5, 2);
    let honest_t = template(&chain, Some(&ids[4]), 10);
    assert_eq!(honest_t.data.bits.to_consensus(), 0x1f01_0000);
    let harder = CompactTarget::from_consensus(0x1f00_ffff);
    let mut req = request(11);
    req.share_bits = Some(harder);
    let hard_t = chain.template_at(Some(&ids[4]), &req).expect("template");
    assert_eq!(hard_t.data.bits, harder);
    assert_eq!(hard_t.data.max_bits, honest_t.data.max_bits);
    // An honest sibling whose pow hash is the lower: the tie rule, not the claimed bits, decides.
    let (honest, hard) = (0u64..)
        .map(|e| {
            (
                mine_template(&c, &honest_t, T0 + 5, e),
                mine_template(&c, &hard_t, T0 + 5, e),
            )
        })
        .find(|(a, b)| pow_number(&c, a) < pow_number(&c, b))
        .expect("found");
    let honest_id = accept(&mut chain, honest);
    let before = chain.chain_work();
    accept(&mut chain, hard);
    assert_eq!(
        chain.tip(),
        Some(honest_id),
        "the harder claim won the race"
    );
    assert_eq!(chain.chain_work(), before);
}

/// A template names uncles by the rule's work and then the lower proof-of-work hash (§8, §9),
/// as fork choice counts them: a sibling claiming harder bits is not preferred for it.
#[test]
fn a_harder_claimed_uncle_is_not_preferred_over_the_lower_pow_hash() {
    let mut p = params(Coin::Bitcoin, 2160);
    p.share_pow_limit = CompactTarget::from_consensus(0x1f01_0000);
    p.max_uncles = 1;
    let c = Consensus::new(p).expect("valid");
    let mut chain = memory_chain(&c);
    let ids = linear(&mut chain, 5, 2);
    let honest_t = template(&chain, Some(&ids[4]), 10);
    let other_t = template(&chain, Some(&ids[4]), 12);
    let mut req = request(11);
    req.share_bits = Some(CompactTarget::from_consensus(0x1f00_ffff));
    let hard_t = chain.template_at(Some(&ids[4]), &req).expect("template");
    // Three siblings: the tip has the lowest pow hash, the honest uncle candidate the next.
    let (tip, other, hard) = (0u64..)
        .map(|e| {
            (
                mine_template(&c, &honest_t, T0 + 5, e),
                mine_template(&c, &other_t, T0 + 5, e),
                mine_template(&c, &hard_t, T0 + 5, e),
            )
        })
        .find(|(a, b, h)| {
            pow_number(&c, a) < pow_number(&c, b) && pow_number(&c, b) < pow_number(&c, h)
        })
        .expect("found");
    let tip_id = accept(&mut chain, tip);
    let other_id = accept(&mut chain, other);
    accept(&mut chain, hard);
    assert_eq!(chain.tip(), Some(tip_id));
    let t = template(&chain, None, 13);
    assert_eq!(
        t.data.uncles,
        vec![other_id],
        "the harder claim was preferred"
    );
}

#[test]
fn payees_below_the_minimum_payout_go_to_the_lottery() {
    let c = Consensus::for_network(Coin::Bitcoin, otedama_proto::chain::Network::Mainnet)
        .expect("exists");
    let (big, small1, small2, finder) = (script(1), script(2), script(3), script(4));
    // D = 1_990_000: the big payee gets 1_970_298 (>= 10_000); each small one 9_851 (< 10_000).
    let credits = [
        (big.as_script(), U256::from_u64(1000)),
        (small1.as_script(), U256::from_u64(5)),
        (small2.as_script(), U256::from_u64(5)),
    ];
    let seed = otedama_proto::hash::PowHash::from_byte_array([0; 32]);
    let out = otedama_sharechain::payout::split(
        &c,
        &credits,
        Amount::from_sat(2_000_000),
        &finder,
        &seed,
    );
    let amounts: Vec<(ScriptBuf, u64)> = out
        .iter()
        .map(|p| (p.script.clone(), p.amount.to_sat()))
        .collect();
    // The tail (10 credits of 1010) is worth 19_702 >= 10_000: one of the two small payees wins
    // it all; seed 0 picks the first in rank order (script 2).
    let d = 1_990_000u64;
    let big_amount = d * 1000 / 1010;
    let tail = d * 10 / 1010;
    assert_eq!(
        amounts,
        vec![
            (big, big_amount),
            (small1, tail),
            (finder, 2_000_000 - big_amount - tail)
        ]
    );
}

#[test]
fn the_dust_target_is_harder_only_when_one_share_would_pay_too_little() {
    let mut p = params(Coin::Bitcoin, 2160);
    p.min_payout = Amount::from_sat(400_000_000); // 4 coins: a share worth 1/20 of 50 is too little
    let c = Consensus::new(p).expect("valid");
    let mut chain = memory_chain(&c);
    linear(&mut chain, 20, 4);
    let value = Amount::from_sat(5_000_000_000);
    let block = CompactTarget::from_consensus(BLOCK_BITS);
    let rule = template(&chain, None, 1).share_target;
    let bits = chain
        .dust_target(value, block, rule)
        .expect("a harder target is needed");
    let target = Target::from_compact(bits).expect("valid");
    assert!(target < rule);
    // A share at that target is worth at least 2 · min_payout of D against the current window.
    let w = target.to_work().to_u256();
    let d = 5_000_000_000u64 - 5_000_000_000 / 200;
    let window = U256::from_u64(20) * rule.to_work().to_u256();
    let worth = (w * U256::from_u64(d)) / (window + w);
    assert!(worth >= U256::from_u64(800_000_000), "{worth}");
    // And the chain accepts a share claiming it.
    let req = TemplateRequest {
        share_bits: Some(bits),
        ..request(7)
    };
    let t = chain.template(&req).expect("template");
    accept(&mut chain, mine_template(&c, &t, T0 + 20, 7));
    // With the default minimum payout no harder target is needed.
    let c = consensus(Coin::Bitcoin, 2160);
    let mut chain = memory_chain(&c);
    linear(&mut chain, 20, 4);
    assert_eq!(chain.dust_target(value, block, rule), None);
}
