//! The coinbase transaction of a share (`docs/consensus.md` §4): its exact layout, the
//! share-data commitment, the BIP34 height, the standard payout scripts, and the split into
//! Stratum's `coinb1`/`coinb2`.
//!
//! Transactions are built and serialized with the `bitcoin` crate; nothing here hand-writes a
//! transaction encoding.

use bitcoin::absolute::LockTime;
use bitcoin::script::{Builder, PushBytesBuf};
use bitcoin::transaction::Version;
use bitcoin::{OutPoint, Script, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness};
use otedama_proto::amount::Amount;
use otedama_proto::hash::{MerkleNode, Txid};
use otedama_proto::merkle;

use crate::codec;
use crate::payout::Payout;
use crate::share::{CoinbaseParts, ShareCommitment, ShareData};

/// The four ASCII bytes after `OP_RETURN OP_PUSHBYTES_36` in the share-data commitment output.
pub const COMMITMENT_TAG: [u8; 4] = *b"OTDM";

/// The input script of a coinbase: 2..=100 bytes (Bitcoin's consensus bounds).
pub const SCRIPT_SIG_LEN: std::ops::RangeInclusive<usize> = 2..=100;

/// The bytes Otedama nodes reserve for extranonce1 (4) and extranonce2 (4) in the input script.
pub const EXTRANONCE_LEN: usize = 8;

/// The tag Otedama nodes put after the extranonce.
pub const DEFAULT_TAG: &[u8] = b"/otedama/";

/// The share-data commitment: BLAKE3 in derive-key mode over the encoded share data (§3.2).
pub fn share_commitment(data: &ShareData) -> ShareCommitment {
    let bytes = codec::encode_share_data(data);
    ShareCommitment(
        *blake3::Hasher::new_derive_key("otedama share-data v1")
            .update(&bytes)
            .finalize()
            .as_bytes(),
    )
}

/// The output script that carries the commitment: `OP_RETURN <"OTDM" || commitment>`.
pub fn commitment_script(commitment: &ShareCommitment) -> ScriptBuf {
    let mut bytes = Vec::with_capacity(38);
    bytes.extend_from_slice(&[0x6a, 0x24]);
    bytes.extend_from_slice(&COMMITMENT_TAG);
    bytes.extend_from_slice(&commitment.0);
    ScriptBuf::from_bytes(bytes)
}

/// The push of a coin height that BIP34 requires at the start of a coinbase input script, as
/// Bitcoin Core's `CScript() << height`.
pub fn height_push(height: u32) -> ScriptBuf {
    Builder::new().push_int(i64::from(height)).into_script()
}

/// The coin height a coinbase input script starts with, if it starts with a minimal push of one.
pub fn parse_coin_height(script_sig: &Script) -> Option<u32> {
    let bytes = script_sig.as_bytes();
    let first = *bytes.first()?;
    let height = match first {
        0x00 => 0,
        0x51..=0x60 => u32::from(first - 0x50),
        0x01..=0x05 => {
            let n = usize::from(first);
            let data = bytes.get(1..1 + n)?;
            if data[n - 1] & 0x80 != 0 {
                return None; // negative
            }
            let mut v: u64 = 0;
            for (i, b) in data.iter().enumerate() {
                v |= u64::from(*b) << (8 * i);
            }
            u32::try_from(v).ok()?
        }
        _ => return None,
    };
    let canonical = height_push(height);
    bytes.starts_with(canonical.as_bytes()).then_some(height)
}

/// The input script Otedama nodes build: height, the 8 extranonce bytes as one push, the tag.
pub fn otedama_script_sig(
    coin_height: u32,
    extranonce: [u8; EXTRANONCE_LEN],
    tag: &[u8],
) -> ScriptBuf {
    let mut b = Builder::new()
        .push_int(i64::from(coin_height))
        .push_slice(extranonce);
    if !tag.is_empty() {
        let push =
            PushBytesBuf::try_from(tag.to_vec()).expect("a tag of at most 75 bytes is one push");
        b = b.push_slice(push);
    }
    b.into_script()
}

/// Whether `script` is one of the standard payout forms (§3.3): P2PKH, P2SH, P2WPKH, P2WSH, P2TR.
pub fn is_standard_payout_script(script: &Script) -> bool {
    script.is_p2pkh()
        || script.is_p2sh()
        || script.is_p2wpkh()
        || script.is_p2wsh()
        || script.is_p2tr()
}

/// The coinbase transaction of §4, with its witness (the reserved value) when there is a witness
/// commitment. `payouts` must already be in coinbase order (sorted by script).
pub fn build_coinbase(
    parts: &CoinbaseParts,
    payouts: &[Payout],
    commitment: &ShareCommitment,
) -> Transaction {
    assemble(
        parts,
        payouts.iter().map(|p| (p.amount, p.script.clone())),
        payouts.len(),
        commitment,
    )
}

/// [`build_coinbase`] taking the payouts by value, so their scripts move into the outputs.
pub fn build_coinbase_from(
    parts: &CoinbaseParts,
    payouts: Vec<Payout>,
    commitment: &ShareCommitment,
) -> Transaction {
    let n = payouts.len();
    assemble(
        parts,
        payouts.into_iter().map(|p| (p.amount, p.script)),
        n,
        commitment,
    )
}

