//! The block template a daemon returns from `getblocktemplate` (BIP 22/23, BIP 145, Litecoin MWEB).

use serde::Deserialize;

/// One transaction of a block template, as the daemon lists it.
#[derive(Clone, Debug, Deserialize)]
pub struct TemplateTransaction {
    /// The transaction in consensus encoding, hex (with witness data where it has any).
    pub data: String,
    /// The txid (display order hex).
    pub txid: String,
    /// The wtxid (display order hex).
    #[serde(default)]
    pub hash: Option<String>,
    /// The fee it pays, in base units.
    #[serde(default)]
    pub fee: u64,
    /// Its weight.
    #[serde(default)]
    pub weight: Option<u64>,
    /// Its signature operation cost.
    #[serde(default)]
    pub sigops: Option<u64>,
}

/// The parts of a `getblocktemplate` answer that Otedama uses.
#[derive(Clone, Debug, Deserialize)]
pub struct BlockTemplate {
    /// Block version, with the daemon's version bits.
    pub version: u32,
    /// The block this template builds on (display order hex).
    #[serde(rename = "previousblockhash")]
    pub previous_block_hash: String,
    /// The transactions to include after the coinbase, in order.
    pub transactions: Vec<TemplateTransaction>,
    /// Subsidy plus all fees, in base units: what the coinbase may pay out in total.
    #[serde(rename = "coinbasevalue")]
    pub coinbase_value: u64,
    /// The id to pass back for a long-poll that answers when the template changes.
    #[serde(rename = "longpollid", default)]
    pub long_poll_id: Option<String>,
    /// The block target (big-endian hex).
    pub target: String,
    /// The earliest header time allowed.
    #[serde(rename = "mintime")]
    pub min_time: u32,
    /// The daemon's current time.
    #[serde(rename = "curtime")]
    pub cur_time: u32,
    /// Compact target (big-endian hex).
    pub bits: String,
    /// Height of the block being built.
    pub height: u32,
    /// The complete witness commitment output script (hex), present when segwit is active.
    #[serde(default)]
    pub default_witness_commitment: Option<String>,
    /// The block's size limit in bytes.
    #[serde(rename = "sizelimit", default)]
    pub size_limit: Option<u64>,
    /// The block's weight limit.
    #[serde(rename = "weightlimit", default)]
    pub weight_limit: Option<u64>,
    /// The block's signature operation cost limit.
    #[serde(rename = "sigoplimit", default)]
    pub sigop_limit: Option<u64>,
    /// Litecoin: the MWEB extension block (hex), present once MWEB is active.
    #[serde(default)]
    pub mweb: Option<String>,
    /// Deployments the daemon says the block follows (`!` marks the ones a client must understand).
    #[serde(default)]
    pub rules: Vec<String>,
    /// Which of the configured daemons (its position in failover order) served the template:
    /// a block built on it goes to that daemon first, whose tip it builds on. Set by the
    /// template source, not by the daemon.
    #[serde(skip)]
    pub daemon: usize,
}

impl BlockTemplate {
    /// The compact target as a number.
    pub fn bits_u32(&self) -> Result<u32, std::num::ParseIntError> {
        u32::from_str_radix(&self.bits, 16)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A template as litecoind 0.21 regtest answered it, trimmed of empty fields.
    const REGTEST_TEMPLATE: &str = r#"{
      "capabilities": ["proposal"], "version": 536870912, "rules": ["csv", "!segwit", "taproot"],
      "vbavailable": {}, "vbrequired": 0,
      "previousblockhash": "6efa5133e2b0fefc0c3d7546be60ea250444d9163baf805e4f3f59da32542239",
      "transactions": [], "coinbaseaux": {}, "coinbasevalue": 5000000000,
      "longpollid": "6efa5133e2b0fefc0c3d7546be60ea250444d9163baf805e4f3f59da325422394",
      "target": "7fffff0000000000000000000000000000000000000000000000000000000000",
      "mintime": 1795595723, "mutable": ["time", "transactions", "prevblock"],
      "noncerange": "00000000ffffffff", "sigoplimit": 80000, "sizelimit": 4000000,
      "weightlimit": 4000000, "curtime": 1795595723, "bits": "207fffff", "height": 2,
      "default_witness_commitment": "6a24aa21a9ede2f61c3f71d1defd3fa999dfa36953755c690689799962b48bebd836974e8cf9"
    }"#;

    #[test]
    fn decodes_a_real_litecoind_template() {
        let t: BlockTemplate = serde_json::from_str(REGTEST_TEMPLATE).unwrap();
        assert_eq!(t.height, 2);
        assert_eq!(t.bits_u32().unwrap(), 0x207f_ffff);
        assert_eq!(t.coinbase_value, 5_000_000_000);
        assert!(t
            .default_witness_commitment
            .unwrap()
            .starts_with("6a24aa21a9ed"));
        assert!(t.rules.iter().any(|r| r == "!segwit"));
        assert_eq!(t.weight_limit, Some(4_000_000));
        assert!(t.mweb.is_none());
    }
}
