//! The chain worker: one thread that gives shares from the network to the sharechain, so that
//! validation (one scrypt hash per share) never stalls the swarm's event loop. It takes the jobs
//! queued together, adds their shares and flushes once for all of them (group commit) before it
//! reports, so a share is durable before it is forwarded. The sync runs after the chain's lock
//! is released: a slow disk holds up this worker, not the share path, the swarm loop or the
//! Stratum sessions, which take the lock too.
//!
//! Every job is answered: a storage error (a full or failing disk) or a panic in the chain code
//! ends that job with [`ChainDone::Failed`], not the worker, so the actor's sync bookkeeping never
//! waits for an answer that cannot come.

use super::judge::{self, Blame};
use crate::work::chain::SharedChain;
use libp2p::gossipsub::MessageId;
use libp2p::PeerId;
use otedama_proto::hash::ShareId;
use otedama_sharechain::codec::decode_share;
use otedama_sharechain::params::MAX_SHARE_BYTES;
use otedama_sharechain::{AddOutcome, ChainError, ShareStore, StoreSyncer};
use std::collections::HashSet;
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, Notify};
use tracing::{debug, error};

/// Work for the chain worker.
#[derive(Debug)]
pub enum ChainJob {
    /// A share gossiped by `source`.
    Gossip {
        /// The peer that forwarded it.
        source: PeerId,
        /// Gossipsub's id of the message.
        message_id: MessageId,
        /// The message.
        bytes: Vec<u8>,
    },
    /// Shares fetched from `peer` by sync, oldest first.
    Batch {
        /// The peer that sent them.
        peer: PeerId,
        /// The shares asked for, in the order asked.
        asked: Vec<ShareId>,
        /// The shares sent.
        shares: Vec<Vec<u8>>,
        /// Shares that start a sync from an empty or unrelated chain: added as roots if their
        /// parent is not held (`docs/consensus.md` §11.4).
        roots: HashSet<ShareId>,
    },
}

/// What became of a gossiped share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Accepted; `connected` orphans came in with it.
    Accepted {
        /// The share.
        id: ShareId,
        /// Whether every check ran on it: only then is it forwarded.
        fully_checked: bool,
        /// Orphans it let in.
        connected: Vec<ShareId>,
        /// Those of `connected` accepted without every check: stored, never forwarded.
        unchecked: Vec<ShareId>,
        /// Orphans that proved their sender wrong once it arrived ([`judge::blame`]).
        orphans_rejected: Vec<ShareId>,
    },
    /// Valid so far; waits for these shares.
    Waiting {
        /// The share.
        id: ShareId,
        /// What it waits for.
        missing: Vec<ShareId>,
    },
    /// Refused; `blame` says whether the share proves its sender wrong.
    Rejected {
        /// Whether the sender is at fault ([`judge::blame`]).
        blame: Blame,
        /// Why.
        reason: String,
    },
}

/// The job a failure belongs to: what the actor needs to undo its bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailedJob {
    /// A gossiped share.
    Gossip {
        /// The peer that forwarded it.
        source: PeerId,
        /// Gossipsub's id of the message.
        message_id: MessageId,
    },
    /// A sync batch.
    Batch {
        /// The peer that sent it.
        peer: PeerId,
        /// The shares asked for: to fetch again.
        asked: Vec<ShareId>,
    },
}

impl ChainJob {
    fn failed(&self) -> FailedJob {
        match self {
            ChainJob::Gossip {
                source, message_id, ..
            } => FailedJob::Gossip {
                source: *source,
                message_id: message_id.clone(),
            },
            ChainJob::Batch { peer, asked, .. } => FailedJob::Batch {
                peer: *peer,
                asked: asked.clone(),
            },
        }
    }
}

