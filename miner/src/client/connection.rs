//! One TCP connection to a pool: connect, send the handshake, then one loop that reads the
//! pool's lines, submits the threads' shares and watches for shutdown and for the caller's
//! wish to leave (failback), until the connection ends.
//!
//! The protocol decisions are the [`Session`]'s; this file only moves bytes, posts work on the
//! board and counts results.

use std::future::Future;
use std::io;
use std::time::Duration;

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep_until, timeout, Instant};

use super::codec::{LineError, LineReader, MAX_LINE};
use super::session::{Event, Session, SessionError};
use super::tally::ShareTally;
use super::url::PoolUrl;
use crate::mining::{format_hashrate, Share, WorkBoard};

/// How long a TCP connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a write may block (a pool that stops reading).
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Silence after which the connection is presumed dead (pools send a job at least every minute
/// or two).
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// Why a connection ended without an error; `L` is what the caller's `leave` future gave.
#[derive(Debug, PartialEq, Eq)]
pub enum End<L> {
    /// Shutdown was asked for.
    Shutdown,
    /// The pool asked the miner to reconnect (`client.reconnect`).
    Reconnect {
        /// Where to.
        url: PoolUrl,
        /// After how long.
        wait: Duration,
    },
    /// The caller's `leave` future completed (a preferred pool is back); the connection was
    /// left between two messages, never in the middle of one.
    Left(L),
}

/// Why a connection failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// The TCP connection could not be made.
    #[error("cannot connect: {0}")]
    Connect(io::Error),
    /// Writing failed or timed out.
    #[error("cannot write to the pool: {0}")]
    Write(io::Error),
    /// Reading failed, or a line broke the framing.
    #[error(transparent)]
    Read(#[from] LineError),
    /// The pool closed the connection.
    #[error("the pool closed the connection")]
    Closed,
    /// Nothing came from the pool for too long.
    #[error("no message from the pool for {} s", IDLE_TIMEOUT.as_secs())]
    Idle,
    /// The session ended it (refused login, undecodable job, …).
    #[error(transparent)]
    Session(#[from] SessionError),
}

/// What a connection needs besides its session.
#[derive(Debug)]
pub struct Links<'a> {
    /// Where work is posted.
    pub board: &'a WorkBoard,
    /// Where results are counted.
    pub tally: &'a ShareTally,
    /// Shares from the hashing threads.
    pub shares: &'a mut mpsc::Receiver<Share>,
    /// Becomes true when the miner should stop.
    pub shutdown: &'a mut watch::Receiver<bool>,
}

async fn write_line(writer: &mut OwnedWriteHalf, line: &str) -> Result<(), ConnectionError> {
    tracing::trace!("→ {line}");
    let mut bytes = Vec::with_capacity(line.len() + 1);
    bytes.extend_from_slice(line.as_bytes());
    bytes.push(b'\n');
    match timeout(WRITE_TIMEOUT, writer.write_all(&bytes)).await {
        Ok(result) => result.map_err(ConnectionError::Write),
        Err(_) => Err(ConnectionError::Write(io::ErrorKind::TimedOut.into())),
    }
}

/// Runs one connection to `url` with `session` until it ends; it ends with [`End::Left`] as
/// soon as `leave` completes (`std::future::pending()` to stay).
pub async fn run<L>(
    url: &PoolUrl,
    session: &mut Session,
    links: Links<'_>,
    leave: impl Future<Output = L>,
) -> Result<End<L>, ConnectionError> {
    let Links {
        board,
        tally,
        shares,
        shutdown,
    } = links;
    tokio::pin!(leave);
    let stream = tokio::select! {
        connected = timeout(CONNECT_TIMEOUT, TcpStream::connect(url.authority())) => match connected {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Err(ConnectionError::Connect(e)),
            Err(_) => return Err(ConnectionError::Connect(io::ErrorKind::TimedOut.into())),
        },
        _ = shutdown.wait_for(|stop| *stop) => return Ok(End::Shutdown),
        to = &mut leave => return Ok(End::Left(to)),
    };
    // Shares are small and time-critical.
    let _ = stream.set_nodelay(true);
    tracing::info!("connected to {url}");
    let (reader, mut writer) = stream.into_split();
    let mut lines = LineReader::new(BufReader::new(reader), MAX_LINE);
    for line in session.start() {
        write_line(&mut writer, &line).await?;
    }
    let mut last_heard = Instant::now();
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return Ok(End::Shutdown),
            to = &mut leave => return Ok(End::Left(to)),
            _ = sleep_until(last_heard + IDLE_TIMEOUT) => return Err(ConnectionError::Idle),
            line = lines.next_line() => {
                let Some(line) = line? else {
                    return Err(ConnectionError::Closed);
                };
                last_heard = Instant::now();
                tracing::trace!("← {line}");
                if line.trim().is_empty() {
                    continue;
                }
                for event in session.handle_line(&line)? {
                    if let Some(end) = act(event, url, session, board, tally, &mut writer).await? {
                        return Ok(end);
                    }
                }
            }
            Some(share) = shares.recv() => match session.submit(&share) {
                Some(line) => write_line(&mut writer, &line).await?,
                None => {
                    tally.stale_dropped();
                    tracing::debug!(job = %share.job_id, "share of a replaced job not sent");
                }
            },
        }
    }
}

