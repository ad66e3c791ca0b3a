//! Turns a found header, its coinbase and the daemon's template into the block `submitblock`
//! takes: header, transaction count, the coinbase, the template's transactions, and (Litecoin,
//! once MWEB is active) the MWEB extension block.

use crate::daemon::BlockTemplate;
use bitcoin::consensus::encode::{serialize, VarInt};
use bitcoin::Transaction;
use otedama_proto::hash::{MerkleNode, Txid, Wtxid};
use otedama_proto::merkle;

/// A template whose transactions cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    /// A transaction or txid in the template is not valid hex.
    #[error("template transaction {index} has a bad {field}: {detail}")]
    BadTransaction {
        /// Its position in the template (0 is the first after the coinbase).
        index: usize,
        /// Which field.
        field: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// The MWEB extension block is not valid hex.
    #[error("template MWEB block is not valid hex: {0}")]
    BadMweb(String),
    /// An MWEB template that does not fit even without every transaction its MWEB block is not
    /// bound to: the HogEx (last) and the peg-ins it spends, with their ancestors, leave no room
    /// for the coinbase (or the template cannot be read well enough to tell them apart).
    #[error(
        "the block would exceed the daemon's limits with Otedama's coinbase even without the \
         transactions the MWEB block does not need (its HogEx and peg-ins cannot be dropped); give \
         the coinbase room with -blockmaxweight=3960000 on the daemon"
    )]
    MwebTooFull,
}

/// The txids of the template's transactions, in block order (the coinbase excluded).
pub fn template_txids(template: &BlockTemplate) -> Result<Vec<Txid>, BlockError> {
    template
        .transactions
        .iter()
        .enumerate()
        .map(|(index, tx)| {
            tx.txid
                .parse::<Txid>()
                .map_err(|e| BlockError::BadTransaction {
                    index,
                    field: "txid",
                    detail: e.to_string(),
                })
        })
        .collect()
}

/// The coinbase's merkle branch for the template's transactions (what `mining.notify` sends).
pub fn coinbase_branch(template: &BlockTemplate) -> Result<Vec<MerkleNode>, BlockError> {
    Ok(otedama_proto::merkle::coinbase_branch(&template_txids(
        template,
    )?))
}

/// Weight of the block header and a transaction count of up to 65535 (3 bytes), not witness data.
const HEADER_WEIGHT: u64 = (80 + 3) * 4;

