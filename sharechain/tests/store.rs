//! One test suite that every [`ShareStore`] must pass, run against the in-memory store and the
//! sled store: record round trips, the chain reloaded with the same tip and window, pruning, and
//! flushed records surviving a crash of the in-memory model.

mod common;

use common::*;
use otedama_proto::chain::Coin;
use otedama_proto::hash::ShareId;
use otedama_sharechain::chain::ChainConfig;
use otedama_sharechain::{
    MemoryStore, ShareChain, ShareStore, SledStore, StoreSyncer, StoredShare,
};

/// How a suite opens a store, and reopens it after the chain that used it is dropped.
trait Harness {
    type Store: ShareStore;
    fn open(&mut self) -> Self::Store;
    fn reopen(&mut self, old: Self::Store) -> Self::Store;
}

struct Memory;
impl Harness for Memory {
    type Store = MemoryStore;
    fn open(&mut self) -> MemoryStore {
        MemoryStore::new()
    }
    fn reopen(&mut self, old: MemoryStore) -> MemoryStore {
        old
    }
}

struct Sled(tempfile::TempDir);
impl Harness for Sled {
    type Store = SledStore;
    fn open(&mut self) -> SledStore {
        SledStore::open(self.0.path()).expect("sled opens")
    }
    fn reopen(&mut self, old: SledStore) -> SledStore {
        drop(old);
        SledStore::open(self.0.path()).expect("sled reopens")
    }
}

fn sled() -> Sled {
    Sled(tempfile::tempdir().expect("temp dir"))
}

/// Mines `n` more shares (miners 0..4 in turn) onto `chain` and flushes.
fn grow<S: ShareStore>(chain: &mut ShareChain<S>, n: u32) -> Vec<ShareId> {
    let mut ids = Vec::new();
    for i in 0..n {
        let h = chain.height().map_or(0, |h| h + 1);
        let s = mine(chain, None, i % 4, T0 + h);
        ids.push(accept(chain, s));
    }
    chain.flush().expect("flush");
    ids
}

fn records_round_trip<H: Harness>(mut h: H) {
    let c = consensus(Coin::Bitcoin, 50);
    let mut chain = ShareChain::open(c.clone(), h.open()).expect("opens");
    let ids = grow(&mut chain, 5);
    let share = chain.get_share(&ids[3]).expect("read").expect("held");
    let mut store = h.reopen(chain.into_store().expect("store"));
    let record = store.get(&ids[3]).expect("read").expect("stored");
    assert_eq!(record.share, share);
    assert!(!record.root);
    assert_eq!(store.tip().expect("read"), Some(ids[4]));
    assert_eq!(store.load_all().expect("read").len(), 5);
    store.remove(&ids[..2]).expect("remove");
    store
        .put(
            &ids[0],
            &StoredShare {
                share: record.share.clone(),
                root: true,
                chain_work: Default::default(),
            },
        )
        .expect("put");
    store.flush().expect("flush");
    let store = h.reopen(store);
    assert_eq!(store.load_all().expect("read").len(), 4);
    assert!(store.get(&ids[1]).expect("read").is_none());
    assert!(store.get(&ids[0]).expect("read").expect("stored").root);
}

fn chain_reloads_with_the_same_tip_and_window<H: Harness>(mut h: H) {
    let c = consensus(Coin::Bitcoin, 30);
    let mut chain = ShareChain::open(c.clone(), h.open()).expect("opens");
    grow(&mut chain, 60);
    // A fork and an uncle, so the reload has more than a line to rebuild.
    let tip = chain.tip().expect("tip");
    let parent = chain
        .get_share(&tip)
        .expect("read")
        .expect("held")
        .data
        .prev_share;
    let fork = mine(&chain, Some(&parent), 9, T0 + 60);
    accept(&mut chain, fork);
    grow(&mut chain, 3);
    let (tip, window, payouts, work) = (
        chain.tip(),
        chain.window_ids(),
        payout_bytes(&chain, 5),
        chain.chain_work(),
    );
    let template = chain.template(&request(6)).expect("template");
    let store = h.reopen(chain.into_store().expect("store"));
    let chain = ShareChain::open(c, store).expect("reopens");
    assert_eq!(chain.tip(), tip);
    assert_eq!(chain.window_ids(), window);
    assert_eq!(payout_bytes(&chain, 5), payouts);
    assert_eq!(chain.chain_work(), work);
    assert_eq!(chain.template(&request(6)).expect("template"), template);
}

