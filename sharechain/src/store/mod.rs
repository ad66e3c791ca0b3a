//! Share storage behind a narrow trait, with an in-memory implementation (tests, simulations)
//! and a sled one (`sled_store`, the only module that touches sled).
//!
//! Records are versioned (`codec::encode_record`). Writes become durable at [`ShareStore::flush`],
//! or when a [`StoreSyncer`] taken after them syncs: the chain acknowledges nothing before that
//! (group commit: many writes, one flush). The syncer lets a node sync without holding its
//! chain's lock, so a slow disk delays the shares being synced and nothing else.

mod sled_store;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use otedama_proto::hash::ShareId;

pub use crate::codec::StoredShare;
use crate::codec::{self, CodecError, RECORD_VERSION};
use crate::params::ConsensusId;
pub use sled_store::{SledStore, SledSyncer};

/// A storage failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The storage engine failed (disk, permissions, a damaged file).
    #[error("share store I/O failed: {0}")]
    Io(String),
    /// A record that does not decode.
    #[error("stored record under {key} is corrupt: {error}")]
    Corrupt {
        /// The record's key, as hex.
        key: String,
        /// What was wrong with it.
        error: CodecError,
    },
}

/// A handle that makes a store's writes durable without borrowing the store (an fsync may take
/// seconds on a busy disk; the store's owner need not be locked meanwhile).
pub trait StoreSyncer: Send + 'static {
    /// Makes durable every write made to the store before the handle was taken (a store may
    /// make later writes durable too).
    fn sync(&self) -> Result<(), StoreError>;
}

/// Where the chain keeps its shares and tip.
pub trait ShareStore {
    /// The store's [`StoreSyncer`].
    type Syncer: StoreSyncer;
    /// Writes (or overwrites) the record of share `id`. Not durable until [`ShareStore::flush`].
    fn put(&mut self, id: &ShareId, record: &StoredShare) -> Result<(), StoreError>;
    /// Writes several records at once (atomically where the store can). Not durable until
    /// [`ShareStore::flush`].
    fn put_batch(&mut self, records: &[(ShareId, StoredShare)]) -> Result<(), StoreError> {
        for (id, record) in records {
            self.put(id, record)?;
        }
        Ok(())
    }
    /// Reads the record of share `id`.
    fn get(&self, id: &ShareId) -> Result<Option<StoredShare>, StoreError>;
    /// Deletes the records of `ids` (absent ones are ignored).
    fn remove(&mut self, ids: &[ShareId]) -> Result<(), StoreError>;
    /// Records the tip.
    fn set_tip(&mut self, tip: &ShareId) -> Result<(), StoreError>;
    /// The recorded tip.
    fn tip(&self) -> Result<Option<ShareId>, StoreError>;
    /// Every stored share, in no particular order.
    fn load_all(&self) -> Result<Vec<StoredShare>, StoreError>;
    /// The consensus id of the sharechain the store holds (`None`: a new store, or one written
    /// before the id was kept). The chain refuses to open a store of another id.
    fn consensus_id(&self) -> Result<Option<ConsensusId>, StoreError>;
    /// Records the consensus id of the sharechain the store holds. Not durable until
    /// [`ShareStore::flush`].
    fn set_consensus_id(&mut self, id: &ConsensusId) -> Result<(), StoreError>;
    /// A handle whose [`StoreSyncer::sync`] makes every write so far durable.
    fn syncer(&mut self) -> Self::Syncer;
    /// Makes every write so far durable.
    fn flush(&mut self) -> Result<(), StoreError> {
        self.syncer().sync()
    }
}

/// An in-memory store that still goes through the record codec, and that models durability:
/// [`MemoryStore::crash`] keeps only what was synced.
#[derive(Debug, Default)]
pub struct MemoryStore {
    live: Records,
    /// The "disk": shared with the syncers handed out, which may sync after the store moved on.
    disk: Arc<Mutex<Disk>>,
}

/// What a crash would keep, and the writes a sync has yet to apply to it.
#[derive(Debug, Default, Clone)]
struct Disk {
    durable: Records,
    /// Writes not yet synced, oldest first: the first is write number `synced`.
    pending: VecDeque<Write>,
    /// How many writes were made (the number the next one gets).
    written: u64,
    /// How many writes are durable.
    synced: u64,
}

impl Disk {
    fn push(&mut self, write: Write) {
        self.pending.push_back(write);
        self.written += 1;
    }
}

/// Syncs a [`MemoryStore`]'s writes up to `upto`, in the order they were made.
#[derive(Debug)]
pub struct MemorySyncer {
    disk: Arc<Mutex<Disk>>,
    upto: u64,
}

