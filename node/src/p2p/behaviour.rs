//! The libp2p behaviour of an Otedama node and the swarm that runs it: TCP + Noise + Yamux,
//! identify, ping, Kademlia, gossipsub (validated), the sync request-response protocol, a block
//! list for banned peers, connection limits, and rules by remote address. Public so that tests can build a peer that
//! speaks exactly the node's protocols (and then misbehaves).

use crate::p2p::guard::Guard;
use crate::p2p::wire::{self, SyncRequest, SyncResponse};
use anyhow::{Context, Result};
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::gossipsub::{self, IdentTopic, MessageAuthenticity, ValidationMode};
use libp2p::identity::Keypair;
use libp2p::swarm::NetworkBehaviour;
use libp2p::{
    allow_block_list, connection_limits, identify, kad, noise, ping, request_response, tcp, yamux,
    StreamProtocol, Swarm,
};
use otedama_sharechain::ConsensusId;
use std::collections::HashMap;
use std::io;
use std::time::Duration;

/// The most inbound connections a node keeps.
pub const MAX_INBOUND: u32 = 48;
/// The most outbound connections a node keeps: a budget of its own, so that peers dialling in
/// cannot take the connections the node uses to reach the network.
pub const MAX_OUTBOUND: u32 = 24;

/// How many connections a node keeps, and to whom the rules by address apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most inbound connections.
    pub inbound: u32,
    /// The most outbound connections.
    pub outbound: u32,
    /// Whether the cap per address and bans by address apply to loopback addresses too.
    pub loopback: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            inbound: MAX_INBOUND,
            outbound: MAX_OUTBOUND,
            loopback: false,
        }
    }
}

/// Everything an Otedama node speaks.
#[derive(NetworkBehaviour)]
#[allow(missing_debug_implementations)]
pub struct Behaviour {
    /// Refuses banned peers.
    pub blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    /// Caps connections: inbound and outbound apart.
    pub limits: connection_limits::Behaviour,
    /// Caps inbound connections per address and refuses banned addresses.
    pub guard: Guard,
    /// Learns peers' addresses, agents and protocols.
    pub identify: identify::Behaviour,
    /// Keeps connections alive and measures latency.
    pub ping: ping::Behaviour,
    /// Finds peers.
    pub kad: kad::Behaviour<kad::store::MemoryStore>,
    /// Spreads shares.
    pub gossipsub: gossipsub::Behaviour,
    /// Syncs the chain.
    pub sync: request_response::Behaviour<SyncCodec>,
}

/// The sync protocol's codec: one length-prefixed bincode message each way, with limits.
#[derive(Debug, Clone, Default)]
pub struct SyncCodec;

/// A sync request as the codec reads it: well-formed, or why not. A malformed request reaches the
/// actor (rather than failing the stream, which libp2p would not attribute to the peer), so that
/// its sender is punished and answered with a refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncCall {
    /// A request within the protocol's limits.
    Request(SyncRequest),
    /// Bytes that are not one, and why.
    Malformed(String),
}

async fn read_frame<T: AsyncRead + Unpin + Send>(io: &mut T, limit: usize) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_le_bytes(len) as usize;
    if len > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("sync message of {len} bytes is over the {limit}-byte limit"),
        ));
    }
    let mut buf = vec![0; len];
    io.read_exact(&mut buf).await?;
    Ok(buf)
}

async fn write_frame<T: AsyncWrite + Unpin + Send>(io: &mut T, bytes: &[u8]) -> io::Result<()> {
    let len = u32::try_from(bytes.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "message too long"))?;
    io.write_all(&len.to_le_bytes()).await?;
    io.write_all(bytes).await?;
    io.close().await
}

fn invalid(e: wire::WireError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

#[async_trait::async_trait]
impl request_response::Codec for SyncCodec {
    type Protocol = StreamProtocol;
    type Request = SyncCall;
    type Response = SyncResponse;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<SyncCall>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = match read_frame(io, wire::MAX_REQUEST_BYTES).await {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                return Ok(SyncCall::Malformed(e.to_string()))
            }
            Err(e) => return Err(e),
        };
        Ok(match wire::decode_request(&bytes) {
            Ok(request) => SyncCall::Request(request),
            Err(e) => SyncCall::Malformed(e.to_string()),
        })
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<SyncResponse>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = read_frame(io, wire::MAX_RESPONSE_BYTES).await?;
        wire::decode_response(&bytes).map_err(invalid)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: SyncCall,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        match req {
            SyncCall::Request(req) => write_frame(io, &wire::encode(&req)).await,
            SyncCall::Malformed(_) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a malformed request is never sent",
            )),
        }
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: SyncResponse,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &wire::encode(&res)).await
    }
}

