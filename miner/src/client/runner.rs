//! The miner's life: hashing threads, a pool connection kept up across failures, and a periodic
//! report of hash rates and share counts.
//!
//! Failover: pools are tried in the order given. A connection that fails before the pool
//! accepted the login moves on to the next pool; after every pool has failed once in a row, the
//! miner waits (1 s, doubling up to 60 s) before the next round. A connection that worked for a
//! while and then dropped is retried on the same pool first. A refused login is a configuration
//! error: it is final once every pool has refused it. `client.reconnect` is obeyed at once (the
//! connection it leads to counts as one to the pool that asked for it).
//!
//! Failback: while connected to a pool other than the first, the miner probes the pools before
//! it in the order given, best first and one at a time, every `failback_every` (`--failback-secs`,
//! 60 s by default; never with 0), counted from the end of the previous round. A probe is a real
//! login, closed afterwards: a pool is back only when it answers `mining.subscribe` and accepts
//! `mining.authorize` within 5 s ([`failback`](super::failback)). A pool that fails a probe is
//! logged at debug level and simply probed again next round. When one is back the miner logs
//! `failing back to <url>`, leaves the current pool between two messages, takes the old job
//! away from the hashing threads at once and connects to the pool that answered. Shares sent
//! to the old pool and not yet answered, and shares found but not yet sent, are lost; their
//! number is logged. No probe runs on the first pool, and none outlives the connection it was
//! started for.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::connection::{self, ConnectionError, End, Links};
use super::failback;
use super::session::{Session, SessionConfig, SessionError};
use super::tally::{Counts, ShareTally};
use super::url::PoolUrl;
use crate::mining::{Engine, HashCounters, MinerThreads, RateMeter, Share, StartError};

/// Share queue between the threads and the connection.
const SHARE_QUEUE: usize = 256;
/// A connection that lasted this long counts as having worked.
const HEALTHY_AFTER: Duration = Duration::from_secs(30);

/// Everything the miner needs, resolved from the command line.
#[derive(Clone, Debug)]
pub struct MinerConfig {
    /// Pools, in order of preference (at least one).
    pub urls: Vec<PoolUrl>,
    /// Login and protocol options.
    pub session: SessionConfig,
    /// One hashing thread per engine.
    pub engines: Vec<Engine>,
    /// How often to log hash rates and share counts.
    pub report_every: Duration,
    /// The first wait after a round of failures.
    pub backoff_initial: Duration,
    /// The longest wait between rounds.
    pub backoff_max: Duration,
    /// How often to check, while on a pool other than the first, whether a preferred pool is
    /// back (`None`: stay on the pool in use).
    pub failback_every: Option<Duration>,
}

/// Why mining stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum MinerError {
    /// Every pool refused the login.
    #[error("{0}")]
    LoginRefused(String),
    /// The hashing threads could not be started.
    #[error(transparent)]
    Threads(#[from] StartError),
    /// No pool was given.
    #[error("no pool URL given")]
    NoPool,
}

/// Mines until `shutdown` becomes true (or its sender is dropped); returns the share counts.
pub async fn mine(
    config: MinerConfig,
    mut shutdown: watch::Receiver<bool>,
) -> Result<Counts, MinerError> {
    if config.urls.is_empty() {
        return Err(MinerError::NoPool);
    }
    let (tx, mut shares) = mpsc::channel(SHARE_QUEUE);
    let mut threads = MinerThreads::start(&config.engines, tx)?;
    tracing::info!("hashing threads: {}", describe_engines(threads.engines()));
    let tally = Arc::new(ShareTally::default());
    let report = tokio::spawn(report(
        Arc::clone(threads.counters()),
        Arc::clone(&tally),
        config.report_every,
    ));
    let result = keep_connected(&config, &threads, &tally, &mut shares, &mut shutdown).await;
    report.abort();
    threads.stop();
    result.map(|()| tally.counts())
}

