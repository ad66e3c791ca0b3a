//! The sled 0.34 share store: the only module of the crate that touches sled.
//!
//! Two trees: `shares` (share id → versioned record) and `meta` (`tip` → versioned id, `schema`
//! → the record version the directory was written with, `consensus` → the versioned consensus
//! id of the sharechain it holds). `flush` (and [`SledSyncer`]) is sled's, which writes its
//! buffers and fsyncs: what was written before it survives a `kill -9` or a power cut.
//!
//! sled keeps an I/O error for good: after one failed write (a full disk, EIO) every later call
//! of that handle fails, even once the disk has room again. So the store remembers what it was
//! asked to write since its last successful flush, and after an error it drops the handle,
//! opens the directory again (sled's recovery discards the torn write) and writes that again
//! before the next write or sync: a node whose disk filled up stores shares again as soon as
//! there is room, without a restart. A [`SledSyncer`] syncs outside the store's owner's lock,
//! so what it learns (synced up to which write, or failed) goes back through a shared state.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use otedama_proto::hash::ShareId;

use super::{
    decode, decode_consensus_id, encode_consensus_id, ShareStore, StoreError, StoreSyncer,
    StoredShare,
};
use crate::codec::{self, RECORD_VERSION};
use crate::params::ConsensusId;

/// Shares in a sled database directory.
#[derive(Debug)]
pub struct SledStore {
    path: PathBuf,
    /// `None` only while the directory is being opened again after an error.
    handles: Option<Handles>,
    /// Writes not known to be synced, each with its number, oldest first, to write again after a
    /// reopen.
    journal: VecDeque<(u64, Write)>,
    /// How many writes were made (the number the next one gets).
    written: u64,
    /// A call failed: the handle is not to be trusted until the directory is opened again.
    broken: bool,
    /// What the syncers handed out report back.
    synced: Arc<Mutex<SyncState>>,
}

/// What syncers report to their store.
#[derive(Debug, Default)]
struct SyncState {
    /// Writes numbered below this are durable.
    durable_upto: u64,
    /// A sync of the current handle failed.
    failed: bool,
    /// Bumped at every reopen: a syncer of an older handle reports nothing.
    generation: u64,
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

/// The most writes journalled without a successful sync (about 20 MiB of records); past it a
/// reopen after an error would lose the newest unsynced writes (the node syncs every batch, so
/// only a store that never syncs gets there).
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
            journal: VecDeque::new(),
            written: 0,
            broken: false,
            synced: Arc::default(),
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

    /// Takes in what the syncers reported: drops the journal's synced writes, and marks the
    /// handle broken after a failed sync.
    fn absorb(&mut self) {
        let mut state = self.synced.lock().unwrap_or_else(PoisonError::into_inner);
        while self
            .journal
            .front()
            .is_some_and(|(n, _)| *n < state.durable_upto)
        {
            self.journal.pop_front();
        }
        if state.failed {
            state.failed = false;
            self.broken = true;
        }
    }

    /// Opens the directory again after an error and writes the journal again; a no-op while
    /// nothing failed.
    fn recover(&mut self) -> Result<(), StoreError> {
        self.absorb();
        if !self.broken {
            return Ok(());
        }
        // sled lets go of the directory's lock only once every handle is dropped (a syncer
        // still syncing holds one a moment; `open_handles` waits for it).
        self.handles = None;
        let handles = Self::open_handles(&self.path)?;
        for (_, write) in &self.journal {
            apply(&handles, write).map_err(io)?;
        }
        self.synced
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .generation += 1;
        self.handles = Some(handles);
        self.broken = false;
        Ok(())
    }

    /// Notes `write` in the journal under the next number.
    fn journal(&mut self, write: Write) {
        if self.journal.len() < MAX_JOURNAL {
            self.journal.push_back((self.written, write));
        }
        self.written += 1;
    }

    /// Sends `write` to sled, journalled; an error marks the handle broken.
    fn write(&mut self, write: Write) -> Result<(), StoreError> {
        self.recover()?;
        let result = apply(self.handles()?, &write);
        self.journal(write);
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

/// Syncs a [`SledStore`]: a handle on its database (sled's `Db` is a cheap shared handle) that
/// reports back to the store whether the writes before it became durable.
#[derive(Debug)]
pub struct SledSyncer {
    /// `None` when the store could not be opened again after an error.
    db: Option<sled::Db>,
    /// Writes numbered below this were made before the syncer was taken.
    upto: u64,
    generation: u64,
    state: Arc<Mutex<SyncState>>,
}

impl StoreSyncer for SledSyncer {
    /// sled's flush: writes its buffers and fsyncs, covering every write made before it.
    fn sync(&self) -> Result<(), StoreError> {
        let Some(db) = &self.db else {
            return Err(StoreError::Io(
                "the share store could not be opened again after an I/O error".into(),
            ));
        };
        let result = db.flush();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.generation != self.generation {
            // The store was opened again meanwhile; its own syncers cover these writes.
            return result.map(|_| ()).map_err(io);
        }
        match result {
            Ok(_) => {
                state.durable_upto = state.durable_upto.max(self.upto);
                Ok(())
            }
            Err(e) => {
                state.failed = true;
                Err(io(e))
            }
        }
    }
}

impl ShareStore for SledStore {
    type Syncer = SledSyncer;

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
        for write in writes {
            self.journal(write);
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

    fn syncer(&mut self) -> SledSyncer {
        let recovered = self.recover().is_ok();
        let generation = self
            .synced
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .generation;
        SledSyncer {
            db: recovered
                .then(|| self.handles.as_ref().map(|h| h.db.clone()))
                .flatten(),
            upto: self.written,
            generation,
            state: Arc::clone(&self.synced),
        }
    }
}
