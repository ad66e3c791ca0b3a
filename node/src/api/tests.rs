//! The API over real sockets: a fake [`ApiSource`] whose answers each test sets, the router on a
//! port-0 loopback listener, and HTTP/1.0 and WebSocket clients.

use super::*;
use crate::daemon::source::DaemonStatus;
use crate::p2p::{BanView, PeerView, SyncView};
use crate::stratum::WorkerSnapshot;
use crate::work::jobs::{WorkState, WorkStatus};
use futures::{SinkExt, StreamExt};
use std::sync::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::{self, Message};

/// A worker name a stranger could choose: it needs escaping in Prometheus labels.
const WEIRD_WORKER: &str = "we\"ird\\name";

/// A source whose answers the test sets and may change while the server runs.
#[derive(Default)]
struct Fake {
    status: Mutex<StatusView>,
    payouts: Mutex<Vec<PayoutView>>,
    peers: Mutex<PeersView>,
    workers: Mutex<Vec<WorkerSnapshot>>,
}

impl ApiSource for Fake {
    fn status(&self) -> StatusView {
        self.status.lock().unwrap().clone()
    }
    fn payouts(&self) -> Vec<PayoutView> {
        self.payouts.lock().unwrap().clone()
    }
    /// Echoes the finder as the first output's address; "bad" is not an address.
    fn payouts_for(&self, finder: &str) -> Result<Vec<PayoutView>, String> {
        if finder == "bad" {
            return Err("not an address".into());
        }
        let mut list = self.payouts();
        if let Some(first) = list.first_mut() {
            first.address = Some(finder.to_owned());
        }
        Ok(list)
    }
    fn peers(&self) -> PeersView {
        self.peers.lock().unwrap().clone()
    }
    fn workers(&self) -> Vec<WorkerSnapshot> {
        self.workers.lock().unwrap().clone()
    }
}

impl Fake {
    /// A synced Litecoin regtest node with two peers, a ban and two workers.
    fn new() -> Arc<Fake> {
        let status = StatusView {
            coin: "litecoin".into(),
            network: "regtest".into(),
            height: 7,
            sharechain_height: Some(41),
            tip: Some("ab".repeat(32)),
            consensus_id: "cd".repeat(32),
            shares: 42,
            stratum_clients: 3,
            blocks_found: 2,
            blocks_rejected: 1,
            blocks_stale: 4,
            synced: true,
            sync: Some(SyncView {
                synced: true,
                state: "synced".into(),
                best_peer_height: Some(41),
                queued: 5,
                fetched: 9,
                chain_error: None,
                chain_errors: 0,
            }),
            peer_id: Some("12D3KooWtest".into()),
            peers: 2,
            p2p_listen: vec!["/ip4/127.0.0.1/tcp/9328".into()],
            chain_work: Some("1000".into()),
            shares_found: 17,
            pool_hashrate: Some(1234.5),
            local_hashrate: 250.0,
            window_limit: 2160,
            daemon: DaemonStatus {
                healthy: true,
                url: "http://127.0.0.1:19443".into(),
                ..DaemonStatus::default()
            },
            work: WorkStatus {
                state: WorkState::Mining,
                height: Some(7),
                dropped_transactions: 0,
                detail: None,
            },
        };
        let peer = |n: u8| PeerView {
            peer_id: format!("12D3KooWpeer{n}"),
            address: format!("/ip4/127.0.0.{n}/tcp/9328"),
            outbound: n == 1,
            agent: Some(format!("otedama/0.{n}")),
            latency_ms: Some(1.5),
            score: -3,
            gossip_score: 0.0,
            height: Some(40),
            same_chain: Some(true),
        };
        let peers = PeersView {
            peers: vec![peer(1), peer(2)],
            banned: vec![BanView {
                peer_id: "12D3KooWbad".into(),
                reason: "invalid share".into(),
                remaining_secs: 3000,
            }],
            gossip_accepted: 11,
            gossip_invalid: 4,
        };
        let worker = |name: &str, accepted: u64, hashrate: f64| WorkerSnapshot {
            name: name.into(),
            accepted,
            rejected: 2,
            stale: 1,
            blocks: 1,
            hashrate,
            last_share_ms: Some(1_700_000_000_000),
        };
        Arc::new(Fake {
            status: Mutex::new(status),
            payouts: Mutex::new(vec![PayoutView {
                address: None,
                script: "51".into(),
                amount: 5,
                weight: "1".into(),
            }]),
            peers: Mutex::new(peers),
            workers: Mutex::new(vec![
                worker("rltc1qminer.rig1", 10, 125.0),
                worker(WEIRD_WORKER, 3, 125.0),
            ]),
        })
    }
}

