//! The test vectors of `docs/consensus.md` §14: consensus ids of the built-in networks, a
//! retarget table and a payout split. A compatible node must reproduce them; run with
//! `--nocapture` to print them.

use bitcoin::{Script, ScriptBuf};
use otedama_proto::amount::Amount;
use otedama_proto::chain::{Coin, Network};
use otedama_proto::hash::ShareId;
use otedama_proto::target::CompactTarget;
use otedama_proto::uint::U256;
use otedama_sharechain::payout::{payout_bytes, split};
use otedama_sharechain::retarget::{next_max_target, ParentTiming};
use otedama_sharechain::Consensus;

const IDS: [(Coin, Network, &str); 7] = [
    (
        Coin::Bitcoin,
        Network::Mainnet,
        "0f0152d422704579cdb3bda113ec36869bf7d9a2449cf218a0b3c486e7021f20",
    ),
    (
        Coin::Bitcoin,
        Network::Testnet,
        "9f2c3e18d7c3850ffee6413f2510c581dc2e31878699b4b248f10dfa471a85bf",
    ),
    (
        Coin::Bitcoin,
        Network::Signet,
        "05ed26fb1d59c2519135209743738c39ff5ab660adbde6f26806cb4b3bb39bcb",
    ),
    (
        Coin::Bitcoin,
        Network::Regtest,
        "5bc86e0c2b83d4882b014f4fcf46a6170d939f5f96f8bd174d1dd4178f4b1acb",
    ),
    (
        Coin::Litecoin,
        Network::Mainnet,
        "c876a56ff8c75717a14a13bb06c83ed407828ab9a5c9cb96ee3a289dce9dd311",
    ),
    (
        Coin::Litecoin,
        Network::Testnet,
        "c1d7b289d2fa15341431c66c4153cecbab2418d9daa37874a63d587cf8b56a50",
    ),
    (
        Coin::Litecoin,
        Network::Regtest,
        "3ddded2ed5d254fcc6c9d57cd21791cb27512e8e5f8696115806f053bd7fee66",
    ),
];

#[test]
fn consensus_ids() {
    for (coin, network, want) in IDS {
        let id = Consensus::for_network(coin, network)
            .expect("exists")
            .id()
            .to_string();
        println!("| {coin} {network} | `{id}` |");
        if !want.is_empty() {
            assert_eq!(id, want, "{coin} {network}");
        }
    }
}

#[test]
fn retarget_table() {
    let c = Consensus::for_network(Coin::Bitcoin, Network::Mainnet).expect("exists");
    let bits = CompactTarget::from_consensus(0x1b0404cb);
    let mut rows = Vec::new();
    for dt in [-1000i64, -90, 0, 5, 10, 20, 60, 110, 1000] {
        let parent = ParentTiming {
            max_bits: bits,
            time: (1_000_000 + dt) as u32,
            grandparent_time: Some(1_000_000),
        };
        let next = next_max_target(&c, Some(&parent)).to_compact();
        println!("| {dt} | `{next}` |");
        rows.push(next.to_consensus());
    }
    // On schedule (Δt = T = 10 s) the target is unchanged; one half-life late it doubles
    // (up to compact rounding), and the clamp holds beyond.
    assert_eq!(
        rows,
        [
            0x1b020265, 0x1b020265, 0x1b03bffe, 0x1b03e1d1, 0x1b0404cb, 0x1b044ebf, 0x1b05aecf,
            0x1b080996, 0x1b080996
        ]
    );
}

fn p2wpkh(n: u8) -> ScriptBuf {
    let mut b = vec![0x00, 0x14];
    b.extend_from_slice(&[n; 20]);
    ScriptBuf::from_bytes(b)
}

#[test]
fn payout_split() {
    let c = Consensus::for_network(Coin::Bitcoin, Network::Mainnet).expect("exists");
    let scripts: Vec<ScriptBuf> = (1..=4).map(p2wpkh).collect();
    let credits: Vec<(&Script, U256)> = scripts
        .iter()
        .zip([5u64, 3, 1, 1])
        .map(|(s, w)| (s.as_script(), U256::from_u64(w) << 64))
        .collect();
    let out = split(
        &c,
        &credits,
        Amount::from_sat(312_500_000),
        &p2wpkh(9),
        &ShareId::from_byte_array([0x42; 32]),
    );
    for p in &out {
        println!("| `{}` | {} |", p.script.to_hex_string(), p.amount.to_sat());
    }
    let amounts: Vec<u64> = out.iter().map(|p| p.amount.to_sat()).collect();
    // bonus 1_562_500; D = 310_937_500 split 5:3:1:1; remainder 0.
    assert_eq!(
        amounts,
        vec![155_468_750, 93_281_250, 31_093_750, 31_093_750, 1_562_500]
    );
    let bytes = hex_string(&payout_bytes(&out));
    println!("payout bytes: {bytes}");
    assert_eq!(&bytes[..16], "ce43440900000000");
}

fn hex_string(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