/// A finished job.
#[derive(Debug)]
pub enum ChainDone {
    /// A job that failed for this node's own reason (its store, or a bug): no fault of the peer.
    Failed {
        /// The job.
        job: FailedJob,
        /// What went wrong, for the log and the status API.
        error: String,
    },
    /// A gossiped share.
    Gossip {
        /// The peer that forwarded it.
        source: PeerId,
        /// Gossipsub's id of the message.
        message_id: MessageId,
        /// What became of it.
        verdict: Verdict,
    },
    /// A sync batch.
    Batch {
        /// The peer that sent it.
        peer: PeerId,
        /// Shares accepted (with the orphans they connected).
        accepted: Vec<ShareId>,
        /// Those of `accepted` accepted without every check: never forwarded.
        unchecked: Vec<ShareId>,
        /// Asked-for ids not taken from this answer (not sent, or after a fault): fetch again.
        not_sent: Vec<ShareId>,
        /// Ids sent but not taken for a reason that proves nothing against the peer (already
        /// held, too far in the future, history this node lacks): sync is done with them.
        skipped: Vec<ShareId>,
        /// Shares still waiting for a missing share.
        waiting: Vec<ShareId>,
        /// What they wait for (parents or uncles not held): to fetch.
        missing: Vec<ShareId>,
        /// The first fault the peer committed, if any.
        fault: Option<String>,
    },
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The most jobs one group commit takes (their answers wait for its one sync).
const MAX_GROUP: usize = 64;

/// Starts the worker; it stops when `jobs` closes.
pub fn spawn<S: ShareStore + Send + 'static>(
    chain: SharedChain<S>,
    tip_changed: Arc<Notify>,
    jobs: std_mpsc::Receiver<ChainJob>,
    done: mpsc::Sender<ChainDone>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("otedama-chain".into())
        .spawn(move || {
            while let Ok(first) = jobs.recv() {
                let mut group = vec![first];
                group.extend(std::iter::from_fn(|| jobs.try_recv().ok()).take(MAX_GROUP - 1));
                for done_msg in run_group(&chain, &tip_changed, group) {
                    if done.blocking_send(done_msg).is_err() {
                        return;
                    }
                }
            }
        })
        .expect("a thread can be started")
}

/// Runs `group` (jobs that were queued together), then writes and syncs what they accepted
/// once, outside the chain's lock, and only then answers them: a burst of gossip costs one
/// fsync, not one per share, and nothing is reported (so nothing forwarded) before it is
/// durable. A failed sync fails every job whose answer needed it.
fn run_group<S: ShareStore>(
    chain: &SharedChain<S>,
    tip_changed: &Notify,
    group: Vec<ChainJob>,
) -> Vec<ChainDone> {
    let mut answers = Vec::with_capacity(group.len());
    let mut moved = false;
    for job in group {
        let failed = job.failed();
        let answer = match guarded(|| run(chain, job)) {
            Ok((answer, job_moved)) => {
                moved |= job_moved;
                answer
            }
            Err(error) => ChainDone::Failed {
                job: failed.clone(),
                error,
            },
        };
        answers.push((failed, answer));
    }
    if answers.iter().any(|(_, answer)| needs_sync(answer)) {
        let synced = guarded(|| {
            let syncer = chain.lock().write_staged()?;
            Ok(syncer.sync()?)
        });
        if let Err(error) = synced {
            return answers
                .into_iter()
                .map(|(job, answer)| {
                    if needs_sync(&answer) {
                        let error = error.clone();
                        ChainDone::Failed { job, error }
                    } else {
                        answer
                    }
                })
                .collect();
        }
    }
    if moved {
        tip_changed.notify_one();
    }
    answers.into_iter().map(|(_, answer)| answer).collect()
}

/// Whether an answer may go out only once the group's sync is done: it reports stored shares.
fn needs_sync(answer: &ChainDone) -> bool {
    matches!(
        answer,
        ChainDone::Batch { .. }
            | ChainDone::Gossip {
                verdict: Verdict::Accepted { .. },
                ..
            }
    )
}

