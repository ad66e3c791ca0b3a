//! Keeps the node supplied with current block templates from one or more coin daemons.
//!
//! A single task owns the daemon connections. It long-polls `getblocktemplate` (litecoind and
//! bitcoind answer a long-poll the moment their tip changes), checks `getbestblockhash` every
//! `tip_poll` as the fallback for daemons or proxies that cut long-polls short, and refreshes the
//! template every `refresh` for new transactions. With ZMQ endpoints configured (typically one
//! per daemon) it also subscribes to every one's `hashblock` announcements ([`super::zmq`]) at
//! once, merged into one bounded channel, and fetches a template from the daemon in use the moment
//! any of them names a block the current template does not build on; so when the preferred daemon
//! dies, a failover's publisher still brings new blocks at once. Long-poll and the tip poll carry
//! on beside them, so a broken subscription only costs speed. Errors never end the task:
//! it keeps the last template (so miners keep working) for at most `max_template_age`, reports
//! what is wrong in [`DaemonStatus`], backs off and fails over to the next URL, whatever the error
//! (a daemon in initial download or without peers has no current tip either). A daemon on another
//! chain is refused, and so is a backup whose template builds a lower block than the node had.

use super::rpc::{RpcClient, RpcError};
use super::template::BlockTemplate;
use super::zmq::{self, HashBlock, Subscription, ZmqState};
use otedama_proto::chain::{ChainParams, Network};
use serde::Serialize;
use serde_json::{json, Value};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tracing::{debug, error, info, warn};

/// How the template source behaves.
#[derive(Clone, Debug)]
pub struct SourceConfig {
    /// `getblocktemplate` rules (`segwit`, plus `mweb` for Litecoin).
    pub rules: Vec<String>,
    /// How often the best block hash is checked, in case a long-poll does not return.
    pub tip_poll: Duration,
    /// How often a template is refreshed for new transactions when the tip does not change.
    pub refresh: Duration,
    /// The longest a long-poll may wait. Long: the daemon keeps a worker thread on a long-poll
    /// until its tip changes even after the client gave up, so each timeout costs a thread.
    pub long_poll_timeout: Duration,
    /// The longest pause between retries while the daemon fails.
    pub max_backoff: Duration,
    /// The daemons' ZMQ `hashblock` publishers, `HOST:PORT` each; all are subscribed to at once.
    /// Empty for long-poll and tip poll only.
    pub zmq: Vec<String>,
    /// The chain every daemon must be on; checked before a daemon's first template and again
    /// after every failover. `None` checks nothing.
    pub chain: Option<ExpectedChain>,
    /// The oldest a template may grow without a daemon confirming it (a fresh template, as every
    /// refresh brings) before it is withdrawn, so that no work goes out on a tip that may be
    /// long gone.
    pub max_template_age: Duration,
    /// The sharechain's limit on how far a share's time may be ahead of the node's clock. A
    /// daemon whose clock is further ahead than that gets its work refused: jobs carry its time,
    /// so the node would refuse every share on them. `None` checks nothing.
    pub max_future: Option<Duration>,
}

/// The chain a daemon must be on: the name its `getblockchaininfo` gives and its genesis block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedChain {
    /// `getblockchaininfo`'s `chain`: `main`, `test`, `signet` or `regtest`.
    pub name: &'static str,
    /// The genesis block hash, display-order hex (`getblockhash 0`).
    pub genesis: &'static str,
    /// The coin and network, for messages: `litecoin mainnet`.
    pub label: String,
}

impl ExpectedChain {
    /// The chain of `params`' coin and network.
    pub fn of(params: &ChainParams) -> Self {
        ExpectedChain {
            name: match params.network {
                Network::Mainnet => "main",
                Network::Testnet => "test",
                Network::Signet => "signet",
                Network::Regtest => "regtest",
            },
            genesis: params.genesis_hash,
            label: format!("{} {}", params.coin.name(), params.network.name()),
        }
    }
}

impl Default for SourceConfig {
    fn default() -> Self {
        SourceConfig {
            rules: vec!["segwit".into()],
            tip_poll: Duration::from_millis(500),
            refresh: Duration::from_secs(30),
            long_poll_timeout: Duration::from_secs(30 * 60),
            max_backoff: Duration::from_secs(10),
            zmq: Vec::new(),
            chain: None,
            max_template_age: Duration::from_secs(180),
            max_future: None,
        }
    }
}

