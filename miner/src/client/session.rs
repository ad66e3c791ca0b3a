//! One Stratum V1 connection's state, without I/O: lines in, lines out and events.
//!
//! The connection feeds every line from the pool to [`Session::handle_line`] and every share
//! from the threads to [`Session::submit`], writes the lines they return, and acts on the
//! [`Event`]s (post work, count results, reconnect). Everything here is deterministic, so the
//! protocol rules are unit-tested without a socket:
//!
//! - the handshake is pipelined: `mining.configure` (version rolling, sha256d only),
//!   `mining.subscribe`, `mining.authorize`, then the optional `mining.suggest_difficulty` and
//!   `mining.extranonce.subscribe`; work is posted once the pool has answered subscribe and
//!   authorize and sent a job;
//! - a clean job forgets every older job id at once: a share found on one is dropped, never sent;
//! - a higher difficulty applies at once (shares meeting it meet the old one too), a lower one
//!   with the next job, as the pool applies it; a new extranonce1 applies with the next job and
//!   retires every job before it at once (shares found under the old one are dropped);
//!   a new version mask applies at once;
//! - a job whose header fields equal the current one's (the same job re-sent under a new id,
//!   as a pool does after a difficulty change) continues the current nonce walk.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use otedama_proto::chain::PowAlgo;
use otedama_proto::stratum::{u32_from_hex, u32_to_hex, BIP320_VERSION_MASK};
use otedama_proto::target::{DifficultyError, Target};
use serde_json::{json, Value};

use super::message::{self, Incoming, MessageError, PoolError};
use crate::mining::{Job, Share, Work};

/// Job ids kept for submitting (only shares of these jobs are sent).
const LIVE_JOBS: usize = 16;
/// Requests awaiting a reply, at most; the oldest is forgotten past this.
const MAX_PENDING: usize = 1024;

/// What the session needs to know about the miner.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// The login: payout address, optionally `.worker`.
    pub user: String,
    /// The password (`x` by convention; some pools read options from it, such as `d=N`).
    pub password: String,
    /// The proof-of-work function, which decides the difficulty-1 target.
    pub algo: PowAlgo,
    /// Sent with `mining.subscribe`.
    pub user_agent: String,
    /// A difficulty to ask for with `mining.suggest_difficulty`.
    pub suggest_difficulty: Option<f64>,
    /// Whether to send `mining.extranonce.subscribe`.
    pub extranonce_subscribe: bool,
    /// Whether to ask for version rolling (BIP 310) with `mining.configure`.
    pub version_rolling: bool,
}

/// Something the connection must act on.
#[derive(Debug)]
pub enum Event {
    /// Write this line.
    Send(String),
    /// Post this work for the hashing threads.
    Work(Arc<Work>),
    /// The pool accepted the login.
    Authorized,
    /// The pool accepted a share.
    Accepted {
        /// The share's job.
        job_id: String,
        /// The share's actual difficulty.
        difficulty: f64,
    },
    /// The pool rejected a share.
    Rejected {
        /// The share's job.
        job_id: String,
        /// Why.
        error: PoolError,
    },
    /// The pool asked the miner to reconnect (`client.reconnect`).
    Reconnect {
        /// Another host, if given.
        host: Option<String>,
        /// Another port, if given.
        port: Option<u16>,
        /// How long to wait first.
        wait: Duration,
    },
}

/// A reason to end the connection.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The pool refused the login.
    #[error("the pool refused the login of `{user}`: {reason}")]
    AuthRefused {
        /// The login.
        user: String,
        /// The pool's words.
        reason: String,
    },
    /// The pool refused the subscription.
    #[error("the pool refused mining.subscribe: {0}")]
    SubscribeRefused(String),
    /// A message the miner needs does not decode.
    #[error(transparent)]
    Message(#[from] MessageError),
}

/// The request a reply answers.
#[derive(Debug)]
enum Pending {
    Configure,
    Subscribe,
    Authorize,
    SuggestDifficulty,
    ExtranonceSubscribe,
    Submit { job_id: String, difficulty: f64 },
}

