//! The p2p event loop stays live while the sharechain's lock is held elsewhere (a long write, a
//! slow disk): two real nodes over loopback, one of whose chain a thread keeps locked.

use super::{spawn, NetworkConfig, NetworkHandle};
use crate::work::chain::SharedChain;
use bitcoin::ScriptBuf;
use otedama_proto::chain::{Coin, Network};
use otedama_sharechain::testkit::mine_chain;
use otedama_sharechain::{AddOutcome, Consensus, ShareChain, SledStore};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};
use tokio::sync::{watch, Notify};

/// A node on loopback with its own temporary directory (kept alive by the returned guard).
async fn node(
    chain: SharedChain,
    bootstrap: Vec<libp2p::Multiaddr>,
    shutdown: watch::Receiver<bool>,
) -> (
    NetworkHandle,
    tokio::task::JoinHandle<()>,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = NetworkConfig {
        listen: "/ip4/127.0.0.1/tcp/0".parse().expect("a multiaddr"),
        bootstrap,
        dir: dir.path().to_owned(),
        agent: "otedama/test".into(),
        limit_loopback: false,
    };
    let (handle, task) = spawn(config, chain, Arc::new(Notify::new()), shutdown)
        .await
        .expect("the network starts");
    (handle, task, dir)
}

/// A sled chain in a temporary directory holding `shares` shares of one miner.
fn chain_with(consensus: &Consensus, shares: usize) -> (SharedChain, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut chain = ShareChain::open(
        consensus.clone(),
        SledStore::open(dir.path()).expect("a store"),
    )
    .expect("a chain");
    let payee = ScriptBuf::from_bytes([[0x00, 0x14].as_slice(), &[7; 20]].concat());
    for share in mine_chain(consensus, shares, 1_700_000_000, &[payee]) {
        let outcome = chain.add(share, 1_800_000_000).expect("stored");
        assert!(matches!(outcome, AddOutcome::Accepted(_)), "{outcome:?}");
    }
    (SharedChain::new(chain), dir)
}

async fn wait_until<T>(limit: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(found) = probe() {
            return Some(found);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// While a thread holds node X's chain locked, a new peer connects: X must still answer its
/// `Status` request (from the published tip, not under the lock). Before, X's event loop took
/// the lock to answer and every peer of X waited for as long as the lock was held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_answers_status_while_its_chain_is_locked() {
    let consensus = Consensus::for_network(Coin::Bitcoin, Network::Regtest).expect("regtest");
    let (x_chain, _x_store) = chain_with(&consensus, 3);
    let (y_chain, _y_store) = chain_with(&consensus, 0);
    let (stop, shutdown) = watch::channel(false);
    let (x, x_task, _x_dir) = node(x_chain.clone(), Vec::new(), shutdown.clone()).await;
    let x_addr = wait_until(Duration::from_secs(10), || x.view().listen.first().cloned())
        .await
        .expect("X listens");
    let x_id = x.peer_id();

    // Hold X's chain until told (or a minute, so that a failing test still ends).
    let (held_tx, held) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let guard = x_chain.lock();
        held_tx.send(()).expect("the test waits");
        let _ = released.recv_timeout(Duration::from_secs(60));
        drop(guard);
    });
    held.recv().expect("the holder locked X's chain");

    let bootstrap = format!("{x_addr}/p2p/{x_id}").parse().expect("a multiaddr");
    let (y, y_task, _y_dir) = node(y_chain, vec![bootstrap], shutdown.clone()).await;
    let seen = wait_until(Duration::from_secs(20), || {
        y.view()
            .peers
            .iter()
            .find(|p| p.peer_id == x_id)
            .and_then(|p| p.height)
    })
    .await;
    release.send(()).expect("the holder waits");
    holder.join().expect("the holder ends");
    assert_eq!(
        seen,
        Some(2),
        "Y never learnt X's height while X's chain was locked"
    );
    stop.send_replace(true);
    let _ = x_task.await;
    let _ = y_task.await;
}
