//! What the network layer needs to sync a chain (`docs/protocol.md` builds on it): a locator of
//! the best chain, and the best chain's ids after a peer's locator, in bounded batches.

use otedama_proto::hash::ShareId;

use crate::chain::ShareChain;
use crate::store::ShareStore;

impl<S: ShareStore> ShareChain<S> {
    /// Ids of the best chain, newest first: the ten newest, then heights back in doubling steps,
    /// then the oldest held. A peer finds in it the newest share both chains have.
    pub fn locator(&self) -> Vec<ShareId> {
        let Some(tip) = self.tip else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut step = 1u32;
        let mut next = self.index.get(&tip).map(|e| e.height);
        let mut oldest = None;
        for e in self.index.ancestry(&tip) {
            oldest = Some(e.id);
            if Some(e.height) == next {
                out.push(e.id);
                if out.len() >= 10 {
                    step = step.saturating_mul(2);
                }
                next = e.height.checked_sub(step);
            }
        }
        if let Some(oldest) = oldest.filter(|o| out.last() != Some(o)) {
            out.push(oldest);
        }
        out
    }

    /// Whether the held ancestry of `parent` is deep enough for every check that reads it: the
    /// difficulty rule (parent and grandparent), the median time (`median_span` ancestors) and
    /// the uncles (`max_uncle_depth` below the parent and one more). `None` (a genesis share)
    /// needs none. After a sync from a root (§11.4) the first shares lack it: a share checked
    /// without it may be stored but not relayed, and a rejection without it proves nothing
    /// about the peer that sent the share.
    pub fn has_context(&self, parent: Option<&ShareId>) -> bool {
        let Some(parent) = parent else {
            return true;
        };
        let p = self.consensus.params();
        let needed = (p.median_span as usize).max(p.max_uncle_depth as usize + 2);
        let mut held = 0;
        for e in self.index.ancestry(parent).take(needed) {
            held += 1;
            if e.parent.is_none() {
                // Genesis: the whole history is held.
                return true;
            }
        }
        held >= needed
    }

    /// Whether `id` is on the best chain.
    pub fn is_on_best_chain(&self, id: &ShareId) -> bool {
        match (self.tip, self.index.get(id)) {
            (Some(tip), Some(e)) => self
                .index
                .at_height(&tip, e.height)
                .is_some_and(|a| a.id == *id),
            _ => false,
        }
    }

    /// Up to `max` ids of the best chain after the first id of `locator` that is on it, oldest
    /// first; from the oldest held share of the best chain if none is.
    pub fn ids_after(&self, locator: &[ShareId], max: usize) -> Vec<ShareId> {
        let Some(tip) = self.tip else {
            return Vec::new();
        };
        let fork = locator.iter().find(|id| self.is_on_best_chain(id)).copied();
        let mut ids: Vec<ShareId> = self
            .index
            .ancestry(&tip)
            .take_while(|e| Some(e.id) != fork)
            .map(|e| e.id)
            .collect();
        ids.reverse();
        ids.truncate(max);
        ids
    }
}
