//! [`ShareChain`]: takes shares and `now`, validates them (`validate`), keeps the index, the
//! tip (§9) and the window at the tip (`window`), holds orphans, stores accepted shares and
//! reports tip changes as [`ChainEvent`]s. Pure apart from the store it is given.
//!
//! This file holds the types and the public API; the accept path (validate, connect, move the
//! tip, retry orphans) is in `connect`, the payouts and their ranking cache in `rankings`.

mod best;
mod connect;
mod rankings;
mod spam;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::Arc;

use bitcoin::Script;
use otedama_proto::amount::Amount;
use otedama_proto::hash::ShareId;
use otedama_proto::target::{CompactTarget, Work};
use otedama_proto::uint::U256;

use crate::codec;
use crate::commit::Staged;
use crate::index::{work_of, Index};
use crate::orphans::OrphanPool;
use crate::params::{Consensus, ConsensusId};
use crate::payout::Payout;
use crate::share::Share;
use crate::store::{ShareStore, StoreError, StoreSyncer};
use crate::validate::{Prechecked, RejectReason};
use crate::window::Window;
pub(crate) use best::BestChain;
use rankings::RankedWindow;
pub use spam::{CHEAP_FACTOR, LIGHT_MARGIN_SHARES, MAX_CHILDREN, MAX_HELD_BACK};

/// Node-side settings of a chain (not consensus).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainConfig {
    /// The most shares waiting for a parent.
    pub max_orphans: usize,
    /// How many heights below the tip are kept; older shares are pruned.
    pub keep_heights: u32,
    /// Prune each time the tip has risen this many heights.
    pub prune_interval: u32,
}

impl ChainConfig {
    /// The defaults of §11: 4096 orphans, four windows kept, pruning every 64 shares.
    pub fn for_consensus(consensus: &Consensus) -> Self {
        ChainConfig {
            max_orphans: 4096,
            keep_heights: 4 * consensus.params().window_shares + 16,
            prune_interval: 64,
        }
    }
}

/// A change of the best chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainEvent {
    /// The new tip extends the old one by `added` (oldest first).
    NewTip {
        /// The new tip.
        tip: ShareId,
        /// Its height.
        height: u32,
        /// Shares that joined the best chain, oldest first.
        added: Vec<ShareId>,
    },
    /// The best chain switched branches.
    Reorg {
        /// The tip before.
        old_tip: ShareId,
        /// The tip now.
        new_tip: ShareId,
        /// Its height.
        height: u32,
        /// Shares that left the best chain, newest first.
        removed: Vec<ShareId>,
        /// Shares that joined the best chain, oldest first.
        added: Vec<ShareId>,
    },
}

/// A share was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The share.
    pub id: ShareId,
    /// Orphans it let in (their parents or uncles arrived), in the order they were accepted.
    pub connected: Vec<ShareId>,
    /// Orphans that turned out invalid once their parent arrived.
    pub orphans_rejected: Vec<(ShareId, RejectReason)>,
    /// How the best chain changed, if it did.
    pub event: Option<ChainEvent>,
    /// The shares among `id` and `connected` accepted without every check (§11.4): a root, a
    /// share whose held ancestry is too short for the difficulty rule, the median time or the
    /// uncles ([`ShareChain::has_context`]), or whose window is incomplete. They are stored but
    /// must never be relayed: a node with the whole history may reject them.
    pub unchecked: Vec<ShareId>,
}

impl Accepted {
    /// Whether every check ran on the share itself (it may be relayed).
    pub fn fully_checked(&self) -> bool {
        !self.unchecked.contains(&self.id)
    }

    /// A cascade's report (whose `connected` holds every share it connected) told about `id`,
    /// one of them: the others stay in `connected`.
    fn about(mut self, id: ShareId) -> Accepted {
        self.id = id;
        self.connected.retain(|c| *c != id);
        self
    }
}

/// What became of a share given to [`ShareChain::add`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddOutcome {
    /// Valid and stored (durable after the next [`ShareChain::flush`]).
    Accepted(Accepted),
    /// Not accepted, and why.
    Rejected(RejectReason),
    /// Passed the context-free checks; waits for these missing shares (parent and/or uncles).
    WaitingForParent(Vec<ShareId>),
}

