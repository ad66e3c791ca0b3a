//! The node's HTTP API for observers: `GET /api/v1/status`, `GET /api/v1/payouts`,
//! `GET /api/v1/peers` and `GET /api/v1/workers` (JSON), `GET /metrics` (Prometheus), the live
//! feed `GET /api/v1/ws` (WebSocket) and a web dashboard at `GET /` that uses them.
//!
//! The server only reads: it asks an [`ApiSource`] for a snapshot at each request, so it never
//! holds a lock across the network and a slow client slows nobody else. The WebSocket feed reads
//! the source once per poll for all its clients together (`ws`).

mod limit;
mod metrics;
#[cfg(test)]
mod tests;
mod ws;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// `GET /api/v1/status`: how the node is doing.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct StatusView {
    /// `litecoin` or `bitcoin`.
    pub coin: String,
    /// `mainnet`, `testnet`, `signet` or `regtest`.
    pub network: String,
    /// The consensus id of the sharechain this node runs (`docs/consensus.md` §2.3), hex in byte
    /// order as in the gossip topic (`docs/protocol.md` §3.1): peers of another id never mix.
    pub consensus_id: String,
    /// Height of the block the node's current template builds (the coin's tip + 1), 0 before the
    /// first template.
    pub height: u32,
    /// Height of the sharechain tip (`null` on an empty chain).
    pub sharechain_height: Option<u32>,
    /// The sharechain tip's share id (display hex), `null` on an empty chain.
    pub tip: Option<String>,
    /// Shares in the PPLNS window at the tip.
    pub shares: usize,
    /// Connected Stratum clients.
    pub stratum_clients: usize,
    /// Blocks found by this node and accepted by the daemon.
    pub blocks_found: u64,
    /// Blocks found by this node that the daemon refused.
    pub blocks_rejected: u64,
    /// Valid blocks found by this node that the daemon did not make its tip because another
    /// block at their height came first (`inconclusive`/`duplicate` answers).
    pub blocks_stale: u64,
    /// Whether the node is ready to hand out work: it has a template and the network's best
    /// sharechain.
    pub synced: bool,
    /// Where sharechain sync stands.
    pub sync: Option<crate::p2p::SyncView>,
    /// This node's libp2p peer id.
    pub peer_id: Option<String>,
    /// Connected peers.
    pub peers: usize,
    /// Addresses the node listens on for peers.
    pub p2p_listen: Vec<String>,
    /// The cumulative work of the sharechain's best chain (decimal).
    pub chain_work: Option<String>,
    /// Shares this node's miners found that the sharechain accepted.
    pub shares_found: u64,
    /// The pool's hash rate in hashes per second, estimated from the work of the shares in the
    /// PPLNS window at the tip over the time they span; `null` with fewer than two shares.
    pub pool_hashrate: Option<f64>,
    /// The hash rate of this node's Stratum workers (the sum of theirs), in hashes per second.
    pub local_hashrate: f64,
    /// The PPLNS window's length in shares (`shares` grows to it).
    pub window_limit: u32,
    /// Whether the coin daemon is answering, and what is wrong when it is not.
    pub daemon: crate::daemon::source::DaemonStatus,
    /// What the miners' work is: normal, waiting for the first sync, new blocks only while the
    /// sharechain catches up, or stale because the new block's template could not be used.
    pub work: crate::work::jobs::WorkStatus,
}

/// One output a block found now would pay, in coinbase order.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct PayoutView {
    /// The payee's address, when the script is of a standard form.
    pub address: Option<String>,
    /// The output script, hex.
    pub script: String,
    /// The amount, in base units.
    pub amount: u64,
    /// The payee's weight in the window (work, with uncle credit), decimal.
    pub weight: String,
}

