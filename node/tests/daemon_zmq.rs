//! The ZMQ `hashblock` subscriber against real libzmq (a pyzmq publisher, as bitcoind's), and the
//! template source fetching a template the moment an announcement arrives, from any of several
//! publishers.
//!
//! The publisher is `tests/support/zmq_publisher.py`; it needs pyzmq, which `scripts/setup`
//! installs. Without it these tests fail and say so: they are never skipped.

use anyhow::{bail, Context, Result};
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use otedama_node::daemon::source::{self, Daemons, SourceConfig, TemplateFeed};
use otedama_node::daemon::zmq::{self, HashBlock, Subscription, ZmqState};
use otedama_node::daemon::{Auth, RpcClient};
use serde_json::{json, Value};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::watch;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(15);

/// Panics with the fix when pyzmq is missing, rather than skipping.
fn require_pyzmq() {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import zmq"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "the ZMQ tests need python3 with pyzmq (real libzmq) for their publisher: run \
         scripts/setup, or `python3 -m pip install pyzmq`"
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// A `tests/support/zmq_publisher.py` process.
struct Publisher {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
}

impl Publisher {
    /// Starts a publisher on `port` (`xpub` reports subscriptions; `pub` is bitcoind's socket).
    async fn start(port: u16, kind: &str) -> Result<Publisher> {
        require_pyzmq();
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/support/zmq_publisher.py"
        );
        let mut child = Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(kind)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start python3")?;
        let stdin = child.stdin.take().context("stdin is piped")?;
        let stdout = BufReader::new(child.stdout.take().context("stdout is piped")?).lines();
        let mut publisher = Publisher {
            child,
            stdin,
            stdout,
        };
        publisher.expect("ready").await?;
        Ok(publisher)
    }

    /// Waits for the line `want`, skipping others.
    async fn expect(&mut self, want: &str) -> Result<()> {
        let wait = async {
            while let Some(line) = self.stdout.next_line().await? {
                if line == want {
                    return Ok(());
                }
            }
            bail!("the publisher exited before printing {want:?}")
        };
        timeout(WAIT, wait)
            .await
            .with_context(|| format!("the publisher did not print {want:?}"))?
    }

    async fn send(&mut self, command: &str) -> Result<()> {
        self.stdin
            .write_all(format!("{command}\n").as_bytes())
            .await?;
        self.stdin.flush().await?;
        Ok(())
    }

    async fn hashblock(&mut self, hash: &str, sequence: u32) -> Result<()> {
        self.send(&format!("hashblock {hash} {sequence}")).await
    }

    /// Kills the process (SIGKILL), as a daemon crash would, and waits for it.
    async fn kill(mut self) -> Result<()> {
        self.child.kill().await?;
        Ok(())
    }
}

async fn wait_state(sub: &mut Subscription, want: fn(&ZmqState) -> bool) -> Result<ZmqState> {
    let waited = timeout(WAIT, sub.state.wait_for(want))
        .await
        .map(|r| r.map(|s| s.clone()));
    match waited {
        Ok(Ok(state)) => Ok(state),
        Ok(Err(_)) => bail!("the subscriber stopped"),
        Err(_) => bail!("ZMQ state stuck at {}", *sub.state.borrow()),
    }
}

async fn next_block(sub: &mut Subscription) -> Result<HashBlock> {
    timeout(WAIT, sub.blocks.recv())
        .await
        .context("no hashblock announcement arrived")?
        .context("the subscriber stopped")
}

