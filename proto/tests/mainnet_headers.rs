//! Real mainnet blocks of both coins (provenance in tests/data/README.md): block hash, proof of
//! work, target from bits, merkle root from the full txid list, coinbase branch, and the
//! segwit witness commitment.

use bitcoin::consensus::encode::deserialize;
use bitcoin::{Block, Transaction};
use otedama_proto::chain::{Coin, Network, PowAlgo};
use otedama_proto::hash::{BlockHash, MerkleNode, Txid, Wtxid};
use otedama_proto::header::Header;
use otedama_proto::merkle::{
    coinbase_branch, commitment_in_script, merkle_root, root_from_branch, witness_commitment,
    witness_root,
};
use otedama_proto::pow::{pow_hash, pow_hash_meets};
use otedama_proto::target::Target;

/// A block under test, its transactions in block order and the published facts about it.
struct Case {
    name: &'static str,
    coin: Coin,
    header: Header,
    txs: Vec<Transaction>,
    /// The block hash block explorers and RPC show.
    hash: &'static str,
    prev_hash: &'static str,
    merkle_root: &'static str,
    /// The target from `bits`, in 64-digit big-endian hex as RPC prints it.
    target: &'static str,
}

fn raw_block(hex_text: &str) -> (Header, Vec<Transaction>) {
    let bytes = hex::decode(hex_text.trim()).expect("test data is hex");
    let block: Block =
        deserialize(&bytes).expect("a pre-MWEB block decodes with the bitcoin crate");
    let header = Header::from_bytes(&bytes[..80]).expect("80 bytes");
    assert_eq!(header, Header::from(block.header));
    (header, block.txdata)
}

fn case(name: &'static str, coin: Coin, hex_text: &str, facts: [&'static str; 4]) -> Case {
    let (header, txs) = raw_block(hex_text);
    let [hash, prev_hash, merkle_root, target] = facts;
    Case {
        name,
        coin,
        header,
        txs,
        hash,
        prev_hash,
        merkle_root,
        target,
    }
}

/// Litecoin's MWEB-era HogEx transaction carries the MWEB flag 0x08 after the segwit marker and
/// one byte for an (absent) MWEB transaction before the lock time. Its txid is the hash of the
/// plain serialization, which this rebuilds: version, inputs, outputs, lock time.
fn strip_hogex_flag(raw: &[u8]) -> Vec<u8> {
    assert_eq!(raw[4..6], [0x00, 0x08], "HogEx marker and MWEB flag");
    let n = raw.len();
    assert_eq!(raw[n - 5], 0x00, "no MWEB transaction attached");
    [&raw[..4], &raw[6..n - 5], &raw[n - 4..]].concat()
}

/// Litecoin 2383209, stored as the header and each transaction as `getblock … 2` gives it.
fn litecoin_2383209() -> (Case, Vec<Txid>) {
    let text = include_str!("data/ltc_block_2383209.txt");
    let mut header = None;
    let (mut txs, mut listed) = (Vec::new(), Vec::new());
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields[..] {
            ["header", h] => header = Some(h.parse::<Header>().expect("80-byte header")),
            ["tx", txid, raw] => {
                let raw = hex::decode(raw).expect("hex");
                let raw = if raw[4..6] == [0x00, 0x08] {
                    strip_hogex_flag(&raw)
                } else {
                    raw
                };
                txs.push(deserialize::<Transaction>(&raw).expect("transaction decodes"));
                listed.push(txid.parse::<Txid>().expect("txid"));
            }
            _ => panic!("unexpected line in ltc_block_2383209.txt: {line}"),
        }
    }
    let case = Case {
        name: "litecoin 2383209 (segwit, MWEB era)",
        coin: Coin::Litecoin,
        header: header.expect("file has a header line"),
        txs,
        hash: "0e6ab03c6ffc04a9bd9dc85a3e216a09f8d42b6f0bf0ce009c47c2c1347e11c2",
        prev_hash: "d01b594f0540457648f21cfc6ae1e65bc04324d55e551deeaa276da18993ed4b",
        merkle_root: "f28e248e70218d1e994a6d2c96ea06028ac8de07e33442ab95f41ea10e9f9dc9",
        target: "00000000000000d3d80000000000000000000000000000000000000000000000",
    };
    (case, listed)
}

