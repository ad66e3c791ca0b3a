//! Shared setup of the Stratum tests: a server on 127.0.0.1:0 with its job broadcast and share
//! channel, hand-built jobs, and a client brought to the point of mining.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use otedama_node::stratum::testkit::{stratum_target, MinerJob, SimpleJob, TestClient};
use otedama_node::stratum::{
    JobBroadcast, Server, ServerStats, StatsRegistry, StratumConfig, Submission,
};
use otedama_proto::chain::{Coin, Network, PowAlgo};
use otedama_proto::hash::BlockHash;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// A Bitcoin regtest payout address.
pub const BTC: &str = "bcrt1qdavt4j2sd7dlhqsavtnfxvzppw6k7qy97tmnu9";
/// A Litecoin regtest payout address.
pub const LTC: &str = "rltc1qj08ys4ct2hzzc2hcz6h2hgrvlmsjynawf4nr3r";
/// The jobs' ntime.
pub const T0: u32 = 1_700_000_000;

/// A running server.
pub struct TestServer {
    pub addr: SocketAddr,
    pub jobs: Arc<JobBroadcast>,
    pub shares: mpsc::Receiver<Box<Submission>>,
    pub stats: Arc<ServerStats>,
    pub registry: Arc<StatsRegistry>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

/// Test defaults: regtest, a tiny minimum difficulty, start at 1e-6.
pub fn config(coin: Coin) -> StratumConfig {
    let mut config = StratumConfig::new(coin, Network::Regtest);
    config.min_difficulty = 1e-12;
    config.initial_difficulty = 1e-6;
    config
}

/// A job on block `prev` whose share and block targets are at Stratum difficulty `block_diff`.
pub fn job(algo: PowAlgo, prev: u8, clean: bool, block_diff: f64) -> SimpleJob {
    SimpleJob {
        prev_hash: BlockHash([prev; 32]),
        height: 200 + u32::from(prev),
        version: 0x2000_0000,
        nbits: stratum_target(algo, block_diff).to_compact(),
        ntime: T0,
        share_target: stratum_target(algo, block_diff),
        clean,
        other_transactions: 5,
    }
}

impl TestServer {
    pub async fn start(config: StratumConfig) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let addr = listener.local_addr().expect("bound address");
        let jobs = Arc::new(JobBroadcast::new(config.algo()));
        let (share_tx, shares) = mpsc::channel(1024);
        let server = Server::new(config, &jobs, share_tx).expect("valid config");
        let stats = server.stats();
        let registry = server.registry();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(listener, async {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            jobs,
            shares,
            stats,
            registry,
            stop: Some(stop),
            task,
        }
    }

    pub fn publish(&self, job: SimpleJob) {
        self.jobs.publish(job.spec()).expect("valid job");
    }

    pub async fn client(&self) -> TestClient {
        TestClient::connect(self.addr).await.expect("connect")
    }

    /// Stops the server and waits for every connection to close.
    pub async fn shutdown(mut self) {
        let _ = self.stop.take().expect("not stopped yet").send(());
        tokio::time::timeout(std::time::Duration::from_secs(10), self.task)
            .await
            .expect("server stops in time")
            .expect("server task ends cleanly");
    }
}

/// A client that subscribed and authorized `user`, with its extranonce1, difficulty and job.
pub struct Miner {
    pub client: TestClient,
    pub user: String,
    pub extranonce1: Vec<u8>,
    pub difficulty: f64,
    pub job: MinerJob,
}

impl Miner {
    pub async fn start(server: &TestServer, user: &str, password: &str) -> Miner {
        Miner::start_with(server.client().await, user, password).await
    }

    /// Subscribes and authorizes on `client` (which may have sent `mining.configure`), and reads
    /// the first difficulty and job.
    pub async fn start_with(mut client: TestClient, user: &str, password: &str) -> Miner {
        let sub = client.subscribe().await.expect("subscribe");
        let reply = client.authorize(user, password).await.expect("authorize");
        assert_eq!(reply["result"], Value::Bool(true), "{reply}");
        let difficulty = client
            .notification("mining.set_difficulty")
            .await
            .expect("difficulty")[0]
            .as_f64()
            .expect("a number");
        let job = MinerJob::from_notify(&client.notification("mining.notify").await.expect("job"))
            .expect("notify decodes");
        Miner {
            client,
            user: user.to_owned(),
            extranonce1: sub.extranonce1,
            difficulty,
            job,
        }
    }

    /// Reads the next job.
    pub async fn next_job(&mut self) -> MinerJob {
        let params = self
            .client
            .notification("mining.notify")
            .await
            .expect("job");
        self.job = MinerJob::from_notify(&params).expect("notify decodes");
        self.job.clone()
    }

    /// A nonce for extranonce2 `en2` meeting `difficulty` (and, with `avoid`, not that one).
    pub fn mine(
        &self,
        algo: PowAlgo,
        en2: u32,
        version: u32,
        difficulty: f64,
        avoid: Option<f64>,
    ) -> u32 {
        let target = stratum_target(algo, difficulty);
        let avoid = avoid.map(|d| stratum_target(algo, d));
        let mut start = 0;
        loop {
            let (nonce, hash) = self
                .job
                .search(
                    algo,
                    &self.extranonce1,
                    &en2.to_be_bytes(),
                    self.job.ntime,
                    version,
                    &target,
                    start..u32::MAX,
                )
                .expect("a nonce in range");
            if avoid.is_none_or(|t| !t.meets(&hash)) {
                return nonce;
            }
            start = nonce + 1;
        }
    }

    pub async fn submit(&mut self, en2: u32, nonce: u32, version_bits: Option<u32>) -> Value {
        let job_id = self.job.job_id.clone();
        let ntime = self.job.ntime;
        let user = self.user.clone();
        self.client
            .submit(
                &user,
                &job_id,
                &en2.to_be_bytes(),
                ntime,
                nonce,
                version_bits,
            )
            .await
            .expect("submit reply")
    }
}

/// The error code of a reply (panics on success).
pub fn code(reply: &Value) -> u64 {
    reply["error"][0]
        .as_u64()
        .unwrap_or_else(|| panic!("an error reply: {reply}"))
}