/// What the node knows about its daemon connection, for logs and `/api/v1/status`.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct DaemonStatus {
    /// Whether the last call to the daemon succeeded.
    pub healthy: bool,
    /// The URL in use.
    pub url: String,
    /// The last error, while the daemon is failing.
    pub error: Option<String>,
    /// The height of the block the current template builds.
    pub template_height: Option<u32>,
    /// How many templates were received.
    pub templates: u64,
    /// The ZMQ subscriptions' states. With one endpoint its state alone: `connecting`,
    /// `connected` or `error: …`; with several, each endpoint and its state, `; `-separated:
    /// `tcp://HOST:PORT connected; tcp://HOST:PORT error: …`. `None` when no ZMQ endpoint is
    /// configured. One string either way, so that API consumers need not care how many.
    pub zmq: Option<String>,
    /// The daemons refused for being on another chain than the node's, each as `URL: why`.
    pub refused: Vec<String>,
    /// True while the template is withdrawn and miners get no new work: no daemon has given a
    /// template for longer than the maximum template age, or the daemon's clock is past the
    /// sharechain's limit ahead of the node's.
    pub template_expired: bool,
    /// The daemon's clock (its last template's `curtime`) minus the node's, in seconds.
    pub clock_skew_secs: Option<i64>,
    /// Set while the two clocks are more than [`MAX_CLOCK_SKEW_SECS`] apart.
    pub clock_warning: Option<String>,
}

/// How far apart the daemon's clock and the node's may be before the node warns. Jobs carry the
/// daemon's time and the node checks shares against its own, with the sharechain's limit on
/// future timestamps (two minutes): half of that is the warning.
pub const MAX_CLOCK_SKEW_SECS: i64 = 60;

/// Why the template source could not use a daemon.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A call failed.
    #[error(transparent)]
    Rpc(#[from] RpcError),
    /// The daemon is on another chain than the node's.
    #[error(
        "daemon at {url} is on {found}, but the node is configured for {expected}; its work is \
         refused: point the node at a daemon of that network"
    )]
    WrongChain {
        /// The daemon URL.
        url: String,
        /// The chain the daemon is on: `chain `test` (genesis …)`.
        found: String,
        /// The node's: `litecoin regtest (chain `regtest`, genesis …)`.
        expected: String,
    },
    /// The daemon's clock is further ahead of the node's than the sharechain allows a share's
    /// time to be: the node would refuse every share on its work.
    #[error(
        "daemon at {url} has a clock {skew} s ahead of the node's, past the sharechain's limit of \
         {limit} s: every share on its work would be refused, so no work is handed out; \
         synchronise the clocks (NTP)"
    )]
    ClockSkew {
        /// The daemon URL.
        url: String,
        /// Its clock minus the node's, in seconds.
        skew: i64,
        /// The limit, in seconds.
        limit: i64,
    },
    /// A backup daemon's template builds a lower block than the node already had.
    #[error(
        "daemon at {url} lags: its template builds block {height}, the node already had work for \
         block {best}; its work is refused until it catches up"
    )]
    Lagging {
        /// The daemon URL.
        url: String,
        /// The height its template builds.
        height: u32,
        /// The height of the last template published.
        best: u32,
    },
}

impl SourceError {
    /// True when the daemon is up but not ready yet: worth waiting for rather than leaving.
    fn is_warming_up(&self) -> bool {
        matches!(self, SourceError::Rpc(e) if e.is_warming_up())
    }
}

/// Checks that the daemon behind `client` is on `expected`'s chain: its `getblockchaininfo` chain
/// name and its genesis block hash (the name alone does not tell two coins' regtests apart).
async fn check_chain(client: &RpcClient, expected: &ExpectedChain) -> Result<(), SourceError> {
    let info: Value = client.call("getblockchaininfo", json!([])).await?;
    let chain = info
        .get("chain")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let genesis: String = client.call("getblockhash", json!([0])).await?;
    if chain == expected.name && genesis.eq_ignore_ascii_case(expected.genesis) {
        return Ok(());
    }
    Err(SourceError::WrongChain {
        url: client.url().to_owned(),
        found: format!("chain `{chain}` (genesis {genesis})"),
        expected: format!(
            "{} (chain `{}`, genesis {})",
            expected.label, expected.name, expected.genesis
        ),
    })
}

