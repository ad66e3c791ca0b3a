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

// ---- Block submission (issue 11.1) ----

use crate::daemon::rpc_double::{Reply, TestDoubleDaemon};

/// A client timeout far longer than any test waits: a held call never times out inside a test,
/// so a submission that waits for it never finishes in time.
const LONG_RPC: Duration = Duration::from_secs(600);

/// A lagging daemon: it does not know the block's parent yet.
async fn lagging_double() -> TestDoubleDaemon {
    TestDoubleDaemon::start(|method, _| match method {
        "submitblock" => Reply::Result(json!("prev-blk-not-found")),
        _ => Reply::Result(Value::Null),
    })
    .await
}

/// A daemon that takes every block.
async fn accepting_double() -> TestDoubleDaemon {
    TestDoubleDaemon::start(|_, _| Reply::Result(Value::Null)).await
}

#[tokio::test]
async fn a_block_reaches_the_templates_daemon_when_daemon_0_lags() {
    let lagging = lagging_double().await;
    let template_daemon = accepting_double().await;
    let failing = TestDoubleDaemon::start(|_, _| Reply::Error(-1, "internal".into())).await;
    let daemons = Daemons::new(vec![
        lagging.client(LONG_RPC),
        template_daemon.client(LONG_RPC),
        failing.client(LONG_RPC),
    ]);
    let outcome = timeout(WAIT, daemons.submit_block("00ff", 1))
        .await
        .expect("submission answered");
    assert_eq!(
        template_daemon.calls_of("submitblock"),
        vec![json!(["00ff"])]
    );
    assert!(
        matches!(outcome, Ok(SubmitOutcome::Accepted)),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_hung_daemon_does_not_hold_up_the_block_or_the_next_one() {
    let hung = TestDoubleDaemon::start(|_, _| Reply::Hold).await;
    let template_daemon = accepting_double().await;
    let daemons = Daemons::new(vec![
        hung.client(LONG_RPC),
        template_daemon.client(LONG_RPC),
    ]);
    for block in ["01", "02"] {
        let outcome = timeout(WAIT, daemons.submit_block(block, 1))
            .await
            .expect("the hung daemon did not hold the submission up");
        assert!(
            matches!(outcome, Ok(SubmitOutcome::Accepted)),
            "{outcome:?}"
        );
    }
    assert_eq!(
        template_daemon.calls_of("submitblock"),
        vec![json!(["01"]), json!(["02"])]
    );
    // The hung daemon got both as well, and still holds them.
    assert_eq!(hung.calls_of("submitblock").len(), 2);
    hung.release();
}

#[tokio::test]
async fn a_refusal_is_the_template_daemons_and_nothing_reachable_is_an_error() {
    let lagging = lagging_double().await;
    let stale = TestDoubleDaemon::start(|_, _| Reply::Result(json!("inconclusive"))).await;
    let daemons = Daemons::new(vec![lagging.client(LONG_RPC), stale.client(LONG_RPC)]);
    let outcome = daemons.submit_block("03", 1).await.expect("both answered");
    assert_eq!(outcome, SubmitOutcome::Refused("inconclusive".into()));
    let gone = Daemons::new(vec![RpcClient::new(
        "http://127.0.0.1:1",
        crate::daemon::Auth::UserPass {
            user: "u".into(),
            password: "p".into(),
        },
        WAIT,
    )]);
    assert!(gone.submit_block("03", 0).await.is_err());
}

// ---- Daemons on the wrong network (issue 11.6) ----

use otedama_proto::chain::{Coin, Network};

/// The hash of the block a double's template at `height` builds on.
fn prev_hash(height: u32) -> String {
    format!("{height:064x}")
}

/// A `getblocktemplate` answer for `height`, shaped like litecoind's.
fn template_json(height: u32, curtime: u32) -> Value {
    json!({
        "version": 536870912, "rules": ["csv", "!segwit"],
        "previousblockhash": prev_hash(height),
        "transactions": [], "coinbasevalue": 5000000000u64,
        "longpollid": format!("{}{height}", prev_hash(height)),
        "target": "7fffff0000000000000000000000000000000000000000000000000000000000",
        "mintime": curtime - 600, "curtime": curtime, "bits": "207fffff", "height": height,
    })
}

/// The node's clock, as the doubles' `curtime`.
fn now_secs() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as u32
}

/// A test double of a daemon on `chain` (with that chain's `genesis`) whose templates build
/// block `height`. Long-polls are held (the tip never changes), so the source sits still.
async fn chain_double(chain: &'static str, genesis: &'static str, height: u32) -> TestDoubleDaemon {
    TestDoubleDaemon::start(chain_handler(chain, genesis, height)).await
}

/// What [`chain_double`] answers.
fn chain_handler(
    chain: &'static str,
    genesis: &'static str,
    height: u32,
) -> impl Fn(&str, &Value) -> Reply + Send + Sync + 'static {
    chain_handler_at(chain, genesis, height, now_secs())
}

