//! The protocol state of one Stratum connection, with no socket and no clock.
//!
//! [`Session::handle_line`] takes one line from the miner and `now` and returns what to do: lines
//! to send, valid shares to hand to the node's share path, or a close. [`Session::on_job`] does
//! the same for a new job from the broadcast. The handshake follows what real firmware does:
//! `mining.configure` first or not at all, authorize before or after subscribe, suggestions and
//! `d=N` passwords, notifications (`id` null) acted on without a reply. Every share pays its own
//! miner, so a connection mines for one payout address (its workers may differ in their
//! `.worker` suffix) and its coinbase comes from the job's provider for that address. Share
//! checks live in `submit.rs`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use otedama_proto::address::PayoutAddress;
use serde_json::{json, Value};

use super::config::StratumConfig;
use super::job::Job;
use super::message::{self, ErrorCode, Incoming, Line, Request, RequestError};
use super::provider::MinerCoinbase;
use super::stats::{StatsRegistry, WorkerStats};
use super::submit::{SentJob, Submission};
use super::vardiff::Vardiff;
use super::Timestamp;

/// Bytes of extranonce2 each miner rolls.
pub const EXTRANONCE2_SIZE: usize = 4;
/// Workers one connection may authorize.
const MAX_WORKERS: usize = 16;
/// The longest Stratum user accepted (`address.worker`).
const MAX_USER_LEN: usize = 160;

/// What the connection should do after a line or a job.
#[derive(Debug)]
pub enum Outbound {
    /// Send this line.
    Send(Line),
    /// Hand this valid share to the share path (before the reply is sent).
    Share(Box<Submission>),
    /// Close the connection after sending what came before.
    Close,
}

/// A worker authorized on this connection.
#[derive(Debug)]
pub(super) struct Worker {
    /// The Stratum user as given.
    pub(super) user: String,
    /// Where its shares pay.
    pub(super) payout: Arc<PayoutAddress>,
    /// Its counts, shared with other connections of the same worker.
    pub(super) stats: Arc<Mutex<WorkerStats>>,
}

/// The state of one connection.
#[derive(Debug)]
pub struct Session {
    pub(super) config: Arc<StratumConfig>,
    registry: Arc<StatsRegistry>,
    pub(super) extranonce1: [u8; 4],
    pub(super) subscribed: bool,
    extranonce_subscribed: bool,
    /// The negotiated version-rolling mask; zero until `mining.configure` asks for it.
    pub(super) version_mask: u32,
    /// The address every share of this connection pays (its coinbases are built for it).
    payout: Option<Arc<PayoutAddress>>,
    /// Workers authorized, all paying `payout`.
    pub(super) workers: Vec<Worker>,
    /// The difficulty wanted before the job's cap: vardiff's, the suggestion's or `d=N`.
    pub(super) difficulty: f64,
    /// The lowest difficulty vardiff may go to: the pool minimum or the miner's suggestion.
    floor: f64,
    /// Set by a `d=N` password: vardiff stays off.
    pub(super) fixed: bool,
    /// The difficulty last sent with `mining.set_difficulty`.
    sent_difficulty: Option<f64>,
    pub(super) vardiff: Vardiff,
    /// The newest job from the broadcast, sent or not.
    current: Option<Arc<Job>>,
    /// The block generation of the newest job seen: jobs of older ones are stale.
    pub(super) generation: u64,
    /// Jobs sent to the miner, oldest first, with the difficulty each was sent at.
    pub(super) jobs: VecDeque<SentJob>,
    /// Counter for the ids of jobs re-sent after a difficulty change.
    reissues: u32,
}

impl Session {
    /// A new connection whose miner will roll `extranonce1` (unique among connected miners).
    pub fn new(
        config: Arc<StratumConfig>,
        registry: Arc<StatsRegistry>,
        extranonce1: [u8; 4],
        now: Timestamp,
    ) -> Self {
        let difficulty = config.clamp_difficulty(config.initial_difficulty);
        let floor = config.min_difficulty;
        Session {
            config,
            registry,
            extranonce1,
            subscribed: false,
            extranonce_subscribed: false,
            version_mask: 0,
            payout: None,
            workers: Vec::new(),
            difficulty,
            floor,
            fixed: false,
            sent_difficulty: None,
            vardiff: Vardiff::new(now),
            current: None,
            generation: 0,
            jobs: VecDeque::new(),
            reissues: 0,
        }
    }

    /// Whether the miner subscribed and authorized at least one worker: it gets work.
    pub fn is_ready(&self) -> bool {
        self.subscribed && !self.workers.is_empty()
    }

