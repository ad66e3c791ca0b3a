//! The accept path of [`ShareChain`]: the precheck and duplicate check, validate-and-connect,
//! moving the tip (and the window with it), retrying orphans whose missing shares arrived, the
//! [`ChainEvent`] of the change, and pruning on schedule.

use std::collections::VecDeque;

use otedama_proto::hash::ShareId;
use otedama_proto::target::Work;
use otedama_proto::uint::U256;

use super::{Accepted, AddOutcome, ChainError, ChainEvent, ShareChain};
use crate::codec::StoredShare;
use crate::index::{Entry, ScriptId};
use crate::share::Share;
use crate::store::ShareStore;
use crate::validate::{self, Prechecked, RejectReason};
use crate::window::Window;

impl<S: ShareStore> ShareChain<S> {
    /// Checks 3–12 plus the duplicate check.
    pub(super) fn prechecks(&self, share: &Share, now: u64) -> Result<Prechecked, RejectReason> {
        validate::check_identity(&self.consensus, share)?;
        let id = share.id();
        if self.index.contains(&id) || self.orphans.contains(&id) || self.held_back.contains(&id) {
            return Err(RejectReason::Duplicate);
        }
        validate::precheck(&self.consensus, share, id, now)
    }

    /// Connects orphans that waited for `id`, prunes, and reports. `checked`: whether every
    /// check ran on `id`.
    pub(super) fn finish_add(
        &mut self,
        id: ShareId,
        old_tip: Option<ShareId>,
        checked: bool,
    ) -> Result<AddOutcome, ChainError> {
        let mut accepted = self.cascade(vec![(id, checked)], old_tip)?;
        accepted.connected.retain(|c| *c != id);
        Ok(AddOutcome::Accepted(accepted))
    }

    /// Connects the orphans that waited for the shares just connected (`start`, with whether
    /// every check ran on each), and those that waited for them in turn, then prunes and
    /// reports. The report's `id` is the first of `start`; `connected` holds all of them.
    pub(super) fn cascade(
        &mut self,
        start: Vec<(ShareId, bool)>,
        old_tip: Option<ShareId>,
    ) -> Result<Accepted, ChainError> {
        let id = start.first().expect("something was connected").0;
        let mut connected = Vec::new();
        let mut orphans_rejected = Vec::new();
        let mut unchecked = Vec::new();
        let mut queue = VecDeque::new();
        for (s, checked) in start {
            if !checked {
                unchecked.push(s);
            }
            connected.push(s);
            queue.push_back(s);
        }
        while let Some(done) = queue.pop_front() {
            for (oid, (oshare, opre)) in self.orphans.take_waiting_for(&done) {
                let missing = self.missing_for(&oshare);
                if !missing.is_empty() {
                    self.orphans.insert(oid, (oshare, opre), &missing);
                    for (rid, checked) in self.revive(&missing)? {
                        if !checked {
                            unchecked.push(rid);
                        }
                        connected.push(rid);
                        queue.push_back(rid);
                    }
                    continue;
                }
                match self.validate_and_connect(oshare, opre)? {
                    Ok(checked) => {
                        if !checked {
                            unchecked.push(oid);
                        }
                        connected.push(oid);
                        queue.push_back(oid);
                    }
                    // Held back (§11.6), not rejected: a heavier branch may still take it.
                    Err(RejectReason::BranchTooLight | RejectReason::TooManyChildren) => {}
                    Err(reason) => orphans_rejected.push((oid, reason)),
                }
            }
        }
        let event = self.event_since(old_tip);
        if let (Some(tip), Some(_)) = (self.tip, &event) {
            self.staged.set_tip(tip);
        }
        self.maybe_prune()?;
        Ok(Accepted {
            id,
            connected,
            orphans_rejected,
            event,
            unchecked,
        })
    }

    pub(super) fn missing_for(&self, share: &Share) -> Vec<ShareId> {
        let mut missing = Vec::new();
        if !share.is_genesis() && !self.index.contains(&share.data.prev_share) {
            missing.push(share.data.prev_share);
        }
        // An uncle this node can never verify is not waited for (§11.4): it would never
        // arrive with a parent, and the sync would walk back to the peers' prune horizon.
        let parent_held = missing.is_empty();
        let d = &share.data;
        missing.extend(
            d.uncles
                .iter()
                .filter(|u| !self.index.contains(u))
                .filter(|u| {
                    !(parent_held
                        && validate::uncle_unverifiable(
                            &self.consensus,
                            &self.index,
                            d.height,
                            &d.prev_share,
                            u,
                        ))
                })
                .copied(),
        );
        missing
    }

    /// The storage policy of §11.6, then checks 14–18, then stores and indexes the share;
    /// `Ok(Ok(checked))` says whether every check had the context it needs (held ancestry, a
    /// complete window). The policy comes first: a share that would not be stored is not worth
    /// the payout check (a window walk), and is checked in full when it is taken.
    pub(super) fn validate_and_connect(
        &mut self,
        share: Share,
        pre: Prechecked,
    ) -> Result<Result<bool, RejectReason>, ChainError> {
        if let Some((reason, held)) = self.hold_back(&share, &pre) {
            self.held_back.insert(held);
            return Ok(Err(reason));
        }
        let (value, finder) = (share.coinbase.value, &share.data.payout_script);
        let mut window_complete = true;
        let verdict = validate::contextual(&self.consensus, &self.index, &share, |parent, cap| {
            let (payouts, complete) = self.payouts_with(parent, cap, value, finder);
            window_complete = complete;
            (payouts, complete)
        });
        if let Err(reason) = verdict {
            return Ok(Err(reason));
        }
        let parent = (!share.is_genesis()).then_some(share.data.prev_share);
        let checked = window_complete && self.has_context(parent.as_ref());
        self.connect(&share, &pre, false)?;
        Ok(Ok(checked))
    }