/// A failure of the chain's storage; the chain's memory is unchanged by the failed call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store holds the sharechain of another consensus id (another coin, network or pool,
    /// or consensus parameters changed since it was written): its shares must not become the
    /// parents of this chain's.
    #[error(
        "this store holds the sharechain of consensus id {stored}, but this node runs consensus \
         id {running} (another network or pool, or the consensus rules changed since): use \
         another data directory, or remove this store to sync the chain of {running} from peers"
    )]
    WrongConsensus {
        /// The id the store was written under.
        stored: ConsensusId,
        /// The id of the chain being opened.
        running: ConsensusId,
    },
}

/// The sharechain of one consensus id.
#[derive(Debug)]
pub struct ShareChain<S: ShareStore> {
    pub(crate) consensus: Consensus,
    config: ChainConfig,
    store: S,
    pub(crate) index: Index,
    pub(crate) tip: Option<ShareId>,
    /// The best chain by height, for sync answers.
    pub(crate) best: BestChain,
    pub(crate) window: Window,
    orphans: OrphanPool,
    /// Valid shares not stored because their branch is too light or their parent too crowded
    /// (§11.6); taken once a heavier branch needs them.
    held_back: spam::HeldBack,
    last_prune: u32,
    /// Accepted shares waiting for the next flush (group commit).
    staged: Staged,
    /// Recent rankings: the node builds templates on the tip and then validates shares on it.
    rankings: RefCell<VecDeque<Arc<RankedWindow>>>,
}

impl<S: ShareStore> ShareChain<S> {
    /// Opens the chain kept in `store`, rebuilding the index, tip and window from its records.
    pub fn open(consensus: Consensus, store: S) -> Result<Self, ChainError> {
        let config = ChainConfig::for_consensus(&consensus);
        Self::open_with(consensus, store, config)
    }

    /// [`ShareChain::open`] with explicit node settings. `keep_heights` is raised to at least a
    /// window plus the uncle depth and the median span, which validation needs held.
    ///
    /// A store of another consensus id is refused ([`ChainError::WrongConsensus`]): by the id
    /// the store keeps, or, for a store written before it kept one, by its shares' own ids. A
    /// store without an id gets this chain's.
    pub fn open_with(
        consensus: Consensus,
        mut store: S,
        mut config: ChainConfig,
    ) -> Result<Self, ChainError> {
        let running = consensus.id();
        let kept = store.consensus_id()?;
        if let Some(stored) = kept.filter(|s| *s != running) {
            return Err(ChainError::WrongConsensus { stored, running });
        }
        let p = consensus.params();
        let needed = p.window_shares + p.max_uncle_depth + p.median_span + 2;
        config.keep_heights = config.keep_heights.max(needed);
        config.prune_interval = config.prune_interval.max(1);
        let mut records = store.load_all()?;
        if let Some(r) = records
            .iter()
            .find(|r| r.share.data.consensus_id != running)
        {
            return Err(ChainError::WrongConsensus {
                stored: r.share.data.consensus_id,
                running,
            });
        }
        if kept.is_none() {
            store.set_consensus_id(&running)?;
            store.flush()?;
        }
        records.sort_by_key(|r| r.share.data.height);
        let limit = consensus.params().window_shares as usize;
        let mut chain = ShareChain {
            orphans: OrphanPool::new(config.max_orphans),
            held_back: spam::HeldBack::default(),
            config,
            store,
            index: Index::default(),
            tip: None,
            best: BestChain::default(),
            window: Window::default(),
            last_prune: 0,
            rankings: RefCell::default(),
            staged: Staged::default(),
            consensus,
        };
        for r in records {
            let id = r.share.id();
            let coin_height =
                crate::coinbase::parse_coin_height(&r.share.coinbase.script_sig).unwrap_or(0);
            // The tie-break needs the pow hash: one hash per record (scrypt on Litecoin, about
            // 1 s for four windows), which is not stored so that records stay as they were.
            let pow_hash = U256::from_le_bytes(
                r.share
                    .header
                    .pow_hash(chain.consensus.pow_algo())
                    .to_byte_array(),
            );
            let pre = Prechecked {
                id,
                coin_height,
                work: work_of(r.share.data.bits),
                pow_hash,
            };
            let entry = chain.entry_for(&r.share, &pre, r.root, Some(r.chain_work.to_u256()));
            chain.index.insert(entry);
        }
        chain.tip = chain.index.best().map(|e| e.id);
        chain.best = BestChain::build(&chain.index, chain.tip.as_ref());
        chain.window = Window::build(&chain.index, chain.tip.as_ref(), limit);
        chain.last_prune = chain.height().unwrap_or(0);
        Ok(chain)
    }

