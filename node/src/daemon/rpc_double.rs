//! A test double of a coin daemon's JSON-RPC server, for unit tests of the daemon client, the
//! template source and block submission: it listens on 127.0.0.1:0, records every call, and answers
//! each with what the test's handler returns, or holds the call open until the test releases it
//! (a daemon that is slow, or hung on a full RPC queue). It is not a daemon: it validates nothing.

use super::rpc::{Auth, RpcClient};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the double does with one call.
#[derive(Clone, Debug)]
pub enum Reply {
    /// Answers with this `result`.
    Result(Value),
    /// Answers with an RPC error object.
    Error(i64, String),
    /// Holds the call open until [`TestDoubleDaemon::release`] (then answers `null`).
    Hold,
}

type Handler = dyn Fn(&str, &Value) -> Reply + Send + Sync;

/// A running test double; it stops when dropped.
pub struct TestDoubleDaemon {
    addr: SocketAddr,
    calls: Arc<Mutex<Vec<(String, Value)>>>,
    handler: Arc<Mutex<Arc<Handler>>>,
    release: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl TestDoubleDaemon {
    /// Starts a double that answers every call with `handler(method, params)`.
    pub async fn start(handler: impl Fn(&str, &Value) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port is free");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let calls = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Mutex<Arc<Handler>>> = Arc::new(Mutex::new(Arc::new(handler)));
        let (release, released) = watch::channel(false);
        let task = tokio::spawn({
            let (calls, handler) = (calls.clone(), handler.clone());
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let h = handler.lock().expect("not poisoned").clone();
                    tokio::spawn(serve(stream, h, calls.clone(), released.clone()));
                }
            }
        });
        TestDoubleDaemon {
            addr,
            calls,
            handler,
            release,
            task,
        }
    }

    /// Replaces the handler for the calls that arrive from now on.
    pub fn set_handler(&self, handler: impl Fn(&str, &Value) -> Reply + Send + Sync + 'static) {
        *self.handler.lock().expect("not poisoned") = Arc::new(handler);
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A client for it with the given per-call timeout.
    pub fn client(&self, timeout: Duration) -> RpcClient {
        RpcClient::new(
            self.url(),
            Auth::UserPass {
                user: "u".into(),
                password: "p".into(),
            },
            timeout,
        )
    }

    /// The params of every call of `method` so far.
    pub fn calls_of(&self, method: &str) -> Vec<Value> {
        self.calls
            .lock()
            .expect("not poisoned")
            .iter()
            .filter(|(m, _)| m == method)
            .map(|(_, p)| p.clone())
            .collect()
    }

    /// Lets every held call (and every later one) answer.
    pub fn release(&self) {
        self.release.send_replace(true);
    }
}

impl Drop for TestDoubleDaemon {
    fn drop(&mut self) {
        self.task.abort();
        self.release.send_replace(true);
    }
}

/// Serves one HTTP/1.1 connection: one request, one answer, then close.
async fn serve(
    stream: TcpStream,
    handler: Arc<Handler>,
    calls: Arc<Mutex<Vec<(String, Value)>>>,
    mut released: watch::Receiver<bool>,
) {
    let mut reader = BufReader::new(stream);
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0u8; length];
    if reader.read_exact(&mut body).await.is_err() {
        return;
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let method = request["method"].as_str().unwrap_or("").to_owned();
    let params = request["params"].clone();
    calls
        .lock()
        .expect("not poisoned")
        .push((method.clone(), params.clone()));
    let answer = match handler(&method, &params) {
        Reply::Result(v) => json!({"result": v, "error": null, "id": "otedama"}),
        Reply::Error(code, message) => {
            json!({"result": null, "error": {"code": code, "message": message}, "id": "otedama"})
        }
        Reply::Hold => {
            let _ = released.wait_for(|r| *r).await;
            json!({"result": null, "error": null, "id": "otedama"})
        }
    };
    let body = answer.to_string();
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = reader.into_inner();
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}
