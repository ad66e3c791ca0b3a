//! Storage limits against cheap shares (`docs/consensus.md` §11.6, node policy). A valid share
//! that would not become the tip is stored only if its branch is within reach of the best chain,
//! the difficulty rule asked it for a fair part of the tip's work, and its parent has room for
//! another child. Otherwise it is *held back*: kept in a small memory pool, not stored, not
//! relayed, and taken as soon as shares arrive that make its branch worth storing (a heavier
//! chain synced from a peer arrives oldest first), so that no arrival order keeps out a share a
//! heavier chain needs.
//!
//! The work a branch could reach counts the orphans waiting for the share, each weighed by the
//! target its own proof of work met (`max_bits`, never more than the work done) and its uncles
//! at most as much again each: a spammer cannot make a branch look heavier than the work it did.

use std::collections::VecDeque;

use otedama_proto::hash::ShareId;
use otedama_proto::uint::U256;

use super::ShareChain;
use crate::index::{work_of, IdMap};
use crate::share::Share;
use crate::store::ShareStore;
use crate::validate::{Prechecked, RejectReason};

/// How far below the best chain's work a branch is still stored, in units of the tip's rule
/// work (one share's weight at today's difficulty). Honest branches stay well within it: a race
/// is a share or two behind, an uncle at most `max_uncle_depth` (3) shares, each share weighing
/// at most five shares with its uncles (15).
pub const LIGHT_MARGIN_SHARES: u64 = 32;

/// A share whose rule work is below the tip's divided by this is *cheap*: stored only if its
/// branch would take the tip. ASERT moves the rule by at most 2^(1/10) per share when shares
/// come at once and honest siblings share a parent, so the shares of an honest race are within
/// a factor of two of the tip; a cheap share is one the rule let through only because its
/// parent is old or near the floor.
pub const CHEAP_FACTOR: u64 = 8;

/// The most children of one share a node stores, unless a child would take the tip. An honest
/// pool has two or three in its worst races.
pub const MAX_CHILDREN: usize = 16;

/// The most shares held back in memory; the oldest goes first (a peer serves it again if a
/// heavier branch turns out to need it: it is then among the ids orphans wait for).
pub const MAX_HELD_BACK: usize = 256;

/// The most orphans one estimate of a branch's reach visits (the orphan pool's default size).
const MAX_WALK: usize = 4096;

/// A share that was not stored (checks 1–12 passed, 14–18 wait until it is taken), and what
/// deciding about it again needs.
#[derive(Debug)]
pub(crate) struct Held {
    pub share: Share,
    pub pre: Prechecked,
    /// Its chain work, as it would be indexed (§9).
    pub chain_work: U256,
    /// The work of its rule target (`max_bits`).
    pub rule_work: U256,
}

/// The shares held back, oldest first out.
#[derive(Debug, Default)]
pub(crate) struct HeldBack {
    shares: IdMap<ShareId, Held>,
    order: VecDeque<ShareId>,
}

impl HeldBack {
    pub fn contains(&self, id: &ShareId) -> bool {
        self.shares.contains_key(id)
    }

    pub fn get(&self, id: &ShareId) -> Option<&Held> {
        self.shares.get(id)
    }

    pub fn len(&self) -> usize {
        self.shares.len()
    }

    pub fn insert(&mut self, held: Held) {
        while self.shares.len() >= MAX_HELD_BACK {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            self.shares.remove(&old);
        }
        self.order.push_back(held.pre.id);
        self.shares.insert(held.pre.id, held);
        if self.order.len() > 2 * MAX_HELD_BACK {
            let shares = &self.shares;
            self.order.retain(|id| shares.contains_key(id));
        }
    }

    pub fn remove(&mut self, id: &ShareId) -> Option<Held> {
        self.shares.remove(id)
    }
}

impl<S: ShareStore> ShareChain<S> {
    /// Why `share` (checks 1–12 passed, its parent and uncles are held) is held back instead of
    /// stored, with what deciding again needs; `None`: check it further and store it. Its
    /// `max_bits` is not checked yet (check 15), but its proof of work met it: claiming a
    /// harder one costs the work it claims.
    pub(super) fn hold_back(
        &self,
        share: &Share,
        pre: &Prechecked,
    ) -> Option<(RejectReason, Held)> {
        let parent = (!share.is_genesis()).then_some(share.data.prev_share);
        let weight = self
            .held_uncles(share, false)
            .fold(work_of(share.data.max_bits), |w, u| w + u.rule_work);
        let chain_work = match parent.and_then(|p| self.index.get(&p)) {
            Some(p) => p.chain_work + weight,
            None => weight,
        };
        let rule_work = work_of(share.data.max_bits);
        let reason = self.decide(&pre.id, parent.as_ref(), chain_work, rule_work)?;
        let held = Held {
            share: share.clone(),
            pre: pre.clone(),
            chain_work,
            rule_work,
        };
        Some((reason, held))
    }

