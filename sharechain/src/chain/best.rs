//! The best chain by height: the id at each height from the oldest held ancestor of the tip up
//! to the tip. Sync answers (`crate::sync`) read it to tell in one step whether an id is on the
//! best chain and to list the ids after a fork point, instead of walking from the tip once per
//! locator entry (a hostile locator made that a million index lookups under the chain lock).

use std::collections::VecDeque;

use otedama_proto::hash::ShareId;

use crate::index::Index;

/// The best chain's ids by height.
#[derive(Debug, Default)]
pub(crate) struct BestChain {
    /// The height of `ids[0]`.
    base: u32,
    /// The best chain, oldest held first.
    ids: VecDeque<ShareId>,
}

impl BestChain {
    /// The best chain ending at `tip`, walked from the index.
    pub fn build(index: &Index, tip: Option<&ShareId>) -> Self {
        let mut best = BestChain::default();
        if let Some(tip) = tip {
            best.set_tip(index, tip);
        }
        best
    }

    /// Moves the tip to `tip`: walks back from it only until it meets the chain already held
    /// (one step when the tip is extended, the depth of the reorg otherwise).
    pub fn set_tip(&mut self, index: &Index, tip: &ShareId) {
        let mut added = Vec::new();
        let mut met = None;
        for e in index.ancestry(tip) {
            if self.at(e.height) == Some(&e.id) {
                met = Some(e.height);
                break;
            }
            added.push((e.height, e.id));
        }
        match met {
            Some(h) => self.ids.truncate((h - self.base) as usize + 1),
            None => {
                // A branch that shares nothing held with the old one: start again.
                self.ids.clear();
                self.base = added.last().map_or(0, |(h, _)| *h);
            }
        }
        self.ids.extend(added.into_iter().rev().map(|(_, id)| id));
    }

    /// Forgets the heights below `height` (pruned).
    pub fn prune_below(&mut self, height: u32) {
        while self.base < height && !self.ids.is_empty() {
            self.ids.pop_front();
            self.base += 1;
        }
        if self.ids.is_empty() {
            self.base = self.base.max(height);
        }
    }

    /// The best chain's id at `height`, if held.
    pub fn at(&self, height: u32) -> Option<&ShareId> {
        height
            .checked_sub(self.base)
            .and_then(|i| self.ids.get(i as usize))
    }

    /// The height of the oldest held share of the best chain.
    pub fn base(&self) -> u32 {
        self.base
    }

    /// The height of the tip (`None` when empty).
    pub fn top(&self) -> Option<u32> {
        let len = u32::try_from(self.ids.len()).expect("fewer than 2^32 heights");
        (len > 0).then(|| self.base + len - 1)
    }

    /// The ids from `height` up, oldest first.
    pub fn from(&self, height: u32) -> impl Iterator<Item = &ShareId> + '_ {
        let skip = height.saturating_sub(self.base) as usize;
        self.ids.iter().skip(skip)
    }
}