/// The state of one connection.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    /// This connection's number; work and shares carry it.
    epoch: u64,
    next_id: u64,
    pending: BTreeMap<u64, Pending>,
    /// extranonce1 and extranonce2 size, once subscribed.
    extranonce: Option<(Vec<u8>, usize)>,
    /// A new extranonce from `mining.set_extranonce`, for the next job.
    next_extranonce: Option<(Vec<u8>, usize)>,
    authorized: bool,
    /// The difficulty in force (`None` until the pool sets one: difficulty 1 is used).
    difficulty: Option<f64>,
    /// A lower difficulty, for the next job.
    next_difficulty: Option<f64>,
    version_mask: u32,
    job: Option<Arc<Job>>,
    work: Option<Arc<Work>>,
    live_jobs: VecDeque<String>,
}

impl Session {
    /// A new session; `epoch` numbers the connection.
    pub fn new(config: SessionConfig, epoch: u64) -> Self {
        Self {
            config,
            epoch,
            next_id: 1,
            pending: BTreeMap::new(),
            extranonce: None,
            next_extranonce: None,
            authorized: false,
            difficulty: None,
            next_difficulty: None,
            version_mask: 0,
            job: None,
            work: None,
            live_jobs: VecDeque::new(),
        }
    }

    /// Whether the pool accepted the login.
    pub fn is_authorized(&self) -> bool {
        self.authorized
    }

    /// Whether the pool answered `mining.subscribe` with an extranonce.
    pub fn is_subscribed(&self) -> bool {
        self.extranonce.is_some()
    }

    /// Shares sent on this connection that the pool has not answered yet (lost if the
    /// connection ends now).
    pub fn unanswered_shares(&self) -> usize {
        self.pending
            .values()
            .filter(|p| matches!(p, Pending::Submit { .. }))
            .count()
    }

    /// The negotiated version-rolling mask (0: none).
    pub fn version_mask(&self) -> u32 {
        self.version_mask
    }

    /// The difficulty in force.
    pub fn difficulty(&self) -> f64 {
        self.difficulty.unwrap_or(1.0)
    }

    fn request(&mut self, pending: Pending, method: &str, params: Value) -> String {
        let id = self.next_id;
        self.next_id += 1;
        self.pending.insert(id, pending);
        while self.pending.len() > MAX_PENDING {
            self.pending.pop_first();
        }
        message::request(id, method, params)
    }

    /// The handshake lines, to send right after connecting.
    pub fn start(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        if self.config.version_rolling {
            let mask = u32_to_hex(BIP320_VERSION_MASK);
            lines.push(self.request(
                Pending::Configure,
                "mining.configure",
                json!([["version-rolling"], {"version-rolling.mask": mask, "version-rolling.min-bit-count": 2}]),
            ));
        }
        let agent = self.config.user_agent.clone();
        lines.push(self.request(Pending::Subscribe, "mining.subscribe", json!([agent])));
        let login = json!([self.config.user, self.config.password]);
        lines.push(self.request(Pending::Authorize, "mining.authorize", login));
        if let Some(d) = self.config.suggest_difficulty {
            lines.push(self.request(
                Pending::SuggestDifficulty,
                "mining.suggest_difficulty",
                json!([d]),
            ));
        }
        if self.config.extranonce_subscribe {
            lines.push(self.request(
                Pending::ExtranonceSubscribe,
                "mining.extranonce.subscribe",
                json!([]),
            ));
        }
        lines
    }

    /// The `mining.submit` line for `share`, or `None` if its job is no longer live (replaced
    /// by a clean job or retired by a new extranonce1, or from an earlier connection) or it was
    /// found under another extranonce1 than the one in force.
    pub fn submit(&mut self, share: &Share) -> Option<String> {
        let extranonce1 = self.extranonce.as_ref().map(|(e, _)| e);
        if share.session != self.epoch
            || !self.live_jobs.contains(&share.job_id)
            || extranonce1 != Some(&share.extranonce1)
        {
            return None;
        }
        let mut params = vec![
            json!(self.config.user),
            json!(share.job_id),
            json!(hex::encode(&share.extranonce2)),
            json!(u32_to_hex(share.ntime)),
            json!(u32_to_hex(share.nonce)),
        ];
        if let Some(bits) = share.version_bits {
            params.push(json!(u32_to_hex(bits)));
        }
        let difficulty =
            Target::from_le_bytes(share.hash.0).to_stratum_difficulty(self.config.algo);
        let pending = Pending::Submit {
            job_id: share.job_id.clone(),
            difficulty,
        };
        Some(self.request(pending, "mining.submit", Value::Array(params)))
    }

