//! A hostile peer, end to end: real `otedama node` processes on loopback sharing a real litecoind
//! regtest pair, and hostile libp2p peers built in this process that speak exactly the node's
//! protocols and then lie. A peer sending garbage, an invalid (well-formed) share, an oversized
//! message or a broken sync request is banned, and nothing it sent is stored or forwarded; raw
//! garbage on the peer-to-peer port does not hurt the node; a ban shuts out the banned peer's
//! address under any peer id.

use anyhow::{bail, ensure, Context, Result};
use futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageAuthenticity, ValidationMode};
use libp2p::identity::Keypair;
use libp2p::swarm::SwarmEvent;
use libp2p::{kad, noise, request_response, tcp, yamux, Multiaddr, PeerId, StreamProtocol, Swarm};
use otedama_node::daemon::regtest::RegtestPair;
use otedama_node::p2p::behaviour::{self, Behaviour, BehaviourEvent, SyncCall};
use otedama_node::p2p::wire::{self, ChainStatus, SyncRequest, SyncResponse};
use otedama_sharechain::codec::{decode_share, encode_share};
use otedama_sharechain::ConsensusId;
use otedama_tests::fixture::regtest_consensus;
use otedama_tests::pool::{regtest_daemon, tip, Launch, PoolNode};
use otedama_tests::{regtest_chain, seed_store, wait_for};
use serde_json::Value;
use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Shares both nodes hold before the hostile peers come.
const SEEDED: usize = 100;

/// Deterministic filler bytes (xorshift), so a failure can be replayed.
fn noise_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[3]
        })
        .collect()
}

/// What a hostile peer is told to do.
#[derive(Debug)]
enum Order {
    Dial(Multiaddr),
    Publish(Vec<u8>),
    Request(SyncRequest),
}

/// What a hostile peer saw.
#[derive(Debug)]
#[allow(dead_code)] // the strings are read through `Debug`, in the history of a failure
enum Seen {
    Connected(PeerId),
    Closed(PeerId, String),
    DialFailed(String),
    Subscribed(PeerId),
    Published(Result<(), String>),
    SyncFailed(String),
    Refused(String),
}

/// A libp2p peer in this process with the node's behaviour, except: gossipsub will publish
/// messages of any size (the node's own refuses over `wire::MAX_GOSSIP_BYTES`) and Kademlia never
/// fills its table by itself, so the peer talks to the node it dials and to nobody else.
#[derive(Debug)]
struct Hostile {
    id: PeerId,
    orders: mpsc::UnboundedSender<Order>,
    seen: mpsc::UnboundedReceiver<Seen>,
    /// Every peer it ever had a connection with.
    met: Arc<Mutex<HashSet<PeerId>>>,
    history: Vec<String>,
    task: tokio::task::JoinHandle<()>,
}

fn hostile_swarm(key: Keypair, consensus: &ConsensusId) -> Result<Swarm<Behaviour>> {
    let peer_id = key.public().to_peer_id();
    let topic = IdentTopic::new(wire::share_topic(consensus));
    let mut behaviour = behaviour::behaviour(&key, consensus, "hostile/0")?;

    let gossip_config = gossipsub::ConfigBuilder::default()
        .validation_mode(ValidationMode::Strict)
        .heartbeat_interval(Duration::from_millis(700))
        .max_transmit_size(256 * 1024)
        .build()
        .map_err(|e| anyhow::anyhow!("gossipsub configuration: {e}"))?;
    let mut gossip =
        gossipsub::Behaviour::new(MessageAuthenticity::Signed(key.clone()), gossip_config)
            .map_err(|e| anyhow::anyhow!("gossipsub: {e}"))?;
    gossip
        .subscribe(&topic)
        .map_err(|e| anyhow::anyhow!("subscribe: {e}"))?;
    behaviour.gossipsub = gossip;

    let mut kad_config = kad::Config::new(StreamProtocol::new(wire::KAD_PROTOCOL));
    kad_config
        .set_periodic_bootstrap_interval(None)
        .set_kbucket_inserts(kad::BucketInserts::Manual);
    let mut kad =
        kad::Behaviour::with_config(peer_id, kad::store::MemoryStore::new(peer_id), kad_config);
    kad.set_mode(Some(kad::Mode::Client));
    behaviour.kad = kad;

    Ok(libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )?
        .with_behaviour(|_| behaviour)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(120)))
        .build())
}

