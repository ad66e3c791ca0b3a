//! `mining.submit`: what a share must pass, cheapest check first, and the [`Submission`] a valid
//! one becomes.
//!
//! Order of checks: subscribed (25), authorized worker (24), field sizes (20), job known (21),
//! version bits inside the negotiated mask (20), ntime in the coin's range (20), not a duplicate
//! (22), then the proof of work against the difficulty the job was sent with (23). A share whose
//! ntime is further ahead of now than the sharechain's `max_future` is refused (20) unless it
//! meets the block target: the coin takes a block up to two hours ahead, the sharechain would
//! drop the share, and a miner told `true` would never learn it. A share on a job from
//! before the last block is stale: it is rejected (21) unless it meets the block target, in which
//! case it is accepted and handed on as a block, since the coin would still take it. Likewise the
//! per-job share cap (20) never refuses a block: only rules about validity do.

use std::collections::HashSet;
use std::sync::{Arc, PoisonError};

use otedama_proto::address::PayoutAddress;
use otedama_proto::hash::{BlockHash, PowHash, Txid};
use otedama_proto::merkle::root_from_branch;
use otedama_proto::pow::{pow_hash, sha256d};
use otedama_proto::stratum::{check_version_bits, roll_version, u32_from_hex, StratumHeader};
use otedama_proto::target::{DifficultyError, Target};
use serde_json::Value;

use super::job::Job;
use super::message::{ErrorCode, RequestError};
use super::provider::MinerCoinbase;
use super::session::{Outbound, Session, EXTRANONCE2_SIZE};
use super::Timestamp;

/// A valid share, for the node's share path: a block goes to the coin daemon first, a share that
/// meets the sharechain target (and is not stale) goes into the sharechain, the rest only counts
/// for the miner's stats.
#[derive(Clone, Debug)]
pub struct Submission {
    /// The job it was mined on (with the template builder's attachment).
    pub job: Arc<Job>,
    /// The miner's coinbase halves and share target on that job.
    pub miner_coinbase: Arc<MinerCoinbase>,
    /// The Stratum user that submitted it (`address` or `address.worker`).
    pub worker: String,
    /// The address the share pays.
    pub payout: Arc<PayoutAddress>,
    /// The 80-byte header, version rolling applied.
    pub header: [u8; 80],
    /// The whole coinbase as the miner hashed it: coinb1 ‖ extranonce1 ‖ extranonce2 ‖ coinb2
    /// (the non-witness serialization; the block adds the witness).
    pub coinbase: Vec<u8>,
    /// The header's proof-of-work hash.
    pub pow_hash: PowHash,
    /// The Stratum difficulty the share was credited at (that of its job).
    pub difficulty: f64,
    /// Whether the hash meets the miner's sharechain target on the job.
    pub meets_share_target: bool,
    /// Whether the hash meets the block target: submit to the coin daemon at once.
    pub meets_block_target: bool,
    /// Whether its job is from before the last block: not for the sharechain.
    pub stale: bool,
    /// Whether its ntime is past what the sharechain takes (`now + max_future`): a block the
    /// coin still accepts, not for the sharechain.
    pub too_new_for_sharechain: bool,
    /// When the server received it.
    pub received: Timestamp,
}

impl Submission {
    /// Whether it is a block.
    pub fn is_block(&self) -> bool {
        self.meets_block_target
    }

    /// Whether it belongs in the sharechain.
    pub fn is_sharechain_share(&self) -> bool {
        self.meets_share_target && !self.stale && !self.too_new_for_sharechain
    }

    /// The block hash of its header.
    pub fn block_hash(&self) -> BlockHash {
        BlockHash(sha256d(&self.header))
    }
}

/// A job as sent to one miner: under which id and at which difficulty, and the shares seen on it.
#[derive(Debug)]
pub(super) struct SentJob {
    pub(super) job: Arc<Job>,
    /// The coinbase the miner got with it.
    pub(super) coinbase: Arc<MinerCoinbase>,
    /// Zero when sent under the broadcast id; otherwise the session's re-send number.
    reissue: u32,
    pub(super) difficulty: f64,
    target: Target,
    /// The block hashes of the headers accepted on it. A header is what makes two submissions
    /// the same share: the same job re-sent under another id (or a job whose work did not
    /// change) gives the same header for the same extranonce2, ntime, nonce and version, so
    /// duplicates are looked for in every job the session keeps.
    seen: HashSet<BlockHash>,
}

