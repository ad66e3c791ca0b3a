//! Several `otedama node` processes forming a pool on loopback, for the network tests: each with
//! its own data directory and free ports, started with bootstrap addresses, restartable with its
//! data directory, and queried through its API.

use crate::{binary, free_addr, get_json, scrypt_miner, Process};
use anyhow::{bail, Context, Result};
use otedama_node::daemon::regtest::RegtestPair;
use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// Starts a litecoind regtest pair under `dir/litecoind` for a test pool, and how to reach it.
pub async fn regtest_daemon(dir: &Path) -> Result<(RegtestPair, Daemon)> {
    let pair = RegtestPair::start(Path::new("litecoind"), &dir.join("litecoind")).await?;
    let (user, password) = pair.primary.rpc_credentials();
    let daemon = Daemon {
        url: pair.primary.rpc_url().to_owned(),
        user: user.to_owned(),
        password: password.to_owned(),
    };
    Ok((pair, daemon))
}

/// How to reach the coin daemon all nodes share.
#[derive(Debug, Clone)]
pub struct Daemon {
    /// Its RPC URL.
    pub url: String,
    /// RPC user.
    pub user: String,
    /// RPC password.
    pub password: String,
}

/// How a node's process is started: which `otedama` binary and extra environment variables.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    /// The `otedama` binary; the tests' debug build ([`binary`]) when `None`.
    pub program: Option<PathBuf>,
    /// Extra environment variables (e.g. `RUST_LOG`).
    pub env: Vec<(String, String)>,
    /// Extra command-line arguments (e.g. a backup `--daemon-url`).
    pub args: Vec<String>,
}

/// One node process of a test pool.
#[derive(Debug)]
pub struct PoolNode {
    /// Its name in logs.
    pub name: String,
    /// Its data directory.
    pub data_dir: PathBuf,
    /// Its API.
    pub api: SocketAddr,
    /// Its Stratum port.
    pub stratum: SocketAddr,
    /// Its peer-to-peer port (kept across restarts).
    pub p2p_port: u16,
    base: PathBuf,
    daemon: Daemon,
    process: Option<Process>,
    starts: u32,
    launch_with: Launch,
}

impl PoolNode {
    /// Starts a node named `name` under `base`, dialling `bootstrap` first.
    pub fn start(name: &str, base: &Path, daemon: &Daemon, bootstrap: &[String]) -> Result<Self> {
        Self::start_with(name, base, daemon, bootstrap, Launch::default())
    }

    /// [`PoolNode::start`] with the binary and environment of `launch`.
    pub fn start_with(
        name: &str,
        base: &Path,
        daemon: &Daemon,
        bootstrap: &[String],
        launch: Launch,
    ) -> Result<Self> {
        let mut node = PoolNode {
            name: name.to_owned(),
            data_dir: base.join(name),
            api: free_addr()?,
            stratum: free_addr()?,
            p2p_port: free_addr()?.port(),
            base: base.to_owned(),
            daemon: daemon.clone(),
            process: None,
            starts: 0,
            launch_with: launch,
        };
        node.launch(bootstrap)?;
        Ok(node)
    }

    fn launch(&mut self, bootstrap: &[String]) -> Result<()> {
        let mut args: Vec<String> = vec![
            "node".into(),
            "--coin".into(),
            "litecoin".into(),
            "--network".into(),
            "regtest".into(),
            "--data-dir".into(),
            self.data_dir.to_str().context("utf-8 path")?.into(),
            "--daemon-url".into(),
            self.daemon.url.clone(),
            "--daemon-user".into(),
            self.daemon.user.clone(),
            "--daemon-password".into(),
            self.daemon.password.clone(),
            "--stratum".into(),
            self.stratum.to_string(),
            "--api".into(),
            self.api.to_string(),
            "--p2p".into(),
            format!("/ip4/127.0.0.1/tcp/{}", self.p2p_port),
        ];
        for b in bootstrap {
            args.push("--bootstrap".into());
            args.push(b.clone());
        }
        args.extend(self.launch_with.args.iter().cloned());
        self.starts += 1;
        let log = self.base.join(format!("{}-{}.log", self.name, self.starts));
        let program = match &self.launch_with.program {
            Some(p) => p.clone(),
            None => binary("otedama")?,
        };
        self.process = Some(Process::start_with_env(
            &program,
            &args,
            &self.launch_with.env,
            &log,
        )?);
        Ok(())
    }