impl Hostile {
    /// Starts a hostile peer with a fresh identity that targets `target`.
    fn spawn(consensus: &ConsensusId, target: PeerId) -> Result<Self> {
        let key = Keypair::generate_ed25519();
        let id = key.public().to_peer_id();
        let mut swarm = hostile_swarm(key, consensus)?;
        let topic = IdentTopic::new(wire::share_topic(consensus));
        let (orders_tx, mut orders) = mpsc::unbounded_channel();
        let (seen_tx, seen) = mpsc::unbounded_channel();
        let met = Arc::new(Mutex::new(HashSet::new()));
        let met_in_task = met.clone();
        let task = tokio::spawn(async move {
            let say = |s: Seen| {
                let _ = seen_tx.send(s);
            };
            loop {
                tokio::select! {
                    order = orders.recv() => match order {
                        None => return,
                        Some(Order::Dial(addr)) => {
                            if let Err(e) = swarm.dial(addr) {
                                say(Seen::DialFailed(e.to_string()));
                            }
                        }
                        Some(Order::Publish(bytes)) => {
                            let result = swarm
                                .behaviour_mut()
                                .gossipsub
                                .publish(topic.clone(), bytes)
                                .map(|_| ())
                                .map_err(|e| e.to_string());
                            say(Seen::Published(result));
                        }
                        Some(Order::Request(request)) => {
                            swarm
                                .behaviour_mut()
                                .sync
                                .send_request(&target, SyncCall::Request(request));
                        }
                    },
                    event = swarm.select_next_some() => match event {
                        SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                            met_in_task.lock().unwrap().insert(peer_id);
                            say(Seen::Connected(peer_id));
                        }
                        SwarmEvent::ConnectionClosed { peer_id, cause, .. } => {
                            say(Seen::Closed(peer_id, format!("{cause:?}")));
                        }
                        SwarmEvent::OutgoingConnectionError { error, .. } => {
                            say(Seen::DialFailed(error.to_string()));
                        }
                        SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(
                            gossipsub::Event::Subscribed { peer_id, topic: t },
                        )) if t == topic.hash() => say(Seen::Subscribed(peer_id)),
                        SwarmEvent::Behaviour(BehaviourEvent::Sync(event)) => match event {
                            // Answer honestly, so that the node bans us for what we send and not
                            // for leaving its status request unanswered.
                            request_response::Event::Message {
                                message: request_response::Message::Request { channel, .. },
                                ..
                            } => {
                                let _ = swarm
                                    .behaviour_mut()
                                    .sync
                                    .send_response(channel, SyncResponse::Status(ChainStatus::EMPTY));
                            }
                            request_response::Event::Message {
                                message:
                                    request_response::Message::Response {
                                        response: SyncResponse::Refused(reason),
                                        ..
                                    },
                                ..
                            } => say(Seen::Refused(reason)),
                            request_response::Event::OutboundFailure { error, .. } => {
                                say(Seen::SyncFailed(error.to_string()));
                            }
                            _ => {}
                        },
                        _ => {}
                    },
                }
            }
        });
        Ok(Hostile {
            id,
            orders: orders_tx,
            seen,
            met,
            history: Vec::new(),
            task,
        })
    }

    fn order(&self, order: Order) -> Result<()> {
        self.orders
            .send(order)
            .map_err(|_| anyhow::anyhow!("the hostile peer's task ended"))
    }

    /// Waits up to `limit` for an event that `check` accepts.
    async fn expect(
        &mut self,
        limit: Duration,
        what: &str,
        mut check: impl FnMut(&Seen) -> bool,
    ) -> Result<Seen> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            match tokio::time::timeout_at(deadline, self.seen.recv()).await {
                Ok(Some(seen)) => {
                    self.history.push(format!("{seen:?}"));
                    if check(&seen) {
                        return Ok(seen);
                    }
                }
                Ok(None) => bail!("hostile {}: task ended waiting for {what}", self.id),
                Err(_) => bail!(
                    "hostile {}: timed out after {limit:?} waiting for {what}; saw {:?}",
                    self.id,
                    self.history
                ),
            }
        }
    }

    /// Dials the node and waits for the connection (and its subscription, for gossip).
    async fn connect(&mut self, addr: &Multiaddr, target: PeerId, subscribed: bool) -> Result<()> {
        self.order(Order::Dial(addr.clone()))?;
        self.expect(
            Duration::from_secs(20),
            "a connection to the node",
            |s| matches!(s, Seen::Connected(p) if *p == target),
        )
        .await?;
        if subscribed {
            self.expect(
                Duration::from_secs(20),
                "the node's subscription",
                |s| matches!(s, Seen::Subscribed(p) if *p == target),
            )
            .await?;
        }
        Ok(())
    }

    async fn publish(&mut self, bytes: Vec<u8>) -> Result<()> {
        self.order(Order::Publish(bytes))?;
        match self
            .expect(Duration::from_secs(5), "the publish result", |s| {
                matches!(s, Seen::Published(_))
            })
            .await?
        {
            Seen::Published(Ok(())) => Ok(()),
            other => bail!("hostile could not publish: {other:?}"),
        }
    }

    /// After the ban: the connection to `target` is closed, and a new dial fails or is closed at
    /// once.
    async fn expect_shut_out(&mut self, addr: &Multiaddr, target: PeerId) -> Result<()> {
        self.expect(
            Duration::from_secs(10),
            "the node to close the connection",
            |s| matches!(s, Seen::Closed(p, _) if *p == target),
        )
        .await?;
        self.order(Order::Dial(addr.clone()))?;
        let started = Instant::now();
        match self
            .expect(Duration::from_secs(15), "the re-dial to fail", |s| {
                matches!(s, Seen::DialFailed(_) | Seen::Connected(_))
            })
            .await?
        {
            Seen::DialFailed(_) => Ok(()),
            _ => {
                // The handshake may finish before the node looks at its block list: then the
                // connection must be closed straight away.
                self.expect(
                    Duration::from_secs(3),
                    "the re-dialled connection to close",
                    |s| matches!(s, Seen::Closed(p, _) if *p == target),
                )
                .await
                .map(|_| ())
                .with_context(|| {
                    format!(
                        "re-dial was let in ({:?} after the dial)",
                        started.elapsed()
                    )
                })
            }
        }
    }

    fn met(&self) -> HashSet<PeerId> {
        self.met.lock().unwrap().clone()
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Waits until `node` lists `peer` as banned; returns the reason.
fn wait_banned(node: &PoolNode, peer: &PeerId, limit: Duration) -> Result<String> {
    let id = peer.to_string();
    let mut last = Value::Null;
    let found = wait_for(limit, &format!("{} to ban {id}", node.name), || {
        let peers = node.peers().ok()?;
        let reason = peers["banned"]
            .as_array()?
            .iter()
            .find(|b| b["peer_id"] == id.as_str())
            .map(|b| b["reason"].as_str().unwrap_or_default().to_owned());
        last = peers;
        reason
    });
    found.with_context(|| format!("last peers: {last}"))
}

/// The sharechain's state as the API tells it.
fn chain_state(node: &PoolNode) -> Result<(Value, Value, Value)> {
    let s = node.status()?;
    Ok((
        s["sharechain_height"].clone(),
        s["tip"].clone(),
        s["chain_work"].clone(),
    ))
}

/// One attack: what a fresh hostile peer sends, and what the ban's reason must mention.
#[derive(Debug)]
struct Attack {
    name: &'static str,
    gossip: Option<Vec<u8>>,
    sync: Option<SyncRequest>,
    /// How many times the sync request is sent (all at once).
    repeat: usize,
    reason: &'static [&'static str],
}

