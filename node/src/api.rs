//! The node's HTTP API for observers: `GET /api/v1/status`, `GET /api/v1/payouts` and
//! `GET /api/v1/peers` and `GET /api/v1/workers`.
//!
//! The server only reads: it asks an [`ApiSource`] for a snapshot at each request, so it never
//! holds a lock across the network and a slow client slows nobody else.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// `GET /api/v1/status`: how the node is doing.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct StatusView {
    /// `litecoin` or `bitcoin`.
    pub coin: String,
    /// `mainnet`, `testnet`, `signet` or `regtest`.
    pub network: String,
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
    /// Whether the coin daemon is answering, and what is wrong when it is not.
    pub daemon: crate::daemon::source::DaemonStatus,
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
    /// What a block found now would pay.
    fn payouts(&self) -> Vec<PayoutView>;
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

/// The API's routes over `source`.
pub fn router(source: Arc<dyn ApiSource>) -> Router {
    Router::new()
        .route("/api/v1/status", get(status))
        .route("/api/v1/payouts", get(payouts))
        .route("/api/v1/peers", get(peers))
        .route("/api/v1/workers", get(workers))
        .fallback(not_found)
        .with_state(source)
}

async fn status(State(source): State<Arc<dyn ApiSource>>) -> Json<StatusView> {
    Json(source.status())
}

async fn payouts(State(source): State<Arc<dyn ApiSource>>) -> Json<Vec<PayoutView>> {
    Json(source.payouts())
}

async fn peers(State(source): State<Arc<dyn ApiSource>>) -> Json<PeersView> {
    Json(source.peers())
}

async fn workers(
    State(source): State<Arc<dyn ApiSource>>,
) -> Json<Vec<crate::stratum::WorkerSnapshot>> {
    Json(source.workers())
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(
            serde_json::json!({"error": "no such endpoint; try /api/v1/status, /api/v1/payouts, /api/v1/peers or /api/v1/workers"}),
        ),
    )
        .into_response()
}

/// Serves the API on `listener` until `shutdown` becomes `true`.
pub async fn serve(
    listener: TcpListener,
    source: Arc<dyn ApiSource>,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    axum::serve(listener, router(source))
        .with_graceful_shutdown(async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    struct Fixed;
    impl ApiSource for Fixed {
        fn status(&self) -> StatusView {
            StatusView {
                coin: "litecoin".into(),
                network: "regtest".into(),
                height: 7,
                ..StatusView::default()
            }
        }
        fn payouts(&self) -> Vec<PayoutView> {
            vec![PayoutView {
                address: None,
                script: "51".into(),
                amount: 5,
                weight: "1".into(),
            }]
        }
    }

    async fn get(addr: std::net::SocketAddr, path: &str) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn serves_status_payouts_and_a_clear_404() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, rx) = watch::channel(false);
        let server = tokio::spawn(serve(listener, Arc::new(Fixed), rx));
        let status = get(addr, "/api/v1/status").await;
        assert!(
            status.starts_with("HTTP/1.0 200") || status.starts_with("HTTP/1.1 200"),
            "{status}"
        );
        let body = status.split("\r\n\r\n").nth(1).unwrap();
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["coin"], "litecoin");
        assert_eq!(v["height"], 7);
        assert_eq!(v["synced"], false);
        assert!(v["tip"].is_null());
        let payouts = get(addr, "/api/v1/payouts").await;
        assert!(payouts.contains(r#""amount":5"#), "{payouts}");
        assert!(get(addr, "/nope").await.contains("404"));
        stop.send(true).unwrap();
        server.await.unwrap().unwrap();
    }
}
