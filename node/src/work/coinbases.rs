//! The per-miner side of a job: for one daemon template and one sharechain parent, the share
//! template (share data, payouts, coinbase) of each miner address, built on first use and cached.

use super::chain::SharedChain;
use crate::daemon::BlockTemplate;
use crate::stratum::provider::{CoinbaseProvider, MinerCoinbase};
use bitcoin::ScriptBuf;
use otedama_proto::address::PayoutAddress;
use otedama_proto::amount::Amount;
use otedama_proto::hash::{MerkleNode, ShareId, WitnessCommitment};
use otedama_proto::target::CompactTarget;
use otedama_sharechain::coinbase::DEFAULT_TAG;
use otedama_sharechain::{ShareTemplate, TemplateRequest};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Cached miner templates of one job are capped; past this, templates are built afresh per call
/// (a node with thousands of distinct payout addresses still works, only slower).
const MAX_CACHED: usize = 4096;

/// One miner's work on a job: the share template its coinbase comes from, and the halves.
#[derive(Debug)]
pub struct MinerWork {
    /// The share template (payouts, share data, commitment).
    pub template: ShareTemplate,
    /// What `mining.notify` sends this miner.
    pub coinbase: Arc<MinerCoinbase>,
}

/// Everything a job's shares and blocks are built from.
#[derive(Debug)]
pub struct JobWork {
    /// The daemon's template.
    pub block: Arc<BlockTemplate>,
    /// The sharechain parent the job's shares build on (`None`: a genesis share).
    pub parent: Option<ShareId>,
    /// The coinbase's merkle branch for the template's transactions.
    pub branch: Vec<MerkleNode>,
    chain: SharedChain,
    request: TemplateRequest,
    cache: Mutex<HashMap<ScriptBuf, Arc<MinerWork>>>,
}

impl JobWork {
    /// The work of a job on `block` and sharechain parent `parent`.
    pub fn new(
        chain: SharedChain,
        block: Arc<BlockTemplate>,
        parent: Option<ShareId>,
        branch: Vec<MerkleNode>,
        block_bits: CompactTarget,
        witness_commitment: Option<WitnessCommitment>,
    ) -> Self {
        let request = TemplateRequest {
            payout_script: ScriptBuf::new(),
            coinbase_value: Amount::from_sat(block.coinbase_value),
            block_bits,
            witness_commitment,
            share_bits: None,
        };
        JobWork {
            block,
            parent,
            branch,
            chain,
            request,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The work of the miner paid at `script` (built now if not cached).
    pub fn miner(&self, script: &ScriptBuf) -> Result<Arc<MinerWork>, String> {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(w) = cache.get(script) {
            return Ok(w.clone());
        }
        let mut request = self.request.clone();
        request.payout_script = script.clone();
        let template = self
            .chain
            .lock()
            .template_at(self.parent.as_ref(), &request)
            .map_err(|e| format!("cannot build work for this address: {e}"))?;
        let halves = template.stratum_coinbase(self.block.height, DEFAULT_TAG);
        let work = Arc::new(MinerWork {
            coinbase: Arc::new(MinerCoinbase {
                coinb1: halves.coinb1,
                coinb2: halves.coinb2,
                share_target: template.share_target,
            }),
            template,
        });
        if cache.len() < MAX_CACHED {
            cache.insert(script.clone(), work.clone());
        }
        Ok(work)
    }
}

impl CoinbaseProvider for JobWork {
    fn coinbase_for(&self, payout: &PayoutAddress) -> Result<Arc<MinerCoinbase>, String> {
        let script = payout.script_pubkey().to_owned();
        Ok(self.miner(&script)?.coinbase.clone())
    }
}
