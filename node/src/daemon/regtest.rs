//! Local `litecoind -regtest` daemons for end-to-end tests and `otedama devnet`.
//!
//! litecoind refuses `getblocktemplate` while it has no peer or is in initial block download, so a
//! usable regtest network is two daemons connected on loopback with one block mined. Daemons run
//! as child processes on free loopback ports inside a caller-chosen directory, and are stopped
//! when dropped.

use super::rpc::{Auth, RpcClient, RpcError};
use serde_json::{json, Value};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// RPC credentials of the regtest daemons. They listen on loopback only.
const RPC_USER: &str = "otedama";
const RPC_PASSWORD: &str = "regtest";

/// What went wrong starting or driving a regtest daemon.
#[derive(Debug, thiserror::Error)]
pub enum RegtestError {
    /// The daemon binary could not be started.
    #[error(
        "cannot start `{binary}` (is litecoind installed? scripts/setup installs it): {source}"
    )]
    Spawn {
        /// The binary tried.
        binary: String,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// A file or directory could not be prepared.
    #[error("cannot prepare {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The daemon exited or never answered RPC.
    #[error("regtest daemon in {datadir} did not become ready: {reason}")]
    NotReady {
        /// Its data directory.
        datadir: PathBuf,
        /// What was seen.
        reason: String,
    },
    /// An RPC call failed.
    #[error(transparent)]
    Rpc(#[from] RpcError),
}

/// One `litecoind -regtest` child process.
#[derive(Debug)]
pub struct RegtestDaemon {
    child: Option<Child>,
    binary: PathBuf,
    datadir: PathBuf,
    rpc_port: u16,
    p2p_port: u16,
    connect: Option<u16>,
    /// `-rpcthreads`; `None` leaves the daemon's default (4).
    rpc_threads: Option<u16>,
    rpc: RpcClient,
}

impl RegtestDaemon {
    /// Starts a daemon with its data in `datadir` on free loopback ports; with `connect`, it
    /// connects to the daemon listening on that P2P port. It gets 16 RPC threads, as several
    /// nodes long-poll one daemon in the network tests.
    pub async fn start(
        binary: &Path,
        datadir: &Path,
        connect: Option<u16>,
    ) -> Result<Self, RegtestError> {
        Self::start_with_rpc_threads(binary, datadir, connect, Some(16)).await
    }

    /// Like [`RegtestDaemon::start`] with `-rpcthreads=N`, or the daemon's default (4, as most
    /// operators run it) for `None`.
    pub async fn start_with_rpc_threads(
        binary: &Path,
        datadir: &Path,
        connect: Option<u16>,
        rpc_threads: Option<u16>,
    ) -> Result<Self, RegtestError> {
        std::fs::create_dir_all(datadir).map_err(|source| RegtestError::Io {
            path: datadir.to_owned(),
            source,
        })?;
        let rpc_port = free_port()?;
        let p2p_port = free_port()?;
        let url = format!("http://127.0.0.1:{rpc_port}");
        let auth = Auth::UserPass {
            user: RPC_USER.into(),
            password: RPC_PASSWORD.into(),
        };
        let mut daemon = RegtestDaemon {
            child: None,
            binary: binary.to_owned(),
            datadir: datadir.to_owned(),
            rpc_port,
            p2p_port,
            connect,
            rpc_threads,
            rpc: RpcClient::new(url, auth, Duration::from_secs(30)),
        };
        daemon.spawn().await?;
        Ok(daemon)
    }

    async fn spawn(&mut self) -> Result<(), RegtestError> {
        let mut cmd = Command::new(&self.binary);
        cmd.arg("-regtest")
            .arg(format!("-datadir={}", self.datadir.display()))
            .arg(format!("-port={}", self.p2p_port))
            .arg(format!("-rpcport={}", self.rpc_port))
            .args([
                "-bind=127.0.0.1",
                "-rpcbind=127.0.0.1",
                "-rpcallowip=127.0.0.1",
            ])
            .args([
                "-listen=1",
                "-server=1",
                "-discover=0",
                "-dnsseed=0",
                "-listenonion=0",
            ])
            .args([
                "-upnp=0",
                "-printtoconsole=0",
                "-fallbackfee=0.0001",
                "-whitelist=127.0.0.1",
            ])
            .arg(format!("-rpcuser={RPC_USER}"))
            .arg(format!("-rpcpassword={RPC_PASSWORD}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(self.stderr_file()?);
        if let Some(port) = self.connect {
            cmd.arg(format!("-connect=127.0.0.1:{port}"));
        }
        if let Some(threads) = self.rpc_threads {
            cmd.arg(format!("-rpcthreads={threads}"))
                .arg("-rpcworkqueue=256");
        }
        let child = cmd.spawn().map_err(|source| RegtestError::Spawn {
            binary: self.binary.display().to_string(),
            source,
        })?;
        self.child = Some(child);
        self.wait_ready(Duration::from_secs(60)).await
    }

    /// The daemon's standard error goes to a file in its data directory, so that a start-up
    /// failure (a bad option, a locked directory) can be reported.
    fn stderr_file(&self) -> Result<std::fs::File, RegtestError> {
        let path = self.datadir.join("stderr.log");
        std::fs::File::create(&path).map_err(|source| RegtestError::Io { path, source })
    }

    async fn wait_ready(&mut self, limit: Duration) -> Result<(), RegtestError> {
        let started = Instant::now();
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                let stderr =
                    std::fs::read_to_string(self.datadir.join("stderr.log")).unwrap_or_default();
                return Err(self.not_ready(format!("exited with {status}: {}", stderr.trim())));
            }
            match self.rpc.call::<Value>("getblockchaininfo", json!([])).await {
                Ok(_) => return Ok(()),
                Err(e) if started.elapsed() > limit => return Err(self.not_ready(e.to_string())),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    fn not_ready(&self, reason: String) -> RegtestError {
        RegtestError::NotReady {
            datadir: self.datadir.clone(),
            reason,
        }
    }

    /// The RPC client for this daemon.
    pub fn rpc(&self) -> &RpcClient {
        &self.rpc
    }

    /// The RPC URL (`http://127.0.0.1:PORT`).
    pub fn rpc_url(&self) -> &str {
        self.rpc.url()
    }

    /// The RPC user name and password.
    pub fn rpc_credentials(&self) -> (&'static str, &'static str) {
        (RPC_USER, RPC_PASSWORD)
    }

    /// The P2P port other daemons can connect to.
    pub fn p2p_port(&self) -> u16 {
        self.p2p_port
    }

    /// Its process id, while it runs (to freeze it with SIGSTOP in a fault test).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the daemon again on the same ports and data after [`RegtestDaemon::kill`] or
    /// [`RegtestDaemon::stop`].
    pub async fn restart(&mut self) -> Result<(), RegtestError> {
        self.kill();
        self.spawn().await
    }

    /// Asks the daemon to shut down cleanly and waits for it; kills it if it does not exit.
    pub async fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = self.rpc.call::<Value>("stop", json!([])).await;
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for RegtestDaemon {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Two connected regtest daemons, out of initial block download, ready for `getblocktemplate`.
#[derive(Debug)]
pub struct RegtestPair {
    /// The daemon the pool node talks to.
    pub primary: RegtestDaemon,
    /// Its peer (litecoind serves templates only with a peer).
    pub peer: RegtestDaemon,
}

impl RegtestPair {
    /// Starts both daemons under `base_dir` (subdirectories `a` and `b`), connects them and
    /// mines one block so that they leave initial block download.
    pub async fn start(binary: &Path, base_dir: &Path) -> Result<Self, RegtestError> {
        Self::start_with_rpc_threads(binary, base_dir, Some(16)).await
    }

    /// Like [`RegtestPair::start`], the primary with `-rpcthreads=N`, or the daemon's default
    /// (4) for `None`.
    pub async fn start_with_rpc_threads(
        binary: &Path,
        base_dir: &Path,
        rpc_threads: Option<u16>,
    ) -> Result<Self, RegtestError> {
        let primary =
            RegtestDaemon::start_with_rpc_threads(binary, &base_dir.join("a"), None, rpc_threads)
                .await?;
        let peer =
            RegtestDaemon::start(binary, &base_dir.join("b"), Some(primary.p2p_port)).await?;
        let pair = RegtestPair { primary, peer };
        pair.wait_connected().await?;
        if pair
            .primary
            .rpc
            .call::<u64>("getblockcount", json!([]))
            .await?
            == 0
        {
            pair.generate(1).await?;
        }
        Ok(pair)
    }

    async fn wait_connected(&self) -> Result<(), RegtestError> {
        let started = Instant::now();
        loop {
            let n: u64 = self
                .primary
                .rpc
                .call("getconnectioncount", json!([]))
                .await?;
            if n > 0 {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err(self.primary.not_ready("its peer never connected".into()));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Mines `n` blocks on the primary to an anyone-can-spend script and waits until the peer
    /// has them too; returns their hashes.
    pub async fn generate(&self, n: u32) -> Result<Vec<String>, RegtestError> {
        let hashes = self
            .primary
            .rpc
            .call("generatetodescriptor", json!([n, "raw(51)"]))
            .await?;
        self.wait_synced().await?;
        Ok(hashes)
    }

    /// Waits until both daemons have the same best block.
    pub async fn wait_synced(&self) -> Result<(), RegtestError> {
        let started = Instant::now();
        loop {
            let a: String = self.primary.rpc.call("getbestblockhash", json!([])).await?;
            let b: String = self.peer.rpc.call("getbestblockhash", json!([])).await?;
            if a == b {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err(self
                    .primary
                    .not_ready(format!("peer stuck at {b}, primary at {a}")));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Restarts the primary after a [`RegtestDaemon::kill`] (or while it runs) and reconnects it
    /// to its peer at once, so that it gets back any blocks a crash lost without waiting for the
    /// peer's reconnection back-off.
    pub async fn restart_primary(&mut self) -> Result<(), RegtestError> {
        self.primary.restart().await?;
        let peer = format!("127.0.0.1:{}", self.peer.p2p_port);
        self.primary
            .rpc
            .call::<Value>("addnode", json!([peer, "onetry"]))
            .await?;
        Ok(())
    }

    /// Stops both daemons cleanly.
    pub async fn stop(&mut self) {
        self.peer.stop().await;
        self.primary.stop().await;
    }
}

/// A loopback port nothing listens on right now.
fn free_port() -> Result<u16, RegtestError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|source| RegtestError::Io {
        path: PathBuf::from("127.0.0.1:0"),
        source,
    })?;
    let port = listener
        .local_addr()
        .map_err(|source| RegtestError::Io {
            path: PathBuf::from("127.0.0.1:0"),
            source,
        })?
        .port();
    Ok(port)
}

/// The first height at which `litecoind -regtest` enforces MWEB (its BIP 9 deployment locks in
/// over the first three 144-block periods).
pub const MWEB_ACTIVATION_HEIGHT: u64 = 432;

/// A wallet on a regtest daemon that can make the peg-in MWEB activation needs.
///
/// The first block with MWEB must carry a HogEx transaction, and a HogEx needs an input: a
/// peg-in (a payment to an MWEB address) waiting in the mempool. Without one litecoind cannot
/// build block 432 (`bad-txns-vin-empty`, for `getblocktemplate` and `generate*` alike), and the
/// mempool refuses peg-ins before the block that activates MWEB is next. So a regtest network
/// that should run past 432 funds a wallet early and pegs in once the tip reaches 431.
#[derive(Debug, Clone)]
pub struct MwebWallet {
    rpc: RpcClient,
}

impl MwebWallet {
    /// Creates (or loads) wallet `name` on the daemon behind `rpc` and mines 101 blocks to it,
    /// so that it has a mature coinbase to peg in from.
    pub async fn fund(rpc: &RpcClient, name: &str) -> Result<Self, RegtestError> {
        if rpc
            .call::<Value>("createwallet", json!([name]))
            .await
            .is_err()
        {
            rpc.call::<Value>("loadwallet", json!([name])).await?;
        }
        let address: String = rpc.call("getnewaddress", json!(["", "bech32"])).await?;
        rpc.call::<Value>("generatetoaddress", json!([101, address]))
            .await?;
        Ok(MwebWallet { rpc: rpc.clone() })
    }

    /// Sends `amount` coins to a new MWEB address of the wallet and returns the transaction id
    /// once the mempool holds it (an error if the mempool refused it).
    pub async fn peg_in(&self, amount: f64) -> Result<String, RegtestError> {
        let address: String = self.rpc.call("getnewaddress", json!(["", "mweb"])).await?;
        let txid: String = self
            .rpc
            .call("sendtoaddress", json!([address, amount]))
            .await?;
        self.rpc
            .call::<Value>("getmempoolentry", json!([txid]))
            .await?;
        Ok(txid)
    }

    /// Waits until the tip is one block short of MWEB activation, then pegs in one coin so that
    /// the activation block can be built; returns the peg-in's id (`None` when MWEB was already
    /// active). Retries while the mempool still refuses it.
    pub async fn peg_in_before_activation(&self) -> Result<Option<String>, RegtestError> {
        loop {
            let height: u64 = self.rpc.call("getblockcount", json!([])).await?;
            if height + 1 > MWEB_ACTIVATION_HEIGHT {
                // MWEB is active for the next block already.
                return Ok(None);
            }
            if height + 1 == MWEB_ACTIVATION_HEIGHT {
                match self.peg_in(1.0).await {
                    Ok(txid) => return Ok(Some(txid)),
                    Err(RegtestError::Rpc(e)) => {
                        tracing::debug!(error = %e, "peg-in not accepted yet; retrying");
                    }
                    Err(e) => return Err(e),
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
