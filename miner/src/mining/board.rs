//! Where the Stratum side posts work and the hashing threads pick it up, and the hash counters
//! they report to.
//!
//! Posting work bumps a generation number. Threads read it (one atomic load) between chunks of
//! nonces of a few tens of milliseconds each and drop what they are doing as soon as it
//! changes, which is how a clean job takes effect at once. Idle threads sleep on a condition
//! variable until there is work or the board is stopped.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::Work;

/// The current work of all hashing threads.
#[derive(Debug, Default)]
pub struct WorkBoard {
    /// Bumped on every post; read by the threads between chunks.
    generation: AtomicU64,
    stopped: AtomicBool,
    current: Mutex<Posted>,
    changed: Condvar,
}

/// The work posted last and its generation.
#[derive(Debug, Default)]
struct Posted {
    generation: u64,
    work: Option<Arc<Work>>,
}

impl WorkBoard {
    /// An empty board: threads wait until work is posted.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Posted> {
        // The guarded data is a plain value, consistent even if a holder panicked.
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces the work (`None`: stop hashing until new work comes) and wakes every thread.
    pub fn post(&self, work: Option<Arc<Work>>) {
        let mut posted = self.lock();
        posted.generation += 1;
        posted.work = work;
        self.generation.store(posted.generation, Ordering::Release);
        self.changed.notify_all();
    }

    /// The current generation; a thread working on an older one abandons its work.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The work posted last, if any.
    pub fn current(&self) -> Option<Arc<Work>> {
        self.lock().work.clone()
    }

    /// Tells every thread to exit.
    pub fn stop(&self) {
        let _posted = self.lock();
        self.stopped.store(true, Ordering::Release);
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.changed.notify_all();
    }

    /// Whether [`WorkBoard::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// Waits until work newer than generation `seen` is posted, and returns it with its
    /// generation; `None` once the board is stopped.
    pub fn wait_newer(&self, seen: u64) -> Option<(u64, Arc<Work>)> {
        let mut posted = self.lock();
        loop {
            if self.is_stopped() {
                return None;
            }
            if posted.generation != seen {
                if let Some(work) = &posted.work {
                    return Some((posted.generation, Arc::clone(work)));
                }
            }
            // The timeout only guards against a missed wake-up; posts always notify.
            posted = self
                .changed
                .wait_timeout(posted, Duration::from_secs(1))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

/// Hashes done per thread, counted since the start.
#[derive(Debug)]
pub struct HashCounters {
    per_thread: Vec<AtomicU64>,
}

impl HashCounters {
    /// Counters for `threads` threads, all zero.
    pub fn new(threads: usize) -> Self {
        Self {
            per_thread: (0..threads).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Adds `hashes` to thread `thread`'s count.
    pub fn add(&self, thread: usize, hashes: u64) {
        self.per_thread[thread].fetch_add(hashes, Ordering::Relaxed);
    }

    /// Every thread's count.
    pub fn snapshot(&self) -> Vec<u64> {
        self.per_thread
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect()
    }

    /// The number of threads.
    pub fn threads(&self) -> usize {
        self.per_thread.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    #[test]
    fn a_waiting_thread_wakes_on_post_and_on_stop() {
        let board = Arc::new(WorkBoard::new());
        let waiter = {
            let board = Arc::clone(&board);
            thread::spawn(move || board.wait_newer(0).map(|(generation, _)| generation))
        };
        board.post(None);
        let work = Arc::new(crate::mining::work::tests::work(0x2000_0000, 0, 4));
        board.post(Some(work));
        assert_eq!(waiter.join().expect("no panic"), Some(2));
        let waiter = {
            let board = Arc::clone(&board);
            thread::spawn(move || board.wait_newer(2))
        };
        let before = board.generation();
        board.stop();
        assert!(waiter.join().expect("no panic").is_none());
        assert_ne!(
            board.generation(),
            before,
            "a stop also ends the current chunk"
        );
    }
}
