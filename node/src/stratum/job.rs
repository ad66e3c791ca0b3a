//! Jobs: the work the node hands to miners, and the broadcast that fans each new job out to
//! every connected session.
//!
//! The template builder fills a [`JobSpec`] (a [`CoinbaseProvider`] for each miner's coinbase
//! halves, merkle branch, header fields, targets) and calls [`JobBroadcast::publish`], which
//! numbers it, works out the block target and wakes every session. Each share pays its own
//! miner, so coinbases differ per payout address: a job builds the `mining.notify` text once per
//! coinbase and every session paid to that address shares it. A job with `clean` set starts a new
//! block generation: shares on older generations are stale for the sharechain (though still
//! checked as blocks). A job on a new sharechain parent is also sent with `clean_jobs` (miners
//! drop work that could at best become an uncle) but starts no new generation: shares on the old
//! parent that were already found still go to the sharechain.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use otedama_proto::chain::PowAlgo;
use otedama_proto::hash::{BlockHash, MerkleNode, ShareId};
use otedama_proto::stratum::{prevhash_to_stratum, u32_to_hex};
use otedama_proto::target::{CompactTarget, CompactTargetError, Target};
use tokio::sync::watch;

use super::message::Line;
use super::provider::{CoinbaseProvider, MinerCoinbase};
use otedama_proto::address::PayoutAddress;

/// Distinct coinbases whose notify text a job keeps; past this it is built per session.
const MAX_CACHED_NOTIFIES: usize = 4096;

/// What the template builder provides for one job.
#[derive(Clone)]
pub struct JobSpec {
    /// The block the job builds on.
    pub prev_hash: BlockHash,
    /// Each miner's coinbase halves and share target.
    pub coinbases: Arc<dyn CoinbaseProvider>,
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
    /// The sharechain share the job builds on (`None` before the first share). A job on another
    /// parent than the last one sent to a miner goes out with `clean_jobs` set as well.
    pub share_parent: Option<ShareId>,
    /// The sharechain target of the retarget rule (a miner's own may be harder, see
    /// [`MinerCoinbase::share_target`]); for logs and the API.
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
    /// When [`JobBroadcast::publish`] sent it, to time how fast it reaches miners.
    pub published: Option<std::time::Instant>,
    /// The `prevhash` field.
    prevhash_text: String,
    /// The `mining.notify` parameters after coinb2: branch, version, nbits, ntime.
    params_tail: String,
    /// Notify texts by coinbase (keyed by the `Arc`'s address, which the entry keeps alive).
    notifies: Mutex<HashMap<usize, Arc<MinerNotify>>>,
}

/// The notify texts and difficulty cap of one coinbase on one job.
#[derive(Debug)]
struct MinerNotify {
    /// Keeps the coinbase (and so the cache key, its address) alive.
    #[allow(dead_code)]
    coinbase: Arc<MinerCoinbase>,
    max_difficulty: f64,
    clean: Arc<str>,
    not_clean: Arc<str>,
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
        let branch: Vec<String> = spec
            .merkle_branch
            .iter()
            .map(|node| format!("\"{}\"", hex::encode(node.0)))
            .collect();
        let params_tail = format!(
            "[{}],\"{}\",\"{}\",\"{}\"",
            branch.join(","),
            u32_to_hex(spec.version),
            u32_to_hex(spec.nbits.to_consensus()),
            u32_to_hex(spec.ntime),
        );
        Ok(Job {
            id,
            generation,
            algo,
            block_target,
            published: None,
            prevhash_text: prevhash_to_stratum(&spec.prev_hash),
            params_tail,
            notifies: Mutex::new(HashMap::new()),
            spec,
        })
    }

    /// The coinbase of the miner paid at `payout`, or why there is none.
    pub fn coinbase_for(&self, payout: &PayoutAddress) -> Result<Arc<MinerCoinbase>, String> {
        self.spec.coinbases.coinbase_for(payout)
    }

    /// The highest Stratum difficulty worth asking of a miner with `coinbase` on this job: that
    /// of its share target. Above it, the miner would keep back shares the sharechain wants.
    /// (On mainnets the block target is far harder, so every block is also a share.)
    pub fn max_difficulty(&self, coinbase: &Arc<MinerCoinbase>) -> f64 {
        self.miner_notify(coinbase).max_difficulty
    }

    /// The `mining.notify` line for a miner with `coinbase`, shared by every session with it.
    pub fn notify_line(&self, coinbase: &Arc<MinerCoinbase>, clean: bool) -> Line {
        let notify = self.miner_notify(coinbase);
        Line::Shared(if clean {
            notify.clean.clone()
        } else {
            notify.not_clean.clone()
        })
    }

    /// A `mining.notify` line for this job under another id (a session re-sends the job under its
    /// own id after a difficulty change, so that the new difficulty has a job of its own).
    pub fn notify_line_as(&self, job_id: &str, coinbase: &MinerCoinbase, clean: bool) -> Line {
        Line::Owned(self.notify_text(job_id, coinbase, clean))
    }

    fn miner_notify(&self, coinbase: &Arc<MinerCoinbase>) -> Arc<MinerNotify> {
        let key = Arc::as_ptr(coinbase) as usize;
        let mut cache = self.notifies.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = cache.get(&key) {
            return found.clone();
        }
        let id = format!("{:x}", self.id);
        // Capped by the share target alone: where the block target is easier still (regtest,
        // where every hash is a block), asking for every hash would flood the node with blocks
        // that race each other; a share there is a block anyway.
        let notify = Arc::new(MinerNotify {
            coinbase: coinbase.clone(),
            max_difficulty: coinbase.share_target.to_stratum_difficulty(self.algo),
            clean: Arc::from(self.notify_text(&id, coinbase, true)),
            not_clean: Arc::from(self.notify_text(&id, coinbase, false)),
        });
        if cache.len() < MAX_CACHED_NOTIFIES {
            cache.insert(key, notify.clone());
        }
        notify
    }

    fn notify_text(&self, job_id: &str, coinbase: &MinerCoinbase, clean: bool) -> String {
        format!(
            "{{\"id\":null,\"method\":\"mining.notify\",\"params\":[\"{job_id}\",\"{}\",\"{}\",\"{}\",{},{clean}]}}\n",
            self.prevhash_text,
            hex::encode(&coinbase.coinb1),
            hex::encode(&coinbase.coinb2),
            self.params_tail,
        )
    }
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
        let mut job = Job::new(id, generation, self.algo, spec)?;
        job.published = Some(std::time::Instant::now());
        let job = Arc::new(job);
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
