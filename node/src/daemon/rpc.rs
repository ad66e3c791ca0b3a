//! A JSON-RPC 1.0 client for the coin daemon (`litecoind`, `bitcoind`).
//!
//! Errors say which of the usual things went wrong — nothing listening, wrong credentials, the
//! daemon still starting, an RPC error with its code — so that the node can log something useful
//! and decide whether to retry.

use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

/// The largest RPC response accepted. A mainnet block template with a full mempool is a few
/// megabytes of hex; this leaves ample headroom while bounding memory on a hostile endpoint.
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// How the client proves itself to the daemon.
#[derive(Clone, Debug)]
pub enum Auth {
    /// `-rpcuser` / `-rpcpassword` on the daemon side.
    UserPass {
        /// The RPC user name.
        user: String,
        /// The RPC password.
        password: String,
    },
    /// The `.cookie` file the daemon writes at start. It is read again for every call, because the
    /// daemon writes a new one each time it restarts.
    Cookie(PathBuf),
}

/// What went wrong with a call.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// Nothing answered: the daemon is not running, not reachable, or the call timed out.
    #[error("daemon at {url} is unreachable: {source}")]
    Unreachable {
        /// The daemon URL.
        url: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The daemon refused the credentials (HTTP 401).
    #[error("daemon at {url} refused the RPC credentials (check the daemon user/password or cookie file)")]
    Unauthorized {
        /// The daemon URL.
        url: String,
    },
    /// The cookie file could not be read.
    #[error("cannot read the daemon cookie file {path}: {source}")]
    Cookie {
        /// The cookie path.
        path: PathBuf,
        /// Why it could not be read.
        #[source]
        source: std::io::Error,
    },
    /// The daemon answered the call with an error object.
    #[error("daemon RPC `{method}` failed with code {code}: {message}")]
    Rpc {
        /// The method called.
        method: String,
        /// The daemon's error code (e.g. -28 while warming up, -10 in initial download).
        code: i64,
        /// The daemon's message.
        message: String,
    },
    /// The answer was not the JSON expected.
    #[error("daemon RPC `{method}` returned an unexpected answer: {detail}")]
    BadResponse {
        /// The method called.
        method: String,
        /// What was wrong with it.
        detail: String,
    },
}

impl RpcError {
    /// True when the daemon is up but not ready yet (warming up or in initial block download), so
    /// the call is worth repeating soon.
    pub fn is_warming_up(&self) -> bool {
        matches!(
            self,
            RpcError::Rpc {
                code: -28 | -10 | -9,
                ..
            }
        )
    }
}

/// A JSON-RPC client bound to one daemon URL.
#[derive(Clone, Debug)]
pub struct RpcClient {
    url: String,
    auth: Auth,
    http: reqwest::Client,
    timeout: Duration,
}

impl RpcClient {
    /// A client for the daemon at `url` (`http://host:port`), with a per-call timeout.
    pub fn new(url: impl Into<String>, auth: Auth, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            // Below litecoind's and bitcoind's default `-rpcservertimeout` (30 s), so that a
            // connection is rarely reused just as the daemon closes it.
            .pool_idle_timeout(Duration::from_secs(15))
            .build()
            .expect("a client with no TLS and default settings always builds");
        RpcClient {
            url: url.into(),
            auth,
            http,
            timeout,
        }
    }

    /// The daemon URL this client calls.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Calls `method` with positional or named `params` and decodes the result.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Value,
    ) -> Result<T, RpcError> {
        self.call_with_timeout(method, params, self.timeout).await
    }

    /// Like [`RpcClient::call`] with its own timeout, for long-polls that wait for a new block.
    pub async fn call_with_timeout<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<T, RpcError> {
        let (user, password) = self.credentials()?;
        let body = json!({"jsonrpc": "1.0", "id": "otedama", "method": method, "params": params});
        let unreachable = |source| RpcError::Unreachable {
            url: self.url.clone(),
            source,
        };
        let send = || {
            self.http
                .post(&self.url)
                .basic_auth(&user, Some(&password))
                .timeout(timeout)
                .json(&body)
                .send()
        };
        // A kept-alive connection the daemon closes as it is reused (litecoind drops one idle
        // for `-rpcservertimeout`, 30 s) fails the call without an answer; it is tried once more
        // on a new connection. Every call the node makes can be repeated safely (a block
        // submitted twice is answered `duplicate`). A timeout or a refused connection is not
        // tried again: the daemon is slow or down, and failover decides.
        let response = match send().await {
            Ok(r) => r,
            Err(e) if !e.is_timeout() && !e.is_connect() => send().await.map_err(unreachable)?,
            Err(e) => return Err(unreachable(e)),
        };
        if response.status() == reqwest::StatusCode::UNAUTHORIZED {
            return Err(RpcError::Unauthorized {
                url: self.url.clone(),
            });
        }
        if let Some(len) = response.content_length() {
            if len > MAX_RESPONSE_BYTES as u64 {
                return Err(bad(
                    method,
                    format!("response of {len} bytes is over the limit"),
                ));
            }
        }
        let bytes = response.bytes().await.map_err(unreachable)?;
        if bytes.len() > MAX_RESPONSE_BYTES {
            return Err(bad(
                method,
                format!("response of {} bytes is over the limit", bytes.len()),
            ));
        }
        decode_reply(method, &bytes)
    }

    fn credentials(&self) -> Result<(String, String), RpcError> {
        match &self.auth {
            Auth::UserPass { user, password } => Ok((user.clone(), password.clone())),
            Auth::Cookie(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| RpcError::Cookie {
                    path: path.clone(),
                    source,
                })?;
                let (user, password) =
                    text.trim()
                        .split_once(':')
                        .ok_or_else(|| RpcError::Cookie {
                            path: path.clone(),
                            source: std::io::Error::new(
                                std::io::ErrorKind::InvalidData,
                                "expected `user:password`",
                            ),
                        })?;
                Ok((user.to_owned(), password.to_owned()))
            }
        }
    }
}

