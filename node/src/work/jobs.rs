//! The job builder: turns the daemon's current template and the sharechain's tip into Stratum
//! jobs, at once on a new block (clean jobs), on a new sharechain tip and on a template refresh.

use super::block;
use super::chain::SharedChain;
use super::coinbases::JobWork;
use crate::daemon::source::TemplateFeed;
use crate::daemon::BlockTemplate;
use crate::stratum::{JobBroadcast, JobSpec};
use bitcoin::ScriptBuf;
use otedama_proto::hash::{BlockHash, WitnessCommitment};
use otedama_proto::merkle::commitment_in_script;
use otedama_proto::target::CompactTarget;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tracing::{debug, info, warn};

/// A template the node cannot build jobs from.
#[derive(Debug, thiserror::Error)]
pub enum JobBuildError {
    /// A template field did not parse.
    #[error("daemon template has a bad {field}: {detail}")]
    BadTemplate {
        /// Which field.
        field: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// The sharechain refused to build a share template.
    #[error("sharechain cannot build a template: {0}")]
    Sharechain(String),
}

/// Builds and publishes jobs until shutdown.
#[derive(Debug)]
pub struct JobBuilder {
    /// The sharechain.
    pub chain: SharedChain,
    /// Where jobs go.
    pub broadcast: Arc<JobBroadcast>,
    /// The daemon's templates.
    pub feed: TemplateFeed,
    /// Woken by the share path when the sharechain tip changes.
    pub tip_changed: Arc<Notify>,
    /// How often a job is re-sent with a fresh time when nothing else changes.
    pub refresh: Duration,
    /// Whether the sharechain is synced with the network: no work is handed out before, so that
    /// miners never work on a stray chain.
    pub synced: watch::Receiver<bool>,
}

impl JobBuilder {
    /// Runs until `shutdown` becomes `true`.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut last_prev: Option<String> = None;
        let mut waiting_logged = false;
        loop {
            let template = self.feed.template.borrow_and_update().clone();
            let synced = *self.synced.borrow_and_update();
            if !synced && !waiting_logged {
                info!("no work for miners until the sharechain is synced with the network");
                waiting_logged = true;
            }
            if synced {
                waiting_logged = false;
            }
            if let Some(template) = template.filter(|_| synced) {
                let clean = last_prev.as_deref() != Some(template.previous_block_hash.as_str());
                match self.publish(&template, clean) {
                    Ok(()) => last_prev = Some(template.previous_block_hash.clone()),
                    Err(e) => warn!(error = %e, "no new job; miners keep the last one"),
                }
            }
            tokio::select! {
                r = self.feed.template.changed() => if r.is_err() { return },
                r = self.synced.changed() => if r.is_err() { return },
                _ = self.tip_changed.notified() => {}
                _ = tokio::time::sleep(self.refresh) => {}
                _ = shutdown.wait_for(|stop| *stop) => return,
            }
        }
    }