    /// The consensus rules of this chain.
    pub fn consensus(&self) -> &Consensus {
        &self.consensus
    }

    /// The best share, if any.
    pub fn tip(&self) -> Option<ShareId> {
        self.tip
    }

    /// The height of the best share.
    pub fn height(&self) -> Option<u32> {
        self.tip.and_then(|t| self.index.get(&t)).map(|e| e.height)
    }

    /// The chain work of the best share.
    pub fn chain_work(&self) -> Option<Work> {
        self.tip
            .and_then(|t| self.index.get(&t))
            .map(|e| Work::from_u256(e.chain_work))
    }

    /// Whether share `id` is held (accepted, not pruned).
    pub fn contains(&self, id: &ShareId) -> bool {
        self.index.contains(id)
    }

    /// The ids of every held share (not orphans), in no particular order.
    pub fn held_ids(&self) -> Vec<ShareId> {
        self.index.ids().copied().collect()
    }

    /// Whether `id` is held, waits in the orphan pool or is held back (§11.6): a share there is
    /// not worth fetching.
    pub fn knows(&self, id: &ShareId) -> bool {
        self.index.contains(id) || self.orphans.contains(id) || self.held_back.contains(id)
    }

    /// How many valid shares are held back in memory, not stored (§11.6).
    pub fn held_back_count(&self) -> usize {
        self.held_back.len()
    }

    /// How many shares are held (not counting orphans).
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether no share is held.
    pub fn is_empty(&self) -> bool {
        self.index.len() == 0
    }

    /// How many shares wait for a parent.
    pub fn orphan_count(&self) -> usize {
        self.orphans.len()
    }

    /// The ids orphans are waiting for, for the network layer to fetch (not those held back:
    /// they are here, waiting for a heavier branch).
    pub fn missing(&self) -> Vec<ShareId> {
        let mut missing = self.orphans.missing();
        missing.retain(|id| !self.held_back.contains(id));
        missing
    }

    /// A held share (from the commit batch or the store).
    pub fn get_share(&self, id: &ShareId) -> Result<Option<Share>, ChainError> {
        if !self.index.contains(id) {
            return Ok(None);
        }
        if let Some(staged) = self.staged.get(id) {
            return Ok(Some(staged.share.clone()));
        }
        Ok(self.store.get(id)?.map(|r| r.share))
    }

    /// How many accepted shares wait for the next [`ShareChain::flush`].
    pub fn unflushed(&self) -> usize {
        self.staged.len()
    }

    /// The ids of the window at the tip (without the work cap), newest first.
    pub fn window_ids(&self) -> Vec<ShareId> {
        self.window.ids().copied().collect()
    }

    /// How many shares the PPLNS window at the tip holds (without copying their ids).
    pub fn window_len(&self) -> usize {
        self.window.ids().count()
    }