impl StoreSyncer for MemorySyncer {
    fn sync(&self) -> Result<(), StoreError> {
        let mut disk = self.disk.lock().unwrap_or_else(PoisonError::into_inner);
        while disk.synced < self.upto {
            let write = disk.pending.pop_front().expect("fewer synced than written");
            let durable = &mut disk.durable;
            match write {
                Write::Put(id, bytes) => {
                    durable.shares.insert(id, bytes);
                }
                Write::Remove(id) => {
                    durable.shares.remove(&id);
                }
                Write::Tip(bytes) => durable.tip = Some(bytes),
                Write::Consensus(bytes) => durable.consensus = Some(bytes),
            }
            disk.synced += 1;
        }
        Ok(())
    }
}

impl Clone for MemoryStore {
    /// An independent copy: the clone's writes and syncs do not reach this store's disk.
    fn clone(&self) -> Self {
        let disk = self.disk().clone();
        MemoryStore {
            live: self.live.clone(),
            disk: Arc::new(Mutex::new(disk)),
        }
    }
}

#[derive(Debug, Default, Clone)]
struct Records {
    shares: BTreeMap<ShareId, Vec<u8>>,
    tip: Option<Vec<u8>>,
    consensus: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
enum Write {
    Put(ShareId, Vec<u8>),
    Remove(ShareId),
    Tip(Vec<u8>),
    Consensus(Vec<u8>),
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// The store as a crash would leave it: only what was synced.
    pub fn crash(&self) -> MemoryStore {
        let durable = self.disk().durable.clone();
        MemoryStore {
            live: durable.clone(),
            disk: Arc::new(Mutex::new(Disk {
                durable,
                ..Disk::default()
            })),
        }
    }

    fn disk(&self) -> std::sync::MutexGuard<'_, Disk> {
        self.disk.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many share records are stored.
    pub fn len(&self) -> usize {
        self.live.shares.len()
    }

    /// Whether no share is stored.
    pub fn is_empty(&self) -> bool {
        self.live.shares.is_empty()
    }
}

/// A stored consensus id: `[record version] [32 bytes]`.
fn encode_consensus_id(id: &ConsensusId) -> Vec<u8> {
    let mut out = Vec::with_capacity(33);
    out.push(RECORD_VERSION);
    out.extend_from_slice(&id.0);
    out
}

fn decode_consensus_id(bytes: &[u8]) -> Result<ConsensusId, StoreError> {
    let error = match bytes {
        [RECORD_VERSION, rest @ ..] => match <[u8; 32]>::try_from(rest) {
            Ok(id) => return Ok(ConsensusId(id)),
            Err(_) => CodecError::ShortRecord(bytes.len()),
        },
        [v, ..] => CodecError::UnknownRecordVersion(*v),
        [] => CodecError::ShortRecord(0),
    };
    Err(StoreError::Corrupt {
        key: "consensus".into(),
        error,
    })
}

fn decode(key: &ShareId, bytes: &[u8]) -> Result<StoredShare, StoreError> {
    codec::decode_record(bytes).map_err(|error| StoreError::Corrupt {
        key: key.to_string(),
        error,
    })
}

impl ShareStore for MemoryStore {
    type Syncer = MemorySyncer;

    fn put(&mut self, id: &ShareId, record: &StoredShare) -> Result<(), StoreError> {
        let bytes = codec::encode_record(record);
        self.live.shares.insert(*id, bytes.clone());
        self.disk().push(Write::Put(*id, bytes));
        Ok(())
    }

    fn get(&self, id: &ShareId) -> Result<Option<StoredShare>, StoreError> {
        self.live.shares.get(id).map(|b| decode(id, b)).transpose()
    }

    fn remove(&mut self, ids: &[ShareId]) -> Result<(), StoreError> {
        let mut disk = self.disk.lock().unwrap_or_else(PoisonError::into_inner);
        for id in ids {
            self.live.shares.remove(id);
            disk.push(Write::Remove(*id));
        }
        Ok(())
    }

    fn set_tip(&mut self, tip: &ShareId) -> Result<(), StoreError> {
        let bytes = codec::encode_tip(tip);
        self.live.tip = Some(bytes.clone());
        self.disk().push(Write::Tip(bytes));
        Ok(())
    }

    fn tip(&self) -> Result<Option<ShareId>, StoreError> {
        self.live
            .tip
            .as_deref()
            .map(|b| {
                codec::decode_tip(b).map_err(|error| StoreError::Corrupt {
                    key: "tip".into(),
                    error,
                })
            })
            .transpose()
    }

    fn load_all(&self) -> Result<Vec<StoredShare>, StoreError> {
        self.live.shares.iter().map(|(k, v)| decode(k, v)).collect()
    }

    fn consensus_id(&self) -> Result<Option<ConsensusId>, StoreError> {
        self.live
            .consensus
            .as_deref()
            .map(decode_consensus_id)
            .transpose()
    }

    fn set_consensus_id(&mut self, id: &ConsensusId) -> Result<(), StoreError> {
        let bytes = encode_consensus_id(id);
        self.live.consensus = Some(bytes.clone());
        self.disk().push(Write::Consensus(bytes));
        Ok(())
    }

    fn syncer(&mut self) -> MemorySyncer {
        MemorySyncer {
            disk: Arc::clone(&self.disk),
            upto: self.disk().written,
        }
    }
}