    /// Handles one line from the pool.
    pub fn handle_line(&mut self, line: &str) -> Result<Vec<Event>, SessionError> {
        let mut events = Vec::new();
        match message::parse_line(line)? {
            Incoming::Response { id, result, error } => {
                let pending = id.and_then(|id| self.pending.remove(&id));
                match pending {
                    Some(pending) => self.on_response(pending, result, error, &mut events)?,
                    None => tracing::debug!(?id, "reply to no request of ours: {line}"),
                }
            }
            Incoming::Request { id, method, params } => {
                self.on_request(id, &method, &params, &mut events)?;
            }
        }
        Ok(events)
    }

    fn on_response(
        &mut self,
        pending: Pending,
        result: Value,
        error: Option<PoolError>,
        events: &mut Vec<Event>,
    ) -> Result<(), SessionError> {
        match pending {
            Pending::Configure => {
                let mask = match (&error, message::parse_configure(&result)) {
                    (None, Ok(Some(mask))) => mask & BIP320_VERSION_MASK,
                    (None, Ok(None)) | (Some(_), _) => 0,
                    (None, Err(e)) => {
                        tracing::warn!("ignoring the pool's version rolling: {e}");
                        0
                    }
                };
                tracing::info!(
                    mask = %u32_to_hex(mask),
                    "version rolling {}",
                    if mask == 0 { "off" } else { "on" }
                );
                self.set_mask(mask, events);
            }
            Pending::Subscribe => {
                if let Some(e) = error {
                    return Err(SessionError::SubscribeRefused(e.to_string()));
                }
                let (extranonce1, size) =
                    message::parse_extranonce("mining.subscribe", &result, 1)?;
                tracing::info!(extranonce1 = %hex::encode(&extranonce1), extranonce2_size = size, "subscribed");
                self.extranonce = Some((extranonce1, size));
                self.post(true, events);
            }
            Pending::Authorize => {
                if error.is_some() || result != Value::Bool(true) {
                    let reason = match error {
                        Some(e) => e.to_string(),
                        None => format!("it answered {result} to mining.authorize"),
                    };
                    return Err(SessionError::AuthRefused {
                        user: self.config.user.clone(),
                        reason,
                    });
                }
                self.authorized = true;
                events.push(Event::Authorized);
                self.post(true, events);
            }
            Pending::SuggestDifficulty | Pending::ExtranonceSubscribe => {
                if let Some(e) = error {
                    tracing::debug!("the pool declined an optional request: {e}");
                }
            }
            Pending::Submit { job_id, difficulty } => {
                if error.is_none() && result == Value::Bool(true) {
                    events.push(Event::Accepted { job_id, difficulty });
                } else {
                    let error = error.unwrap_or_else(|| PoolError {
                        code: None,
                        message: format!("the pool answered {result} without a reason"),
                    });
                    events.push(Event::Rejected { job_id, error });
                }
            }
        }
        Ok(())
    }