    /// The difficulty last sent to the miner.
    pub fn difficulty(&self) -> Option<f64> {
        self.sent_difficulty
    }

    /// The connection's extranonce1.
    pub fn extranonce1(&self) -> [u8; 4] {
        self.extranonce1
    }

    /// Handles one line from the miner (without its newline).
    pub fn handle_line(&mut self, line: &[u8], now: Timestamp) -> Vec<Outbound> {
        let mut out = Vec::new();
        match message::parse_line(line) {
            Err(garbage) => {
                let error = RequestError::other(format!("{garbage}; closing the connection"));
                out.push(Outbound::Send(message::error_reply(&Value::Null, &error)));
                out.push(Outbound::Close);
            }
            Ok(Incoming::Ignore) => {}
            Ok(Incoming::NoMethod(id)) => {
                if !id.is_null() {
                    let error = RequestError::other("the request has no method");
                    out.push(Outbound::Send(message::error_reply(&id, &error)));
                }
            }
            Ok(Incoming::Request(request)) => self.handle_request(request, now, &mut out),
        }
        out
    }

    /// A line too long for the server's cap: an error reply, then a close.
    pub fn line_too_long(&self) -> Vec<Outbound> {
        let error = RequestError::other(format!(
            "{}; closing the connection",
            message::GarbageError::TooLong(self.config.max_line_bytes)
        ));
        vec![
            Outbound::Send(message::error_reply(&Value::Null, &error)),
            Outbound::Close,
        ]
    }

    fn handle_request(&mut self, request: Request, now: Timestamp, out: &mut Vec<Outbound>) {
        // Lines that follow the reply (a difficulty change and its job).
        let mut after = Vec::new();
        let result = match request.method.as_str() {
            "mining.subscribe" => Ok(self.subscribe(now, &mut after)),
            "mining.authorize" => self.authorize(&request.params, now, &mut after),
            "mining.configure" => self.configure(&request.params),
            "mining.suggest_difficulty" => {
                self.suggest_difficulty(&request.params, now, &mut after)
            }
            "mining.extranonce.subscribe" => {
                self.extranonce_subscribed = true;
                Ok("true".to_owned())
            }
            "mining.submit" => self.submit(&request.params, now, out, &mut after),
            other => Err(RequestError::other(format!("unknown method `{other}`"))),
        };
        if !request.id.is_null() {
            out.push(Outbound::Send(match result {
                Ok(result) => message::reply(&request.id, &result),
                Err(error) => message::error_reply(&request.id, &error),
            }));
        }
        out.extend(after);
    }

    fn subscribe(&mut self, now: Timestamp, after: &mut Vec<Outbound>) -> String {
        let was_ready = self.is_ready();
        self.subscribed = true;
        if !was_ready && self.is_ready() {
            self.start_work(now, after);
        }
        let sid = hex::encode(self.extranonce1);
        json!([
            [["mining.set_difficulty", sid], ["mining.notify", sid]],
            sid,
            EXTRANONCE2_SIZE
        ])
        .to_string()
    }

    fn authorize(
        &mut self,
        params: &[Value],
        now: Timestamp,
        after: &mut Vec<Outbound>,
    ) -> Result<String, RequestError> {
        let unauthorized = |m: String| RequestError::new(ErrorCode::Unauthorized, m);
        let Some(user) = params.first().and_then(Value::as_str) else {
            return Err(unauthorized(
                "mining.authorize needs the user (payout address) as its first parameter".into(),
            ));
        };
        if user.len() > MAX_USER_LEN || user.chars().any(char::is_control) {
            return Err(unauthorized(format!(
                "the user must be a payout address with an optional .worker suffix, at most {MAX_USER_LEN} printable characters"
            )));
        }
        let was_ready = self.is_ready();
        let address = user.split_once('.').map_or(user, |(address, _)| address);
        let payout =
            PayoutAddress::parse(address, self.config.coin, self.config.network).map_err(|e| {
                unauthorized(format!(
                    "`{address}` is not a {} {} payout address: {e}",
                    self.config.coin, self.config.network
                ))
            })?;
        if let Some(current) = &self.payout {
            if **current != payout {
                return Err(unauthorized(format!(
                    "this connection mines for {current}; open another connection to mine for {address}"
                )));
            }
        } else if let Some(job) = &self.current {
            // Each share pays its own miner: check that work can be built for this address.
            job.coinbase_for(&payout)
                .map_err(|e| unauthorized(format!("no work can be built for `{address}`: {e}")))?;
        }
        if !self.workers.iter().any(|w| w.user == user) {
            if self.workers.len() >= MAX_WORKERS {
                return Err(unauthorized(format!(
                    "at most {MAX_WORKERS} workers per connection"
                )));
            }
            let payout = self.payout.get_or_insert_with(|| Arc::new(payout)).clone();
            self.workers.push(Worker {
                user: user.to_owned(),
                payout,
                stats: self.registry.worker(user),
            });
        }
        let password = params.get(1).and_then(Value::as_str).unwrap_or("");
        if let Some(d) = fixed_difficulty(password) {
            self.fixed = true;
            self.difficulty = self.config.clamp_difficulty(d);
            self.retune(now, after);
        }
        if !was_ready && self.is_ready() {
            self.start_work(now, after);
        }
        Ok("true".to_owned())
    }

