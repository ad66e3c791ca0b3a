//! The chain worker against a store whose sync waits at a gate (a slow disk): other users of the
//! chain keep its lock while the worker syncs, gossip shares queued together share one sync, and
//! nothing is reported (so nothing is forwarded) before it is durable.

use super::*;
use otedama_proto::chain::{Coin, Network};
use otedama_proto::target::CompactTarget;
use otedama_sharechain::codec::encode_share;
use otedama_sharechain::{
    Consensus, ConsensusId, ConsensusParams, MemoryStore, Share, ShareChain, StoreError,
    StoreSyncer, StoredShare,
};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// A gate syncs wait at: open, or closed until the test opens it.
#[derive(Debug, Default)]
struct Gate {
    state: Mutex<GateState>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct GateState {
    closed: bool,
    /// Syncs that reached the gate.
    entered: u32,
    /// Syncs that went through it.
    passed: u32,
}

impl Gate {
    fn state(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state.lock().expect("no panic while held")
    }

    /// Waits while the gate is closed.
    fn pass(&self) {
        let mut s = self.state();
        s.entered += 1;
        self.changed.notify_all();
        while s.closed {
            s = self.changed.wait(s).expect("no panic while held");
        }
        s.passed += 1;
    }

    fn passed(&self) -> u32 {
        self.state().passed
    }

    fn set_closed(&self, closed: bool) {
        self.state().closed = closed;
        self.changed.notify_all();
    }

    /// Whether `n` syncs reached the gate within `timeout`.
    fn wait_entered(&self, n: u32, timeout: Duration) -> bool {
        let s = self.state();
        let (s, _) = self
            .changed
            .wait_timeout_while(s, timeout, |s| s.entered < n)
            .expect("no panic while held");
        s.entered >= n
    }
}

/// A memory store whose syncs wait at a gate.
#[derive(Debug)]
struct GatedStore {
    inner: MemoryStore,
    gate: Arc<Gate>,
}

/// The memory store's syncer, behind the gate.
#[derive(Debug)]
struct GatedSyncer {
    inner: <MemoryStore as ShareStore>::Syncer,
    gate: Arc<Gate>,
}

impl StoreSyncer for GatedSyncer {
    fn sync(&self) -> Result<(), StoreError> {
        self.gate.pass();
        self.inner.sync()
    }
}

impl ShareStore for GatedStore {
    type Syncer = GatedSyncer;