/// Runs `f`, turning a storage error or a panic into what the job fails with. A panic in the
/// chain code ends that job, not the worker (the chain's lock recovers from poisoning: every
/// operation validates before it mutates).
fn guarded<T>(f: impl FnOnce() -> Result<T, ChainError>) -> Result<T, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => {
            error!(error = %e, "sharechain storage failed; the job is retried later");
            Err(e.to_string())
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".into());
            error!(panic = %what, "the chain worker panicked; the job is retried later");
            Err(format!("chain worker panicked: {what}"))
        }
    }
}

/// Runs one job, without syncing; also says whether the tip moved.
fn run<S: ShareStore>(
    chain: &SharedChain<S>,
    job: ChainJob,
) -> Result<(ChainDone, bool), ChainError> {
    match job {
        ChainJob::Gossip {
            source,
            message_id,
            bytes,
        } => gossip(chain, &bytes).map(|(verdict, moved)| {
            let answer = ChainDone::Gossip {
                source,
                message_id,
                verdict,
            };
            (answer, moved)
        }),
        ChainJob::Batch {
            peer,
            asked,
            shares,
            roots,
        } => batch(chain, peer, &asked, shares, &roots),
    }
}

/// Adds a gossiped share (unsynced: the group syncs); also says whether the tip moved.
fn gossip<S: ShareStore>(
    chain: &SharedChain<S>,
    bytes: &[u8],
) -> Result<(Verdict, bool), ChainError> {
    if bytes.len() > MAX_SHARE_BYTES {
        let verdict = Verdict::Rejected {
            blame: Blame::Proof,
            reason: format!("{} bytes is over the share limit", bytes.len()),
        };
        return Ok((verdict, false));
    }
    let share = match decode_share(bytes) {
        Ok(share) => share,
        Err(e) => {
            let verdict = Verdict::Rejected {
                blame: Blame::Proof,
                reason: format!("undecodable share: {e}"),
            };
            return Ok((verdict, false));
        }
    };
    let id = share.id();
    let parent = (!share.is_genesis()).then_some(share.data.prev_share);
    let mut guard = chain.lock();
    let outcome = guard.add(share, now())?;
    // Whether a contextual rejection is proof: the history it was checked against is held.
    let context = match &outcome {
        AddOutcome::Rejected(_) => guard.has_context(parent.as_ref()),
        // Orphans let in by this share sit on it or beside it (as uncles' nephews): when it
        // and every share it connected were fully checked, their history is held too.
        AddOutcome::Accepted(a) => a.unchecked.is_empty() && guard.has_context(Some(&id)),
        AddOutcome::WaitingForParent(_) => false,
    };
    drop(guard);
    let moved = matches!(&outcome, AddOutcome::Accepted(a) if a.event.is_some());
    let verdict = match outcome {
        AddOutcome::Accepted(accepted) => {
            let fully_checked = accepted.fully_checked();
            Verdict::Accepted {
                id,
                fully_checked,
                connected: accepted.connected,
                unchecked: accepted.unchecked,
                orphans_rejected: accepted
                    .orphans_rejected
                    .into_iter()
                    .filter(|(_, reason)| judge::blame(reason, context) == Blame::Proof)
                    .map(|(id, _)| id)
                    .collect(),
            }
        }
        AddOutcome::WaitingForParent(missing) => Verdict::Waiting { id, missing },
        AddOutcome::Rejected(reason) => Verdict::Rejected {
            blame: judge::blame(&reason, context),
            reason: format!("{reason:?}"),
        },
    };
    Ok((verdict, moved))
}