    fn on_request(
        &mut self,
        id: Option<Value>,
        method: &str,
        params: &Value,
        events: &mut Vec<Event>,
    ) -> Result<(), SessionError> {
        match method {
            "mining.notify" => self.on_notify(message::parse_notify(params)?, events),
            "mining.set_difficulty" => {
                self.on_difficulty(message::parse_difficulty(params)?, events)
            }
            "mining.set_extranonce" => {
                let extranonce = message::parse_extranonce("mining.set_extranonce", params, 0)?;
                tracing::info!(extranonce1 = %hex::encode(&extranonce.0), "new extranonce from the next job on");
                if self.extranonce.as_ref() != Some(&extranonce) {
                    // Every job sent so far was hashed with the old extranonce1: the pool can no
                    // longer check a share of one, so none is submitted (even if a job id
                    // comes again).
                    self.live_jobs.clear();
                }
                self.next_extranonce = Some(extranonce);
            }
            "mining.set_version_mask" => {
                let text = params.get(0).and_then(Value::as_str).unwrap_or_default();
                let mask = u32_from_hex("version mask", text).map_err(MessageError::from)?;
                self.set_mask(mask & BIP320_VERSION_MASK, events);
            }
            "client.reconnect" => {
                let (host, port, wait) = message::parse_reconnect(params);
                let wait = Duration::from_secs(wait.min(3600));
                events.push(Event::Reconnect { host, port, wait });
            }
            "client.show_message" => {
                let text = params.get(0).and_then(Value::as_str).unwrap_or_default();
                tracing::info!("message from the pool: {text}");
            }
            _ => {}
        }
        let Some(id) = id else {
            return Ok(());
        };
        let line = match method {
            "client.get_version" => message::reply(&id, json!(self.config.user_agent), None),
            "client.show_message" | "client.reconnect" => message::reply(&id, json!(true), None),
            m if m.starts_with("mining.") => return Ok(()),
            _ => message::reply(&id, Value::Null, Some((20, "unknown method"))),
        };
        events.push(Event::Send(line));
        Ok(())
    }

    fn on_notify(&mut self, job: Job, events: &mut Vec<Event>) {
        // The same work under a new id (a pool's re-send after a difficulty change) continues
        // the walk: starting it again would find, and submit, the same shares (and blocks).
        let same_work = self.next_extranonce.is_none()
            && self.job.as_deref().is_some_and(|old| old.same_work(&job));
        if job.clean {
            self.live_jobs.clear();
        }
        self.live_jobs.retain(|id| *id != job.id);
        self.live_jobs.push_back(job.id.clone());
        while self.live_jobs.len() > LIVE_JOBS {
            self.live_jobs.pop_front();
        }
        if let Some(d) = self.next_difficulty.take() {
            self.difficulty = Some(d);
        }
        if let Some(extranonce) = self.next_extranonce.take() {
            self.extranonce = Some(extranonce);
        }
        tracing::debug!(job = %job.id, clean = job.clean, same_work, "new job");
        self.job = Some(Arc::new(job));
        self.post(!same_work, events);
    }

    fn on_difficulty(&mut self, d: f64, events: &mut Vec<Event>) {
        match Target::from_stratum_difficulty(self.config.algo, d) {
            Ok(_) | Err(DifficultyError::TooLow(_)) => {}
            Err(e) => {
                tracing::warn!("ignoring mining.set_difficulty: {e}");
                return;
            }
        }
        tracing::info!("the pool set difficulty {d}");
        match self.difficulty {
            Some(now) if d < now => self.next_difficulty = Some(d),
            Some(now) if d == now => self.next_difficulty = None,
            _ => {
                self.difficulty = Some(d);
                self.next_difficulty = None;
                self.post(false, events);
            }
        }
    }

    fn set_mask(&mut self, mask: u32, events: &mut Vec<Event>) {
        if mask == self.version_mask {
            return;
        }
        self.version_mask = mask;
        if let Some(work) = &self.work {
            let work = Arc::new(work.with_mask(mask));
            self.work = Some(Arc::clone(&work));
            events.push(Event::Work(work));
        }
    }

    /// Posts the current job if the session is ready; `fresh` starts its units from zero (a new
    /// job), otherwise they continue (the same job at a new difficulty).
    fn post(&mut self, fresh: bool, events: &mut Vec<Event>) {
        let (Some(job), Some((extranonce1, size)), true) =
            (&self.job, &self.extranonce, self.authorized)
        else {
            return;
        };
        let difficulty = self.difficulty();
        let target =
            Target::from_stratum_difficulty(self.config.algo, difficulty).unwrap_or(Target::MAX);
        let units = match (&self.work, fresh) {
            (Some(work), false) => Arc::clone(&work.units),
            _ => Arc::new(AtomicU64::new(0)),
        };
        let work = Arc::new(Work {
            job: Arc::clone(job),
            algo: self.config.algo,
            session: self.epoch,
            extranonce1: extranonce1.clone(),
            extranonce2_size: *size,
            target,
            difficulty,
            version_mask: self.version_mask,
            units,
        });
        self.work = Some(Arc::clone(&work));
        events.push(Event::Work(work));
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
