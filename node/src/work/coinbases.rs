//! The per-miner side of a job: for one daemon template and one sharechain parent, the share
//! template (share data, payouts, coinbase) of each miner address, built on first use and cached.
//!
//! A miner's template must stay the one its coinbase was sent with: built again later it may
//! differ (an uncle arrived since), and the share path would then refuse the miner's block as not
//! matching. Past the cache's cap, a template is therefore kept for as long as a session holds
//! the coinbase built from it.

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
use std::sync::{Arc, Mutex, Weak};

/// Cached miner templates of one job are capped; past this, a template is kept only while the
/// coinbase sent with it is in use (a node with thousands of distinct payout addresses still
/// works, only slower).
const MAX_CACHED: usize = 4096;

/// A template past the cache's cap, kept while its coinbase lives.
#[derive(Debug)]
struct Overflow {
    coinbase: Weak<MinerCoinbase>,
    template: Arc<ShareTemplate>,
}

/// One miner's work on a job: the share template its coinbase comes from, and the halves.
#[derive(Debug)]
pub struct MinerWork {
    /// The share template (payouts, share data, commitment).
    pub template: Arc<ShareTemplate>,
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
    /// Templates past the cap, by script, while their coinbases are held.
    overflow: Mutex<HashMap<ScriptBuf, Overflow>>,
    /// The overflow map's size after its last sweep of dead entries.
    swept: Mutex<usize>,
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
            overflow: Mutex::new(HashMap::new()),
            swept: Mutex::new(0),
        }
    }

    /// The work of the miner paid at `script`: the one handed out before if it is cached or its
    /// coinbase is still held, else built now.
    pub fn miner(&self, script: &ScriptBuf) -> Result<Arc<MinerWork>, String> {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(w) = cache.get(script) {
            return Ok(w.clone());
        }
        let mut overflow = self.overflow.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(kept) = overflow.get(script) {
            if let Some(coinbase) = kept.coinbase.upgrade() {
                return Ok(Arc::new(MinerWork {
                    template: kept.template.clone(),
                    coinbase,
                }));
            }
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
            template: Arc::new(template),
        });
        if cache.len() < MAX_CACHED {
            cache.insert(script.clone(), work.clone());
        } else {
            overflow.insert(
                script.clone(),
                Overflow {
                    coinbase: Arc::downgrade(&work.coinbase),
                    template: work.template.clone(),
                },
            );
            // Forget the templates of coinbases no one holds, whenever the map doubled since.
            let mut swept = self.swept.lock().unwrap_or_else(|p| p.into_inner());
            if overflow.len() >= 2 * (*swept).max(MAX_CACHED) {
                overflow.retain(|_, kept| kept.coinbase.strong_count() > 0);
                *swept = overflow.len();
            }
        }
        Ok(work)
    }

    /// The payout scripts work was built for on this job (those of the miners that were sent
    /// it), so that the next job can build theirs before it goes out.
    pub fn scripts(&self) -> Vec<ScriptBuf> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let overflow = self.overflow.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .keys()
            .chain(
                overflow
                    .iter()
                    .filter(|(_, kept)| kept.coinbase.strong_count() > 0)
                    .map(|(script, _)| script),
            )
            .cloned()
            .collect()
    }
}

impl CoinbaseProvider for JobWork {
    fn coinbase_for(&self, payout: &PayoutAddress) -> Result<Arc<MinerCoinbase>, String> {
        let script = payout.script_pubkey().to_owned();
        Ok(self.miner(&script)?.coinbase.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otedama_proto::chain::{Coin, Network};
    use otedama_sharechain::testkit::{chain_job, mine, CHAIN_COINBASE_VALUE};
    use otedama_sharechain::{AddOutcome, Consensus, ShareChain, SledStore};

    const T: u32 = 1_700_000_000;

    fn p2wpkh(n: u32) -> ScriptBuf {
        let mut bytes = vec![0x00, 0x14];
        bytes.extend_from_slice(&n.to_le_bytes());
        bytes.extend_from_slice(&[0x5a; 16]);
        ScriptBuf::from_bytes(bytes)
    }

    fn request(script: &ScriptBuf) -> TemplateRequest {
        TemplateRequest {
            payout_script: script.clone(),
            coinbase_value: CHAIN_COINBASE_VALUE,
            block_bits: chain_job().block_bits,
            witness_commitment: None,
            share_bits: None,
        }
    }

    fn block_template() -> BlockTemplate {
        serde_json::from_value(serde_json::json!({
            "version": 536870912,
            "previousblockhash": "0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d",
            "transactions": [], "coinbasevalue": CHAIN_COINBASE_VALUE.to_sat(),
            "target": "7fffff0000000000000000000000000000000000000000000000000000000000",
            "mintime": 1, "curtime": 2, "bits": "207fffff", "height": 200
        }))
        .expect("a template")
    }

    /// Removes the store's directory at the end of the test, failed or not.
    struct TempDir(std::path::PathBuf);

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn a_miner_past_the_cache_keeps_the_coinbase_it_was_sent() {
        let dir = TempDir(std::env::temp_dir().join(format!(
            "otedama-coinbases-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("after 1970")
                .as_nanos()
        )));
        let consensus = Consensus::for_network(Coin::Bitcoin, Network::Regtest).expect("regtest");
        let store = SledStore::open(&dir.0).expect("a store");
        let mut chain = ShareChain::open(consensus.clone(), store).expect("a chain");
        let job = chain_job();
        let add = |chain: &mut ShareChain<SledStore>, share, time: u32| {
            let outcome = chain.add(share, u64::from(time)).expect("stored");
            assert!(matches!(outcome, AddOutcome::Accepted(_)), "{outcome:?}");
        };
        let genesis = mine(
            &consensus,
            &chain.template(&request(&p2wpkh(0))).unwrap(),
            &job,
            T,
            0,
        );
        let genesis_id = genesis.id();
        add(&mut chain, genesis, T);
        let a = mine(
            &consensus,
            &chain.template(&request(&p2wpkh(1))).unwrap(),
            &job,
            T + 10,
            1,
        );
        let a_id = a.id();
        add(&mut chain, a, T + 10);
        // A sibling of A, found elsewhere: it arrives after the job went out.
        let sibling_template = chain
            .template_at(Some(&genesis_id), &request(&p2wpkh(2)))
            .unwrap();
        let sibling = mine(&consensus, &sibling_template, &job, T + 11, 2);
        let sibling_id = sibling.id();

        let shared = SharedChain::new(chain);
        let work = JobWork::new(
            shared.clone(),
            Arc::new(block_template()),
            Some(a_id),
            Vec::new(),
            job.block_bits,
            None,
        );
        // Fill the cache; the next miner's work is past it.
        for n in 0..MAX_CACHED as u32 {
            work.miner(&p2wpkh(1000 + n)).expect("work");
        }
        let late = p2wpkh(7);
        let sent = work.miner(&late).expect("work");
        add(&mut shared.lock(), sibling, T + 11);
        let fresh = shared
            .lock()
            .template_at(Some(&a_id), &request(&late))
            .expect("a template");
        assert!(
            fresh.data.uncles.contains(&sibling_id),
            "the test needs a template that changed since the job went out"
        );
        // At submit time the share path asks again: it must get the coinbase the miner hashed.
        let again = work.miner(&late).expect("work");
        assert_eq!(again.coinbase, sent.coinbase);
        assert_eq!(again.template.commitment, sent.template.commitment);
        // The store closes before its directory goes.
        drop((work, sent, again, shared));
        drop(dir);
    }
}
