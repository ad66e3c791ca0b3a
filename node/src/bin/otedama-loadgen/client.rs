//! The miners of the load generator: idle ones that time each `mining.notify`, and submitters
//! that send pre-mined valid shares as fast as the server answers.

use std::net::SocketAddr;
use std::time::Instant;

use anyhow::{bail, Context as _};
use otedama_node::stratum::testkit::{stratum_target, MinerJob};
use otedama_proto::chain::PowAlgo;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::serve::LOAD_DIFFICULTY;

/// A Bitcoin regtest payout address for the load.
const USER: &str = "bcrt1qdavt4j2sd7dlhqsavtnfxvzppw6k7qy97tmnu9";

/// A connection after its handshake.
pub struct Connected {
    reader: BufReader<OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
    line: String,
    /// The connection's extranonce1.
    pub extranonce1: Vec<u8>,
    /// The job it got.
    pub job: MinerJob,
}

/// Connects, subscribes and authorizes (fixed low difficulty) in one write, and reads up to
/// the first job.
pub async fn connect(addr: SocketAddr, worker: usize) -> anyhow::Result<Connected> {
    let stream = TcpStream::connect(addr).await.context("connect")?;
    stream.set_nodelay(true)?;
    let (read, mut writer) = stream.into_split();
    let hello = format!(
        "{{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"loadgen\"]}}\n\
         {{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"{USER}.w{worker}\",\"d={LOAD_DIFFICULTY}\"]}}\n"
    );
    writer.write_all(hello.as_bytes()).await?;
    let mut reader = BufReader::with_capacity(2048, read);
    let mut line = String::new();
    let mut extranonce1 = None;
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            bail!("server closed during the handshake");
        }
        let message: Value = serde_json::from_str(&line)?;
        if !message["error"].is_null() {
            bail!("handshake error: {message}");
        }
        if message["id"] == 1 {
            let text = message["result"][1].as_str().context("subscribe reply")?;
            extranonce1 = Some(hex::decode(text)?);
        }
        if message["method"] == "mining.notify" {
            let job = MinerJob::from_notify(&message["params"])?;
            let extranonce1 = extranonce1.context("notify before the subscribe reply")?;
            return Ok(Connected {
                reader,
                writer,
                line,
                extranonce1,
                job,
            });
        }
    }
}

/// An idle miner: after its handshake it sends the arrival time of every `mining.notify`.
pub async fn idle(
    addr: SocketAddr,
    worker: usize,
    ready: mpsc::Sender<anyhow::Result<()>>,
    arrivals: mpsc::Sender<Instant>,
) {
    let mut conn = match connect(addr, worker).await {
        Ok(conn) => conn,
        Err(e) => {
            let _ = ready.send(Err(e)).await;
            return;
        }
    };
    let _ = ready.send(Ok(())).await;
    drop(ready);
    let mut line = Vec::with_capacity(2048);
    loop {
        line.clear();
        match conn.reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) if is_notify(&line) => {
                if arrivals.send(Instant::now()).await.is_err() {
                    return;
                }
            }
            Ok(_) => {}
        }
    }
}

/// Whether a server line is a `mining.notify` (the method comes first in the server's lines).
fn is_notify(line: &[u8]) -> bool {
    const METHOD: &[u8] = b"\"mining.notify\"";
    line[..line.len().min(64)]
        .windows(METHOD.len())
        .any(|w| w == METHOD)
}

/// `count` valid shares of this connection's job: (extranonce2, nonce) pairs.
pub fn premine(conn: &Connected, count: usize) -> Vec<(u32, u32)> {
    let target = stratum_target(PowAlgo::Sha256d, LOAD_DIFFICULTY);
    let mut shares = Vec::with_capacity(count);
    let mut en2 = 0u32;
    while shares.len() < count {
        let mut start = 0u32;
        while shares.len() < count && start < u32::MAX {
            let found = conn.job.search(
                PowAlgo::Sha256d,
                &conn.extranonce1,
                &en2.to_be_bytes(),
                conn.job.ntime,
                conn.job.version,
                &target,
                start..start.saturating_add(1_000_000),
            );
            match found {
                Some((nonce, _)) => {
                    shares.push((en2, nonce));
                    start = nonce + 1;
                }
                None => start = start.saturating_add(1_000_000),
            }
        }
        en2 += 1;
    }
    shares
}

/// What a submitter saw.
#[derive(Debug, Default, Clone, Copy)]
pub struct Submitted {
    /// Valid shares accepted.
    pub accepted: u64,
    /// Deliberate duplicates rejected with error 22.
    pub duplicates: u64,
    /// Anything else rejected (should be zero).
    pub rejected: u64,
}

/// Submits `shares` in batches of `batch` (a write of `batch` lines plus one deliberate duplicate,
/// then their replies) until they run out or `deadline` passes.
pub async fn submit(
    mut conn: Connected,
    worker: usize,
    shares: Vec<(u32, u32)>,
    batch: usize,
    deadline: Instant,
) -> anyhow::Result<Submitted> {
    let mut seen = Submitted::default();
    let mut text = String::with_capacity(batch * 200);
    let mut id = 10u64;
    for chunk in shares.chunks(batch.max(1)) {
        if Instant::now() >= deadline {
            break;
        }
        text.clear();
        for (i, (en2, nonce)) in chunk.iter().enumerate() {
            // The last share of each batch is sent twice: the second must be a duplicate (22).
            for _ in 0..1 + usize::from(i + 1 == chunk.len()) {
                id += 1;
                text.push_str(&format!(
                "{{\"id\":{id},\"method\":\"mining.submit\",\"params\":[\"{USER}.w{worker}\",\"{}\",\"{en2:08x}\",\"{:08x}\",\"{nonce:08x}\"]}}\n",
                    conn.job.job_id, conn.job.ntime
                ));
            }
        }
        conn.writer.write_all(text.as_bytes()).await?;
        let mut replies = 0;
        while replies < chunk.len() + 1 {
            conn.line.clear();
            if conn.reader.read_line(&mut conn.line).await? == 0 {
                bail!("server closed while submitting");
            }
            if conn.line.contains("\"method\"") {
                continue;
            }
            replies += 1;
            if conn.line.contains("\"result\":true") {
                seen.accepted += 1;
            } else if conn.line.contains("[22,") {
                seen.duplicates += 1;
            } else {
                seen.rejected += 1;
            }
        }
    }
    Ok(seen)
}
