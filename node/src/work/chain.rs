//! The node's sharechain, shared between the job builder, the share path, the p2p worker and
//! the API.
//!
//! [`ShareChain`] is not `Sync`; one mutex guards it. Nothing holds the lock across an
//! `.await`, nor through a sync to disk: writers take [`ShareChain::write_staged`]'s syncer
//! under the lock and sync after releasing it. Readers that only need the tip's figures (the
//! API's status, the p2p layer's `Status` answers and "is this peer ahead" checks) never take the
//! lock: every guard that leaves the tip moved publishes a [`ChainSummary`] on release, read
//! through [`SharedChain::summary`]. A guard held longer than [`SLOW_HOLD`] is logged with the
//! place that took it, so that an operator (and the soak) can see what holds the chain up.

use otedama_proto::hash::ShareId;
use otedama_proto::target::Work;
use otedama_sharechain::{ShareChain, ShareStore, SledStore};
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tracing::warn;

/// A lock held longer than this is logged (with where it was taken).
pub const SLOW_HOLD: Duration = Duration::from_millis(500);

/// The figures of the chain's tip, published whenever the tip moves.
#[derive(Clone, Debug, PartialEq)]
pub struct ChainSummary {
    /// The best chain's tip (`None` on an empty chain).
    pub tip: Option<ShareId>,
    /// Its height.
    pub height: Option<u32>,
    /// Its cumulative work.
    pub chain_work: Option<Work>,
    /// How many shares the PPLNS window at the tip holds.
    pub window_len: usize,
    /// The pool's hash rate estimated from the window (hashes per second).
    pub pool_hashrate: Option<f64>,
}

impl ChainSummary {
    fn of<S: ShareStore>(chain: &ShareChain<S>) -> Self {
        ChainSummary {
            tip: chain.tip(),
            height: chain.height(),
            chain_work: chain.chain_work(),
            window_len: chain.window_len(),
            pool_hashrate: chain.pool_hashrate(),
        }
    }
}

/// The sharechain of a running node (sled; tests give other stores, e.g. one whose disk fails).
#[derive(Debug)]
pub struct SharedChain<S: ShareStore = SledStore> {
    chain: Arc<Mutex<ShareChain<S>>>,
    summary: Arc<watch::Sender<ChainSummary>>,
}

impl<S: ShareStore> Clone for SharedChain<S> {
    fn clone(&self) -> Self {
        SharedChain {
            chain: Arc::clone(&self.chain),
            summary: Arc::clone(&self.summary),
        }
    }
}

impl<S: ShareStore> SharedChain<S> {
    /// Wraps an opened chain.
    pub fn new(chain: ShareChain<S>) -> Self {
        let (summary, _) = watch::channel(ChainSummary::of(&chain));
        SharedChain {
            chain: Arc::new(Mutex::new(chain)),
            summary: Arc::new(summary),
        }
    }

    /// Locks the chain. A panic while it was held cannot leave it half-changed (every
    /// operation validates before it mutates), so a poisoned lock is taken over.
    #[track_caller]
    pub fn lock(&self) -> ChainGuard<'_, S> {
        let taken_at = Location::caller();
        let guard = self
            .chain
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let tip = guard.tip();
        ChainGuard {
            guard,
            summary: &self.summary,
            tip,
            since: Instant::now(),
            taken_at,
        }
    }

    /// The tip's figures as of the last release of the lock that moved it; never waits.
    pub fn summary(&self) -> ChainSummary {
        self.summary.borrow().clone()
    }

    /// A receiver of the tip's figures, changed whenever the tip moves.
    pub fn watch_summary(&self) -> watch::Receiver<ChainSummary> {
        self.summary.subscribe()
    }
}

/// The locked chain. On release it publishes the tip's figures if the tip moved, and logs a
/// hold longer than [`SLOW_HOLD`].
pub struct ChainGuard<'a, S: ShareStore> {
    guard: MutexGuard<'a, ShareChain<S>>,
    summary: &'a watch::Sender<ChainSummary>,
    tip: Option<ShareId>,
    since: Instant,
    taken_at: &'static Location<'static>,
}

impl<S: ShareStore> std::fmt::Debug for ChainGuard<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainGuard")
            .field("taken_at", &self.taken_at)
            .field("since", &self.since)
            .finish_non_exhaustive()
    }
}

impl<S: ShareStore> Deref for ChainGuard<'_, S> {
    type Target = ShareChain<S>;

    fn deref(&self) -> &ShareChain<S> {
        &self.guard
    }
}

impl<S: ShareStore> DerefMut for ChainGuard<'_, S> {
    fn deref_mut(&mut self) -> &mut ShareChain<S> {
        &mut self.guard
    }
}

impl<S: ShareStore> Drop for ChainGuard<'_, S> {
    fn drop(&mut self) {
        if self.guard.tip() != self.tip {
            self.summary.send_replace(ChainSummary::of(&self.guard));
        }
        let held = self.since.elapsed();
        if held > SLOW_HOLD {
            warn!(
                held_ms = held.as_millis() as u64,
                at = %self.taken_at,
                "the sharechain was locked for long: readers and writers waited"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::ScriptBuf;
    use otedama_proto::chain::{Coin, Network};
    use otedama_sharechain::testkit::mine_chain;
    use otedama_sharechain::{AddOutcome, Consensus, MemoryStore};

    #[test]
    fn the_summary_follows_the_tip_once_the_lock_is_released() {
        let consensus = Consensus::for_network(Coin::Bitcoin, Network::Regtest).expect("regtest");
        let payee = ScriptBuf::from_bytes([[0x00, 0x14].as_slice(), &[7; 20]].concat());
        let shares = mine_chain(&consensus, 2, 1_700_000_000, &[payee]);
        let ids: Vec<ShareId> = shares.iter().map(|s| s.id()).collect();
        let shared = SharedChain::new(ShareChain::open(consensus, MemoryStore::new()).unwrap());
        assert_eq!(shared.summary().tip, None);
        let mut watcher = shared.watch_summary();
        for (share, id) in shares.into_iter().zip(&ids) {
            let mut chain = shared.lock();
            let outcome = chain.add(share, 1_800_000_000).expect("stored");
            assert!(matches!(outcome, AddOutcome::Accepted(_)), "{outcome:?}");
            // Not before the guard is released: a reader never sees what the lock still holds.
            assert_ne!(shared.summary().tip, Some(*id));
            drop(chain);
            assert!(watcher.has_changed().expect("open"));
            watcher.mark_unchanged();
            assert_eq!(shared.summary().tip, Some(*id));
        }
        let summary = shared.summary();
        assert_eq!(summary.height, Some(1));
        assert_eq!(summary.window_len, 2);
        assert_eq!(summary.chain_work, shared.lock().chain_work());
        // A guard that does not move the tip publishes nothing.
        drop(shared.lock());
        assert!(!watcher.has_changed().expect("open"));
    }
}
