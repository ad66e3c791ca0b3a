//! A running node: the daemon template source, the job builder, the Stratum server, the share
//! path, the peer-to-peer network and the HTTP API, wired together around the sharechain, with one
//! shutdown signal.
//!
//! [`run`] takes its listeners already bound, so tests bind port 0 and read the addresses back.

use crate::api::{self, ApiSource, PayoutView, PeersView, StatusView};
use crate::daemon::source::{self, Daemons, ExpectedChain, SourceConfig, TemplateFeed};
use crate::daemon::{Auth, RpcClient};
use crate::p2p::{self, NetworkConfig, NetworkHandle};
use crate::stratum::{
    JobBroadcast, Server, ServerStats, StatsRegistry, StratumConfig, Timestamp, WorkerSnapshot,
};
use crate::work::chain::SharedChain;
use crate::work::jobs::{JobBuilder, WorkStatus};
use crate::work::shares::{ShareCounters, SharePath};
use anyhow::{Context, Result};
use otedama_config::{DaemonAuth, NodeConfig};
use otedama_proto::address::PayoutAddress;
use otedama_proto::amount::Amount;
use otedama_proto::chain::{Coin, Network};
use otedama_proto::target::CompactTarget;
use otedama_sharechain::{Consensus, ShareChain, SledStore, StoreSyncer};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch, Notify};
use tracing::info;

/// The sockets a node serves on, bound by the caller.
#[derive(Debug)]
pub struct Listeners {
    /// Miners connect here.
    pub stratum: TcpListener,
    /// Observers query the API here.
    pub api: TcpListener,
}

impl Listeners {
    /// Binds the addresses of `config`.
    pub async fn bind(config: &NodeConfig) -> Result<Self> {
        let stratum = TcpListener::bind(config.stratum.listen)
            .await
            .with_context(|| format!("cannot listen for Stratum on {}", config.stratum.listen))?;
        let api = TcpListener::bind(config.api)
            .await
            .with_context(|| format!("cannot listen for the API on {}", config.api))?;
        Ok(Listeners { stratum, api })
    }
}

/// The daemon clients of `config`, in failover order.
pub fn daemon_clients(config: &NodeConfig) -> Vec<RpcClient> {
    let auth = match &config.daemon.auth {
        DaemonAuth::UserPassword { user, password } => Auth::UserPass {
            user: user.clone(),
            password: password.expose().to_owned(),
        },
        DaemonAuth::Cookie { path } => Auth::Cookie(path.clone()),
    };
    config
        .daemon
        .urls
        .iter()
        .map(|url| RpcClient::new(url.to_string(), auth.clone(), Duration::from_secs(30)))
        .collect()
}

/// The network settings of `config`.
pub fn network_config(config: &NodeConfig) -> Result<NetworkConfig> {
    let listen = config.p2p.listen.parse().with_context(|| {
        format!(
            "p2p listen address {:?} is not a multiaddr",
            config.p2p.listen
        )
    })?;
    let bootstrap = config
        .p2p
        .bootstrap
        .iter()
        .map(|b| p2p::identity::parse_bootstrap(b))
        .collect::<Result<Vec<_>>>()?;
    Ok(NetworkConfig {
        listen,
        bootstrap,
        dir: config.data_dir.join("p2p"),
        agent: format!("otedama/{}", env!("CARGO_PKG_VERSION")),
        limit_loopback: config.p2p.limit_loopback,
    })
}

/// Raises the open-file limit for `stratum_max` miners and the rest, and warns when the hard
/// limit does not allow it.
fn ensure_open_files(stratum_max: u64) {
    let wanted = stratum_max + crate::fdlimit::BASE_DESCRIPTORS;
    match crate::fdlimit::raise_open_files(wanted) {
        Ok(files) if files.covers(wanted) => {
            if files.now > files.before {
                info!(
                    from = files.before,
                    to = files.now,
                    "open-file limit raised"
                );
            }
        }
        Ok(files) => tracing::warn!(
            limit = files.now,
            wanted,
            "the open-file limit (hard limit {}) is below what stratum max_connections = \
             {stratum_max} needs: about {} miners can connect before accepts fail; raise it \
             (ulimit -Hn, systemd LimitNOFILE=) or lower stratum max_connections",
            files.hard,
            files.now.saturating_sub(crate::fdlimit::BASE_DESCRIPTORS)
        ),
        Err(e) => tracing::warn!(error = %e, "cannot read or raise the open-file limit"),
    }
}

