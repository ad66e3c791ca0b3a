//! The bounded pool of shares waiting for a missing parent or uncle (`docs/consensus.md` §11.2).
//!
//! Only shares that passed the context-free checks get here. When the pool is full the share
//! that has waited longest is dropped; the network layer will fetch it again if it matters.

use std::collections::VecDeque;

use otedama_proto::hash::ShareId;

use crate::index::IdMap;
use crate::share::Share;
use crate::validate::Prechecked;

/// A waiting share with what its context-free checks computed.
pub(crate) type Orphan = (Share, Prechecked);

/// Shares waiting for other shares.
#[derive(Debug)]
pub(crate) struct OrphanPool {
    shares: IdMap<ShareId, Orphan>,
    /// Arrival order, for eviction; ids no longer in `shares` are skipped lazily.
    order: VecDeque<ShareId>,
    /// Missing id → the orphans waiting for it.
    waiting: IdMap<ShareId, Vec<ShareId>>,
    capacity: usize,
}

impl OrphanPool {
    pub fn new(capacity: usize) -> Self {
        OrphanPool {
            shares: IdMap::default(),
            order: VecDeque::new(),
            waiting: IdMap::default(),
            capacity,
        }
    }

    pub fn contains(&self, id: &ShareId) -> bool {
        self.shares.contains_key(id)
    }

    pub fn len(&self) -> usize {
        self.shares.len()
    }

    /// The waiting share `id`, if it is here.
    pub fn get(&self, id: &ShareId) -> Option<&Orphan> {
        self.shares.get(id)
    }

    /// The ids of the orphans waiting for `id` (some may have been evicted since).
    pub fn waiters(&self, id: &ShareId) -> &[ShareId] {
        self.waiting.get(id).map_or(&[], Vec::as_slice)
    }

    /// Holds `share` until every id in `missing` is accepted. Returns the id evicted to make
    /// room, if any.
    pub fn insert(&mut self, id: ShareId, share: Orphan, missing: &[ShareId]) -> Option<ShareId> {
        let mut evicted = None;
        if self.shares.len() >= self.capacity {
            while let Some(old) = self.order.pop_front() {
                if self.shares.remove(&old).is_some() {
                    evicted = Some(old);
                    break;
                }
            }
        }
        for m in missing {
            self.waiting.entry(*m).or_default().push(id);
        }
        self.shares.insert(id, share);
        self.order.push_back(id);
        if self.order.len() > 2 * self.capacity.max(1) {
            let shares = &self.shares;
            self.order.retain(|id| shares.contains_key(id));
            self.waiting.retain(|_, waiters| {
                waiters.retain(|w| shares.contains_key(w));
                !waiters.is_empty()
            });
        }
        evicted
    }

    /// Removes and returns the orphans that were waiting for `id`, in arrival order of the wait.
    pub fn take_waiting_for(&mut self, id: &ShareId) -> Vec<(ShareId, Orphan)> {
        let Some(ids) = self.waiting.remove(id) else {
            return Vec::new();
        };
        ids.into_iter()
            .filter_map(|o| self.shares.remove(&o).map(|s| (o, s)))
            .collect()
    }

    /// Every share id some orphan is waiting for and that is not itself an orphan.
    pub fn missing(&self) -> Vec<ShareId> {
        let mut out: Vec<ShareId> = self
            .waiting
            .iter()
            .filter(|(m, waiters)| {
                !self.shares.contains_key(m) && waiters.iter().any(|w| self.shares.contains_key(w))
            })
            .map(|(m, _)| *m)
            .collect();
        out.sort();
        out
    }
}
