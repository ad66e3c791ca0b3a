//! A small Stratum V1 client over TCP for tests and the demo: sends requests, matches replies by
//! id, and keeps notifications until asked for.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

/// How long any read waits before it is an error.
const READ_TIMEOUT: Duration = Duration::from_secs(20);

/// What `mining.subscribe` answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    /// The extranonce1 to put in the coinbase.
    pub extranonce1: Vec<u8>,
    /// How many bytes of extranonce2 to roll.
    pub extranonce2_size: usize,
}

/// A connected Stratum client.
#[derive(Debug)]
pub struct TestClient {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    next_id: u64,
    /// Server notifications read while waiting for replies, oldest first.
    pub notifications: VecDeque<Value>,
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

impl TestClient {
    /// Connects to `addr`.
    pub async fn connect(addr: SocketAddr) -> io::Result<TestClient> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (read, writer) = stream.into_split();
        Ok(TestClient {
            reader: BufReader::new(read),
            writer,
            next_id: 1,
            notifications: VecDeque::new(),
        })
    }

    /// Writes bytes as they are (partial lines, several lines, garbage).
    pub async fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.writer.write_all(bytes).await
    }

    /// Reads the next message; `None` when the server closed the connection.
    pub async fn read_message(&mut self) -> io::Result<Option<Value>> {
        let Some(line) = self.read_line().await? else {
            return Ok(None);
        };
        serde_json::from_str(&line)
            .map(Some)
            .map_err(|e| invalid(format!("server sent `{line}`: {e}")))
    }

    /// Reads the next line as sent, newline included; `None` when the server closed.
    pub async fn read_line(&mut self) -> io::Result<Option<String>> {
        let mut line = String::new();
        let read = tokio::time::timeout(READ_TIMEOUT, self.reader.read_line(&mut line))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no message from the server"))??;
        Ok((read > 0).then_some(line))
    }

    /// Sends a request with a fresh id and returns the whole reply object; notifications that
    /// arrive meanwhile are kept in [`TestClient::notifications`].
    pub async fn request(&mut self, method: &str, params: Value) -> io::Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        let line = json!({"id": id, "method": method, "params": params}).to_string() + "\n";
        self.send_raw(line.as_bytes()).await?;
        self.reply_to(&json!(id)).await
    }

    /// Reads until the reply with `id` arrives.
    pub async fn reply_to(&mut self, id: &Value) -> io::Result<Value> {
        loop {
            let Some(message) = self.read_message().await? else {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "server closed",
                ));
            };
            if message.get("method").is_some_and(|m| !m.is_null()) {
                self.notifications.push_back(message);
            } else if message.get("id") == Some(id) {
                return Ok(message);
            } else {
                return Err(invalid(format!("reply to another request: {message}")));
            }
        }
    }

    /// The params of the next notification of `method`, kept or read; notifications of other
    /// methods stay kept.
    pub async fn notification(&mut self, method: &str) -> io::Result<Value> {
        if let Some(i) = self
            .notifications
            .iter()
            .position(|n| n["method"] == method)
        {
            let message = self.notifications.remove(i).expect("index found above");
            return Ok(message["params"].clone());
        }
        loop {
            let Some(message) = self.read_message().await? else {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "server closed",
                ));
            };
            if message["method"] == method {
                return Ok(message["params"].clone());
            }
            self.notifications.push_back(message);
        }
    }

    /// Subscribes and reads extranonce1 and the extranonce2 size.
    pub async fn subscribe(&mut self) -> io::Result<Subscription> {
        let reply = self
            .request("mining.subscribe", json!(["otedama-testkit/1"]))
            .await?;
        let result = &reply["result"];
        let extranonce1 = result[1]
            .as_str()
            .and_then(|s| hex::decode(s).ok())
            .ok_or_else(|| invalid(format!("bad subscribe reply {reply}")))?;
        let extranonce2_size = result[2]
            .as_u64()
            .ok_or_else(|| invalid(format!("bad subscribe reply {reply}")))?;
        Ok(Subscription {
            extranonce1,
            extranonce2_size: extranonce2_size as usize,
        })
    }

    /// Authorizes `user` with `password`; the reply object.
    pub async fn authorize(&mut self, user: &str, password: &str) -> io::Result<Value> {
        self.request("mining.authorize", json!([user, password]))
            .await
    }

    /// Submits a share; the reply object.
    pub async fn submit(
        &mut self,
        user: &str,
        job_id: &str,
        extranonce2: &[u8],
        ntime: u32,
        nonce: u32,
        version_bits: Option<u32>,
    ) -> io::Result<Value> {
        let mut params = vec![
            json!(user),
            json!(job_id),
            json!(hex::encode(extranonce2)),
            json!(format!("{ntime:08x}")),
            json!(format!("{nonce:08x}")),
        ];
        if let Some(bits) = version_bits {
            params.push(json!(format!("{bits:08x}")));
        }
        self.request("mining.submit", Value::Array(params)).await
    }
}
