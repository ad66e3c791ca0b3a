//! The node's sharechain, shared between the job builder, the share path and the API.
//!
//! [`ShareChain`] is not `Sync`; its operations take microseconds, so one mutex is enough. Nothing
//! holds the lock across an `.await`, nor through a sync to disk: writers take
//! [`ShareChain::write_staged`]'s syncer under the lock and sync after releasing it.

use otedama_sharechain::{ShareChain, ShareStore, SledStore};
use std::sync::{Arc, Mutex, MutexGuard};

/// The sharechain of a running node (sled; tests give other stores, e.g. one whose disk fails).
#[derive(Debug)]
pub struct SharedChain<S: ShareStore = SledStore>(Arc<Mutex<ShareChain<S>>>);

impl<S: ShareStore> Clone for SharedChain<S> {
    fn clone(&self) -> Self {
        SharedChain(Arc::clone(&self.0))
    }
}

impl<S: ShareStore> SharedChain<S> {
    /// Wraps an opened chain.
    pub fn new(chain: ShareChain<S>) -> Self {
        SharedChain(Arc::new(Mutex::new(chain)))
    }

    /// Locks the chain. A panic while it was held cannot leave it half-changed (every
    /// operation validates before it mutates), so a poisoned lock is taken over.
    pub fn lock(&self) -> MutexGuard<'_, ShareChain<S>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
