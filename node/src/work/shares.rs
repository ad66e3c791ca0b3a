//! The share path: what the node does with each valid share a miner submits. A block goes to
//! every coin daemon at once, in a task of its own that the share path does not wait for; a share that meets the sharechain
//! target goes into the sharechain (flushed to disk before it counts); the rest only counts for
//! the miner's statistics, which the Stratum server keeps.

use super::block;
use super::chain::SharedChain;
use super::coinbases::{JobWork, MinerWork};
use super::found::{FoundBlockLog, FoundBlockRecord};
use crate::daemon::source::{Daemons, SubmitOutcome};
use crate::stratum::Submission;
use bitcoin::consensus::deserialize;
use bitcoin::{ScriptBuf, Transaction};
use otedama_proto::hash::{BlockHash, Txid};
use otedama_proto::header::Header;
use otedama_sharechain::{AddOutcome, StoreSyncer};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify};
use tracing::{error, info, warn};

/// What the share path has done, for the API.
#[derive(Debug, Default)]
pub struct ShareCounters {
    /// Blocks a daemon accepted, each counted once (a `duplicate` answer does not count).
    pub blocks_found: AtomicU64,
    /// Blocks the daemon refused (or no daemon could be reached to take).
    pub blocks_rejected: AtomicU64,
    /// Valid blocks the daemon kept off its best chain: another block at the height came first.
    pub blocks_stale: AtomicU64,
    /// Shares the sharechain accepted.
    pub shares_accepted: AtomicU64,
    /// Shares the sharechain refused.
    pub shares_rejected: AtomicU64,
    /// The hashes of the latest blocks counted as found, so that a block is counted once however
    /// often it is submitted and accepted.
    found_hashes: Mutex<VecDeque<BlockHash>>,
    /// Where found blocks are kept across restarts; `None` keeps them in memory only.
    log: Option<FoundBlockLog>,
}

/// How many found block hashes are remembered; a resubmission comes within seconds.
const FOUND_REMEMBERED: usize = 256;

impl ShareCounters {
    /// Counters that keep found blocks in `log`, starting from the blocks it already holds
    /// (`found`, oldest first, as [`FoundBlockLog::open`] returns them).
    pub fn with_log(log: FoundBlockLog, found: &[FoundBlockRecord]) -> Self {
        let hashes: VecDeque<BlockHash> = found
            .iter()
            .rev()
            .filter_map(FoundBlockRecord::block_hash)
            .take(FOUND_REMEMBERED)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        ShareCounters {
            blocks_found: AtomicU64::new(found.len() as u64),
            found_hashes: Mutex::new(hashes),
            log: Some(log),
            ..ShareCounters::default()
        }
    }

    /// Counts `hash` as a block found unless it was counted already; true when it is new.
    fn record_found(&self, hash: BlockHash) -> bool {
        let mut found = self.found_hashes.lock().expect("no panic while held");
        if found.contains(&hash) {
            return false;
        }
        if found.len() == FOUND_REMEMBERED {
            found.pop_front();
        }
        found.push_back(hash);
        self.blocks_found.fetch_add(1, Ordering::Relaxed);
        true
    }
}

/// Whether a `submitblock` answer means "valid as far as checked, but not on the best chain":
/// `inconclusive` (a block beside the tip) or `duplicate-inconclusive` (the same, seen before).
/// `duplicate-invalid` and every other reason are refusals.
fn is_stale_block(reason: &str) -> bool {
    matches!(reason, "inconclusive" | "duplicate-inconclusive")
}

/// Consumes submissions from the Stratum server.
#[derive(Debug)]
pub struct SharePath {
    /// The sharechain.
    pub chain: SharedChain,
    /// The coin daemons, for `submitblock`.
    pub daemons: Daemons,
    /// Woken when the sharechain tip changes, so that new jobs go out.
    pub tip_changed: Arc<Notify>,
    /// Counters for the API.
    pub counters: Arc<ShareCounters>,
    /// Where accepted shares are gossiped.
    pub network: Option<crate::p2p::NetworkHandle>,
}

impl SharePath {
    /// Handles submissions until the channel closes (the server stopped).
    pub async fn run(self, mut submissions: mpsc::Receiver<Box<Submission>>) {
        while let Some(sub) = submissions.recv().await {
            self.handle(&sub).await;
        }
    }

