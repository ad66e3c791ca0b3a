//! `otedama devnet`: the local demonstration network. Two connected `litecoind -regtest`, Otedama
//! nodes beside them joined over the peer-to-peer network (the first is the others' bootstrap),
//! and CPU miners paying distinct addresses, spread over the nodes; progress every few seconds
//! from the nodes' own HTTP APIs; Ctrl-C stops everything it started.

use crate::cli::DevnetCommand;
use crate::cli_node::wait_for_stop_signal;
use anyhow::{bail, Context, Result};
use bitcoin::ScriptBuf;
use otedama_config::NodeArgs;
use otedama_node::daemon::regtest::{MwebWallet, RegtestPair, MWEB_ACTIVATION_HEIGHT};
use otedama_node::node::{self, Listeners};
use otedama_node::p2p::identity;
use otedama_proto::address::PayoutAddress;
use otedama_proto::chain::{Coin, Network};
use otedama_proto::selftest;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::sync::watch;
use tracing::info;

/// How often progress is printed.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// Runs `otedama devnet`.
pub fn run(command: &DevnetCommand) -> Result<()> {
    let failed = selftest::run().iter().filter(|c| !c.passed()).count();
    if failed > 0 {
        bail!("the proof-of-work self-test failed for {failed} real header(s); not starting");
    }
    println!("Otedama devnet: proof-of-work self-test passed (sha256d and scrypt on real mainnet headers)");
    let (base, temp) = match &command.data_dir {
        Some(dir) => (dir.clone(), None),
        None => {
            let t = tempfile::Builder::new()
                .prefix("otedama-devnet-")
                .tempdir()
                .context("cannot create a temporary directory")?;
            (t.path().to_owned(), Some(t))
        }
    };
    std::fs::create_dir_all(&base).with_context(|| format!("cannot create {}", base.display()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(devnet(command, &base));
    match temp {
        Some(t) if command.keep => println!("Data kept in {}", t.keep().display()),
        Some(t) => drop(t),
        None => println!("Data kept in {}", base.display()),
    }
    result
}

async fn devnet(command: &DevnetCommand, base: &Path) -> Result<()> {
    println!(
        "Starting two connected litecoind -regtest in {} ...",
        base.join("litecoind").display()
    );
    let mut pair = RegtestPair::start(&command.litecoind, &base.join("litecoind")).await?;
    let (user, password) = pair.primary.rpc_credentials();
    // MWEB activates at regtest height 432, as on mainnet all blocks after it carry an
    // extension block; its first block needs a peg-in, which a funded wallet makes in time.
    let wallet = match MwebWallet::fund(pair.primary.rpc(), "devnet").await {
        Ok(w) => Some(w),
        Err(e) => {
            eprintln!(
                "warning: no regtest wallet ({e}); without a peg-in litecoind cannot build \
                 block {MWEB_ACTIVATION_HEIGHT}, where MWEB activates, so the devnet will \
                 stop finding blocks there"
            );
            None
        }
    };
    let (stop, shutdown) = watch::channel(false);
    let mut nodes = Vec::new();
    let mut bootstrap = Vec::new();
    for i in 0..command.nodes {
        let data_dir = if i == 0 {
            base.join("node")
        } else {
            base.join(format!("node-{}", i + 1))
        };
        // The first node's identity and port are fixed up front so the others can name it.
        let p2p_port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let peer_id = identity::load_or_create_keypair(&data_dir.join("p2p"))?
            .public()
            .to_peer_id();
        let first = i == 0;
        let args = NodeArgs {
            coin: Some("litecoin".into()),
            network: Some("regtest".into()),
            data_dir: Some(data_dir),
            daemon_url: vec![pair.primary.rpc_url().to_owned()],
            daemon_user: Some(user.into()),
            daemon_password: Some(password.into()),
            stratum: Some(if first {
                command.stratum.clone()
            } else {
                "127.0.0.1:0".into()
            }),
            api: Some(if first {
                command.api.clone()
            } else {
                "127.0.0.1:0".into()
            }),
            p2p: Some(format!("/ip4/127.0.0.1/tcp/{p2p_port}")),
            bootstrap: bootstrap.clone(),
            ..NodeArgs::default()
        };
        let no_env: [(&str, &str); 0] = [];
        let config = otedama_config::load(&args, no_env).context("devnet node configuration")?;
        let listeners = Listeners::bind(&config).await?;
        let stratum = listeners.stratum.local_addr()?;
        let api = listeners.api.local_addr()?;
        if first {
            bootstrap.push(format!("/ip4/127.0.0.1/tcp/{p2p_port}/p2p/{peer_id}"));
        }
        println!(
            "Node {} ({peer_id}): stratum {stratum}, dashboard http://{api}/, API http://{api}/api/v1/status",
            i + 1
        );
        let task = tokio::spawn(node::run(config, listeners, shutdown.clone()));
        nodes.push((stratum, api, task));
    }
    let (stratum, api) = (nodes[0].0, nodes[0].1);
    let apis: Vec<std::net::SocketAddr> = nodes.iter().map(|n| n.1).collect();

    let miner_bin = std::env::current_exe()?.with_file_name("otedama-miner");
    let mut miners = Vec::new();
    for i in 0..command.miners {
        let address = devnet_address(i);
        let log = base.join(format!("miner-{}.log", i + 1));
        let node = (i % command.nodes) as usize;
        miners.push((
            address.clone(),
            start_miner(
                &miner_bin,
                nodes[node].0,
                &address,
                i,
                command.threads,
                &log,
            )?,
        ));
        println!(
            "Miner {} mines for {address} on node {} (log: {})",
            i + 1,
            node + 1,
            log.display()
        );
    }
    println!(
        "Stratum: stratum+tcp://{stratum}   (user = a regtest payout address, e.g. {})",
        devnet_address(0)
    );
    println!("Dashboard: http://{api}/   (metrics: http://{api}/metrics)");
    println!("API:     http://{api}/api/v1/status   and   http://{api}/api/v1/payouts");
    println!("Press Ctrl-C to stop.\n");

    let http = reqwest::Client::new();
    let peg_in = async {
        if let Some(wallet) = wallet {
            match wallet.peg_in_before_activation().await {
                Ok(Some(txid)) => println!(
                    "MWEB: pegged in 1 LTC ({txid}) so that block {MWEB_ACTIVATION_HEIGHT} can \
                     activate MWEB; from there on every block carries an extension block"
                ),
                Ok(None) => {}
                Err(e) => eprintln!("warning: MWEB peg-in failed: {e}"),
            }
        }
        std::future::pending::<Result<()>>().await
    };
    let outcome = tokio::select! {
        r = progress(&http, &apis, command.blocks) => r,
        r = peg_in => r,
        _ = wait_for_stop_signal() => { println!("\nStopping ..."); Ok(()) }
        r = watch_nodes(&nodes) => r,
    };
    for (_, child) in &mut miners {
        stop_child(child);
    }
    let _ = stop.send(true);
    for (i, (_, _, task)) in nodes.into_iter().enumerate() {
        if let Ok(Err(e)) = task.await {
            eprintln!("node {} stopped with an error: {e:#}", i + 1);
        }
    }
    pair.stop().await;
    outcome
}

type NodeTask = (
    std::net::SocketAddr,
    std::net::SocketAddr,
    tokio::task::JoinHandle<Result<()>>,
);

/// Returns if a node task ends by itself (an error: nodes run until told to stop).
async fn watch_nodes(nodes: &[NodeTask]) -> Result<()> {
    loop {
        if let Some(i) = nodes.iter().position(|n| n.2.is_finished()) {
            bail!("node {} stopped unexpectedly", i + 1);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Prints progress until `blocks` blocks were found (or forever).
async fn progress(
    http: &reqwest::Client,
    apis: &[std::net::SocketAddr],
    blocks: Option<u64>,
) -> Result<()> {
    let api = apis[0];
    let mut last_blocks = u64::MAX;
    loop {
        tokio::time::sleep(PROGRESS_EVERY).await;
        let status: Value = match get(http, api, "status").await {
            Ok(s) => s,
            Err(e) => {
                println!("(API not answering: {e})");
                continue;
            }
        };
        let mut found = 0;
        let mut tips = Vec::new();
        let mut miners = 0;
        for api in apis {
            if let Ok(s) = get(http, *api, "status").await {
                found += s["blocks_found"].as_u64().unwrap_or(0);
                miners += s["stratum_clients"].as_u64().unwrap_or(0);
                tips.push(s["tip"].clone());
            }
        }
        let agree = tips.len() == apis.len() && tips.iter().all(|t| *t == tips[0]);
        println!(
            "coin height {}  blocks found {}  sharechain height {}  shares in window {}  miners {}  peers {}  nodes agree {}  daemon {}",
            status["height"], found, status["sharechain_height"], status["shares"], miners,
            status["peers"], if agree { "yes" } else { "not yet" },
            if status["daemon"]["healthy"] == true { "ok" } else { "DOWN" },
        );
        if found != last_blocks {
            last_blocks = found;
            if let Ok(Value::Array(payouts)) = get(http, api, "payouts").await {
                for p in payouts {
                    let amount = p["amount"].as_u64().unwrap_or(0);
                    println!(
                        "    next block pays {:>14.8} LTC to {}",
                        amount as f64 / 1e8,
                        p["address"].as_str().unwrap_or("?")
                    );
                }
            }
        }
        if blocks.is_some_and(|n| found >= n) {
            println!("{found} blocks found; stopping.");
            return Ok(());
        }
    }
}

async fn get(http: &reqwest::Client, api: std::net::SocketAddr, what: &str) -> Result<Value> {
    Ok(http
        .get(format!("http://{api}/api/v1/{what}"))
        .timeout(Duration::from_secs(5))
        .send()
        .await?
        .json()
        .await?)
}

/// A distinct regtest payout address for miner `i` (P2WPKH of a fixed program).
fn devnet_address(i: u32) -> String {
    let mut script = vec![0x00, 0x14];
    script.extend_from_slice(&[0x10 + i as u8; 20]);
    PayoutAddress::from_script(
        &ScriptBuf::from_bytes(script),
        Coin::Litecoin,
        Network::Regtest,
    )
    .expect("P2WPKH has an address")
}

fn start_miner(
    bin: &Path,
    stratum: std::net::SocketAddr,
    address: &str,
    i: u32,
    threads: u32,
    log: &PathBuf,
) -> Result<Child> {
    let out =
        std::fs::File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
    info!(miner = i + 1, %address, "starting miner");
    Command::new(bin)
        .args([
            "--url",
            &format!("stratum+tcp://{stratum}"),
            "--user",
            &format!("{address}.devnet{}", i + 1),
        ])
        .args(["--algo", "scrypt", "--threads", &threads.to_string()])
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .spawn()
        .with_context(|| {
            format!(
                "cannot start {} (build it with `cargo build --release --bin otedama-miner`)",
                bin.display()
            )
        })
}

fn stop_child(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    for _ in 0..50 {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}