/// The handles the rest of the node reads the templates and the status through.
#[derive(Clone, Debug)]
pub struct TemplateFeed {
    /// The current template; `None` until the first one arrives.
    pub template: watch::Receiver<Option<Arc<BlockTemplate>>>,
    /// The daemon connection's state.
    pub status: watch::Receiver<DaemonStatus>,
}

/// The daemon connections, in failover order; the first is preferred.
#[derive(Clone, Debug)]
pub struct Daemons {
    clients: Arc<Vec<RpcClient>>,
}

impl Daemons {
    /// Wraps `clients` (at least one).
    pub fn new(clients: Vec<RpcClient>) -> Self {
        assert!(!clients.is_empty(), "at least one daemon URL is configured");
        Daemons {
            clients: Arc::new(clients),
        }
    }

    /// The client at position `i` (wrapping around).
    pub fn client(&self, i: usize) -> &RpcClient {
        &self.clients[i % self.clients.len()]
    }

    /// How many daemons are configured.
    pub fn len(&self) -> usize {
        self.clients.len()
    }

    /// Never true: there is always at least one daemon.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Submits a block (consensus-encoded hex) to every daemon at once, the daemon its template
    /// came from (`template_daemon`) first. Each daemon gets the block in a task of its own, so
    /// that a hung or lagging daemon holds up neither the others nor the caller: the answer comes
    /// as soon as one daemon accepts, and the slower ones still get the block. A daemon 0 that
    /// lags behind (`prev-blk-not-found`, `inconclusive`) must not keep the block from the daemon
    /// whose tip it builds on. `Err` only when no daemon could be reached at all.
    pub async fn submit_block(
        &self,
        block_hex: &str,
        template_daemon: usize,
    ) -> Result<SubmitOutcome, RpcError> {
        let n = self.clients.len();
        let template_daemon = template_daemon % n;
        let block: Arc<str> = Arc::from(block_hex);
        let (tx, mut answers) = mpsc::channel(n);
        for k in 0..n {
            let i = (template_daemon + k) % n;
            let client = self.clients[i].clone();
            let (tx, block) = (tx.clone(), Arc::clone(&block));
            tokio::spawn(async move {
                let answer = client.call::<Value>("submitblock", json!([&*block])).await;
                match &answer {
                    Ok(Value::Null) => info!(url = client.url(), "daemon accepted the block"),
                    Ok(other) => {
                        info!(url = client.url(), answer = %other, "daemon did not take the block")
                    }
                    Err(e) => warn!(url = client.url(), error = %e, "submitblock failed"),
                }
                // The caller may have its answer already; then nobody listens, which is fine.
                let _ = tx.send((i, answer)).await;
            });
        }
        drop(tx);
        let mut duplicate = false;
        let mut reasons = Vec::new();
        let mut last_err = None;
        while let Some((i, answer)) = answers.recv().await {
            match answer {
                Ok(Value::Null) => return Ok(SubmitOutcome::Accepted),
                Ok(Value::String(s)) if s == "duplicate" => duplicate = true,
                Ok(other) => reasons.push((
                    i,
                    other
                        .as_str()
                        .map_or_else(|| other.to_string(), str::to_owned),
                )),
                Err(e) => last_err = Some(e),
            }
        }
        if duplicate {
            return Ok(SubmitOutcome::Duplicate);
        }
        // The template's daemon's verdict counts most: the block was built on its tip.
        let reason = reasons
            .iter()
            .find(|(i, _)| *i == template_daemon)
            .or(reasons.first())
            .map(|(_, r)| r.clone());
        match reason {
            Some(r) => Ok(SubmitOutcome::Refused(r)),
            None => Err(last_err.expect("every daemon answered with an error")),
        }
    }
}

/// What became of a block submitted to the daemons.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubmitOutcome {
    /// At least one daemon accepted it.
    Accepted,
    /// No daemon took it as new, but one already had it (`duplicate`): it was submitted before.
    Duplicate,
    /// Every daemon that answered refused it; the reason of the template's daemon where it
    /// answered (`inconclusive`, `high-hash`, …).
    Refused(String),
}