    /// The policy of §11.6 for share `id` on `parent` with `chain_work` and `rule_work`.
    fn decide(
        &self,
        id: &ShareId,
        parent: Option<&ShareId>,
        chain_work: U256,
        rule_work: U256,
    ) -> Option<RejectReason> {
        let tip = self.tip.and_then(|t| self.index.get(&t))?;
        if chain_work >= tip.chain_work {
            return None;
        }
        let reach = self.reach(id, chain_work);
        if reach >= tip.chain_work {
            // The branch could take the tip: never refused, however it was made.
            return None;
        }
        let margin = tip
            .rule_work
            .checked_mul_u64(LIGHT_MARGIN_SHARES)
            .expect("work < 2^128");
        let cheap = rule_work
            .checked_mul_u64(CHEAP_FACTOR)
            .expect("work < 2^128")
            < tip.rule_work;
        if cheap || reach + margin < tip.chain_work {
            return Some(RejectReason::BranchTooLight);
        }
        let crowded = parent.is_some_and(|p| {
            self.index
                .get(p)
                .is_some_and(|pe| self.index.children(p, pe.height) >= MAX_CHILDREN)
        });
        crowded.then_some(RejectReason::TooManyChildren)
    }

    /// The greatest chain work the branch through share `id` (of chain work `chain_work`)
    /// reaches with the orphans that wait for it, directly or through each other.
    fn reach(&self, id: &ShareId, chain_work: U256) -> U256 {
        let mut est: IdMap<ShareId, U256> = IdMap::default();
        est.insert(*id, chain_work);
        let mut best = chain_work;
        let mut queue = VecDeque::from([*id]);
        while let Some(done) = queue.pop_front() {
            for w in self.orphans.waiters(&done) {
                if est.contains_key(w) || est.len() >= MAX_WALK {
                    continue;
                }
                let Some((share, _)) = self.orphans.get(w) else {
                    continue;
                };
                // A waiter whose parent is not known yet is reached through that parent.
                let Some(base) = self.known_chain_work(&est, &share.data.prev_share) else {
                    continue;
                };
                let own = work_of(share.data.max_bits);
                let uncles = share
                    .data
                    .uncles
                    .iter()
                    .filter_map(|u| self.known_rule_work(u))
                    .fold(U256::ZERO, |acc, u| acc + u.min(own));
                let work = base + own + uncles;
                best = best.max(work);
                est.insert(*w, work);
                queue.push_back(*w);
            }
        }
        best
    }

    fn known_chain_work(&self, est: &IdMap<ShareId, U256>, id: &ShareId) -> Option<U256> {
        est.get(id)
            .copied()
            .or_else(|| self.index.get(id).map(|e| e.chain_work))
            .or_else(|| self.held_back.get(id).map(|h| h.chain_work))
    }

    fn known_rule_work(&self, id: &ShareId) -> Option<U256> {
        self.index
            .get(id)
            .map(|e| e.rule_work)
            .or_else(|| self.held_back.get(id).map(|h| h.rule_work))
            .or_else(|| self.orphans.get(id).map(|(s, _)| work_of(s.data.max_bits)))
    }

    /// The held-back shares that the orphans waiting for `missing` depend on, directly or
    /// through other orphans.
    fn held_back_roots(&self, missing: &[ShareId]) -> Vec<ShareId> {
        let mut stack = missing.to_vec();
        let mut seen: IdMap<ShareId, ()> = IdMap::default();
        let mut roots = Vec::new();
        while let Some(m) = stack.pop() {
            if seen.insert(m, ()).is_some() || seen.len() > MAX_WALK {
                continue;
            }
            if self.held_back.contains(&m) {
                roots.push(m);
            } else if let Some((share, _)) = self.orphans.get(&m) {
                stack.extend(self.missing_for(share));
            }
        }
        roots
    }

    /// Stores the held-back shares that orphans waiting for `missing` now make worth storing.
    /// Returns them with whether every check ran on each.
    pub(super) fn revive(
        &mut self,
        missing: &[ShareId],
    ) -> Result<Vec<(ShareId, bool)>, super::ChainError> {
        let mut revived = Vec::new();
        if self.held_back.len() == 0 {
            return Ok(revived);
        }
        for root in self.held_back_roots(missing) {
            let Some(h) = self.held_back.get(&root) else {
                continue;
            };
            if !self.missing_for(&h.share).is_empty() {
                // Its parent or an uncle was pruned meanwhile: it can no longer be checked.
                continue;
            }
            let parent = (!h.share.is_genesis()).then_some(h.share.data.prev_share);
            if self
                .decide(&root, parent.as_ref(), h.chain_work, h.rule_work)
                .is_some()
            {
                continue;
            }
            let h = self.held_back.remove(&root).expect("just read");
            if let Ok(checked) = self.validate_and_connect(h.share, h.pre)? {
                revived.push((root, checked));
            }
        }
        Ok(revived)
    }
}