    /// The pool's hash rate in hashes per second, estimated from the window at the tip (no work
    /// cap): the work of its shares after the oldest, their uncles' included (those hashes were
    /// done too), over the seconds from the oldest share's time to the newest's. `None` with
    /// fewer than two shares in the window or when their times do not increase. Cheap: two
    /// index reads, whatever the window's length.
    pub fn pool_hashrate(&self) -> Option<f64> {
        let (work, seconds) = self.window.recent_work(&self.index)?;
        crate::window::hash_rate(work, seconds)
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Gives the store back with every accepted share written to it (durable only if the last
    /// call was [`ShareChain::flush`]).
    pub fn into_store(mut self) -> Result<S, ChainError> {
        self.staged.write(&mut self.store)?;
        Ok(self.store)
    }

    /// The group commit: writes every share accepted since the last flush in one batch and makes
    /// it durable. Call once per batch of shares, before acknowledging or gossiping them.
    pub fn flush(&mut self) -> Result<(), ChainError> {
        Ok(self.write_staged()?.sync()?)
    }

    /// The first half of [`ShareChain::flush`]: writes every share accepted since the last
    /// flush to the store in one batch and returns the handle that makes them durable. A node
    /// that keeps the chain behind a lock calls this under the lock and syncs after releasing
    /// it, so other users of the chain never wait on the disk. Nothing written here may be
    /// acknowledged or gossiped before the handle's sync returns.
    pub fn write_staged(&mut self) -> Result<S::Syncer, ChainError> {
        self.staged.write(&mut self.store)?;
        Ok(self.store.syncer())
    }

    /// Decodes `bytes` (checks 1–2) and adds the share.
    pub fn add_encoded(&mut self, bytes: &[u8], now: u64) -> Result<AddOutcome, ChainError> {
        let limit = self.consensus.params().max_share_bytes as usize;
        if bytes.len() > limit {
            return Ok(AddOutcome::Rejected(RejectReason::Oversized {
                len: bytes.len(),
                limit,
            }));
        }
        match codec::decode_share(bytes) {
            Ok(share) => self.add(share, now),
            Err(e) => Ok(AddOutcome::Rejected(RejectReason::Malformed(e))),
        }
    }

    /// Validates `share` against the chain at time `now` and, if valid, stores it and moves the
    /// tip; a share whose parent or uncles are missing waits in the orphan pool.
    pub fn add(&mut self, share: Share, now: u64) -> Result<AddOutcome, ChainError> {
        let pre = match self.prechecks(&share, now) {
            Ok(pre) => pre,
            Err(reason) => return Ok(AddOutcome::Rejected(reason)),
        };
        // Node policy (§11.3): competing genesis shares are welcome while the pool is young.
        if share.is_genesis()
            && self
                .height()
                .is_some_and(|h| h >= self.consensus.params().window_shares)
        {
            return Ok(AddOutcome::Rejected(RejectReason::GenesisNotAllowed));
        }
        let missing = self.missing_for(&share);
        let old_tip = self.tip;
        let id = pre.id;
        if !missing.is_empty() {
            self.orphans.insert(pre.id, (share, pre), &missing);
            // A held-back share this one depends on may be worth storing now (§11.6). If it
            // is, and this share connects with it, the report is about this share; if this
            // share still waits (for another missing uncle), the tip may have moved anyway and
            // the caller reads it from `tip()`.
            let revived = self.revive(&missing)?;
            if !revived.is_empty() {
                let accepted = self.cascade(revived, old_tip)?;
                if accepted.connected.contains(&id) {
                    return Ok(AddOutcome::Accepted(accepted.about(id)));
                }
            }
            return Ok(AddOutcome::WaitingForParent(missing));
        }
        let checked = match self.validate_and_connect(share, pre)? {
            Ok(checked) => checked,
            Err(reason) => return Ok(AddOutcome::Rejected(reason)),
        };
        self.finish_add(id, old_tip, checked)
    }

    /// Adds `share` as a root: its parent is not held and will not be fetched (the oldest share
    /// of a sync, §11.4). Only the context-free checks apply. A share whose parent is held is
    /// added as by [`ShareChain::add`].
    pub fn add_root(&mut self, share: Share, now: u64) -> Result<AddOutcome, ChainError> {
        if share.is_genesis() || self.index.contains(&share.data.prev_share) {
            return self.add(share, now);
        }
        let pre = match self.prechecks(&share, now) {
            Ok(pre) => pre,
            Err(reason) => return Ok(AddOutcome::Rejected(reason)),
        };
        let old_tip = self.tip;
        let id = pre.id;
        self.connect(&share, &pre, true)?;
        self.finish_add(id, old_tip, false)
    }

    /// Forgets (in memory and in the store) every share more than `keep_heights` below the tip.
    pub fn prune(&mut self) -> Result<usize, ChainError> {
        let h = self.height().unwrap_or(0);
        self.last_prune = h;
        let Some(cutoff) = h.checked_sub(self.config.keep_heights) else {
            return Ok(0);
        };
        let ids = self.index.prune_below(cutoff);
        if !ids.is_empty() {
            // Pruning frees the scripts no held share names, and their ids are reused: a
            // remembered ranking must not outlive the ids it holds.
            self.forget_rankings();
        }
        self.best.prune_below(cutoff);
        self.staged.forget(&ids);
        self.store.remove(&ids)?;
        Ok(ids.len())
    }

    /// The payouts of a share built on `parent` (`None` for a genesis share) whose coinbase is
    /// worth `value`, whose header has block target `block_bits` and whose miner is paid at
    /// `finder` — the one payout function of §10, as validation computes it.
    pub fn payouts(
        &self,
        parent: Option<&ShareId>,
        value: Amount,
        block_bits: CompactTarget,
        finder: &Script,
    ) -> Vec<Payout> {
        self.payouts_with(parent, self.work_cap(block_bits), value, finder)
            .0
    }

    /// Drops the remembered window rankings (they are rebuilt on demand). Benchmarks use it to
    /// measure the uncached payout path; a node may call it to free memory.
    pub fn forget_rankings(&self) {
        self.rankings.borrow_mut().clear();
    }
}

/// The node moves the chain into its own task or behind a mutex: it must stay `Send`.
const _: fn() = || {
    fn assert_send<T: Send>() {}
    assert_send::<ShareChain<crate::store::SledStore>>();
    assert_send::<ShareChain<crate::store::MemoryStore>>();
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::ConsensusParams;
    use crate::store::MemoryStore;
    use bitcoin::ScriptBuf;
    use otedama_proto::chain::{Coin, Network};

    /// A P2WPKH script for miner `n`.
    fn script(n: u32) -> ScriptBuf {
        let mut bytes = vec![0x00, 0x14];
        bytes.extend_from_slice(&[0x22; 16]);
        bytes.extend_from_slice(&n.to_be_bytes());
        ScriptBuf::from_bytes(bytes)
    }

    /// A chain whose every share pays a script never seen before keeps interned only the
    /// scripts of the shares it still holds: pruning frees the others. Payouts at the tip are
    /// those of a chain that never pruned (ids of freed scripts are reused; nothing orders by
    /// them).
    #[test]
    fn pruning_frees_the_payout_scripts_no_held_share_pays() {
        let mut p = ConsensusParams::for_network(Coin::Bitcoin, Network::Regtest).expect("exists");
        p.share_pow_limit = CompactTarget::from_consensus(0x207f_ffff);
        p.window_shares = 8;
        let consensus = Consensus::new(p).expect("valid");
        let scripts: Vec<ScriptBuf> = (0..300).map(script).collect();
        let shares = crate::testkit::mine_chain(&consensus, scripts.len(), 1_700_000_000, &scripts);
        let config = ChainConfig {
            max_orphans: 16,
            keep_heights: 0,
            prune_interval: 16,
        };
        let mut chain =
            ShareChain::open_with(consensus.clone(), MemoryStore::new(), config).expect("opens");
        let mut unpruned = ShareChain::open_with(
            consensus.clone(),
            MemoryStore::new(),
            ChainConfig {
                keep_heights: u32::MAX,
                ..ChainConfig::for_consensus(&consensus)
            },
        )
        .expect("opens");
        for share in shares {
            for c in [&mut chain, &mut unpruned] {
                let outcome = c.add(share.clone(), 4_000_000_000).expect("stored");
                assert!(matches!(outcome, AddOutcome::Accepted(_)), "{outcome:?}");
            }
            assert!(
                chain.index.scripts.len() <= chain.len(),
                "{} scripts interned for {} shares held",
                chain.index.scripts.len(),
                chain.len()
            );
        }
        assert!(chain.len() < 100, "the chain pruned: {} held", chain.len());
        let bits = CompactTarget::from_consensus(0x207f_ffff);
        let value = Amount::from_sat(5_000_000_000);
        let finder = script(1_000);
        assert_eq!(
            chain.payouts(chain.tip().as_ref(), value, bits, &finder),
            unpruned.payouts(unpruned.tip().as_ref(), value, bits, &finder)
        );
        // The scripts freed first are reused by the next new ones, and reload to the same.
        let store = chain.into_store().expect("store");
        let reopened = ShareChain::open(consensus, store).expect("reopens");
        assert_eq!(reopened.index.scripts.len(), reopened.len());
    }
}