/// Starts the template task; it runs until `shutdown` changes to `true`.
pub fn spawn(
    daemons: Daemons,
    config: SourceConfig,
    mut shutdown: watch::Receiver<bool>,
) -> TemplateFeed {
    let (template_tx, template) = watch::channel(None);
    let subscriptions: Vec<(String, Subscription)> = config
        .zmq
        .iter()
        .map(|address| {
            let subscription = zmq::spawn(address.clone(), shutdown.clone());
            (format!("tcp://{address}"), subscription)
        })
        .collect();
    let states: Arc<[(String, watch::Receiver<ZmqState>)]> = subscriptions
        .iter()
        .map(|(endpoint, s)| (endpoint.clone(), s.state.clone()))
        .collect();
    let (status_tx, status) = watch::channel(DaemonStatus {
        url: daemons.client(0).url().to_owned(),
        zmq: zmq_status(&states),
        ..DaemonStatus::default()
    });
    let status_tx = Arc::new(status_tx);
    let announcements =
        (!subscriptions.is_empty()).then(|| merge(subscriptions, &states, &status_tx, &shutdown));
    tokio::spawn(async move {
        let mut poller = Poller {
            daemons,
            config,
            current: 0,
            checked: None,
            best: None,
            confirmed: None,
            backoff: Duration::ZERO,
            template_tx,
            status_tx,
            announcements,
        };
        tokio::select! {
            _ = poller.run() => {}
            _ = shutdown.wait_for(|stop| *stop) => {}
        }
    });
    TemplateFeed { template, status }
}

/// How many merged announcements may wait for the poller. Each new one brings a fetch of the
/// daemon's current tip, so with this many queued a later one is dropped rather than waited for
/// (as the subscriber itself does); the tip poll would still find its block.
const MERGED_QUEUE: usize = 16;

/// A `hashblock` announcement and the publisher it came from.
#[derive(Clone, Debug)]
struct Announcement {
    /// `tcp://HOST:PORT`, for the log.
    publisher: Arc<str>,
    block: HashBlock,
}

/// Merges the subscriptions' announcements into one bounded channel for the poller, with one
/// forwarding task per subscription. Each task also rewrites `status.zmq` (from every one of
/// `states`) when its subscription's state changes. A task ends on shutdown, when its
/// subscription stops, or when the poller has gone; it drops its [`Subscription`] then, which
/// the subscriber takes as the signal to stop too.
fn merge(
    subscriptions: Vec<(String, Subscription)>,
    states: &Arc<[(String, watch::Receiver<ZmqState>)]>,
    status: &Arc<watch::Sender<DaemonStatus>>,
    shutdown: &watch::Receiver<bool>,
) -> mpsc::Receiver<Announcement> {
    let (merged_tx, merged) = mpsc::channel(MERGED_QUEUE);
    for (endpoint, subscription) in subscriptions {
        tokio::spawn(forward(
            Arc::from(endpoint),
            subscription,
            merged_tx.clone(),
            Arc::clone(states),
            Arc::clone(status),
            shutdown.clone(),
        ));
    }
    merged
}

/// One subscription's forwarding task (see [`merge`]).
async fn forward(
    publisher: Arc<str>,
    mut subscription: Subscription,
    merged: mpsc::Sender<Announcement>,
    states: Arc<[(String, watch::Receiver<ZmqState>)]>,
    status: Arc<watch::Sender<DaemonStatus>>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            block = subscription.blocks.recv() => {
                let Some(block) = block else { return };
                let publisher = Arc::clone(&publisher);
                match merged.try_send(Announcement { publisher, block }) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        debug!("template source busy; ZMQ announcement dropped");
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => return,
                }
            }
            changed = subscription.state.changed() => {
                if changed.is_err() {
                    return;
                }
                subscription.state.borrow_and_update();
                // Every state is read afresh, so whichever task writes last writes them all.
                let text = zmq_status(&states);
                status.send_modify(|s| s.zmq = text);
            }
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
    }
}

/// The ZMQ part of the status: one endpoint's state alone (as before there could be several),
/// or every endpoint followed by its state; `None` without endpoints.
fn zmq_status(states: &[(String, watch::Receiver<ZmqState>)]) -> Option<String> {
    match states {
        [] => None,
        [(_, state)] => Some(state.borrow().to_string()),
        several => {
            let parts: Vec<String> = several
                .iter()
                .map(|(endpoint, state)| format!("{endpoint} {}", *state.borrow()))
                .collect();
            Some(parts.join("; "))
        }
    }
}

