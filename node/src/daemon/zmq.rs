//! A ZMQ subscriber for the daemon's `hashblock` announcements, in plain Rust over a TCP socket.
//!
//! bitcoind and litecoind started with `-zmqpubhashblock=tcp://ADDR:PORT` publish every new tip
//! as a three-part message: the topic `hashblock`, the 32-byte block hash (in the byte order RPC
//! shows) and a four-byte little-endian sequence number. Only that much of ZeroMQ is needed, so
//! instead of binding libzmq this module speaks ZMTP 3.0 with the NULL mechanism itself (the
//! codec is [`super::zmtp`]), subscribes to `hashblock`, and hands each announcement over a
//! bounded channel. The task reconnects with back-off whatever goes wrong and never gives up;
//! what it is doing is readable from a `watch` for the node's status.

use super::zmtp::{self, Command, Frame, Multipart, ZmtpError, GREETING_LEN, SIGNATURE_LEN};
use otedama_proto::hash::BlockHash;
use std::fmt;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

/// The topic subscribed to.
const TOPIC: &[u8] = b"hashblock";
/// The longest a connection and its handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The first pause before reconnecting; it doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Announcements waiting for the template source. More than a few queued means the source is
/// already fetching; later ones are dropped rather than blocking the socket.
const QUEUE: usize = 16;

/// One `hashblock` announcement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashBlock {
    /// The new tip.
    pub hash: BlockHash,
    /// The publisher's sequence number for this topic; a gap means announcements were missed.
    pub sequence: u32,
}

/// What the subscriber is doing, for `/api/v1/status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZmqState {
    /// Connecting or handshaking.
    Connecting,
    /// Subscribed and listening.
    Connected,
    /// The last attempt failed, or the connection broke, for this reason; retrying.
    Failed(String),
}

impl fmt::Display for ZmqState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZmqState::Connecting => f.write_str("connecting"),
            ZmqState::Connected => f.write_str("connected"),
            ZmqState::Failed(e) => write!(f, "error: {e}"),
        }
    }
}

/// Why a connection to the publisher ended.
#[derive(Debug, thiserror::Error)]
pub enum ZmqError {
    /// The socket failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The publisher sent something that is not ZMTP as a publisher speaks it.
    #[error(transparent)]
    Protocol(#[from] ZmtpError),
    /// The publisher refused us with a ZMTP ERROR command.
    #[error("the publisher refused the connection: {0}")]
    Refused(String),
    /// The peer's READY names a socket type that does not publish.
    #[error("the peer is a {0} socket, not a publisher (PUB or XPUB)")]
    NotPublisher(String),
    /// The handshake did not follow the protocol's order.
    #[error("expected the publisher's READY, got {0}")]
    Unexpected(String),
    /// The publisher closed the connection.
    #[error("the publisher closed the connection")]
    Closed,
    /// Connecting or the handshake took too long.
    #[error("no ZMQ handshake within {}s", HANDSHAKE_TIMEOUT.as_secs())]
    Timeout,
}

/// The receiving ends of a subscription.
#[derive(Debug)]
pub struct Subscription {
    /// Announcements, in the order published.
    pub blocks: mpsc::Receiver<HashBlock>,
    /// The connection's state.
    pub state: watch::Receiver<ZmqState>,
}

/// Starts subscribing to `hashblock` at `address` (`HOST:PORT`); the task runs until `shutdown`
/// becomes `true` or the subscription is dropped.
pub fn spawn(address: String, mut shutdown: watch::Receiver<bool>) -> Subscription {
    let (blocks_tx, blocks) = mpsc::channel(QUEUE);
    let (state_tx, state) = watch::channel(ZmqState::Connecting);
    tokio::spawn(async move {
        tokio::select! {
            () = run(&address, &blocks_tx, &state_tx) => {}
            _ = shutdown.wait_for(|stop| *stop) => {}
        }
    });
    Subscription { blocks, state }
}

async fn run(address: &str, blocks: &mpsc::Sender<HashBlock>, state: &watch::Sender<ZmqState>) {
    let mut backoff = MIN_BACKOFF;
    loop {
        state.send_replace(ZmqState::Connecting);
        let mut subscribed = false;
        let err = session(address, blocks, state, &mut subscribed).await;
        if blocks.is_closed() {
            return;
        }
        if subscribed {
            backoff = MIN_BACKOFF;
        }
        let reason = err.to_string();
        // One warning per distinct failure, not one per retry while the publisher is down.
        let repeated = *state.borrow() == ZmqState::Failed(reason.clone());
        if repeated {
            debug!(address, error = %reason, "ZMQ publisher still unreachable");
        } else {
            warn!(address, error = %reason, "ZMQ subscription lost; reconnecting (long-poll and the tip poll still find new blocks)");
        }
        state.send_replace(ZmqState::Failed(reason));
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One connection: connect, handshake, then forward announcements until something fails.
async fn session(
    address: &str,
    blocks: &mpsc::Sender<HashBlock>,
    state: &watch::Sender<ZmqState>,
    subscribed: &mut bool,
) -> ZmqError {
    let connect = async {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        Subscriber::handshake(stream).await
    };
    let mut subscriber = match tokio::time::timeout(HANDSHAKE_TIMEOUT, connect).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return e,
        Err(_) => return ZmqError::Timeout,
    };
    *subscribed = true;
    info!(
        address,
        "subscribed to the daemon's ZMQ hashblock announcements"
    );
    state.send_replace(ZmqState::Connected);
    let mut last: Option<u32> = None;
    loop {
        let block = match subscriber.next_hashblock().await {
            Ok(b) => b,
            Err(e) => return e,
        };
        if let Some(l) = last.filter(|l| block.sequence != l.wrapping_add(1)) {
            info!(
                expected = l.wrapping_add(1),
                got = block.sequence,
                "gap in the ZMQ sequence: announcements were missed"
            );
        }
        last = Some(block.sequence);
        debug!(hash = %block.hash, sequence = block.sequence, "new block announced over ZMQ");
        match blocks.try_send(block) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                debug!("template source busy; ZMQ announcement dropped");
            }
            Err(mpsc::error::TrySendError::Closed(_)) => return ZmqError::Closed,
        }
    }
}