/// The pool under attack: `a` (no bootstrap) and `c` (bootstrapped from `a`), both seeded with
/// the same chain, on one litecoind regtest pair.
#[derive(Debug)]
struct Pool {
    a: PoolNode,
    c: PoolNode,
    a_addr: Multiaddr,
    a_id: PeerId,
    c_id: PeerId,
    consensus: ConsensusId,
    chain: Vec<Vec<u8>>,
    a_before: (Value, Value, Value),
    c_before: (Value, Value, Value),
    pair: RegtestPair,
    _dir: otedama_tests::TestDir,
}

impl Pool {
    async fn start() -> Result<Self> {
        let dir = otedama_tests::TestDir::new()?;
        let (pair, daemon) = regtest_daemon(dir.path()).await?;
        let base = dir.path();
        let chain = regtest_chain();
        seed_store(&base.join("a"), &chain[..SEEDED])?;
        seed_store(&base.join("c"), &chain[..SEEDED])?;
        let consensus = regtest_consensus().id();

        let a = PoolNode::start("a", base, &daemon, &[])?;
        let a_addr_text = a.multiaddr()?;
        let a_addr: Multiaddr = a_addr_text.parse()?;
        let a_id: PeerId = a_addr_text.rsplit('/').next().context("a's id")?.parse()?;
        let seeded_height = SEEDED as u64 - 1;
        let a_status = a.wait(
            Duration::from_secs(60),
            "a to load its chain and sync",
            |s| s["sharechain_height"] == seeded_height && s["synced"] == true,
        )?;
        let seeded_tip = tip(&a_status).context("a has a tip")?;
        // The status tells which sharechain the node runs, as the topic spells it.
        ensure!(
            a_status["consensus_id"] == consensus.to_string().as_str()
                && wire::share_topic(&consensus).contains(&consensus.to_string()),
            "a's status names consensus id {}, the pool runs {consensus}",
            a_status["consensus_id"]
        );
        let c = PoolNode::start("c", base, &daemon, std::slice::from_ref(&a_addr_text))?;
        let c_id = c.multiaddr()?;
        let c_id: PeerId = c_id.rsplit('/').next().context("c's id")?.parse()?;
        c.wait(Duration::from_secs(60), "c to connect to a and sync", |s| {
            tip(s).as_deref() == Some(seeded_tip.as_str()) && s["synced"] == true && s["peers"] == 1
        })?;
        a.wait(Duration::from_secs(20), "a to see c", |s| s["peers"] == 1)?;
        let a_before = chain_state(&a)?;
        let c_before = chain_state(&c)?;
        assert_eq!(a_before, c_before, "a and c start on the same chain");
        Ok(Pool {
            a,
            c,
            a_addr,
            a_id,
            c_id,
            consensus,
            chain,
            a_before,
            c_before,
            pair,
            _dir: dir,
        })
    }