    fn put(&mut self, id: &ShareId, record: &StoredShare) -> Result<(), StoreError> {
        self.inner.put(id, record)
    }
    fn get(&self, id: &ShareId) -> Result<Option<StoredShare>, StoreError> {
        self.inner.get(id)
    }
    fn remove(&mut self, ids: &[ShareId]) -> Result<(), StoreError> {
        self.inner.remove(ids)
    }
    fn set_tip(&mut self, tip: &ShareId) -> Result<(), StoreError> {
        self.inner.set_tip(tip)
    }
    fn tip(&self) -> Result<Option<ShareId>, StoreError> {
        self.inner.tip()
    }
    fn load_all(&self) -> Result<Vec<StoredShare>, StoreError> {
        self.inner.load_all()
    }
    fn consensus_id(&self) -> Result<Option<ConsensusId>, StoreError> {
        self.inner.consensus_id()
    }
    fn set_consensus_id(&mut self, id: &ConsensusId) -> Result<(), StoreError> {
        self.inner.set_consensus_id(id)
    }
    fn syncer(&mut self) -> GatedSyncer {
        GatedSyncer {
            inner: self.inner.syncer(),
            gate: Arc::clone(&self.gate),
        }
    }
}

fn consensus() -> Consensus {
    let mut p = ConsensusParams::for_network(Coin::Bitcoin, Network::Regtest).expect("exists");
    p.share_pow_limit = CompactTarget::from_consensus(0x207f_ffff);
    Consensus::new(p).expect("valid")
}

/// A chain on a gated store (gate closed after opening, which syncs) and `n` shares to gossip.
fn gated_chain(n: usize) -> (SharedChain<GatedStore>, Arc<Gate>, Vec<Share>) {
    let c = consensus();
    let start = u32::try_from(now()).expect("before 2106") - 1000;
    let scripts = [bitcoin::ScriptBuf::from_bytes(
        [&[0x00, 0x14][..], &[0x42; 20]].concat(),
    )];
    let shares = otedama_sharechain::testkit::mine_chain(&c, n, start, &scripts);
    let gate = Arc::new(Gate::default());
    let store = GatedStore {
        inner: MemoryStore::new(),
        gate: Arc::clone(&gate),
    };
    let chain = SharedChain::new(ShareChain::open(c, store).expect("opens"));
    // Closed, and the sync of opening not counted.
    *gate.state() = GateState {
        closed: true,
        ..GateState::default()
    };
    (chain, gate, shares)
}

fn gossip_job(share: &Share, n: u8) -> ChainJob {
    ChainJob::Gossip {
        source: PeerId::random(),
        message_id: MessageId::new(&[n]),
        bytes: encode_share(share),
    }
}

/// The ids the answers accepted, in order; panics on any other answer.
fn accepted_ids(answers: &mut mpsc::Receiver<ChainDone>) -> Vec<ShareId> {
    let mut ids = Vec::new();
    while let Ok(done) = answers.try_recv() {
        match done {
            ChainDone::Gossip {
                verdict: Verdict::Accepted { id, .. },
                ..
            } => ids.push(id),
            other => panic!("not accepted: {other:?}"),
        }
    }
    ids
}

/// While the worker waits for the disk, the share path, the swarm loop and the Stratum sessions
/// still get the chain: its lock is not held through the sync.
#[test]
fn the_chain_lock_is_free_while_the_store_syncs() {
    let (chain, gate, shares) = gated_chain(1);
    let (jobs_tx, jobs_rx) = std_mpsc::sync_channel(8);
    let (done_tx, mut done_rx) = mpsc::channel(8);
    let worker = spawn(chain.clone(), Arc::new(Notify::new()), jobs_rx, done_tx);
    jobs_tx.send(gossip_job(&shares[0], 0)).expect("queued");
    assert!(
        gate.wait_entered(1, Duration::from_secs(10)),
        "the worker syncs the accepted share"
    );
    let (tip_tx, tip_rx) = std_mpsc::channel();
    let reader = chain.clone();
    std::thread::spawn(move || {
        let _ = tip_tx.send(reader.lock().tip());
    });
    let tip = tip_rx.recv_timeout(Duration::from_secs(5));
    assert!(
        done_rx.try_recv().is_err(),
        "the share is reported before it is durable"
    );
    gate.set_closed(false);
    assert_eq!(
        tip,
        Ok(Some(shares[0].id())),
        "the chain's lock is held while the store syncs"
    );
    drop(jobs_tx);
    worker.join().expect("the worker ends");
    assert_eq!(accepted_ids(&mut done_rx), vec![shares[0].id()]);
}

/// Gossip shares that arrive while the worker is busy are added together and synced once (one
/// fsync per share let floor-difficulty spam keep the disk busy), and none is reported before
/// that one sync made it durable.
#[test]
fn gossip_shares_queued_together_share_one_sync() {
    let (chain, gate, shares) = gated_chain(5);
    let (jobs_tx, jobs_rx) = std_mpsc::sync_channel(8);
    let (done_tx, mut done_rx) = mpsc::channel(8);
    for (i, share) in (0u8..).zip(&shares) {
        jobs_tx.send(gossip_job(share, i)).expect("queued");
    }
    let worker = spawn(chain.clone(), Arc::new(Notify::new()), jobs_rx, done_tx);
    assert!(
        gate.wait_entered(1, Duration::from_secs(10)),
        "the worker syncs"
    );
    std::thread::sleep(Duration::from_millis(200));
    let early = done_rx.try_recv();
    gate.set_closed(false);
    assert!(
        early.is_err(),
        "a share is reported before it is durable: {early:?}"
    );
    drop(jobs_tx);
    worker.join().expect("the worker ends");
    let ids: Vec<ShareId> = shares.iter().map(Share::id).collect();
    assert_eq!(accepted_ids(&mut done_rx), ids);
    assert_eq!(gate.passed(), 1, "one sync for the shares queued together");
    let crashed = chain.lock().store().inner.crash();
    let reopened = ShareChain::open(consensus(), crashed).expect("reopens");
    assert_eq!(
        reopened.tip(),
        ids.last().copied(),
        "all of them are durable"
    );
}