fn all_cases() -> Vec<Case> {
    let zero = "0000000000000000000000000000000000000000000000000000000000000000";
    vec![
        case(
            "bitcoin genesis",
            Coin::Bitcoin,
            include_str!("data/btc_block_0.hex"),
            [
                "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f",
                zero,
                "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b",
                "00000000ffff0000000000000000000000000000000000000000000000000000",
            ],
        ),
        case(
            "bitcoin 100000",
            Coin::Bitcoin,
            include_str!("data/btc_block_100000.hex"),
            [
                "000000000003ba27aa200b1cecaad478d2b00432346c3f1f3986da1afd33e506",
                "000000000002d01c1fccc21636b607dfd930d31d01c3a62104612a1719011250",
                "f3e94742aca4b5ef85488dc37c06c3282295ffec960994b2c0d5ac2a25a95766",
                "000000000004864c000000000000000000000000000000000000000000000000",
            ],
        ),
        case(
            "bitcoin 766390 (segwit, taproot)",
            Coin::Bitcoin,
            include_str!("data/btc_block_766390.hex"),
            [
                "000000000000000000042a943da8d706731d5d46190bdd96d0c009abc531da46",
                "000000000000000000075bae6cd5fec1f241b01a46b3b45e9628a2efb769cede",
                "42919cb2f9f0bd6586296038603076cff453d786fe2b3a9ed3d688cbb89511b0",
                "0000000000000000000838300000000000000000000000000000000000000000",
            ],
        ),
        case(
            "litecoin genesis",
            Coin::Litecoin,
            include_str!("data/ltc_block_0.hex"),
            [
                "12a765e31ffd4059bada1e25190f6e98c99d9714d334efa41a195a7e7e04bfe2",
                zero,
                "97ddfbbae6be97fd6cdf3e7ca13232a3afff2353e29badfab7f73011edd4ced9",
                "00000ffff0000000000000000000000000000000000000000000000000000000",
            ],
        ),
        case(
            "litecoin 1",
            Coin::Litecoin,
            include_str!("data/ltc_block_1.hex"),
            [
                "80ca095ed10b02e53d769eb6eaf92cd04e9e0759e5be4a8477b42911ba49c78f",
                "12a765e31ffd4059bada1e25190f6e98c99d9714d334efa41a195a7e7e04bfe2",
                "fa3906a4219078364372d0e2715f93e822edd0b47ce146c71ba7ba57179b50f6",
                "00000ffff0000000000000000000000000000000000000000000000000000000",
            ],
        ),
        litecoin_2383209().0,
    ]
}

#[test]
fn block_hash_is_sha256d_of_the_header() {
    for c in all_cases() {
        assert_eq!(c.header.block_hash().to_string(), c.hash, "{}", c.name);
        assert_eq!(
            c.header.prev_block_hash().to_string(),
            c.prev_hash,
            "{}",
            c.name
        );
        let bytes = c.header.to_bytes();
        assert_eq!(
            pow_hash(PowAlgo::Sha256d, &bytes).to_byte_array(),
            c.header.block_hash().0,
            "{}",
            c.name
        );
    }
}

#[test]
fn proof_of_work_meets_the_target_from_bits() {
    for c in all_cases() {
        let target = c.header.target().expect("real bits decode");
        assert_eq!(target.to_string(), c.target, "{}", c.name);
        let limit = Target::pow_limit(c.coin, Network::Mainnet).expect("mainnet");
        assert_eq!(
            Target::from_compact_checked(c.header.bits(), &limit),
            Ok(target),
            "{}",
            c.name
        );
        let algo = c.coin.pow_algo();
        assert!(
            pow_hash_meets(algo, &c.header.to_bytes(), &target),
            "{}",
            c.name
        );
        assert!(c.header.meets(algo, &target), "{}", c.name);
        // A target one step harder than the hash itself is not met.
        let hash_value = otedama_proto::uint::U256::from_le_bytes(c.header.pow_hash(algo).0);
        let harder = Target::from_u256(
            hash_value
                .checked_sub(otedama_proto::uint::U256::ONE)
                .expect("hash > 0"),
        );
        assert!(!c.header.meets(algo, &harder), "{}", c.name);
    }
}

#[test]
fn litecoin_scrypt_hashes() {
    // The genesis scrypt hash is the widely published one; it is far above the block hash.
    let cases = all_cases();
    let genesis = cases
        .iter()
        .find(|c| c.name == "litecoin genesis")
        .expect("present");
    assert_eq!(
        genesis.header.pow_hash(PowAlgo::Scrypt).to_string(),
        "0000050c34a64b415b6b15b37f2216634b5b1669cb9a2e38d76f7213b0671e00"
    );
    // Litecoin's block hash alone would not meet its target: the proof of work is scrypt.
    let recent = litecoin_2383209().0;
    let target = recent.header.target().expect("valid");
    assert!(!target.meets(&otedama_proto::hash::PowHash(recent.header.block_hash().0)));
    assert!(recent.header.meets(PowAlgo::Scrypt, &target));
}

