//! Jobs: the work the node hands to miners, and the broadcast that fans each new job out to
//! every connected session.
//!
//! The template builder fills a [`JobSpec`] (coinbase halves around the extranonce space, merkle
//! branch, header fields, targets) and calls [`JobBroadcast::publish`], which numbers it, works
//! out the block target and the `mining.notify` text once for every session, and wakes them all.
//! A job with `clean` set starts a new block generation: shares on older generations are stale
//! for the sharechain (though still checked as blocks).

use std::any::Any;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use otedama_proto::chain::PowAlgo;
use otedama_proto::hash::{BlockHash, MerkleNode};
use otedama_proto::stratum::{prevhash_to_stratum, u32_to_hex};
use otedama_proto::target::{CompactTarget, CompactTargetError, Target};
use tokio::sync::watch;

use super::message::Line;

/// What the template builder provides for one job.
#[derive(Clone)]
pub struct JobSpec {
    /// The block the job builds on.
    pub prev_hash: BlockHash,
    /// The coinbase (non-witness serialization) up to the extranonce space.
    pub coinb1: Vec<u8>,
    /// The coinbase after the extranonce space.
    pub coinb2: Vec<u8>,
    /// The coinbase's merkle branch, bottom up, internal byte order.
    pub merkle_branch: Vec<MerkleNode>,
    /// The block version, before the miner rolls the masked bits.
    pub version: u32,
    /// The block's compact target.
    pub nbits: CompactTarget,
    /// The header time the job starts from.
    pub ntime: u32,
    /// Whether miners must drop older work: set on a new block (a new previous block hash).
    pub clean: bool,
    /// The sharechain target a share needs.
    pub share_target: Target,
    /// The height of the block being built.
    pub height: u32,
    /// Whatever the template builder needs to turn a share of this job into a block (the
    /// transactions, the witness data); handed back untouched in each [`super::Submission`].
    pub attachment: Option<Arc<dyn Any + Send + Sync>>,
}

impl fmt::Debug for JobSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobSpec")
            .field("prev_hash", &self.prev_hash)
            .field("height", &self.height)
            .field("clean", &self.clean)
            .field("nbits", &self.nbits)
            .field("ntime", &self.ntime)
            .finish_non_exhaustive()
    }
}

/// A job that cannot be handed out.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// The job's `nbits` is no target.
    #[error("job for height {height} has unusable nbits: {source}")]
    BadBits {
        /// The height of the job.
        height: u32,
        /// Why the bits do not decode.
        source: CompactTargetError,
    },
    /// The share target is zero: no share could meet it.
    #[error("job for height {0} has a zero share target")]
    ZeroShareTarget(u32),
}

/// A numbered job as every session sees it.
#[derive(Debug)]
pub struct Job {
    /// The job number; its lower-case hex is the Stratum job id. Never reused in a process.
    pub id: u64,
    /// How many clean jobs (new blocks) came before and including this one's block.
    pub generation: u64,
    /// The proof-of-work function shares are checked with.
    pub algo: PowAlgo,
    /// What the template builder gave.
    pub spec: JobSpec,
    /// The block target, from `nbits`.
    pub block_target: Target,
    /// The highest Stratum difficulty worth asking for on this job: that of the easier of the
    /// share and block targets. Above it, a miner would keep back shares the sharechain wants.
    pub max_difficulty: f64,
    /// The `mining.notify` parameters after the job id, without the clean flag.
    params_tail: String,
    notify_clean: Arc<str>,
    notify_not_clean: Arc<str>,
}