    /// Its process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().and_then(Process::pid)
    }

    /// When its current process was spawned (wall clock).
    pub fn started_at(&self) -> Option<SystemTime> {
        self.process.as_ref().map(Process::started_at)
    }

    /// The path of its current log file.
    pub fn log_path(&self) -> Option<&Path> {
        self.process.as_ref().map(|p| p.log.as_path())
    }

    /// Stops the node (SIGTERM, then kill after 10 s).
    pub fn stop(&mut self) {
        if let Some(mut p) = self.process.take() {
            p.stop(Duration::from_secs(10));
        }
    }

    /// Starts it again with its data directory.
    pub fn restart(&mut self, bootstrap: &[String]) -> Result<()> {
        self.stop();
        self.launch(bootstrap)
    }

    /// Its log (the current run's).
    pub fn log_text(&self) -> String {
        self.process
            .as_ref()
            .map(Process::log_text)
            .unwrap_or_default()
    }

    /// `GET /api/v1/status`.
    pub fn status(&self) -> Result<Value> {
        get_json(self.api, "/api/v1/status")
    }

    /// `GET /api/v1/peers`.
    pub fn peers(&self) -> Result<Value> {
        get_json(self.api, "/api/v1/peers")
    }

    /// `GET /api/v1/payouts`.
    pub fn payouts(&self) -> Result<Value> {
        get_json(self.api, "/api/v1/payouts")
    }

    /// Polls the status until `check` holds, or fails after `limit` with the last status and the
    /// log's tail.
    pub fn wait(
        &self,
        limit: Duration,
        what: &str,
        check: impl Fn(&Value) -> bool,
    ) -> Result<Value> {
        let started = Instant::now();
        let mut last = Value::Null;
        loop {
            if let Ok(s) = self.status() {
                if check(&s) {
                    return Ok(s);
                }
                last = s;
            }
            if started.elapsed() > limit {
                let log = self.log_text();
                let tail: String = log
                    .lines()
                    .rev()
                    .take(30)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join("\n");
                bail!(
                    "{}: timed out after {limit:?} waiting for {what}; last status {last}\n--- log tail ---\n{tail}",
                    self.name
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Its full peer address (`/ip4/…/tcp/…/p2p/…`), once the API answers.
    pub fn multiaddr(&self) -> Result<String> {
        let s = self.wait(Duration::from_secs(60), "the API and a peer id", |s| {
            s["peer_id"].is_string()
        })?;
        Ok(format!(
            "/ip4/127.0.0.1/tcp/{}/p2p/{}",
            self.p2p_port,
            s["peer_id"].as_str().unwrap_or_default()
        ))
    }

    /// Starts a one-thread scrypt miner on this node paying `address`.
    pub fn miner(&self, name: &str, address: &str) -> Result<Process> {
        scrypt_miner(
            self.stratum,
            address,
            &self.base.join(format!("{name}.log")),
        )
    }
}

impl Drop for PoolNode {
    fn drop(&mut self) {
        // Process's own Drop kills it; a SIGTERM first lets the node flush and save its peers.
        self.stop();
    }
}

/// The tip of a status (`null` when empty).
pub fn tip(status: &Value) -> Option<String> {
    status["tip"].as_str().map(str::to_owned)
}

/// Waits until every node reports the same non-empty tip, and returns it.
pub fn wait_converged(nodes: &[&PoolNode], limit: Duration) -> Result<String> {
    let started = Instant::now();
    loop {
        let tips: Vec<Option<String>> = nodes
            .iter()
            .map(|n| n.status().ok().as_ref().and_then(tip))
            .collect();
        if let Some(Some(first)) = tips.first() {
            if tips.iter().all(|t| t.as_deref() == Some(first.as_str())) {
                return Ok(first.clone());
            }
        }
        if started.elapsed() > limit {
            let summary: Vec<String> = nodes
                .iter()
                .zip(&tips)
                .map(|(n, t)| format!("{}: {t:?}", n.name))
                .collect();
            bail!(
                "nodes did not converge in {limit:?}: {}",
                summary.join(", ")
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A Litecoin regtest P2WPKH address whose key hash is 20 × `byte`.
pub fn regtest_address(byte: u8) -> String {
    let mut script = vec![0x00, 0x14];
    script.extend_from_slice(&[byte; 20]);
    otedama_proto::address::PayoutAddress::from_script(
        &bitcoin::ScriptBuf::from_bytes(script),
        otedama_proto::chain::Coin::Litecoin,
        otedama_proto::chain::Network::Regtest,
    )
    .expect("P2WPKH has an address")
}
