//! The Stratum server: tokio, one task per connection, bounded everywhere.
//!
//! - a semaphore caps connected miners (further ones wait in the listen backlog);
//! - a connection holds no buffer while idle: it waits for readability, reads what is there,
//!   keeps only a partial line, and caps a line at `max_line_bytes` (an error reply, then a
//!   disconnect);
//! - replies are written before the next read; a write that does not finish within
//!   `write_timeout` drops the miner, so a slow reader never makes the server buffer;
//! - jobs arrive through a `watch` channel, so a session that falls behind skips to the newest
//!   job instead of queueing old ones;
//! - valid shares go to the node's share path through a bounded channel (back-pressure on the
//!   miner, never a dropped block);
//! - one shutdown future stops accepting and closes every connection after its current write.

use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};

use super::config::StratumConfig;
use super::job::{JobBroadcast, JobReceiver};
use super::session::{Outbound, Session};
use super::stats::{DelayHistogram, StatsRegistry};
use super::submit::Submission;
use super::Timestamp;

/// How much is read from a socket at once.
const READ_CHUNK: usize = 4096;
/// How much input a closing connection discards, at most, before it is dropped.
const CLOSE_DRAIN_BYTES: usize = 64 * 1024;
/// How long a closing connection waits for the miner to close its side.
const CLOSE_DRAIN_TIME: Duration = Duration::from_millis(500);

/// A configuration the server cannot run with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ServerError {
    /// A setting out of range.
    #[error("invalid stratum setting `{setting}`: {reason}")]
    Config {
        /// The setting.
        setting: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Server-wide counters, for the HTTP API (`stratum_clients`) and the load generator.
#[derive(Debug, Default)]
pub struct ServerStats {
    /// Miners connected now.
    pub connected: AtomicUsize,
    /// Connections accepted since start.
    pub connections: AtomicU64,
    /// Valid shares handed to the share path.
    pub shares: AtomicU64,
    /// Of those, blocks.
    pub blocks: AtomicU64,
    /// Miners dropped because a write did not finish in time.
    pub dropped_slow: AtomicU64,
    /// Miners dropped for garbage or an oversized line.
    pub dropped_garbage: AtomicU64,
    /// From a job's publication to its `mining.notify` written to each ready miner.
    pub notify_delay: DelayHistogram,
}

impl ServerStats {
    /// Miners connected now.
    pub fn connected(&self) -> usize {
        self.connected.load(Ordering::Relaxed)
    }
}

/// What every connection task shares.
#[derive(Debug)]
struct Shared {
    config: Arc<StratumConfig>,
    registry: Arc<StatsRegistry>,
    stats: Arc<ServerStats>,
    shares: mpsc::Sender<Box<Submission>>,
}

/// A Stratum server, ready to run on a listener.
#[derive(Debug)]
pub struct Server {
    shared: Arc<Shared>,
    jobs: JobReceiver,
}

impl Server {
    /// A server handing out the jobs of `jobs` and sending valid shares to `shares`.
    pub fn new(
        config: StratumConfig,
        jobs: &JobBroadcast,
        shares: mpsc::Sender<Box<Submission>>,
    ) -> Result<Server, ServerError> {
        let bad = |setting, reason| Err(ServerError::Config { setting, reason });
        if config.max_connections == 0 {
            return bad("max_connections", "must be at least 1");
        }
        if config.max_line_bytes < 256 {
            return bad("max_line_bytes", "must be at least 256 bytes");
        }
        if !(config.min_difficulty > 0.0 && config.min_difficulty <= config.max_difficulty) {
            return bad(
                "min_difficulty",
                "must be positive and at most max_difficulty",
            );
        }
        if !(config.vardiff.max_step > 1.0 && config.vardiff.target_share_secs > 0.0) {
            return bad(
                "vardiff",
                "max_step must exceed 1 and the target interval be positive",
            );
        }
        if config.stats_prune_every.is_zero() {
            return bad("stats_prune_every", "must be positive");
        }
        Ok(Server {
            shared: Arc::new(Shared {
                registry: Arc::new(StatsRegistry::with_max_workers(config.max_workers)),
                config: Arc::new(config),
                stats: Arc::default(),
                shares,
            }),
            jobs: jobs.subscribe(),
        })
    }

    /// The server-wide counters.
    pub fn stats(&self) -> Arc<ServerStats> {
        self.shared.stats.clone()
    }

    /// The per-worker counts.
    pub fn registry(&self) -> Arc<StatsRegistry> {
        self.shared.registry.clone()
    }

    /// Accepts miners on `listener` until `shutdown` completes, then closes every connection and
    /// returns once all connection tasks have ended.
    pub async fn run(self, listener: TcpListener, shutdown: impl Future<Output = ()>) {
        let (stop_tx, stop_rx) = watch::channel(false);
        let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
        let limit = Arc::new(Semaphore::new(self.shared.config.max_connections));
        let mut next_extranonce1 = initial_extranonce1();
        tokio::spawn(prune_stats(
            self.shared.clone(),
            stop_rx.clone(),
            done_tx.clone(),
        ));
        tokio::pin!(shutdown);
        loop {
            let permit = tokio::select! {
                _ = &mut shutdown => break,
                permit = limit.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            };
            let accepted = tokio::select! {
                _ = &mut shutdown => break,
                accepted = listener.accept() => accepted,
            };
            let stream = match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!("stratum accept failed: {e}");
                    tokio::select! {
                        _ = &mut shutdown => break,
                        _ = tokio::time::sleep(Duration::from_millis(100)) => continue,
                    }
                }
            };
            let extranonce1 = next_extranonce1.to_be_bytes();
            next_extranonce1 = next_extranonce1.wrapping_add(1);
            let connection = Connection {
                shared: self.shared.clone(),
                jobs: self.jobs.clone(),
                stop: stop_rx.clone(),
                _permit: permit,
                _done: done_tx.clone(),
            };
            tokio::spawn(connection.serve(stream, extranonce1));
        }
        drop(listener);
        let _ = stop_tx.send(true);
        drop(done_tx);
        // Every connection holds a sender; `None` once the last one has ended.
        let _ = done_rx.recv().await;
    }
}