    async fn handle(&self, sub: &Submission) {
        let Some(work) = sub
            .job
            .spec
            .attachment
            .clone()
            .and_then(|a| a.downcast::<JobWork>().ok())
        else {
            error!(
                job = sub.job.id,
                "submission on a job without work attached; dropped"
            );
            return;
        };
        let script = sub.payout.script_pubkey().to_owned();
        let miner = match work.miner(&script) {
            Ok(m) => m,
            Err(e) => {
                return error!(worker = %sub.worker, error = %e, "no work for a submitted share")
            }
        };
        let submitted: Transaction = match deserialize(&sub.coinbase) {
            Ok(tx) => tx,
            Err(e) => {
                return error!(worker = %sub.worker, error = %e, "submitted coinbase does not decode")
            }
        };
        let Some(script_sig) = submitted.input.first().map(|i| i.script_sig.clone()) else {
            return error!(worker = %sub.worker, "submitted coinbase has no input");
        };
        if sub.is_block() {
            self.submit_block(sub, &work, &miner, &submitted, script_sig.clone());
        }
        if sub.is_sharechain_share() {
            self.add_share(sub, &work, &miner, script_sig).await;
        }
    }

    /// Assembles the block and hands it to a task of its own that submits it to every daemon
    /// and counts the outcome: the share path goes on at once, so the block's share enters the
    /// sharechain without waiting for the daemons, and a slow daemon never holds up the
    /// submissions (and the Stratum sessions) queued behind it.
    fn submit_block(
        &self,
        sub: &Submission,
        work: &JobWork,
        miner: &MinerWork,
        submitted: &Transaction,
        script_sig: ScriptBuf,
    ) {
        let coinbase = miner.template.coinbase(script_sig);
        if Txid::of(&coinbase) != Txid::of(submitted) {
            error!(worker = %sub.worker, "the coinbase rebuilt from the share template differs from the one mined; block not submitted");
            self.counters
                .blocks_rejected
                .fetch_add(1, Ordering::Relaxed);
            return;
        }
        let bytes = match block::assemble(&sub.header, &coinbase, &work.block) {
            Ok(b) => b,
            Err(e) => {
                error!(error = %e, "cannot assemble the block");
                self.counters
                    .blocks_rejected
                    .fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        let hash = sub.block_hash();
        tokio::spawn(submit_and_count(
            self.daemons.clone(),
            Arc::clone(&self.counters),
            hex::encode(bytes),
            FoundBlock {
                hash,
                height: work.block.height,
                worker: sub.worker.clone(),
            },
            work.block.daemon,
            RESUBMIT,
        ));
    }

    /// Adds the share to the sharechain and syncs it to disk on a blocking thread (validation
    /// hashes, the sync may wait on a slow disk: neither may hold up an async worker), the
    /// chain's lock released before the sync; gossips it only once it is durable.
    async fn add_share(
        &self,
        sub: &Submission,
        work: &JobWork,
        miner: &MinerWork,
        script_sig: ScriptBuf,
    ) {
        let header = Header::from_array(&sub.header);
        let share = miner
            .template
            .share(header, script_sig, work.branch.clone());
        let id = header.block_hash();
        let now = sub.received.as_secs();
        let encoded = self
            .network
            .as_ref()
            .map(|_| otedama_sharechain::codec::encode_share(&share));
        let chain = self.chain.clone();
        let added = tokio::task::spawn_blocking(move || {
            let mut guard = chain.lock();
            let outcome = guard.add(share, now);
            let written = guard.write_staged();
            drop(guard);
            let flushed = written.and_then(|syncer| Ok(syncer.sync()?));
            (outcome, flushed)
        })
        .await;
        let (outcome, flushed) = match added {
            Ok(added) => added,
            Err(e) => return error!(share = %id, error = %e, "the sharechain panicked on a share"),
        };
        if let Err(e) = &flushed {
            error!(error = %e, "cannot write the sharechain to disk");
        }
        match outcome {
            Ok(AddOutcome::Accepted(accepted)) => {
                self.counters
                    .shares_accepted
                    .fetch_add(1, Ordering::Relaxed);
                info!(share = %id, worker = %sub.worker, "share accepted into the sharechain");
                if let (Some(network), Some(bytes), Ok(())) = (&self.network, encoded, &flushed) {
                    network.publish(bytes);
                }
                if accepted.event.is_some() {
                    self.tip_changed.notify_one();
                }
            }
            Ok(AddOutcome::Rejected(reason)) => {
                self.counters
                    .shares_rejected
                    .fetch_add(1, Ordering::Relaxed);
                warn!(share = %id, worker = %sub.worker, ?reason, "sharechain refused a share");
            }
            Ok(AddOutcome::WaitingForParent(missing)) => {
                warn!(share = %id, missing = missing.len(), "share waits for shares this node does not have");
            }
            Err(e) => error!(share = %id, error = %e, "sharechain storage failed"),
        }
    }
}

/// The node's clock, Unix seconds.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A block on its way to the daemons, for the logs.
#[derive(Clone, Debug)]
struct FoundBlock {
    hash: BlockHash,
    height: u32,
    worker: String,
}

/// How a block that no daemon could take yet is submitted again: a daemon restarting, every
/// daemon unreachable, or every daemon still without the block's parent (`prev-blk-not-found`).
/// The block stays valid until another block at its height wins, so it is worth trying for a
/// while; the daemons' answer then says whether it was in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Resubmit {
    /// The wait before the first retry; it doubles up to `longest`.
    first: Duration,
    /// The longest wait between two tries.
    longest: Duration,
    /// How long after the first try the block is given up (and counted rejected).
    give_up: Duration,
}

/// Found blocks are tried again for ten minutes (four Litecoin blocks), every 15 s at most.
const RESUBMIT: Resubmit = Resubmit {
    first: Duration::from_secs(1),
    longest: Duration::from_secs(15),
    give_up: Duration::from_secs(600),
};

/// Whether a block should be submitted again after `outcome`: no daemon could be reached or
/// answered without an error, or each that answered lacks the block's parent.
fn worth_resubmitting(outcome: &Result<SubmitOutcome, crate::daemon::rpc::RpcError>) -> bool {
    match outcome {
        Err(_) => true,
        Ok(SubmitOutcome::Refused(reason)) => reason == "prev-blk-not-found",
        Ok(_) => false,
    }
}

/// Submits a block to every daemon (the template's first), again while no daemon can take it
/// (see [`Resubmit`]), and counts what became of it.
async fn submit_and_count(
    daemons: Daemons,
    counters: Arc<ShareCounters>,
    block_hex: String,
    block: FoundBlock,
    template_daemon: usize,
    resubmit: Resubmit,
) {
    let FoundBlock {
        hash,
        height,
        worker,
    } = block;
    let started = Instant::now();
    let mut wait = resubmit.first;
    let outcome = loop {
        let outcome = daemons.submit_block(&block_hex, template_daemon).await;
        if !worth_resubmitting(&outcome) || started.elapsed() + wait > resubmit.give_up {
            break outcome;
        }
        match &outcome {
            Err(e) => {
                warn!(%hash, height, error = %e, retry_in = ?wait, "no daemon took the found block yet; submitting it again")
            }
            Ok(answer) => {
                warn!(%hash, height, ?answer, retry_in = ?wait, "no daemon has the found block's parent yet; submitting it again")
            }
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(resubmit.longest);
    };
    match outcome {
        Ok(SubmitOutcome::Accepted) => {
            if counters.record_found(hash) {
                info!(%hash, height, %worker, "BLOCK FOUND and accepted by the daemon");
                if let Some(log) = counters.log.clone() {
                    let record = FoundBlockRecord {
                        hash: hash.to_string(),
                        height,
                        time: unix_now(),
                        finder: worker,
                    };
                    let written = tokio::task::spawn_blocking(move || log.append(&record)).await;
                    match written {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => error!(%hash, error = %e, "found block not recorded on disk"),
                        Err(e) => error!(%hash, error = %e, "found block not recorded on disk"),
                    }
                }
            } else {
                info!(%hash, height, "block accepted again; counted once");
            }
        }
        // The daemons had it already: it was submitted (and counted) before, or reached them
        // another way; either way it is not another block found.
        Ok(SubmitOutcome::Duplicate) => {
            info!(%hash, height, "the daemons already have this block; not counted again");
        }
        Ok(SubmitOutcome::Refused(reason)) if is_stale_block(&reason) => {
            counters.blocks_stale.fetch_add(1, Ordering::Relaxed);
            warn!(%hash, height, %reason, "block valid but stale: another block at this height reached the daemon first");
        }
        Ok(SubmitOutcome::Refused(reason)) => {
            counters.blocks_rejected.fetch_add(1, Ordering::Relaxed);
            warn!(%hash, height, %reason, "block rejected by the daemon");
        }
        Err(e) => {
            counters.blocks_rejected.fetch_add(1, Ordering::Relaxed);
            error!(%hash, error = %e, "block could not be submitted to any daemon");
        }
    }
}

#[cfg(test)]
mod stale_tests {
    use super::is_stale_block;

    #[test]
    fn only_inconclusive_answers_are_stale_blocks() {
        assert!(is_stale_block("inconclusive"));
        assert!(is_stale_block("duplicate-inconclusive"));
        for refused in [
            "duplicate-invalid",
            "high-hash",
            "bad-txnmrklroot",
            "rejected",
            "",
        ] {
            assert!(!is_stale_block(refused), "{refused}");
        }
    }
}

#[cfg(test)]
mod count_tests {
    //! What the daemons' answers to a block count as (issue 11.3).

    use super::*;
    use crate::daemon::rpc_double::{Reply, TestDoubleDaemon};
    use serde_json::{json, Value};
    use std::time::Duration;

    fn block(byte: u8) -> FoundBlock {
        FoundBlock {
            hash: BlockHash::from_byte_array([byte; 32]),
            height: 7,
            worker: "w".into(),
        }
    }

    fn counts(c: &ShareCounters) -> [u64; 3] {
        [
            c.blocks_found.load(Ordering::Relaxed),
            c.blocks_stale.load(Ordering::Relaxed),
            c.blocks_rejected.load(Ordering::Relaxed),
        ]
    }

    #[tokio::test]
    async fn a_duplicate_answer_is_not_another_block_found() {
        let double = TestDoubleDaemon::start(|_, _| Reply::Result(json!("duplicate"))).await;
        let daemons = Daemons::new(vec![double.client(Duration::from_secs(5))]);
        let counters = Arc::new(ShareCounters::default());
        submit_and_count(
            daemons,
            counters.clone(),
            "00".into(),
            block(1),
            0,
            RESUBMIT,
        )
        .await;
        assert_eq!(counts(&counters), [0, 0, 0]);
    }

    #[tokio::test]
    async fn a_block_is_found_once_however_often_it_is_accepted() {
        let double = TestDoubleDaemon::start(|_, _| Reply::Result(Value::Null)).await;
        let daemons = Daemons::new(vec![double.client(Duration::from_secs(5))]);
        let counters = Arc::new(ShareCounters::default());
        for _ in 0..2 {
            submit_and_count(
                daemons.clone(),
                counters.clone(),
                "00".into(),
                block(1),
                0,
                RESUBMIT,
            )
            .await;
        }
        assert_eq!(counts(&counters), [1, 0, 0]);
        submit_and_count(
            daemons,
            counters.clone(),
            "00".into(),
            block(2),
            0,
            RESUBMIT,
        )
        .await;
        assert_eq!(counts(&counters), [2, 0, 0]);
    }

    #[tokio::test]
    async fn found_stale_and_rejected_are_counted_apart() {
        let double = TestDoubleDaemon::start(|_, params| match params[0].as_str() {
            Some("01") => Reply::Result(json!("inconclusive")),
            Some("02") => Reply::Result(json!("high-hash")),
            _ => Reply::Result(Value::Null),
        })
        .await;
        let daemons = Daemons::new(vec![double.client(Duration::from_secs(5))]);
        let counters = Arc::new(ShareCounters::default());
        submit_and_count(
            daemons.clone(),
            counters.clone(),
            "01".into(),
            block(1),
            0,
            RESUBMIT,
        )
        .await;
        submit_and_count(
            daemons.clone(),
            counters.clone(),
            "02".into(),
            block(2),
            0,
            RESUBMIT,
        )
        .await;
        submit_and_count(
            daemons,
            counters.clone(),
            "03".into(),
            block(3),
            0,
            RESUBMIT,
        )
        .await;
        assert_eq!(counts(&counters), [1, 1, 1]);
    }

    /// Retries in milliseconds, so the tests see several tries quickly.
    const FAST: Resubmit = Resubmit {
        first: Duration::from_millis(10),
        longest: Duration::from_millis(40),
        give_up: Duration::from_secs(5),
    };

    #[tokio::test]
    async fn a_block_no_daemon_could_take_is_submitted_again_until_one_does() {
        // The daemon is restarting (-28) for two tries, then lacks the parent for one, then
        // takes the block: found once, nothing rejected.
        let tries = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = Arc::clone(&tries);
        let double =
            TestDoubleDaemon::start(move |_, _| match seen.fetch_add(1, Ordering::SeqCst) {
                0 | 1 => Reply::Error(-28, "Loading block index...".into()),
                2 => Reply::Result(json!("prev-blk-not-found")),
                _ => Reply::Result(Value::Null),
            })
            .await;
        let daemons = Daemons::new(vec![double.client(Duration::from_secs(5))]);
        let counters = Arc::new(ShareCounters::default());
        submit_and_count(daemons, counters.clone(), "00".into(), block(1), 0, FAST).await;
        assert_eq!(counts(&counters), [1, 0, 0]);
        assert_eq!(double.calls_of("submitblock").len(), 4);
    }

    #[tokio::test]
    async fn a_block_is_given_up_once_the_resubmission_time_is_over() {
        let double = TestDoubleDaemon::start(|_, _| Reply::Error(-1, "down".into())).await;
        let daemons = Daemons::new(vec![double.client(Duration::from_secs(5))]);
        let counters = Arc::new(ShareCounters::default());
        let quick = Resubmit {
            give_up: Duration::from_millis(200),
            ..FAST
        };
        submit_and_count(daemons, counters.clone(), "00".into(), block(1), 0, quick).await;
        assert_eq!(counts(&counters), [0, 0, 1]);
        let tries = double.calls_of("submitblock").len();
        assert!((3..=10).contains(&tries), "{tries} tries");
    }
}

#[cfg(test)]
mod found_tests {
    //! Found blocks kept across restarts (issue 11.3).

    use super::*;
    use crate::daemon::rpc_double::{Reply, TestDoubleDaemon};
    use crate::work::found::FILE_NAME;
    use serde_json::Value;
    use std::time::Duration;

    fn block(byte: u8, height: u32) -> FoundBlock {
        FoundBlock {
            hash: BlockHash::from_byte_array([byte; 32]),
            height,
            worker: format!("addr.rig{byte}"),
        }
    }

    #[tokio::test]
    async fn found_blocks_survive_a_restart_and_are_not_counted_again() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join(FILE_NAME);
        let double = TestDoubleDaemon::start(|_, _| Reply::Result(Value::Null)).await;
        let daemons = Daemons::new(vec![double.client(Duration::from_secs(5))]);

        let (log, found) = FoundBlockLog::open(&path).expect("a new file");
        assert!(found.is_empty());
        let counters = Arc::new(ShareCounters::with_log(log, &found));
        for b in [block(1, 10), block(1, 10), block(2, 11)] {
            submit_and_count(
                daemons.clone(),
                counters.clone(),
                "00".into(),
                b,
                0,
                RESUBMIT,
            )
            .await;
        }
        assert_eq!(counters.blocks_found.load(Ordering::Relaxed), 2);

        // The node restarts.
        let (log, found) = FoundBlockLog::open(&path).expect("the file again");
        let heights: Vec<(u32, &str)> = found
            .iter()
            .map(|r| (r.height, r.finder.as_str()))
            .collect();
        assert_eq!(heights, [(10, "addr.rig1"), (11, "addr.rig2")]);
        assert_eq!(found[0].block_hash(), Some(block(1, 10).hash));
        assert!(found.iter().all(|r| r.time > 1_700_000_000));
        let counters = Arc::new(ShareCounters::with_log(log, &found));
        assert_eq!(counters.blocks_found.load(Ordering::Relaxed), 2);
        // Block 1 comes again (a miner resubmits it): not another block found.
        submit_and_count(
            daemons,
            counters.clone(),
            "00".into(),
            block(1, 10),
            0,
            RESUBMIT,
        )
        .await;
        assert_eq!(counters.blocks_found.load(Ordering::Relaxed), 2);
    }
}