/// `2 × CPU sha256d on sha-ni, 1 × sha256d on OpenCL device 0`.
fn describe_engines(engines: &[Engine]) -> String {
    let mut counted: Vec<(Engine, usize)> = Vec::new();
    for engine in engines {
        match counted.iter_mut().find(|(e, _)| e == engine) {
            Some((_, n)) => *n += 1,
            None => counted.push((*engine, 1)),
        }
    }
    let parts: Vec<String> = counted.iter().map(|(e, n)| format!("{n} × {e}")).collect();
    parts.join(", ")
}

async fn report(counters: Arc<HashCounters>, tally: Arc<ShareTally>, every: Duration) {
    let mut meter = RateMeter::start(&counters);
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tick.tick().await;
        connection::log_rates(&meter.read(&counters), &tally);
    }
}

/// Waits `wait`; false if shutdown came first.
async fn pause(wait: Duration, shutdown: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(wait) => true,
        _ = shutdown.wait_for(|stop| *stop) => false,
    }
}

/// Resolves to the index of the best pool before `index` once it is back; never while on the
/// first pool or with failback off.
async fn failback_to(config: &MinerConfig, index: usize) -> usize {
    match config.failback_every {
        Some(every) if index > 0 => {
            failback::first_back(&config.urls[..index], &config.session, every).await
        }
        _ => std::future::pending().await,
    }
}

async fn keep_connected(
    config: &MinerConfig,
    threads: &MinerThreads,
    tally: &ShareTally,
    shares: &mut mpsc::Receiver<Share>,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<(), MinerError> {
    let pools = config.urls.len();
    let mut index = 0;
    let mut backoff = config.backoff_initial;
    let mut refused: Vec<Option<String>> = vec![None; pools];
    let mut redirect: Option<PoolUrl> = None;
    let mut epoch = 0;
    loop {
        let url = redirect
            .take()
            .unwrap_or_else(|| config.urls[index].clone());
        epoch += 1;
        let mut session = Session::new(config.session.clone(), epoch);
        let started = Instant::now();
        let links = Links {
            board: threads.board(),
            tally,
            shares: &mut *shares,
            shutdown: &mut *shutdown,
        };
        let leave = failback_to(config, index);
        let result = connection::run(&url, &mut session, links, leave).await;
        // Nothing found from now on can be submitted on this connection.
        threads.board().post(None);
        let mut unsent = 0;
        while shares.try_recv().is_ok() {
            unsent += 1;
        }
        let healthy = session.is_authorized() && started.elapsed() >= HEALTHY_AFTER;
        match result {
            Ok(End::Shutdown) => return Ok(()),
            Ok(End::Left(better)) => {
                index = better;
                backoff = config.backoff_initial;
                tracing::info!("failing back to {}", config.urls[index]);
                let unanswered = session.unanswered_shares();
                if unanswered + unsent > 0 {
                    tracing::info!(
                        "left {url} with {unanswered} share(s) sent but not answered and \
                         {unsent} found but not sent: they are lost"
                    );
                }
                continue;
            }
            Ok(End::Reconnect { url, wait }) => {
                redirect = Some(url);
                if !pause(wait, shutdown).await {
                    return Ok(());
                }
                continue;
            }
            Err(ConnectionError::Session(e @ SessionError::AuthRefused { .. })) => {
                tracing::error!("{url}: {e}");
                refused[index] = Some(format!("{url}: {e}"));
                if refused.iter().all(Option::is_some) {
                    let reasons: Vec<String> = refused.into_iter().flatten().collect();
                    return Err(MinerError::LoginRefused(reasons.join("; ")));
                }
            }
            Err(e) => tracing::warn!("{url}: {e}"),
        }
        if healthy {
            backoff = config.backoff_initial;
            refused.fill(None);
            tracing::info!("reconnecting to {url}");
            if !pause(Duration::from_secs(1), shutdown).await {
                return Ok(());
            }
            continue;
        }
        index = (index + 1) % pools;
        if index == 0 {
            tracing::info!(
                "every pool failed; trying again in {} s",
                backoff.as_secs_f32()
            );
            if !pause(backoff, shutdown).await {
                return Ok(());
            }
            backoff = (backoff * 2).min(config.backoff_max);
        } else {
            tracing::info!("failing over to {}", config.urls[index]);
        }
    }
}
