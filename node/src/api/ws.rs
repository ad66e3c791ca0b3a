//! `GET /api/v1/ws`: a live feed of the node's status and payouts over WebSocket.
//!
//! One poller reads the [`ApiSource`] every `ws_poll` while at least one client listens and
//! publishes the JSON messages in a `watch` channel; each client's task sends what differs from
//! what that client last got. A client therefore costs the server one task and the messages it
//! is being sent, however slow it is: the channel keeps only the latest snapshot, a send that
//! takes longer than `ws_send_timeout` drops the client, at most `max_ws_clients` are served
//! (503 past that), and a client message over [`MAX_CLIENT_MESSAGE`] bytes closes the
//! connection (the feed expects nothing from clients; smaller messages are ignored).
//!
//! Messages: `{"type":"status","status":{…}}` (as `GET /api/v1/status`) and
//! `{"type":"payouts","payouts":[…]}` (as `GET /api/v1/payouts`), both on connect and then
//! each whenever it changes.

use super::{ApiConfig, ApiSource, ApiState, PayoutView, StatusView};
use axum::extract::ws::{close_code, CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::{timeout, MissedTickBehavior};

/// The largest message or frame a client may send, in bytes.
pub(super) const MAX_CLIENT_MESSAGE: usize = 4096;

/// The feed's messages at one moment, as sent.
#[derive(Clone, Debug, Default, PartialEq)]
struct Snapshot {
    status: Utf8Bytes,
    payouts: Utf8Bytes,
}

/// `{"type": "status", "status": …}`.
#[derive(Serialize)]
struct StatusMessage {
    r#type: &'static str,
    status: StatusView,
}

/// `{"type": "payouts", "payouts": […]}`.
#[derive(Serialize)]
struct PayoutsMessage {
    r#type: &'static str,
    payouts: Vec<PayoutView>,
}

impl Snapshot {
    /// Reads `source` now.
    fn read(source: &dyn ApiSource) -> Snapshot {
        let status = StatusMessage {
            r#type: "status",
            status: source.status(),
        };
        let payouts = PayoutsMessage {
            r#type: "payouts",
            payouts: source.payouts(),
        };
        let json = |r: serde_json::Result<String>| r.expect("the views serialize to JSON");
        Snapshot {
            status: json(serde_json::to_string(&status)).into(),
            payouts: json(serde_json::to_string(&payouts)).into(),
        }
    }
}

/// The feed shared by the WebSocket clients.
#[derive(Debug)]
pub(super) struct Live {
    /// The latest snapshot; receivers are the connected clients.
    feed: watch::Sender<Snapshot>,
    /// One permit per client served.
    slots: Arc<Semaphore>,
    max_clients: u32,
    poll: Duration,
    send_timeout: Duration,
    /// Becomes `true` when the server stops.
    stop: watch::Sender<bool>,
}

impl Live {
    /// A feed with the limits of `config` and no client.
    pub(super) fn new(config: &ApiConfig) -> Live {
        let max_clients =
            u32::try_from(config.max_ws_clients.min(Semaphore::MAX_PERMITS)).unwrap_or(u32::MAX);
        Live {
            feed: watch::Sender::new(Snapshot::default()),
            slots: Arc::new(Semaphore::new(max_clients as usize)),
            max_clients,
            poll: config.ws_poll,
            send_timeout: config.ws_send_timeout,
            stop: watch::Sender::new(false),
        }
    }

    /// Publishes `snapshot`, waking the clients only if it differs from the last one.
    fn publish(&self, snapshot: Snapshot) {
        self.feed.send_if_modified(|current| {
            let changed = *current != snapshot;
            if changed {
                *current = snapshot;
            }
            changed
        });
    }

    /// Tells the poller and every client to finish.
    pub(super) fn stop(&self) {
        self.stop.send_replace(true);
    }

    /// Waits until every client has gone, or `limit` has passed.
    pub(super) async fn closed(&self, limit: Duration) {
        let _ = timeout(limit, self.slots.acquire_many(self.max_clients)).await;
    }
}

/// Reads `source` every poll interval while a client listens, until the feed stops.
pub(super) async fn poll(source: Arc<dyn ApiSource>, live: Arc<Live>) {
    let mut stop = live.stop.subscribe();
    let mut tick = tokio::time::interval(live.poll);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopped(&mut stop) => return,
        }
        if live.feed.receiver_count() > 0 {
            if let Ok(snapshot) = super::off_runtime(&source, Snapshot::read).await {
                live.publish(snapshot);
            }
        }
    }
}

/// The upgrade handler: takes a client slot (503 when none is free) and starts the client.
pub(super) async fn upgrade(State(state): State<ApiState>, upgrade: WebSocketUpgrade) -> Response {
    let Ok(slot) = state.live.slots.clone().try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"error": "too many WebSocket clients; try again later"})),
        )
            .into_response();
    };
    upgrade
        .max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| client(socket, state, slot))
}

/// Serves one client until it leaves, fails to keep up, misbehaves or the server stops. The
/// slot is given back when this returns.
async fn client(mut socket: WebSocket, state: ApiState, _slot: OwnedSemaphorePermit) {
    let live = &state.live;
    let mut stop = live.stop.subscribe();
    let mut feed = live.feed.subscribe();
    // The poller does not run while nobody listens, so the feed may be old: read afresh.
    live.publish(Snapshot::read(&*state.source));
    let mut sent = Snapshot::default();
    loop {
        let latest = feed.borrow_and_update().clone();
        if latest.status != sent.status {
            if !send(&mut socket, latest.status.clone(), live.send_timeout).await {
                return;
            }
            sent.status = latest.status;
        }
        if latest.payouts != sent.payouts {
            if !send(&mut socket, latest.payouts.clone(), live.send_timeout).await {
                return;
            }
            sent.payouts = latest.payouts;
        }
        tokio::select! {
            changed = feed.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            received = socket.recv() => match received {
                // Anything else a client sends is ignored (pings are answered by the library).
                Some(Ok(Message::Text(_) | Message::Binary(_) | Message::Ping(_) | Message::Pong(_))) => {}
                // Closed, or an error such as a message over the size limit: drop the client.
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
            },
            _ = stopped(&mut stop) => {
                let bye = CloseFrame {
                    code: close_code::AWAY,
                    reason: Utf8Bytes::from_static("the node is shutting down"),
                };
                let _ = timeout(live.send_timeout, socket.send(Message::Close(Some(bye)))).await;
                return;
            }
        }
    }
}

/// Returns once `stop` is `true` (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Sends `text`; `false` when the client is gone or did not take it within `limit`.
async fn send(socket: &mut WebSocket, text: Utf8Bytes, limit: Duration) -> bool {
    matches!(
        timeout(limit, socket.send(Message::Text(text))).await,
        Ok(Ok(()))
    )
}
