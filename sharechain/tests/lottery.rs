//! The tail lottery's seed (`docs/consensus.md` §10.5) is the parent share's proof-of-work hash.
//! The share id would not do on Litecoin: it is sha256d of the header while the proof of work
//! is scrypt, so a miner could hash each candidate header with sha256d (about a thousand times
//! cheaper than scrypt) and scrypt only those whose id makes its own address win the draw of
//! the shares built on it, at no cost in shares found.

mod common;

use bitcoin::Script;
use common::*;
use otedama_proto::chain::Coin;
use otedama_proto::hash::PowHash;
use otedama_proto::target::Target;
use otedama_proto::uint::U256;
use otedama_sharechain::payout::split;
use otedama_sharechain::Consensus;

#[test]
fn the_lottery_seed_is_the_parents_pow_hash_not_its_id() {
    // Every payee is below the minimum payout, so the whole amount goes to one by lottery.
    let mut p = params(Coin::Litecoin, 2160);
    p.min_payout = otedama_proto::amount::Amount::from_sat(1_000_000_000);
    let c = Consensus::new(p).expect("valid");
    let mut chain = memory_chain(&c);
    let ids = linear(&mut chain, 10, 10);
    let tip = *ids.last().expect("shares");
    let share = chain.get_share(&tip).expect("store").expect("held");
    let pow = share.header.pow_hash(c.pow_algo());
    assert_ne!(
        pow.to_byte_array(),
        tip.to_byte_array(),
        "scrypt is not sha256d"
    );
    let scripts: Vec<_> = (0..10).map(script).collect();
    let credits: Vec<(&Script, U256)> = ids
        .iter()
        .zip(&scripts)
        .map(|(id, s)| {
            let bits = chain.get_share(id).expect("store").expect("held").data.bits;
            let work = Target::from_compact(bits)
                .expect("valid")
                .to_work()
                .to_u256();
            (s.as_script(), work)
        })
        .collect();
    let r = request(99);
    let by_pow = split(&c, &credits, r.coinbase_value, &script(99), &pow);
    let by_id = split(
        &c,
        &credits,
        r.coinbase_value,
        &script(99),
        &PowHash::from_byte_array(tip.to_byte_array()),
    );
    assert_ne!(by_pow, by_id, "this chain tells the two seeds apart");
    let got = chain.payouts(Some(&tip), r.coinbase_value, r.block_bits, &script(99));
    assert_eq!(got, by_pow);
}

#[test]
fn on_bitcoin_the_pow_hash_is_the_share_id() {
    // So the seed did not change on Bitcoin: choosing it means discarding found shares.
    let c = consensus(Coin::Bitcoin, 2160);
    let mut chain = memory_chain(&c);
    for id in linear(&mut chain, 3, 2) {
        let share = chain.get_share(&id).expect("store").expect("held");
        let pow = share.header.pow_hash(c.pow_algo());
        assert_eq!(pow.to_byte_array(), id.to_byte_array());
    }
}