impl Job {
    /// Numbers `spec` as job `id` of block generation `generation`.
    pub fn new(id: u64, generation: u64, algo: PowAlgo, spec: JobSpec) -> Result<Job, JobError> {
        let block_target =
            Target::from_compact(spec.nbits).map_err(|source| JobError::BadBits {
                height: spec.height,
                source,
            })?;
        if block_target == Target::ZERO {
            return Err(JobError::BadBits {
                height: spec.height,
                source: CompactTargetError::Zero(spec.nbits),
            });
        }
        if spec.share_target == Target::ZERO {
            return Err(JobError::ZeroShareTarget(spec.height));
        }
        let easiest = block_target.max(spec.share_target);
        let max_difficulty = easiest.to_stratum_difficulty(algo);
        let branch: Vec<String> = spec
            .merkle_branch
            .iter()
            .map(|node| format!("\"{}\"", hex::encode(node.0)))
            .collect();
        let params_tail = format!(
            "\"{}\",\"{}\",\"{}\",[{}],\"{}\",\"{}\",\"{}\"",
            prevhash_to_stratum(&spec.prev_hash),
            hex::encode(&spec.coinb1),
            hex::encode(&spec.coinb2),
            branch.join(","),
            u32_to_hex(spec.version),
            u32_to_hex(spec.nbits.to_consensus()),
            u32_to_hex(spec.ntime),
        );
        let id_text = format!("{id:x}");
        let notify = |clean| Arc::from(notify_text(&id_text, &params_tail, clean));
        Ok(Job {
            id,
            generation,
            algo,
            block_target,
            max_difficulty,
            notify_clean: notify(true),
            notify_not_clean: notify(false),
            params_tail,
            spec,
        })
    }

    /// The `mining.notify` line every session sends for this job.
    pub fn notify_line(&self, clean: bool) -> Line {
        Line::Shared(if clean {
            self.notify_clean.clone()
        } else {
            self.notify_not_clean.clone()
        })
    }

    /// A `mining.notify` line for this job under another id (a session re-sends the job under its
    /// own id after a difficulty change, so that the new difficulty has a job of its own).
    pub fn notify_line_as(&self, job_id: &str, clean: bool) -> Line {
        Line::Owned(notify_text(job_id, &self.params_tail, clean))
    }
}

fn notify_text(job_id: &str, params_tail: &str, clean: bool) -> String {
    format!(
        "{{\"id\":null,\"method\":\"mining.notify\",\"params\":[\"{job_id}\",{params_tail},{clean}]}}\n"
    )
}

/// The receiving end sessions watch: always the latest job (or none before the first).
pub type JobReceiver = watch::Receiver<Option<Arc<Job>>>;

/// Hands new jobs to every session. Cheap to share behind an `Arc`; `publish` never blocks.
#[derive(Debug)]
pub struct JobBroadcast {
    algo: PowAlgo,
    sender: watch::Sender<Option<Arc<Job>>>,
    next_id: AtomicU64,
    generation: AtomicU64,
}

impl JobBroadcast {
    /// A broadcast for jobs checked under `algo`, with no job yet.
    pub fn new(algo: PowAlgo) -> Self {
        let (sender, _) = watch::channel(None);
        JobBroadcast {
            algo,
            sender,
            next_id: AtomicU64::new(1),
            generation: AtomicU64::new(0),
        }
    }

    /// Numbers `spec`, makes it the current job and wakes every session. The first job always
    /// counts as clean. Returns the job as sessions see it.
    pub fn publish(&self, spec: JobSpec) -> Result<Arc<Job>, JobError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let first = self.sender.borrow().is_none();
        let generation = if spec.clean || first {
            self.generation.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            self.generation.load(Ordering::Relaxed)
        };
        let mut spec = spec;
        spec.clean |= first;
        let job = Arc::new(Job::new(id, generation, self.algo, spec)?);
        self.sender.send_replace(Some(job.clone()));
        Ok(job)
    }

    /// A receiver for a new session.
    pub fn subscribe(&self) -> JobReceiver {
        self.sender.subscribe()
    }

    /// The current job.
    pub fn current(&self) -> Option<Arc<Job>> {
        self.sender.borrow().clone()
    }

    /// The proof-of-work function of the jobs.
    pub fn algo(&self) -> PowAlgo {
        self.algo
    }
}