/// Forgets the stats of workers idle for `worker_idle` every `stats_prune_every`, until `stop`.
async fn prune_stats(
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    _done: mpsc::Sender<()>,
) {
    let idle_ms = u64::try_from(shared.config.worker_idle.as_millis()).unwrap_or(u64::MAX);
    let mut tick = tokio::time::interval(shared.config.stats_prune_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            _ = tick.tick() => shared.registry.prune(Timestamp::now(), idle_ms),
        }
    }
}

/// A starting extranonce1 that differs between runs, so that a restarted node does not hand out
/// the same coinbases again.
fn initial_extranonce1() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(Timestamp::now().0);
    hasher.finish() as u32
}

/// One connection's task.
struct Connection {
    shared: Arc<Shared>,
    jobs: JobReceiver,
    stop: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
    _done: mpsc::Sender<()>,
}

/// Keeps the connected count right however the task ends.
struct ConnectedGuard(Arc<ServerStats>);

impl Drop for ConnectedGuard {
    fn drop(&mut self) {
        self.0.connected.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Connection {
    async fn serve(mut self, mut stream: TcpStream, extranonce1: [u8; 4]) {
        let shared = self.shared.clone();
        shared.stats.connected.fetch_add(1, Ordering::Relaxed);
        shared.stats.connections.fetch_add(1, Ordering::Relaxed);
        let _guard = ConnectedGuard(shared.stats.clone());
        let _ = stream.set_nodelay(true);
        let config = &shared.config;
        let mut session = Session::new(
            config.clone(),
            shared.registry.clone(),
            extranonce1,
            Timestamp::now(),
        );
        if let Some(job) = self.jobs.borrow_and_update().clone() {
            session.on_job(&job, Timestamp::now());
        }
        // Bytes of a line not yet complete; empty (and unallocated) while idle.
        let mut pending: Vec<u8> = Vec::new();
        let mut jobs_open = true;
        let handshake = tokio::time::sleep(config.handshake_timeout);
        tokio::pin!(handshake);
        loop {
            // Set when the outbound is a new job's notify: its publication time.
            let mut published = None;
            let outbound = tokio::select! {
                biased;
                _ = self.stop.changed() => break,
                changed = self.jobs.changed(), if jobs_open => {
                    if changed.is_err() {
                        jobs_open = false;
                        continue;
                    }
                    let job = self.jobs.borrow_and_update().clone();
                    match job {
                        Some(job) => {
                            published = job.published;
                            session.on_job(&job, Timestamp::now())
                        }
                        None => continue,
                    }
                }
                ready = stream.readable() => {
                    if ready.is_err() {
                        break;
                    }
                    pending.reserve(READ_CHUNK);
                    match stream.try_read_buf(&mut pending) {
                        Ok(0) => break,
                        Ok(_) => take_lines(&mut session, &mut pending, config.max_line_bytes),
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            release_if_empty(&mut pending);
                            continue;
                        }
                        Err(_) => break,
                    }
                }
                _ = &mut handshake, if !session.is_ready() => {
                    tracing::debug!("stratum miner did not subscribe and authorize in time");
                    break;
                }
            };
            let sent_something = !outbound.is_empty();
            match self.deliver(&mut stream, outbound).await {
                After::KeepOpen => {
                    if let (Some(at), true) = (published, sent_something) {
                        shared.stats.notify_delay.record(at.elapsed());
                    }
                }
                After::Drop => break,
                After::Close => {
                    close_gracefully(&mut stream).await;
                    break;
                }
            }
        }
    }

    /// Hands shares on, then writes the lines.
    async fn deliver(&self, stream: &mut TcpStream, outbound: Vec<Outbound>) -> After {
        let stats = &self.shared.stats;
        let mut lines = Vec::with_capacity(outbound.len());
        let mut then = After::KeepOpen;
        for item in outbound {
            match item {
                Outbound::Send(line) => lines.push(line),
                Outbound::Share(share) => {
                    stats.shares.fetch_add(1, Ordering::Relaxed);
                    if share.is_block() {
                        stats.blocks.fetch_add(1, Ordering::Relaxed);
                    }
                    if self.shared.shares.send(share).await.is_err() {
                        tracing::warn!("stratum share dropped: the share path has stopped");
                    }
                }
                Outbound::Close => {
                    stats.dropped_garbage.fetch_add(1, Ordering::Relaxed);
                    then = After::Close;
                    break;
                }
            }
        }
        if lines.is_empty() {
            return then;
        }
        let joined: String;
        let bytes = if let [line] = lines.as_slice() {
            line.as_str().as_bytes()
        } else {
            joined = lines.iter().map(|l| l.as_str()).collect();
            joined.as_bytes()
        };
        // Nearly always the socket takes it all at once: no timer needed.
        let written = match stream.try_write(bytes) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => 0,
            Err(_) => return After::Drop,
        };
        if written == bytes.len() {
            return then;
        }
        let rest = stream.write_all(&bytes[written..]);
        match tokio::time::timeout(self.shared.config.write_timeout, rest).await {
            Ok(Ok(())) => then,
            Ok(Err(_)) => After::Drop,
            Err(_) => {
                stats.dropped_slow.fetch_add(1, Ordering::Relaxed);
                tracing::debug!("stratum miner dropped: it does not read what it is sent");
                After::Drop
            }
        }
    }
}

