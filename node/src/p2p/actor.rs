//! The actor that owns the swarm: one event loop over swarm events, commands from the node,
//! finished chain-worker jobs and timers. See `docs/protocol.md` for what each message means.

use super::behaviour::{Behaviour, BehaviourEvent, SyncCall};
use super::identity::{split_peer_addr, PeerBook};
use super::judge;
use super::peers::{self, Fault, PeerTable, BAN_GOSSIP_SCORE, IDS_COST};
use super::sync::{self as sync_queue, Source, SyncQueue, PER_PEER, QUEUE_AHEAD, SLACK};
use super::vote::Answer;
use super::wire::{self, ChainStatus, SyncRequest, SyncResponse};
use super::worker::{self, ChainDone, ChainJob, FailedJob, Verdict};
use super::{Command, NetworkConfig, NetworkView};
use crate::work::chain::SharedChain;
use futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, MessageId};
use libp2p::request_response::{self, InboundRequestId, OutboundRequestId, ResponseChannel};
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::swarm::SwarmEvent;
use libp2p::{identify, kad, ping, Multiaddr, PeerId, Swarm};
use otedama_proto::hash::ShareId;
use otedama_proto::target::Work;
use otedama_sharechain::codec::encode_share;
use otedama_sharechain::ConsensusId;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, watch, Notify};
use tracing::{debug, info, warn};

/// Peers the node tries to stay connected to.
const TARGET_PEERS: usize = 8;
/// How long a node with peers configured waits for one before it mines alone.
const ALONE_AFTER: Duration = Duration::from_secs(20);
/// How long a gossiped share waits for its parent before it is dropped unforwarded.
const PENDING_FOR: Duration = Duration::from_secs(10);
/// Jobs queued for the chain worker, and results queued back.
const JOB_QUEUE: usize = 64;
/// Share batches requested or waiting for the worker, over all peers: bounds the batches held
/// back in `overflow` when the worker queue is full.
const MAX_BATCHES: usize = 32;
/// How long a peer charged for a malformed request keeps its connection after our `Refused` was
/// sent, so that the refusal reaches it before the ban closes the connection.
const REFUSAL_GRACE: Duration = Duration::from_secs(1);
/// How long a starting node waits for every connected peer's status before it decides it is
/// synced with those that answered.
const STATUS_GRACE: Duration = Duration::from_secs(5);

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A gossiped share waiting for its parent before it may be forwarded.
#[derive(Debug)]
struct Pending {
    message_id: MessageId,
    source: PeerId,
    since: Instant,
}

pub(crate) struct Actor {
    swarm: Swarm<Behaviour>,
    topic: IdentTopic,
    provider_key: kad::RecordKey,
    config: NetworkConfig,
    book: PeerBook,
    chain: SharedChain,
    peers: PeerTable,
    sync: SyncQueue,
    pending: HashMap<ShareId, Pending>,
    jobs: std_mpsc::SyncSender<ChainJob>,
    /// Sync batches the full worker queue could not take yet; handed over as results come
    /// back, so the event loop never blocks on the worker (which may itself be waiting for the
    /// loop to take its results). At most [`MAX_BATCHES`].
    overflow: VecDeque<ChainJob>,
    done: mpsc::Receiver<ChainDone>,
    worker: Option<std::thread::JoinHandle<()>>,
    view: Arc<Mutex<NetworkView>>,
    synced_tx: watch::Sender<bool>,
    synced: bool,
    /// Our chain's sync protocol, which identify shows for peers of the same chain.
    sync_protocol: libp2p::StreamProtocol,
    started: Instant,
    expect_peers: bool,
    heard_status: bool,
    bootstrapped: bool,
    gossip_accepted: u64,
    gossip_invalid: u64,
    /// The chain worker's last failure, until a later job succeeds (shown in status).
    chain_error: Option<String>,
    /// Peers whose malformed request is being answered `Refused`: charged once the answer is
    /// sent (or fails), so that the ban does not close the connection before the refusal.
    refusing: HashMap<InboundRequestId, (PeerId, String)>,
    /// Refused peers to charge once [`REFUSAL_GRACE`] has passed, with when the refusal left.
    refused: Vec<(Instant, PeerId, String)>,
    chain_errors: u64,
    /// Sync answers read from the chain on the blocking pool, to be sent by the loop.
    answers_tx: mpsc::UnboundedSender<SyncAnswer>,
    answers: mpsc::UnboundedReceiver<SyncAnswer>,
}

/// A sync answer built off the event loop: who asked, where to answer, what.
type SyncAnswer = (PeerId, ResponseChannel<SyncResponse>, SyncResponse);

impl std::fmt::Debug for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Actor")
            .field("peer_id", self.swarm.local_peer_id())
            .finish_non_exhaustive()
    }
}

