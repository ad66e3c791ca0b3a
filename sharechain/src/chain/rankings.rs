//! The payouts of a window (§10) as [`ShareChain`] computes them for templates and validation,
//! and the small cache of window rankings behind them: the node builds templates on the tip and
//! then validates shares on it, so the same ranking is asked for again and again.

use std::sync::Arc;

use bitcoin::Script;
use otedama_proto::amount::Amount;
use otedama_proto::hash::{PowHash, ShareId};
use otedama_proto::target::CompactTarget;
use otedama_proto::uint::U256;

use super::ShareChain;
use crate::index::ScriptId;
use crate::payout::{self, Payout, Ranking};
use crate::store::ShareStore;
use crate::window::{Window, WindowCredits};

/// How many rankings (window at a parent under a cap) the chain remembers.
const RANKINGS_KEPT: usize = 4;

/// The payees of the window at `parent` under `cap`, ranked (§10.4).
#[derive(Debug)]
pub(super) struct RankedWindow {
    parent: ShareId,
    cap: Option<U256>,
    ranked: Vec<(ScriptId, U256)>,
    total: U256,
    complete: bool,
}

impl<S: ShareStore> ShareChain<S> {
    /// The credits of the window at `parent` under `cap`, from the incremental window when
    /// `parent` is the tip.
    pub(crate) fn window_credits(&self, parent: &ShareId, cap: Option<U256>) -> WindowCredits {
        if self.window.head() == Some(parent) {
            self.window.credits(&self.index, cap)
        } else {
            let limit = self.consensus.params().window_shares as usize;
            Window::build(&self.index, Some(parent), limit).credits(&self.index, cap)
        }
    }

    /// The payouts at `parent` under work cap `cap`, and whether the window was known in full:
    /// the code path shared by templates and validation.
    pub(crate) fn payouts_with(
        &self,
        parent: Option<&ShareId>,
        cap: Option<U256>,
        value: Amount,
        finder: &Script,
    ) -> (Vec<Payout>, bool) {
        let Some(parent) = parent else {
            let empty = Ranking::default();
            let seed = PowHash::from_byte_array([0; 32]);
            let payouts = payout::split_ranked(&self.consensus, &empty, value, finder, &seed);
            return (payouts, true);
        };
        let ranked = self.ranked_window(parent, cap);
        let scripts = &self.index.scripts;
        let entries = ranked
            .ranked
            .iter()
            .map(|(s, c)| (scripts.get(*s), *c))
            .collect();
        let ranking = Ranking::from_ranked(entries, ranked.total);
        // The lottery seed is the parent's proof-of-work hash, not its id (§10.5): on Litecoin
        // the id is a sha256d a miner could filter its headers by before the scrypt.
        let seed = self
            .index
            .get(parent)
            .map_or([0; 32], |e| e.pow_hash.to_le_bytes());
        let seed = PowHash::from_byte_array(seed);
        let payouts = payout::split_ranked(&self.consensus, &ranking, value, finder, &seed);
        (payouts, ranked.complete)
    }

    /// The ranking of the window at `parent` under `cap`, remembered for the next caller.
    fn ranked_window(&self, parent: &ShareId, cap: Option<U256>) -> Arc<RankedWindow> {
        let hit = self
            .rankings
            .borrow()
            .iter()
            .find(|r| r.parent == *parent && r.cap == cap)
            .cloned();
        if let Some(hit) = hit {
            return hit;
        }
        let credits = self.window_credits(parent, cap);
        let scripts = &self.index.scripts;
        let mut ranked: Vec<(ScriptId, U256)> = credits
            .credits
            .into_iter()
            .filter(|(_, c)| !c.is_zero())
            .collect();
        ranked.sort_unstable_by(|a, b| {
            payout::rank(&(scripts.get(a.0), a.1), &(scripts.get(b.0), b.1))
        });
        let total = ranked.iter().fold(U256::ZERO, |acc, (_, c)| acc + *c);
        let entry = Arc::new(RankedWindow {
            parent: *parent,
            cap,
            ranked,
            total,
            complete: credits.complete,
        });
        let mut cache = self.rankings.borrow_mut();
        if cache.len() == RANKINGS_KEPT {
            cache.pop_front();
        }
        cache.push_back(Arc::clone(&entry));
        entry
    }

    /// The window work cap for a block target (`None` when the network has none).
    pub(crate) fn work_cap(&self, block_bits: CompactTarget) -> Option<U256> {
        crate::window::work_cap(&self.consensus, block_bits)
    }
}
