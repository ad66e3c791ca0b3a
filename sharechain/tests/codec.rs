//! Encode/decode round trips of shares and stored records for arbitrary field values, and the
//! codec's limits.

use bitcoin::ScriptBuf;
use otedama_proto::amount::Amount;
use otedama_proto::hash::{MerkleNode, ShareId, Txid, WitnessCommitment};
use otedama_proto::header::Header;
use otedama_proto::target::{CompactTarget, Work};
use otedama_proto::uint::U256;
use otedama_sharechain::codec::{self, CodecError, StoredShare};
use otedama_sharechain::params::{ConsensusId, MAX_SHARE_BYTES};
use otedama_sharechain::{CoinbaseParts, Share, ShareCommitment, ShareData};
use proptest::prelude::*;

fn arb_share() -> impl Strategy<Value = Share> {
    (
        (
            any::<u16>(),
            any::<[u8; 32]>(),
            any::<[u8; 32]>(),
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
        ),
        (
            proptest::collection::vec(any::<u8>(), 0..=34),
            proptest::collection::vec(any::<[u8; 32]>(), 0..=4),
        ),
        proptest::collection::vec(any::<u8>(), 80),
        (
            proptest::collection::vec(any::<u8>(), 0..=100),
            any::<u64>(),
            proptest::option::of(any::<[u8; 32]>()),
        ),
        (
            any::<[u8; 32]>(),
            any::<[u8; 32]>(),
            proptest::collection::vec(any::<[u8; 32]>(), 0..=24),
        ),
    )
        .prop_map(
            |(
                (version, cid, prev, height, max_bits, bits),
                (script, uncles),
                header,
                (sig, value, wc),
                (c, txid, branch),
            )| Share {
                data: ShareData {
                    version,
                    consensus_id: ConsensusId(cid),
                    prev_share: ShareId::from_byte_array(prev),
                    height,
                    max_bits: CompactTarget::from_consensus(max_bits),
                    bits: CompactTarget::from_consensus(bits),
                    payout_script: ScriptBuf::from_bytes(script),
                    uncles: uncles.into_iter().map(ShareId::from_byte_array).collect(),
                },
                header: Header::from_bytes(&header).expect("80 bytes"),
                coinbase: CoinbaseParts {
                    script_sig: ScriptBuf::from_bytes(sig),
                    value: Amount::from_sat(value),
                    witness_commitment: wc.map(WitnessCommitment::from_byte_array),
                },
                commitment: ShareCommitment(c),
                coinbase_txid: Txid::from_byte_array(txid),
                merkle_branch: branch
                    .into_iter()
                    .map(MerkleNode::from_byte_array)
                    .collect(),
            },
        )
}

proptest! {
    #[test]
    fn shares_round_trip(share in arb_share()) {
        let bytes = codec::encode_share(&share);
        prop_assert!(bytes.len() <= 1325, "the largest share is 1325 bytes, got {}", bytes.len());
        prop_assert_eq!(codec::decode_share(&bytes), Ok(share.clone()));
        // The share data is a prefix of the share.
        prop_assert!(bytes.starts_with(&codec::encode_share_data(&share.data)));
    }

    #[test]
    fn records_round_trip(share in arb_share(), root in any::<bool>(), work in any::<[u8; 32]>()) {
        let record = StoredShare { share, root, chain_work: Work::from_u256(U256::from_le_bytes(work)) };
        prop_assert_eq!(codec::decode_record(&codec::encode_record(&record)), Ok(record));
    }

    #[test]
    fn truncations_never_decode(share in arb_share(), cut in any::<prop::sample::Index>()) {
        let bytes = codec::encode_share(&share);
        let at = cut.index(bytes.len());
        prop_assert!(codec::decode_share(&bytes[..at]).is_err());
    }

    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1600)) {
        let _ = codec::decode_share(&bytes);
        let _ = codec::decode_record(&bytes);
    }
}

#[test]
fn the_largest_share_fits_the_limit() {
    let share = Share {
        data: ShareData {
            version: 1,
            consensus_id: ConsensusId([0; 32]),
            prev_share: ShareId::ZERO,
            height: 0,
            max_bits: CompactTarget::from_consensus(0),
            bits: CompactTarget::from_consensus(0),
            payout_script: ScriptBuf::from_bytes(vec![0; 34]),
            uncles: vec![ShareId::ZERO; 4],
        },
        header: Header::from_bytes(&[0; 80]).expect("80 bytes"),
        coinbase: CoinbaseParts {
            script_sig: ScriptBuf::from_bytes(vec![0; 100]),
            value: Amount::ZERO,
            witness_commitment: Some(WitnessCommitment::from_byte_array([0; 32])),
        },
        commitment: ShareCommitment([0; 32]),
        coinbase_txid: Txid::from_byte_array([0; 32]),
        merkle_branch: vec![MerkleNode::ZERO; 24],
    };
    let bytes = codec::encode_share(&share);
    assert_eq!(bytes.len(), 1325);
    assert!(bytes.len() <= MAX_SHARE_BYTES);
}

#[test]
fn unknown_record_versions_are_named() {
    assert_eq!(
        codec::decode_record(&[2; 40]),
        Err(CodecError::UnknownRecordVersion(2))
    );
    assert_eq!(
        codec::decode_record(&[1; 3]),
        Err(CodecError::ShortRecord(3))
    );
}