/// Adds a sync batch (unsynced: the group syncs); also says whether the tip moved.
fn batch<S: ShareStore>(
    chain: &SharedChain<S>,
    peer: PeerId,
    asked: &[ShareId],
    shares: Vec<Vec<u8>>,
    roots: &HashSet<ShareId>,
) -> Result<(ChainDone, bool), ChainError> {
    let asked_set: HashSet<ShareId> = asked.iter().copied().collect();
    let mut sent = HashSet::new();
    let mut accepted = Vec::new();
    let mut unchecked = Vec::new();
    let mut waiting = Vec::new();
    let mut missing = Vec::new();
    let mut skipped = Vec::new();
    let mut taken = HashSet::new();
    let mut fault = None;
    let mut moved = false;
    let now = now();
    for bytes in shares {
        let share = match decode_share(&bytes) {
            Ok(share) => share,
            Err(e) => {
                fault = Some(format!("undecodable share in a sync answer: {e}"));
                break;
            }
        };
        let id = share.id();
        let parent = (!share.is_genesis()).then_some(share.data.prev_share);
        if !asked_set.contains(&id) || !sent.insert(id) {
            fault = Some(format!(
                "sync answer holds share {id}, which was not asked for"
            ));
            break;
        }
        let mut guard = chain.lock();
        let outcome = if roots.contains(&id) {
            guard.add_root(share, now)?
        } else {
            guard.add(share, now)?
        };
        let blame = match &outcome {
            AddOutcome::Rejected(reason) => {
                judge::blame(reason, guard.has_context(parent.as_ref()))
            }
            _ => Blame::None,
        };
        drop(guard);
        if blame == Blame::None {
            taken.insert(id);
        }
        match outcome {
            AddOutcome::Accepted(a) => {
                moved |= a.event.is_some();
                accepted.push(id);
                accepted.extend(a.connected);
                unchecked.extend(a.unchecked);
            }
            AddOutcome::WaitingForParent(m) => {
                waiting.push(id);
                missing.extend(m);
            }
            AddOutcome::Rejected(reason) if blame == Blame::Proof => {
                fault = Some(format!("invalid share {id} in a sync answer: {reason:?}"));
                break;
            }
            AddOutcome::Rejected(reason) => {
                debug!(share = %id, ?reason, "synced share not taken");
                skipped.push(id);
            }
        }
    }
    let not_sent = asked
        .iter()
        .filter(|id| !taken.contains(id))
        .copied()
        .collect();
    let answer = ChainDone::Batch {
        peer,
        accepted,
        unchecked,
        not_sent,
        skipped,
        waiting,
        missing,
        fault,
    };
    Ok((answer, moved))
}