/// What [`chain_double`] answers, with the daemon's clock at `curtime`.
fn chain_handler_at(
    chain: &'static str,
    genesis: &'static str,
    height: u32,
    curtime: u32,
) -> impl Fn(&str, &Value) -> Reply + Send + Sync + 'static {
    move |method, params| match method {
        "getblockchaininfo" => Reply::Result(json!({"chain": chain, "blocks": height - 1})),
        "getblockhash" => Reply::Result(json!(genesis)),
        "getblocktemplate" if params[0].get("longpollid").is_some() => Reply::Hold,
        "getblocktemplate" => Reply::Result(template_json(height, curtime)),
        "getbestblockhash" => Reply::Result(json!(prev_hash(height))),
        _ => Reply::Result(Value::Null),
    }
}

fn quick_config(chain: Option<ExpectedChain>) -> SourceConfig {
    SourceConfig {
        tip_poll: Duration::from_millis(100),
        max_backoff: Duration::from_millis(200),
        chain,
        ..SourceConfig::default()
    }
}

fn litecoin(network: Network) -> ExpectedChain {
    ExpectedChain::of(
        Coin::Litecoin
            .params(network)
            .expect("litecoin has this network"),
    )
}

#[tokio::test]
async fn a_daemon_on_another_network_is_refused_and_failed_over() {
    let testnet = Coin::Litecoin.params(Network::Testnet).expect("testnet");
    let regtest = Coin::Litecoin.params(Network::Regtest).expect("regtest");
    // Daemon 0 is a testnet daemon; daemon 1 a regtest one, like the node.
    let wrong = chain_double("test", testnet.genesis_hash, 900).await;
    let right = chain_double("regtest", regtest.genesis_hash, 5).await;
    // A regtest-named chain with another genesis (another coin's regtest) is refused as well.
    let other_coin = chain_double(
        "regtest",
        Coin::Bitcoin
            .params(Network::Regtest)
            .expect("btc")
            .genesis_hash,
        700,
    )
    .await;
    let daemons = Daemons::new(vec![
        wrong.client(WAIT),
        other_coin.client(WAIT),
        right.client(WAIT),
    ]);
    let (_stop, shutdown) = watch::channel(false);
    let mut feed = spawn(
        daemons,
        quick_config(Some(litecoin(Network::Regtest))),
        shutdown,
    );
    let first = timeout(WAIT, feed.template.wait_for(Option::is_some))
        .await
        .expect("a template in time")
        .expect("source running")
        .clone()
        .expect("some");
    assert_eq!(
        (first.height, first.daemon),
        (5, 2),
        "the first template came from the regtest daemon"
    );
    let status = feed.status.borrow().clone();
    assert!(status.healthy, "{status:?}");
    assert_eq!(status.refused.len(), 2, "{status:?}");
    assert!(
        status.refused[0].contains(&wrong.url()) && status.refused[0].contains("litecoin regtest"),
        "{status:?}"
    );
    assert!(
        status.refused[1].contains(&other_coin.url()) && status.refused[1].contains("genesis"),
        "{status:?}"
    );
    // No template was asked of the refused daemons.
    assert!(wrong.calls_of("getblocktemplate").is_empty());
    assert!(other_coin.calls_of("getblocktemplate").is_empty());
}