/// A server running on loopback.
struct Running {
    addr: std::net::SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Running {
    async fn start(source: Arc<Fake>, config: ApiConfig) -> Running {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, rx) = watch::channel(false);
        let task = tokio::spawn(serve_with(listener, source, config, rx));
        Running { addr, stop, task }
    }

    fn ws_url(&self) -> String {
        format!("ws://{}/api/v1/ws", self.addr)
    }

    /// Stops the server and waits for it, which must not take long.
    async fn stop(self) {
        self.stop.send(true).unwrap();
        timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the server stops within 10 s")
            .unwrap()
            .unwrap();
    }
}

/// A quick feed for tests.
fn fast() -> ApiConfig {
    ApiConfig {
        ws_poll: Duration::from_millis(20),
        ..ApiConfig::default()
    }
}

/// `GET path` over HTTP/1.0: the whole answer, headers included.
async fn get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

/// The value of header `name` in a raw answer.
fn header_value<'a>(answer: &'a str, name: &str) -> Option<&'a str> {
    let head = answer.split("\r\n\r\n").next()?;
    head.lines().skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn body(answer: &str) -> &str {
    answer.split_once("\r\n\r\n").expect("a body").1
}

#[tokio::test]
async fn serves_status_payouts_and_a_clear_404() {
    let server = Running::start(Fake::new(), ApiConfig::default()).await;
    let status = get(server.addr, "/api/v1/status").await;
    assert!(
        status.starts_with("HTTP/1.0 200") || status.starts_with("HTTP/1.1 200"),
        "{status}"
    );
    let v: serde_json::Value = serde_json::from_str(body(&status)).unwrap();
    assert_eq!(v["coin"], "litecoin");
    // A second implementation needs the id to find the topic and sync protocol (protocol §1).
    assert_eq!(v["consensus_id"], "cd".repeat(32));
    assert_eq!(v["height"], 7);
    assert_eq!(v["synced"], true);
    assert_eq!(v["work"]["state"], "mining");
    assert_eq!(v["pool_hashrate"], 1234.5);
    assert_eq!(v["local_hashrate"], 250.0);
    assert_eq!(v["window_limit"], 2160);
    let payouts = get(server.addr, "/api/v1/payouts").await;
    assert!(payouts.contains(r#""amount":5"#), "{payouts}");
    assert!(get(server.addr, "/nope").await.contains("404"));
    server.stop().await;
}

#[tokio::test]
async fn payouts_take_a_finder_and_refuse_a_bad_one() {
    let server = Running::start(Fake::new(), ApiConfig::default()).await;
    let answer = get(server.addr, "/api/v1/payouts?finder=ltc1qfinder").await;
    let v: serde_json::Value = serde_json::from_str(body(&answer)).unwrap();
    assert_eq!(v[0]["address"], "ltc1qfinder", "{answer}");
    let answer = get(server.addr, "/api/v1/payouts?finder=bad").await;
    assert!(
        answer.starts_with("HTTP/1.0 400") || answer.starts_with("HTTP/1.1 400"),
        "{answer}"
    );
    let v: serde_json::Value = serde_json::from_str(body(&answer)).unwrap();
    assert!(
        v["error"].as_str().unwrap().contains("not an address"),
        "{answer}"
    );
    server.stop().await;
}

#[tokio::test]
async fn status_without_a_chain_has_null_pool_hashrate() {
    let fake = Fake::new();
    fake.status.lock().unwrap().pool_hashrate = None;
    let server = Running::start(fake, ApiConfig::default()).await;
    let v: serde_json::Value =
        serde_json::from_str(body(&get(server.addr, "/api/v1/status").await)).unwrap();
    assert!(v["pool_hashrate"].is_null(), "{v}");
    // The Prometheus series is left out rather than reported as 0.
    let metrics = get(server.addr, "/metrics").await;
    assert!(!metrics.contains("otedama_pool_hashrate{"), "{metrics}");
    server.stop().await;
}

/// One sample line of the exposition format: name, labels (unescaped) and value.
type Sample = (String, Vec<(String, String)>, f64);

/// Parses `name{label="value",…} value` strictly, panicking on anything else.
fn parse_sample(line: &str) -> Sample {
    let is_name = |s: &str| {
        !s.is_empty()
            && !s.starts_with(|c: char| c.is_ascii_digit())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    let open = line
        .find(['{', ' '])
        .expect("a name then labels or a value");
    let name = &line[..open];
    assert!(is_name(name), "bad metric name in {line:?}");
    let mut labels = Vec::new();
    let mut rest = &line[open..];
    if let Some(inner) = rest.strip_prefix('{') {
        let mut chars = inner.char_indices();
        loop {
            let start = chars.clone().next().expect("a label").0;
            let eq = loop {
                let (i, c) = chars.next().expect("`=` after a label name");
                if c == '=' {
                    break i;
                }
            };
            let label = &inner[start..eq];
            assert!(is_name(label), "bad label name {label:?} in {line:?}");
            assert_eq!(chars.next().map(|x| x.1), Some('"'), "{line:?}");
            let mut value = String::new();
            loop {
                match chars.next().expect("a closing quote").1 {
                    '"' => break,
                    '\\' => match chars.next().expect("an escaped character").1 {
                        '\\' => value.push('\\'),
                        '"' => value.push('"'),
                        'n' => value.push('\n'),
                        other => panic!("bad escape \\{other} in {line:?}"),
                    },
                    '\n' => panic!("raw newline in {line:?}"),
                    c => value.push(c),
                }
            }
            labels.push((label.to_owned(), value));
            match chars.next().expect("`,` or `}`") {
                (_, ',') => continue,
                (i, '}') => {
                    rest = &inner[i + 1..];
                    break;
                }
                (_, c) => panic!("unexpected {c:?} in {line:?}"),
            }
        }
    }
    let value = rest.strip_prefix(' ').expect("one space before the value");
    let value = match value {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v
            .parse()
            .unwrap_or_else(|_| panic!("value {v:?} of {line:?} is not a number")),
    };
    (name.to_owned(), labels, value)
}

/// The value of series `name` whose labels include `labels`.
fn find(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .map(|s| s.2)
}

#[test]
fn the_sample_parser_refuses_malformed_lines() {
    for bad in [
        "otedama_x 1 2",
        "otedama_x{a=\"b} 1",
        "otedama_x{a=\"b\\q\"} 1",
        "otedama_x{a=\"b\"} one",
        "otedama_x{a=\"b\"}  1",
        "1otedama 1",
    ] {
        assert!(
            std::panic::catch_unwind(|| parse_sample(bad)).is_err(),
            "{bad:?} was accepted"
        );
    }
    let (name, labels, value) = parse_sample(r#"otedama_x{a="q\"\\",b="2"} -Inf"#);
    assert_eq!(name, "otedama_x");
    assert_eq!(labels[0], ("a".to_owned(), "q\"\\".to_owned()));
    assert_eq!(value, f64::NEG_INFINITY);
}

#[tokio::test]
async fn metrics_are_in_the_prometheus_text_format() {
    let server = Running::start(Fake::new(), ApiConfig::default()).await;
    let answer = get(server.addr, "/metrics").await;
    assert!(answer.starts_with("HTTP/1.0 200"), "{answer}");
    let content_type = header_value(&answer, "content-type").expect("a content type");
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = body(&answer);
    let mut typed = Vec::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(t) = line.strip_prefix("# TYPE ") {
            let (name, kind) = t.split_once(' ').expect("a name and a type");
            assert!(["gauge", "counter"].contains(&kind), "{line}");
            assert!(name.starts_with("otedama_"), "{line}");
            typed.push(name.to_owned());
        } else if line.starts_with("# HELP otedama_") {
        } else {
            assert!(!line.starts_with('#'), "unexpected comment {line:?}");
            let sample = parse_sample(line);
            assert!(
                typed.last() == Some(&sample.0),
                "{line:?} does not follow its # TYPE"
            );
            let coin = sample.1.iter().find(|l| l.0 == "coin");
            assert_eq!(coin.map(|l| l.1.as_str()), Some("litecoin"), "{line}");
            samples.push(sample);
        }
    }
    let node = [("coin", "litecoin"), ("network", "regtest")];
    for (name, value) in [
        ("otedama_coin_height", 7.0),
        ("otedama_sharechain_height", 41.0),
        ("otedama_sharechain_window_shares", 42.0),
        ("otedama_sharechain_window_limit", 2160.0),
        ("otedama_pool_hashrate", 1234.5),
        ("otedama_local_hashrate", 250.0),
        ("otedama_stratum_clients", 3.0),
        ("otedama_blocks_found_total", 2.0),
        ("otedama_blocks_rejected_total", 1.0),
        ("otedama_blocks_stale_total", 4.0),
        ("otedama_shares_found_total", 17.0),
        ("otedama_peers", 2.0),
        ("otedama_banned_peers", 1.0),
        ("otedama_gossip_accepted_total", 11.0),
        ("otedama_gossip_invalid_total", 4.0),
        ("otedama_synced", 1.0),
        ("otedama_daemon_healthy", 1.0),
        ("otedama_sync_queued_shares", 5.0),
        ("otedama_sync_best_peer_height", 41.0),
    ] {
        assert_eq!(find(&samples, name, &node), Some(value), "{name}\n{text}");
    }
    assert_eq!(
        find(&samples, "otedama_info", &[("peer_id", "12D3KooWtest")]),
        Some(1.0)
    );
    for (worker, accepted) in [("rltc1qminer.rig1", 10.0), (WEIRD_WORKER, 3.0)] {
        let w = |result| [("worker", worker), ("result", result)];
        let shares = "otedama_worker_shares_total";
        assert_eq!(find(&samples, shares, &w("accepted")), Some(accepted));
        assert_eq!(find(&samples, shares, &w("rejected")), Some(2.0));
        assert_eq!(find(&samples, shares, &w("stale")), Some(1.0));
        let name = [("worker", worker)];
        assert_eq!(
            find(&samples, "otedama_worker_hashrate", &name),
            Some(125.0)
        );
        assert_eq!(
            find(&samples, "otedama_worker_blocks_total", &name),
            Some(1.0)
        );
    }
    // The stranger's name is escaped on the wire, not just parsed back.
    assert!(text.contains(r#"worker="we\"ird\\name""#), "{text}");
    server.stop().await;
}

#[tokio::test]
async fn the_dashboard_is_one_self_contained_page() {
    let server = Running::start(Fake::new(), ApiConfig::default()).await;
    for path in ["/", "/dashboard"] {
        let answer = get(server.addr, path).await;
        assert!(answer.starts_with("HTTP/1.0 200"), "{path}: {answer}");
        let content_type = header_value(&answer, "content-type").unwrap();
        assert!(content_type.starts_with("text/html"), "{content_type}");
        let page = body(&answer);
        assert_eq!(page, DASHBOARD);
        let lower = page.to_ascii_lowercase();
        for outside in ["http://", "https://", "src=\"//", "href=\"//", "url(//"] {
            assert!(!lower.contains(outside), "{path} refers to {outside}");
        }
        // Untrusted text goes in as text nodes only.
        assert!(!page.contains("innerHTML") && !page.contains("outerHTML"));
        assert!(!page.contains("insertAdjacentHTML") && !page.contains("document.write"));
        assert!(page.contains("'api/v1/ws'") && page.contains("'api/v1/peers'"));
        assert_eq!(page.matches("<script").count(), 1, "one inline script");
        let csp = header_value(&answer, "content-security-policy").unwrap();
        let hash = format!("'sha256-{}'", base64(&script_sha256(page)));
        assert!(csp.contains(&format!("script-src {hash};")), "{csp}");
        assert!(csp.starts_with("default-src 'none'"), "{csp}");
    }
    server.stop().await;
}

#[test]
fn base64_matches_rfc_4648() {
    for (input, expected) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(base64(input.as_bytes()), expected);
    }
    // SHA-256 of "abc", as CSP hash sources write it.
    assert_eq!(
        base64(&script_sha256("<script>abc</script>")),
        "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
    );
}

type Client =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next text message as JSON (5 s at most).
async fn next_json(ws: &mut Client) -> serde_json::Value {
    loop {
        let msg = timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a message within 5 s")
            .expect("the feed is open")
            .expect("no error");
        match msg {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// Asserts that no message comes within `wait`.
async fn assert_quiet(ws: &mut Client, wait: Duration) {
    if let Ok(msg) = timeout(wait, ws.next()).await {
        panic!("nothing changed, yet the feed sent {msg:?}");
    }
}

#[tokio::test]
async fn the_websocket_sends_the_status_on_connect_and_on_each_change() {
    let fake = Fake::new();
    let server = Running::start(fake.clone(), fast()).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(server.ws_url())
        .await
        .unwrap();
    let first = next_json(&mut ws).await;
    assert_eq!(first["type"], "status");
    assert_eq!(first["status"]["height"], 7);
    assert_eq!(first["status"]["pool_hashrate"], 1234.5);
    let second = next_json(&mut ws).await;
    assert_eq!(second["type"], "payouts");
    assert_eq!(second["payouts"][0]["amount"], 5);
    // Ten polls with nothing new: nothing is sent.
    assert_quiet(&mut ws, Duration::from_millis(200)).await;

    fake.status.lock().unwrap().height = 8;
    let changed = next_json(&mut ws).await;
    assert_eq!(changed["type"], "status");
    assert_eq!(changed["status"]["height"], 8);
    // The payouts did not change, so only the status came.
    assert_quiet(&mut ws, Duration::from_millis(200)).await;

    fake.payouts.lock().unwrap()[0].amount = 6;
    let payouts = next_json(&mut ws).await;
    assert_eq!(payouts["type"], "payouts");
    assert_eq!(payouts["payouts"][0]["amount"], 6);

    // A second client gets the current state at once.
    let (mut other, _) = tokio_tungstenite::connect_async(server.ws_url())
        .await
        .unwrap();
    assert_eq!(next_json(&mut other).await["status"]["height"], 8);

    // Shutdown closes the feed with "going away".
    server.stop.send(true).unwrap();
    let close = timeout(Duration::from_secs(5), ws.next())
        .await
        .expect("a close frame within 5 s");
    match close {
        Some(Ok(Message::Close(Some(frame)))) => {
            assert_eq!(
                frame.code,
                tungstenite::protocol::frame::coding::CloseCode::Away
            )
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
    timeout(Duration::from_secs(10), server.task)
        .await
        .expect("the server stops")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn websocket_clients_past_the_cap_get_503() {
    let config = ApiConfig {
        max_ws_clients: 1,
        ..fast()
    };
    let server = Running::start(Fake::new(), config).await;
    let (mut first, _) = tokio_tungstenite::connect_async(server.ws_url())
        .await
        .unwrap();
    next_json(&mut first).await;
    match tokio_tungstenite::connect_async(server.ws_url()).await {
        Err(tungstenite::Error::Http(answer)) => assert_eq!(answer.status(), 503),
        other => panic!("expected 503, got {other:?}"),
    }
    // The slot comes back when the first client leaves.
    first.close(None).await.unwrap();
    drop(first);
    let mut second = None;
    for _ in 0..100 {
        if let Ok((ws, _)) = tokio_tungstenite::connect_async(server.ws_url()).await {
            second = Some(ws);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut second = second.expect("a client is served once the first has left");
    assert_eq!(next_json(&mut second).await["type"], "status");
    server.stop().await;
}

#[tokio::test]
async fn a_websocket_client_that_does_not_read_is_dropped() {
    let fake = Fake::new();
    // 16 MB of payouts: far more than the socket buffers of a client that reads nothing.
    *fake.payouts.lock().unwrap() = (0..16)
        .map(|i| PayoutView {
            address: None,
            script: "51".repeat(500_000),
            amount: i,
            weight: "1".into(),
        })
        .collect();
    let config = ApiConfig {
        max_ws_clients: 1,
        // Long enough that the second client below is refused while the first still holds the
        // slot, even on a loaded two-core machine (with 1 s the timeout could pass first).
        ws_send_timeout: Duration::from_secs(5),
        ..ApiConfig::default()
    };
    let server = Running::start(fake, config).await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut slow = socket.connect(server.addr).await.unwrap();
    slow.write_all(
        b"GET /api/v1/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await
    .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(slow.read_u8().await.unwrap());
    }
    assert!(head.starts_with(b"HTTP/1.1 101"), "{head:?}");
    // The slow client holds the only slot while the server tries to send to it...
    match tokio_tungstenite::connect_async(server.ws_url()).await {
        Err(tungstenite::Error::Http(answer)) => assert_eq!(answer.status(), 503),
        other => panic!("expected 503, got {other:?}"),
    }
    // ...until the send times out and the server drops it.
    let mut served = false;
    for _ in 0..300 {
        if tokio_tungstenite::connect_async(server.ws_url())
            .await
            .is_ok()
        {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(served, "the slow client still holds its slot after 15 s");
    drop(slow);
    server.stop().await;
}

#[tokio::test]
async fn small_client_messages_are_ignored_and_large_ones_close_the_feed() {
    let fake = Fake::new();
    let server = Running::start(fake.clone(), fast()).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(server.ws_url())
        .await
        .unwrap();
    next_json(&mut ws).await;
    next_json(&mut ws).await;
    ws.send(Message::text("hello")).await.unwrap();
    fake.status.lock().unwrap().height = 9;
    assert_eq!(next_json(&mut ws).await["status"]["height"], 9);
    ws.send(Message::text("x".repeat(ws::MAX_CLIENT_MESSAGE + 1)))
        .await
        .unwrap();
    let ended = timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => continue,
            }
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "the feed stayed open after an oversized message"
    );
    server.stop().await;
}

#[tokio::test]
async fn connections_past_the_cap_wait_for_a_free_slot() {
    let config = ApiConfig {
        max_connections: 2,
        ..fast()
    };
    let server = Running::start(Fake::new(), config).await;
    let held = [
        tokio::net::TcpStream::connect(server.addr).await.unwrap(),
        tokio::net::TcpStream::connect(server.addr).await.unwrap(),
    ];
    tokio::time::sleep(Duration::from_millis(100)).await;
    let addr = server.addr;
    let waiting = tokio::spawn(async move { get(addr, "/api/v1/status").await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !waiting.is_finished(),
        "a third connection is served while two hold both slots"
    );
    let [first, second] = held;
    drop(first);
    let answer = timeout(Duration::from_secs(10), waiting)
        .await
        .expect("served once a slot is free")
        .unwrap();
    assert!(
        answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"),
        "{answer}"
    );
    drop(second);
    server.stop().await;
}