    /// A fresh hostile peer connects to `a` and attacks; `a` must ban it for the expected reason
    /// and shut it out.
    async fn attack(&self, attack: Attack) -> Result<Hostile> {
        let started = Instant::now();
        let (a, a_id, a_addr) = (&self.a, self.a_id, &self.a_addr);
        let mut h = Hostile::spawn(&self.consensus, a_id)?;
        h.connect(a_addr, a_id, attack.gossip.is_some())
            .await
            .context(attack.name)?;
        if let Some(bytes) = attack.gossip {
            h.publish(bytes).await.context(attack.name)?;
        }
        if let Some(request) = attack.sync {
            for _ in 0..attack.repeat {
                h.order(Order::Request(request.clone()))?;
            }
        }
        let reason = wait_banned(a, &h.id, Duration::from_secs(20)).context(attack.name)?;
        for part in attack.reason {
            ensure!(
                reason.contains(part),
                "{}: a banned {} for {reason:?}, expected it to mention {part:?}",
                attack.name,
                h.id
            );
        }
        if attack.reason.contains(&"malformed sync request") {
            // §5.5: a malformed request is answered `Refused` before the ban closes the
            // connection, so a peer learns why.
            h.expect(Duration::from_secs(10), "a Refused answer", |s| {
                matches!(s, Seen::Refused(_))
            })
            .await
            .context(attack.name)?;
        }
        h.expect_shut_out(a_addr, a_id).await.context(attack.name)?;
        let peers = a.peers()?;
        ensure!(
            !peers["peers"]
                .as_array()
                .context("peers list")?
                .iter()
                .any(|p| p["peer_id"] == h.id.to_string().as_str()),
            "{}: a still lists the banned peer as connected: {peers}",
            attack.name
        );
        eprintln!(
            "{}: banned in {:?} ({reason})",
            attack.name,
            started.elapsed()
        );
        Ok(h)
    }

