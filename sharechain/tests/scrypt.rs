//! Litecoin shares: scrypt proof of work through the same chain.

mod common;

use common::*;
use otedama_proto::chain::{Coin, PowAlgo};
use otedama_proto::target::Target;
use otedama_sharechain::RejectReason;

#[test]
fn scrypt_shares_are_mined_checked_and_chained() {
    let c = consensus(Coin::Litecoin, 2160);
    assert_eq!(c.pow_algo(), PowAlgo::Scrypt);
    let mut chain = memory_chain(&c);
    linear(&mut chain, 6, 2);
    assert_eq!(chain.height(), Some(5));
    // A header that meets the target under sha256d but not under scrypt is refused.
    let mut s = mine(&chain, None, 3, T0 + 6);
    let target = Target::from_compact(s.data.bits).expect("valid");
    let nonce = (0..)
        .find(|n| {
            let h = s.header.with_nonce(*n);
            h.meets(PowAlgo::Sha256d, &target) && !h.meets(PowAlgo::Scrypt, &target)
        })
        .expect("some nonce splits the two");
    s.header = s.header.with_nonce(nonce);
    assert_eq!(reject(&mut chain, s), RejectReason::InsufficientWork);
}