impl SentJob {
    /// The record of `job` sent at `difficulty`; reuses the previous job's target when the
    /// difficulty did not change.
    pub(super) fn new(
        job: Arc<Job>,
        coinbase: Arc<MinerCoinbase>,
        reissue: u32,
        difficulty: f64,
        previous: Option<&SentJob>,
    ) -> Self {
        let target = match previous {
            Some(p) if p.difficulty == difficulty && p.job.algo == job.algo => p.target,
            _ => match Target::from_stratum_difficulty(job.algo, difficulty) {
                Ok(target) => target,
                Err(DifficultyError::TooLow(_)) => Target::MAX,
                Err(_) => Target::ZERO,
            },
        };
        SentJob {
            job,
            coinbase,
            reissue,
            difficulty,
            target,
            seen: HashSet::new(),
        }
    }

    /// The Stratum job id of job `id` as re-sent for the `reissue`th time (0: as broadcast).
    pub(super) fn id_text(id: u64, reissue: u32) -> String {
        if reissue == 0 {
            format!("{id:x}")
        } else {
            format!("{id:x}.{reissue:x}")
        }
    }
}

/// The (job number, re-send number) of a Stratum job id.
fn parse_job_id(text: &str) -> Option<(u64, u32)> {
    let (id, reissue) = text.split_once('.').unwrap_or((text, "0"));
    let id = u64::from_str_radix(id, 16).ok()?;
    let reissue = u32::from_str_radix(reissue, 16).ok()?;
    Some((id, reissue))
}

fn str_param<'a>(params: &'a [Value], index: usize, name: &str) -> Result<&'a str, RequestError> {
    params.get(index).and_then(Value::as_str).ok_or_else(|| {
        RequestError::other(format!(
            "mining.submit needs `{name}` as string parameter {}",
            index + 1
        ))
    })
}

impl Session {
    /// Checks a `mining.submit`. A valid share goes to `out` (ahead of the reply); a vardiff
    /// change goes to `after` (behind it).
    pub(super) fn submit(
        &mut self,
        params: &[Value],
        now: Timestamp,
        out: &mut Vec<Outbound>,
        after: &mut Vec<Outbound>,
    ) -> Result<String, RequestError> {
        if !self.subscribed {
            return Err(RequestError::new(
                ErrorCode::NotSubscribed,
                "not subscribed: send mining.subscribe first",
            ));
        }
        let user = str_param(params, 0, "user")?;
        let Some(worker) = self.workers.iter().position(|w| w.user == user) else {
            return Err(RequestError::new(
                ErrorCode::Unauthorized,
                format!("worker `{user}` is not authorized on this connection"),
            ));
        };
        let result = self.check_share(params, worker, now);
        let stats = &self.workers[worker].stats;
        let mut stats = stats.lock().unwrap_or_else(PoisonError::into_inner);
        match &result {
            Ok(accepted) => {
                stats.record_accepted(accepted.difficulty, now);
                if accepted.meets_block_target {
                    stats.record_block();
                }
            }
            Err((_, stale)) => stats.record_rejected(*stale),
        }
        drop(stats);
        let accepted = result.map_err(|(error, _)| error)?;
        let difficulty = accepted.difficulty;
        out.push(Outbound::Share(accepted));
        if !self.fixed {
            let current = self.difficulty().unwrap_or(difficulty);
            if let Some(d) = self
                .vardiff
                .on_share(&self.config.vardiff, difficulty, current, now)
            {
                self.vardiff_to(d, now, after);
            }
        }
        Ok("true".to_owned())
    }

