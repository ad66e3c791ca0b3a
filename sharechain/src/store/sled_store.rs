//! The sled 0.34 share store: the only module of the crate that touches sled.
//!
//! Two trees: `shares` (share id → versioned record) and `meta` (`tip` → versioned id, `schema`
//! → the record version the directory was written with, `consensus` → the versioned consensus
//! id of the sharechain it holds). `flush` is sled's, which writes its
//! buffers and fsyncs: what was written before it survives a `kill -9` or a power cut.
//!
//! sled keeps an I/O error for good: after one failed write (a full disk, EIO) every later call
//! of that handle fails, even once the disk has room again. So the store remembers what it was
//! asked to write since its last successful flush, and after an error it drops the handle,
//! opens the directory again (sled's recovery discards the torn write) and writes that again
//! before the next write or flush: a node whose disk filled up stores shares again as soon as
//! there is room, without a restart.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use otedama_proto::hash::ShareId;

use super::{
    decode, decode_consensus_id, encode_consensus_id, ShareStore, StoreError, StoredShare,
};
use crate::codec::{self, RECORD_VERSION};
use crate::params::ConsensusId;

/// Shares in a sled database directory.
#[derive(Debug)]
pub struct SledStore {
    path: PathBuf,
    /// `None` only while the directory is being opened again after an error.
    handles: Option<Handles>,
    /// Writes since the last successful flush, in order, to write again after a reopen.
    journal: Vec<Write>,
    /// A call failed: the handle is not to be trusted until the directory is opened again.
    broken: bool,
}

/// The open database and its two trees.
#[derive(Debug)]
struct Handles {
    db: sled::Db,
    shares: sled::Tree,
    meta: sled::Tree,
}

/// One write, as sent to sled.
#[derive(Debug, Clone)]
enum Write {
    Share([u8; 32], Vec<u8>),
    Remove(Vec<[u8; 32]>),
    Meta(&'static str, Vec<u8>),
}

/// Past this many journalled writes without a successful flush the journal is dropped (the
/// chain's own staging keeps what it has not seen flushed; see `commit.rs`).
const MAX_JOURNAL: usize = 64 * 1024;

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
        Ok(SledStore {
            path: path.to_owned(),
            handles: Some(Self::open_handles(path)?),
            journal: Vec::new(),
            broken: false,
        })
    }

    fn open_handles(path: &Path) -> Result<Handles, StoreError> {
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
        Ok(Handles { db, shares, meta })
    }

    /// The size of the database on disk, in bytes.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        self.handles()?.db.size_on_disk().map_err(io)
    }

    fn handles(&self) -> Result<&Handles, StoreError> {
        self.handles.as_ref().ok_or_else(|| {
            StoreError::Io(format!("{} could not be opened again", self.path.display()))
        })
    }

    /// Opens the directory again after an error and writes the journal again; a no-op while
    /// nothing failed.
    fn recover(&mut self) -> Result<(), StoreError> {
        if !self.broken {
            return Ok(());
        }
        // sled lets go of the directory's lock only once every handle is dropped.
        self.handles = None;
        let handles = Self::open_handles(&self.path)?;
        for write in &self.journal {
            apply(&handles, write).map_err(io)?;
        }
        self.handles = Some(handles);
        self.broken = false;
        Ok(())
    }

    /// Sends `write` to sled, journalled; an error marks the handle broken.
    fn write(&mut self, write: Write) -> Result<(), StoreError> {
        self.recover()?;
        let result = apply(self.handles()?, &write);
        if self.journal.len() < MAX_JOURNAL {
            self.journal.push(write);
        }
        result.map_err(|e| {
            self.broken = true;
            io(e)
        })
    }
}

fn apply(handles: &Handles, write: &Write) -> Result<(), sled::Error> {
    match write {
        Write::Share(key, value) => {
            handles.shares.insert(key, value.as_slice())?;
        }
        Write::Remove(keys) => {
            let mut batch = sled::Batch::default();
            for key in keys {
                batch.remove(key);
            }
            handles.shares.apply_batch(batch)?;
        }
        Write::Meta(key, value) => {
            handles.meta.insert(key, value.as_slice())?;
        }
    }
    Ok(())
}

impl ShareStore for SledStore {
    fn put(&mut self, id: &ShareId, record: &StoredShare) -> Result<(), StoreError> {
        self.write(Write::Share(
            *id.as_byte_array(),
            codec::encode_record(record),
        ))
    }

    fn put_batch(&mut self, records: &[(ShareId, StoredShare)]) -> Result<(), StoreError> {
        self.recover()?;
        let writes: Vec<Write> = records
            .iter()
            .map(|(id, record)| Write::Share(*id.as_byte_array(), codec::encode_record(record)))
            .collect();
        let mut batch = sled::Batch::default();
        for write in &writes {
            if let Write::Share(key, value) = write {
                batch.insert(key, value.as_slice());
            }
        }
        let result = self.handles()?.shares.apply_batch(batch);
        if self.journal.len() + writes.len() <= MAX_JOURNAL {
            self.journal.extend(writes);
        }
        result.map_err(|e| {
            self.broken = true;
            io(e)
        })
    }

    fn get(&self, id: &ShareId) -> Result<Option<StoredShare>, StoreError> {
        self.handles()?
            .shares
            .get(id.as_byte_array())
            .map_err(io)?
            .map(|v| decode(id, &v))
            .transpose()
    }

    fn remove(&mut self, ids: &[ShareId]) -> Result<(), StoreError> {
        self.write(Write::Remove(
            ids.iter().map(|id| *id.as_byte_array()).collect(),
        ))
    }

    fn set_tip(&mut self, tip: &ShareId) -> Result<(), StoreError> {
        self.write(Write::Meta("tip", codec::encode_tip(tip)))
    }

    fn tip(&self) -> Result<Option<ShareId>, StoreError> {
        self.handles()?
            .meta
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
        let shares = &self.handles()?.shares;
        let mut out = Vec::with_capacity(shares.len());
        for item in shares.iter() {
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
        self.handles()?
            .meta
            .get("consensus")
            .map_err(io)?
            .map(|v| decode_consensus_id(&v))
            .transpose()
    }

    fn set_consensus_id(&mut self, id: &ConsensusId) -> Result<(), StoreError> {
        self.write(Write::Meta("consensus", encode_consensus_id(id)))
    }

    fn flush(&mut self) -> Result<(), StoreError> {
        self.recover()?;
        match self.handles()?.db.flush() {
            Ok(_) => {
                self.journal.clear();
                Ok(())
            }
            Err(e) => {
                self.broken = true;
                Err(io(e))
            }
        }
    }
}
