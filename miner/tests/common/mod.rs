//! A fake Stratum pool for the miner's end-to-end tests, and the built `otedama-miner` binary as
//! a child process.
//!
//! The pool speaks the handshake as real pools do and checks shares with code of its own: the
//! header is rebuilt here from the job and the submitted extranonce2, ntime, nonce and version
//! bits, hashed with the `sha2` and `scrypt` crates, and compared with a share target computed
//! here from the difficulty (`0xffff·2^208 / D` for sha256d, 65536 times that for scrypt).
//! Nothing of the miner's own code decides whether a share is good.

#![allow(dead_code)] // Each test file uses its own part of the harness.

use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpSocket};
use tokio::process::{Child, Command};

/// How long any step of a test may take (debug builds hash slowly; the machine is shared).
pub const STEP: Duration = Duration::from_secs(90);

/// The miner binary, running.
pub struct Miner {
    child: Child,
    stderr: Arc<Mutex<String>>,
}

impl Miner {
    /// Starts `otedama-miner` with `args`; its stderr is collected (and drained, so that logging
    /// never blocks it).
    pub fn start(args: &[&str]) -> Miner {
        Miner::start_with_env(args, &[])
    }

    /// Starts `otedama-miner` with `args` and the environment variables `env` (`RUST_LOG` and
    /// the miner's own variables are otherwise removed).
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Miner {
        let mut child = Command::new(env!("CARGO_BIN_EXE_otedama-miner"))
            .args(args)
            .env_remove("RUST_LOG")
            .env_remove("OTEDAMA_MINER_FAILBACK_SECS")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the otedama-miner binary starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut lines = BufReader::new(child.stderr.take().expect("piped")).lines();
        let sink = Arc::clone(&stderr);
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let mut s = sink.lock().expect("not poisoned");
                s.push_str(&line);
                s.push('\n');
            }
        });
        Miner { child, stderr }
    }

    /// What the miner has logged so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("not poisoned").clone()
    }

    /// Waits for the miner to exit.
    pub async fn exit(&mut self) -> ExitStatus {
        match tokio::time::timeout(STEP, self.child.wait()).await {
            Ok(status) => status.expect("wait works"),
            Err(_) => panic!("the miner did not exit; its log:\n{}", self.stderr()),
        }
    }
}

/// A listening fake pool.
pub struct Pool {
    listener: TcpListener,
}

/// A pool that is down: its port is bound, so that nothing else takes it, but not listening,
/// so that connections to it are refused until [`Down::listen`].
pub struct Down {
    socket: TcpSocket,
}

impl Down {
    pub fn bind() -> Down {
        let socket = TcpSocket::new_v4().expect("a socket");
        socket
            .bind("127.0.0.1:0".parse().expect("an address"))
            .expect("a free port");
        Down { socket }
    }

    pub fn url(&self) -> String {
        let port = self.socket.local_addr().expect("bound").port();
        format!("stratum+tcp://127.0.0.1:{port}")
    }

    /// The pool comes up on the same port.
    pub fn listen(self) -> Pool {
        Pool {
            listener: self.socket.listen(128).expect("listening"),
        }
    }
}

impl Pool {
    pub async fn bind() -> Pool {
        Pool {
            listener: TcpListener::bind("127.0.0.1:0").await.expect("a free port"),
        }
    }

