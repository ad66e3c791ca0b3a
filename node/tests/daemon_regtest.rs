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

/// A long-poll abandoned at each template refresh keeps one of litecoind's RPC worker threads
/// until the next block; at the default `-rpcthreads=4` a few refreshes on a quiet chain leave
/// none for `getblockcount` or `submitblock`. The source must keep one long-poll across refreshes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refreshes_leave_the_daemons_default_rpc_threads_free() {
    use otedama_node::daemon::source::{self, Daemons, SourceConfig, SubmitOutcome};
    use otedama_node::daemon::{Auth, RpcClient};
    use std::time::Duration;

    let dir = tempfile::tempdir().unwrap();
    let mut pair = RegtestPair::start_with_rpc_threads(litecoind(), dir.path(), None)
        .await
        .unwrap();
    let (user, password) = pair.primary.rpc_credentials();
    let client = |timeout| {
        RpcClient::new(
            pair.primary.rpc_url(),
            Auth::UserPass {
                user: user.into(),
                password: password.into(),
            },
            timeout,
        )
    };
    let refresh = Duration::from_millis(500);
    let config = SourceConfig {
        rules: vec!["segwit".into(), "mweb".into()],
        refresh,
        ..SourceConfig::default()
    };
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let mut feed = source::spawn(
        Daemons::new(vec![client(Duration::from_secs(30))]),
        config,
        shutdown,
    );
    tokio::time::timeout(
        Duration::from_secs(30),
        feed.template.wait_for(Option::is_some),
    )
    .await
    .expect("a first template")
    .unwrap();
    // Twelve refresh periods on a chain without new blocks or transactions.
    tokio::time::sleep(refresh * 12).await;

    let height: u64 = client(Duration::from_secs(20))
        .call("getblockcount", json!([]))
        .await
        .expect("the daemon still answers RPC");
    assert_eq!(height, 1);
    // A block submission gets an answer (this one is refused: it is not a block).
    let outcome = Daemons::new(vec![client(Duration::from_secs(20))])
        .submit_block("00", 0)
        .await;
    assert!(
        matches!(
            outcome,
            Ok(SubmitOutcome::Refused(_)) | Err(RpcError::Rpc { .. })
        ),
        "submitblock was not answered: {outcome:?}"
    );

    stop.send_replace(true);
    pair.stop().await;
}
