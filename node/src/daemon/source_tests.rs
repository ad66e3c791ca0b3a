//! Unit tests of merging several ZMQ subscriptions: announcements from any reach the poller, the
//! status shows every endpoint's state, and the forwarding tasks end when they should.
//! (`node/tests/daemon_zmq.rs` drives the whole source against real libzmq publishers.)

use super::*;
use otedama_proto::hash::BlockHash;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(5);

/// The sending ends of a stand-in subscription, as the subscriber task holds them.
struct FakePublisher {
    blocks: mpsc::Sender<HashBlock>,
    state: watch::Sender<ZmqState>,
}

fn fake(endpoint: &str) -> ((String, Subscription), FakePublisher) {
    let (blocks_tx, blocks) = mpsc::channel(4);
    let (state_tx, state) = watch::channel(ZmqState::Connecting);
    let publisher = FakePublisher {
        blocks: blocks_tx,
        state: state_tx,
    };
    (
        (endpoint.to_owned(), Subscription { blocks, state }),
        publisher,
    )
}

fn states_of(
    subscriptions: &[(String, Subscription)],
) -> Arc<[(String, watch::Receiver<ZmqState>)]> {
    subscriptions
        .iter()
        .map(|(endpoint, s)| (endpoint.clone(), s.state.clone()))
        .collect()
}

fn block(byte: u8, sequence: u32) -> HashBlock {
    HashBlock {
        hash: BlockHash::from_byte_array([byte; 32]),
        sequence,
    }
}

#[test]
fn the_status_is_one_state_alone_or_every_endpoint_with_its_state() {
    assert_eq!(zmq_status(&[]), None);
    let (_a_tx, a) = watch::channel(ZmqState::Connected);
    let (_b_tx, b) = watch::channel(ZmqState::Failed("connection refused".into()));
    let one = [("tcp://a:1".to_owned(), a.clone())];
    assert_eq!(zmq_status(&one).as_deref(), Some("connected"));
    let two = [("tcp://a:1".to_owned(), a), ("tcp://b:2".to_owned(), b)];
    assert_eq!(
        zmq_status(&two).as_deref(),
        Some("tcp://a:1 connected; tcp://b:2 error: connection refused")
    );
}

#[tokio::test]
async fn announcements_from_any_subscription_are_merged_and_states_shown() {
    let (first, first_pub) = fake("tcp://a:1");
    let (second, second_pub) = fake("tcp://b:2");
    let subscriptions = vec![first, second];
    let states = states_of(&subscriptions);
    let status = Arc::new(watch::channel(DaemonStatus::default()).0);
    let mut status_rx = status.subscribe();
    let (stop, shutdown) = watch::channel(false);
    let mut merged = merge(subscriptions, &states, &status, &shutdown);

    // The second publisher alone announces: the poller hears it, and from whom.
    second_pub
        .blocks
        .send(block(0xB2, 7))
        .await
        .expect("forwarder running");
    let a = timeout(WAIT, merged.recv())
        .await
        .expect("in time")
        .expect("open");
    assert_eq!((&*a.publisher, a.block), ("tcp://b:2", block(0xB2, 7)));
    first_pub
        .blocks
        .send(block(0xA1, 1))
        .await
        .expect("forwarder running");
    let a = timeout(WAIT, merged.recv())
        .await
        .expect("in time")
        .expect("open");
    assert_eq!((&*a.publisher, a.block), ("tcp://a:1", block(0xA1, 1)));

    // Each state change rewrites the whole status line.
    first_pub
        .state
        .send_replace(ZmqState::Failed("gone".into()));
    let want = "tcp://a:1 error: gone; tcp://b:2 connecting";
    timeout(WAIT, status_rx.wait_for(|s| s.zmq.as_deref() == Some(want)))
        .await
        .expect("the status showed the failure")
        .expect("status open");
    second_pub.state.send_replace(ZmqState::Connected);
    let want = "tcp://a:1 error: gone; tcp://b:2 connected";
    timeout(WAIT, status_rx.wait_for(|s| s.zmq.as_deref() == Some(want)))
        .await
        .expect("the status showed the second connected")
        .expect("status open");

    // On shutdown every forwarder ends: the merged channel closes and the subscriptions are
    // dropped, which is what stops their subscriber tasks.
    stop.send_replace(true);
    let end = timeout(WAIT, merged.recv())
        .await
        .expect("forwarders ended");
    assert!(end.is_none(), "nothing more after shutdown: {end:?}");
    assert!(first_pub.blocks.is_closed() && second_pub.blocks.is_closed());
}

#[tokio::test]
async fn a_forwarder_ends_when_its_subscriber_stops_or_the_poller_is_gone() {
    let (first, first_pub) = fake("tcp://a:1");
    let (second, second_pub) = fake("tcp://b:2");
    let subscriptions = vec![first, second];
    let states = states_of(&subscriptions);
    let status = Arc::new(watch::channel(DaemonStatus::default()).0);
    let (_stop, shutdown) = watch::channel(false);
    let mut merged = merge(subscriptions, &states, &status, &shutdown);

    // The first subscriber stops; the second still gets through.
    drop(first_pub);
    second_pub
        .blocks
        .send(block(0x02, 0))
        .await
        .expect("forwarder running");
    let a = timeout(WAIT, merged.recv())
        .await
        .expect("in time")
        .expect("open");
    assert_eq!(&*a.publisher, "tcp://b:2");

    // The poller goes: the next announcement ends the second forwarder, which drops its
    // subscription.
    drop(merged);
    second_pub
        .blocks
        .send(block(0x03, 1))
        .await
        .expect("forwarder running");
    timeout(WAIT, second_pub.blocks.closed())
        .await
        .expect("the forwarder dropped its subscription");
}
