//! Failing back: while the miner mines on a pool other than its first, it checks now and then
//! whether a pool it prefers (one before the current one in the `--url` order) is back.
//!
//! A check is a real login, not a TCP connect: a pool that accepts connections but does not
//! serve miners (still starting, its daemon down, a login it no longer accepts) is not back. A
//! probe connects, sends `mining.subscribe` and `mining.authorize` with the miner's login, and
//! counts the pool as back only when it answers the subscription with an extranonce and accepts
//! the login, all within [`PROBE_TIMEOUT`]; then it closes the connection. Probes run one at a
//! time, best pool first, so a round holds at most one socket and one line buffer of
//! [`MAX_LINE`] bytes. A pool that fails is probed again next round, as if for the first time.
//!
//! The protocol decisions are the [`Session`]'s, the same as for a real connection, so a pool
//! is back exactly when a real connection's handshake would have succeeded.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::codec::{LineError, LineReader, MAX_LINE};
use super::session::{Session, SessionConfig, SessionError};
use super::url::PoolUrl;

/// How long one probe may take, from connecting to the accepted login.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a pool is not back.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The TCP connection could not be made.
    #[error("cannot connect: {0}")]
    Connect(io::Error),
    /// The handshake could not be written.
    #[error("cannot write to the pool: {0}")]
    Write(io::Error),
    /// Reading failed, or a line broke the framing.
    #[error(transparent)]
    Read(#[from] LineError),
    /// The pool closed the connection before it accepted the login.
    #[error("the pool closed the connection before accepting the login")]
    Closed,
    /// The pool did not answer subscribe and authorize in time.
    #[error("no answer to mining.subscribe and mining.authorize within {} s", .0.as_secs_f32())]
    Timeout(Duration),
    /// The pool refused the subscription or the login, or sent something undecodable.
    #[error(transparent)]
    Session(#[from] SessionError),
}

/// The login of `config` without the optional requests: a probe sends `mining.subscribe` and
/// `mining.authorize` only.
fn probe_config(config: &SessionConfig) -> SessionConfig {
    SessionConfig {
        suggest_difficulty: None,
        extranonce_subscribe: false,
        version_rolling: false,
        ..config.clone()
    }
}

/// Checks whether `url` serves miners: `Ok` when it answered `mining.subscribe` and accepted
/// the login of `config` within `limit`. The connection is closed either way.
pub async fn probe(
    url: &PoolUrl,
    config: &SessionConfig,
    limit: Duration,
) -> Result<(), ProbeError> {
    match timeout(limit, handshake(url, probe_config(config))).await {
        Ok(result) => result,
        Err(_) => Err(ProbeError::Timeout(limit)),
    }
}

/// Connects and runs the handshake until the pool has answered both requests; the stream is
/// dropped (closed) on return.
async fn handshake(url: &PoolUrl, config: SessionConfig) -> Result<(), ProbeError> {
    let stream = TcpStream::connect(url.authority())
        .await
        .map_err(ProbeError::Connect)?;
    let _ = stream.set_nodelay(true);
    let (reader, mut writer) = stream.into_split();
    // Epoch 0: no real connection has it, and a probe never posts work or submits anyway.
    let mut session = Session::new(config, 0);
    let mut bytes = Vec::new();
    for line in session.start() {
        tracing::trace!("probe {url} → {line}");
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
    }
    writer.write_all(&bytes).await.map_err(ProbeError::Write)?;
    let mut lines = LineReader::new(BufReader::new(reader), MAX_LINE);
    while !(session.is_subscribed() && session.is_authorized()) {
        let line = lines.next_line().await?.ok_or(ProbeError::Closed)?;
        tracing::trace!("probe {url} ← {line}");
        if line.trim().is_empty() {
            continue;
        }
        // Jobs and requests from the pool are of no use to a probe: only the answers count.
        session.handle_line(&line)?;
    }
    Ok(())
}

/// Probes `better` (the pools preferred to the current one, best first) every `every`, one
/// probe at a time, and returns the index of the first that is back. The wait is counted from
/// the end of a round, so rounds never overlap; it never returns if none comes back.
pub async fn first_back(better: &[PoolUrl], config: &SessionConfig, every: Duration) -> usize {
    loop {
        tokio::time::sleep(every).await;
        for (i, url) in better.iter().enumerate() {
            match probe(url, config, PROBE_TIMEOUT).await {
                Ok(()) => return i,
                Err(e) => tracing::debug!("failback probe of {url}: not back: {e}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otedama_proto::chain::PowAlgo;
    use serde_json::{json, Value};
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    fn config() -> SessionConfig {
        SessionConfig {
            user: "addr.w1".into(),
            password: "p".into(),
            algo: PowAlgo::Sha256d,
            user_agent: "otedama-miner/test".into(),
            suggest_difficulty: Some(2.0),
            extranonce_subscribe: true,
            version_rolling: true,
        }
    }

    fn url_of(listener: &TcpListener) -> PoolUrl {
        PoolUrl {
            host: "127.0.0.1".into(),
            port: listener.local_addr().expect("bound").port(),
        }
    }

    /// A one-connection pool that answers each request with `answer(method)` (no line for
    /// `None`) and returns the requests it got once the probe closes the connection.
    async fn answering_pool(
        listener: TcpListener,
        answer: impl Fn(&str) -> Option<Value>,
    ) -> Vec<Value> {
        let (stream, _) = listener.accept().await.expect("the probe connects");
        let (reader, mut writer) = stream.into_split();
        let mut lines = BufReader::new(reader).lines();
        let mut seen = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            let request: Value = serde_json::from_str(&line).expect("JSON");
            if let Some(mut reply) = answer(request["method"].as_str().expect("a method")) {
                reply["id"] = request["id"].clone();
                let _ = writer.write_all(format!("{reply}\n").as_bytes()).await;
            }
            seen.push(request);
        }
        seen
    }

    fn subscribed() -> Value {
        json!({"result": [[["mining.notify", "1"]], "0a0b0c0d", 4], "error": null})
    }

    #[tokio::test]
    async fn a_pool_that_accepts_the_login_is_back_and_the_probe_closes() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let url = url_of(&listener);
        let served = tokio::spawn(answering_pool(listener, |method| match method {
            "mining.subscribe" => Some(subscribed()),
            "mining.authorize" => Some(json!({"result": true, "error": null})),
            _ => None,
        }));
        probe(&url, &config(), Duration::from_secs(10))
            .await
            .expect("the pool is back");
        // The pool's task ends only when the probe has closed the connection.
        let seen = tokio::time::timeout(Duration::from_secs(10), served)
            .await
            .expect("the probe closed its connection")
            .expect("the pool ran");
        let methods: Vec<&str> = seen
            .iter()
            .map(|r| r["method"].as_str().expect("method"))
            .collect();
        assert_eq!(methods, ["mining.subscribe", "mining.authorize"]);
        assert_eq!(seen[1]["params"], json!(["addr.w1", "p"]));
    }

    #[tokio::test]
    async fn silence_a_refused_login_and_a_closed_port_are_not_back() {
        let silent = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let url = url_of(&silent);
        let served = tokio::spawn(answering_pool(silent, |_| None));
        let e = probe(&url, &config(), Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(matches!(e, ProbeError::Timeout(_)), "{e}");
        tokio::time::timeout(Duration::from_secs(10), served)
            .await
            .expect("a timed-out probe closes its connection")
            .expect("the pool ran");

        let refusing = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let url = url_of(&refusing);
        tokio::spawn(answering_pool(refusing, |method| match method {
            "mining.subscribe" => Some(subscribed()),
            _ => Some(json!({"result": null, "error": [24, "unauthorized worker", null]})),
        }));
        let e = probe(&url, &config(), Duration::from_secs(10))
            .await
            .unwrap_err();
        assert!(
            matches!(e, ProbeError::Session(SessionError::AuthRefused { .. })),
            "{e}"
        );

        // Subscribed but then dropped: not back either.
        let closing = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let url = url_of(&closing);
        tokio::spawn(async move {
            let (stream, _) = closing.accept().await.expect("the probe connects");
            let (reader, mut writer) = stream.into_split();
            let mut lines = BufReader::new(reader).lines();
            let subscribe = lines.next_line().await.expect("read").expect("a line");
            let subscribe: Value = serde_json::from_str(&subscribe).expect("JSON");
            // Both requests are read, so that closing sends a plain FIN, not a reset.
            lines.next_line().await.expect("read").expect("a line");
            let mut reply = subscribed();
            reply["id"] = subscribe["id"].clone();
            let _ = writer.write_all(format!("{reply}\n").as_bytes()).await;
        });
        let e = probe(&url, &config(), Duration::from_secs(10))
            .await
            .unwrap_err();
        assert!(matches!(e, ProbeError::Closed), "{e}");

        let closed = {
            let gone = TcpListener::bind("127.0.0.1:0").await.expect("a port");
            url_of(&gone)
        };
        let e = probe(&closed, &config(), Duration::from_secs(10))
            .await
            .unwrap_err();
        assert!(matches!(e, ProbeError::Connect(_)), "{e}");
    }

    #[tokio::test]
    async fn the_first_pool_back_in_order_of_preference_wins() {
        let closed = {
            let gone = TcpListener::bind("127.0.0.1:0").await.expect("a port");
            url_of(&gone)
        };
        let up = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let up_url = url_of(&up);
        tokio::spawn(answering_pool(up, |method| match method {
            "mining.subscribe" => Some(subscribed()),
            "mining.authorize" => Some(json!({"result": true, "error": null})),
            _ => None,
        }));
        let better = [closed, up_url];
        let back = tokio::time::timeout(
            Duration::from_secs(20),
            first_back(&better, &config(), Duration::from_millis(50)),
        )
        .await
        .expect("the second pool answers");
        assert_eq!(back, 1);
    }
}