#[tokio::test]
async fn a_lone_daemon_on_another_network_hands_out_no_work() {
    let mainnet = Coin::Litecoin.params(Network::Mainnet).expect("mainnet");
    let wrong = chain_double("main", mainnet.genesis_hash, 2_000_000).await;
    let (_stop, shutdown) = watch::channel(false);
    let mut feed = spawn(
        Daemons::new(vec![wrong.client(WAIT)]),
        quick_config(Some(litecoin(Network::Testnet))),
        shutdown,
    );
    let status = timeout(WAIT, feed.status.wait_for(|s| s.error.is_some()))
        .await
        .expect("an error in time")
        .expect("source running")
        .clone();
    let error = status.error.expect("some");
    assert!(
        error.contains("litecoin testnet") && error.contains("main"),
        "{error}"
    );
    assert!(feed.template.borrow().is_none());
    assert!(wrong.calls_of("getblocktemplate").is_empty());
}

// ---- Unhealthy and lagging daemons, stale templates (issue 11.5) ----

/// A regtest Litecoin daemon double at `height`.
async fn regtest_double(height: u32) -> TestDoubleDaemon {
    chain_double("regtest", regtest_genesis(), height).await
}

fn regtest_genesis() -> &'static str {
    Coin::Litecoin
        .params(Network::Regtest)
        .expect("regtest")
        .genesis_hash
}

/// A daemon that answers the chain check but whose every other call fails with `code`.
fn sick_handler(code: i64, message: &'static str) -> impl Fn(&str, &Value) -> Reply + Send + Sync {
    move |method, _| match method {
        "getblockchaininfo" => Reply::Result(json!({"chain": "regtest", "blocks": 1})),
        "getblockhash" => Reply::Result(json!(regtest_genesis())),
        _ => Reply::Error(code, message.into()),
    }
}

#[tokio::test]
async fn a_primary_that_is_not_connected_or_in_initial_download_is_left_for_a_backup() {
    let unsynced = TestDoubleDaemon::start(sick_handler(-10, "Litecoin is in initial sync")).await;
    let unconnected = TestDoubleDaemon::start(sick_handler(-9, "Litecoin is not connected!")).await;
    let healthy = regtest_double(5).await;
    let daemons = Daemons::new(vec![
        unsynced.client(WAIT),
        unconnected.client(WAIT),
        healthy.client(WAIT),
    ]);
    let (_stop, shutdown) = watch::channel(false);
    let mut feed = spawn(
        daemons,
        quick_config(Some(litecoin(Network::Regtest))),
        shutdown,
    );
    let first = timeout(WAIT, feed.template.wait_for(Option::is_some))
        .await
        .expect("the source failed over to the healthy backup in time")
        .expect("source running")
        .clone()
        .expect("some");
    assert_eq!((first.height, first.daemon), (5, 2));
}

#[tokio::test]
async fn a_lagging_backup_is_not_taken_until_it_catches_up() {
    let primary = regtest_double(10).await;
    let backup = regtest_double(8).await;
    let daemons = Daemons::new(vec![primary.client(WAIT), backup.client(WAIT)]);
    let (_stop, shutdown) = watch::channel(false);
    let mut feed = spawn(
        daemons,
        quick_config(Some(litecoin(Network::Regtest))),
        shutdown,
    );
    timeout(
        WAIT,
        feed.template
            .wait_for(|t| t.as_ref().is_some_and(|t| t.height == 10)),
    )
    .await
    .expect("the primary's template")
    .expect("source running");
    // The primary dies; the backup is two blocks behind.
    primary.set_handler(sick_handler(-1, "gone"));
    let status = timeout(
        WAIT,
        feed.status
            .wait_for(|s| s.error.as_deref().is_some_and(|e| e.contains("lags"))),
    )
    .await
    .expect("the backup's lag was reported")
    .expect("source running")
    .clone();
    assert!(
        !backup.calls_of("getblocktemplate").is_empty(),
        "{status:?}"
    );
    let kept = feed
        .template
        .borrow()
        .clone()
        .expect("the last template is kept");
    assert_eq!(
        (kept.height, kept.daemon),
        (10, 0),
        "the backup's older tip was not taken"
    );
    // The backup catches up: its work is taken.
    backup.set_handler(chain_handler("regtest", regtest_genesis(), 11));
    let next = timeout(
        WAIT,
        feed.template
            .wait_for(|t| t.as_ref().is_some_and(|t| t.height == 11)),
    )
    .await
    .expect("the backup's template once it caught up")
    .expect("source running")
    .clone()
    .expect("some");
    assert_eq!(next.daemon, 1);
}