    fn configure(&mut self, params: &[Value]) -> Result<String, RequestError> {
        let Some(extensions) = params.first().and_then(Value::as_array) else {
            return Err(RequestError::other(
                "mining.configure needs a list of extensions as its first parameter",
            ));
        };
        let options = params.get(1).and_then(Value::as_object);
        let option = |key: &str| options.and_then(|o| o.get(key));
        let mut result = serde_json::Map::new();
        for name in extensions.iter().filter_map(Value::as_str) {
            if name != "version-rolling" {
                result.insert(name.to_owned(), Value::Bool(false));
                continue;
            }
            let miner_mask = match option("version-rolling.mask") {
                None => Some(u32::MAX),
                Some(v) => v.as_str().and_then(|s| u32::from_str_radix(s, 16).ok()),
            };
            let min_bits = option("version-rolling.min-bit-count")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            match miner_mask.map(|m| m & self.config.version_mask) {
                Some(mask) if u64::from(mask.count_ones()) >= min_bits && mask != 0 => {
                    self.version_mask = mask;
                    result.insert(name.to_owned(), Value::Bool(true));
                    result.insert("version-rolling.mask".into(), json!(format!("{mask:08x}")));
                }
                _ => {
                    self.version_mask = 0;
                    result.insert(name.to_owned(), Value::Bool(false));
                }
            }
        }
        Ok(Value::Object(result).to_string())
    }