fn pruning_keeps_the_window<H: Harness>(mut h: H) {
    let c = consensus(Coin::Bitcoin, 20);
    let config = ChainConfig {
        max_orphans: 100,
        keep_heights: 45,
        prune_interval: 10,
    };
    let mut chain = ShareChain::open_with(c.clone(), h.open(), config.clone()).expect("opens");
    let ids = grow(&mut chain, 120);
    assert!(
        chain.len() <= 56,
        "pruned to about keep_heights + interval, holds {}",
        chain.len()
    );
    assert!(!chain.contains(&ids[0]));
    let (tip, payouts) = (chain.tip(), payout_bytes(&chain, 1));
    let store = h.reopen(chain.into_store().expect("store"));
    assert!(store.load_all().expect("read").len() <= 56);
    let mut chain = ShareChain::open_with(c, store, config).expect("reopens");
    assert_eq!(chain.tip(), tip);
    assert_eq!(payout_bytes(&chain, 1), payouts);
    // The pruned chain keeps validating new shares (its oldest shares are now roots).
    grow(&mut chain, 5);
}

/// A store keeps the consensus id of the chain it holds: opening it for another sharechain (another
/// network, or parameters changed since) is refused with a message that says what to do, whether
/// the store holds shares or not.
fn a_store_of_another_consensus_is_refused<H: Harness>(mut h: H) {
    let (ours, theirs) = (consensus(Coin::Bitcoin, 20), consensus(Coin::Bitcoin, 21));
    assert_ne!(ours.id(), theirs.id());
    let chain = ShareChain::open(ours.clone(), h.open()).expect("opens");
    let store = h.reopen(chain.into_store().expect("store"));
    let Err(err) = ShareChain::open(theirs.clone(), store) else {
        panic!(
            "a store of consensus id {} opened for {}",
            ours.id(),
            theirs.id()
        );
    };
    let msg = err.to_string();
    assert!(
        msg.contains(&ours.id().to_string()) && msg.contains(&theirs.id().to_string()),
        "{msg}"
    );
    assert!(msg.contains("remove"), "{msg}");
    // With shares in it, and reopened by its own consensus, it still opens.
    let fresh = h.open();
    let store = h.reopen(fresh);
    let mut chain = ShareChain::open(ours.clone(), store).expect("its own consensus opens it");
    grow(&mut chain, 3);
    let store = h.reopen(chain.into_store().expect("store"));
    assert!(ShareChain::open(theirs, store).is_err());
}

macro_rules! suite {
    ($name:ident, $make:expr) => {
        mod $name {
            use super::*;
            #[test]
            fn records_round_trip() {
                super::records_round_trip($make);
            }
            #[test]
            fn chain_reloads_with_the_same_tip_and_window() {
                super::chain_reloads_with_the_same_tip_and_window($make);
            }
            #[test]
            fn pruning_keeps_the_window() {
                super::pruning_keeps_the_window($make);
            }
            #[test]
            fn a_store_of_another_consensus_is_refused() {
                super::a_store_of_another_consensus_is_refused($make);
            }
        }
    };
}

suite!(memory, Memory);
suite!(sled_store, sled());

#[test]
fn a_crash_keeps_exactly_what_was_flushed() {
    let c = consensus(Coin::Bitcoin, 50);
    let mut chain = ShareChain::open(c.clone(), MemoryStore::new()).expect("opens");
    let flushed = grow(&mut chain, 10);
    let s = mine(&chain, None, 1, T0 + 10);
    let unflushed = accept(&mut chain, s);
    let crashed = chain.store().crash();
    let chain = ShareChain::open(c, crashed).expect("reopens");
    assert_eq!(chain.tip(), flushed.last().copied());
    assert!(!chain.contains(&unflushed));
}

/// A syncer taken under the chain's lock and synced after it was released makes durable exactly
/// the shares written before it was taken, even when the chain moved on (and another syncer was
/// taken) in between: the chain's owner may sync outside its lock.
#[test]
fn a_syncer_makes_durable_what_was_written_before_it() {
    let c = consensus(Coin::Bitcoin, 50);
    let mut chain = ShareChain::open(c.clone(), MemoryStore::new()).expect("opens");
    let first = grow(&mut chain, 3);
    let s = mine(&chain, None, 1, T0 + 3);
    let second = accept(&mut chain, s);
    let early = chain.write_staged().expect("written");
    let s = mine(&chain, None, 2, T0 + 4);
    let third = accept(&mut chain, s);
    let late = chain.write_staged().expect("written");
    // Written but not synced: a crash loses both.
    let crashed = ShareChain::open(c.clone(), chain.store().crash()).expect("reopens");
    assert_eq!(crashed.tip(), first.last().copied());
    early.sync().expect("synced");
    let crashed = ShareChain::open(c.clone(), chain.store().crash()).expect("reopens");
    assert_eq!(crashed.tip(), Some(second));
    assert!(!crashed.contains(&third));
    late.sync().expect("synced");
    early.sync().expect("a second sync changes nothing");
    let crashed = ShareChain::open(c, chain.store().crash()).expect("reopens");
    assert_eq!(crashed.tip(), Some(third));
}