    /// The checks after the worker is known. An error carries whether the share was stale.
    fn check_share(
        &mut self,
        params: &[Value],
        worker: usize,
        now: Timestamp,
    ) -> Result<Box<Submission>, (RequestError, bool)> {
        let fail = |e: RequestError| (e, false);
        let job_id = str_param(params, 1, "job_id").map_err(fail)?;
        let extranonce2_hex = str_param(params, 2, "extranonce2").map_err(fail)?;
        let ntime_hex = str_param(params, 3, "ntime").map_err(fail)?;
        let nonce_hex = str_param(params, 4, "nonce").map_err(fail)?;
        let mut extranonce2 = [0u8; EXTRANONCE2_SIZE];
        if hex::decode_to_slice(extranonce2_hex, &mut extranonce2).is_err() {
            return Err(fail(RequestError::other(format!(
                "extranonce2 `{extranonce2_hex}` must be {} hex digits ({EXTRANONCE2_SIZE} bytes)",
                2 * EXTRANONCE2_SIZE
            ))));
        }
        let bad_field =
            |e: otedama_proto::stratum::StratumError| fail(RequestError::other(e.to_string()));
        let ntime = u32_from_hex("ntime", ntime_hex).map_err(bad_field)?;
        let nonce = u32_from_hex("nonce", nonce_hex).map_err(bad_field)?;
        let version_bits = match params.get(5) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(u32_from_hex("version_bits", s).map_err(bad_field)?),
            Some(_) => {
                return Err(fail(RequestError::other(
                    "version_bits must be 8 hex digits",
                )))
            }
        };
        let found = parse_job_id(job_id).and_then(|(id, reissue)| {
            self.jobs
                .iter()
                .position(|j| j.job.id == id && j.reissue == reissue)
        });
        let Some(index) = found else {
            return Err(fail(RequestError::new(
                ErrorCode::JobNotFound,
                format!("job `{job_id}` not found (unknown or too old)"),
            )));
        };
        let sent = &self.jobs[index];
        let job = sent.job.clone();
        let miner_coinbase = sent.coinbase.clone();
        let stale = job.generation < self.generation;
        let version = match version_bits {
            Some(bits) => {
                check_version_bits(bits, self.version_mask).map_err(bad_field)?;
                roll_version(job.spec.version, self.version_mask, bits)
            }
            None => job.spec.version,
        };
        let latest = u64::from(job.spec.ntime).max(now.as_secs());
        let max_ntime = latest + u64::from(self.config.max_ntime_ahead_secs);
        if ntime < job.spec.ntime || u64::from(ntime) > max_ntime {
            return Err(fail(RequestError::other(format!(
                "ntime {ntime:08x} is out of range: the job's {:08x} to {max_ntime:08x}",
                job.spec.ntime
            ))));
        }
        let share_max_ntime = now.as_secs() + u64::from(self.config.max_share_ntime_ahead_secs);
        let too_new_for_sharechain = u64::from(ntime) > share_max_ntime;
        let (coinb1, coinb2) = (&miner_coinbase.coinb1, &miner_coinbase.coinb2);
        let mut coinbase = Vec::with_capacity(coinb1.len() + 4 + EXTRANONCE2_SIZE + coinb2.len());
        coinbase.extend_from_slice(coinb1);
        coinbase.extend_from_slice(&self.extranonce1);
        coinbase.extend_from_slice(&extranonce2);
        coinbase.extend_from_slice(coinb2);
        let merkle_root = root_from_branch(&Txid(sha256d(&coinbase)), &job.spec.merkle_branch);
        let header = StratumHeader {
            version,
            prev_hash: job.spec.prev_hash,
            merkle_root,
            ntime,
            nbits: job.spec.nbits,
            nonce,
        }
        .to_bytes();
        let key = BlockHash(sha256d(&header));
        if self.jobs.iter().any(|j| j.seen.contains(&key)) {
            return Err((
                RequestError::new(ErrorCode::Duplicate, "duplicate share"),
                stale,
            ));
        }
        let hash = pow_hash(job.algo, &header);
        let meets_block_target = job.block_target.meets(&hash);
        let meets_share_target = miner_coinbase.share_target.meets(&hash);
        if stale && !meets_block_target {
            return Err((
                RequestError::new(
                    ErrorCode::JobNotFound,
                    format!("job `{job_id}` is stale: a new block came since"),
                ),
                true,
            ));
        }
        if too_new_for_sharechain && !meets_block_target {
            // The miner must hear of it: the sharechain would drop the share as from the future.
            return Err(fail(RequestError::other(format!(
                "ntime {ntime:08x} is too far in the future for the sharechain: at most {share_max_ntime:08x}"
            ))));
        }
        // The cap bounds the memory of duplicate detection; a block is worth far more than
        // the few bytes it adds, so it is never refused for it.
        if sent.seen.len() >= self.config.max_shares_per_job && !meets_block_target {
            return Err((
                RequestError::other("too many shares on this job: wait for the next job"),
                stale,
            ));
        }
        if !(sent.target.meets(&hash) || meets_share_target || meets_block_target) {
            let got = Target::from_le_bytes(hash.0).to_stratum_difficulty(job.algo);
            return Err(fail(RequestError::new(
                ErrorCode::LowDifficulty,
                format!(
                    "low difficulty share: {got:.6} is below the job's {}",
                    sent.difficulty
                ),
            )));
        }
        let difficulty = sent.difficulty;
        self.jobs[index].seen.insert(key);
        let worker = &self.workers[worker];
        Ok(Box::new(Submission {
            job,
            miner_coinbase,
            worker: worker.user.clone(),
            payout: worker.payout.clone(),
            header,
            coinbase,
            pow_hash: hash,
            difficulty,
            meets_share_target,
            meets_block_target,
            stale,
            too_new_for_sharechain,
            received: now,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::parse_job_id;

    #[test]
    fn job_ids_carry_the_resend_number() {
        assert_eq!(parse_job_id("1f"), Some((0x1f, 0)));
        assert_eq!(parse_job_id("1f.3"), Some((0x1f, 3)));
        assert_eq!(parse_job_id("zz"), None);
        assert_eq!(parse_job_id("1.x"), None);
    }
}
