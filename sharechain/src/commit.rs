//! Group commit: accepted shares wait here until the node's next `ShareChain::flush`, which
//! writes them to the store in one batch and makes them durable in one fsync. The accept path
//! then costs no storage I/O at all, and nothing is acknowledged before it is durable.

use otedama_proto::hash::ShareId;

use crate::index::IdMap;
use crate::store::{ShareStore, StoreError, StoredShare};

/// Past this many staged records they are written to the store (not yet synced) without waiting
/// for a flush, so memory stays bounded if the node flushes rarely.
const MAX_STAGED: usize = 1024;

/// Writes waiting for the next group commit.
#[derive(Debug, Default)]
pub(crate) struct Staged {
    records: Vec<(ShareId, StoredShare)>,
    by_id: IdMap<ShareId, usize>,
    tip: Option<ShareId>,
}

impl Staged {
    /// Stages the record of an accepted share; writes the batch out if it grew too large.
    pub fn put<S: ShareStore>(
        &mut self,
        store: &mut S,
        id: ShareId,
        record: StoredShare,
    ) -> Result<(), StoreError> {
        self.by_id.insert(id, self.records.len());
        self.records.push((id, record));
        if self.records.len() >= MAX_STAGED {
            self.write(store)?;
        }
        Ok(())
    }

    /// Stages the new tip.
    pub fn set_tip(&mut self, tip: ShareId) {
        self.tip = Some(tip);
    }

    /// A staged record.
    pub fn get(&self, id: &ShareId) -> Option<&StoredShare> {
        self.by_id.get(id).map(|i| &self.records[*i].1)
    }

    /// Forgets staged records of pruned shares.
    pub fn forget(&mut self, pruned: &[ShareId]) {
        if pruned.iter().any(|id| self.by_id.contains_key(id)) {
            let gone: IdMap<ShareId, ()> = pruned.iter().map(|id| (*id, ())).collect();
            self.records.retain(|(id, _)| !gone.contains_key(id));
            self.by_id = self
                .records
                .iter()
                .enumerate()
                .map(|(i, (id, _))| (*id, i))
                .collect();
        }
    }

    /// Writes everything staged to the store (one batch); the caller then flushes the store.
    /// On failure nothing is forgotten, so the next call retries.
    pub fn write<S: ShareStore>(&mut self, store: &mut S) -> Result<(), StoreError> {
        if !self.records.is_empty() {
            store.put_batch(&self.records)?;
        }
        if let Some(tip) = &self.tip {
            store.set_tip(tip)?;
        }
        self.records.clear();
        self.by_id.clear();
        self.tip = None;
        Ok(())
    }

    /// How many records wait.
    pub fn len(&self) -> usize {
        self.records.len()
    }
}