fn bad(method: &str, detail: String) -> RpcError {
    RpcError::BadResponse {
        method: method.to_owned(),
        detail,
    }
}

/// Decodes a JSON-RPC reply body: `{"result": …, "error": null | {"code", "message"}}`.
/// The daemon answers RPC errors with HTTP 500 and this same body, so the status is not consulted.
fn decode_reply<T: DeserializeOwned>(method: &str, body: &[u8]) -> Result<T, RpcError> {
    let reply: Value =
        serde_json::from_slice(body).map_err(|e| bad(method, format!("not JSON: {e}")))?;
    let error = reply.get("error").unwrap_or(&Value::Null);
    if !error.is_null() {
        return Err(RpcError::Rpc {
            method: method.to_owned(),
            code: error.get("code").and_then(Value::as_i64).unwrap_or(0),
            message: error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("no message")
                .to_owned(),
        });
    }
    let result = reply
        .get("result")
        .cloned()
        .ok_or_else(|| bad(method, "no `result` field".to_owned()))?;
    serde_json::from_value(result).map_err(|e| bad(method, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_result_and_error_replies() {
        let n: u64 =
            decode_reply("getblockcount", br#"{"result":42,"error":null,"id":"x"}"#).unwrap();
        assert_eq!(n, 42);
        let err = decode_reply::<u64>(
            "getblocktemplate",
            br#"{"result":null,"error":{"code":-10,"message":"in initial sync"},"id":"x"}"#,
        )
        .unwrap_err();
        assert!(matches!(err, RpcError::Rpc { code: -10, .. }));
        assert!(err.is_warming_up());
        assert!(err.to_string().contains("getblocktemplate"));
    }

    #[test]
    fn rejects_garbage_and_wrong_types() {
        assert!(matches!(
            decode_reply::<u64>("m", b"<html>"),
            Err(RpcError::BadResponse { .. })
        ));
        assert!(matches!(
            decode_reply::<u64>("m", br#"{"result":"text","error":null}"#),
            Err(RpcError::BadResponse { .. })
        ));
        assert!(matches!(
            decode_reply::<u64>("m", br#"{"error":null}"#),
            Err(RpcError::BadResponse { .. })
        ));
    }

    #[test]
    fn cookie_is_read_at_each_call() {
        let dir = std::env::temp_dir().join(format!("otedama-cookie-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(".cookie");
        let client = RpcClient::new(
            "http://127.0.0.1:1",
            Auth::Cookie(path.clone()),
            Duration::from_secs(1),
        );
        assert!(matches!(client.credentials(), Err(RpcError::Cookie { .. })));
        std::fs::write(&path, "__cookie__:abc\n").unwrap();
        assert_eq!(
            client.credentials().unwrap(),
            ("__cookie__".into(), "abc".into())
        );
        std::fs::write(&path, "__cookie__:def").unwrap();
        assert_eq!(client.credentials().unwrap().1, "def");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A daemon that closes the first connection after reading a request (as litecoind does to
    /// a keep-alive connection idle for `-rpcservertimeout`, 30 s, at the moment it is reused),
    /// then answers on the next.
    fn closing_then_answering_daemon() -> (std::net::SocketAddr, std::thread::JoinHandle<usize>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let mut connections = 0;
            for stream in listener.incoming() {
                let mut stream = stream.unwrap();
                connections += 1;
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                if connections == 1 {
                    continue; // dropped: closed without an answer
                }
                let body = r#"{"result":7,"error":null,"id":"otedama"}"#;
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                break;
            }
            connections
        });
        (addr, server)
    }

    #[tokio::test]
    async fn a_connection_closed_under_a_call_is_tried_again_once() {
        let (addr, server) = closing_then_answering_daemon();
        let client = RpcClient::new(
            format!("http://{addr}"),
            Auth::UserPass {
                user: "u".into(),
                password: "p".into(),
            },
            Duration::from_secs(5),
        );
        let n: u64 = client
            .call("getblockcount", json!([]))
            .await
            .expect("answered on the second connection");
        assert_eq!(n, 7);
        assert_eq!(server.join().unwrap(), 2);
    }
}
