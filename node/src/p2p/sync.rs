//! Sync bookkeeping (`docs/protocol.md` §5): the ids known to be missing, which batches are being
//! fetched from whom, and whether the node has caught up. The actor does the talking.

use super::vote::RootVote;
use libp2p::request_response::OutboundRequestId;
use libp2p::PeerId;
use otedama_proto::hash::ShareId;
use otedama_proto::target::Work;
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
    /// Shares to add as roots (the first of each first answer a sync starts from).
    pub roots: HashSet<ShareId>,
    /// The first answers of the sync, until its start is decided.
    pub vote: RootVote,
    /// `Ids` requests sent before the start was decided (locator without an announced id).
    pub fresh: HashSet<OutboundRequestId>,
    /// Peers that did not send shares they were asked for in this sync: asked again only when
    /// no other peer can be.
    pub short: HashSet<PeerId>,
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

    /// Whether nothing is queued, in flight, held for the vote or in the worker.
    pub fn idle(&self) -> bool {
        self.queued.is_empty()
            && self.ids_inflight.is_empty()
            && self.vote.is_empty()
            && self.in_worker == 0
    }

    /// First `Ids` answers that may still come for the vote.
    pub fn fresh_inflight(&self) -> usize {
        self.ids_inflight
            .values()
            .filter(|r| self.fresh.contains(r))
            .count()
    }

    /// Drops queued ids that are neither waiting nor in flight (lost track of, e.g. when the
    /// worker stopped a batch); the next status round finds them again if they matter.
    pub fn reconcile(&mut self) {
        if self.idle() {
            self.announced = None;
            self.fresh.clear();
            self.short.clear();
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

/// A connected peer as a possible source of shares.
#[derive(Debug, Clone)]
pub struct Source {
    /// Who.
    pub peer: PeerId,
    /// The work of its best chain, as it last told us; `None` when it has no tip (or did not
    /// answer yet).
    pub work: Option<Work>,
    /// Whether its claims count (it is not doubted: `PeerTable::believed`).
    pub believed: bool,
}

/// The peers to ask for shares: those with a tip whose claims are believed. Of those, the ones
/// not `short` of shares asked in this sync and not behind our chain (`ours`) are asked; if
/// there are none, those not short; if none either, all. No peer's claim raises the floor for
/// the others: a peer claiming huge work cannot keep the shares from being asked of everyone
/// else, and once it failed to send them it is passed over.
pub fn body_sources(sources: &[Source], ours: Work, short: &HashSet<PeerId>) -> Vec<PeerId> {
    let able: Vec<(PeerId, Work)> = sources
        .iter()
        .filter(|s| s.believed)
        .filter_map(|s| s.work.map(|w| (s.peer, w)))
        .collect();
    let tier = |keep: &dyn Fn(&(PeerId, Work)) -> bool| -> Vec<PeerId> {
        able.iter().filter(|s| keep(s)).map(|(p, _)| *p).collect()
    };
    [
        tier(&|(p, w)| !short.contains(p) && *w >= ours),
        tier(&|(p, _)| !short.contains(p)),
        tier(&|_| true),
    ]
    .into_iter()
    .find(|t| !t.is_empty())
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use otedama_proto::uint::U256;

    fn work(n: u64) -> Option<Work> {
        Some(Work::from_u256(U256::from_u64(n)))
    }

    #[test]
    fn bodies_are_asked_of_every_believed_peer_whatever_one_claims() {
        let (liar, honest, behind, doubted, tipless) = (
            PeerId::random(),
            PeerId::random(),
            PeerId::random(),
            PeerId::random(),
            PeerId::random(),
        );
        let source = |peer, work, believed| Source {
            peer,
            work,
            believed,
        };
        let sources = [
            // Claims far more work than anyone: it must not push the honest peer out.
            source(liar, work(1 << 60), true),
            source(honest, work(5_000), true),
            source(behind, work(900), true),
            source(doubted, work(1 << 61), false),
            source(tipless, None, true),
        ];
        let mut chosen = body_sources(
            &sources,
            Work::from_u256(U256::from_u64(1_000)),
            &HashSet::new(),
        );
        chosen.sort();
        let mut expected = vec![liar, honest];
        expected.sort();
        assert_eq!(chosen, expected);
        // A peer that failed to send what it was asked is passed over while others can serve,
        // then a peer behind us is tried before peers that failed.
        let floor = Work::from_u256(U256::from_u64(1_000));
        assert_eq!(
            body_sources(&sources, floor, &HashSet::from([liar])),
            [honest]
        );
        assert_eq!(
            body_sources(&sources, floor, &HashSet::from([liar, honest])),
            [behind]
        );
        let mut all = body_sources(&sources, floor, &HashSet::from([liar, honest, behind]));
        all.sort();
        let mut expected = vec![liar, honest, behind];
        expected.sort();
        assert_eq!(all, expected, "doubted and tipless peers never");
    }

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
