//! Share storage behind a narrow trait, with an in-memory implementation (tests, simulations)
//! and a sled one (`sled_store`, the only module that touches sled).
//!
//! Records are versioned (`codec::encode_record`). Writes become durable at [`ShareStore::flush`];
//! the chain acknowledges nothing before that (group commit: many writes, one flush).

mod sled_store;

use std::collections::BTreeMap;

use otedama_proto::hash::ShareId;

pub use crate::codec::StoredShare;
use crate::codec::{self, CodecError, RECORD_VERSION};
use crate::params::ConsensusId;
pub use sled_store::SledStore;

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

/// Where the chain keeps its shares and tip.
pub trait ShareStore {
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
    /// Makes every write so far durable.
    fn flush(&mut self) -> Result<(), StoreError>;
}

/// An in-memory store that still goes through the record codec, and that models durability:
/// [`MemoryStore::crash`] keeps only what was flushed.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    live: Records,
    durable: Records,
    /// Writes since the last flush, replayed onto `durable` by `flush`.
    pending: Vec<Write>,
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

    /// The store as a crash would leave it: only what was flushed.
    pub fn crash(&self) -> MemoryStore {
        MemoryStore {
            live: self.durable.clone(),
            durable: self.durable.clone(),
            pending: Vec::new(),
        }
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
    fn put(&mut self, id: &ShareId, record: &StoredShare) -> Result<(), StoreError> {
        let bytes = codec::encode_record(record);
        self.live.shares.insert(*id, bytes.clone());
        self.pending.push(Write::Put(*id, bytes));
        Ok(())
    }

    fn get(&self, id: &ShareId) -> Result<Option<StoredShare>, StoreError> {
        self.live.shares.get(id).map(|b| decode(id, b)).transpose()
    }

    fn remove(&mut self, ids: &[ShareId]) -> Result<(), StoreError> {
        for id in ids {
            self.live.shares.remove(id);
            self.pending.push(Write::Remove(*id));
        }
        Ok(())
    }

    fn set_tip(&mut self, tip: &ShareId) -> Result<(), StoreError> {
        let bytes = codec::encode_tip(tip);
        self.live.tip = Some(bytes.clone());
        self.pending.push(Write::Tip(bytes));
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
        self.pending.push(Write::Consensus(bytes));
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StoreError> {
        for write in self.pending.drain(..) {
            match write {
                Write::Put(id, bytes) => {
                    self.durable.shares.insert(id, bytes);
                }
                Write::Remove(id) => {
                    self.durable.shares.remove(&id);
                }
                Write::Tip(bytes) => self.durable.tip = Some(bytes),
                Write::Consensus(bytes) => self.durable.consensus = Some(bytes),
            }
        }
        Ok(())
    }
}
