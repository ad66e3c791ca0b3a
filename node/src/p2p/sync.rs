//! Sync bookkeeping (`docs/protocol.md` §5): the ids known to be missing, which batches are being
//! fetched from whom, and whether the node has caught up. The actor does the talking.

use libp2p::request_response::OutboundRequestId;
use libp2p::PeerId;
use otedama_proto::hash::ShareId;
use std::collections::{HashMap, HashSet, VecDeque};

/// Shares asked for per `Shares` request.
pub const BATCH: usize = 64;
/// `Shares` requests in flight per peer.
pub const PER_PEER: usize = 3;
/// How far ahead of the chain ids are queued before more are asked for.
pub const QUEUE_AHEAD: usize = 1500;
/// How many shares may be missing while the node still counts as synced (gossip gaps).
pub const SLACK: usize = 6;
/// Tries per share before sync gives up on it (the next status round starts over).
const MAX_TRIES: u8 = 3;

/// What sync is waiting for.
#[derive(Debug, Default)]
pub struct SyncQueue {
    wanted: VecDeque<ShareId>,
    queued: HashSet<ShareId>,
    tries: HashMap<ShareId, u8>,
    /// Shares to add as roots (the first of the first answer of a sync).
    pub roots: HashSet<ShareId>,
    /// The newest id announced by `Ids` answers of the sync under way: the next `Ids` request
    /// continues from it. Cleared when the sync is over.
    pub announced: Option<ShareId>,
    /// `Ids` requests in flight, by peer.
    pub ids_inflight: HashMap<PeerId, OutboundRequestId>,
    /// `Shares` requests in flight.
    pub bodies: HashMap<OutboundRequestId, (PeerId, Vec<ShareId>)>,
    /// Batches handed to the chain worker and not yet done.
    pub in_worker: usize,
    /// Shares accepted through sync.
    pub fetched: u64,
    /// The work of the peer whose ids are being fetched: bodies are asked only of peers with at
    /// least this much.
    pub source_work: otedama_proto::target::Work,
    /// The peer whose `Ids` answers said it had no more: once the sync is idle, the work it
    /// claimed is checked against what it brought.
    pub ended: Option<PeerId>,
}

impl SyncQueue {
    /// Queues `ids` (oldest first), skipping those already queued or fetched (`have`).
    pub fn extend(
        &mut self,
        ids: impl IntoIterator<Item = ShareId>,
        have: impl Fn(&ShareId) -> bool,
    ) {
        for id in ids {
            if !have(&id) && self.queued.insert(id) {
                self.wanted.push_back(id);
            }
        }
    }

    /// Puts back ids that were not delivered, at the front, unless they were tried too often.
    pub fn retry(&mut self, ids: &[ShareId]) {
        for id in ids.iter().rev() {
            let tries = self.tries.entry(*id).or_insert(0);
            *tries += 1;
            if *tries < MAX_TRIES {
                self.wanted.push_front(*id);
            } else {
                self.queued.remove(id);
                self.tries.remove(id);
            }
        }
    }

    /// The next batch to fetch.
    pub fn next_batch(&mut self) -> Vec<ShareId> {
        let n = self.wanted.len().min(BATCH);
        self.wanted.drain(..n).collect()
    }

    /// Marks `ids` as done (accepted, or given up).
    pub fn done(&mut self, ids: &[ShareId]) {
        for id in ids {
            self.queued.remove(id);
            self.tries.remove(id);
            self.roots.remove(id);
        }
    }

    /// Ids waiting to be fetched.
    pub fn waiting(&self) -> usize {
        self.wanted.len()
    }

    /// Ids queued or in flight.
    pub fn outstanding(&self) -> usize {
        self.queued.len()
    }

    /// Bodies requests in flight to `peer`.
    pub fn inflight_to(&self, peer: &PeerId) -> usize {
        self.bodies.values().filter(|(p, _)| p == peer).count()
    }

    /// Whether nothing is queued, in flight or in the worker.
    pub fn idle(&self) -> bool {
        self.queued.is_empty() && self.ids_inflight.is_empty() && self.in_worker == 0
    }

    /// Whether no `Shares` request is in flight and none waits.
    pub fn idle_bodies(&self) -> bool {
        self.bodies.is_empty() && self.wanted.is_empty()
    }

    /// Drops queued ids that are neither waiting nor in flight (lost track of, e.g. when the
    /// worker stopped a batch); the next status round finds them again if they matter.
    pub fn reconcile(&mut self) {
        if self.idle() {
            self.announced = None;
        }
        if self.in_worker > 0 || self.queued.len() == self.wanted.len() {
            return;
        }
        let live: HashSet<ShareId> = self
            .wanted
            .iter()
            .chain(self.bodies.values().flat_map(|(_, ids)| ids.iter()))
            .copied()
            .collect();
        self.queued.retain(|id| live.contains(id));
        self.tries.retain(|id, _| live.contains(id));
        self.roots.retain(|id| live.contains(id));
    }

    /// Forgets `peer`'s requests (it left); their ids go back in the queue.
    pub fn peer_gone(&mut self, peer: &PeerId) {
        self.ids_inflight.remove(peer);
        let lost: Vec<OutboundRequestId> = self
            .bodies
            .iter()
            .filter(|(_, (p, _))| p == peer)
            .map(|(r, _)| *r)
            .collect();
        for r in lost {
            if let Some((_, ids)) = self.bodies.remove(&r) {
                self.wanted.extend(ids);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> ShareId {
        ShareId::from_byte_array([n; 32])
    }

    #[test]
    fn queue_dedups_batches_and_gives_up_after_retries() {
        let mut q = SyncQueue::default();
        q.extend((1..=70).map(id), |i| *i == id(5));
        q.extend([id(1), id(2)], |_| false);
        assert_eq!(q.outstanding(), 69);
        let first = q.next_batch();
        assert_eq!(first.len(), BATCH);
        assert_eq!(first[0], id(1));
        assert_eq!(q.waiting(), 5);
        q.retry(&first[..2]);
        assert_eq!(q.next_batch()[..2], first[..2]);
        q.retry(&first[..1]);
        q.next_batch();
        q.retry(&first[..1]);
        assert_eq!(q.outstanding(), 68, "third failure gives the id up");
        q.done(&first);
        assert!(q.outstanding() < 10);
    }
}