    /// Nothing the `hostiles` sent was stored (both chains unchanged) or forwarded (`c` saw no
    /// invalid gossip, banned nobody and still trusts `a`); `a` counted `invalid_gossip` invalid
    /// shares, banned exactly the hostile peers, and still serves.
    async fn check_after(&self, hostiles: &[Hostile], invalid_gossip: u64) -> Result<()> {
        let (a, c, a_id) = (&self.a, &self.c, self.a_id);
        // Give gossip time to spread, were anything forwarded (heartbeat 700 ms, IHAVE gossip).
        tokio::time::sleep(Duration::from_secs(3)).await;

        assert_eq!(chain_state(a)?, self.a_before, "a's chain changed");
        assert_eq!(chain_state(c)?, self.c_before, "c's chain changed");
        let c_peers = c.peers()?;
        assert_eq!(
            c_peers["banned"].as_array().map(Vec::len),
            Some(0),
            "c banned someone: {c_peers}"
        );
        let a_at_c = c_peers["peers"]
            .as_array()
            .and_then(|l| l.iter().find(|p| p["peer_id"] == a_id.to_string().as_str()))
            .with_context(|| format!("c is still connected to a: {c_peers}"))?;
        assert_eq!(a_at_c["score"], 0, "c lowered a's score: {c_peers}");
        ensure!(
            a_at_c["gossip_score"].as_f64().is_some_and(|s| s >= 0.0),
            "c's gossipsub score of a went negative: {c_peers}"
        );
        let c_log = c.log_text();
        ensure!(
            !c_log.contains("invalid share gossiped") && !c_log.contains("peer banned"),
            "c saw hostile traffic:\n{c_log}"
        );
        // The counters, where the API has them.
        if let Some(invalid) = c_peers["gossip_invalid"].as_u64() {
            assert_eq!(invalid, 0, "c counted invalid gossip: {c_peers}");
            assert_eq!(
                c_peers["gossip_accepted"], 0,
                "c accepted gossip: {c_peers}"
            );
        }
        let a_peers = a.peers()?;
        if let Some(invalid) = a_peers["gossip_invalid"].as_u64() {
            assert_eq!(
                invalid, invalid_gossip,
                "a's invalid gossip count: {a_peers}"
            );
            assert_eq!(
                a_peers["gossip_accepted"], 0,
                "a accepted gossip: {a_peers}"
            );
        }
        assert_eq!(
            a_peers["banned"].as_array().map(Vec::len),
            Some(hostiles.len()),
            "a banned exactly the hostile peers: {a_peers}"
        );
        // The hostile peers only ever talked to a.
        for h in hostiles {
            let met = h.met();
            ensure!(
                !met.contains(&self.c_id) && met.iter().all(|p| *p == a_id),
                "hostile {} reached peers other than a: {met:?}",
                h.id
            );
        }
        // a still serves, with c.
        let a_status = a.status()?;
        assert_eq!(a_status["synced"], true, "{a_status}");
        assert_eq!(a_status["peers"], 1, "{a_status}");
        let c_status = c.status()?;
        assert_eq!(c_status["synced"], true, "{c_status}");
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hostile_peer_is_banned_and_nothing_it_sent_is_stored_or_forwarded() -> Result<()> {
    let mut pool = Pool::start().await?;
    let a = &pool.a;

    // Raw garbage on the peer-to-peer port: refused, and the node goes on.
    let started = Instant::now();
    let p2p = std::net::SocketAddr::from(([127, 0, 0, 1], a.p2p_port));
    for i in 0..8u64 {
        let mut s = TcpStream::connect_timeout(&p2p, Duration::from_secs(2))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut bytes = if i % 2 == 0 {
            Vec::new()
        } else {
            // Starts like a real libp2p dial, then turns to garbage.
            b"\x13/multistream/1.0.0\n".to_vec()
        };
        bytes.extend(noise_bytes(i + 1, 64 * 1024));
        let _ = s.write_all(&bytes);
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink);
    }
    eprintln!("raw garbage connections done in {:?}", started.elapsed());
    let after_garbage = a.status().context("a answers after raw garbage")?;
    ensure!(after_garbage["peers"] == 1, "a kept c: {after_garbage}");

    // The well-formed but invalid share: the fixture's next share, with its carried commitment
    // changed. It decodes, passes proof of work (the header is untouched), and fails check 11.
    let mut corrupt = decode_share(&pool.chain[SEEDED]).context("fixture share decodes")?;
    corrupt.commitment.0[0] ^= 0x01;
    let corrupt = encode_share(&corrupt);
    ensure!(
        decode_share(&corrupt).is_ok() && corrupt.len() <= 1400,
        "the corrupt share stays well-formed"
    );

    let attacks = [
        Attack {
            name: "garbage gossip",
            gossip: Some(noise_bytes(7, 600)),
            sync: None,
            repeat: 1,
            reason: &["gossiped an invalid share", "undecodable"],
        },
        Attack {
            name: "invalid share gossip",
            gossip: Some(corrupt),
            sync: None,
            repeat: 1,
            reason: &["gossiped an invalid share", "WrongCommitment"],
        },
        Attack {
            name: "oversized gossip (20 KiB)",
            gossip: Some(noise_bytes(9, 20 * 1024)),
            sync: None,
            repeat: 1,
            reason: &["gossipsub score"],
        },
    ];
    let mut hostiles = Vec::new();
    for attack in attacks {
        hostiles.push(pool.attack(attack).await?);
    }
    // The garbage and the invalid share reached the chain worker; the oversized message was
    // stopped by gossipsub.
    pool.check_after(&hostiles, 2).await?;
    drop(hostiles);
    pool.pair.stop().await;
    Ok(())
}

/// Malformed sync requests must cost the sender a ban, after a `Refused` answer
/// (`docs/protocol.md` §5.5).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_peer_sending_broken_sync_requests_is_banned() -> Result<()> {
    let mut pool = Pool::start().await?;
    let attacks = [
        Attack {
            name: "oversized sync request",
            gossip: None,
            sync: Some(SyncRequest::Ids {
                locator: vec![[0x5a; 32]; 640],
                max: 10,
            }),
            repeat: 1,
            reason: &["malformed sync request"],
        },
        Attack {
            name: "sync request over the protocol's limits",
            gossip: None,
            sync: Some(SyncRequest::Shares(vec![
                [0xa5; 32];
                wire::MAX_SHARES_PER_REQUEST + 1
            ])),
            repeat: 1,
            reason: &["malformed sync request"],
        },
        Attack {
            name: "a flood of well-formed sync requests",
            gossip: None,
            sync: Some(SyncRequest::Ids {
                locator: Vec::new(),
                max: wire::MAX_IDS_PER_REQUEST as u32,
            }),
            repeat: 400,
            reason: &["too many sync requests"],
        },
    ];
    let mut hostiles = Vec::new();
    for attack in attacks {
        hostiles.push(pool.attack(attack).await?);
    }
    pool.check_after(&hostiles, 0).await?;
    drop(hostiles);
    pool.pair.stop().await;
    Ok(())
}

