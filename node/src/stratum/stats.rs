//! Per-worker share counts and hash rate, for the HTTP API and the logs.
//!
//! A worker is the Stratum user as given (`address` or `address.worker`); several connections
//! may share one. Each session holds its workers' entries, so a share costs one uncontended lock.
//! Hash rate is the accepted work of the last ten minutes, kept in one-minute buckets.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use otedama_proto::chain::PowAlgo;
use otedama_proto::target::Target;

use super::Timestamp;

const BUCKETS: usize = 10;
const BUCKET_MS: u64 = 60_000;

/// Counts for one worker.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WorkerStats {
    /// Shares accepted (stale blocks included).
    pub accepted: u64,
    /// Shares rejected, for any reason.
    pub rejected: u64,
    /// Shares on a job from before the last block (rejected unless they were blocks).
    pub stale: u64,
    /// Shares that met the block target.
    pub blocks: u64,
    /// When the last accepted share came.
    pub last_share: Option<Timestamp>,
    first_share: Option<Timestamp>,
    /// Accepted difficulty per minute, indexed by minute number modulo `BUCKETS`.
    buckets: [f64; BUCKETS],
    /// The minute number of the newest bucket written.
    last_minute: u64,
}

impl WorkerStats {
    /// Records an accepted share of `difficulty`.
    pub fn record_accepted(&mut self, difficulty: f64, now: Timestamp) {
        self.accepted += 1;
        self.first_share.get_or_insert(now);
        self.last_share = Some(now);
        let minute = now.0 / BUCKET_MS;
        if minute > self.last_minute {
            let gap = (minute - self.last_minute).min(BUCKETS as u64);
            for m in (minute + 1 - gap)..=minute {
                self.buckets[(m % BUCKETS as u64) as usize] = 0.0;
            }
            self.last_minute = minute;
        }
        if minute + (BUCKETS as u64) > self.last_minute {
            self.buckets[(minute % BUCKETS as u64) as usize] += difficulty;
        }
    }

    /// Records a rejected share; `stale` when its job was from before the last block.
    pub fn record_rejected(&mut self, stale: bool) {
        self.rejected += 1;
        self.stale += u64::from(stale);
    }

    /// Records a share that was a block.
    pub fn record_block(&mut self) {
        self.blocks += 1;
    }

    /// Hashes per second over the last ten minutes (or since the first share, if later).
    pub fn hashrate(&self, algo: PowAlgo, now: Timestamp) -> f64 {
        let Some(first) = self.first_share else {
            return 0.0;
        };
        let now_minute = now.0 / BUCKET_MS;
        let oldest = (now_minute + 1).saturating_sub(BUCKETS as u64);
        let work: f64 = (oldest..=self.last_minute.min(now_minute))
            .map(|m| self.buckets[(m % BUCKETS as u64) as usize])
            .sum();
        let since = Timestamp((oldest * BUCKET_MS).max(first.0));
        let secs = now.secs_since(since).max(1.0);
        work * hashes_per_difficulty(algo) / secs
    }
}

/// Expected hashes for one share of Stratum difficulty 1.
pub fn hashes_per_difficulty(algo: PowAlgo) -> f64 {
    Target::stratum_diff1(algo).to_work().to_f64()
}

/// One worker's figures at a moment, for the API.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct WorkerSnapshot {
    /// The Stratum user.
    pub name: String,
    /// Shares accepted.
    pub accepted: u64,
    /// Shares rejected.
    pub rejected: u64,
    /// Stale shares.
    pub stale: u64,
    /// Blocks found.
    pub blocks: u64,
    /// Hashes per second over the last ten minutes.
    pub hashrate: f64,
    /// When the last accepted share came, in Unix milliseconds.
    pub last_share_ms: Option<u64>,
}

/// Every worker seen since start (or since it was pruned). The worker suffix is free text, so the
/// number of entries is capped: past the cap, the entries no session holds go, oldest last share
/// first (those that never had one before all others), and the server prunes idle workers on a
/// timer ([`StatsRegistry::prune`]).
#[derive(Debug)]
pub struct StatsRegistry {
    workers: Mutex<HashMap<String, Arc<Mutex<WorkerStats>>>>,
    /// The most entries kept; entries held by a session are never dropped, so there may be
    /// more while that many workers are connected.
    max_workers: usize,
}

impl Default for StatsRegistry {
    fn default() -> Self {
        Self::with_max_workers(10_000)
    }
}

