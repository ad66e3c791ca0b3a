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
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tracing::{debug, error, info, warn};

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

/// What the miners' work is, for `/api/v1/status` (`work`) and the logs.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct WorkStatus {
    /// Which case applies.
    pub state: WorkState,
    /// Height of the block the last job published builds (`null` before the first job).
    pub height: Option<u32>,
    /// Template transactions the last job left out to make room for Otedama's coinbase.
    pub dropped_transactions: usize,
    /// Why the work is not normal (the error of a template that could not be used, or what
    /// the node waits for); `null` when it is.
    pub detail: Option<String>,
}

/// The cases of [`WorkStatus`].
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum WorkState {
    /// No template from the daemon yet.
    #[default]
    NoTemplate,
    /// The node has never been synced with the network: no work at all, so that miners never
    /// work on a short or stray chain (docs/consensus.md §11.4).
    WaitingForSync,
    /// Jobs on every new block, sharechain tip and refresh.
    Mining,
    /// The node was synced before and is catching up now (a reconnect, a short partition): a new
    /// coin block still gets a clean job, on the last sharechain tip held; other changes wait
    /// until the node is synced again.
    NewBlocksOnly,
    /// The daemon's template on the coin's new tip could not be used (`detail` says why): the
    /// miners' last job is on the previous block, so what they find is stale.
    Stale,
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
    /// Whether the sharechain is synced with the network. Before the node was synced for the
    /// first time no work is handed out, so that miners never work on a stray chain; once it
    /// was, being behind again withholds everything but new blocks (see [`WorkState`]).
    pub synced: watch::Receiver<bool>,
    /// Where the builder says what the miners' work is.
    pub status: watch::Sender<WorkStatus>,
}

impl JobBuilder {
    /// Runs until `shutdown` becomes `true`.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut templates = self.feed.template.clone();
        let mut synced_rx = self.synced.clone();
        let tip_changed = self.tip_changed.clone();
        let refresh = self.refresh;
        let builder = Arc::new(self);
        let mut last_prev: Option<String> = None;
        let mut ever_synced = false;
        loop {
            let template = templates.borrow_and_update().clone();
            let synced = *synced_rx.borrow_and_update();
            ever_synced |= synced;
            if let Some(template) = template {
                // Building a job reads the sharechain under its lock, which a writer may hold
                // for a while: on the blocking pool, never on an async worker.
                let builder = Arc::clone(&builder);
                let mut prev = last_prev.clone();
                let step = tokio::task::spawn_blocking(move || {
                    builder.step(&template, synced, ever_synced, &mut prev);
                    prev
                });
                match step.await {
                    Ok(prev) => last_prev = prev,
                    Err(e) => error!(error = %e, "building a job panicked"),
                }
            }
            tokio::select! {
                r = templates.changed() => if r.is_err() { return },
                r = synced_rx.changed() => if r.is_err() { return },
                _ = tip_changed.notified() => {}
                _ = tokio::time::sleep(refresh) => {}
                _ = shutdown.wait_for(|stop| *stop) => return,
            }
        }
    }

    /// Publishes a job on `template` if the sync state allows it, and says what the work is.
    ///
    /// A new coin block always gets a clean job once the node has been synced, even while it
    /// is catching up again: the p2p layer reports "behind" after any reconnect or short
    /// partition, and withholding the job would leave every miner hashing on the previous
    /// block, each block found stale. The job builds on the sharechain tip held, which was
    /// fully checked; at worst the share is orphaned, never the block lost.
    fn step(
        &self,
        template: &Arc<BlockTemplate>,
        synced: bool,
        ever_synced: bool,
        last_prev: &mut Option<String>,
    ) {
        let before = self.status.borrow().clone();
        let new_block = last_prev.as_deref() != Some(template.previous_block_hash.as_str());
        if !ever_synced {
            if before.state != WorkState::WaitingForSync {
                info!("no work for miners until the sharechain is synced with the network");
            }
            self.status.send_replace(WorkStatus {
                state: WorkState::WaitingForSync,
                height: None,
                dropped_transactions: 0,
                detail: Some("the sharechain has never been synced with the network".into()),
            });
            return;
        }
        if !synced && !new_block {
            if before.state != WorkState::NewBlocksOnly {
                info!(
                    "sharechain behind the network: miners keep their job until it is synced \
                     again, new blocks still get clean jobs"
                );
            }
            self.status.send_modify(|s| {
                s.state = WorkState::NewBlocksOnly;
                s.detail = Some("the sharechain is catching up with the network".into());
            });
            return;
        }
        match self.publish(template, new_block) {
            Ok(dropped) => {
                *last_prev = Some(template.previous_block_hash.clone());
                let (state, detail) = if synced {
                    (WorkState::Mining, None)
                } else {
                    warn!(
                        height = template.height,
                        "sharechain behind the network: clean job on the new block sent on the \
                         last sharechain tip held"
                    );
                    (
                        WorkState::NewBlocksOnly,
                        Some("the sharechain is catching up with the network".into()),
                    )
                };
                self.status.send_replace(WorkStatus {
                    state,
                    height: Some(template.height),
                    dropped_transactions: dropped,
                    detail,
                });
            }
            Err(e) if new_block => {
                error!(
                    height = template.height,
                    error = %e,
                    "no job on the new block: miners keep hashing on the previous one"
                );
                self.status.send_modify(|s| {
                    s.state = WorkState::Stale;
                    s.detail = Some(e.to_string());
                });
            }
            Err(e) => {
                warn!(error = %e, "no new job; miners keep the last one, on the same block");
                self.status.send_modify(|s| s.detail = Some(e.to_string()));
            }
        }
    }

    /// Publishes a job on `template`; returns how many of its transactions were left out.
    fn publish(&self, template: &Arc<BlockTemplate>, clean: bool) -> Result<usize, JobBuildError> {
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
        // template down if the block would go over its limits. An MWEB template loses only what
        // its MWEB block is not bound to (`block::fit_to_limits`): a job on the new block, with
        // fewer fees, is worth more than miners left on the previous one, where every block they
        // find is stale. If even that does not fit, no block on this template is valid: the
        // error goes back to `step`, which logs it and marks the work stale in the status.
        let (cb_weight, cb_sigops) = coinbase_cost(&probe.template);
        let mut dropped = 0;
        if let Some(fitted) = block::fit_to_limits(template, cb_weight, cb_sigops)
            .map_err(|e| bad("transactions", e.to_string()))?
        {
            dropped = template.transactions.len() - fitted.transactions.len();
            warn!(
                height = template.height,
                dropped,
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
        // Build the coinbases of the miners that had the last job now, on this (blocking)
        // thread, so that sending them the new one finds them made: a session on an async
        // worker then never waits for the chain's lock. Only a miner new to the node does.
        if let Some(previous) = self.broadcast.current().and_then(|job| {
            job.spec
                .attachment
                .clone()
                .and_then(|a| a.downcast::<JobWork>().ok())
        }) {
            for script in previous.scripts() {
                if let Err(e) = work.miner(&script) {
                    debug!(error = %e, "no work for a miner of the last job");
                }
            }
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
        Ok(dropped)
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

#[cfg(test)]
#[path = "jobs_tests.rs"]
mod tests;
