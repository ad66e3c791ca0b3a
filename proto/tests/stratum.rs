//! Stratum byte order against real blocks: the header rebuilt from Stratum's hex fields must be
//! the real header, with the real block hash.

use otedama_proto::hash::{BlockHash, MerkleNode, PowHash};
use otedama_proto::header::Header;
use otedama_proto::stratum::{
    check_version_bits, prevhash_from_stratum, prevhash_to_stratum, roll_version, u32_to_hex,
    StratumError, StratumHeader, BIP320_VERSION_MASK,
};
use otedama_proto::target::{CompactTarget, Target};

/// A real header, the Stratum fields a pool would have sent for it, and its block hash.
struct Job {
    header: &'static str,
    hash: &'static str,
    /// The previous block hash as RPC (`getblocktemplate`'s `previousblockhash`) shows it.
    rpc_prevhash: &'static str,
    /// The same hash as `mining.notify` sends it: RPC hex with its eight 4-byte words reversed.
    stratum_prevhash: &'static str,
    version: &'static str,
    nbits: &'static str,
    ntime: &'static str,
    nonce: &'static str,
}

const JOBS: [Job; 2] = [
    // Bitcoin block 100000.
    Job {
        header: "0100000050120119172a610421a6c3011dd330d9df07b63616c2cc1f1cd00200000000006657a9252aacd5c0b2940996ecff952228c3067cc38d4885efb5a4ac4247e9f337221b4d4c86041b0f2b5710",
        hash: "000000000003ba27aa200b1cecaad478d2b00432346c3f1f3986da1afd33e506",
        rpc_prevhash: "000000000002d01c1fccc21636b607dfd930d31d01c3a62104612a1719011250",
        stratum_prevhash: "1901125004612a1701c3a621d930d31d36b607df1fccc2160002d01c00000000",
        version: "00000001",
        nbits: "1b04864c",
        ntime: "4d1b2237",
        nonce: "10572b0f",
    },
    // Bitcoin block 766390, mined with version rolling (version 2e6e6000); the header is the
    // first 80 bytes of tests/data/btc_block_766390.hex.
    Job {
        header: "00606e2edece69b7efa228965eb4b3461ab041f2c1fed56cae5b07000000000000000000b01195b8cb88d6d39e3a2bfe86d753f4cf7630603860298665bdf0f9b29c91423e3a916330380817693f0082",
        hash: "000000000000000000042a943da8d706731d5d46190bdd96d0c009abc531da46",
        rpc_prevhash: "000000000000000000075bae6cd5fec1f241b01a46b3b45e9628a2efb769cede",
        stratum_prevhash: "b769cede9628a2ef46b3b45ef241b01a6cd5fec100075bae0000000000000000",
        version: "2e6e6000",
        nbits: "17083830",
        ntime: "63913a3e",
        nonce: "82003f69",
    },
];

#[test]
fn prevhash_word_order() {
    for job in &JOBS {
        let prev: BlockHash = job.rpc_prevhash.parse().expect("hash");
        assert_eq!(prevhash_to_stratum(&prev), job.stratum_prevhash);
        assert_eq!(prevhash_from_stratum(job.stratum_prevhash), Ok(prev));
    }
}

#[test]
fn header_from_stratum_fields_is_the_real_header() {
    for job in &JOBS {
        let real: Header = job.header.parse().expect("80-byte header");
        let fields = StratumHeader::from_hex_fields(
            job.version,
            job.stratum_prevhash,
            real.merkle_root(),
            job.ntime,
            job.nbits,
            job.nonce,
        )
        .expect("valid fields");
        assert_eq!(fields.to_bytes(), real.to_bytes());
        assert_eq!(fields.to_header().block_hash().to_string(), job.hash);
        // And back: the header's fields print as the Stratum hex.
        assert_eq!(u32_to_hex(real.version() as u32), job.version);
        assert_eq!(u32_to_hex(real.bits().to_consensus()), job.nbits);
        assert_eq!(u32_to_hex(real.time()), job.ntime);
        assert_eq!(u32_to_hex(real.nonce()), job.nonce);
    }
}

#[test]
fn a_real_rolled_version() {
    // 766390's version is the BIP 9 base 0x20000000 with miner bits inside the BIP 320 mask.
    let miner_bits = 0x2e6e_6000 & BIP320_VERSION_MASK;
    assert_eq!(check_version_bits(miner_bits, BIP320_VERSION_MASK), Ok(()));
    assert_eq!(
        roll_version(0x2000_0000, BIP320_VERSION_MASK, miner_bits),
        0x2e6e_6000
    );
}

#[test]
fn a_public_pool_notify_decodes_to_a_hash_that_meets_its_target() {
    // A testnet mining.notify posted publicly (prevhash, nbits). The previous block's hash must
    // meet (about) the job's target, which holds only with the right word order.
    let prev =
        prevhash_from_stratum("4128bf630f57387b00e25b419d1bb77e667e4036a7d8fee80000015600000000")
            .expect("valid prevhash");
    assert_eq!(
        prev.to_string(),
        "0000000000000156a7d8fee8667e40369d1bb77e00e25b410f57387b4128bf63"
    );
    let target =
        Target::from_compact(CompactTarget::from_consensus(0x1a02b098)).expect("valid bits");
    assert!(target.meets(&PowHash(prev.0)));
}

#[test]
fn bad_fields_name_the_field() {
    let root = MerkleNode::ZERO;
    let prev = JOBS[0].stratum_prevhash;
    let err =
        StratumHeader::from_hex_fields("0000001", prev, root, "4d1b2237", "1b04864c", "10572b0f")
            .unwrap_err();
    assert!(
        matches!(
            err,
            StratumError::WrongLength {
                field: "version",
                expected: 8,
                ..
            }
        ),
        "{err}"
    );
    let err = StratumHeader::from_hex_fields(
        "00000001",
        &prev[2..],
        root,
        "4d1b2237",
        "1b04864c",
        "10572b0f",
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            StratumError::WrongLength {
                field: "prevhash",
                expected: 64,
                ..
            }
        ),
        "{err}"
    );
    let err =
        StratumHeader::from_hex_fields("00000001", prev, root, "4d1b2237", "1b04864c", "10572b0x")
            .unwrap_err();
    assert!(
        matches!(err, StratumError::BadHex { field: "nonce", .. }),
        "{err}"
    );
    assert!(err.to_string().contains("10572b0x"));
}