    /// Waits up to `limit` for a connection; `None` if none came.
    pub async fn try_accept(&self, limit: Duration) -> Option<Conn> {
        let (stream, _) = tokio::time::timeout(limit, self.listener.accept())
            .await
            .ok()?
            .expect("accept works");
        let (r, w) = stream.into_split();
        Some(Conn {
            lines: BufReader::new(r).lines(),
            writer: w,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().expect("bound").port()
    }

    pub fn url(&self) -> String {
        format!("stratum+tcp://127.0.0.1:{}", self.port())
    }

    /// Waits for the miner to connect.
    pub async fn accept(&self, miner: &Miner) -> Conn {
        match tokio::time::timeout(STEP, self.listener.accept()).await {
            Ok(Ok((stream, _))) => {
                let (r, w) = stream.into_split();
                Conn {
                    lines: BufReader::new(r).lines(),
                    writer: w,
                }
            }
            _ => panic!("the miner did not connect; its log:\n{}", miner.stderr()),
        }
    }
}

/// How the pool answers the handshake.
#[derive(Clone, Debug)]
pub struct Handshake {
    /// The version-rolling mask to grant, or `None` to decline.
    pub mask: Option<u32>,
    /// The authorization error to give, or `None` to accept.
    pub refuse: Option<(i64, &'static str)>,
    pub extranonce1: Vec<u8>,
}

/// What the miner sent during the handshake.
#[derive(Debug, Default)]
pub struct Seen {
    pub methods: Vec<String>,
    pub user_agent: String,
    pub login: Value,
}

/// A `mining.submit`, decoded.
#[derive(Clone, Debug)]
pub struct Submit {
    pub user: String,
    pub job_id: String,
    pub extranonce2: Vec<u8>,
    pub ntime: u32,
    pub nonce: u32,
    pub version_bits: Option<u32>,
}

/// One connection from the miner.
pub struct Conn {
    lines: Lines<BufReader<OwnedReadHalf>>,
    writer: OwnedWriteHalf,
}

impl Conn {
    /// The next message from the miner, `None` when it closed the connection.
    pub async fn recv(&mut self, miner: &Miner) -> Option<Value> {
        match tokio::time::timeout(STEP, self.lines.next_line()).await {
            Ok(Ok(Some(line))) => Some(serde_json::from_str(&line).expect("the miner sends JSON")),
            Ok(_) => None,
            Err(_) => panic!("the miner went silent; its log:\n{}", miner.stderr()),
        }
    }

    pub async fn send(&mut self, message: Value) {
        let mut line = message.to_string();
        line.push('\n');
        // The miner may have gone (a refused login); the test checks that separately.
        let _ = self.writer.write_all(line.as_bytes()).await;
    }

    async fn reply(&mut self, id: &Value, result: Value) {
        self.send(json!({"id": id, "result": result, "error": null}))
            .await;
    }

    /// Answers the miner's handshake until it has sent `mining.extranonce.subscribe` (its last
    /// handshake request) or closed the connection.
    pub async fn handshake(&mut self, miner: &Miner, h: &Handshake) -> Seen {
        let mut seen = Seen::default();
        while let Some(m) = self.recv(miner).await {
            let id = m["id"].clone();
            let method = m["method"].as_str().unwrap_or_default().to_owned();
            seen.methods.push(method.clone());
            match method.as_str() {
                "mining.configure" => {
                    let result = match h.mask {
                        Some(mask) => {
                            json!({"version-rolling": true, "version-rolling.mask": format!("{mask:08x}")})
                        }
                        None => json!({"version-rolling": false}),
                    };
                    self.reply(&id, result).await;
                }
                "mining.subscribe" => {
                    seen.user_agent = m["params"][0].as_str().unwrap_or_default().to_owned();
                    let result = json!([[["mining.notify", "1"]], hex::encode(&h.extranonce1), 4]);
                    self.reply(&id, result).await;
                }
                "mining.authorize" => {
                    seen.login = m["params"].clone();
                    match h.refuse {
                        Some((code, text)) => {
                            self.send(
                                json!({"id": id, "result": null, "error": [code, text, null]}),
                            )
                            .await;
                        }
                        None => self.reply(&id, json!(true)).await,
                    }
                }
                "mining.extranonce.subscribe" => {
                    self.reply(&id, json!(true)).await;
                    break;
                }
                other => panic!("unexpected request during the handshake: {other}"),
            }
        }
        seen
    }

    pub async fn set_difficulty(&mut self, difficulty: f64) {
        self.send(json!({"id": null, "method": "mining.set_difficulty", "params": [difficulty]}))
            .await;
    }

    /// The next share, accepted; other messages are a test failure.
    pub async fn next_submit(&mut self, miner: &Miner) -> Submit {
        let m = self
            .recv(miner)
            .await
            .unwrap_or_else(|| panic!("the miner disconnected; its log:\n{}", miner.stderr()));
        assert_eq!(m["method"], "mining.submit", "{m}");
        let p = &m["params"];
        let hex_u32 = |v: &Value| {
            let text = v.as_str().expect("hex string");
            assert_eq!(text.len(), 8, "{m}");
            u32::from_str_radix(text, 16).expect("hex")
        };
        let submit = Submit {
            user: p[0].as_str().expect("user").to_owned(),
            job_id: p[1].as_str().expect("job id").to_owned(),
            extranonce2: hex::decode(p[2].as_str().expect("extranonce2")).expect("hex"),
            ntime: hex_u32(&p[3]),
            nonce: hex_u32(&p[4]),
            version_bits: p.get(5).map(hex_u32),
        };
        self.reply(&m["id"], json!(true)).await;
        submit
    }
}

fn sha256d(data: &[u8]) -> [u8; 32] {
    Sha256::digest(Sha256::digest(data)).into()
}

/// A job as the test pool sends it.
#[derive(Clone, Debug)]
pub struct TestJob {
    pub id: String,
    /// `mining.notify`'s prevhash: the previous block hash, words swapped.
    pub prevhash: [u8; 32],
    pub coinb1: Vec<u8>,
    pub coinb2: Vec<u8>,
    pub branch: Vec<[u8; 32]>,
    pub version: u32,
    pub nbits: u32,
    pub ntime: u32,
    pub clean: bool,
}

impl TestJob {
    /// A job with a realistic coinbase (BIP 34 height, 8 bytes of extranonce space, one output).
    pub fn new(id: &str, version: u32, nbits: u32) -> TestJob {
        let coinb1 =
            hex::decode(concat!(
            "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff",
            "15", "03a0860d", "2f6f746564616d612f" // scriptSig: 21 bytes = height 886432, "/otedama/", 8 extranonce bytes
        ))
            .expect("hex");
        let coinb2 = hex::decode(concat!(
            "ffffffff0100f2052a010000001976a914",
            "89abcdefabbaabbaabbaabbaabbaabbaabbaabba",
            "88ac00000000"
        ))
        .expect("hex");
        let mut prevhash = [0u8; 32];
        for (i, b) in prevhash.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37).wrapping_add(id.len() as u8);
        }
        TestJob {
            id: id.to_owned(),
            prevhash,
            coinb1,
            coinb2,
            branch: vec![[0x11; 32], [0x22; 32], [0x33; 32]],
            version,
            nbits,
            ntime: 0x65a1_b2c3,
            clean: true,
        }
    }

    pub fn notify(&self) -> Value {
        let branch: Vec<String> = self.branch.iter().map(hex::encode).collect();
        json!({"id": null, "method": "mining.notify", "params": [
            self.id, hex::encode(self.prevhash), hex::encode(&self.coinb1), hex::encode(&self.coinb2),
            branch, format!("{:08x}", self.version), format!("{:08x}", self.nbits),
            format!("{:08x}", self.ntime), self.clean
        ]})
    }

    /// The header `submit` stands for, with `extranonce1` and version-rolling `mask`.
    pub fn header(&self, extranonce1: &[u8], submit: &Submit, mask: u32) -> [u8; 80] {
        let coinbase = [
            &self.coinb1[..],
            extranonce1,
            &submit.extranonce2,
            &self.coinb2,
        ]
        .concat();
        let mut root = sha256d(&coinbase);
        for node in &self.branch {
            root = sha256d(&[&root[..], &node[..]].concat());
        }
        let version = match submit.version_bits {
            Some(bits) => (self.version & !mask) | (bits & mask),
            None => self.version,
        };
        let mut prev = self.prevhash;
        for word in prev.chunks_exact_mut(4) {
            word.reverse();
        }
        let mut header = [0u8; 80];
        header[..4].copy_from_slice(&version.to_le_bytes());
        header[4..36].copy_from_slice(&prev);
        header[36..68].copy_from_slice(&root);
        header[68..72].copy_from_slice(&submit.ntime.to_le_bytes());
        header[72..76].copy_from_slice(&self.nbits.to_le_bytes());
        header[76..].copy_from_slice(&submit.nonce.to_le_bytes());
        header
    }
}

/// The proof-of-work hash of `header` (`scrypt` or `sha256d`), as a little-endian number.
pub fn pow(algo: &str, header: &[u8; 80]) -> [u8; 32] {
    match algo {
        "sha256d" => sha256d(header),
        "scrypt" => {
            let params = scrypt::Params::new(10, 1, 1, 32).expect("N=1024 r=1 p=1");
            let mut out = [0u8; 32];
            scrypt::scrypt(header, header, &params, &mut out).expect("32-byte output");
            out
        }
        other => panic!("no algorithm {other}"),
    }
}

/// Whether `hash` (little-endian) meets Stratum difficulty `difficulty` under `algo`:
/// hash ≤ diff1 / D, i.e. hash · D ≤ diff1, with diff1 = 0xffff·2^208 for sha256d and 65536
/// times that for scrypt. Computed in `f64`, which is exact enough away from the boundary.
pub fn meets(algo: &str, hash: &[u8; 32], difficulty: f64) -> bool {
    let value = hash
        .iter()
        .rev()
        .fold(0.0f64, |acc, &b| acc * 256.0 + f64::from(b));
    let diff1 = 65535.0 * 2f64.powi(208) * if algo == "scrypt" { 65536.0 } else { 1.0 };
    value * difficulty <= diff1
}