impl Actor {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        swarm: Swarm<Behaviour>,
        consensus: ConsensusId,
        config: NetworkConfig,
        book: PeerBook,
        chain: SharedChain,
        tip_changed: Arc<Notify>,
        view: Arc<Mutex<NetworkView>>,
        synced_tx: watch::Sender<bool>,
    ) -> Self {
        let (jobs_tx, jobs_rx) = std_mpsc::sync_channel(JOB_QUEUE);
        let (done_tx, done_rx) = mpsc::channel(JOB_QUEUE);
        let worker = worker::spawn(chain.clone(), tip_changed, jobs_rx, done_tx);
        let expect_peers = !config.bootstrap.is_empty() || !book.is_empty();
        let (answers_tx, answers) = mpsc::unbounded_channel();
        Actor {
            topic: IdentTopic::new(wire::share_topic(&consensus)),
            provider_key: kad::RecordKey::new(&wire::share_topic(&consensus)),
            swarm,
            config,
            book,
            chain,
            peers: PeerTable::default(),
            sync: SyncQueue::default(),
            pending: HashMap::new(),
            jobs: jobs_tx,
            overflow: VecDeque::new(),
            done: done_rx,
            worker: Some(worker),
            view,
            synced_tx,
            synced: false,
            sync_protocol: libp2p::StreamProtocol::try_from_owned(wire::sync_protocol(&consensus))
                .expect("the sync protocol name starts with a slash"),
            started: Instant::now(),
            expect_peers,
            heard_status: false,
            bootstrapped: false,
            gossip_accepted: 0,
            gossip_invalid: 0,
            chain_error: None,
            chain_errors: 0,
            refusing: HashMap::new(),
            refused: Vec::new(),
            answers_tx,
            answers,
        }
    }

    pub(crate) async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        info!(peer_id = %self.swarm.local_peer_id(), listen = %self.config.listen, "peer-to-peer network starting");
        self.dial_known();
        let mut second = tokio::time::interval(Duration::from_secs(1));
        let mut status_round = tokio::time::interval(Duration::from_secs(10));
        let mut discovery = tokio::time::interval_at(
            tokio::time::Instant::now() + Duration::from_secs(30),
            Duration::from_secs(30),
        );
        let mut minute = tokio::time::interval(Duration::from_secs(60));
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm(event),
                Some(command) = commands.recv() => self.on_command(command),
                Some(done) = self.done.recv() => self.on_done(done),
                Some((peer, channel, response)) = self.answers.recv() => {
                    self.send_answer(peer, channel, response);
                }
                _ = second.tick() => self.every_second(),
                _ = status_round.tick() => self.ask_status_all(),
                _ = discovery.tick() => self.discover(),
                _ = minute.tick() => self.every_minute(),
                _ = shutdown.wait_for(|s| *s) => break,
            }
        }
        if let Err(e) = self.book.save() {
            warn!(error = %e, "cannot save the remembered peers");
        }
        let Actor { jobs, worker, .. } = self;
        drop(jobs);
        if let Some(worker) = worker {
            let _ = tokio::task::spawn_blocking(move || worker.join()).await;
        }
        info!("peer-to-peer network stopped");
    }

    // ---- start and discovery ----

    fn dial_known(&mut self) {
        for addr in self.config.bootstrap.clone() {
            let (peer, rest) = split_peer_addr(&addr);
            if let Some(peer) = peer {
                self.swarm.behaviour_mut().kad.add_address(&peer, rest);
            }
            if let Err(e) = self.swarm.dial(addr.clone()) {
                warn!(%addr, error = %e, "cannot dial bootstrap peer");
            }
        }
        for (peer, addrs) in self.book.peers().into_iter().take(2 * TARGET_PEERS) {
            for addr in &addrs {
                self.swarm
                    .behaviour_mut()
                    .kad
                    .add_address(&peer, addr.clone());
            }
            self.dial_peer(peer, addrs);
        }
    }

    fn dial_peer(&mut self, peer: PeerId, addrs: Vec<Multiaddr>) {
        if peer == *self.swarm.local_peer_id()
            || self.peers.is_banned(&peer)
            || self.swarm.is_connected(&peer)
        {
            return;
        }
        let opts = DialOpts::peer_id(peer).addresses(addrs).build();
        if let Err(e) = self.swarm.dial(opts) {
            debug!(%peer, error = %e, "dial failed");
        }
    }

    /// Whether to dial more peers of our chain (peers of other chains do not count).
    fn wants_peers(&self) -> bool {
        self.peers.members() < TARGET_PEERS
    }

    fn discover(&mut self) {
        if self.peers.connected.is_empty() {
            // Everyone left: try the bootstrap and remembered peers again.
            self.dial_known();
            return;
        }
        let kad = &mut self.swarm.behaviour_mut().kad;
        kad.get_providers(self.provider_key.clone());
        kad.get_closest_peers(PeerId::random());
    }

    fn on_first_connection(&mut self) {
        if self.bootstrapped {
            return;
        }
        self.bootstrapped = true;
        let kad = &mut self.swarm.behaviour_mut().kad;
        let _ = kad.bootstrap();
        if let Err(e) = kad.start_providing(self.provider_key.clone()) {
            warn!(error = %e, "cannot announce this node in the DHT");
        }
        kad.get_providers(self.provider_key.clone());
    }

    // ---- swarm events ----

    fn on_swarm(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                info!(%address, peer_id = %self.swarm.local_peer_id(), "listening for peers");
                self.publish_view();
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                endpoint,
                num_established,
                ..
            } => {
                if self.peers.is_banned(&peer_id) {
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                    return;
                }
                let outbound = endpoint.is_dialer();
                self.peers
                    .connected(peer_id, endpoint.get_remote_address().clone(), outbound);
                if num_established.get() == 1 {
                    debug!(peer = %peer_id, addr = %endpoint.get_remote_address(), outbound, "peer connected");
                    if outbound {
                        let (_, addr) = split_peer_addr(endpoint.get_remote_address());
                        self.book.seen(peer_id, addr, unix_now());
                    }
                    self.ask_status(peer_id);
                    self.on_first_connection();
                }
                self.publish_view();
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established,
                ..
            } => {
                if self.peers.disconnected(&peer_id, num_established) {
                    debug!(peer = %peer_id, "peer disconnected");
                    self.sync.peer_gone(&peer_id);
                    self.schedule_bodies();
                }
                self.publish_view();
            }
            SwarmEvent::IncomingConnectionError {
                error,
                send_back_addr,
                ..
            } => {
                debug!(addr = %send_back_addr, error = %error, "incoming connection failed");
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                debug!(peer = ?peer_id, error = %error, "outgoing connection failed");
            }
            SwarmEvent::Behaviour(event) => self.on_behaviour(event),
            _ => {}
        }
    }

    fn on_behaviour(&mut self, event: BehaviourEvent) {
        match event {
            BehaviourEvent::Gossipsub(event) => self.on_gossip(event),
            BehaviourEvent::Sync(event) => self.on_sync(event),
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }) => {
                let kad_protocol = libp2p::StreamProtocol::new(wire::KAD_PROTOCOL);
                let speaks_kad = info.protocols.contains(&kad_protocol);
                let member = info.protocols.contains(&self.sync_protocol);
                if let Some(peer) = self.peers.connected.get_mut(&peer_id) {
                    peer.agent = Some(info.agent_version.clone());
                    peer.listen_addrs = info.listen_addrs.clone();
                    peer.member = Some(member);
                }
                if !member {
                    self.book.forget(&peer_id);
                }
                for addr in info.listen_addrs.into_iter().take(8) {
                    if speaks_kad {
                        self.swarm
                            .behaviour_mut()
                            .kad
                            .add_address(&peer_id, addr.clone());
                    }
                    // Only our chain's peers are worth dialling again after a restart.
                    if member {
                        self.book.seen(peer_id, addr, unix_now());
                    }
                }
            }
            BehaviourEvent::Ping(ping::Event { peer, result, .. }) => {
                if let (Ok(rtt), Some(p)) = (result, self.peers.connected.get_mut(&peer)) {
                    p.latency = Some(rtt);
                }
            }
            BehaviourEvent::Kad(event) => self.on_kad(event),
            _ => {}
        }
    }

    fn on_kad(&mut self, event: kad::Event) {
        match event {
            kad::Event::RoutingUpdated {
                peer, addresses, ..
            } if self.wants_peers() => self.dial_peer(peer, addresses.into_vec()),
            kad::Event::OutboundQueryProgressed { result, .. } => match result {
                kad::QueryResult::GetProviders(Ok(kad::GetProvidersOk::FoundProviders {
                    providers,
                    ..
                })) => {
                    for peer in providers {
                        if self.wants_peers() {
                            self.dial_peer(peer, Vec::new());
                        }
                    }
                }
                kad::QueryResult::GetClosestPeers(Ok(ok)) => {
                    for info in ok.peers {
                        if self.wants_peers() {
                            self.dial_peer(info.peer_id, info.addrs);
                        }
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }

    // ---- gossip ----

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Publish(bytes) => {
                let topic = self.topic.clone();
                match self.swarm.behaviour_mut().gossipsub.publish(topic, bytes) {
                    Ok(_) => {}
                    Err(gossipsub::PublishError::NoPeersSubscribedToTopic) => {
                        debug!("share not gossiped: no peers yet");
                    }
                    Err(e) => warn!(error = %e, "cannot gossip a share"),
                }
            }
        }
    }

    fn on_gossip(&mut self, event: gossipsub::Event) {
        let gossipsub::Event::Message {
            propagation_source,
            message_id,
            message,
        } = event
        else {
            return;
        };
        if message.topic != self.topic.hash() {
            self.validate(&message_id, &propagation_source, MessageAcceptance::Reject);
            return;
        }
        let job = ChainJob::Gossip {
            source: propagation_source,
            message_id: message_id.clone(),
            bytes: message.data,
        };
        if self.jobs.try_send(job).is_err() {
            debug!("chain worker busy; a gossiped share is left to sync");
            self.validate(&message_id, &propagation_source, MessageAcceptance::Ignore);
        }
    }

    fn validate(&mut self, id: &MessageId, source: &PeerId, acceptance: MessageAcceptance) {
        self.swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(id, source, acceptance);
    }

    /// Hands a sync batch to the worker, or holds it back while the worker queue is full.
    fn submit_batch(&mut self, job: ChainJob) {
        self.sync.in_worker += 1;
        if !self.overflow.is_empty() {
            self.overflow.push_back(job);
            return;
        }
        if let Err(std_mpsc::TrySendError::Full(job)) = self.jobs.try_send(job) {
            self.overflow.push_back(job);
        }
    }

    /// Moves held-back batches into the worker queue as far as it has room.
    fn drain_overflow(&mut self) {
        while let Some(job) = self.overflow.pop_front() {
            if let Err(std_mpsc::TrySendError::Full(job)) = self.jobs.try_send(job) {
                self.overflow.push_front(job);
                return;
            }
        }
    }

    fn on_done(&mut self, done: ChainDone) {
        self.drain_overflow();
        if !matches!(done, ChainDone::Failed { .. }) && self.chain_error.take().is_some() {
            info!("the chain worker stores network shares again");
        }
        match done {
            ChainDone::Failed { job, error } => {
                self.chain_errors += 1;
                self.chain_error = Some(error);
                match job {
                    // Not forwarded; peers will send it again or sync brings it.
                    FailedJob::Gossip { source, message_id } => {
                        self.validate(&message_id, &source, MessageAcceptance::Ignore);
                    }
                    // Our failure, not the peer's: its ids are fetched again, without charge.
                    FailedJob::Batch { asked, .. } => {
                        self.sync.in_worker = self.sync.in_worker.saturating_sub(1);
                        self.sync.retry(&asked);
                        self.schedule_bodies();
                    }
                }
                self.update_synced();
            }
            ChainDone::Gossip {
                source,
                message_id,
                verdict,
            } => self.on_gossip_verdict(source, message_id, verdict),
            ChainDone::Batch {
                peer,
                accepted,
                unchecked,
                not_sent,
                skipped,
                waiting,
                missing,
                fault,
            } => {
                self.sync.in_worker = self.sync.in_worker.saturating_sub(1);
                self.sync.fetched += accepted.len() as u64;
                self.release_pending(&accepted, &unchecked);
                self.sync.done(&accepted);
                self.sync.done(&waiting);
                self.sync.done(&skipped);
                if let Some(reason) = fault {
                    self.punish(peer, Fault::Invalid, &reason);
                }
                // Shares it did not send (pruned, or it lied) go to another peer, a few times.
                if !not_sent.is_empty() {
                    self.sync.short.insert(peer);
                }
                self.sync.retry(&not_sent);
                // Uncles off the best chain are not in any `Ids` answer: fetch them by id.
                self.queue_missing(missing);
                self.schedule_bodies();
                self.continue_ids(peer);
                self.update_synced();
            }
        }
    }

    fn on_gossip_verdict(&mut self, source: PeerId, message_id: MessageId, verdict: Verdict) {
        match verdict {
            Verdict::Accepted {
                id,
                fully_checked,
                connected,
                unchecked,
                orphans_rejected,
            } => {
                self.gossip_accepted += 1;
                debug!(share = %id, from = %source, fully_checked, "gossiped share accepted");
                self.validate(&message_id, &source, judge::accepted(fully_checked));
                self.release_pending(&connected, &unchecked);
                for id in orphans_rejected {
                    if let Some(p) = self.pending.remove(&id) {
                        self.validate(&p.message_id, &p.source, MessageAcceptance::Reject);
                        self.punish(p.source, Fault::Invalid, "gossiped an invalid share");
                    }
                }
            }
            Verdict::Waiting { id, missing } => {
                self.queue_missing(missing.clone());
                debug!(share = %id, missing = missing.len(), from = %source, "gossiped share waits for its parent");
                self.pending.insert(
                    id,
                    Pending {
                        message_id,
                        source,
                        since: Instant::now(),
                    },
                );
                self.request_ids(source);
            }
            Verdict::Rejected { blame, reason } => {
                let (acceptance, fault) = judge::rejected(blame);
                self.validate(&message_id, &source, acceptance);
                if let Some(fault) = fault {
                    self.gossip_invalid += 1;
                    warn!(from = %source, %reason, "invalid share gossiped");
                    self.punish(
                        source,
                        fault,
                        &format!("gossiped an invalid share: {reason}"),
                    );
                } else {
                    debug!(from = %source, %reason, "gossiped share not taken");
                }
            }
        }
    }

    /// Queues shares that held shares wait for (parents, uncles) to be fetched by id.
    fn queue_missing(&mut self, missing: Vec<ShareId>) {
        if missing.is_empty() {
            return;
        }
        {
            let chain = self.chain.lock();
            self.sync.extend(missing, |id| chain.knows(id));
        }
        self.schedule_bodies();
    }

    /// Forwards gossiped shares that were waiting and are now accepted, unless a check was
    /// skipped for them (`unchecked`): those are dropped from gossip unforwarded.
    fn release_pending(&mut self, accepted: &[ShareId], unchecked: &[ShareId]) {
        for id in accepted {
            if let Some(p) = self.pending.remove(id) {
                let acceptance = judge::accepted(!unchecked.contains(id));
                self.validate(&p.message_id, &p.source, acceptance);
            }
        }
    }

    fn punish(&mut self, peer: PeerId, fault: Fault, reason: &str) {
        if let Some(reason) = self.peers.fault(peer, fault, reason) {
            self.ban(peer, &reason);
        }
    }

    fn ban(&mut self, peer: PeerId, reason: &str) {
        if !self.peers.is_banned(&peer) {
            self.peers.ban(peer, reason);
        }
        // Its address too: a new peer id costs nothing (§6).
        let address = self.peers.connected.get(&peer).map(|p| p.address.clone());
        let address_banned = address.as_ref().is_some_and(|addr| {
            self.swarm
                .behaviour_mut()
                .guard
                .ban(addr, Instant::now() + peers::BAN_DURATION)
        });
        warn!(%peer, %reason, ?address, address_banned, "peer banned");
        self.book.forget(&peer);
        let behaviour = self.swarm.behaviour_mut();
        behaviour.blocked.block_peer(peer);
        behaviour.kad.remove_peer(&peer);
        behaviour.gossipsub.blacklist_peer(&peer);
        self.sync.peer_gone(&peer);
        self.publish_view();
    }

    // ---- sync ----

    /// Whether `peer`, with `status`, has a best chain this node lacks, with more work. The
    /// claim of a doubted peer (one whose sync fell far short of it) does not count.
    fn is_ahead(&self, peer: &PeerId, status: &ChainStatus) -> bool {
        if !self.peers.believed(peer, Instant::now()) {
            return false;
        }
        // The lock only when the claim is heavier than our tip, which the summary says.
        let ours = self.chain.summary().chain_work.unwrap_or(Work::ZERO);
        status.work() > ours
            && status
                .tip()
                .is_some_and(|tip| !self.chain.lock().contains(&tip))
    }

    /// Once a sync whose source said it had nothing more is over, checks what it claimed
    /// against the chain work it brought: a claim far above it is doubted (ignored for
    /// [`peers::DOUBT_DURATION`]) and the peer scored down, so a peer that claims huge work
    /// can neither keep the node unsynced nor keep directing sync to itself.
    fn check_claim(&mut self) {
        if !self.sync.idle() {
            return;
        }
        let Some(peer) = self.sync.ended.take() else {
            return;
        };
        let Some(status) = self
            .peers
            .connected
            .get(&peer)
            .and_then(|p| p.status.clone())
        else {
            return;
        };
        let ours = self.chain.summary().chain_work.unwrap_or(Work::ZERO);
        if self.is_ahead(&peer, &status) && !peers::claim_kept(status.work(), ours) {
            warn!(%peer, "sync fell far short of the chain work the peer claimed; ignoring its claim");
            self.peers.doubt(peer, Instant::now());
            self.punish(
                peer,
                Fault::Unhelpful,
                "claimed chain work its sync did not bring",
            );
        }
    }

    fn ask_status(&mut self, peer: PeerId) {
        self.swarm
            .behaviour_mut()
            .sync
            .send_request(&peer, SyncCall::Request(SyncRequest::Status));
    }

    fn ask_status_all(&mut self) {
        let peers: Vec<PeerId> = self.peers.connected.keys().copied().collect();
        for peer in peers {
            self.ask_status(peer);
        }
    }

    /// Asks `peer` for the ids of its best chain after ours (or after the last queued id).
    fn request_ids(&mut self, peer: PeerId) {
        if self.sync.ids_inflight.contains_key(&peer) || self.sync.waiting() > QUEUE_AHEAD {
            return;
        }
        let mut locator: Vec<[u8; 32]> = Vec::new();
        if let Some(last) = self.sync.announced {
            locator.push(last.to_byte_array());
        }
        locator.extend(
            self.chain
                .lock()
                .locator()
                .into_iter()
                .map(ShareId::to_byte_array),
        );
        locator.truncate(wire::MAX_LOCATOR);
        let request = SyncRequest::Ids {
            locator,
            max: wire::MAX_IDS_PER_REQUEST as u32,
        };
        let id = self
            .swarm
            .behaviour_mut()
            .sync
            .send_request(&peer, SyncCall::Request(request));
        self.sync.ids_inflight.insert(peer, id);
        if self.sync.announced.is_none() {
            self.sync.fresh.insert(id);
        }
    }

    /// Asks every other peer that is ahead where the sync should start, so that the first
    /// answer is not taken alone (§5.4).
    fn ask_the_others(&mut self, answered: PeerId) {
        let ahead: Vec<PeerId> = self
            .peers
            .connected
            .iter()
            .filter(|(id, p)| {
                **id != answered && p.status.as_ref().is_some_and(|s| self.is_ahead(id, s))
            })
            .map(|(id, _)| *id)
            .collect();
        for peer in ahead {
            self.request_ids(peer);
        }
    }

    /// Starts the sync once the vote on its start is decided: each answer taken starts with a
    /// root; the first continues its ids exchange.
    fn decide_start(&mut self) {
        let waiting = self.sync.fresh_inflight();
        let Some(taken) = self.sync.vote.decide(waiting, Instant::now()) else {
            return;
        };
        if taken.len() > 1 {
            warn!(
                answers = taken.len(),
                "peers disagree where the chain starts; fetching every branch"
            );
        }
        for answer in &taken {
            self.sync.roots.insert(answer.ids[0]);
        }
        for answer in taken.iter().skip(1) {
            let chain = self.chain.lock();
            self.sync
                .extend(answer.ids.iter().copied(), |id| chain.knows(id));
        }
        let first = &taken[0];
        self.take_ids(first.peer, &first.ids, first.more);
    }

    /// Queues `ids` (oldest first) that `peer` announced and continues the exchange with it.
    fn take_ids(&mut self, peer: PeerId, ids: &[ShareId], more: bool) {
        if let Some(last) = ids.last() {
            self.sync.announced = Some(*last);
        }
        {
            let chain = self.chain.lock();
            self.sync.extend(ids.iter().copied(), |id| chain.knows(id));
        }
        if more {
            self.request_ids(peer);
        } else {
            self.sync.ended = Some(peer);
        }
        self.schedule_bodies();
    }

    /// Continues an `Ids` exchange with `peer` while it has more and the queue has room.
    fn continue_ids(&mut self, peer: PeerId) {
        let more = self
            .peers
            .connected
            .get(&peer)
            .and_then(|p| p.status.clone())
            .is_some_and(|s| self.is_ahead(&peer, &s));
        if more {
            self.request_ids(peer);
        }
    }

    fn schedule_bodies(&mut self) {
        let now = Instant::now();
        let sources: Vec<Source> = self
            .peers
            .connected
            .iter()
            .map(|(id, p)| Source {
                peer: *id,
                work: p
                    .status
                    .as_ref()
                    .filter(|s| s.tip.is_some())
                    .map(ChainStatus::work),
                believed: self.peers.believed(id, now),
            })
            .collect();
        let ours = self.chain.summary().chain_work.unwrap_or(Work::ZERO);
        let mut candidates = sync_queue::body_sources(&sources, ours, &self.sync.short);
        candidates.sort_by_key(|p| self.sync.inflight_to(p));
        'outer: while self.sync.waiting() > 0 {
            for peer in &candidates {
                if self.sync.waiting() == 0 {
                    break 'outer;
                }
                if self.sync.bodies.len() + self.sync.in_worker >= MAX_BATCHES {
                    break 'outer;
                }
                if self.sync.inflight_to(peer) >= PER_PEER {
                    continue;
                }
                let batch = self.sync.next_batch();
                let ids: Vec<[u8; 32]> = batch.iter().map(|i| i.to_byte_array()).collect();
                let req = self
                    .swarm
                    .behaviour_mut()
                    .sync
                    .send_request(peer, SyncCall::Request(SyncRequest::Shares(ids)));
                self.sync.bodies.insert(req, (*peer, batch));
            }
            if candidates
                .iter()
                .all(|p| self.sync.inflight_to(p) >= PER_PEER)
            {
                break;
            }
        }
        self.publish_view();
    }

    fn on_sync(&mut self, event: request_response::Event<SyncCall, SyncResponse>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request: SyncCall::Request(request),
                    channel,
                    ..
                } => self.answer(peer, request, channel),
                request_response::Message::Request {
                    request: SyncCall::Malformed(reason),
                    channel,
                    request_id,
                } => {
                    // Answered first, charged when the answer is out (§5.5).
                    let refusal = SyncResponse::Refused(reason.chars().take(200).collect());
                    let why = format!("malformed sync request: {reason}");
                    let sent = self
                        .swarm
                        .behaviour_mut()
                        .sync
                        .send_response(channel, refusal);
                    if sent.is_ok() {
                        self.refusing.insert(request_id, (peer, why));
                    } else {
                        self.punish(peer, Fault::Invalid, &why);
                    }
                }
                request_response::Message::Response {
                    request_id,
                    response,
                } => self.on_response(peer, request_id, response),
            },
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                debug!(%peer, error = %error, "sync request failed");
                if self.sync.ids_inflight.get(&peer) == Some(&request_id) {
                    self.sync.ids_inflight.remove(&peer);
                }
                if let Some((_, ids)) = self.sync.bodies.remove(&request_id) {
                    self.sync.short.insert(peer);
                    self.sync.retry(&ids);
                    self.schedule_bodies();
                }
                match &error {
                    request_response::OutboundFailure::Io(e)
                        if e.kind() == std::io::ErrorKind::InvalidData =>
                    {
                        self.punish(
                            peer,
                            Fault::Invalid,
                            &format!("broken sync answer: {error}"),
                        );
                    }
                    // A peer of another chain (or another implementation) without our sync
                    // protocol: not a fault; it is simply not used for sync.
                    request_response::OutboundFailure::UnsupportedProtocols
                    | request_response::OutboundFailure::ConnectionClosed
                    | request_response::OutboundFailure::DialFailure => {}
                    _ => self.punish(
                        peer,
                        Fault::Unhelpful,
                        &format!("sync request failed: {error}"),
                    ),
                }
            }
            request_response::Event::InboundFailure {
                peer,
                error,
                request_id,
                ..
            } => {
                if let Some((peer, why)) = self.refusing.remove(&request_id) {
                    self.refused.push((Instant::now(), peer, why));
                    return;
                }
                if matches!(&error, request_response::InboundFailure::Io(e) if e.kind() == std::io::ErrorKind::InvalidData)
                {
                    self.punish(
                        peer,
                        Fault::Invalid,
                        &format!("broken sync request: {error}"),
                    );
                }
            }
            request_response::Event::ResponseSent { request_id, .. } => {
                if let Some((peer, why)) = self.refusing.remove(&request_id) {
                    self.refused.push((Instant::now(), peer, why));
                }
            }
        }
    }

    fn answer(
        &mut self,
        peer: PeerId,
        request: SyncRequest,
        channel: ResponseChannel<SyncResponse>,
    ) {
        let cost = match request {
            SyncRequest::Ids { .. } => IDS_COST,
            SyncRequest::Status | SyncRequest::Shares(_) => 1.0,
        };
        if !self.peers.spend(&peer, cost, Instant::now()) {
            self.punish(peer, Fault::Unhelpful, "too many sync requests");
            let refusal = SyncResponse::Refused("rate limited".into());
            let _ = self
                .swarm
                .behaviour_mut()
                .sync
                .send_response(channel, refusal);
            return;
        }
        let request = match request {
            SyncRequest::Status => {
                // From the figures published on the tip's last move: never waits for the lock.
                let summary = self.chain.summary();
                let status = ChainStatus::new(summary.tip, summary.height, summary.chain_work);
                self.send_answer(peer, channel, SyncResponse::Status(status));
                return;
            }
            request => request,
        };
        // Ids and shares are read under the chain's lock, which the worker may hold for a while:
        // on the blocking pool, so that gossip, other peers and the runtime go on meanwhile.
        // How many run at once is bounded by each peer's request budget (`PeerTable::spend`).
        let chain = self.chain.clone();
        let answers = self.answers_tx.clone();
        tokio::task::spawn_blocking(move || {
            let response = read_answer(&chain, request);
            let _ = answers.send((peer, channel, response));
        });
    }

    /// Sends a sync answer (the peer may have left meanwhile).
    fn send_answer(
        &mut self,
        peer: PeerId,
        channel: ResponseChannel<SyncResponse>,
        response: SyncResponse,
    ) {
        if self
            .swarm
            .behaviour_mut()
            .sync
            .send_response(channel, response)
            .is_err()
        {
            debug!(%peer, "sync answer not sent: the peer left");
        }
    }

    fn on_response(&mut self, peer: PeerId, request_id: OutboundRequestId, response: SyncResponse) {
        match response {
            SyncResponse::Status(status) => {
                self.heard_status = true;
                let ahead = self.is_ahead(&peer, &status);
                if let Some(p) = self.peers.connected.get_mut(&peer) {
                    p.status = Some(status);
                }
                if ahead {
                    self.request_ids(peer);
                }
                self.update_synced();
            }
            SyncResponse::Ids { ids, more } => {
                if self.sync.ids_inflight.get(&peer) != Some(&request_id) {
                    self.punish(peer, Fault::Invalid, "unsolicited ids");
                    return;
                }
                self.sync.ids_inflight.remove(&peer);
                let ids: Vec<ShareId> = ids.into_iter().map(ShareId::from_byte_array).collect();
                // An empty answer needs no start: it only says the peer has nothing more.
                if self.sync.fresh.remove(&request_id) && !ids.is_empty() {
                    if self.sync.announced.is_none() {
                        // A first answer: held until the start is decided (§5.4).
                        self.sync
                            .vote
                            .add(Answer { peer, ids, more }, Instant::now());
                        self.ask_the_others(peer);
                    } else {
                        // Asked before the start was decided: continue from it instead.
                        self.continue_ids(peer);
                    }
                } else {
                    self.take_ids(peer, &ids, more);
                }
                self.update_synced();
            }
            SyncResponse::Shares(shares) => {
                let Some((from, asked)) = self.sync.bodies.remove(&request_id) else {
                    self.punish(peer, Fault::Invalid, "unsolicited shares");
                    return;
                };
                let roots: HashSet<ShareId> = asked
                    .iter()
                    .filter(|id| self.sync.roots.contains(id))
                    .copied()
                    .collect();
                let job = ChainJob::Batch {
                    peer: from,
                    asked: asked.clone(),
                    shares,
                    roots,
                };
                self.submit_batch(job);
                self.schedule_bodies();
            }
            SyncResponse::Refused(reason) => {
                if self.sync.ids_inflight.get(&peer) == Some(&request_id) {
                    self.sync.ids_inflight.remove(&peer);
                }
                if let Some((_, ids)) = self.sync.bodies.remove(&request_id) {
                    self.sync.short.insert(peer);
                    self.sync.retry(&ids);
                }
                self.punish(
                    peer,
                    Fault::Unhelpful,
                    &format!("refused a sync request: {reason}"),
                );
            }
        }
    }

    fn update_synced(&mut self) {
        self.decide_start();
        self.check_claim();
        self.sync.reconcile();
        let caught_up = self.sync.outstanding() <= SLACK;
        let synced = if self.synced {
            // Once synced, only a real gap (more than gossip's slack) counts as behind.
            caught_up
        } else {
            let statuses: Vec<(PeerId, Option<ChainStatus>)> = self
                .peers
                .connected
                .iter()
                .map(|(id, p)| (*id, p.status.clone()))
                .collect();
            let all_answered = statuses.iter().all(|(_, s)| s.is_some());
            let behind = statuses
                .iter()
                .any(|(id, s)| s.as_ref().is_some_and(|s| self.is_ahead(id, s)));
            let heard = self.heard_status
                && (all_answered || self.started.elapsed() >= STATUS_GRACE)
                && !behind
                && self.sync.idle();
            let alone = !self.expect_peers
                || (self.peers.connected.is_empty() && self.started.elapsed() >= ALONE_AFTER);
            (heard || alone) && caught_up && self.sync.in_worker == 0
        };
        if synced != self.synced {
            self.synced = synced;
            let height = self.chain.summary().height;
            if synced {
                info!(
                    ?height,
                    fetched = self.sync.fetched,
                    "sharechain synced with the network"
                );
            } else {
                info!(
                    ?height,
                    missing = self.sync.outstanding(),
                    "sharechain behind the network; syncing"
                );
            }
            let _ = self.synced_tx.send(synced);
        }
        self.publish_view();
    }

    // ---- timers ----

    fn every_second(&mut self) {
        self.drain_overflow();
        let due: Vec<(PeerId, String)> = {
            let (due, wait): (Vec<_>, Vec<_>) = std::mem::take(&mut self.refused)
                .into_iter()
                .partition(|(at, _, _)| at.elapsed() >= REFUSAL_GRACE);
            self.refused = wait;
            due.into_iter().map(|(_, p, why)| (p, why)).collect()
        };
        for (peer, why) in due {
            self.punish(peer, Fault::Invalid, &why);
        }
        // Gossipsub scores catch what our own checks never see (oversized or unsigned messages).
        let gossip = &self.swarm.behaviour().gossipsub;
        let low: Vec<(PeerId, f64)> = self
            .peers
            .connected
            .keys()
            .filter_map(|p| gossip.peer_score(p).map(|s| (*p, s)))
            .filter(|(_, s)| *s < BAN_GOSSIP_SCORE)
            .collect();
        for (peer, score) in low {
            self.ban(
                peer,
                &format!("gossipsub score {score:.0}: invalid messages"),
            );
        }
        let expired: Vec<ShareId> = self
            .pending
            .iter()
            .filter(|(_, p)| p.since.elapsed() > PENDING_FOR)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            if let Some(p) = self.pending.remove(&id) {
                self.validate(&p.message_id, &p.source, MessageAcceptance::Ignore);
            }
        }
        if self.peers.connected.is_empty() && self.bootstrapped {
            // Lost every peer: find them again.
            self.bootstrapped = false;
        }
        self.update_synced();
    }

    fn every_minute(&mut self) {
        for peer in self.peers.tick(Instant::now()) {
            let behaviour = self.swarm.behaviour_mut();
            behaviour.blocked.unblock_peer(peer);
            behaviour.gossipsub.remove_blacklisted_peer(&peer);
            info!(%peer, "ban over");
        }
        if let Err(e) = self.book.save() {
            warn!(error = %e, "cannot save the remembered peers");
        }
    }

    fn publish_view(&mut self) {
        let gossip = &self.swarm.behaviour().gossipsub;
        let peers = self.peers.views(|p| gossip.peer_score(p).unwrap_or(0.0));
        let best_peer_height = self
            .peers
            .connected
            .values()
            .filter_map(|p| {
                p.status
                    .as_ref()
                    .filter(|s| s.tip.is_some())
                    .map(|s| s.height)
            })
            .max();
        let state = if self.synced {
            if self.peers.connected.is_empty() && self.expect_peers {
                "alone"
            } else {
                "synced"
            }
        } else if self.sync.outstanding() > 0 {
            "syncing"
        } else {
            "starting"
        };
        let listen: Vec<String> = self.swarm.listeners().map(ToString::to_string).collect();
        let mut view = self
            .view
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        view.listen = listen;
        view.peers = peers;
        view.banned = self.peers.ban_views(Instant::now());
        view.sync.synced = self.synced;
        view.sync.state = state.into();
        view.sync.best_peer_height = best_peer_height;
        view.sync.queued = self.sync.outstanding();
        view.sync.fetched = self.sync.fetched;
        view.sync.chain_error = self.chain_error.clone();
        view.sync.chain_errors = self.chain_errors;
        view.gossip_accepted = self.gossip_accepted;
        view.gossip_invalid = self.gossip_invalid;
    }
}