struct Poller {
    daemons: Daemons,
    config: SourceConfig,
    /// Index of the daemon in use.
    current: usize,
    /// The daemon whose chain was checked since it was last chosen or failed; `None` before.
    checked: Option<usize>,
    /// The height of the last template published and the daemon it came from.
    best: Option<(u32, usize)>,
    /// When a daemon last gave a template.
    confirmed: Option<Instant>,
    backoff: Duration,
    template_tx: watch::Sender<Option<Arc<BlockTemplate>>>,
    /// Shared with the tasks that copy the ZMQ states into the status.
    status_tx: Arc<watch::Sender<DaemonStatus>>,
    /// Every publisher's `hashblock` announcements, merged; `None` without ZMQ endpoints.
    announcements: Option<mpsc::Receiver<Announcement>>,
}

impl Poller {
    async fn run(&mut self) {
        let mut need_fetch = true;
        // The one long-poll in flight, kept across refreshes: the daemon holds an RPC worker
        // thread for a long-poll until its tip changes, whether or not anyone still waits for
        // the answer, so one dropped at every refresh would soon hold them all (litecoind has 4
        // by default) and leave none for `submitblock`. It is replaced only when it has
        // answered or failed, or when the daemon in use changes.
        let mut polling: Option<LongPoll> = None;
        loop {
            if need_fetch {
                if let Err(e) = self.fetch().await {
                    self.failed(e).await;
                    continue;
                }
            }
            // Wait for whichever comes first: the long-poll answering, the tip changing, a ZMQ
            // announcement of a new block (from any publisher; the template still comes from
            // the daemon in use), or the refresh interval; then fetch a fresh template.
            if polling.as_ref().is_some_and(|p| p.daemon != self.current) {
                polling = None;
            }
            let long_poll_id = self
                .template_tx
                .borrow()
                .as_ref()
                .and_then(|t| t.long_poll_id.clone());
            let prev = self
                .template_tx
                .borrow()
                .as_ref()
                .map(|t| t.previous_block_hash.clone());
            let client = self.daemons.client(self.current).clone();
            if polling.is_none() {
                if let Some(id) = long_poll_id {
                    polling = Some(LongPoll {
                        daemon: self.current,
                        answer: Box::pin(long_poll(client.clone(), self.config.clone(), id)),
                    });
                }
            }
            let outcome = tokio::select! {
                r = poll_answer(&mut polling) => {
                    polling = None;
                    r.map(Some)
                }
                r = watch_tip(&client, self.config.tip_poll, prev.clone()) => r.map(|()| None),
                a = announced(&mut self.announcements, prev.as_deref()) => {
                    info!(hash = %a.block.hash, sequence = a.block.sequence, publisher = %a.publisher, "new block announced over ZMQ");
                    Ok(None)
                }
                _ = tokio::time::sleep(self.config.refresh) => Ok(None),
            };
            need_fetch = match outcome {
                Ok(Some(t)) => match self.publish(t) {
                    Ok(()) => false,
                    Err(e) => {
                        self.failed(e).await;
                        true
                    }
                },
                Ok(None) => true,
                Err(e) => {
                    self.failed(e.into()).await;
                    true
                }
            };
        }
    }

    async fn fetch(&mut self) -> Result<(), SourceError> {
        let client = self.daemons.client(self.current).clone();
        if let Some(expected) = self.config.chain.as_ref() {
            if self.checked != Some(self.current) {
                let url = client.url().to_owned();
                let checked = check_chain(&client, expected).await;
                if let Err(SourceError::WrongChain { .. }) = &checked {
                    let why = format!("{url}: {}", checked.as_ref().expect_err("an error"));
                    self.status_tx.send_modify(|s| {
                        s.refused.retain(|r| !r.starts_with(&format!("{url}: ")));
                        s.refused.push(why);
                    });
                }
                checked?;
                self.status_tx.send_if_modified(|s| {
                    let before = s.refused.len();
                    s.refused.retain(|r| !r.starts_with(&format!("{url}: ")));
                    s.refused.len() != before
                });
                self.checked = Some(self.current);
            }
        }
        let t: BlockTemplate = client
            .call("getblocktemplate", json!([{"rules": self.config.rules}]))
            .await?;
        self.publish(t)
    }

