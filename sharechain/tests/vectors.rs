//! The test vectors of `docs/consensus.md` §14: consensus ids of the built-in networks, a
//! retarget table and a payout split. A compatible node must reproduce them; run with
//! `--nocapture` to print them.

use bitcoin::{Script, ScriptBuf};
use otedama_proto::amount::Amount;
use otedama_proto::chain::{Coin, Network};
use otedama_proto::hash::PowHash;
use otedama_proto::target::CompactTarget;
use otedama_proto::uint::U256;
use otedama_sharechain::payout::{payout_bytes, split};
use otedama_sharechain::retarget::{next_max_target, ParentTiming};
use otedama_sharechain::{Consensus, ConsensusParams};

const IDS: [(Coin, Network, &str); 7] = [
    (
        Coin::Bitcoin,
        Network::Mainnet,
        "1c808a55bf7a58de4e24ad523eb1c8b282288468d3f693ced42e20202ad2d6f6",
    ),
    (
        Coin::Bitcoin,
        Network::Testnet,
        "89964e383ba9ff90714c0d3191adbd58603a9ff45cf87cd4860d2f1d6630a589",
    ),
    (
        Coin::Bitcoin,
        Network::Signet,
        "ba7ed13be599ad27334430e9818ea3323f6138bcfe6aba0714de0722211b0cd3",
    ),
    (
        Coin::Bitcoin,
        Network::Regtest,
        "02d53b4b415ec0d06db4d6a801fab97b63849ca2e14325d3d2c0b6d931b35c6f",
    ),
    (
        Coin::Litecoin,
        Network::Mainnet,
        "c73e858bf856f90994c009ddba4f6747ba723941033991e49a0a4fbf673193f2",
    ),
    (
        Coin::Litecoin,
        Network::Testnet,
        "42543c0739e7ba2ce1ab420a16ca0c9d8df65f735329633d8364dfd8a1a362d5",
    ),
    (
        Coin::Litecoin,
        Network::Regtest,
        "80750c168131916be3b50e6f1272deb0cdd9acce99d6470f283c4981eb008003",
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
    let bits = CompactTarget::from_consensus(0x1a0404cb);
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
            0x1a020265, 0x1a020265, 0x1a03bffe, 0x1a03e1d1, 0x1a0404cb, 0x1a044ebf, 0x1a05aecf,
            0x1a080996, 0x1a080996
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
        &PowHash::from_byte_array([0x42; 32]),
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

/// §14's second payout vector: an output cap, a rounding remainder and a lottery whose seed has
/// distinct bytes (read little-endian, the winner is payee 6; read big-endian it would be 4).
#[test]
fn payout_split_with_cap_remainder_and_lottery() {
    let mut p = ConsensusParams::for_network(Coin::Bitcoin, Network::Mainnet).expect("exists");
    p.max_payout_outputs = 5;
    let c = Consensus::new(p).expect("valid");
    let scripts: Vec<ScriptBuf> = (1..=7).map(p2wpkh).collect();
    let credits: Vec<(&Script, U256)> = scripts
        .iter()
        .zip([7u64, 6, 5, 4, 3, 2, 1])
        .map(|(s, w)| (s.as_script(), U256::from_u64(w) << 64))
        .collect();
    let seed: [u8; 32] = std::array::from_fn(|i| i as u8);
    let out = split(
        &c,
        &credits,
        Amount::from_sat(100_000_007),
        &p2wpkh(9),
        &PowHash::from_byte_array(seed),
    );
    for p in &out {
        println!("| `{}` | {} |", p.script.to_hex_string(), p.amount.to_sat());
    }
    let got: Vec<(u8, u64)> = out
        .iter()
        .map(|p| (p.script.as_bytes()[2], p.amount.to_sat()))
        .collect();
    // bonus 500 000, D = 99 500 007; K = 5 keeps three (7:6:5 of 28), the tail (4+3+2+1 of 28)
    // gets 35 535 716 and goes to one payee by lottery: x = seed mod 10·2^64 ≈ 8.03·2^64, the
    // running sum 4, 7, 9 first exceeds it at payee 6. Remainder 2 to the finder.
    assert_eq!(
        got,
        vec![
            (1, 24_875_001),
            (2, 21_321_430),
            (3, 17_767_858),
            (6, 35_535_716),
            (9, 500_002)
        ]
    );
}

/// §14's third payout vector: payees below the minimum payout, a tail too small for a lottery.
#[test]
fn payout_split_below_the_minimum_payout() {
    let c = Consensus::for_network(Coin::Bitcoin, Network::Mainnet).expect("exists");
    let scripts: Vec<ScriptBuf> = (1..=5).map(p2wpkh).collect();
    let credits: Vec<(&Script, U256)> = scripts
        .iter()
        .zip([50u64, 30, 15, 4, 1])
        .map(|(s, w)| (s.as_script(), U256::from_u64(w) << 64))
        .collect();
    let seed: [u8; 32] = std::array::from_fn(|i| 0xff - i as u8);
    let out = split(
        &c,
        &credits,
        Amount::from_sat(100_000),
        &p2wpkh(9),
        &PowHash::from_byte_array(seed),
    );
    for p in &out {
        println!("| `{}` | {} |", p.script.to_hex_string(), p.amount.to_sat());
    }
    let got: Vec<(u8, u64)> = out
        .iter()
        .map(|p| (p.script.as_bytes()[2], p.amount.to_sat()))
        .collect();
    // bonus 500, D = 99 500: 49 750, 29 850, 14 925 kept; payee 4 would get 3 980 < 10 000, so
    // 4 and 5 form the tail, 4 975 < 10 000: no lottery, the finder gets 500 + 4 975.
    assert_eq!(got, vec![(1, 49_750), (2, 29_850), (3, 14_925), (9, 5_475)]);
}