    /// The held uncles of `share` that count for it: those this node can verify (all of a
    /// root's held ones).
    pub(super) fn held_uncles<'a>(
        &'a self,
        share: &'a Share,
        root: bool,
    ) -> impl Iterator<Item = &'a Entry> + 'a {
        let d = &share.data;
        d.uncles
            .iter()
            .filter(move |u| {
                root || !validate::uncle_unverifiable(
                    &self.consensus,
                    &self.index,
                    d.height,
                    &d.prev_share,
                    u,
                )
            })
            .filter_map(|u| self.index.get(u))
    }

    /// What the index keeps of `share`. `stored_work` is used when the parent is not held.
    pub(super) fn entry_for(
        &mut self,
        share: &Share,
        pre: &Prechecked,
        root: bool,
        stored_work: Option<U256>,
    ) -> Entry {
        let p = self.consensus.params();
        let script = self.index.scripts.intern(&share.data.payout_script);
        let mut own_credit = pre.work;
        let mut weight = pre.work;
        let rule_work = crate::index::work_of(share.data.max_bits);
        let mut fork_weight = rule_work;
        let mut credits = vec![(script, U256::ZERO)];
        let uncles: Vec<(ScriptId, U256, U256)> = self
            .held_uncles(share, root)
            .map(|u| (u.script, u.work, u.rule_work))
            .collect();
        for uncle in uncles {
            let (uncle_script, uncle_work, uncle_rule_work) = uncle;
            let includer = uncle_work
                .checked_mul_u64(u64::from(100 - p.uncle_credit_percent))
                .expect("work < 2^128")
                / U256::from_u64(100);
            own_credit = own_credit + includer;
            weight = weight + uncle_work;
            fork_weight = fork_weight + uncle_rule_work;
            credits.push((uncle_script, uncle_work - includer));
        }
        credits[0].1 = own_credit;
        let parent = (!share.is_genesis()).then_some(share.data.prev_share);
        let held_parent = parent.filter(|_| !root).and_then(|p| self.index.get(&p));
        let chain_work = match held_parent {
            Some(parent) => parent.chain_work + fork_weight,
            None => stored_work.unwrap_or(fork_weight),
        };
        Entry {
            id: pre.id,
            parent,
            height: share.data.height,
            time: share.time(),
            max_bits: share.data.max_bits,
            coin_height: pre.coin_height,
            script,
            work: pre.work,
            rule_work,
            pow_hash: pre.pow_hash,
            weight,
            chain_work,
            uncles: share.data.uncles.clone(),
            credits,
            root,
        }
    }

    /// Stores and indexes a valid share and moves the tip if it is better.
    pub(super) fn connect(
        &mut self,
        share: &Share,
        pre: &Prechecked,
        root: bool,
    ) -> Result<(), ChainError> {
        let entry = self.entry_for(share, pre, root, None);
        let record = StoredShare {
            share: share.clone(),
            root,
            chain_work: Work::from_u256(entry.chain_work),
        };
        if let Err(e) = self.staged.put(&mut self.store, pre.id, record) {
            self.index.scripts.forget_unused(entry.script);
            return Err(e.into());
        }
        let better = match self.tip.and_then(|t| self.index.get(&t)) {
            None => true,
            Some(tip) => entry.better_than(tip),
        };
        let extends_tip = entry.parent.is_some() && entry.parent == self.tip;
        self.index.insert(entry);
        if better {
            if extends_tip {
                self.window.advance(&self.index, &pre.id);
            } else {
                let limit = self.consensus.params().window_shares as usize;
                self.window = Window::build(&self.index, Some(&pre.id), limit);
            }
            self.tip = Some(pre.id);
            self.best.set_tip(&self.index, &pre.id);
        }
        Ok(())
    }

    /// The event that takes the best chain from `old` to the current tip.
    fn event_since(&self, old: Option<ShareId>) -> Option<ChainEvent> {
        let new = self.tip?;
        if old == Some(new) {
            return None;
        }
        let height = self.index.get(&new).expect("tip is held").height;
        let mut added = Vec::new();
        let mut removed = Vec::new();
        let mut a = old.and_then(|o| self.index.get(&o));
        let mut b = self.index.get(&new);
        // Step the higher side back until both meet (or one runs off the held chain).
        while let Some(eb) = b {
            match a {
                Some(ea) if ea.id == eb.id => break,
                Some(ea) if ea.height >= eb.height => {
                    removed.push(ea.id);
                    a = self.index.parent(ea);
                }
                _ => {
                    added.push(eb.id);
                    b = self.index.parent(eb);
                }
            }
        }
        while let Some(ea) = a.filter(|_| b.is_none()) {
            removed.push(ea.id);
            a = self.index.parent(ea);
        }
        added.reverse();
        match old {
            Some(old_tip) if !removed.is_empty() => Some(ChainEvent::Reorg {
                old_tip,
                new_tip: new,
                height,
                removed,
                added,
            }),
            _ => Some(ChainEvent::NewTip {
                tip: new,
                height,
                added,
            }),
        }
    }

    /// Prunes when the tip has risen `prune_interval` since the last time.
    fn maybe_prune(&mut self) -> Result<(), ChainError> {
        let h = self.height().unwrap_or(0);
        if h.saturating_sub(self.last_prune) >= self.config.prune_interval {
            self.prune()?;
        }
        Ok(())
    }
}