    /// Publishes `t`, from the daemon in use, unless it builds a lower block than the last
    /// template published from another daemon: that daemon lags (a backup that has not caught
    /// up), and its older tip must not go out as clean jobs. A daemon's own templates may go
    /// down (its own reorganisation).
    fn publish(&mut self, mut t: BlockTemplate) -> Result<(), SourceError> {
        let url = self.daemons.client(self.current).url().to_owned();
        let skew = clock_skew(t.cur_time);
        let warning = clock_warning(skew);
        let was_warned = self.status_tx.borrow().clock_warning.is_some();
        match (&warning, was_warned) {
            (Some(w), false) => warn!(url = %url, skew_secs = skew, "{w}"),
            (None, true) => {
                info!(url = %url, skew_secs = skew, "the daemon's and the node's clocks agree again")
            }
            _ => {}
        }
        self.status_tx.send_modify(|s| {
            s.clock_skew_secs = Some(skew);
            s.clock_warning = warning;
        });
        if let Some(limit) = self.config.max_future {
            let limit = i64::try_from(limit.as_secs()).unwrap_or(i64::MAX);
            if skew > limit {
                return Err(SourceError::ClockSkew { url, skew, limit });
            }
        }
        if let Some((best, from)) = self.best {
            if t.height < best && from != self.current {
                return Err(SourceError::Lagging {
                    url,
                    height: t.height,
                    best,
                });
            }
        }
        self.best = Some((t.height, self.current));
        self.confirmed = Some(Instant::now());
        t.daemon = self.current;
        self.backoff = Duration::ZERO;
        let new_block = self
            .template_tx
            .borrow()
            .as_ref()
            .is_none_or(|old| old.previous_block_hash != t.previous_block_hash);
        if new_block {
            info!(height = t.height, prev = %t.previous_block_hash, txs = t.transactions.len(), "new block template");
        } else {
            debug!(
                height = t.height,
                txs = t.transactions.len(),
                "template refreshed"
            );
        }
        self.status_tx.send_modify(|s| {
            if !s.healthy && s.templates > 0 {
                info!(url = %url, "daemon is answering again");
            }
            s.healthy = true;
            s.error = None;
            s.url = url;
            s.template_height = Some(t.height);
            s.templates += 1;
            s.template_expired = false;
        });
        self.template_tx.send_replace(Some(Arc::new(t)));
        Ok(())
    }

    /// Withdraws the template once no daemon has confirmed one for `max_template_age`: work on
    /// it is likely work on a tip that has moved on, and re-sending it would hide the outage.
    fn expire_old_template(&mut self) {
        let too_old = self
            .confirmed
            .is_some_and(|at| at.elapsed() > self.config.max_template_age);
        if too_old && self.template_tx.borrow().is_some() {
            error!(
                max_age_secs = self.config.max_template_age.as_secs(),
                "no daemon has confirmed the template for too long: it is withdrawn and miners get no new work until a daemon answers"
            );
            self.template_tx.send_replace(None);
            self.status_tx.send_modify(|s| s.template_expired = true);
        }
    }

    async fn failed(&mut self, e: SourceError) {
        let url = self.daemons.client(self.current).url().to_owned();
        // Check the chain again before this daemon's next template: it may have been restarted
        // on another network, and the next daemon has not been checked since it was last used.
        self.checked = None;
        if e.is_warming_up() {
            info!(url = %url, reason = %e, "daemon is not ready (warming up, in initial download or without peers)");
        } else if matches!(e, SourceError::WrongChain { .. }) {
            error!(url = %url, error = %e, "daemon on the wrong chain");
        } else if matches!(e, SourceError::ClockSkew { .. }) {
            error!(url = %url, error = %e, "clocks too far apart");
            // The last template carries the same clock: withdraw it at once.
            if self.template_tx.borrow().is_some() {
                self.template_tx.send_replace(None);
            }
            self.status_tx.send_modify(|s| s.template_expired = true);
        } else {
            warn!(url = %url, error = %e, "daemon call failed; miners keep the last work");
        }
        self.status_tx.send_modify(|s| {
            s.healthy = false;
            s.error = Some(e.to_string());
            s.url = url.clone();
        });
        // Whatever the error, a backup is better than waiting: a daemon warming up, in initial
        // download (-10) or without peers (-9) has no current tip to give.
        if self.daemons.len() > 1 {
            self.current = (self.current + 1) % self.daemons.len();
            info!(
                url = self.daemons.client(self.current).url(),
                "failing over to the next daemon"
            );
        }
        // `max` then `min`, not `clamp`: a `max_backoff` under the 250 ms floor must not panic.
        self.backoff = (self.backoff * 2)
            .max(Duration::from_millis(250))
            .min(self.config.max_backoff);
        tokio::time::sleep(self.backoff).await;
        self.expire_old_template();
    }
}

