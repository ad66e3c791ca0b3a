//! The peer-to-peer network (`docs/protocol.md`): libp2p with TCP + Noise + Yamux, Kademlia for
//! discovery, gossipsub for new shares (forwarded only after the sharechain accepted them), a
//! request-response protocol to sync the chain, and bans for peers that lie.
//!
//! One actor task owns the swarm ([`spawn`]); the rest of the node talks to it through a
//! cloneable [`NetworkHandle`] over bounded channels and reads its state from a shared
//! [`NetworkView`]. A chain worker thread validates shares from the network so that the event
//! loop never waits on a scrypt hash.

mod actor;
pub mod behaviour;
#[cfg(test)]
mod connection_tests;
pub mod guard;
pub mod identity;
mod judge;
#[cfg(test)]
mod liveness_tests;
mod peers;
mod sync;
mod vote;
pub mod wire;
mod worker;

use crate::work::chain::SharedChain;
use anyhow::{Context, Result};
use libp2p::{Multiaddr, PeerId};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, watch, Notify};

/// How a node joins the network.
#[derive(Debug, Clone)]
pub struct NetworkConfig {
    /// Where to listen.
    pub listen: Multiaddr,
    /// Addresses dialled at start (with `/p2p/<id>` where known).
    pub bootstrap: Vec<Multiaddr>,
    /// Where the identity and remembered peers live.
    pub dir: PathBuf,
    /// The agent string told to peers.
    pub agent: String,
    /// Whether the cap per address and bans by address apply to loopback peers too.
    pub limit_loopback: bool,
}

/// One connected peer, for the API.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PeerView {
    /// Its id.
    pub peer_id: String,
    /// The address of the connection.
    pub address: String,
    /// Whether we dialled it.
    pub outbound: bool,
    /// Its agent string, once identify told it.
    pub agent: Option<String>,
    /// The last ping's round trip in milliseconds.
    pub latency_ms: Option<f64>,
    /// Its score: 0 to start, lowered by faults; at −100 it is banned.
    pub score: i32,
    /// Its gossipsub score.
    pub gossip_score: f64,
    /// The height of its best chain, as it last told us.
    pub height: Option<u32>,
    /// Whether it serves our sharechain (`null` until identify told): peers of other Otedama
    /// chains share the DHT but are not used for sync.
    pub same_chain: Option<bool>,
}

/// One banned peer, for the API.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BanView {
    /// Its id.
    pub peer_id: String,
    /// Why.
    pub reason: String,
    /// Seconds left.
    pub remaining_secs: u64,
}

/// Where the node stands with the network's chain.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SyncView {
    /// Whether the node has the network's best chain (and so hands out work).
    pub synced: bool,
    /// What it is doing: `starting`, `syncing`, `synced`, or `alone` (no peer reachable).
    pub state: String,
    /// The best height a peer announced.
    pub best_peer_height: Option<u32>,
    /// Shares known to be missing and not yet fetched.
    pub queued: usize,
    /// Shares fetched and accepted by sync since start.
    pub fetched: u64,
    /// The last failure of the chain worker that stores network shares (a storage error such
    /// as a full or failing disk, or a panic), until a later job succeeds; `null` when fine.
    pub chain_error: Option<String>,
    /// Chain worker jobs that failed since start.
    pub chain_errors: u64,
}

/// The network's state, as the rest of the node sees it.
#[derive(Debug, Clone, Serialize)]
pub struct NetworkView {
    /// This node's peer id.
    pub peer_id: String,
    /// Addresses it listens on.
    pub listen: Vec<String>,
    /// Connected peers.
    pub peers: Vec<PeerView>,
    /// Banned peers.
    pub banned: Vec<BanView>,
    /// Sync state.
    pub sync: SyncView,
    /// Shares received by gossip and accepted.
    pub gossip_accepted: u64,
    /// Shares received by gossip and rejected as invalid.
    pub gossip_invalid: u64,
}

/// Commands to the actor.
#[derive(Debug)]
pub(crate) enum Command {
    /// Gossip a share this node found (already accepted and flushed).
    Publish(Vec<u8>),
}

/// The rest of the node's way to the network.
#[derive(Debug, Clone)]
pub struct NetworkHandle {
    commands: mpsc::Sender<Command>,
    view: Arc<Mutex<NetworkView>>,
    synced: watch::Receiver<bool>,
}

impl NetworkHandle {
    /// Gossips a share this node found. Never waits: if the actor is swamped the share still
    /// reaches peers through sync.
    pub fn publish(&self, encoded_share: Vec<u8>) {
        if self
            .commands
            .try_send(Command::Publish(encoded_share))
            .is_err()
        {
            tracing::warn!("network busy; a share was not gossiped (peers will sync it)");
        }
    }

    /// The network's state now.
    pub fn view(&self) -> NetworkView {
        self.view
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Whether the node has the network's best chain; changes are signalled.
    pub fn synced(&self) -> watch::Receiver<bool> {
        self.synced.clone()
    }

    /// This node's peer id.
    pub fn peer_id(&self) -> String {
        self.view().peer_id
    }
}

/// Starts the network: loads or makes the identity, listens, dials the bootstrap and remembered
/// peers, and runs until `shutdown`. The returned task ends after the peer book is saved.
pub async fn spawn(
    config: NetworkConfig,
    chain: SharedChain,
    tip_changed: Arc<Notify>,
    shutdown: watch::Receiver<bool>,
) -> Result<(NetworkHandle, tokio::task::JoinHandle<()>)> {
    let key = identity::load_or_create_keypair(&config.dir)?;
    let book = identity::PeerBook::load(&config.dir)?;
    let peer_id = PeerId::from(key.public());
    let consensus_id = chain.lock().consensus().id();
    let limits = behaviour::Limits {
        loopback: config.limit_loopback,
        ..behaviour::Limits::default()
    };
    let mut swarm = behaviour::swarm_with(key, &consensus_id, &config.agent, limits)?;
    swarm
        .listen_on(config.listen.clone())
        .with_context(|| format!("cannot listen for peers on {}", config.listen))?;
    let (commands_tx, commands_rx) = mpsc::channel(256);
    let (synced_tx, synced_rx) = watch::channel(false);
    let view = Arc::new(Mutex::new(NetworkView {
        peer_id: peer_id.to_string(),
        listen: Vec::new(),
        peers: Vec::new(),
        banned: Vec::new(),
        sync: SyncView {
            synced: false,
            state: "starting".into(),
            best_peer_height: None,
            queued: 0,
            fetched: 0,
            chain_error: None,
            chain_errors: 0,
        },
        gossip_accepted: 0,
        gossip_invalid: 0,
    }));
    let actor = actor::Actor::new(
        swarm,
        consensus_id,
        config,
        book,
        chain,
        tip_changed,
        view.clone(),
        synced_tx,
    );
    let task = tokio::spawn(actor.run(commands_rx, shutdown));
    Ok((
        NetworkHandle {
            commands: commands_tx,
            view,
            synced: synced_rx,
        },
        task,
    ))
}