#[tokio::test]
async fn work_is_withdrawn_when_the_template_is_too_old() {
    let daemon = regtest_double(10).await;
    let config = SourceConfig {
        max_template_age: Duration::from_millis(500),
        ..quick_config(Some(litecoin(Network::Regtest)))
    };
    let (_stop, shutdown) = watch::channel(false);
    let mut feed = spawn(Daemons::new(vec![daemon.client(WAIT)]), config, shutdown);
    timeout(WAIT, feed.template.wait_for(Option::is_some))
        .await
        .expect("a template")
        .expect("source running");
    daemon.set_handler(sick_handler(-1, "gone"));
    timeout(WAIT, feed.template.wait_for(Option::is_none))
        .await
        .expect("the old template was withdrawn")
        .expect("source running");
    let status = feed.status.borrow().clone();
    assert!(status.template_expired && !status.healthy, "{status:?}");
    // The daemon answers again: work comes back.
    daemon.set_handler(chain_handler("regtest", regtest_genesis(), 11));
    timeout(WAIT, feed.template.wait_for(Option::is_some))
        .await
        .expect("work again")
        .expect("source running");
    assert!(!feed.status.borrow().template_expired);
}

// ---- Clock skew between the daemon and the node (issue 11.7) ----

#[tokio::test]
async fn a_daemon_clock_far_from_the_nodes_is_reported() {
    for (skew, warned) in [(100i64, true), (-90, true), (0, false)] {
        let curtime = (i64::from(now_secs()) + skew) as u32;
        let daemon =
            TestDoubleDaemon::start(chain_handler_at("regtest", regtest_genesis(), 5, curtime))
                .await;
        let (_stop, shutdown) = watch::channel(false);
        let mut feed = spawn(
            Daemons::new(vec![daemon.client(WAIT)]),
            quick_config(Some(litecoin(Network::Regtest))),
            shutdown,
        );
        let status = timeout(WAIT, feed.status.wait_for(|s| s.templates > 0))
            .await
            .expect("a template")
            .expect("source running")
            .clone();
        let measured = status.clock_skew_secs.expect("the skew is measured");
        assert!((measured - skew).abs() <= 5, "skew {skew}: {status:?}");
        assert_eq!(
            status.clock_warning.is_some(),
            warned,
            "skew {skew}: {status:?}"
        );
        if let Some(warning) = status.clock_warning {
            assert!(warning.contains("clock"), "{warning}");
        }
    }
}

#[tokio::test]
async fn work_is_refused_when_the_daemons_clock_is_past_the_sharechains_limit() {
    let daemon = regtest_double(5).await;
    let config = SourceConfig {
        max_future: Some(Duration::from_secs(120)),
        ..quick_config(Some(litecoin(Network::Regtest)))
    };
    let (_stop, shutdown) = watch::channel(false);
    let mut feed = spawn(Daemons::new(vec![daemon.client(WAIT)]), config, shutdown);
    timeout(WAIT, feed.template.wait_for(Option::is_some))
        .await
        .expect("a template")
        .expect("source running");
    // The daemon's clock jumps 200 s ahead of the node's (or the node's falls behind): every
    // share on its work would be refused as too far in the future.
    let ahead = now_secs() + 200;
    daemon.set_handler(chain_handler_at("regtest", regtest_genesis(), 6, ahead));
    timeout(WAIT, feed.template.wait_for(Option::is_none))
        .await
        .expect("the work was withdrawn")
        .expect("source running");
    let status = feed.status.borrow().clone();
    let error = status.error.clone().expect("an error");
    assert!(error.contains("clock"), "{status:?}");
    assert!(status.template_expired && status.clock_skew_secs.is_some_and(|s| s > 120));
}