/// The one place the coinbase layout of §4 is written down.
fn assemble(
    parts: &CoinbaseParts,
    payouts: impl Iterator<Item = (Amount, ScriptBuf)>,
    n: usize,
    commitment: &ShareCommitment,
) -> Transaction {
    let mut output = Vec::with_capacity(n + 2);
    output.extend(payouts.map(|(amount, script_pubkey)| TxOut {
        value: amount.into(),
        script_pubkey,
    }));
    output.push(TxOut {
        value: bitcoin::Amount::ZERO,
        script_pubkey: commitment_script(commitment),
    });
    let mut witness = Witness::new();
    if let Some(w) = &parts.witness_commitment {
        output.push(TxOut {
            value: bitcoin::Amount::ZERO,
            script_pubkey: merkle::witness_commitment_script(w),
        });
        witness.push([0u8; 32]);
    }
    Transaction {
        version: Version::ONE,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::null(),
            script_sig: parts.script_sig.clone(),
            sequence: Sequence::MAX,
            witness,
        }],
        output,
    }
}

/// The txid of the coinbase of §4.
pub fn coinbase_txid(
    parts: &CoinbaseParts,
    payouts: &[Payout],
    commitment: &ShareCommitment,
) -> Txid {
    Txid::of(&build_coinbase(parts, payouts, commitment))
}

/// The merkle root of a block whose coinbase has `txid` and whose coinbase branch is `branch`.
pub fn merkle_root(txid: &Txid, branch: &[MerkleNode]) -> MerkleNode {
    merkle::root_from_branch(txid, branch)
}

/// A coinbase split around the extranonce for Stratum's `mining.notify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StratumCoinbase {
    /// The serialization (without witness) up to the extranonce.
    pub coinb1: Vec<u8>,
    /// The serialization after the extranonce.
    pub coinb2: Vec<u8>,
}

/// Splits the witness-free serialization of a coinbase whose input script is
/// [`otedama_script_sig`]`(coin_height, _, tag)` around its eight extranonce bytes.
pub fn split_for_stratum(tx: &Transaction, coin_height: u32) -> StratumCoinbase {
    let mut bare = tx.clone();
    bare.input[0].witness = Witness::new();
    let bytes = bitcoin::consensus::serialize(&bare);
    // version (4) + input count (1) + outpoint (36) + script length (1: at most 100 bytes).
    let script_start = 4 + 1 + 36 + 1;
    let en_start = script_start + height_push(coin_height).len() + 1;
    StratumCoinbase {
        coinb1: bytes[..en_start].to_vec(),
        coinb2: bytes[en_start + EXTRANONCE_LEN..].to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heights_round_trip_and_must_be_minimal() {
        for h in [
            0u32,
            1,
            16,
            17,
            127,
            128,
            255,
            256,
            432,
            65_535,
            840_000,
            2_000_000_000,
        ] {
            let mut script = height_push(h).to_bytes();
            script.extend_from_slice(&[0x08, 1, 2, 3, 4, 5, 6, 7, 8]);
            assert_eq!(
                parse_coin_height(Script::from_bytes(&script)),
                Some(h),
                "height {h}"
            );
        }
        // 5 pushed as one data byte instead of OP_5: not BIP34's form.
        assert_eq!(
            parse_coin_height(Script::from_bytes(&[0x01, 0x05, 0x00])),
            None
        );
        // 128 with a redundant zero byte.
        assert_eq!(
            parse_coin_height(Script::from_bytes(&[0x03, 0x80, 0x00, 0x00])),
            None
        );
        // Negative.
        assert_eq!(parse_coin_height(Script::from_bytes(&[0x01, 0x81])), None);
        assert_eq!(parse_coin_height(Script::from_bytes(&[0x6a])), None);
    }

    #[test]
    fn stratum_halves_surround_the_extranonce() {
        let en = [0xa1, 0xa2, 0xa3, 0xa4, 0xb1, 0xb2, 0xb3, 0xb4];
        let parts = CoinbaseParts {
            script_sig: otedama_script_sig(300, en, DEFAULT_TAG),
            value: otedama_proto::amount::Amount::from_sat(5_000_000_000),
            witness_commitment: Some(otedama_proto::hash::WitnessCommitment::from_byte_array(
                [9; 32],
            )),
        };
        let tx = build_coinbase(&parts, &[], &ShareCommitment([3; 32]));
        let split = split_for_stratum(&tx, 300);
        let mut joined = split.coinb1.clone();
        joined.extend_from_slice(&en);
        joined.extend_from_slice(&split.coinb2);
        let mut bare = tx.clone();
        bare.input[0].witness = Witness::new();
        assert_eq!(joined, bitcoin::consensus::serialize(&bare));
        assert_eq!(&split.coinb1[split.coinb1.len() - 1..], &[0x08]);
        // The txid is that of the witness-free bytes, as Stratum miners compute it.
        let txid = otedama_proto::pow::sha256d(&joined);
        assert_eq!(Txid::of(&tx).to_byte_array(), txid);
    }
}
