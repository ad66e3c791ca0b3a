//! Variable difficulty: keeps each connection near one share every few seconds.
//!
//! The rule: count the work of accepted shares (the sum of their difficulties) since the last
//! retarget; retarget when that work reaches a few shares at the current difficulty or when enough
//! time passed; aim at `work per second × target interval`, moving by at most `max_step` at once.
//! The caller clamps the result (pool minimum, the miner's suggestion, the job's cap) and sends
//! it with the next job. The clock is whatever `now` the caller passes.

use super::config::VardiffConfig;
use super::Timestamp;

/// Vardiff state of one connection.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Vardiff {
    window_start: Timestamp,
    window_work: f64,
}

impl Vardiff {
    /// A window starting at `now`.
    pub fn new(now: Timestamp) -> Self {
        Vardiff {
            window_start: now,
            window_work: 0.0,
        }
    }

    /// Starts a new window (after the difficulty changed for another reason).
    pub fn reset(&mut self, now: Timestamp) {
        *self = Vardiff::new(now);
    }

    /// Records an accepted share of `share_difficulty` while the connection is at `current`;
    /// returns a new difficulty when it is time to retarget and the change is worth making.
    pub fn on_share(
        &mut self,
        config: &VardiffConfig,
        share_difficulty: f64,
        current: f64,
        now: Timestamp,
    ) -> Option<f64> {
        self.window_work += share_difficulty;
        let elapsed = now.secs_since(self.window_start);
        if self.window_work / current >= config.retarget_shares || elapsed >= config.retarget_secs {
            self.retarget(config, current, now)
        } else {
            None
        }
    }

    /// Called when no share came but time passed (on each new job): lowers the difficulty of a
    /// connection whose shares are overdue.
    pub fn on_idle(&mut self, config: &VardiffConfig, current: f64, now: Timestamp) -> Option<f64> {
        if now.secs_since(self.window_start) >= config.retarget_secs {
            self.retarget(config, current, now)
        } else {
            None
        }
    }

    fn retarget(&mut self, config: &VardiffConfig, current: f64, now: Timestamp) -> Option<f64> {
        let elapsed = now.secs_since(self.window_start).max(0.001);
        // With no share at all, the rate is below one share per window: aim as if one came.
        let work = if self.window_work > 0.0 {
            self.window_work
        } else {
            current
        };
        let ideal = work / elapsed * config.target_share_secs;
        let proposed = ideal.clamp(current / config.max_step, current * config.max_step);
        self.reset(now);
        ((proposed / current - 1.0).abs() >= config.min_change).then_some(proposed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: f64) -> Timestamp {
        Timestamp((secs * 1000.0) as u64)
    }

    #[test]
    fn a_fast_miner_goes_up_by_bounded_steps() {
        let config = VardiffConfig::default();
        let mut v = Vardiff::new(at(0.0));
        // Twelve shares in one second at difficulty 1: sixty times too fast, so ×4 at most.
        let mut change = None;
        for i in 1..=12 {
            change = v.on_share(&config, 1.0, 1.0, at(i as f64 / 12.0));
            if i < 12 {
                assert_eq!(change, None);
            }
        }
        assert_eq!(change, Some(4.0));
    }

    #[test]
    fn a_miner_on_target_stays_and_a_slow_one_goes_down() {
        let config = VardiffConfig::default();
        let mut v = Vardiff::new(at(0.0));
        let mut changes = Vec::new();
        for i in 1..=24 {
            changes.extend(v.on_share(&config, 8.0, 8.0, at(5.0 * i as f64)));
        }
        assert!(changes.is_empty(), "{changes:?}");
        // One share in 60 s at a 5 s target: twelve times too slow, so ÷4 at most.
        let mut v = Vardiff::new(at(0.0));
        assert_eq!(v.on_share(&config, 8.0, 8.0, at(61.0)), Some(2.0));
        // No share at all: the next job after the window lowers it.
        let mut v = Vardiff::new(at(0.0));
        assert_eq!(v.on_idle(&config, 8.0, at(30.0)), None);
        assert_eq!(v.on_idle(&config, 8.0, at(90.0)), Some(2.0));
    }

    #[test]
    fn shares_at_an_older_difficulty_count_by_their_work() {
        let config = VardiffConfig::default();
        let mut v = Vardiff::new(at(0.0));
        // 24 shares of difficulty 1 are 3 shares at difficulty 8: not yet a retarget.
        for i in 1..=24 {
            assert_eq!(v.on_share(&config, 1.0, 8.0, at(i as f64 * 0.1)), None);
        }
    }
}