#[test]
fn merkle_root_from_the_full_txid_list() {
    for c in all_cases() {
        let txids: Vec<Txid> = c.txs.iter().map(Txid::of).collect();
        let root = merkle_root(&txids).expect("blocks have a coinbase");
        assert_eq!(root.to_string(), c.merkle_root, "{}", c.name);
        assert_eq!(root, c.header.merkle_root(), "{}", c.name);
        // The Stratum way: the branch from the coinbase, without knowing the coinbase.
        let branch = coinbase_branch(&txids[1..]);
        assert_eq!(root_from_branch(&txids[0], &branch), root, "{}", c.name);
        assert_eq!(
            branch.len(),
            usize::BITS as usize - (txids.len() - 1).leading_zeros() as usize
        );
    }
}

#[test]
fn published_txids_and_branch_of_bitcoin_100000() {
    let c = &all_cases()[1];
    let txids: Vec<String> = c.txs.iter().map(|tx| Txid::of(tx).to_string()).collect();
    assert_eq!(
        txids,
        [
            "8c14f0db3df150123e6f3dbbf30f8b955a8249b62ac1d1ff16284aefa3d06d87",
            "fff2525b8931402dd09222c50775608f75787bd2b87e56995a7bdd30f79702c4",
            "6359f0868171b1d194cbee1af2f16ea598ae8fad666d9b012c8ed2b79a236ec4",
            "e9a66845e05d5abc0ad04ec80f774a7e585c6e8db975962d069a522137b80c1d",
        ]
    );
    // The coinbase's merkle proof as the Esplora API publishes it for this block.
    let others: Vec<Txid> = c.txs[1..].iter().map(Txid::of).collect();
    let branch: Vec<String> = coinbase_branch(&others)
        .iter()
        .map(MerkleNode::to_string)
        .collect();
    assert_eq!(
        branch,
        [
            "fff2525b8931402dd09222c50775608f75787bd2b87e56995a7bdd30f79702c4",
            "8e30899078ca1813be036a073bbf80b86cdddde1c96e9e9c99e9e3782df4ae49",
        ]
    );
}

#[test]
fn litecoin_txids_match_the_rpc() {
    let (c, listed) = litecoin_2383209();
    let computed: Vec<Txid> = c.txs.iter().map(Txid::of).collect();
    assert_eq!(computed, listed);
    assert!(
        c.txs
            .iter()
            .any(|tx| tx.input.iter().any(|i| !i.witness.is_empty())),
        "has segwit spends"
    );
}

#[test]
fn chain_links() {
    let cases = all_cases();
    let hash = |i: usize| cases[i].header.block_hash();
    assert_eq!(
        cases[4].header.prev_block_hash(),
        hash(3),
        "litecoin 1 follows litecoin genesis"
    );
    assert_eq!(cases[0].header.prev_block_hash(), BlockHash::ZERO);
}

/// Checks the BIP 141 commitment of a segwit block from its wtxids and the coinbase.
fn check_witness_commitment(c: &Case) {
    let coinbase = &c.txs[0];
    let wtxids: Vec<Wtxid> = c.txs[1..].iter().map(Wtxid::of).collect();
    let reserved: [u8; 32] = coinbase.input[0]
        .witness
        .nth(0)
        .expect("reserved value")
        .try_into()
        .expect("32 bytes");
    let committed = coinbase
        .output
        .iter()
        .rev()
        .find_map(|o| commitment_in_script(&o.script_pubkey))
        .expect("a commitment output");
    assert_eq!(
        witness_commitment(&witness_root(&wtxids), &reserved),
        committed,
        "{}",
        c.name
    );
}

#[test]
fn segwit_witness_commitments() {
    let cases = all_cases();
    let btc = &cases[2];
    assert!(btc
        .txs
        .iter()
        .skip(1)
        .any(|tx| tx.input.iter().any(|i| !i.witness.is_empty())));
    check_witness_commitment(btc);
    // Cross-check with the bitcoin crate's own block check.
    let block = Block {
        header: btc.header.into(),
        txdata: btc.txs.clone(),
    };
    assert!(block.check_witness_commitment());
    check_witness_commitment(&litecoin_2383209().0);
}