/// A ban shuts out the banned peer's address, not only its peer id, which costs nothing to make
/// (`docs/protocol.md` §6): on a node that applies the rules by address to loopback too, a
/// hostile peer banned for garbage comes back under a new peer id from the same address and is
/// refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_banned_peer_is_refused_under_a_new_peer_id_from_its_address() -> Result<()> {
    let dir = otedama_tests::TestDir::new()?;
    let (mut pair, daemon) = regtest_daemon(dir.path()).await?;
    let base = dir.path();
    seed_store(&base.join("a"), &regtest_chain()[..SEEDED])?;
    let launch = Launch {
        env: vec![("OTEDAMA_P2P_LIMIT_LOOPBACK".into(), "true".into())],
        ..Launch::default()
    };
    let a = PoolNode::start_with("a", base, &daemon, &[], launch)?;
    let a_addr_text = a.multiaddr()?;
    let a_addr: Multiaddr = a_addr_text.parse()?;
    let a_id: PeerId = a_addr_text.rsplit('/').next().context("a's id")?.parse()?;
    a.wait(Duration::from_secs(60), "a to load its chain", |s| {
        s["synced"] == true
    })?;
    let consensus = regtest_consensus().id();

    let mut first = Hostile::spawn(&consensus, a_id)?;
    first.connect(&a_addr, a_id, true).await?;
    first.publish(noise_bytes(11, 600)).await?;
    let reason = wait_banned(&a, &first.id, Duration::from_secs(20))?;
    ensure!(reason.contains("gossiped an invalid share"), "{reason}");
    first.expect_shut_out(&a_addr, a_id).await?;

    // The same address under a new peer id.
    let mut second = Hostile::spawn(&consensus, a_id)?;
    second.order(Order::Dial(a_addr.clone()))?;
    match second
        .expect(Duration::from_secs(15), "the dial to end", |s| {
            matches!(s, Seen::DialFailed(_) | Seen::Connected(_))
        })
        .await?
    {
        Seen::DialFailed(_) => {}
        _ => {
            second
                .expect(
                    Duration::from_secs(3),
                    "the new peer id's connection to close",
                    |s| matches!(s, Seen::Closed(p, _) if *p == a_id),
                )
                .await
                .context("a new peer id from the banned address was let in")?;
        }
    }
    let peers = a.peers()?;
    ensure!(
        peers["peers"].as_array().is_some_and(Vec::is_empty),
        "a holds no connection from the banned address: {peers}"
    );
    drop((first, second));
    pair.stop().await;
    Ok(())
}
