//! The PPLNS window (`docs/consensus.md` §10.1–10.2), kept incrementally at the tip.
//!
//! The window at the tip holds up to `N` shares with their credits summed per script; a new tip
//! on top of the old one adds one share and drops at most one, so payouts never rescan the
//! window. The work cap depends on the block target of the share being built, so it is applied
//! per query by cutting the oldest shares off. A window at any other share is built by walking.

use std::collections::VecDeque;

use otedama_proto::hash::ShareId;
use otedama_proto::uint::U256;

use otedama_proto::target::{CompactTarget, Target, Work};

use crate::index::{IdMap, Index, ScriptId};
use crate::params::Consensus;

/// The window ending at one share.
#[derive(Debug, Default)]
pub(crate) struct Window {
    /// Newest first: `(id, weight)`.
    shares: VecDeque<(ShareId, U256)>,
    credits: IdMap<ScriptId, U256>,
    total_weight: U256,
    limit: usize,
    /// How many shares of the window have credits that are not known in full (a root, or a
    /// share near one, naming an uncle this node holds not or cannot verify).
    unknown: usize,
}

/// The credits of a window after the work cap: one entry per script.
#[derive(Debug)]
pub(crate) struct WindowCredits {
    pub credits: Vec<(ScriptId, U256)>,
    /// Whether the window is known in full (else payouts cannot be checked exactly).
    pub complete: bool,
}

impl Window {
    /// The window ending at `head` (empty for `None`), walking the index.
    pub fn build(index: &Index, head: Option<&ShareId>, limit: usize) -> Window {
        let mut w = Window {
            limit,
            ..Window::default()
        };
        let Some(head) = head else { return w };
        for entry in index.ancestry(head).take(limit) {
            w.shares.push_back((entry.id, entry.weight));
            add_credits(&mut w.credits, &entry.credits);
            w.total_weight = w.total_weight + entry.weight;
            w.unknown += usize::from(!entry.credits_known());
        }
        w
    }

    /// The id of the newest share.
    pub fn head(&self) -> Option<&ShareId> {
        self.shares.front().map(|s| &s.0)
    }

    /// Moves the window to `head`, a child of the current head.
    pub fn advance(&mut self, index: &Index, head: &ShareId) {
        let entry = index.get(head).expect("the new head is held");
        self.shares.push_front((entry.id, entry.weight));
        add_credits(&mut self.credits, &entry.credits);
        self.total_weight = self.total_weight + entry.weight;
        self.unknown += usize::from(!entry.credits_known());
        if self.shares.len() > self.limit {
            let (old, weight) = self.shares.pop_back().expect("longer than the limit");
            self.total_weight = self.total_weight - weight;
            let old = index
                .get(&old)
                .expect("window shares are held (pruning keeps more)");
            sub_credits(&mut self.credits, &old.credits);
            self.unknown -= usize::from(!old.credits_known());
        }
    }

    /// The credits with the work cap `cap` applied (`None` = no cap).
    pub fn credits(&self, index: &Index, cap: Option<U256>) -> WindowCredits {
        let cut = cap.filter(|cap| self.total_weight > *cap).map(|cap| {
            let mut sum = U256::ZERO;
            let mut keep = 0;
            for (i, (_, weight)) in self.shares.iter().enumerate() {
                sum = sum + *weight;
                if i > 0 && sum > cap {
                    break;
                }
                keep = i + 1;
            }
            keep
        });
        let Some(keep) = cut else {
            let credits = self.credits.iter().map(|(s, c)| (*s, *c)).collect();
            return WindowCredits {
                credits,
                complete: self.is_complete(index, self.shares.len(), cap),
            };
        };
        let mut credits: IdMap<ScriptId, U256> = IdMap::default();
        if keep <= self.shares.len() / 2 {
            for (id, _) in self.shares.iter().take(keep) {
                add_credits(&mut credits, &index.get(id).expect("held").credits);
            }
        } else {
            credits.clone_from(&self.credits);
            for (id, _) in self.shares.iter().skip(keep) {
                sub_credits(&mut credits, &index.get(id).expect("held").credits);
            }
        }
        WindowCredits {
            credits: credits.into_iter().collect(),
            complete: self.is_complete(index, keep, cap),
        }
    }

