//! Tests of the job builder: which templates become jobs, and when, driven through its channels
//! as the node drives it (the daemon's template feed, the network's `synced` flag).

use super::*;
use crate::daemon::source::DaemonStatus;
use crate::stratum::Job;
use otedama_proto::chain::{Coin, Network};
use otedama_sharechain::{Consensus, ShareChain, SledStore};
use std::path::PathBuf;

/// Removes the store's directory at the end of the test, failed or not.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        TempDir(std::env::temp_dir().join(format!(
            "otedama-jobs-{tag}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("after 1970")
                .as_nanos()
        )))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A daemon template on previous block `prev` (repeated byte), at `height`, with `txs`.
fn template(prev: u8, height: u32, txs: serde_json::Value) -> BlockTemplate {
    serde_json::from_value(serde_json::json!({
        "version": 536870912,
        "previousblockhash": hex::encode([prev; 32]),
        "transactions": txs, "coinbasevalue": 5_000_000_000u64,
        "target": "7fffff0000000000000000000000000000000000000000000000000000000000",
        "mintime": 1, "curtime": 2, "bits": "207fffff", "height": height
    }))
    .expect("a template")
}

/// A job builder on an empty Litecoin regtest sharechain, and the ends of its channels.
struct Rig {
    builder: Option<JobBuilder>,
    broadcast: Arc<JobBroadcast>,
    templates: watch::Sender<Option<Arc<BlockTemplate>>>,
    synced: watch::Sender<bool>,
    // Kept so that the builder's receivers stay open.
    _daemon: watch::Sender<DaemonStatus>,
    status: watch::Receiver<WorkStatus>,
    chain: SharedChain,
    // Last, so that the store closes before its directory goes.
    _dir: TempDir,
}

impl Rig {
    fn new(tag: &str) -> Rig {
        let dir = TempDir::new(tag);
        let consensus = Consensus::for_network(Coin::Litecoin, Network::Regtest).expect("regtest");
        let store = SledStore::open(&dir.0).expect("a store");
        let chain = SharedChain::new(ShareChain::open(consensus, store).expect("a chain"));
        let broadcast = Arc::new(JobBroadcast::new(Coin::Litecoin.pow_algo()));
        let (templates, template_rx) = watch::channel(None);
        let (daemon, status_rx) = watch::channel(DaemonStatus::default());
        let (synced, synced_rx) = watch::channel(false);
        let (status_tx, status) = watch::channel(WorkStatus::default());
        let builder = JobBuilder {
            chain: chain.clone(),
            broadcast: broadcast.clone(),
            feed: TemplateFeed {
                template: template_rx,
                status: status_rx,
            },
            tip_changed: Arc::new(Notify::new()),
            refresh: Duration::from_secs(3600),
            synced: synced_rx,
            status: status_tx,
        };
        Rig {
            builder: Some(builder),
            broadcast,
            templates,
            synced,
            _daemon: daemon,
            status,
            chain,
            _dir: dir,
        }
    }

    fn send(&self, t: BlockTemplate) {
        self.templates.send_replace(Some(Arc::new(t)));
    }
}

/// Waits (bounded, so a missing job fails the test instead of hanging it) for a job on `prev`.
async fn job_on(jobs: &mut crate::stratum::JobReceiver, prev: u8) -> Option<Arc<Job>> {
    let want: BlockHash = hex::encode([prev; 32]).parse().expect("a hash");
    let wait = jobs.wait_for(|j| j.as_ref().is_some_and(|j| j.spec.prev_hash == want));
    match tokio::time::timeout(Duration::from_secs(10), wait).await {
        Ok(Ok(job)) => job.clone(),
        _ => None,
    }
}

#[tokio::test]
async fn a_new_block_while_briefly_unsynced_gets_a_clean_job_on_the_last_parent() {
    let mut rig = Rig::new("unsynced");
    let (stop_tx, stop) = watch::channel(false);
    let task = tokio::spawn(rig.builder.take().expect("a builder").run(stop));
    let mut jobs = rig.broadcast.subscribe();

    rig.synced.send_replace(true);
    rig.send(template(0x11, 200, serde_json::json!([])));
    let first = job_on(&mut jobs, 0x11).await.expect("a job once synced");
    assert!(first.spec.clean);

    // A reconnect: the network layer reports the node behind, then the coin gets a new block.
    rig.synced.send_replace(false);
    rig.send(template(0x22, 201, serde_json::json!([])));
    let job = job_on(&mut jobs, 0x22)
        .await
        .expect("a job on the new block although the sharechain is catching up");
    assert!(job.spec.clean, "miners must drop the previous block's work");
    assert_eq!(job.spec.share_parent, rig.chain.lock().tip());
    assert_eq!(job.spec.height, 201);
    let mut status = rig.status.clone();
    tokio::time::timeout(
        Duration::from_secs(10),
        status.wait_for(|s| s.state == WorkState::NewBlocksOnly && s.height == Some(201)),
    )
    .await
    .expect("the status says new blocks only while catching up")
    .expect("the builder runs");

    stop_tx.send_replace(true);
    task.await.expect("the builder stops");
    drop((first, job, jobs));
    drop(rig);
}