#[cfg(test)]
#[path = "worker_tests.rs"]
mod gated_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use otedama_proto::chain::{Coin, Network};
    use otedama_proto::target::CompactTarget;
    use otedama_sharechain::codec::encode_share;
    use otedama_sharechain::{
        Consensus, ConsensusId, ConsensusParams, MemoryStore, ShareChain, StoreError, StoredShare,
    };
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A memory store whose next `fail` syncs fail (a full or broken disk) and whose next
    /// `panic` syncs panic.
    #[derive(Debug)]
    struct FlakyStore {
        inner: MemoryStore,
        fail: Arc<AtomicU32>,
        panic: Arc<AtomicU32>,
    }

    fn take(n: &AtomicU32) -> bool {
        n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1))
            .is_ok()
    }

    /// The memory store's syncer, failing or panicking when the store's counters say so.
    #[derive(Debug)]
    struct FlakySyncer {
        inner: <MemoryStore as ShareStore>::Syncer,
        fail: Arc<AtomicU32>,
        panic: Arc<AtomicU32>,
    }

    impl StoreSyncer for FlakySyncer {
        fn sync(&self) -> Result<(), StoreError> {
            if take(&self.panic) {
                panic!("injected panic in the store");
            }
            if take(&self.fail) {
                return Err(StoreError::Io(
                    "No space left on device (os error 28)".into(),
                ));
            }
            self.inner.sync()
        }
    }

    impl ShareStore for FlakyStore {
        type Syncer = FlakySyncer;

        fn put(&mut self, id: &ShareId, record: &StoredShare) -> Result<(), StoreError> {
            self.inner.put(id, record)
        }
        fn get(&self, id: &ShareId) -> Result<Option<StoredShare>, StoreError> {
            self.inner.get(id)
        }
        fn remove(&mut self, ids: &[ShareId]) -> Result<(), StoreError> {
            self.inner.remove(ids)
        }
        fn set_tip(&mut self, tip: &ShareId) -> Result<(), StoreError> {
            self.inner.set_tip(tip)
        }
        fn tip(&self) -> Result<Option<ShareId>, StoreError> {
            self.inner.tip()
        }
        fn load_all(&self) -> Result<Vec<StoredShare>, StoreError> {
            self.inner.load_all()
        }
        fn consensus_id(&self) -> Result<Option<ConsensusId>, StoreError> {
            self.inner.consensus_id()
        }
        fn set_consensus_id(&mut self, id: &ConsensusId) -> Result<(), StoreError> {
            self.inner.set_consensus_id(id)
        }
        fn syncer(&mut self) -> FlakySyncer {
            FlakySyncer {
                inner: self.inner.syncer(),
                fail: Arc::clone(&self.fail),
                panic: Arc::clone(&self.panic),
            }
        }
    }

    fn consensus() -> Consensus {
        let mut p = ConsensusParams::for_network(Coin::Bitcoin, Network::Regtest).expect("exists");
        p.share_pow_limit = CompactTarget::from_consensus(0x207f_ffff);
        Consensus::new(p).expect("valid")
    }

    /// Every job gets an answer, even when the store fails or the chain code panics, and the
    /// worker keeps working afterwards.
    #[test]
    fn every_job_is_answered_through_store_errors_and_panics() {
        let c = consensus();
        let start = u32::try_from(now()).expect("before 2106") - 1000;
        let scripts = [bitcoin::ScriptBuf::from_bytes(
            [&[0x00, 0x14][..], &[0x42; 20]].concat(),
        )];
        let shares = otedama_sharechain::testkit::mine_chain(&c, 3, start, &scripts);
        let (fail, panic) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
        let store = FlakyStore {
            inner: MemoryStore::new(),
            fail: Arc::clone(&fail),
            panic: Arc::clone(&panic),
        };
        let chain = SharedChain::new(ShareChain::open(c, store).expect("opens"));
        let (jobs_tx, jobs_rx) = std_mpsc::sync_channel(8);
        let (done_tx, mut done_rx) = mpsc::channel(8);
        // Armed after opening, which flushes (the consensus id).
        fail.store(1, Ordering::SeqCst);
        panic.store(1, Ordering::SeqCst);
        let worker = spawn(chain.clone(), Arc::new(Notify::new()), jobs_rx, done_tx);
        let peer = PeerId::random();
        let job = |i: usize| ChainJob::Batch {
            peer,
            asked: vec![shares[i].id()],
            shares: vec![encode_share(&shares[i])],
            roots: HashSet::new(),
        };
        // The first sync panics, the second fails, the third works. One job at a time: jobs
        // queued together would share one sync.
        let mut answers = Vec::new();
        for i in 0..3 {
            // A worker that died leaves its queue closed: what it did not answer is counted below.
            let _ = jobs_tx.send(job(i));
            answers.extend(done_rx.blocking_recv());
        }
        drop(jobs_tx);
        let _ = worker.join();
        assert_eq!(answers.len(), 3, "{answers:?}");
        let errors: Vec<&str> = answers
            .iter()
            .filter_map(|a| match a {
                ChainDone::Failed {
                    job: FailedJob::Batch { asked, .. },
                    error,
                } => {
                    assert_eq!(
                        asked.len(),
                        1,
                        "the failed batch's ids come back to refetch"
                    );
                    Some(error.as_str())
                }
                _ => None,
            })
            .collect();
        assert_eq!(errors.len(), 2, "{answers:?}");
        assert!(errors[0].contains("injected panic"), "{}", errors[0]);
        assert!(errors[1].contains("No space left"), "{}", errors[1]);
        assert!(
            matches!(&answers[2], ChainDone::Batch { fault: None, .. }),
            "the worker keeps working: {:?}",
            answers[2]
        );
    }
}
