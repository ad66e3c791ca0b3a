//! An acknowledged share survives `kill -9`: a child process (this test binary, re-run with an
//! environment variable) mines into a sled store, flushes every few shares (group commit) and
//! only then prints the ids it acknowledges; the parent kills it with SIGKILL at an arbitrary
//! moment, reopens the store, and finds every acknowledged share and an uncorrupted chain.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use common::*;
use otedama_proto::chain::Coin;
use otedama_proto::hash::ShareId;
use otedama_sharechain::{ShareChain, SledStore};

const CHILD_ENV: &str = "OTEDAMA_DURABILITY_CHILD_DIR";

/// In the child: mine forever, acknowledging after each flush.
#[test]
fn durability_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let c = consensus(Coin::Bitcoin, 100);
    let mut chain =
        ShareChain::open(c, SledStore::open(Path::new(&dir)).expect("opens")).expect("loads");
    let mut stdout = std::io::stdout();
    let mut pending = Vec::new();
    loop {
        let h = chain.height().map_or(0, |h| h + 1);
        let s = mine(&chain, None, h % 5, T0 + h);
        pending.push(accept(&mut chain, s));
        if pending.len() == 4 {
            chain.flush().expect("flush");
            for id in pending.drain(..) {
                writeln!(stdout, "ACK {id}").expect("stdout");
            }
            stdout.flush().expect("stdout");
        }
    }
}

fn run_child_and_kill(dir: &Path, acks_before_kill: usize) -> Vec<ShareId> {
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "durability_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("child starts");
    let mut acked = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    while acked.len() < acks_before_kill {
        let line = lines.next().expect("child alive").expect("utf-8");
        if let Some(id) = line.strip_prefix("ACK ") {
            acked.push(id.parse().expect("share id"));
        }
    }
    child.kill().expect("SIGKILL"); // std sends SIGKILL on Unix
    child.wait().expect("reaped");
    acked
}

#[test]
fn acknowledged_shares_survive_sigkill() {
    let dir = tempfile::tempdir().expect("temp dir");
    let c = consensus(Coin::Bitcoin, 100);
    let mut all = Vec::new();
    for (round, acks) in [37usize, 21, 50].into_iter().enumerate() {
        let acked = run_child_and_kill(dir.path(), acks);
        all.extend(acked);
        let chain = ShareChain::open(c.clone(), SledStore::open(dir.path()).expect("reopens"))
            .expect("loads");
        for id in &all {
            assert!(
                chain.contains(id),
                "round {round}: acknowledged share {id} lost"
            );
        }
        let tip_height = chain.height().expect("a tip");
        assert!(
            tip_height as usize + 1 >= all.len(),
            "round {round}: tip {tip_height} below acknowledged"
        );
        // The reloaded chain still validates: the child's next round extends it.
    }
}
