//! The sled 0.34 share store: the only module of the crate that touches sled.
//!
//! Two trees: `shares` (share id → versioned record) and `meta` (`tip` → versioned id, `schema`
//! → the record version the directory was written with, `consensus` → the versioned consensus
//! id of the sharechain it holds). `flush` is sled's, which writes its
//! buffers and fsyncs: what was written before it survives a `kill -9` or a power cut.

use std::path::Path;
use std::time::{Duration, Instant};

use otedama_proto::hash::ShareId;

use super::{
    decode, decode_consensus_id, encode_consensus_id, ShareStore, StoreError, StoredShare,
};
use crate::codec::{self, RECORD_VERSION};
use crate::params::ConsensusId;

/// Shares in a sled database directory.
#[derive(Debug, Clone)]
pub struct SledStore {
    db: sled::Db,
    shares: sled::Tree,
    meta: sled::Tree,
}

fn io(e: sled::Error) -> StoreError {
    StoreError::Io(e.to_string())
}

/// How long [`SledStore::open`] waits for a locked directory.
pub const LOCK_WAIT: Duration = Duration::from_secs(5);

/// Whether `e` is sled's "could not acquire lock" (it wraps the OS error in a plain message).
fn is_lock_error(e: &sled::Error) -> bool {
    matches!(e, sled::Error::Io(io) if io.to_string().contains("could not acquire lock"))
}

impl SledStore {
    /// Opens (or creates) the store in directory `path`.
    ///
    /// sled releases a directory's lock only when its last background I/O thread lets go of
    /// the files, which can be a moment after the previous handle was dropped; a locked
    /// directory is therefore retried for up to [`LOCK_WAIT`] before it is reported as in use.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let config = sled::Config::new()
            .path(path)
            .mode(sled::Mode::HighThroughput);
        let started = Instant::now();
        let db = loop {
            match config.open() {
                Ok(db) => break db,
                Err(e) if is_lock_error(&e) && started.elapsed() < LOCK_WAIT => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) if is_lock_error(&e) => {
                    return Err(StoreError::Io(format!(
                        "{} is in use by another process (is another node running on this \
                         data directory?): {e}",
                        path.display()
                    )))
                }
                Err(e) => return Err(io(e)),
            }
        };
        let shares = db.open_tree("shares").map_err(io)?;
        let meta = db.open_tree("meta").map_err(io)?;
        match meta.get("schema").map_err(io)? {
            None => {
                meta.insert("schema", &[RECORD_VERSION]).map_err(io)?;
            }
            Some(v) if v.as_ref() == [RECORD_VERSION] => {}
            Some(v) => {
                return Err(StoreError::Corrupt {
                    key: "schema".into(),
                    error: codec::CodecError::UnknownRecordVersion(v.first().copied().unwrap_or(0)),
                })
            }
        }
        Ok(SledStore { db, shares, meta })
    }

    /// The size of the database on disk, in bytes.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        self.db.size_on_disk().map_err(io)
    }
}

impl ShareStore for SledStore {
    fn put(&mut self, id: &ShareId, record: &StoredShare) -> Result<(), StoreError> {
        self.shares
            .insert(id.as_byte_array(), codec::encode_record(record))
            .map_err(io)?;
        Ok(())
    }

    fn put_batch(&mut self, records: &[(ShareId, StoredShare)]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for (id, record) in records {
            batch.insert(id.as_byte_array(), codec::encode_record(record));
        }
        self.shares.apply_batch(batch).map_err(io)
    }

    fn get(&self, id: &ShareId) -> Result<Option<StoredShare>, StoreError> {
        self.shares
            .get(id.as_byte_array())
            .map_err(io)?
            .map(|v| decode(id, &v))
            .transpose()
    }

    fn remove(&mut self, ids: &[ShareId]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for id in ids {
            batch.remove(id.as_byte_array());
        }
        self.shares.apply_batch(batch).map_err(io)
    }

    fn set_tip(&mut self, tip: &ShareId) -> Result<(), StoreError> {
        self.meta
            .insert("tip", codec::encode_tip(tip))
            .map_err(io)?;
        Ok(())
    }

    fn tip(&self) -> Result<Option<ShareId>, StoreError> {
        self.meta
            .get("tip")
            .map_err(io)?
            .map(|v| {
                codec::decode_tip(&v).map_err(|error| StoreError::Corrupt {
                    key: "tip".into(),
                    error,
                })
            })
            .transpose()
    }

    fn load_all(&self) -> Result<Vec<StoredShare>, StoreError> {
        let mut out = Vec::with_capacity(self.shares.len());
        for item in self.shares.iter() {
            let (k, v) = item.map_err(io)?;
            let key: [u8; 32] = k.as_ref().try_into().map_err(|_| StoreError::Corrupt {
                key: format!("{k:?}"),
                error: codec::CodecError::ShortRecord(k.len()),
            })?;
            out.push(decode(&ShareId::from_byte_array(key), &v)?);
        }
        Ok(out)
    }

    fn consensus_id(&self) -> Result<Option<ConsensusId>, StoreError> {
        self.meta
            .get("consensus")
            .map_err(io)?
            .map(|v| decode_consensus_id(&v))
            .transpose()
    }

    fn set_consensus_id(&mut self, id: &ConsensusId) -> Result<(), StoreError> {
        self.meta
            .insert("consensus", encode_consensus_id(id))
            .map_err(io)?;
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StoreError> {
        self.db.flush().map_err(io).map(|_| ())
    }
}
