//! Helpers shared by the end-to-end tests: the project's binaries, started as real processes on
//! free loopback ports, stopped when dropped, a small HTTP client for the node's API, and the
//! committed sharechain fixture ([`fixture`]).

pub mod fixture;
pub mod pool;

pub use fixture::{regtest_chain, seed_store};

use anyhow::{bail, Context, Result};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

/// The path of one of the workspace's binaries (`otedama`, `otedama-miner`), built once per test
/// process with the same profile as the tests.
pub fn binary(name: &str) -> Result<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let dir = BUILT
        .get_or_init(|| build_binaries().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(anyhow::Error::msg)?;
    Ok(dir.join(name))
}

fn build_binaries() -> Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("workspace root")?;
    let status = Command::new(cargo)
        .current_dir(root)
        .args([
            "build",
            "-p",
            "otedama-node",
            "-p",
            "otedama-miner",
            "--bin",
            "otedama",
            "--bin",
            "otedama-miner",
        ])
        .status()
        .context("cannot run cargo build")?;
    if !status.success() {
        bail!("cargo build of the binaries failed: {status}");
    }
    let target =
        std::env::var("CARGO_TARGET_DIR").map_or_else(|_| root.join("target"), PathBuf::from);
    Ok(target.join("debug"))
}

/// A loopback address with a port nothing listens on right now.
pub fn free_addr() -> Result<SocketAddr> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?)
}

/// A child process that is killed when dropped; its output goes to a log file.
#[derive(Debug)]
pub struct Process {
    child: Option<Child>,
    /// Where its standard output and error go.
    pub log: PathBuf,
    started: SystemTime,
}

impl Process {
    /// Starts `program` with `args`, logging to `log`.
    pub fn start(program: &Path, args: &[String], log: &Path) -> Result<Self> {
        Self::start_with_env(program, args, &[], log)
    }

    /// Starts `program` with `args` and the extra environment variables `env` (which override
    /// `RUST_LOG` too), logging to `log`.
    pub fn start_with_env(
        program: &Path,
        args: &[String],
        env: &[(String, String)],
        log: &Path,
    ) -> Result<Self> {
        let out = std::fs::File::create(log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let mut command = Command::new(program);
        command
            .args(args)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        let started = SystemTime::now();
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {}", program.display()))?;
        Ok(Process {
            child: Some(child),
            log: log.to_owned(),
            started,
        })
    }

    /// Its process id, while it has not been stopped.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The wall-clock time just before it was spawned.
    pub fn started_at(&self) -> SystemTime {
        self.started
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Asks it to stop (SIGTERM) and waits up to `limit`, then kills it.
    pub fn stop(&mut self, limit: Duration) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts a one-thread scrypt `otedama-miner` on the Stratum server at `stratum` with `user`,
/// logging to `log`.
pub fn scrypt_miner(stratum: SocketAddr, user: &str, log: &Path) -> Result<Process> {
    scrypt_miner_from(&binary("otedama-miner")?, stratum, user, log)
}

/// [`scrypt_miner`] with the `otedama-miner` binary at `program` (a release build, say).
pub fn scrypt_miner_from(
    program: &Path,
    stratum: SocketAddr,
    user: &str,
    log: &Path,
) -> Result<Process> {
    let args: Vec<String> = [
        "--url",
        &format!("stratum+tcp://{stratum}"),
        "--user",
        user,
        "--algo",
        "scrypt",
        "--threads",
        "1",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    Process::start(program, &args, log)
}

/// `GET http://addr/path`, the body parsed as JSON.
pub fn get_json(addr: SocketAddr, path: &str) -> Result<serde_json::Value> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    let (head, body) = text.split_once("\r\n\r\n").context("no HTTP header end")?;
    if !head.contains(" 200 ") {
        bail!("GET {path}: {head}");
    }
    Ok(serde_json::from_str(body)?)
}

/// Polls `check` every 200 ms until it returns `Some`, or fails after `limit` saying `what`.
pub fn wait_for<T>(limit: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> Result<T> {
    let started = Instant::now();
    loop {
        if let Some(v) = check() {
            return Ok(v);
        }
        if started.elapsed() > limit {
            bail!("timed out after {limit:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A temporary directory for a test, removed when dropped unless `OTEDAMA_TEST_KEEP` is set (then
/// its path is printed, to read the logs of a failed run).
#[derive(Debug)]
pub struct TestDir {
    _dir: Option<tempfile::TempDir>,
    path: PathBuf,
}

impl TestDir {
    /// Makes one.
    pub fn new() -> Result<Self> {
        let dir = tempfile::Builder::new().prefix("otedama-test-").tempdir()?;
        let path = dir.path().to_owned();
        if std::env::var_os("OTEDAMA_TEST_KEEP").is_some() {
            eprintln!("test files kept in {}", path.display());
            let _ = dir.keep();
            return Ok(TestDir { _dir: None, path });
        }
        Ok(TestDir {
            _dir: Some(dir),
            path,
        })
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