/// What a connection does after a delivery.
enum After {
    KeepOpen,
    /// Close after the error reply (garbage, an oversized line).
    Close,
    /// Drop at once (a write failed or timed out).
    Drop,
}

/// Ends the connection so that the miner reads the error reply and then end-of-stream: closing
/// with unread input would send a reset, which can discard the reply before the miner reads it.
async fn close_gracefully(stream: &mut TcpStream) {
    let _ = stream.shutdown().await;
    let drain = async {
        let mut sink = [0u8; 1024];
        let mut left = CLOSE_DRAIN_BYTES;
        while left > 0 {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    };
    let _ = tokio::time::timeout(CLOSE_DRAIN_TIME, drain).await;
}

/// Runs every complete line of `pending` through the session and keeps the partial rest.
fn take_lines(session: &mut Session, pending: &mut Vec<u8>, max_line: usize) -> Vec<Outbound> {
    let now = Timestamp::now();
    let mut out = Vec::new();
    let mut start = 0;
    while let Some(len) = pending[start..].iter().position(|&b| b == b'\n') {
        let line = &pending[start..start + len];
        start += len + 1;
        if line.len() + 1 > max_line {
            out.extend(session.line_too_long());
            return out;
        }
        out.extend(session.handle_line(line, now));
        if matches!(out.last(), Some(Outbound::Close)) {
            return out;
        }
    }
    pending.drain(..start);
    if pending.len() >= max_line {
        out.extend(session.line_too_long());
    }
    release_if_empty(pending);
    out
}

/// Frees the read buffer of an idle connection.
fn release_if_empty(pending: &mut Vec<u8>) {
    if pending.is_empty() {
        *pending = Vec::new();
    }
}