/// Carries out one event of the session; returns how the connection ends, if it does.
async fn act<L>(
    event: Event,
    url: &PoolUrl,
    session: &Session,
    board: &WorkBoard,
    tally: &ShareTally,
    writer: &mut OwnedWriteHalf,
) -> Result<Option<End<L>>, ConnectionError> {
    match event {
        Event::Send(line) => write_line(writer, &line).await?,
        Event::Work(work) => {
            tracing::info!(
                job = %work.job.id,
                clean = work.job.clean,
                difficulty = work.difficulty,
                "mining"
            );
            board.post(Some(work));
        }
        Event::Authorized => tracing::info!("{url} accepted the login"),
        Event::Accepted { job_id, difficulty } => {
            let counts = tally.accepted();
            tracing::info!(
                job = %job_id,
                "share accepted (difficulty {}, pool {}): {counts}",
                significant(difficulty),
                significant(session.difficulty())
            );
        }
        Event::Rejected { job_id, error } => {
            let counts = tally.rejected(error.reason());
            tracing::warn!(job = %job_id, "share rejected: {error}: {counts}");
        }
        Event::Reconnect { host, port, wait } => {
            let to = PoolUrl {
                host: host.unwrap_or_else(|| url.host.clone()),
                port: port.unwrap_or(url.port),
            };
            tracing::info!(
                "the pool asked to reconnect to {to} in {} s",
                wait.as_secs()
            );
            return Ok(Some(End::Reconnect { url: to, wait }));
        }
    }
    Ok(None)
}

/// A difficulty with four significant digits: `0.0001234`, `12.35`, `1048576`.
fn significant(d: f64) -> String {
    if !d.is_finite() || d <= 0.0 || d >= 1000.0 {
        return format!("{d:.0}");
    }
    let decimals = (3 - d.log10().floor() as i32).clamp(0, 15) as usize;
    format!("{d:.decimals$}")
}

/// Logs the threads' rates (used by the periodic report).
pub fn log_rates(rates: &crate::mining::Rates, tally: &ShareTally) {
    tracing::info!(
        "hashrate {} (per thread: {}); shares: {}",
        format_hashrate(rates.total),
        rates
            .per_thread
            .iter()
            .map(|&r| format_hashrate(r))
            .collect::<Vec<_>>()
            .join(", "),
        tally.counts()
    );
}

#[cfg(test)]
mod tests {
    use super::significant;

    #[test]
    fn difficulties_keep_four_significant_digits() {
        assert_eq!(significant(0.000_123_456), "0.0001235");
        assert_eq!(significant(12.3456), "12.35");
        assert_eq!(significant(1.0), "1.000");
        assert_eq!(significant(1_048_576.0), "1048576");
    }
}