/// A directory held by a live store is reported as in use (after sled's lock wait), and the
/// store opens again once the holder is gone.
#[test]
fn a_held_directory_is_reported_in_use() {
    let dir = tempfile::tempdir().expect("temp dir");
    let held = SledStore::open(dir.path()).expect("opens");
    let err = SledStore::open(dir.path()).expect_err("the directory is held");
    assert!(
        err.to_string().contains("in use by another process"),
        "{err}"
    );
    drop(held);
    SledStore::open(dir.path()).expect("opens once released");
}

/// A store written before stores kept their consensus id is judged by its shares' own ids.
#[test]
fn a_store_without_a_kept_id_is_judged_by_its_shares() {
    let (ours, theirs) = (consensus(Coin::Bitcoin, 20), consensus(Coin::Bitcoin, 21));
    let mut chain = ShareChain::open(ours.clone(), MemoryStore::new()).expect("opens");
    let ids = grow(&mut chain, 2);
    let share = chain.get_share(&ids[0]).expect("read").expect("held");
    let mut legacy = MemoryStore::new();
    let record = StoredShare {
        share,
        root: false,
        chain_work: Default::default(),
    };
    legacy.put(&ids[0], &record).expect("put");
    assert_eq!(legacy.consensus_id().expect("read"), None);
    let err = ShareChain::open(theirs, legacy.clone()).expect_err("shares of another id");
    assert!(err.to_string().contains(&ours.id().to_string()), "{err}");
    let chain = ShareChain::open(ours.clone(), legacy).expect("its own consensus opens it");
    assert_eq!(chain.store().consensus_id().expect("read"), Some(ours.id()));
}

/// A tmpfs of `size` mounted on a temporary directory, unmounted when dropped; `None` where this
/// process may not mount one (not root, or a container without the right).
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().expect("temp dir");
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        mounted.then_some(SmallDisk { dir })
    }

    fn fill(&self) {
        use std::io::Write;
        let mut f = std::fs::File::create(self.filler()).expect("filler");
        let chunk = vec![0u8; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
    }

    fn free(&self) {
        std::fs::remove_file(self.filler()).expect("filler removed");
    }

    fn filler(&self) -> std::path::PathBuf {
        self.dir.path().join("filler")
    }

    fn store(&self) -> std::path::PathBuf {
        self.dir.path().join("store")
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status();
    }
}

/// sled keeps an I/O error for good: once a write failed on a full disk, every later write of
/// that handle failed, even after the disk had room again, so a node whose disk filled up once
/// never stored another share until it was restarted (found by the fault soak). The store now
/// opens its directory again after an error and writes again what was not flushed.
#[test]
fn a_store_writes_again_once_a_full_disk_has_room() {
    let Some(disk) = SmallDisk::mount("8m") else {
        eprintln!("skipped: cannot mount a tmpfs here (the test needs root)");
        return;
    };
    let c = consensus(Coin::Bitcoin, 4000);
    let store = SledStore::open(&disk.store()).expect("opens");
    let mut chain = ShareChain::open(c.clone(), store).expect("chain opens");
    let mut accepted = grow(&mut chain, 10);
    disk.fill();
    let mut failed = false;
    for _ in 0..400 {
        let h = chain.height().map_or(0, |h| h + 1);
        let s = mine(&chain, None, h % 4, T0 + h);
        accepted.push(accept(&mut chain, s));
        if chain.flush().is_err() {
            failed = true;
            break;
        }
    }
    assert!(failed, "the full disk never failed a flush");
    disk.free();
    let h = chain.height().map_or(0, |h| h + 1);
    let s = mine(&chain, None, 1, T0 + h);
    accepted.push(accept(&mut chain, s));
    chain
        .flush()
        .expect("the store writes again once the disk has room");
    let tip = chain.tip();
    drop(chain);
    let chain = ShareChain::open(c, SledStore::open(&disk.store()).expect("reopens"))
        .expect("chain reopens");
    assert_eq!(chain.tip(), tip);
    for id in &accepted {
        assert!(chain.contains(id), "share {id} lost");
    }
}