/// The template cut down so that the block, with a coinbase of `coinbase_weight` and
/// `coinbase_sigops` signature-operation cost, stays within the daemon's weight and sigop limits;
/// `None` when it already fits. Transactions are dropped from the end (a transaction's parents
/// always come before it, so what remains is valid), their fees are taken off the coinbase value
/// and the witness commitment is recomputed for the transactions that remain.
///
/// A Litecoin template with an MWEB block keeps the transactions that block is bound to: its
/// HogEx (always last, its first output commits to the MWEB block), the peg-ins it spends (the
/// HogEx's inputs must match the block's peg-in outputs one for one) and, through their inputs,
/// every ancestor of those. Everything else is an ordinary transaction the MWEB block knows
/// nothing of, and is dropped like any other, from the end (a descendant of a dropped one is
/// never bound, and comes after it). The daemon's own template creation makes the same
/// distinction: it builds the HogEx from the peg-ins it selected, after every other transaction.
/// Only when the bound transactions alone leave no room for the coinbase is the template
/// unusable ([`BlockError::MwebTooFull`]); the caller then has no valid block to hand out.
pub fn fit_to_limits(
    template: &BlockTemplate,
    coinbase_weight: u64,
    coinbase_sigops: u64,
) -> Result<Option<BlockTemplate>, BlockError> {
    let weight_limit = u128::from(template.weight_limit.unwrap_or(4_000_000));
    let sigop_limit = u128::from(template.sigop_limit.unwrap_or(80_000));
    // A template without weights: four weight units per byte is the upper bound. Summed in u128:
    // a hostile or broken daemon may send absurd weights or fees.
    let cost = |tx: &crate::daemon::template::TemplateTransaction| {
        (
            u128::from(tx.weight.unwrap_or(tx.data.len() as u64 / 2 * 4)),
            u128::from(tx.sigops.unwrap_or(0)),
        )
    };
    let mut weight = u128::from(HEADER_WEIGHT) + u128::from(coinbase_weight);
    let mut sigops = u128::from(coinbase_sigops);
    for tx in &template.transactions {
        let (w, s) = cost(tx);
        weight += w;
        sigops += s;
    }
    let fits = |weight: u128, sigops: u128| weight <= weight_limit && sigops <= sigop_limit;
    if fits(weight, sigops) {
        return Ok(None);
    }
    let bound = if template.mweb.is_some() {
        mweb_bound(template)?
    } else {
        vec![false; template.transactions.len()]
    };
    let mut dropped = vec![false; template.transactions.len()];
    for (i, tx) in template.transactions.iter().enumerate().rev() {
        if fits(weight, sigops) {
            break;
        }
        if bound[i] {
            continue;
        }
        let (w, s) = cost(tx);
        weight -= w;
        sigops -= s;
        dropped[i] = true;
    }
    if !fits(weight, sigops) && template.mweb.is_some() {
        return Err(BlockError::MwebTooFull);
    }
    let mut fitted = template.clone();
    let mut dropped_fees = 0u64;
    let mut index = 0;
    fitted.transactions.retain(|t| {
        let keep = !dropped[index];
        index += 1;
        if !keep {
            dropped_fees = dropped_fees.saturating_add(t.fee);
        }
        keep
    });
    fitted.coinbase_value = fitted.coinbase_value.saturating_sub(dropped_fees);
    if fitted.default_witness_commitment.is_some() {
        let wtxids = fitted
            .transactions
            .iter()
            .enumerate()
            .map(|(index, tx)| {
                tx.hash
                    .as_deref()
                    .unwrap_or(&tx.txid)
                    .parse::<Wtxid>()
                    .map_err(|e| BlockError::BadTransaction {
                        index,
                        field: "hash",
                        detail: e.to_string(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let commitment = merkle::witness_commitment(&merkle::witness_root(&wtxids), &[0u8; 32]);
        fitted.default_witness_commitment = Some(hex::encode(
            merkle::witness_commitment_script(&commitment).as_bytes(),
        ));
    }
    Ok(Some(fitted))
}

/// Which transactions of an MWEB template its MWEB block is bound to: the HogEx (last) and,
/// transitively, every transaction of the template whose outputs a bound one spends. A last
/// transaction that is not a HogEx, or a bound transaction that does not parse, makes the whole
/// template unsafe to cut ([`BlockError::MwebTooFull`]).
fn mweb_bound(template: &BlockTemplate) -> Result<Vec<bool>, BlockError> {
    let txids = template_txids(template)?;
    let position: std::collections::HashMap<Txid, usize> =
        txids.iter().enumerate().map(|(i, t)| (*t, i)).collect();
    let mut bound = vec![false; txids.len()];
    let Some(last) = txids.len().checked_sub(1) else {
        return Err(BlockError::MwebTooFull);
    };
    bound[last] = true;
    // Parents come before their children, so one pass from the end closes the set.
    for i in (0..txids.len()).rev() {
        if !bound[i] {
            continue;
        }
        let bytes = hex::decode(&template.transactions[i].data).map_err(|e| {
            BlockError::BadTransaction {
                index: i,
                field: "data",
                detail: e.to_string(),
            }
        })?;
        let (flags, spent) = spent_txids(&bytes).ok_or(BlockError::MwebTooFull)?;
        if i == last && flags & HOGEX_FLAG == 0 {
            return Err(BlockError::MwebTooFull);
        }
        for parent in spent {
            if let Some(&j) = position.get(&parent) {
                if j < i {
                    bound[j] = true;
                }
            }
        }
    }
    Ok(bound)
}

/// Litecoin's transaction flag for MWEB data, which a HogEx carries (with a null MWEB part).
const HOGEX_FLAG: u8 = 8;

/// A transaction's serialization flags (0 without the extended format) and the txids its inputs
/// spend, read from its serialization up to the end of the inputs (the part every format shares:
/// version, optional marker and flags, inputs); `None` if it is cut short.
fn spent_txids(b: &[u8]) -> Option<(u8, Vec<Txid>)> {
    let mut p = 4usize;
    let mut flags = 0;
    if *b.get(p)? == 0 {
        flags = *b.get(p + 1)?;
        p += 2;
    }
    let inputs = read_compact_size(b, &mut p)?;
    // Each input takes at least 41 bytes: do not trust the count before allocating.
    if inputs > (b.len() / 41) as u64 {
        return None;
    }
    let mut spent = Vec::with_capacity(inputs as usize);
    for _ in 0..inputs {
        let hash: [u8; 32] = b.get(p..p + 32)?.try_into().ok()?;
        spent.push(Txid::from_byte_array(hash));
        p += 36;
        let script = usize::try_from(read_compact_size(b, &mut p)?).ok()?;
        p = p.checked_add(script)?.checked_add(4)?;
        if p > b.len() {
            return None;
        }
    }
    Some((flags, spent))
}

/// Reads a Bitcoin compact size at `p`, advancing it.
fn read_compact_size(b: &[u8], p: &mut usize) -> Option<u64> {
    let first = *b.get(*p)?;
    *p += 1;
    let width = match first {
        0xfd => 2,
        0xfe => 4,
        0xff => 8,
        n => return Some(u64::from(n)),
    };
    let mut v = [0u8; 8];
    v[..width].copy_from_slice(b.get(*p..*p + width)?);
    *p += width;
    Some(u64::from_le_bytes(v))
}

/// The serialized block: `header`, then the coinbase (with its witness) and every template
/// transaction, then the MWEB extension block when the template has one.
pub fn assemble(
    header: &[u8; 80],
    coinbase: &Transaction,
    template: &BlockTemplate,
) -> Result<Vec<u8>, BlockError> {
    let coinbase_bytes = serialize(coinbase);
    let body: usize = template.transactions.iter().map(|t| t.data.len() / 2).sum();
    let mut block = Vec::with_capacity(80 + 9 + coinbase_bytes.len() + body);
    block.extend_from_slice(header);
    block.extend_from_slice(&serialize(&VarInt(1 + template.transactions.len() as u64)));
    block.extend_from_slice(&coinbase_bytes);
    for (index, tx) in template.transactions.iter().enumerate() {
        let bytes = hex::decode(&tx.data).map_err(|e| BlockError::BadTransaction {
            index,
            field: "data",
            detail: e.to_string(),
        })?;
        block.extend_from_slice(&bytes);
    }
    if let Some(mweb) = &template.mweb {
        // Litecoin serializes the extension block as an optional value: a present flag, then the
        // block the template gives.
        let bytes = hex::decode(mweb).map_err(|e| BlockError::BadMweb(e.to_string()))?;
        block.push(1);
        block.extend_from_slice(&bytes);
    }
    Ok(block)
}

/// Litecoin transactions for tests: plain ones that spend given outputs, and a HogEx.
#[cfg(test)]
pub(crate) mod fixture {
    use bitcoin::consensus::encode::serialize;
    use bitcoin::hashes::Hash;
    use bitcoin::{absolute, transaction, Amount, OutPoint, ScriptBuf, Sequence, TxIn, TxOut};
    use otedama_proto::hash::Txid;

    /// A template transaction (JSON, as `getblocktemplate` lists it) spending `inputs`, with
    /// `weight` and `fee` as the daemon would report them, and its txid. `tag` makes it unique.
    pub fn tx(tag: u8, inputs: &[(Txid, u32)], weight: u64, fee: u64) -> (serde_json::Value, Txid) {
        let mut input: Vec<TxIn> = inputs
            .iter()
            .map(|(txid, vout)| TxIn {
                previous_output: OutPoint::new(
                    bitcoin::Txid::from_byte_array(txid.to_byte_array()),
                    *vout,
                ),
                script_sig: ScriptBuf::new(),
                sequence: Sequence::MAX,
                witness: bitcoin::Witness::new(),
            })
            .collect();
        if input.is_empty() {
            // Spends something outside the block.
            input.push(TxIn {
                previous_output: OutPoint::new(bitcoin::Txid::from_byte_array([tag; 32]), 0),
                ..TxIn::default()
            });
        }
        let t = bitcoin::Transaction {
            version: transaction::Version::TWO,
            lock_time: absolute::LockTime::ZERO,
            input,
            output: vec![
                TxOut {
                    value: Amount::from_sat(1_000 + u64::from(tag)),
                    script_pubkey: ScriptBuf::from_bytes(vec![0x51]),
                };
                2
            ],
        };
        let txid = Txid::from_byte_array(t.compute_txid().to_byte_array());
        let json = serde_json::json!({
            "data": hex::encode(serialize(&t)), "txid": txid.to_string(),
            "hash": txid.to_string(), "fee": fee, "weight": weight
        });
        (json, txid)
    }

    /// A HogEx (Litecoin's serialization: marker, flag 8, a null MWEB transaction) spending the
    /// previous HogEx and `pegins`, paying the MWEB balance to the hash `[tag; 32]`.
    pub fn hogex(tag: u8, pegins: &[(Txid, u32)], weight: u64) -> serde_json::Value {
        let mut b = vec![2, 0, 0, 0, 0x00, 0x08, 1 + pegins.len() as u8];
        let previous = std::iter::once(([0xee; 32], 0u32))
            .chain(pegins.iter().map(|(t, n)| (t.to_byte_array(), *n)));
        for (hash, n) in previous {
            b.extend_from_slice(&hash);
            b.extend_from_slice(&n.to_le_bytes());
            b.extend_from_slice(&[0, 0xff, 0xff, 0xff, 0xff]);
        }
        b.push(1);
        b.extend_from_slice(&5_000u64.to_le_bytes());
        b.extend_from_slice(&[0x22, 0x58, 0x20]);
        b.extend_from_slice(&[tag; 32]);
        b.extend_from_slice(&[0, 0, 0, 0, 0]);
        let txid = hex::encode([tag ^ 0x5a; 32]);
        serde_json::json!({"data": hex::encode(b), "txid": txid, "hash": txid, "fee": 0, "weight": weight})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::consensus::deserialize;

    fn template(txs: serde_json::Value) -> BlockTemplate {
        serde_json::from_value(serde_json::json!({
            "version": 536870912,
            "previousblockhash": "6efa5133e2b0fefc0c3d7546be60ea250444d9163baf805e4f3f59da32542239",
            "transactions": txs, "coinbasevalue": 5000000000u64,
            "target": "7fffff0000000000000000000000000000000000000000000000000000000000",
            "mintime": 1, "curtime": 2, "bits": "207fffff", "height": 2
        }))
        .unwrap()
    }

    /// Bitcoin block 170's two transactions: its coinbase and the first bitcoin payment.
    const CB_170: &str = "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff0704ffff001d0102ffffffff0100f2052a01000000434104d46c4968bde02899d2aa0963367c7a6ce34eec332b32e42e5f3407e052d64ac625da6f0718e7b302140434bd725706957c092db53805b821a85b23a7ac61725bac00000000";
    const TX_170: &str = "0100000001c997a5e56e104102fa209c6a852dd90660a20b2d9c352423edce25857fcd3704000000004847304402204e45e16932b8af514961a1d3a1a25fdf3f4f7732e9d624c6c61548ab5fb8cd410220181522ec8eca07de4860a4acdd12909d831cc56cbbac4622082221a8768d1d0901ffffffff0200ca9a3b00000000434104ae1a62fe09c5f51b13905f07f06b99a2f7159b2225f374cd378d71302fa28414e7aab37397f554a7df5f142c21c1b7303b8a0626f1baded5c72a704f7e6cd84cac00286bee0000000043410411db93e1dcdb8a016b49840f8c53bc1eb68a382e97b1482ecad7b148a6909a5cb2e0eaddfb84ccf9744464f82e160bfa9b8b64f9d4c03f999b8643f656b412a3ac00000000";

    #[test]
    fn assembles_a_block_that_decodes_with_the_right_merkle_root() {
        let coinbase: Transaction = deserialize(&hex::decode(CB_170).unwrap()).unwrap();
        let tx: Transaction = deserialize(&hex::decode(TX_170).unwrap()).unwrap();
        let t = template(serde_json::json!([{
            "data": TX_170, "txid": tx.compute_txid().to_string(), "fee": 0
        }]));
        let branch = coinbase_branch(&t).unwrap();
        let root = otedama_proto::merkle::root_from_branch(&Txid::of(&coinbase), &branch);
        // Block 170's merkle root, as explorers show it.
        assert_eq!(
            root.to_string(),
            "7dac2c5666815c17a3b36427de37bb9d2e2c5ccec3f8633eb91a4205cb4c10ff"
        );

        let header = [7u8; 80];
        let bytes = assemble(&header, &coinbase, &t).unwrap();
        let block: bitcoin::Block = deserialize(&bytes).expect("a block the bitcoin crate decodes");
        assert_eq!(block.txdata.len(), 2);
        assert_eq!(block.txdata[0], coinbase);
        assert_eq!(block.txdata[1], tx);
    }

    #[test]
    fn an_oversized_template_is_cut_from_the_end_with_its_fees() {
        let tx = |n: u8, weight: u64, fee: u64| serde_json::json!({"data": "00", "txid": hex::encode([n; 32]), "hash": hex::encode([n; 32]), "fee": fee, "weight": weight, "sigops": 4});
        let mut t = template(serde_json::json!([
            tx(1, 1_000_000, 10),
            tx(2, 1_000_000, 20),
            tx(3, 1_000_000, 30)
        ]));
        t.coinbase_value = 5_000_000_060;
        t.weight_limit = Some(4_000_000);
        t.default_witness_commitment = Some("6a24aa21a9ed".to_owned() + &"00".repeat(32));
        assert!(
            fit_to_limits(&t, 4_000, 400).unwrap().is_none(),
            "three transactions and a small coinbase fit"
        );
        let fitted = fit_to_limits(&t, 1_000_000, 400)
            .unwrap()
            .expect("a large coinbase does not fit");
        assert_eq!(fitted.transactions.len(), 2);
        assert_eq!(
            fitted.coinbase_value, 5_000_000_030,
            "the dropped transaction's fee is not paid"
        );
        let wtxids: Vec<Wtxid> = fitted
            .transactions
            .iter()
            .map(|t| t.txid.parse().unwrap())
            .collect();
        let expected = merkle::witness_commitment(&merkle::witness_root(&wtxids), &[0; 32]);
        assert_eq!(
            fitted.default_witness_commitment.unwrap(),
            hex::encode(merkle::witness_commitment_script(&expected).as_bytes())
        );
        t.sigop_limit = Some(404);
        assert_eq!(
            fit_to_limits(&t, 4_000, 400)
                .unwrap()
                .unwrap()
                .transactions
                .len(),
            1,
            "sigops count too"
        );
        t.mweb = Some("00".into());
        assert!(
            fit_to_limits(&t, 4_000, 200).unwrap().is_none(),
            "an MWEB template that fits is left alone"
        );
        assert!(
            matches!(fit_to_limits(&t, 4_000, 400), Err(BlockError::MwebTooFull)),
            "an MWEB template whose last transaction is not a readable HogEx is never cut"
        );
    }

    #[test]
    fn absurd_weights_and_fees_do_not_overflow() {
        let mut t = template(serde_json::json!([
            {"data": "00", "txid": "00", "weight": u64::MAX, "fee": u64::MAX},
            {"data": "00", "txid": "00", "fee": 1}
        ]));
        t.coinbase_value = 7;
        let fitted = fit_to_limits(&t, 4_000, 0)
            .unwrap()
            .expect("nothing fits after an oversized transaction");
        assert!(fitted.transactions.is_empty());
        assert_eq!(fitted.coinbase_value, 0);
    }

    #[test]
    fn a_full_mweb_template_drops_only_what_the_hogex_does_not_need() {
        use super::fixture::{hogex, tx};
        // A is spent by the peg-in P, which the HogEx spends; B and its child C are unrelated.
        let (a, a_id) = tx(1, &[], 10_000, 10);
        let (p, p_id) = tx(2, &[(a_id, 0)], 10_000, 20);
        let (b, b_id) = tx(3, &[], 10_000, 40);
        let (c, _) = tx(4, &[(b_id, 1)], 10_000, 80);
        let h = hogex(5, &[(p_id, 1)], 1_000);
        let mut t = template(serde_json::json!([a, p, b, c, h]));
        t.coinbase_value = 5_000_000_150;
        t.weight_limit = Some(HEADER_WEIGHT + 5_000 + 41_000);
        t.mweb = Some("00".into());
        t.default_witness_commitment = Some("6a24aa21a9ed".to_owned() + &"00".repeat(32));
        assert!(fit_to_limits(&t, 5_000, 0).unwrap().is_none(), "it fits");

        let fitted = fit_to_limits(&t, 15_000, 0)
            .expect("an MWEB template can lose the transactions the MWEB block does not bind")
            .expect("too full");
        let kept: Vec<Txid> = template_txids(&fitted).unwrap();
        let hogex_id: Txid = fitted.transactions.last().unwrap().txid.parse().unwrap();
        assert_eq!(
            kept,
            vec![a_id, p_id, b_id, hogex_id],
            "C goes first, from the end; the HogEx, its peg-in and the peg-in's parent stay"
        );
        assert_eq!(fitted.coinbase_value, 5_000_000_070);
        assert_eq!(fitted.mweb, t.mweb, "the MWEB block is untouched");

        let fitted = fit_to_limits(&t, 25_000, 0).unwrap().expect("too full");
        assert_eq!(template_txids(&fitted).unwrap(), vec![a_id, p_id, hogex_id]);
        let wtxids: Vec<Wtxid> = [a_id, p_id, hogex_id]
            .iter()
            .map(|t| t.to_string().parse().unwrap())
            .collect();
        let expected = merkle::witness_commitment(&merkle::witness_root(&wtxids), &[0; 32]);
        assert_eq!(
            fitted.default_witness_commitment.unwrap(),
            hex::encode(merkle::witness_commitment_script(&expected).as_bytes())
        );

        assert!(
            matches!(fit_to_limits(&t, 25_001, 0), Err(BlockError::MwebTooFull)),
            "the HogEx and what it spends do not fit: no template"
        );
    }

    /// Litecoin mainnet block 2383209 as `submitblock` takes it (source and checks:
    /// `node/tests/data/README.md`).
    const LTC_2383209: &str = include_str!("../../tests/data/ltc-mainnet-2383209.block.hex");

    /// Its transactions after the coinbase, as the explorer listed them: (txid, wtxid). The last
    /// is the HogEx, whose wtxid is its txid: Litecoin hashes it without the MWEB marker.
    const LTC_2383209_TXS: [(&str, &str); 7] = [
        (
            "237f0d5ef5a58ed285623f67bf4d1ebcc520c5370fac0cfb10c4e00753f96aeb",
            "237f0d5ef5a58ed285623f67bf4d1ebcc520c5370fac0cfb10c4e00753f96aeb",
        ),
        (
            "1e447efc190e81933c59652f8bfd3ee9a09405dba4a7480f5f27cec7fa954b88",
            "1e447efc190e81933c59652f8bfd3ee9a09405dba4a7480f5f27cec7fa954b88",
        ),
        (
            "1ea32ada0ac03ede6df9cbb22b00c620e618a61c66b166996b4861a716cb6317",
            "1ea32ada0ac03ede6df9cbb22b00c620e618a61c66b166996b4861a716cb6317",
        ),
        (
            "efae3cce0283dcb9ed698bbce59e3545a2086d8772dc23bf19520ac58a451f4e",
            "a21fbd9a88562c395f3d1fa72e9c8ffab55b597fc39f1e55efa73cc8fa0a51b3",
        ),
        (
            "12c31af07ceb2db08e3493b3022b399d660ca06844a9aab56647d534933b1017",
            "138f3d0c62d682bd38e11501f161f8d744ac21245f091f19758cfc62e69496ef",
        ),
        (
            "1187a66260e18bdc1185f805964fc9b53c584e2b328616c25ea441a56ec4fcbc",
            "de4f709d17b330fb7debc313a02983b0833ea849f967fb4c1206224e4a4d3d0f",
        ),
        (
            "fbcbab14f31bc094410e300b0e7be55c415a18bdee5a5285df52b17acda245df",
            "fbcbab14f31bc094410e300b0e7be55c415a18bdee5a5285df52b17acda245df",
        ),
    ];

    /// A Litecoin block cut into its parts.
    struct LtcBlock {
        header: [u8; 80],
        /// Each transaction's bytes, the coinbase first.
        txs: Vec<Vec<u8>>,
        /// The byte between the last transaction and the MWEB block (the optional's flag).
        mweb_flag: Option<u8>,
        /// The MWEB block after that byte.
        mweb: Option<Vec<u8>>,
    }

    fn compact_size(b: &[u8], p: &mut usize) -> usize {
        let first = b[*p];
        *p += 1;
        let width = match first {
            0xfd => 2,
            0xfe => 4,
            0xff => 8,
            n => return n as usize,
        };
        let mut v = [0u8; 8];
        v[..width].copy_from_slice(&b[*p..*p + width]);
        *p += width;
        u64::from_le_bytes(v) as usize
    }

    /// Core's VARINT (serialize.h `WriteVarInt`), which the MWEB header uses for its numbers.
    fn core_varint(b: &[u8], p: &mut usize) -> u64 {
        let mut n = 0u64;
        loop {
            let c = b[*p];
            *p += 1;
            n = (n << 7) | u64::from(c & 0x7f);
            if c & 0x80 == 0 {
                return n;
            }
            n += 1;
        }
    }

    /// Walks one transaction as Litecoin's `UnserializeTransaction` reads it
    /// (primitives/transaction.h): flag 1 is the segwit witness, flag 8 an optional MWEB
    /// transaction, null for the HogEx. Returns whether it is a HogEx.
    fn skip_ltc_tx(b: &[u8], p: &mut usize) -> bool {
        *p += 4;
        let mut flags = 0;
        if b[*p] == 0 {
            flags = b[*p + 1];
            *p += 2;
        }
        let inputs = compact_size(b, p);
        for _ in 0..inputs {
            *p += 36;
            let script = compact_size(b, p);
            *p += script + 4;
        }
        for _ in 0..compact_size(b, p) {
            *p += 8;
            let script = compact_size(b, p);
            *p += script;
        }
        if flags & 1 != 0 {
            for _ in 0..inputs {
                for _ in 0..compact_size(b, p) {
                    let item = compact_size(b, p);
                    *p += item;
                }
            }
        }
        let mut hogex = false;
        if flags & 8 != 0 {
            assert_eq!(
                b[*p], 0,
                "no MWEB transactions in this block, only the HogEx"
            );
            *p += 1;
            hogex = true;
        }
        assert_eq!(flags & !9, 0, "unknown transaction flags");
        *p += 4;
        hogex
    }

    /// Cuts a block as Litecoin's `CBlock` unserializes it (primitives/block.h): header, the
    /// transactions, then the MWEB block when the last of at least two transactions is a HogEx.
    fn split_ltc_block(b: &[u8]) -> LtcBlock {
        let mut p = 80;
        let count = compact_size(b, &mut p);
        let mut txs = Vec::new();
        let mut last_is_hogex = false;
        for _ in 0..count {
            let start = p;
            last_is_hogex = skip_ltc_tx(b, &mut p);
            txs.push(b[start..p].to_vec());
        }
        let (mweb_flag, mweb) = if count >= 2 && last_is_hogex {
            (Some(b[p]), Some(b[p + 1..].to_vec()))
        } else {
            assert_eq!(p, b.len(), "nothing after the transactions without a HogEx");
            (None, None)
        };
        LtcBlock {
            header: b[..80].try_into().unwrap(),
            txs,
            mweb_flag,
            mweb,
        }
    }

    /// The template litecoind's `getblocktemplate` gave for block 2383209: every transaction but
    /// the coinbase in block order, the HogEx last, and `mweb` the bare `mw::Block`.
    fn ltc_2383209_template(block: &LtcBlock) -> BlockTemplate {
        let txs: Vec<_> = block.txs[1..]
            .iter()
            .zip(LTC_2383209_TXS)
            .map(|(data, (txid, wtxid))| {
                serde_json::json!({"data": hex::encode(data), "txid": txid, "hash": wtxid, "fee": 0})
            })
            .collect();
        let mut t = template(serde_json::Value::Array(txs));
        t.height = 2_383_209;
        t.mweb = Some(hex::encode(block.mweb.as_ref().unwrap()));
        t
    }

    #[test]
    fn assembles_a_real_litecoin_mweb_block_byte_for_byte() {
        let bytes = hex::decode(LTC_2383209.trim()).unwrap();
        let block = split_ltc_block(&bytes);
        let header: bitcoin::block::Header = deserialize(&block.header).unwrap();
        assert_eq!(
            header.block_hash().to_string(),
            "0e6ab03c6ffc04a9bd9dc85a3e216a09f8d42b6f0bf0ce009c47c2c1347e11c2"
        );
        assert_eq!(block.txs.len(), 8);
        assert_eq!(
            block.mweb_flag,
            Some(1),
            "the MWEB block is a present optional"
        );

        let coinbase: Transaction = deserialize(&block.txs[0]).unwrap();
        let t = ltc_2383209_template(&block);
        // The HogEx is one of the template's transactions, so it is in the coinbase's branch.
        let root = otedama_proto::merkle::root_from_branch(
            &Txid::of(&coinbase),
            &coinbase_branch(&t).unwrap(),
        );
        assert_eq!(root.to_string(), header.merkle_root.to_string());
        let wtxids: Vec<Wtxid> = LTC_2383209_TXS
            .iter()
            .map(|(_, w)| w.parse().unwrap())
            .collect();
        let commitment = merkle::witness_commitment(&merkle::witness_root(&wtxids), &[0u8; 32]);
        assert_eq!(
            coinbase.output[1].script_pubkey.as_bytes(),
            merkle::witness_commitment_script(&commitment).as_bytes(),
            "the HogEx's wtxid is the one the template gives"
        );

        assert_eq!(
            assemble(&block.header, &coinbase, &t).unwrap(),
            bytes,
            "header, count, coinbase, template transactions, 01, template mweb"
        );

        // Too full for a large coinbase: the real HogEx is read as one and kept, alone (this
        // block has no peg-ins); the other transactions go.
        let mut full = t.clone();
        let hogex_weight = full.transactions.last().unwrap().data.len() as u64 / 2 * 4;
        full.weight_limit = Some(HEADER_WEIGHT + 20_000 + hogex_weight);
        let fitted = fit_to_limits(&full, 20_000, 0).unwrap().expect("too full");
        assert_eq!(fitted.transactions.len(), 1);
        assert_eq!(fitted.transactions[0].txid, LTC_2383209_TXS[6].0);
    }

    /// Pins what Litecoin Core (litecoin-project/litecoin, 0.21 with MWEB) does:
    /// - rpc/mining.cpp `getblocktemplate`: `transactions` lists every `pblock->vtx` but the
    ///   coinbase as `EncodeHexTx(tx)`, so the HogEx comes last, in the MWEB serialization
    ///   (primitives/transaction.h `SerializeTransaction`: flag 8, then its null `mweb_tx` as 00);
    ///   `mweb` is `HexStr(mweb_block.m_block->Serialized())`, the `mw::Block` alone.
    /// - primitives/block.h `CBlock::SERIALIZE_METHODS`: after `vtx`, when the last of two or more
    ///   transactions `IsHogEx()`, `READWRITE(obj.mweb_block)`; mweb/mweb_models.h `MWEB::Block`
    ///   writes `WrapOptionalPtr(m_block)`, and serialize.h `OptionalPtr::Serialize` writes a
    ///   `uint8_t` 1 before a present block. So the block ends `01` + the template's `mweb`.
    /// - libmw mw/models/block/Header.h: VARINT height, output, kernel and leafset roots, kernel
    ///   and stealth offsets, VARINT output and kernel MMR sizes; its hash is BLAKE3 of that, and
    ///   the HogEx's single output pays to it (`OP_8 <hash>`).
    #[test]
    fn the_template_mweb_field_is_the_bare_mw_block_and_the_hogex_is_its_last_transaction() {
        let bytes = hex::decode(LTC_2383209.trim()).unwrap();
        let block = split_ltc_block(&bytes);
        let t = ltc_2383209_template(&block);

        let hogex = hex::decode(&t.transactions.last().unwrap().data).unwrap();
        assert_eq!(
            &hogex[4..6],
            &[0x00, 0x08],
            "marker, then the MWEB flag alone"
        );
        assert_eq!(
            &hogex[hogex.len() - 5..],
            &[0, 0, 0, 0, 0],
            "a null MWEB transaction, then lock time 0"
        );

        let mweb = hex::decode(t.mweb.as_ref().unwrap()).unwrap();
        let mut p = 0;
        assert_eq!(
            core_varint(&mweb, &mut p),
            u64::from(t.height),
            "the field starts with the MWEB header's height, not an optional's flag"
        );
        p += 5 * 32;
        assert_eq!(core_varint(&mweb, &mut p), 12_555, "output MMR size");
        assert_eq!(core_varint(&mweb, &mut p), 0, "kernel MMR size");
        let mweb_hash = blake3::hash(&mweb[..p]);
        // The HogEx's output: value, then a 34-byte script OP_8 PUSH32 <MWEB header hash>.
        let script = &hogex[hogex.len() - 5 - 34..hogex.len() - 5];
        assert_eq!(&script[..2], &[0x58, 0x20]);
        assert_eq!(&script[2..], mweb_hash.as_bytes());
        assert_eq!(
            hex::encode(mweb_hash.as_bytes()),
            "fc7da6da9aeb7186c6fcdd7d9b770de8b93f8116820e6441f370b3c92b29ca53"
        );
        assert_eq!(&mweb[p..], &[0, 0, 0], "no inputs, outputs or kernels");

        let coinbase: Transaction = deserialize(&block.txs[0]).unwrap();
        let assembled = assemble(&block.header, &coinbase, &t).unwrap();
        let at = assembled.len() - mweb.len();
        assert_eq!(&assembled[at - 1 - hogex.len()..at - 1], &hogex[..]);
        assert_eq!(
            assembled[at - 1],
            1,
            "one flag byte between the HogEx and the block"
        );
        assert_eq!(&assembled[at..], &mweb[..]);
    }

    #[test]
    fn bad_template_hex_is_an_error_not_a_panic() {
        let coinbase: Transaction = deserialize(&hex::decode(CB_170).unwrap()).unwrap();
        let t = template(serde_json::json!([{"data": "zz", "txid": "00", "fee": 0}]));
        assert!(matches!(
            template_txids(&t),
            Err(BlockError::BadTransaction { field: "txid", .. })
        ));
        assert!(matches!(
            assemble(&[0; 80], &coinbase, &t),
            Err(BlockError::BadTransaction { field: "data", .. })
        ));
    }
}