/// Runs the node until `shutdown` becomes `true`.
pub async fn run(
    config: NodeConfig,
    listeners: Listeners,
    shutdown: watch::Receiver<bool>,
) -> Result<()> {
    let (coin, network) = (config.coin, config.network);
    ensure_open_files(config.stratum.max_connections as u64);
    let consensus = Consensus::for_network(coin, network)
        .with_context(|| format!("no sharechain parameters for {coin} {network}"))?;
    let max_future = consensus.params().max_future;
    let chain_dir = config.data_dir.join("sharechain");
    let store = SledStore::open(&chain_dir).with_context(|| {
        format!(
            "cannot open the sharechain store in {}",
            chain_dir.display()
        )
    })?;
    // A store of another consensus id is refused with what to do; name the directory too.
    let chain = ShareChain::open(consensus, store).with_context(|| {
        format!(
            "cannot load the sharechain in {} (data directory {}, set with --data-dir)",
            chain_dir.display(),
            config.data_dir.display()
        )
    })?;
    info!(
        shares = chain.len(),
        height = ?chain.height(),
        tip = ?chain.tip(),
        "sharechain loaded"
    );
    let chain = SharedChain::new(chain);

    let params = coin.params(network)?;
    let daemons = Daemons::new(daemon_clients(&config));
    let source_config = SourceConfig {
        rules: params.gbt_rules().iter().map(|r| (*r).to_owned()).collect(),
        zmq: config.daemon.zmq.iter().map(|z| z.address()).collect(),
        chain: Some(ExpectedChain::of(params)),
        max_future: Some(Duration::from_secs(u64::from(max_future))),
        ..SourceConfig::default()
    };
    let feed = source::spawn(daemons.clone(), source_config, shutdown.clone());

    let mut stratum_config = StratumConfig::new(coin, network);
    stratum_config.max_share_ntime_ahead_secs = chain.lock().consensus().params().max_future;
    stratum_config.min_difficulty = config.stratum.min_difficulty;
    stratum_config.initial_difficulty = stratum_config
        .initial_difficulty
        .max(config.stratum.min_difficulty);
    stratum_config.vardiff.target_share_secs = f64::from(config.stratum.vardiff_target_secs);
    stratum_config.max_connections = config.stratum.max_connections as usize;
    let broadcast = Arc::new(JobBroadcast::new(coin.pow_algo()));
    let (share_tx, share_rx) = mpsc::channel(1024);
    let server = Server::new(stratum_config, &broadcast, share_tx)?;
    let server_stats = server.stats();
    let workers = server.registry();
    let tip_changed = Arc::new(Notify::new());
    let found_path = config.data_dir.join(crate::work::found::FILE_NAME);
    let (found_log, found) = crate::work::found::FoundBlockLog::open(&found_path)?;
    if !found.is_empty() {
        info!(blocks = found.len(), file = %found_path.display(), "blocks found before");
    }
    let counters = Arc::new(ShareCounters::with_log(found_log, &found));
    let network_config = network_config(&config)?;
    let (p2p_handle, network_task) = p2p::spawn(
        network_config,
        chain.clone(),
        tip_changed.clone(),
        shutdown.clone(),
    )
    .await?;

    info!(stratum = %listeners.stratum.local_addr()?, api = %listeners.api.local_addr()?, "node listening");
    let mut stop = shutdown.clone();
    let server_task = tokio::spawn(server.run(listeners.stratum, async move {
        let _ = stop.wait_for(|s| *s).await;
    }));
    let (work_status, work) = watch::channel(WorkStatus::default());
    let builder = JobBuilder {
        chain: chain.clone(),
        broadcast: broadcast.clone(),
        feed: feed.clone(),
        tip_changed: tip_changed.clone(),
        refresh: Duration::from_secs(30),
        synced: p2p_handle.synced(),
        status: work_status,
    };
    let builder_task = tokio::spawn(builder.run(shutdown.clone()));
    let share_path = SharePath {
        chain: chain.clone(),
        daemons,
        tip_changed,
        counters: counters.clone(),
        network: Some(p2p_handle.clone()),
    };
    let share_task = tokio::spawn(share_path.run(share_rx));
    let (consensus_id, window_limit) = {
        let chain = chain.lock();
        let consensus = chain.consensus();
        (consensus.id().to_string(), consensus.params().window_shares)
    };
    let api_source = Arc::new(NodeApi {
        coin,
        network,
        consensus_id,
        window_limit,
        chain: chain.clone(),
        feed,
        server: server_stats,
        workers,
        counters,
        p2p: p2p_handle,
        work,
    });
    let api_task = tokio::spawn(api::serve(listeners.api, api_source, shutdown.clone()));

    let mut stop = shutdown;
    let _ = stop.wait_for(|s| *s).await;
    info!("shutting down");
    let _ = server_task.await;
    let _ = builder_task.await;
    let _ = share_task.await;
    let _ = api_task.await;
    let _ = network_task.await;
    let syncer = chain
        .lock()
        .write_staged()
        .context("cannot write the sharechain on shutdown")?;
    tokio::task::spawn_blocking(move || syncer.sync())
        .await
        .context("the sharechain's sync panicked on shutdown")?
        .context("cannot sync the sharechain on shutdown")?;
    info!("stopped");
    Ok(())
}