    fn suggest_difficulty(
        &mut self,
        params: &[Value],
        now: Timestamp,
        after: &mut Vec<Outbound>,
    ) -> Result<String, RequestError> {
        let suggested = params.first().and_then(|v| match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        });
        let Some(suggested) = suggested.filter(|d| d.is_finite() && *d > 0.0) else {
            return Err(RequestError::other(
                "mining.suggest_difficulty needs a positive number",
            ));
        };
        if !self.fixed {
            self.floor = self.config.clamp_difficulty(suggested);
            self.difficulty = self.floor;
            self.retune(now, after);
        }
        Ok("true".to_owned())
    }

    /// Sends the first work once the miner is subscribed and authorized.
    fn start_work(&mut self, now: Timestamp, out: &mut Vec<Outbound>) {
        self.vardiff.reset(now);
        if let Some(job) = self.current.clone() {
            self.send_job(&job, false, true, out);
        }
    }

    /// Sets vardiff's proposal `difficulty` (held to the floor and the pool's bounds) and re-sends
    /// the current job if the miner's difficulty changes.
    pub(super) fn vardiff_to(&mut self, difficulty: f64, now: Timestamp, out: &mut Vec<Outbound>) {
        self.difficulty = self.config.clamp_difficulty(difficulty.max(self.floor));
        self.retune(now, out);
    }

    /// After the wanted difficulty changed: a new `mining.set_difficulty` and the current job
    /// under a new id, so that the new difficulty has a job of its own.
    fn retune(&mut self, now: Timestamp, out: &mut Vec<Outbound>) {
        self.vardiff.reset(now);
        let Some(job) = self.current.clone() else {
            return;
        };
        if self.is_ready() && !self.jobs.is_empty() {
            let Some(coinbase) = self.coinbase_of(&job) else {
                return;
            };
            let effective = self.difficulty.min(job.max_difficulty(&coinbase));
            if self.sent_difficulty != Some(effective) {
                self.send_job(&job, true, false, out);
            }
        }
    }

    /// A new job from the broadcast.
    pub fn on_job(&mut self, job: &Arc<Job>, now: Timestamp) -> Vec<Outbound> {
        let mut out = Vec::new();
        // A new sharechain parent cleans jobs too: work on the old parent can at best become an
        // uncle, so miners should move at once (a share already found on it still counts, its
        // job is not stale). Compared with the last job sent, as the broadcast may skip jobs.
        let new_parent = self
            .jobs
            .back()
            .is_some_and(|sent| sent.job.spec.share_parent != job.spec.share_parent);
        let clean = job.spec.clean || job.generation > self.generation || new_parent;
        self.generation = self.generation.max(job.generation);
        self.current = Some(job.clone());
        if !self.is_ready() {
            return out;
        }
        if !self.fixed {
            if let Some(d) = self
                .vardiff
                .on_idle(&self.config.vardiff, self.difficulty, now)
            {
                self.difficulty = self.config.clamp_difficulty(d.max(self.floor));
            }
        }
        self.send_job(job, false, clean, &mut out);
        out
    }

    /// This connection's coinbase on `job`: the one already sent if any, else the job's provider's
    /// (`None`, logged, if it cannot build one: the miner keeps its last work).
    fn coinbase_of(&self, job: &Arc<Job>) -> Option<Arc<MinerCoinbase>> {
        if let Some(sent) = self.jobs.iter().rev().find(|s| Arc::ptr_eq(&s.job, job)) {
            return Some(sent.coinbase.clone());
        }
        let payout = self.payout.as_ref()?;
        match job.coinbase_for(payout) {
            Ok(coinbase) => Some(coinbase),
            Err(e) => {
                tracing::warn!(job = job.id, %payout, "no coinbase for a miner: {e}");
                None
            }
        }
    }

    /// Sends `job` (a `mining.set_difficulty` first if the difficulty changed) and remembers it.
    fn send_job(&mut self, job: &Arc<Job>, reissue: bool, clean: bool, out: &mut Vec<Outbound>) {
        let Some(coinbase) = self.coinbase_of(job) else {
            return;
        };
        let difficulty = self.difficulty.min(job.max_difficulty(&coinbase));
        if self.sent_difficulty != Some(difficulty) {
            out.push(Outbound::Send(message::set_difficulty(difficulty)));
            self.sent_difficulty = Some(difficulty);
        }
        let reissue = if reissue {
            self.reissues = self.reissues.wrapping_add(1).max(1);
            self.reissues
        } else {
            0
        };
        out.push(Outbound::Send(if reissue == 0 {
            job.notify_line(&coinbase, clean)
        } else {
            job.notify_line_as(&SentJob::id_text(job.id, reissue), &coinbase, clean)
        }));
        let sent = SentJob::new(job.clone(), coinbase, reissue, difficulty, self.jobs.back());
        if self.jobs.len() >= self.config.jobs_kept.max(1) {
            self.jobs.pop_front();
        }
        self.jobs.push_back(sent);
    }

    /// Gives the miner a new extranonce1 with `mining.set_extranonce` and fresh work. `None` when
    /// the miner did not send `mining.extranonce.subscribe`: it must be reconnected instead
    /// (`message::reconnect`), since firmware that did not ask for it cannot take it.
    pub fn set_extranonce1(&mut self, extranonce1: [u8; 4]) -> Option<Vec<Outbound>> {
        if !self.extranonce_subscribed {
            return None;
        }
        self.extranonce1 = extranonce1;
        // Shares on jobs sent before carry the old extranonce1 and can no longer be checked.
        self.jobs.clear();
        let mut out = vec![Outbound::Send(message::notification(
            "mining.set_extranonce",
            &json!([hex::encode(extranonce1), EXTRANONCE2_SIZE]).to_string(),
        ))];
        if let (true, Some(job)) = (self.is_ready(), self.current.clone()) {
            self.send_job(&job, true, true, &mut out);
        }
        Some(out)
    }
}

/// The difficulty a `d=N` password asks for: `d=N` alone or among other comma-, semicolon- or
/// space-separated words (`x,d=0.5`). Anything else is ignored.
fn fixed_difficulty(password: &str) -> Option<f64> {
    password
        .split([',', ';', ' '])
        .filter_map(|word| word.trim().strip_prefix("d="))
        .filter_map(|n| n.parse::<f64>().ok())
        .find(|d| d.is_finite() && *d > 0.0)
}

#[cfg(test)]
mod tests {
    use super::fixed_difficulty;

    #[test]
    fn password_difficulty() {
        assert_eq!(fixed_difficulty("d=512"), Some(512.0));
        assert_eq!(fixed_difficulty("x,d=0.001"), Some(0.001));
        assert_eq!(fixed_difficulty("x; d=2"), Some(2.0));
        assert_eq!(fixed_difficulty("x"), None);
        assert_eq!(fixed_difficulty("d=abc"), None);
        assert_eq!(fixed_difficulty("d=-1"), None);
    }
}