/// The answer to an `Ids` or `Shares` request, read under the chain's lock (a `Status` request
/// is answered from the published summary, without it).
fn read_answer(chain: &SharedChain, request: SyncRequest) -> SyncResponse {
    let chain = chain.lock();
    match request {
        SyncRequest::Status => SyncResponse::Status(ChainStatus::new(
            chain.tip(),
            chain.height(),
            chain.chain_work(),
        )),
        SyncRequest::Ids { locator, max } => {
            let locator: Vec<ShareId> = locator.into_iter().map(ShareId::from_byte_array).collect();
            let max = (max as usize).min(wire::MAX_IDS_PER_REQUEST);
            let depth = 2 * chain.consensus().params().window_shares as usize + 12;
            // Bounded by the distinct locator ids and the ids returned (§5.3).
            let (ids, more) = chain.ids_after_bounded(&locator, max, depth);
            SyncResponse::Ids {
                ids: ids.into_iter().map(ShareId::to_byte_array).collect(),
                more,
            }
        }
        SyncRequest::Shares(ids) => SyncResponse::Shares(
            ids.into_iter()
                .filter_map(|id| {
                    chain
                        .get_share(&ShareId::from_byte_array(id))
                        .ok()
                        .flatten()
                })
                .map(|s| encode_share(&s))
                .collect(),
        ),
    }
}
