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
pub fn fit_to_limits(
    template: &BlockTemplate,
    coinbase_weight: u64,
    coinbase_sigops: u64,
) -> Result<Option<BlockTemplate>, BlockError> {
    let weight_limit = template.weight_limit.unwrap_or(4_000_000);
    let sigop_limit = template.sigop_limit.unwrap_or(80_000);
    let mut weight = HEADER_WEIGHT + coinbase_weight;
    let mut sigops = coinbase_sigops;
    let mut keep = 0;
    for tx in &template.transactions {
        // A template without weights: four weight units per byte is the upper bound.
        let w = tx.weight.unwrap_or(tx.data.len() as u64 / 2 * 4);
        let s = tx.sigops.unwrap_or(0);
        // Saturating: a hostile or broken daemon may send absurd weights or fees.
        if weight.saturating_add(w) > weight_limit || sigops.saturating_add(s) > sigop_limit {
            break;
        }
        weight = weight.saturating_add(w);
        sigops = sigops.saturating_add(s);
        keep += 1;
    }
    if keep == template.transactions.len() {
        return Ok(None);
    }
    let mut fitted = template.clone();
    let dropped_fees = fitted
        .transactions
        .drain(keep..)
        .fold(0u64, |a, t| a.saturating_add(t.fee));
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
