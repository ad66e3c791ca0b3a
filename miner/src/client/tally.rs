//! Share results over the miner's whole run (across reconnects): accepted, rejected by reason,
//! and shares dropped before sending because their job had been replaced.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The counts, shared between the connection and the periodic report.
#[derive(Debug, Default)]
pub struct ShareTally {
    inner: Mutex<Counts>,
}

/// A copy of the counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Shares the pool accepted.
    pub accepted: u64,
    /// Shares the pool rejected.
    pub rejected: u64,
    /// Rejections by reason (`23 low difficulty share`).
    pub reasons: BTreeMap<String, u64>,
    /// Shares not sent because a clean job (or a reconnect) had made them stale.
    pub stale_dropped: u64,
}

impl ShareTally {
    fn lock(&self) -> MutexGuard<'_, Counts> {
        // Plain counters: consistent even if a holder panicked.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts an accepted share and returns the new counts.
    pub fn accepted(&self) -> Counts {
        let mut c = self.lock();
        c.accepted += 1;
        c.clone()
    }

    /// Counts a rejected share under `reason` and returns the new counts.
    pub fn rejected(&self, reason: String) -> Counts {
        let mut c = self.lock();
        c.rejected += 1;
        *c.reasons.entry(reason).or_default() += 1;
        c.clone()
    }

    /// Counts a share dropped as stale.
    pub fn stale_dropped(&self) {
        self.lock().stale_dropped += 1;
    }

    /// The counts now.
    pub fn counts(&self) -> Counts {
        self.lock().clone()
    }
}

impl fmt::Display for Counts {
    /// `12 accepted, 2 rejected (21 job not found (stale): 1, 23 low difficulty share: 1)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} accepted, {} rejected", self.accepted, self.rejected)?;
        if !self.reasons.is_empty() {
            let reasons: Vec<String> = self
                .reasons
                .iter()
                .map(|(r, n)| format!("{r}: {n}"))
                .collect();
            write!(f, " ({})", reasons.join(", "))?;
        }
        if self.stale_dropped > 0 {
            write!(f, ", {} stale not sent", self.stale_dropped)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_reasons() {
        let t = ShareTally::default();
        t.accepted();
        t.rejected("23 low difficulty share".into());
        t.rejected("23 low difficulty share".into());
        let c = t.rejected("21 job not found (stale)".into());
        assert_eq!(
            c.to_string(),
            "1 accepted, 3 rejected (21 job not found (stale): 1, 23 low difficulty share: 2)"
        );
        t.stale_dropped();
        assert!(t.counts().to_string().ends_with(", 1 stale not sent"));
    }
}
