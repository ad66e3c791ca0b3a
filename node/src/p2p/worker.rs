//! The chain worker: one thread that gives shares from the network to the sharechain, so that
//! validation (one scrypt hash per share) never stalls the swarm's event loop. It flushes once per
//! job (group commit) before it reports, so a share is durable before it is forwarded.

use super::judge::{self, Blame};
use crate::work::chain::SharedChain;
use libp2p::gossipsub::MessageId;
use libp2p::PeerId;
use otedama_proto::hash::ShareId;
use otedama_sharechain::codec::decode_share;
use otedama_sharechain::params::MAX_SHARE_BYTES;
use otedama_sharechain::{AddOutcome, ChainError};
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

/// A finished job.
#[derive(Debug)]
pub enum ChainDone {
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

/// Starts the worker; it stops when `jobs` closes.
pub fn spawn(
    chain: SharedChain,
    tip_changed: Arc<Notify>,
    jobs: std_mpsc::Receiver<ChainJob>,
    done: mpsc::Sender<ChainDone>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("otedama-chain".into())
        .spawn(move || {
            for job in jobs {
                let result = match job {
                    ChainJob::Gossip {
                        source,
                        message_id,
                        bytes,
                    } => gossip(&chain, &tip_changed, &bytes).map(|verdict| ChainDone::Gossip {
                        source,
                        message_id,
                        verdict,
                    }),
                    ChainJob::Batch {
                        peer,
                        asked,
                        shares,
                        roots,
                    } => batch(&chain, &tip_changed, peer, &asked, shares, &roots),
                };
                match result {
                    Ok(done_msg) => {
                        if done.blocking_send(done_msg).is_err() {
                            return;
                        }
                    }
                    Err(e) => error!(error = %e, "sharechain storage failed; network shares are not being stored"),
                }
            }
        })
        .expect("a thread can be started")
}

fn gossip(chain: &SharedChain, tip_changed: &Notify, bytes: &[u8]) -> Result<Verdict, ChainError> {
    if bytes.len() > MAX_SHARE_BYTES {
        return Ok(Verdict::Rejected {
            blame: Blame::Proof,
            reason: format!("{} bytes is over the share limit", bytes.len()),
        });
    }
    let share = match decode_share(bytes) {
        Ok(share) => share,
        Err(e) => {
            return Ok(Verdict::Rejected {
                blame: Blame::Proof,
                reason: format!("undecodable share: {e}"),
            })
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
    if matches!(outcome, AddOutcome::Accepted(_)) {
        guard.flush()?;
    }
    drop(guard);
    Ok(match outcome {
        AddOutcome::Accepted(accepted) => {
            if accepted.event.is_some() {
                tip_changed.notify_one();
            }
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
    })
}

fn batch(
    chain: &SharedChain,
    tip_changed: &Notify,
    peer: PeerId,
    asked: &[ShareId],
    shares: Vec<Vec<u8>>,
    roots: &HashSet<ShareId>,
) -> Result<ChainDone, ChainError> {
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
    chain.lock().flush()?;
    if moved {
        tip_changed.notify_one();
    }
    let not_sent = asked
        .iter()
        .filter(|id| !taken.contains(id))
        .copied()
        .collect();
    Ok(ChainDone::Batch {
        peer,
        accepted,
        unchecked,
        not_sent,
        skipped,
        waiting,
        missing,
        fault,
    })
}
