//! Connection budgets and rules by address, on real swarms over loopback: the node's own
//! behaviour against bare peers that only connect.

use super::behaviour::{self, Behaviour, Limits, MAX_INBOUND};
use super::guard::{Refused, MAX_INBOUND_PER_ADDRESS};
use futures::StreamExt;
use libp2p::identity::Keypair;
use libp2p::swarm::{dummy, ListenError, SwarmEvent};
use libp2p::{noise, tcp, yamux, Multiaddr, Swarm};
use otedama_proto::chain::{Coin, Network};
use otedama_sharechain::Consensus;
use std::time::{Duration, Instant};

/// A peer that does nothing but hold connections.
fn bare() -> Swarm<dummy::Behaviour> {
    libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .expect("the TCP transport builds")
        .with_behaviour(|_| dummy::Behaviour)
        .expect("the dummy behaviour builds")
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build()
}

fn node_swarm(limits: Limits) -> Swarm<Behaviour> {
    let consensus = Consensus::for_network(Coin::Litecoin, Network::Regtest)
        .expect("litecoin regtest exists")
        .id();
    behaviour::swarm_with(
        Keypair::generate_ed25519(),
        &consensus,
        "otedama/test",
        limits,
    )
    .expect("the node's swarm builds")
}

/// Starts listening on loopback and returns the address.
async fn listen<B: libp2p::swarm::NetworkBehaviour>(swarm: &mut Swarm<B>) -> Multiaddr {
    swarm
        .listen_on("/ip4/127.0.0.1/tcp/0".parse().expect("a multiaddr"))
        .expect("listens");
    loop {
        if let SwarmEvent::NewListenAddr { address, .. } = swarm.select_next_some().await {
            return address;
        }
    }
}

/// What became of one connection at the node.
#[derive(Debug, PartialEq)]
enum Outcome {
    Established,
    Refused(String),
}

/// Drives `node` until a connection (inbound when `inbound`) is established or refused.
async fn outcome(node: &mut Swarm<Behaviour>, inbound: bool) -> Outcome {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = tokio::time::timeout(left, node.select_next_some())
            .await
            .expect("the node saw the connection within 10 s");
        match event {
            SwarmEvent::ConnectionEstablished { endpoint, .. }
                if endpoint.is_dialer() != inbound =>
            {
                return Outcome::Established
            }
            SwarmEvent::IncomingConnectionError { error, .. } if inbound => {
                let why = match error {
                    ListenError::Denied { cause } => match cause.downcast::<Refused>() {
                        Ok(refused) => format!("guard: {refused}"),
                        Err(cause) => cause.to_string(),
                    },
                    other => other.to_string(),
                };
                return Outcome::Refused(why);
            }
            SwarmEvent::OutgoingConnectionError { error, .. } if !inbound => {
                return Outcome::Refused(error.to_string())
            }
            _ => {}
        }
    }
}

/// Dials `addr` from `n` fresh bare peers, one after the other, and returns what became of each
/// at the node. The peers run until the returned tasks are dropped.
async fn flood(
    node: &mut Swarm<Behaviour>,
    addr: &Multiaddr,
    n: usize,
) -> (Vec<Outcome>, Vec<tokio::task::JoinHandle<()>>) {
    let mut outcomes = Vec::new();
    let mut tasks = Vec::new();
    for _ in 0..n {
        let mut peer = bare();
        peer.dial(addr.clone()).expect("the dial starts");
        tasks.push(tokio::spawn(async move {
            loop {
                peer.select_next_some().await;
            }
        }));
        outcomes.push(outcome(node, true).await);
    }
    (outcomes, tasks)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_dialling_in_cannot_take_the_outbound_connections() {
    let mut node = node_swarm(Limits::default());
    let addr = listen(&mut node).await;
    // The flood: more inbound connections than the node would ever keep in all (the old
    // budget, 64, shared by both directions).
    let (outcomes, _flooders) = flood(&mut node, &addr, 64).await;
    let kept = outcomes
        .iter()
        .filter(|o| **o == Outcome::Established)
        .count();
    assert_eq!(kept, MAX_INBOUND as usize, "{outcomes:?}");
    // The node still reaches the network.
    let mut out = bare();
    let out_addr = listen(&mut out).await;
    let _out = tokio::spawn(async move {
        loop {
            out.select_next_some().await;
        }
    });
    node.dial(out_addr).expect("the dial starts");
    assert_eq!(outcome(&mut node, false).await, Outcome::Established);
}

/// A node that applies the rules by address to loopback, listening there.
async fn strict_node() -> (Swarm<Behaviour>, Multiaddr) {
    let mut node = node_swarm(Limits {
        loopback: true,
        ..Limits::default()
    });
    let addr = listen(&mut node).await;
    (node, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_holds_at_most_a_few_inbound_connections() {
    let (mut node, addr) = strict_node().await;
    let (outcomes, flooders) = flood(&mut node, &addr, MAX_INBOUND_PER_ADDRESS as usize + 2).await;
    let kept = outcomes
        .iter()
        .filter(|o| **o == Outcome::Established)
        .count();
    assert_eq!(kept, MAX_INBOUND_PER_ADDRESS as usize, "{outcomes:?}");
    assert!(
        matches!(outcomes.last(), Some(Outcome::Refused(why)) if why.contains("inbound connections")),
        "{outcomes:?}"
    );
    // Once they left, the address may connect again.
    for task in flooders {
        task.abort();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while node.network_info().num_peers() > 0 {
        assert!(Instant::now() < deadline, "the flooders' connections close");
        let _ = tokio::time::timeout(Duration::from_millis(100), node.select_next_some()).await;
    }
    let (outcomes, _peer) = flood(&mut node, &addr, 1).await;
    assert_eq!(outcomes, [Outcome::Established]);
    // Loopback is exempt unless the node says otherwise.
    let mut lenient = node_with_defaults_listening().await;
    let (outcomes, _flooders) = flood(
        &mut lenient.0,
        &lenient.1,
        MAX_INBOUND_PER_ADDRESS as usize + 1,
    )
    .await;
    assert!(
        outcomes.iter().all(|o| *o == Outcome::Established),
        "{outcomes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_banned_address_is_refused_under_any_peer_id() {
    let (mut node, addr) = strict_node().await;
    let until = Instant::now() + Duration::from_secs(60);
    assert!(node.behaviour_mut().guard.ban(&addr, until));
    let (outcomes, _peer) = flood(&mut node, &addr, 1).await;
    assert!(
        matches!(&outcomes[..], [Outcome::Refused(why)] if why.contains("banned")),
        "{outcomes:?}"
    );
    // The ban ends.
    let guard = &node.behaviour().guard;
    assert!(guard.is_banned(&addr, Instant::now()));
    assert!(!guard.is_banned(&addr, until));
    // Loopback is exempt unless the node says otherwise.
    let mut lenient = node_swarm(Limits::default());
    assert!(!lenient.behaviour_mut().guard.ban(&addr, until));
}

async fn node_with_defaults_listening() -> (Swarm<Behaviour>, Multiaddr) {
    let mut node = node_swarm(Limits::default());
    let addr = listen(&mut node).await;
    (node, addr)
}