/// Gossipsub peer scoring for the share topic: nothing rewards or punishes message rates (shares
/// are rare), but every invalid message costs a lot, so a peer that sends garbage, oversized
/// messages or invalid shares drops below the ban line at once.
fn score_params(
    topic: &IdentTopic,
) -> (gossipsub::PeerScoreParams, gossipsub::PeerScoreThresholds) {
    let topic_params = gossipsub::TopicScoreParams {
        topic_weight: 1.0,
        time_in_mesh_weight: 0.01,
        time_in_mesh_quantum: Duration::from_secs(1),
        time_in_mesh_cap: 100.0,
        first_message_deliveries_weight: 1.0,
        first_message_deliveries_decay: 0.9,
        first_message_deliveries_cap: 10.0,
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        invalid_message_deliveries_weight: -100.0,
        // Slow decay: a peer stays below the ban line long enough for the actor's check.
        invalid_message_deliveries_decay: 0.99,
        ..gossipsub::TopicScoreParams::default()
    };
    let params = gossipsub::PeerScoreParams {
        topics: HashMap::from([(topic.hash(), topic_params)]),
        // Tests and small pools run many nodes on one address.
        ip_colocation_factor_weight: 0.0,
        ..gossipsub::PeerScoreParams::default()
    };
    (params, gossipsub::PeerScoreThresholds::default())
}

/// Builds the behaviour for a node with `key` on the sharechain `consensus`, with the default
/// [`Limits`].
pub fn behaviour(key: &Keypair, consensus: &ConsensusId, agent: &str) -> Result<Behaviour> {
    behaviour_with(key, consensus, agent, Limits::default())
}

/// [`behaviour`] with `limits`.
pub fn behaviour_with(
    key: &Keypair,
    consensus: &ConsensusId,
    agent: &str,
    limits: Limits,
) -> Result<Behaviour> {
    let peer_id = key.public().to_peer_id();
    let topic = IdentTopic::new(wire::share_topic(consensus));
    let gossip_config = gossipsub::ConfigBuilder::default()
        .validation_mode(ValidationMode::Strict)
        .validate_messages()
        .heartbeat_interval(Duration::from_millis(700))
        .max_transmit_size(64 * 1024)
        .max_transmit_size_for_topic(wire::MAX_GOSSIP_BYTES, topic.hash())
        .history_length(18)
        .history_gossip(5)
        .build()
        .map_err(|e| anyhow::anyhow!("gossipsub configuration: {e}"))?;
    let mut gossipsub =
        gossipsub::Behaviour::new(MessageAuthenticity::Signed(key.clone()), gossip_config)
            .map_err(|e| anyhow::anyhow!("gossipsub: {e}"))?;
    let (params, thresholds) = score_params(&topic);
    gossipsub
        .with_peer_score(params, thresholds)
        .map_err(|e| anyhow::anyhow!("gossipsub scoring: {e}"))?;
    gossipsub
        .subscribe(&topic)
        .map_err(|e| anyhow::anyhow!("cannot subscribe to {topic}: {e}"))?;

    let mut kad_config = kad::Config::new(StreamProtocol::new(wire::KAD_PROTOCOL));
    kad_config.set_query_timeout(Duration::from_secs(30));
    kad_config.set_periodic_bootstrap_interval(Some(Duration::from_secs(120)));
    let mut kad =
        kad::Behaviour::with_config(peer_id, kad::store::MemoryStore::new(peer_id), kad_config);
    kad.set_mode(Some(kad::Mode::Server));

    let sync_protocol = StreamProtocol::try_from_owned(wire::sync_protocol(consensus))
        .context("sync protocol name")?;
    let sync = request_response::Behaviour::with_codec(
        SyncCodec,
        [(sync_protocol, request_response::ProtocolSupport::Full)],
        request_response::Config::default()
            .with_request_timeout(Duration::from_secs(20))
            .with_max_concurrent_streams(32),
    );

    Ok(Behaviour {
        blocked: allow_block_list::Behaviour::default(),
        limits: connection_limits::Behaviour::new(
            connection_limits::ConnectionLimits::default()
                .with_max_established_incoming(Some(limits.inbound))
                .with_max_established_outgoing(Some(limits.outbound))
                .with_max_established_per_peer(Some(2))
                .with_max_pending_incoming(Some(16)),
        ),
        guard: Guard::new(limits.loopback),
        identify: identify::Behaviour::new(
            identify::Config::new(wire::IDENTIFY_PROTOCOL.to_owned(), key.public())
                .with_agent_version(agent.to_owned())
                .with_interval(Duration::from_secs(300)),
        ),
        ping: ping::Behaviour::new(ping::Config::new().with_interval(Duration::from_secs(10))),
        kad,
        gossipsub,
        sync,
    })
}

/// Builds a swarm over TCP + Noise + Yamux running [`behaviour`].
pub fn swarm(key: Keypair, consensus: &ConsensusId, agent: &str) -> Result<Swarm<Behaviour>> {
    swarm_with(key, consensus, agent, Limits::default())
}

/// [`swarm`] with `limits`.
pub fn swarm_with(
    key: Keypair,
    consensus: &ConsensusId,
    agent: &str,
    limits: Limits,
) -> Result<Swarm<Behaviour>> {
    let behaviour = behaviour_with(&key, consensus, agent, limits)?;
    let swarm = libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .context("cannot set up the TCP transport")?
        .with_behaviour(|_| behaviour)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(120)))
        .build();
    Ok(swarm)
}