fn hash(byte: u8) -> String {
    hex::encode([byte; 32])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libzmq_announcements_arrive_in_order_and_survive_a_publisher_restart() -> Result<()> {
    let port = free_port();
    let (_stop, shutdown) = watch::channel(false);
    let mut publisher = Publisher::start(port, "xpub").await?;
    let mut sub = zmq::spawn(format!("127.0.0.1:{port}"), shutdown);
    publisher.expect("subscribed hashblock").await?;
    wait_state(&mut sub, |s| *s == ZmqState::Connected).await?;

    // A real block hash in RPC byte order keeps its display form; two more in order.
    let real = "6efa5133e2b0fefc0c3d7546be60ea250444d9163baf805e4f3f59da32542239";
    publisher.hashblock(real, 0).await?;
    publisher.hashblock(&hash(0x11), 1).await?;
    // Matching the subscription's prefix but not the topic, then a hashblock of two parts: both
    // reach the subscriber through libzmq and are skipped.
    publisher
        .send(&format!("raw {} {}", hex::encode("hashblockX"), hash(0x99)))
        .await?;
    publisher
        .send(&format!("raw {} {}", hex::encode("hashblock"), hash(0x98)))
        .await?;
    publisher.hashblock(&hash(0x22), 2).await?;
    for (want, sequence) in [(real.to_owned(), 0), (hash(0x11), 1), (hash(0x22), 2)] {
        let block = next_block(&mut sub).await?;
        assert_eq!((block.hash.to_string(), block.sequence), (want, sequence));
    }

    // The publisher dies: the subscriber reports it and keeps trying; restarted on the same
    // port, it is subscribed to again and its announcements arrive.
    publisher.kill().await?;
    let state = wait_state(&mut sub, |s| matches!(s, ZmqState::Failed(_))).await?;
    eprintln!("after the publisher died: {state}");
    let mut publisher = Publisher::start(port, "xpub").await?;
    publisher.expect("subscribed hashblock").await?;
    wait_state(&mut sub, |s| *s == ZmqState::Connected).await?;
    publisher.hashblock(&hash(0x33), 0).await?;
    let block = next_block(&mut sub).await?;
    assert_eq!((block.hash.to_string(), block.sequence), (hash(0x33), 0));
    assert!(sub.blocks.try_recv().is_err(), "nothing else was announced");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_pub_socket_as_bitcoind_uses_is_heard() -> Result<()> {
    let port = free_port();
    let (_stop, shutdown) = watch::channel(false);
    let mut publisher = Publisher::start(port, "pub").await?;
    let mut sub = zmq::spawn(format!("127.0.0.1:{port}"), shutdown);
    wait_state(&mut sub, |s| *s == ZmqState::Connected).await?;
    // A PUB socket does not say when the subscription took effect: announce until one arrives.
    for sequence in 0..100u32 {
        publisher.hashblock(&hash(0x44), sequence).await?;
        if let Ok(Some(block)) = timeout(Duration::from_millis(100), sub.blocks.recv()).await {
            assert_eq!(block.hash.to_string(), hash(0x44));
            assert_eq!(
                block.sequence, sequence,
                "earlier ones were never delivered"
            );
            return Ok(());
        }
    }
    bail!("no announcement from a PUB socket arrived in 10 s")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_endpoint_is_reported_and_retried() -> Result<()> {
    let port = free_port();
    let (_stop, shutdown) = watch::channel(false);
    let mut sub = zmq::spawn(format!("127.0.0.1:{port}"), shutdown);
    let state = wait_state(&mut sub, |s| matches!(s, ZmqState::Failed(_))).await?;
    assert!(state.to_string().starts_with("error: "), "{state}");
    // Something that is not ZMQ answers on the port: named by what it sent.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let _ = socket.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        }
    });
    let state = wait_state(
        &mut sub,
        |s| matches!(s, ZmqState::Failed(e) if e.starts_with("not a ZMQ greeting")),
    )
    .await?;
    eprintln!("{state}");
    Ok(())
}

/// A stand-in daemon serving `getblocktemplate` without long-poll support, so that only the
/// tip poll, the refresh or a ZMQ announcement can bring a new template.
#[derive(Debug, Default)]
struct FakeDaemon {
    prev: String,
    height: u32,
    templates_served: u32,
}

async fn rpc(
    State(daemon): State<Arc<Mutex<FakeDaemon>>>,
    Json(request): Json<Value>,
) -> Json<Value> {
    let mut d = daemon.lock().expect("not poisoned");
    let result = match request["method"].as_str() {
        Some("getblocktemplate") => {
            d.templates_served += 1;
            json!({
                "version": 536870912, "previousblockhash": d.prev, "transactions": [],
                "coinbasevalue": 5000000000u64,
                "target": "7fffff0000000000000000000000000000000000000000000000000000000000",
                "mintime": 1700000000, "curtime": 1700000000, "bits": "207fffff",
                "height": d.height, "rules": ["segwit"]
            })
        }
        Some("getbestblockhash") => json!(d.prev),
        _ => {
            return Json(
                json!({"result": null, "error": {"code": -32601, "message": "no"}, "id": request["id"]}),
            )
        }
    };
    Json(json!({"result": result, "error": null, "id": request["id"]}))
}

fn set_tip(daemon: &Mutex<FakeDaemon>, prev: String, height: u32) {
    let mut d = daemon.lock().expect("not poisoned");
    d.prev = prev;
    d.height = height;
}

/// Serves a [`FakeDaemon`] on a free loopback port; returns it and its URL.
async fn fake_daemon(prev: String, height: u32) -> Result<(Arc<Mutex<FakeDaemon>>, String)> {
    let daemon = Arc::new(Mutex::new(FakeDaemon {
        prev,
        height,
        ..FakeDaemon::default()
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let app = Router::new()
        .route("/", post(rpc))
        .with_state(daemon.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((daemon, url))
}

fn templates_served(daemon: &Mutex<FakeDaemon>) -> u32 {
    daemon.lock().expect("not poisoned").templates_served
}

/// A source on the daemon at `url` hearing the ZMQ publishers on `ports`, where neither the tip
/// poll nor the refresh comes within a test: only ZMQ can bring a new template.
fn zmq_only_source(url: String, ports: &[u16], shutdown: watch::Receiver<bool>) -> TemplateFeed {
    let auth = Auth::UserPass {
        user: "u".into(),
        password: "p".into(),
    };
    let config = SourceConfig {
        tip_poll: Duration::from_secs(3600),
        refresh: Duration::from_secs(3600),
        zmq: ports.iter().map(|p| format!("127.0.0.1:{p}")).collect(),
        ..SourceConfig::default()
    };
    source::spawn(
        Daemons::new(vec![RpcClient::new(url, auth, Duration::from_secs(5))]),
        config,
        shutdown,
    )
}

/// Waits until the status's `zmq` satisfies `want`.
async fn wait_zmq_status(feed: &mut TemplateFeed, want: impl Fn(&str) -> bool) -> Result<String> {
    let waited = timeout(
        WAIT,
        feed.status
            .wait_for(|s| s.zmq.as_deref().is_some_and(&want)),
    )
    .await
    .map(|r| r.map(|status| status.zmq.clone().unwrap_or_default()));
    match waited {
        Ok(Ok(zmq)) => Ok(zmq),
        Ok(Err(_)) => bail!("the source stopped"),
        Err(_) => bail!("ZMQ status stuck at {:?}", feed.status.borrow().zmq),
    }
}

async fn wait_height(feed: &mut TemplateFeed, height: u32) -> Result<()> {
    let wait = feed
        .template
        .wait_for(|t| t.as_ref().is_some_and(|t| t.height == height));
    match timeout(WAIT, wait).await {
        Ok(r) => r.map(drop).context("the source stopped"),
        Err(_) => bail!("no template for height {height} within {WAIT:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zmq_announcement_makes_the_source_fetch_a_template_at_once() -> Result<()> {
    let (daemon, url) = fake_daemon(hash(0xA0), 10).await?;
    let port = free_port();
    let mut publisher = Publisher::start(port, "xpub").await?;
    let (_stop, shutdown) = watch::channel(false);
    let mut feed = zmq_only_source(url, &[port], shutdown);
    timeout(WAIT, feed.template.wait_for(Option::is_some)).await??;
    assert_eq!(feed.template.borrow().as_ref().map(|t| t.height), Some(10));
    publisher.expect("subscribed hashblock").await?;
    timeout(
        WAIT,
        feed.status
            .wait_for(|s| s.zmq.as_deref() == Some("connected")),
    )
    .await
    .context("the status never showed the subscription")??;

    // The daemon moves to a new block. ZMQ first announces the block the template already builds
    // on (nothing to fetch), then the new one (fetched at once).
    set_tip(&daemon, hash(0xB1), 11);
    publisher.hashblock(&hash(0xA0), 0).await?;
    publisher.hashblock(&hash(0xB1), 1).await?;
    wait_height(&mut feed, 11)
        .await
        .context("a ZMQ announcement did not bring a new template")?;
    // Once more, so that every announcement before it has surely been handled when it shows.
    set_tip(&daemon, hash(0xC2), 12);
    publisher.hashblock(&hash(0xC2), 2).await?;
    wait_height(&mut feed, 12).await?;
    let template = feed.template.borrow().clone().context("a template")?;
    assert_eq!(template.previous_block_hash, hash(0xC2));
    assert_eq!(
        templates_served(&daemon),
        3,
        "one template at start and one per new block; none for the block already built on"
    );
    let status = feed.status.borrow().clone();
    assert_eq!(
        (status.templates, status.zmq.as_deref()),
        (3, Some("connected"))
    );
    let json = serde_json::to_value(&status)?;
    assert_eq!(json["zmq"], "connected");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_two_publishers_the_second_alone_brings_a_template() -> Result<()> {
    let (daemon, url) = fake_daemon(hash(0xA0), 10).await?;
    // The first publisher holds its port before the second's is picked, so they differ.
    let first_port = free_port();
    let mut first = Publisher::start(first_port, "xpub").await?;
    let second_port = free_port();
    let mut second = Publisher::start(second_port, "xpub").await?;
    let (_stop, shutdown) = watch::channel(false);
    let mut feed = zmq_only_source(url, &[first_port, second_port], shutdown);
    wait_height(&mut feed, 10).await?;
    first.expect("subscribed hashblock").await?;
    second.expect("subscribed hashblock").await?;
    let a = format!("tcp://127.0.0.1:{first_port}");
    let b = format!("tcp://127.0.0.1:{second_port}");
    let both = format!("{a} connected; {b} connected");
    wait_zmq_status(&mut feed, |s| s == both)
        .await
        .context("the status never showed both subscriptions")?;

    // A new block that only the second publisher announces is fetched at once.
    set_tip(&daemon, hash(0xB1), 11);
    second.hashblock(&hash(0xB1), 0).await?;
    wait_height(&mut feed, 11)
        .await
        .context("the second publisher's announcement did not bring a template")?;
    assert_eq!(templates_served(&daemon), 2);

    // The first then announces the same block: the template builds on it already, so nothing is
    // fetched. Its next announcement (after the repeat on the same channel) shows it was skipped.
    first.hashblock(&hash(0xB1), 0).await?;
    set_tip(&daemon, hash(0xC2), 12);
    first.hashblock(&hash(0xC2), 1).await?;
    wait_height(&mut feed, 12).await?;
    assert_eq!(
        templates_served(&daemon),
        3,
        "the same block announced by a second daemon brought no second fetch"
    );

    // The first daemon's publisher dies: the status says so beside the second's, and the second
    // still brings new blocks at once.
    first.kill().await?;
    let failed = wait_zmq_status(&mut feed, |s| {
        s.starts_with(&format!("{a} error: ")) && s.ends_with(&format!("; {b} connected"))
    })
    .await
    .context("the status never showed the first publisher failing")?;
    eprintln!("after the first publisher died: {failed}");
    set_tip(&daemon, hash(0xD3), 13);
    second.hashblock(&hash(0xD3), 1).await?;
    wait_height(&mut feed, 13).await?;
    assert_eq!(templates_served(&daemon), 4);
    let template = feed.template.borrow().clone().context("a template")?;
    assert_eq!(template.previous_block_hash, hash(0xD3));
    let json = serde_json::to_value(&*feed.status.borrow())?;
    let zmq = json["zmq"].as_str().context("daemon.zmq is one string")?;
    assert!(
        zmq.starts_with(&format!("{a} ")) && zmq.ends_with(&format!("; {b} connected")),
        "{zmq}"
    );
    assert!(!zmq.starts_with(&format!("{a} connected")), "{zmq}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_zmq_the_status_says_null() -> Result<()> {
    let (_stop, shutdown) = watch::channel(false);
    let auth = Auth::UserPass {
        user: "u".into(),
        password: "p".into(),
    };
    let client = RpcClient::new(
        format!("http://127.0.0.1:{}", free_port()),
        auth,
        Duration::from_secs(1),
    );
    let feed = source::spawn(
        Daemons::new(vec![client]),
        SourceConfig::default(),
        shutdown,
    );
    let json = serde_json::to_value(&*feed.status.borrow())?;
    assert!(json["zmq"].is_null(), "{json}");
    Ok(())
}