    fn publish(&self, template: &Arc<BlockTemplate>, clean: bool) -> Result<(), JobBuildError> {
        let bad = |field, detail: String| JobBuildError::BadTemplate { field, detail };
        let bits = template
            .bits_u32()
            .map_err(|e| bad("bits", e.to_string()))?;
        let nbits = CompactTarget::from_consensus(bits);
        let prev_hash: BlockHash = template.previous_block_hash.parse().map_err(
            |e: otedama_proto::hash::HashParseError| bad("previousblockhash", e.to_string()),
        )?;
        let witness_commitment = template_witness_commitment(template)
            .map_err(|d| bad("default_witness_commitment", d))?;
        let branch =
            block::coinbase_branch(template).map_err(|e| bad("transactions", e.to_string()))?;
        let parent = self.chain.lock().tip();
        let mut work = Arc::new(JobWork::new(
            self.chain.clone(),
            template.clone(),
            parent,
            branch,
            nbits,
            witness_commitment,
        ));
        // The rule's share target, from a template for a placeholder payee (every miner without
        // a dust-policy target gets this one).
        let mut probe = work
            .miner(&placeholder_script())
            .map_err(JobBuildError::Sharechain)?;
        // The daemon left room for a small coinbase only; Otedama's pays the whole window. Cut the
        // template down if the block would go over its limits.
        let (cb_weight, cb_sigops) = coinbase_cost(&probe.template);
        if let Some(fitted) = block::fit_to_limits(template, cb_weight, cb_sigops)
            .map_err(|e| bad("transactions", e.to_string()))?
        {
            warn!(
                height = template.height,
                dropped = template.transactions.len() - fitted.transactions.len(),
                "template transactions dropped to make room for the coinbase; raise the daemon's -blockmaxweight headroom"
            );
            let fitted = Arc::new(fitted);
            let witness_commitment = template_witness_commitment(&fitted)
                .map_err(|d| bad("default_witness_commitment", d))?;
            let branch =
                block::coinbase_branch(&fitted).map_err(|e| bad("transactions", e.to_string()))?;
            work = Arc::new(JobWork::new(
                self.chain.clone(),
                fitted,
                parent,
                branch,
                nbits,
                witness_commitment,
            ));
            probe = work
                .miner(&placeholder_script())
                .map_err(JobBuildError::Sharechain)?;
        }
        let share_target = probe.template.share_target;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as u32)
            .unwrap_or(0);
        let ntime = template
            .cur_time
            .max(template.min_time)
            .max(probe.template.min_time)
            .max(now.min(template.cur_time + 60));
        let spec = JobSpec {
            prev_hash,
            coinbases: work.clone(),
            merkle_branch: work.branch.clone(),
            version: template.version,
            nbits,
            ntime,
            clean,
            share_parent: parent,
            share_target,
            height: template.height,
            attachment: Some(work),
        };
        let job = self
            .broadcast
            .publish(spec)
            .map_err(|e| bad("job", e.to_string()))?;
        if clean {
            info!(height = template.height, job = job.id, parent = ?parent, "new block: clean jobs sent");
        } else {
            debug!(height = template.height, job = job.id, parent = ?parent, "new job");
        }
        Ok(())
    }
}

/// An upper bound of the weight and signature-operation cost of any miner's coinbase on a job:
/// the placeholder's, plus room for the finder's output (up to a 34-byte script) and for the
/// miner's own payout being a P2PKH output (4 sigop cost each).
fn coinbase_cost(template: &otedama_sharechain::ShareTemplate) -> (u64, u64) {
    let script_sig = otedama_sharechain::coinbase::otedama_script_sig(
        0xffff_ffff,
        [0; 8],
        otedama_sharechain::coinbase::DEFAULT_TAG,
    );
    let tx = template.coinbase(script_sig);
    let p2pkh_outputs = tx
        .output
        .iter()
        .filter(|o| o.script_pubkey.is_p2pkh())
        .count() as u64;
    (tx.weight().to_wu() + 4 * 44, 4 * (p2pkh_outputs + 1))
}

/// The witness commitment of the template, from its `default_witness_commitment` script.
fn template_witness_commitment(
    template: &BlockTemplate,
) -> Result<Option<WitnessCommitment>, String> {
    let Some(hex_script) = &template.default_witness_commitment else {
        return Ok(None);
    };
    let bytes = hex::decode(hex_script).map_err(|e| e.to_string())?;
    let script = ScriptBuf::from_bytes(bytes);
    commitment_in_script(&script)
        .map(Some)
        .ok_or_else(|| "not a BIP141 commitment script".to_owned())
}

/// A standard script nobody is paid at: P2WPKH of twenty zero bytes.
fn placeholder_script() -> ScriptBuf {
    let mut bytes = vec![0x00, 0x14];
    bytes.extend_from_slice(&[0u8; 20]);
    ScriptBuf::from_bytes(bytes)
}