/// The daemon's clock, as its template's `curtime` gives it, minus the node's, in seconds.
fn clock_skew(cur_time: u32) -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    i64::from(cur_time) - i64::try_from(now).unwrap_or(i64::MAX)
}

/// The warning for a clock skew of `skew` seconds, if it is past [`MAX_CLOCK_SKEW_SECS`].
fn clock_warning(skew: i64) -> Option<String> {
    if skew.abs() <= MAX_CLOCK_SKEW_SECS {
        return None;
    }
    let (whose, by) = if skew > 0 {
        ("the node's clock is behind the daemon's", skew)
    } else {
        ("the node's clock is ahead of the daemon's", -skew)
    };
    Some(format!(
        "{whose} by {by} s (over {MAX_CLOCK_SKEW_SECS} s): jobs carry the daemon's time and shares \
         are checked against the node's, so past two minutes the node refuses its own miners' \
         shares (or peers refuse them); synchronise the clocks (NTP)"
    ))
}

/// A long-poll in flight and the daemon it was sent to.
struct LongPoll {
    daemon: usize,
    answer: Pin<Box<dyn Future<Output = Result<BlockTemplate, RpcError>> + Send>>,
}

/// The answer of the long-poll in flight; never returns without one (no long-poll support: the
/// other branches drive the refresh).
async fn poll_answer(polling: &mut Option<LongPoll>) -> Result<BlockTemplate, RpcError> {
    match polling {
        Some(p) => p.answer.as_mut().await,
        None => std::future::pending().await,
    }
}

/// A `getblocktemplate` long-poll with long-poll id `id`: answers when the daemon's template
/// changes.
async fn long_poll(
    client: RpcClient,
    config: SourceConfig,
    id: String,
) -> Result<BlockTemplate, RpcError> {
    client
        .call_with_timeout(
            "getblocktemplate",
            json!([{"rules": config.rules, "longpollid": id}]),
            config.long_poll_timeout,
        )
        .await
}

/// The next announcement, from any publisher, of a block that is not `prev` (display-order hex),
/// the block the current template already builds on. Never returns without a subscription.
///
/// This also drops the second daemon's announcement of a block the first one's already brought:
/// by then the template builds on it. A repeat is acted on only while the template does not
/// build on the block yet, which is when fetching again is worth it (the daemon in use may have
/// caught up since), so no time window is needed.
async fn announced(
    announcements: &mut Option<mpsc::Receiver<Announcement>>,
    prev: Option<&str>,
) -> Announcement {
    let Some(rx) = announcements else {
        return std::future::pending().await;
    };
    while let Some(a) = rx.recv().await {
        if prev.is_some_and(|p| p.eq_ignore_ascii_case(&a.block.hash.to_string())) {
            debug!(hash = %a.block.hash, publisher = %a.publisher, "ZMQ announced the block the template builds on already");
            continue;
        }
        return a;
    }
    // Every forwarder stopped (the node is shutting down).
    std::future::pending().await
}

/// Returns when the daemon's best block is no longer `prev` (display-order hex).
async fn watch_tip(
    client: &RpcClient,
    every: Duration,
    prev: Option<String>,
) -> Result<(), RpcError> {
    loop {
        tokio::time::sleep(every).await;
        let best: String = client.call("getbestblockhash", json!([])).await?;
        if prev.as_deref() != Some(best.as_str()) {
            return Ok(());
        }
    }
}

#[cfg(test)]
#[path = "source_tests.rs"]
mod tests;