#[tokio::test]
async fn a_node_never_synced_hands_out_no_work() {
    let mut rig = Rig::new("never");
    let (stop_tx, stop) = watch::channel(false);
    let task = tokio::spawn(rig.builder.take().expect("a builder").run(stop));
    let mut status = rig.status.clone();

    rig.send(template(0x11, 200, serde_json::json!([])));
    tokio::time::timeout(
        Duration::from_secs(10),
        status.wait_for(|s| s.state == WorkState::WaitingForSync),
    )
    .await
    .expect("the builder saw the template")
    .expect("the builder runs");
    status.mark_unchanged();
    rig.send(template(0x22, 201, serde_json::json!([])));
    // The builder answers each template; once it has answered the second one, still no job.
    tokio::time::timeout(Duration::from_secs(10), status.changed())
        .await
        .expect("the builder saw the second template")
        .expect("the builder runs");
    assert_eq!(status.borrow().state, WorkState::WaitingForSync);
    assert!(
        rig.broadcast.current().is_none(),
        "no work before the first sync (docs/consensus.md §11.4)"
    );

    rig.synced.send_replace(true);
    let mut jobs = rig.broadcast.subscribe();
    let job = job_on(&mut jobs, 0x22).await.expect("work once synced");
    tokio::time::timeout(
        Duration::from_secs(10),
        status.wait_for(|s| s.state == WorkState::Mining && s.height == Some(201)),
    )
    .await
    .expect("the status follows the job")
    .expect("the builder runs");

    stop_tx.send_replace(true);
    task.await.expect("the builder stops");
    drop((job, jobs));
    drop(rig);
}

/// An MWEB template: an unrelated transaction `a` of `a_weight`, a peg-in and the HogEx that
/// spends it, with `weight_limit` for the block.
fn mweb_template(prev: u8, a_weight: u64, weight_limit: u64) -> BlockTemplate {
    use crate::work::block::fixture::{hogex, tx};
    let (a, _) = tx(1, &[], a_weight, 1_000);
    let (pegin, pegin_id) = tx(2, &[], 10_000, 500);
    let h = hogex(3, &[(pegin_id, 0)], 1_000);
    let mut t = template(prev, 500, serde_json::json!([a, pegin, h]));
    t.mweb = Some("00".into());
    t.weight_limit = Some(weight_limit);
    t
}

#[tokio::test]
async fn a_too_full_mweb_template_still_gets_a_job_without_the_unbound_transactions() {
    let mut rig = Rig::new("mweb");
    let builder = rig.builder.take().expect("a builder");
    let mut last_prev = None;
    let t = Arc::new(mweb_template(0x33, 1_000_000, 400_000));
    builder.step(&t, true, true, &mut last_prev);

    let job = rig
        .broadcast
        .current()
        .expect("a job on the new block: miners must not stay on the previous one");
    assert!(job.spec.clean);
    let work = job
        .spec
        .attachment
        .clone()
        .expect("the job's work")
        .downcast::<JobWork>()
        .expect("a JobWork");
    let kept: Vec<String> = work
        .block
        .transactions
        .iter()
        .map(|t| t.txid.clone())
        .collect();
    assert_eq!(
        kept,
        vec![
            t.transactions[1].txid.clone(),
            t.transactions[2].txid.clone()
        ],
        "the peg-in and the HogEx stay, the unrelated transaction goes"
    );
    assert_eq!(work.block.coinbase_value, t.coinbase_value - 1_000);
    assert_eq!(work.block.mweb, t.mweb);
    let status = rig.status.borrow().clone();
    assert_eq!(status.state, WorkState::Mining);
    assert_eq!(status.dropped_transactions, 1);
    drop((job, work, builder));
}

#[tokio::test]
async fn an_mweb_template_that_cannot_fit_says_the_work_is_stale() {
    let mut rig = Rig::new("mweb-full");
    let builder = rig.builder.take().expect("a builder");
    let mut last_prev = None;
    builder.step(
        &Arc::new(template(0x11, 499, serde_json::json!([]))),
        true,
        true,
        &mut last_prev,
    );
    assert!(rig.broadcast.current().is_some());
    // Even the HogEx and its peg-in leave no room for the coinbase.
    builder.step(
        &Arc::new(mweb_template(0x33, 1_000, 5_000)),
        true,
        true,
        &mut last_prev,
    );
    let job = rig.broadcast.current().expect("the last job");
    assert_eq!(
        job.spec.height, 499,
        "no job on a block that would be invalid"
    );
    let status = rig.status.borrow().clone();
    assert_eq!(status.state, WorkState::Stale, "{status:?}");
    assert!(
        status.detail.as_deref().is_some_and(|d| d.contains("MWEB")),
        "{status:?}"
    );
    drop((job, builder));
}
