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

    /// Whether `id` is on the best chain: one index lookup and one step in the height index.
    pub fn is_on_best_chain(&self, id: &ShareId) -> bool {
        self.index
            .get(id)
            .is_some_and(|e| self.best.at(e.height) == Some(id))
    }

    /// Up to `max` ids of the best chain after the first id of `locator` that is on it, oldest
    /// first; from the oldest held share of the best chain if none is.
    pub fn ids_after(&self, locator: &[ShareId], max: usize) -> Vec<ShareId> {
        self.ids_after_bounded(locator, max, usize::MAX).0
    }

    /// The answer to a peer's `Ids` request (`docs/protocol.md` §5.3): up to `max` ids of the
    /// best chain after the first id of `locator` that is on it, oldest first, and whether more
    /// follow. When no locator id is on the best chain, the answer starts `depth` below the tip
    /// (or at the oldest held share). Repeated locator ids are looked at once, and nothing past
    /// the answer is walked: the cost is one lookup per distinct locator id plus the ids
    /// returned, whatever the locator names.
    pub fn ids_after_bounded(
        &self,
        locator: &[ShareId],
        max: usize,
        depth: usize,
    ) -> (Vec<ShareId>, bool) {
        let Some(top) = self.best.top() else {
            return (Vec::new(), false);
        };
        let mut seen = crate::index::IdMap::<ShareId, ()>::default();
        let fork = locator
            .iter()
            .filter(|id| seen.insert(**id, ()).is_none())
            .find_map(|id| {
                self.index
                    .get(id)
                    .filter(|e| self.best.at(e.height) == Some(id))
                    .map(|e| e.height)
            });
        let start = match fork {
            Some(height) => height.saturating_add(1),
            None => {
                let depth = u32::try_from(depth).unwrap_or(u32::MAX);
                top.saturating_add(1)
                    .saturating_sub(depth)
                    .max(self.best.base())
            }
        };
        let mut ids: Vec<ShareId> = self
            .best
            .from(start)
            .take(max.saturating_add(1))
            .copied()
            .collect();
        let more = ids.len() > max;
        ids.truncate(max);
        (ids, more)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::AddOutcome;
    use crate::params::{Consensus, ConsensusParams};
    use crate::store::MemoryStore;
    use crate::template::TemplateRequest;
    use crate::testkit;
    use bitcoin::ScriptBuf;
    use otedama_proto::chain::{Coin, Network};
    use otedama_proto::target::CompactTarget;

    const NOW: u64 = 4_000_000_000;

    fn consensus(window: u32) -> Consensus {
        let mut p = ConsensusParams::for_network(Coin::Bitcoin, Network::Regtest).expect("exists");
        p.share_pow_limit = CompactTarget::from_consensus(0x207f_ffff);
        p.window_shares = window;
        Consensus::new(p).expect("valid")
    }

    fn grow(chain: &mut ShareChain<MemoryStore>, parent: Option<&ShareId>, n: u8) -> ShareId {
        let mut script = vec![0x00, 0x14];
        script.extend_from_slice(&[n; 20]);
        let req = TemplateRequest {
            payout_script: ScriptBuf::from_bytes(script),
            coinbase_value: testkit::CHAIN_COINBASE_VALUE,
            block_bits: testkit::chain_job().block_bits,
            witness_commitment: None,
            share_bits: None,
        };
        let parent = parent.copied().or(chain.tip());
        let t = chain.template_at(parent.as_ref(), &req).expect("template");
        let time = 1_700_000_000 + 10 * t.data.height;
        let s = testkit::mine(
            chain.consensus(),
            &t,
            &testkit::chain_job(),
            time.max(t.min_time),
            u64::from(n),
        );
        let id = s.id();
        match chain.add(s, NOW).expect("memory store") {
            AddOutcome::Accepted(_) => id,
            other => panic!("not accepted: {other:?}"),
        }
    }

    /// 200 shares on one best chain, and a side share at height 1 (a sibling of the second).
    fn chain_with_a_deep_side_share() -> (ShareChain<MemoryStore>, Vec<ShareId>, ShareId) {
        let config = crate::chain::ChainConfig {
            max_orphans: 16,
            keep_heights: 1000,
            prune_interval: 64,
        };
        let mut chain =
            ShareChain::open_with(consensus(20), MemoryStore::new(), config).expect("opens");
        let mut best = vec![grow(&mut chain, None, 0)];
        best.push(grow(&mut chain, None, 1));
        best.push(grow(&mut chain, None, 3));
        // Added once the best chain is longer, so that it loses fork choice.
        let side = grow(&mut chain, Some(&best[0]), 2);
        for i in 3..200u32 {
            best.push(grow(&mut chain, None, (i % 5) as u8));
        }
        assert_eq!(chain.tip(), best.last().copied());
        (chain, best, side)
    }

    #[test]
    fn a_locator_of_one_deep_side_id_repeated_costs_few_lookups() {
        let (chain, best, side) = chain_with_a_deep_side_share();
        let locator = vec![side; 64];
        chain.index.lookups.set(0);
        let ids = chain.ids_after(&locator, usize::MAX);
        // The side share is on no best chain: the answer is the whole held best chain.
        assert_eq!(ids.len(), best.len());
        assert!(ids == best, "the answer is not the best chain");
        let cost = chain.index.lookups.get();
        // One look at each distinct locator id and at most one per id answered; the old walk
        // from the tip for every copy cost 64 × 200.
        assert!(cost <= 1 + best.len() as u64, "{cost} index lookups");
    }

    /// The best chain by walking from the tip, oldest first.
    fn walk(chain: &ShareChain<MemoryStore>) -> Vec<ShareId> {
        let tip = chain.tip().expect("a tip");
        let mut ids: Vec<ShareId> = chain.index.ancestry(&tip).map(|e| e.id).collect();
        ids.reverse();
        ids
    }

    #[test]
    fn the_height_index_follows_reorgs_and_pruning() {
        let config = crate::chain::ChainConfig {
            max_orphans: 16,
            keep_heights: 40,
            prune_interval: 8,
        };
        let mut chain =
            ShareChain::open_with(consensus(20), MemoryStore::new(), config).expect("opens");
        let mut old = Vec::new();
        for i in 0..60u32 {
            old.push(grow(&mut chain, None, (i % 3) as u8));
        }
        // A branch from height 50 that overtakes the tip: a reorg of 9 shares.
        let mut parent = old[50];
        for _ in 0..12 {
            parent = grow(&mut chain, Some(&parent), 9);
        }
        assert_eq!(chain.tip(), Some(parent));
        let walked = walk(&chain);
        let answer = chain.ids_after(&[], usize::MAX);
        assert!(
            answer == walked,
            "the height index is not the walked best chain"
        );
        assert!(!chain.is_on_best_chain(&old[55]) && chain.is_on_best_chain(&old[50]));
        // A locator of shares off the best chain: the last `depth` ids, in batches.
        let (ids, more) = chain.ids_after_bounded(&[old[59], old[55]], 5, 8);
        assert_eq!(ids, walked[walked.len() - 8..walked.len() - 3].to_vec());
        assert!(more);
        // A locator naming an old-branch share first, then the fork point.
        let (ids, more) = chain.ids_after_bounded(&[old[59], old[50], old[50]], 100, 8);
        assert_eq!(ids, walked[walked.len() - 12..].to_vec());
        assert!(!more);
        // Reopened from the store, the index is rebuilt the same.
        let store = chain.into_store().expect("memory store");
        let reopened = ShareChain::open(consensus(20), store).expect("opens");
        assert!(reopened.ids_after(&[], usize::MAX) == walk(&reopened));
    }
}
