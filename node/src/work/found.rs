//! The blocks this node found, kept in a file in the data directory (`found_blocks.jsonl`, one
//! JSON record per line: hash, height, time, finder) so that the count and the list survive a
//! restart, and a block resubmitted after a restart is not counted again.

use otedama_proto::hash::BlockHash;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use tracing::warn;

/// The file's name in the data directory.
pub const FILE_NAME: &str = "found_blocks.jsonl";

/// One found block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoundBlockRecord {
    /// The block hash, display-order hex.
    pub hash: String,
    /// The block's height.
    pub height: u32,
    /// When a daemon accepted it, Unix seconds.
    pub time: u64,
    /// The Stratum user that found it (`address` or `address.worker`).
    pub finder: String,
}

impl FoundBlockRecord {
    /// The block hash, if the record's is valid.
    pub fn block_hash(&self) -> Option<BlockHash> {
        self.hash.parse().ok()
    }
}

/// What went wrong with the file.
#[derive(Debug, thiserror::Error)]
#[error("cannot use the found-blocks file {path}: {source}")]
pub struct FoundLogError {
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

/// The append-only file of found blocks.
#[derive(Clone, Debug)]
pub struct FoundBlockLog {
    path: PathBuf,
}

impl FoundBlockLog {
    /// Opens (or creates) the file at `path` and returns it with the records it holds, oldest
    /// first. A line that does not decode (a write cut short by a crash) is skipped with a
    /// warning.
    pub fn open(path: &Path) -> Result<(Self, Vec<FoundBlockRecord>), FoundLogError> {
        let error = |source| FoundLogError {
            path: path.to_owned(),
            source,
        };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(error(e)),
        };
        let mut records = Vec::new();
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            match serde_json::from_str::<FoundBlockRecord>(line) {
                Ok(r) => records.push(r),
                Err(e) => {
                    warn!(path = %path.display(), line = n + 1, error = %e, "found-blocks line skipped")
                }
            }
        }
        // Created now, so that a data directory that cannot take it fails at start, not at the
        // first block.
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(error)?;
        Ok((
            FoundBlockLog {
                path: path.to_owned(),
            },
            records,
        ))
    }

    /// Appends `record` and syncs it to disk. Blocking: call it off the async workers.
    pub fn append(&self, record: &FoundBlockRecord) -> Result<(), FoundLogError> {
        let error = |source| FoundLogError {
            path: self.path.clone(),
            source,
        };
        let mut line = serde_json::to_string(record).expect("a record always serializes");
        line.push('\n');
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(error)?;
        file.write_all(line.as_bytes()).map_err(error)?;
        file.sync_data().map_err(error)
    }
}
