//! The hashing threads: one per engine (CPU kernel or OpenCL device), fed through one
//! [`WorkBoard`], stopped and joined together.
//!
//! Threads are not pinned; the operating system places them. Every engine is set up before any
//! thread starts (so a broken OpenCL device is an error at start, not a silent thread), and each
//! thread keeps its state for its whole life (scrypt scratchpads: 128 KiB per lane).

use std::io;
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use super::board::{HashCounters, WorkBoard};
use super::hasher::{Engine, Hasher, HasherError};
use super::worker::{ShareSender, Worker};

/// A running set of hashing threads.
#[derive(Debug)]
pub struct MinerThreads {
    board: Arc<WorkBoard>,
    counters: Arc<HashCounters>,
    engines: Vec<Engine>,
    handles: Vec<JoinHandle<()>>,
}

/// Threads that could not be started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// An engine could not be set up.
    #[error("cannot set up {engine}: {error}")]
    Engine {
        /// The engine.
        engine: Engine,
        /// Why (in the message, so not also a `source`).
        error: HasherError,
    },
    /// The operating system refused a thread.
    #[error("cannot start a hashing thread: {0}")]
    Spawn(#[from] io::Error),
}

/// The number of threads to use when none is asked for: one per core the process may use.
pub fn default_threads() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

impl MinerThreads {
    /// Starts one thread per engine, sending shares to `shares`. They wait for work to be
    /// posted on [`MinerThreads::board`].
    pub fn start(engines: &[Engine], shares: ShareSender) -> Result<Self, StartError> {
        let hashers = engines
            .iter()
            .map(|&engine| {
                Hasher::new(engine).map_err(|error| StartError::Engine { engine, error })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let board = Arc::new(WorkBoard::new());
        let counters = Arc::new(HashCounters::new(engines.len()));
        let mut this = Self {
            board,
            counters,
            engines: engines.to_vec(),
            handles: Vec::with_capacity(engines.len()),
        };
        for (index, hasher) in hashers.into_iter().enumerate() {
            let worker = Worker::new(
                index,
                hasher,
                Arc::clone(&this.board),
                Arc::clone(&this.counters),
                shares.clone(),
            );
            let spawned = thread::Builder::new()
                .name(format!("hash-{index}"))
                .spawn(move || worker.run());
            match spawned {
                Ok(handle) => this.handles.push(handle),
                Err(e) => {
                    this.stop();
                    return Err(e.into());
                }
            }
        }
        Ok(this)
    }

    /// Where work is posted for these threads.
    pub fn board(&self) -> &Arc<WorkBoard> {
        &self.board
    }

    /// The threads' hash counters.
    pub fn counters(&self) -> &Arc<HashCounters> {
        &self.counters
    }

    /// The engine of each thread.
    pub fn engines(&self) -> &[Engine] {
        &self.engines
    }

    /// The number of threads.
    pub fn len(&self) -> usize {
        self.engines.len()
    }

    /// Whether there are no threads.
    pub fn is_empty(&self) -> bool {
        self.engines.is_empty()
    }

    /// Stops every thread after its current chunk and waits for them.
    pub fn stop(&mut self) {
        self.board.stop();
        for handle in self.handles.drain(..) {
            if handle.join().is_err() {
                tracing::error!("a hashing thread panicked");
            }
        }
    }
}

impl Drop for MinerThreads {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mining::work::tests::work;
    use crate::mining::CpuKernel;
    use otedama_proto::chain::PowAlgo;
    use otedama_proto::target::Target;
    use std::time::Duration;
    use tokio::sync::mpsc;

    #[test]
    fn threads_find_distinct_valid_shares_and_switch_jobs() {
        let (tx, mut rx) = mpsc::channel(1024);
        let engine = Engine::Cpu(CpuKernel::best(PowAlgo::Sha256d));
        let mut threads = MinerThreads::start(&[engine, engine], tx).expect("threads start");
        let mut easy = work(0x2000_0000, 0, 4);
        easy.target = Target::from_stratum_difficulty(PowAlgo::Sha256d, 1.0 / 65536.0)
            .expect("valid difficulty");
        let easy = Arc::new(easy);
        threads.board().post(Some(Arc::clone(&easy)));
        let mut shares = Vec::new();
        while shares.len() < 4 {
            let share = rx.blocking_recv().expect("threads are running");
            let unit = easy
                .unit(u64::from(share.extranonce2[3]))
                .expect("a unit handed out");
            assert_eq!(share.extranonce2, unit.extranonce2);
            let hash = crate::mining::hasher::verify(
                PowAlgo::Sha256d,
                &easy.header(&unit),
                share.nonce,
                &easy.target,
            );
            assert_eq!(hash, Some(share.hash));
            assert!(!shares.contains(&(share.extranonce2.clone(), share.nonce)));
            shares.push((share.extranonce2, share.nonce));
        }
        let mut other = work(0x2000_0000, 0, 4);
        other.job = Arc::new(otedama_proto_job("j2"));
        other.target = easy.target;
        threads.board().post(Some(Arc::new(other)));
        // After the post, the first share of the new job comes within a few chunks.
        let switched = std::time::Instant::now();
        loop {
            let share = rx.blocking_recv().expect("threads are running");
            if share.job_id == "j2" {
                break;
            }
            assert!(switched.elapsed() < Duration::from_secs(30));
        }
        threads.stop();
        assert!(threads.board().is_stopped());
    }

    fn otedama_proto_job(id: &str) -> crate::mining::Job {
        let mut job = (*work(0x2000_0000, 0, 4).job).clone();
        job.id = id.into();
        job
    }
}