/// The API's view of a running node.
#[derive(Debug)]
struct NodeApi {
    coin: Coin,
    network: Network,
    /// The consensus id (display hex), fixed for the node's life.
    consensus_id: String,
    /// The PPLNS window's length in shares.
    window_limit: u32,
    chain: SharedChain,
    feed: TemplateFeed,
    server: Arc<ServerStats>,
    workers: Arc<StatsRegistry>,
    counters: Arc<ShareCounters>,
    p2p: NetworkHandle,
    /// What the job builder says the miners' work is.
    work: watch::Receiver<WorkStatus>,
}

impl NodeApi {
    /// The payout function's outputs at the current tip for the current template, with the
    /// finder's bonus paid to `finder`, or to the tip share's miner when `None` (read under the
    /// same lock as the tip the payouts are computed at).
    fn payouts_with_finder(&self, finder: Option<&bitcoin::Script>) -> Vec<PayoutView> {
        let Some(template) = self.feed.template.borrow().clone() else {
            return Vec::new();
        };
        let Ok(bits) = template.bits_u32() else {
            return Vec::new();
        };
        let chain = self.chain.lock();
        let tip = chain.tip();
        let tip_miner;
        let finder = match finder {
            Some(script) => script,
            None => {
                tip_miner = tip
                    .and_then(|t| chain.get_share(&t).ok().flatten())
                    .map(|s| s.data.payout_script)
                    .unwrap_or_default();
                tip_miner.as_script()
            }
        };
        chain
            .payouts(
                tip.as_ref(),
                Amount::from_sat(template.coinbase_value),
                CompactTarget::from_consensus(bits),
                finder,
            )
            .into_iter()
            .map(|p| PayoutView {
                address: PayoutAddress::from_script(&p.script, self.coin, self.network),
                script: hex::encode(p.script.as_bytes()),
                amount: p.amount.to_sat(),
                weight: p.weight.to_u256().to_string(),
            })
            .collect()
    }
}

impl ApiSource for NodeApi {
    fn status(&self) -> StatusView {
        let template = self.feed.template.borrow().clone();
        let daemon = self.feed.status.borrow().clone();
        let net = self.p2p.view();
        let local_hashrate = self.workers().iter().map(|w| w.hashrate).sum();
        // The tip's figures as last published: status never waits for the chain's lock.
        let chain = self.chain.summary();
        StatusView {
            coin: self.coin.to_string(),
            network: self.network.to_string(),
            consensus_id: self.consensus_id.clone(),
            height: template.as_ref().map_or(0, |t| t.height),
            sharechain_height: chain.height,
            tip: chain.tip.map(|t| t.to_string()),
            shares: chain.window_len,
            stratum_clients: self.server.connected(),
            blocks_found: self.counters.blocks_found.load(Ordering::Relaxed),
            blocks_rejected: self.counters.blocks_rejected.load(Ordering::Relaxed),
            blocks_stale: self.counters.blocks_stale.load(Ordering::Relaxed),
            shares_found: self.counters.shares_accepted.load(Ordering::Relaxed),
            synced: template.is_some() && daemon.healthy && net.sync.synced,
            chain_work: chain.chain_work.map(|w| w.to_u256().to_string()),
            pool_hashrate: chain.pool_hashrate,
            local_hashrate,
            window_limit: self.window_limit,
            sync: Some(net.sync),
            peer_id: Some(net.peer_id),
            peers: net.peers.len(),
            p2p_listen: net.listen,
            daemon,
            work: self.work.borrow().clone(),
        }
    }

    fn workers(&self) -> Vec<WorkerSnapshot> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        self.workers.snapshot(self.coin.pow_algo(), Timestamp(now))
    }

    fn peers(&self) -> PeersView {
        let net = self.p2p.view();
        PeersView {
            peers: net.peers,
            banned: net.banned,
            gossip_accepted: net.gossip_accepted,
            gossip_invalid: net.gossip_invalid,
        }
    }

    fn payouts(&self) -> Vec<PayoutView> {
        // The finder's bonus goes to whoever finds the block; shown here as if the miner of the
        // tip share found it (`?finder=` asks for another).
        self.payouts_with_finder(None)
    }

    fn payouts_for(&self, finder: &str) -> Result<Vec<PayoutView>, String> {
        let address = PayoutAddress::parse(finder.trim(), self.coin, self.network)
            .map_err(|e| e.to_string())?;
        Ok(self.payouts_with_finder(Some(address.script_pubkey())))
    }
}