/// A subscribed connection to a publisher.
#[derive(Debug)]
pub struct Subscriber<S> {
    stream: S,
    /// Received bytes not yet decoded; never more than one frame plus one read.
    buf: Vec<u8>,
    parts: Multipart,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Subscriber<S> {
    /// Greets the publisher over `stream`, exchanges READY and subscribes to `hashblock`.
    pub async fn handshake(mut stream: S) -> Result<Self, ZmqError> {
        stream.write_all(&zmtp::greeting()).await?;
        let mut greeting = [0u8; GREETING_LEN];
        // The signature first, so that a service that is not ZMQ is named by what it sent.
        let got = read_some(&mut stream, &mut greeting[..SIGNATURE_LEN]).await?;
        zmtp::check_signature(&greeting[..got])?;
        stream
            .read_exact(&mut greeting[SIGNATURE_LEN..])
            .await
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::UnexpectedEof => ZmqError::Closed,
                _ => ZmqError::Io(e),
            })?;
        zmtp::check_greeting(&greeting)?;
        stream.write_all(&zmtp::ready("SUB")).await?;
        let mut subscriber = Subscriber {
            stream,
            buf: Vec::new(),
            parts: Multipart::default(),
        };
        match subscriber.next_frame().await? {
            Frame::Command(Command::Ready(props)) => {
                let socket_type = props
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case("Socket-Type"))
                    .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
                    .unwrap_or_else(|| "untyped".into());
                if socket_type != "PUB" && socket_type != "XPUB" {
                    return Err(ZmqError::NotPublisher(socket_type));
                }
            }
            Frame::Command(Command::Error(reason)) => return Err(ZmqError::Refused(reason)),
            Frame::Command(Command::Other(name)) => {
                return Err(ZmqError::Unexpected(format!("the {name} command")))
            }
            Frame::Command(Command::Ping { .. }) => {
                return Err(ZmqError::Unexpected("a PING".into()))
            }
            Frame::Message { .. } => return Err(ZmqError::Unexpected("a message".into())),
        }
        subscriber.stream.write_all(&zmtp::subscribe(TOPIC)).await?;
        Ok(subscriber)
    }

    /// The next `hashblock` announcement. Messages of other topics and malformed announcements
    /// are skipped (the framing around them was sound); protocol errors end the connection.
    pub async fn next_hashblock(&mut self) -> Result<HashBlock, ZmqError> {
        loop {
            match self.next_frame().await? {
                Frame::Message { body, more } => {
                    let Some(parts) = self.parts.push(body, more)? else {
                        continue;
                    };
                    match parse_hashblock(&parts) {
                        Ok(Some(block)) => return Ok(block),
                        Ok(None) => debug!("ZMQ message of another topic ignored"),
                        Err(why) => warn!(error = why, "malformed ZMQ hashblock ignored"),
                    }
                }
                Frame::Command(Command::Ping { context }) => {
                    self.stream.write_all(&zmtp::pong(&context)).await?;
                }
                Frame::Command(Command::Error(reason)) => return Err(ZmqError::Refused(reason)),
                Frame::Command(other) => debug!(command = ?other, "ZMQ command ignored"),
            }
        }
    }

    async fn next_frame(&mut self) -> Result<Frame, ZmqError> {
        loop {
            if let Some((frame, used)) = zmtp::decode_frame(&self.buf)? {
                self.buf.drain(..used);
                return Ok(frame);
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(ZmqError::Closed);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// Fills `buf` unless the peer closes first; returns how much arrived (at least one byte).
async fn read_some<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut [u8],
) -> Result<usize, ZmqError> {
    let mut got = 0;
    while got < buf.len() {
        match stream.read(&mut buf[got..]).await? {
            0 if got == 0 => return Err(ZmqError::Closed),
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
}

/// A `hashblock` message's block: `Ok(None)` for another topic, `Err` for a malformed one.
pub fn parse_hashblock(parts: &[Vec<u8>]) -> Result<Option<HashBlock>, String> {
    if parts.first().map(Vec::as_slice) != Some(TOPIC) {
        return Ok(None);
    }
    let [_, hash, sequence] = parts else {
        return Err(format!(
            "{} parts, expected 3 (topic, hash, sequence)",
            parts.len()
        ));
    };
    let mut hash: [u8; 32] = hash
        .as_slice()
        .try_into()
        .map_err(|_| format!("a {}-byte hash, expected 32", hash.len()))?;
    let sequence: [u8; 4] = sequence
        .as_slice()
        .try_into()
        .map_err(|_| format!("a {}-byte sequence number, expected 4", sequence.len()))?;
    // Published in the order RPC shows; kept in internal order.
    hash.reverse();
    Ok(Some(HashBlock {
        hash: BlockHash::from_byte_array(hash),
        sequence: u32::from_le_bytes(sequence),
    }))
}

#[cfg(test)]
#[path = "zmq_tests.rs"]
mod tests;