impl StatsRegistry {
    /// A registry that keeps at most `max_workers` entries no session holds.
    pub fn with_max_workers(max_workers: usize) -> Self {
        StatsRegistry {
            workers: Mutex::default(),
            max_workers,
        }
    }

    /// The entry of worker `name`, created if new (making room first if the registry is full).
    pub fn worker(&self, name: &str) -> Arc<Mutex<WorkerStats>> {
        let mut workers = self.workers.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = workers.get(name) {
            return found.clone();
        }
        if workers.len() >= self.max_workers {
            // A sixteenth of the cap at a time, so that a stream of new names does not sort
            // the whole map for each one.
            let excess = workers.len() + 1 - self.max_workers;
            evict_idle(&mut workers, excess.max(self.max_workers / 16));
        }
        workers.entry(name.to_owned()).or_default().clone()
    }

    /// How many workers the registry holds.
    pub fn len(&self) -> usize {
        self.workers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether the registry holds no worker.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every worker's figures, sorted by name.
    pub fn snapshot(&self, algo: PowAlgo, now: Timestamp) -> Vec<WorkerSnapshot> {
        let workers = self.workers.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out: Vec<WorkerSnapshot> = workers
            .iter()
            .map(|(name, stats)| {
                let s = stats.lock().unwrap_or_else(PoisonError::into_inner);
                WorkerSnapshot {
                    name: name.clone(),
                    accepted: s.accepted,
                    rejected: s.rejected,
                    stale: s.stale,
                    blocks: s.blocks,
                    hashrate: s.hashrate(algo, now),
                    last_share_ms: s.last_share.map(|t| t.0),
                }
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// Forgets workers no session holds whose last share is older than `idle_ms` (or that never
    /// had one).
    pub fn prune(&self, now: Timestamp, idle_ms: u64) {
        let mut workers = self.workers.lock().unwrap_or_else(PoisonError::into_inner);
        workers.retain(|_, stats| {
            let last = stats
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .last_share;
            Arc::strong_count(stats) > 1
                || last.is_some_and(|t| now.0.saturating_sub(t.0) < idle_ms)
        });
    }
}

/// Drops up to `count` entries no session holds, those with the oldest last share (or none)
/// first.
fn evict_idle(workers: &mut HashMap<String, Arc<Mutex<WorkerStats>>>, count: usize) {
    let mut idle: Vec<(Option<Timestamp>, String)> = workers
        .iter()
        .filter(|(_, stats)| Arc::strong_count(stats) == 1)
        .map(|(name, stats)| {
            let last = stats
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .last_share;
            (last, name.clone())
        })
        .collect();
    // `None` sorts before every time: a worker that never had a share goes first.
    idle.sort_unstable();
    for (_, name) in idle.into_iter().take(count) {
        workers.remove(&name);
    }
}

/// Delays in one-millisecond buckets up to [`DelayHistogram::MAX_MS`], the rest in the last:
/// how long a new job takes from publication to being written to each miner.
#[derive(Debug)]
pub struct DelayHistogram {
    buckets: Box<[std::sync::atomic::AtomicU64]>,
}

impl Default for DelayHistogram {
    fn default() -> Self {
        DelayHistogram {
            buckets: (0..=Self::MAX_MS).map(|_| Default::default()).collect(),
        }
    }
}

impl DelayHistogram {
    /// The last bucket: this many milliseconds or more.
    pub const MAX_MS: usize = 2000;

    /// Counts one delay.
    pub fn record(&self, delay: std::time::Duration) {
        let ms = (delay.as_millis() as usize).min(Self::MAX_MS);
        self.buckets[ms].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// How many delays were counted.
    pub fn count(&self) -> u64 {
        self.buckets
            .iter()
            .map(|b| b.load(std::sync::atomic::Ordering::Relaxed))
            .sum()
    }

    /// The delay below which a fraction `q` of the counted ones fall, rounded up to the
    /// millisecond; `None` before any.
    pub fn percentile_ms(&self, q: f64) -> Option<u64> {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(std::sync::atomic::Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = ((total as f64 * q).ceil() as u64).max(1);
        let mut seen = 0;
        counts
            .iter()
            .position(|c| {
                seen += c;
                seen >= rank
            })
            .map(|ms| ms as u64 + 1)
    }

    /// Forgets every count.
    pub fn reset(&self) {
        for b in self.buckets.iter() {
            b.store(0, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashrate_is_work_over_the_last_ten_minutes() {
        let mut s = WorkerStats::default();
        let start = Timestamp::from_secs(1_000_020);
        // One difficulty-1 share a second for 100 s under sha256d: about 2^32 H/s.
        for i in 0..100 {
            s.record_accepted(1.0, start.plus_millis(i * 1000));
        }
        let rate = s.hashrate(PowAlgo::Sha256d, start.plus_millis(100_000));
        assert!((rate / 4.295e9 - 1.0).abs() < 0.02, "{rate}");
        // Under scrypt a difficulty-1 share is 2^16 hashes.
        let rate = s.hashrate(PowAlgo::Scrypt, start.plus_millis(100_000));
        assert!((rate / 65536.0 - 1.0).abs() < 0.02, "{rate}");
        // Half an hour later it has all aged out.
        assert_eq!(
            s.hashrate(PowAlgo::Sha256d, start.plus_millis(1_800_000)),
            0.0
        );
        s.record_accepted(1.0, start.plus_millis(1_800_000));
        assert!(s.hashrate(PowAlgo::Sha256d, start.plus_millis(1_801_000)) > 0.0);
        assert_eq!(s.accepted, 101);
    }

    #[test]
    fn delay_percentiles_round_up_to_the_millisecond() {
        let h = DelayHistogram::default();
        assert_eq!(h.percentile_ms(0.5), None);
        for ms in 0..100 {
            h.record(std::time::Duration::from_micros(ms * 1000 + 500));
        }
        h.record(std::time::Duration::from_secs(60));
        assert_eq!(h.count(), 101);
        assert_eq!(h.percentile_ms(0.5), Some(51));
        assert_eq!(h.percentile_ms(0.99), Some(100));
        assert_eq!(
            h.percentile_ms(1.0),
            Some(DelayHistogram::MAX_MS as u64 + 1)
        );
        h.reset();
        assert_eq!(h.count(), 0);
    }

    #[test]
    fn registry_shares_entries_and_prunes_idle_ones() {
        let registry = StatsRegistry::default();
        let a = registry.worker("addr.rig1");
        a.lock()
            .unwrap()
            .record_accepted(2.0, Timestamp::from_secs(10));
        registry
            .worker("addr.rig1")
            .lock()
            .unwrap()
            .record_rejected(true);
        let snap = registry.snapshot(PowAlgo::Sha256d, Timestamp::from_secs(20));
        assert_eq!(snap.len(), 1);
        assert_eq!(
            (snap[0].accepted, snap[0].rejected, snap[0].stale),
            (1, 1, 1)
        );
        registry.prune(Timestamp::from_secs(100_000), 60_000);
        assert_eq!(
            registry
                .snapshot(PowAlgo::Sha256d, Timestamp::from_secs(20))
                .len(),
            1
        );
        drop(a);
        registry.prune(Timestamp::from_secs(100_000), 60_000);
        assert!(registry
            .snapshot(PowAlgo::Sha256d, Timestamp::from_secs(20))
            .is_empty());
    }

    #[test]
    fn a_full_registry_forgets_the_oldest_idle_workers_first() {
        let registry = StatsRegistry::with_max_workers(4);
        let share = |name: &str, secs: u64| {
            registry
                .worker(name)
                .lock()
                .unwrap()
                .record_accepted(1.0, Timestamp::from_secs(secs));
        };
        // An old worker still connected, then three idle ones of various ages.
        let held = registry.worker("addr.held");
        held.lock()
            .unwrap()
            .record_accepted(1.0, Timestamp::from_secs(1));
        share("addr.old", 10);
        share("addr.mid", 20);
        share("addr.new", 30);
        // A stranger's random worker names, never a share: memory stays bounded.
        for i in 0..1000 {
            registry.worker(&format!("addr.{i:x}"));
        }
        let names: Vec<String> = registry
            .snapshot(PowAlgo::Sha256d, Timestamp::from_secs(40))
            .into_iter()
            .map(|w| w.name)
            .collect();
        assert!(names.len() <= 4, "{} workers kept", names.len());
        assert!(
            names.contains(&"addr.held".to_owned()),
            "held by a session: {names:?}"
        );
        assert!(names.contains(&"addr.new".to_owned()), "{names:?}");
        assert!(!names.contains(&"addr.old".to_owned()), "{names:?}");
    }
}