/// Where the API reads its answers from.
pub trait ApiSource: Send + Sync + 'static {
    /// The current status.
    fn status(&self) -> StatusView;
    /// What a block found now would pay, with the finder's bonus shown as the tip share's
    /// miner's.
    fn payouts(&self) -> Vec<PayoutView>;
    /// What a block found now by the miner of `finder` (a payout address) would pay; an error
    /// says why the address is not one of this node's coin and network.
    fn payouts_for(&self, finder: &str) -> Result<Vec<PayoutView>, String> {
        let _ = finder;
        Err("this node cannot compute payouts for another finder".into())
    }
    /// Connected and banned peers.
    fn peers(&self) -> PeersView {
        PeersView::default()
    }
    /// The Stratum workers seen, with shares and hash rate.
    fn workers(&self) -> Vec<crate::stratum::WorkerSnapshot> {
        Vec::new()
    }
}

/// `GET /api/v1/peers`: connected and banned peers.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct PeersView {
    /// Connected peers: address, agent, latency, score.
    pub peers: Vec<crate::p2p::PeerView>,
    /// Banned peers and why.
    pub banned: Vec<crate::p2p::BanView>,
    /// Shares received by gossip and accepted since start.
    pub gossip_accepted: u64,
    /// Shares received by gossip and rejected as invalid since start.
    pub gossip_invalid: u64,
}

/// Limits of the API server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiConfig {
    /// The most API connections open at once (WebSocket clients included); more wait in the
    /// kernel's backlog, so API clients can never take the descriptors Stratum and peers need.
    pub max_connections: usize,
    /// The most WebSocket clients at once; one more is answered 503.
    pub max_ws_clients: usize,
    /// How often the WebSocket feed reads the source for changes (only while a client listens).
    pub ws_poll: Duration,
    /// How long one WebSocket message may take to reach a client's socket before the client is
    /// dropped (a client that does not read must not hold memory).
    pub ws_send_timeout: Duration,
}

impl Default for ApiConfig {
    /// 512 connections, 256 WebSocket clients, a poll every second, 10 s to send a message.
    fn default() -> Self {
        ApiConfig {
            max_connections: 512,
            max_ws_clients: 256,
            ws_poll: Duration::from_secs(1),
            ws_send_timeout: Duration::from_secs(10),
        }
    }
}

/// What every handler reads from.
#[derive(Clone)]
struct ApiState {
    source: Arc<dyn ApiSource>,
    live: Arc<ws::Live>,
}

/// The API's routes over `source`, with the WebSocket feed `live`.
fn router(source: Arc<dyn ApiSource>, live: Arc<ws::Live>) -> Router {
    Router::new()
        .route("/", get(dashboard))
        .route("/dashboard", get(dashboard))
        .route("/metrics", get(metrics))
        .route("/api/v1/status", get(status))
        .route("/api/v1/payouts", get(payouts))
        .route("/api/v1/peers", get(peers))
        .route("/api/v1/workers", get(workers))
        .route("/api/v1/ws", get(ws::upgrade))
        .fallback(not_found)
        .with_state(ApiState { source, live })
}

/// Runs `read` against the source on the blocking pool: a source may wait for the sharechain's
/// lock, and no reader may hold up the async workers that serve miners and peers meanwhile.
/// `Err` (a 500) if the read panicked.
pub(crate) async fn off_runtime<T: Send + 'static>(
    source: &Arc<dyn ApiSource>,
    read: impl FnOnce(&dyn ApiSource) -> T + Send + 'static,
) -> Result<T, Response> {
    let source = Arc::clone(source);
    tokio::task::spawn_blocking(move || read(&*source))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "an API read panicked");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(serde_json::json!({ "error": "internal error" })),
            )
                .into_response()
        })
}

async fn status(State(state): State<ApiState>) -> Response {
    match off_runtime(&state.source, |s| s.status()).await {
        Ok(status) => Json(status).into_response(),
        Err(e) => e,
    }
}

/// `GET /api/v1/payouts[?finder=ADDRESS]`.
#[derive(Debug, serde::Deserialize)]
struct PayoutsQuery {
    finder: Option<String>,
}

async fn payouts(
    State(state): State<ApiState>,
    query: Result<axum::extract::Query<PayoutsQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let finder = match query {
        Ok(q) => q.0.finder,
        Err(e) => return bad_request(&e.body_text()),
    };
    let read = off_runtime(&state.source, move |source| match finder {
        None => Json(source.payouts()).into_response(),
        Some(address) => match source.payouts_for(&address) {
            Ok(list) => Json(list).into_response(),
            Err(reason) => bad_request(&format!("finder {address:?}: {reason}")),
        },
    });
    read.await.unwrap_or_else(|e| e)
}

