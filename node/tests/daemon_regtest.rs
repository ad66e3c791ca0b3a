//! Runs the daemon client against two real `litecoind -regtest` processes.

use otedama_node::daemon::regtest::RegtestPair;
use otedama_node::daemon::{BlockTemplate, RpcError};
use serde_json::json;
use std::path::Path;

fn litecoind() -> &'static Path {
    Path::new("litecoind")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn template_from_a_real_litecoind_and_recovery_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let mut pair = RegtestPair::start(litecoind(), dir.path()).await.unwrap();

    let rules = json!([{"rules": ["segwit", "mweb"]}]);
    let t: BlockTemplate = pair
        .primary
        .rpc()
        .call("getblocktemplate", rules.clone())
        .await
        .unwrap();
    assert_eq!(t.height, 2, "one block was mined to leave initial download");
    assert_eq!(t.bits_u32().unwrap(), 0x207f_ffff);
    assert_eq!(t.coinbase_value, 50 * 100_000_000);
    assert!(t.default_witness_commitment.is_some());

    pair.generate(3).await.unwrap();
    let t: BlockTemplate = pair
        .primary
        .rpc()
        .call("getblocktemplate", rules.clone())
        .await
        .unwrap();
    assert_eq!(t.height, 5);

    // An unknown method is an RPC error with the daemon's code, not a transport failure.
    let err = pair
        .primary
        .rpc()
        .call::<u64>("nosuchmethod", json!([]))
        .await
        .unwrap_err();
    assert!(matches!(err, RpcError::Rpc { code: -32601, .. }), "{err}");

    // A crashed daemon is unreachable; restarted, it answers again and gets its chain back (a
    // kill -9 can lose unflushed blocks; its peer reconnects and hands them back).
    pair.primary.kill();
    let err = pair
        .primary
        .rpc()
        .call::<u64>("getblockcount", json!([]))
        .await
        .unwrap_err();
    assert!(matches!(err, RpcError::Unreachable { .. }), "{err}");
    pair.restart_primary().await.unwrap();
    let started = std::time::Instant::now();
    loop {
        let height: u64 = pair
            .primary
            .rpc()
            .call("getblockcount", json!([]))
            .await
            .unwrap();
        if height == 4 {
            break;
        }
        assert!(
            started.elapsed().as_secs() < 90,
            "height stuck at {height} after restart"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    eprintln!("primary back at height 4 after {:?}", started.elapsed());

    pair.stop().await;
}