    /// Whether the first `keep` shares are exactly the window a node holding the whole chain
    /// would use. Every one of them must have its credits known in full (a root's uncles may
    /// not be held, and a share just above a root may name an uncle that cannot be verified,
    /// §11.4). Walks stop only at the oldest share, so only it can be cut short: a root, or a
    /// share whose parent was pruned. Such a share is harmless when the walk would have
    /// stopped there anyway (`N` shares, or the work cap already exceeded). This is
    /// computed from the shares themselves at every query, so it turns true once the window has
    /// moved past a sync root and false again after a reorg onto a cut-short branch.
    fn is_complete(&self, index: &Index, keep: usize, cap: Option<U256>) -> bool {
        let credits_unknown = self.unknown > 0
            && self
                .shares
                .iter()
                .take(keep)
                .any(|(id, _)| !index.get(id).is_some_and(|e| e.credits_known()));
        if credits_unknown {
            return false;
        }
        if keep < self.shares.len() {
            return true;
        }
        let Some(oldest) = self.shares.back().and_then(|(id, _)| index.get(id)) else {
            return true;
        };
        let cut_short = oldest.parent.is_some() && index.parent(oldest).is_none();
        if !cut_short {
            return true;
        }
        // Cut short where the walk would have stopped anyway.
        self.shares.len() >= self.limit || cap.is_some_and(|cap| self.total_weight > cap)
    }

    /// The window's shares, newest first.
    pub fn ids(&self) -> impl Iterator<Item = &ShareId> {
        self.shares.iter().map(|s| &s.0)
    }

    /// The work done between the oldest share's time and the newest's: the weights (own work
    /// plus uncles') of every share but the oldest, whose hashes were done before its time, and
    /// the seconds between those two times (negative when a clock went backwards). `None` with
    /// fewer than two shares. Reads two index entries, whatever the window's length.
    pub fn recent_work(&self, index: &Index) -> Option<(Work, i64)> {
        if self.shares.len() < 2 {
            return None;
        }
        let (newest, _) = self.shares.front()?;
        let (oldest, oldest_weight) = self.shares.back()?;
        let seconds = i64::from(index.get(newest)?.time) - i64::from(index.get(oldest)?.time);
        Some((Work::from_u256(self.total_weight - *oldest_weight), seconds))
    }
}

/// Hashes per second, from `work` (expected hashes) done over `seconds`; `None` unless
/// `seconds` is positive. Display only: the result is rounded to an `f64`.
pub fn hash_rate(work: Work, seconds: i64) -> Option<f64> {
    (seconds > 0).then(|| work.to_f64() / seconds as f64)
}

/// The window's work cap for a share whose header has block target `block_bits`:
/// `M · work(block target)`, or `None` when the network has no cap (§10.1). Bits that do not
/// decode (only possible in a template request) count as the easiest target.
pub(crate) fn work_cap(consensus: &Consensus, block_bits: CompactTarget) -> Option<U256> {
    let m = consensus.params().window_block_multiple;
    (m > 0).then(|| {
        let block = Target::from_compact(block_bits).unwrap_or(Target::MAX);
        block.to_work().to_u256().saturating_mul_u64(u64::from(m))
    })
}

fn add_credits(map: &mut IdMap<ScriptId, U256>, credits: &[(ScriptId, U256)]) {
    for (script, credit) in credits.iter().filter(|c| !c.1.is_zero()) {
        let slot = map.entry(*script).or_insert(U256::ZERO);
        *slot = *slot + *credit;
    }
}

fn sub_credits(map: &mut IdMap<ScriptId, U256>, credits: &[(ScriptId, U256)]) {
    for (script, credit) in credits.iter().filter(|c| !c.1.is_zero()) {
        let slot = map
            .get_mut(script)
            .expect("a credit being removed was added");
        *slot = *slot - *credit;
        if slot.is_zero() {
            map.remove(script);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_rate_is_work_over_seconds() {
        let work = |n: u64| Work::from_u256(U256::from_u64(n));
        assert_eq!(hash_rate(work(600_000), 60), Some(10_000.0));
        assert_eq!(hash_rate(work(3), 2), Some(1.5));
        assert_eq!(hash_rate(work(0), 10), Some(0.0));
        // 2^100 hashes in 2^20 seconds: 2^80 per second, well past u64.
        let big = Work::from_u256(U256::ONE << 100);
        assert_eq!(hash_rate(big, 1 << 20), Some(2f64.powi(80)));
        assert_eq!(hash_rate(work(600_000), 0), None);
        assert_eq!(hash_rate(work(600_000), -5), None);
    }
}