fn bad_request(error: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({ "error": error })),
    )
        .into_response()
}

async fn peers(State(state): State<ApiState>) -> Response {
    match off_runtime(&state.source, |s| s.peers()).await {
        Ok(peers) => Json(peers).into_response(),
        Err(e) => e,
    }
}

async fn workers(State(state): State<ApiState>) -> Response {
    match off_runtime(&state.source, |s| s.workers()).await {
        Ok(workers) => Json(workers).into_response(),
        Err(e) => e,
    }
}

async fn metrics(State(state): State<ApiState>) -> Response {
    let body = off_runtime(&state.source, |source| {
        metrics::render(&source.status(), &source.peers(), &source.workers())
    });
    match body.await {
        Ok(body) => ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], body).into_response(),
        Err(e) => e,
    }
}

/// The dashboard: one page with its style and script inline, so that it needs nothing but this
/// server (a node may have no internet access).
const DASHBOARD: &str = include_str!("api/dashboard.html");

async fn dashboard() -> Response {
    let headers = [
        (header::CONTENT_SECURITY_POLICY, dashboard_csp()),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
    ];
    (headers, Html(DASHBOARD)).into_response()
}

/// The dashboard's Content-Security-Policy: nothing loads from elsewhere, and the only script
/// that runs is the page's own (allowed by its hash), so text from strangers that slipped into
/// the page could not run as script.
fn dashboard_csp() -> HeaderValue {
    static CSP: OnceLock<HeaderValue> = OnceLock::new();
    CSP.get_or_init(|| {
        let policy = format!(
            "default-src 'none'; script-src 'sha256-{}'; style-src 'unsafe-inline'; \
             connect-src 'self' ws: wss:; img-src 'self' data:; base-uri 'none'; \
             form-action 'none'; frame-ancestors 'none'",
            base64(&script_sha256(DASHBOARD))
        );
        HeaderValue::from_str(&policy).expect("the policy is ASCII without control characters")
    })
    .clone()
}

/// SHA-256 of the text of the page's one inline `<script>` element.
fn script_sha256(page: &str) -> [u8; 32] {
    use bitcoin::hashes::{sha256, Hash};
    let start = page.find("<script>").expect("the dashboard has a script") + "<script>".len();
    let len = page[start..]
        .find("</script>")
        .expect("the dashboard's script is closed");
    sha256::Hash::hash(&page.as_bytes()[start..start + len]).to_byte_array()
}

/// Standard base64 with padding (RFC 4648 §4), as CSP hash sources are written.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(
            serde_json::json!({"error": "no such endpoint; try /, /metrics, /api/v1/status, \
            /api/v1/payouts, /api/v1/peers, /api/v1/workers or /api/v1/ws"}),
        ),
    )
        .into_response()
}

/// Serves the API on `listener` with the default [`ApiConfig`] until `shutdown` becomes `true`.
pub async fn serve(
    listener: TcpListener,
    source: Arc<dyn ApiSource>,
    shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    serve_with(listener, source, ApiConfig::default(), shutdown).await
}

/// Serves the API on `listener` until `shutdown` becomes `true`. WebSocket clients are then
/// sent a close frame ("going away"); the call returns once they are gone (or after the send
/// timeout).
pub async fn serve_with(
    listener: TcpListener,
    source: Arc<dyn ApiSource>,
    config: ApiConfig,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let live = Arc::new(ws::Live::new(&config));
    let poller = tokio::spawn(ws::poll(source.clone(), live.clone()));
    let stopping = live.clone();
    let listener = limit::LimitedListener::new(listener, config.max_connections);
    let served = axum::serve(listener, router(source, live.clone()))
        .with_graceful_shutdown(async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
            // Upgraded connections are no longer the HTTP server's: tell them here.
            stopping.stop();
        })
        .await;
    live.stop();
    live.closed(config.ws_send_timeout + Duration::from_secs(1))
        .await;
    let _ = poller.await;
    served
}
