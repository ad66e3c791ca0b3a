//! The fast chain miner of `testkit`: every share it returns is valid in order on a fresh chain,
//! its times are one share period apart, and the parallel search finds the same nonce as the
//! one-thread search.

mod common;

use bitcoin::ScriptBuf;
use otedama_proto::chain::{Coin, Network};
use otedama_sharechain::testkit::{self, chain_job};
use otedama_sharechain::{AddOutcome, Consensus, Share, TemplateRequest};

fn regtest(coin: Coin) -> Consensus {
    Consensus::for_network(coin, Network::Regtest).expect("regtest exists")
}

/// Three P2WPKH scripts.
fn scripts() -> Vec<ScriptBuf> {
    (1..=3u8)
        .map(|n| {
            let mut bytes = vec![0x00, 0x14];
            bytes.extend_from_slice(&[n; 20]);
            ScriptBuf::from_bytes(bytes)
        })
        .collect()
}

/// Re-adds `shares` to a fresh chain and checks the chain they make.
fn check_chain(consensus: &Consensus, shares: &[Share], start: u32) {
    let mut chain = common::memory_chain(consensus);
    let period = consensus.params().share_period;
    let floor = consensus.params().share_pow_limit;
    for (i, share) in shares.iter().enumerate() {
        assert_eq!(share.data.height as usize, i);
        assert_eq!(share.time(), start + i as u32 * period);
        assert_eq!(share.data.max_bits, floor, "ASERT stays at the floor");
        assert_eq!(share.data.payout_script, scripts()[i % 3]);
        match chain
            .add(share.clone(), u64::from(share.time()))
            .expect("memory store")
        {
            AddOutcome::Accepted(a) => assert_eq!(a.id, share.id()),
            other => panic!("share {i} not accepted: {other:?}"),
        }
    }
    assert_eq!(chain.tip(), shares.last().map(|s| s.id()));
    assert_eq!(chain.height(), Some(shares.len() as u32 - 1));
    assert_eq!(chain.len(), shares.len());
    assert_eq!(chain.orphan_count(), 0);
}

#[test]
fn litecoin_chain_is_valid() {
    let c = regtest(Coin::Litecoin);
    let start = 1_700_000_000;
    let shares = testkit::mine_chain(&c, 20, start, &scripts());
    assert_eq!(shares.len(), 20);
    check_chain(&c, &shares, start);
}

#[test]
fn bitcoin_chain_is_valid() {
    let c = regtest(Coin::Bitcoin);
    let start = 1_700_000_000;
    let shares = testkit::mine_chain(&c, 4, start, &scripts());
    check_chain(&c, &shares, start);
}

#[test]
fn parallel_search_finds_the_first_nonce() {
    let c = regtest(Coin::Litecoin);
    let chain = common::memory_chain(&c);
    let req = TemplateRequest {
        payout_script: scripts()[0].clone(),
        coinbase_value: testkit::CHAIN_COINBASE_VALUE,
        block_bits: chain_job().block_bits,
        witness_commitment: None,
        share_bits: None,
    };
    let template = chain.template(&req).expect("template");
    let job = chain_job();
    let one = testkit::mine(&c, &template, &job, 1_700_000_000, 7);
    let many = testkit::mine_parallel(&c, &template, &job, 1_700_000_000, 7);
    assert_eq!(one, many);
}

#[test]
#[should_panic(expected = "needs a payout script")]
fn no_payout_script_panics() {
    testkit::mine_chain(&regtest(Coin::Litecoin), 1, 0, &[]);
}
