//! The loop of one hashing thread: take the posted work, take units from it, scan each unit's
//! nonces in chunks, check the board between chunks, re-check candidates, hand shares over.
//!
//! Chunks are sized to take about [`CHUNK_TIME`] each (measured as the thread runs, so a slow
//! debug build and a loaded machine both stay responsive): that bounds how long a clean job or a
//! stop waits, while each chunk is long enough that the check costs nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::board::{HashCounters, WorkBoard};
use super::hasher::{verify, Hasher, HasherError};
use super::work::{Share, Work};

/// How long one chunk of nonces should take.
const CHUNK_TIME: Duration = Duration::from_millis(40);
/// A unit's nonce space.
const NONCES_PER_UNIT: u64 = 1 << 32;
/// The largest chunk (2^26 nonces: 2 s at 34 MH/s would already be too long, so never reached
/// in practice; it bounds the first doublings).
const MAX_CHUNK: u32 = 1 << 26;

/// Where threads send shares; a full queue drops the share rather than stall the thread.
pub type ShareSender = mpsc::Sender<Share>;

/// One hashing thread's state.
#[derive(Debug)]
pub(crate) struct Worker {
    pub(crate) index: usize,
    pub(crate) board: Arc<WorkBoard>,
    pub(crate) counters: Arc<HashCounters>,
    pub(crate) shares: ShareSender,
    pub(crate) hasher: Hasher,
    chunk: u32,
    candidates: Vec<u32>,
}

impl Worker {
    pub(crate) fn new(
        index: usize,
        hasher: Hasher,
        board: Arc<WorkBoard>,
        counters: Arc<HashCounters>,
        shares: ShareSender,
    ) -> Self {
        // A few CPU lanes' worth to start with; one launch for a device, whose launches are big.
        let step = hasher.granularity();
        let chunk = if step >= 4096 { step } else { step * 16 };
        Self {
            index,
            board,
            counters,
            shares,
            hasher,
            chunk,
            candidates: Vec::new(),
        }
    }

    /// Mines whatever is posted until the board is stopped (or the engine fails).
    pub(crate) fn run(mut self) {
        let mut seen = 0;
        while let Some((generation, work)) = self.board.wait_newer(seen) {
            seen = generation;
            match self.mine(&work, generation) {
                Ok(true) => {}
                Ok(false) => tracing::warn!(
                    thread = self.index,
                    job = %work.job.id,
                    "job's extranonce2 and version space is used up; waiting for a new job"
                ),
                Err(e) => {
                    tracing::error!(thread = self.index, "hashing thread stopped: {e}");
                    return;
                }
            }
        }
    }

    /// Mines `work` until the board moves past `generation` (returns true) or the job has no
    /// units left (returns false).
    fn mine(&mut self, work: &Work, generation: u64) -> Result<bool, HasherError> {
        while let Some(unit) = work.next_unit() {
            let header = work.header(&unit);
            self.hasher.set_header(&header, &work.target);
            let mut next = 0u64;
            while next < NONCES_PER_UNIT {
                if self.board.generation() != generation {
                    return Ok(true);
                }
                let count = u64::from(self.chunk).min(NONCES_PER_UNIT - next) as u32;
                let started = Instant::now();
                self.candidates.clear();
                let done = self.hasher.scan(next as u32, count, &mut self.candidates)?;
                self.counters.add(self.index, done);
                for &nonce in &self.candidates {
                    if let Some(hash) = verify(work.algo, &header, nonce, &work.target) {
                        self.send(work.share(&unit, nonce, hash, self.index));
                    }
                }
                self.adapt_chunk(started.elapsed());
                next += u64::from(count);
            }
        }
        Ok(self.board.generation() != generation)
    }

    fn send(&self, share: Share) {
        if let Err(e) = self.shares.try_send(share) {
            match e {
                mpsc::error::TrySendError::Full(share) => tracing::warn!(
                    job = %share.job_id,
                    "share queue full (the pool connection is not keeping up); share dropped"
                ),
                // The client has shut down; the board is about to stop.
                mpsc::error::TrySendError::Closed(_) => {}
            }
        }
    }

    /// Doubles or halves the chunk towards [`CHUNK_TIME`], keeping it a multiple of the
    /// kernel's lanes.
    fn adapt_chunk(&mut self, took: Duration) {
        let step = self.hasher.granularity();
        if took < CHUNK_TIME / 2 && self.chunk < MAX_CHUNK {
            self.chunk = self.chunk.saturating_mul(2);
        } else if took > CHUNK_TIME * 2 && self.chunk >= 2 * step {
            self.chunk = (self.chunk / 2 / step).max(1) * step;
        }
    }
}
