//! Fuzzes payout-address parsing for every coin and network. The first byte picks the pair (an
//! unsupported pair must be an error, not a panic); the rest, read as lossy UTF-8, is the
//! address. An accepted address must keep its text, and the standard address written for its
//! script must parse back to the same script and kind.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otedama_proto::address::PayoutAddress;
use otedama_proto::chain::{Coin, Network};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let pairs: Vec<(Coin, Network)> = Coin::ALL
        .iter()
        .flat_map(|&c| Network::ALL.iter().map(move |&n| (c, n)))
        .collect();
    let (coin, network) = pairs[usize::from(selector) % pairs.len()];
    let text = String::from_utf8_lossy(rest);

    let Ok(address) = PayoutAddress::parse(&text, coin, network) else {
        return;
    };
    assert_eq!(address.as_str(), text, "the address text was not kept");
    assert_eq!((address.coin(), address.network()), (coin, network));
    let standard = PayoutAddress::from_script(address.script_pubkey(), coin, network)
        .expect("an accepted address pays a standard script");
    let again = PayoutAddress::parse(&standard, coin, network)
        .unwrap_or_else(|e| panic!("`{standard}` (written for `{text}`) does not parse: {e}"));
    assert_eq!(again.script_pubkey(), address.script_pubkey());
    assert_eq!(again.kind(), address.kind());
});
