//! Hash rates from the threads' counters: per thread and in total, over an interval, and how
//! they are written for people.

use std::time::{Duration, Instant};

use super::HashCounters;

/// Writes hashes per second with a unit: `34.12 MH/s`, `25.9 kH/s`.
pub fn format_hashrate(per_second: f64) -> String {
    const UNITS: [&str; 5] = ["H/s", "kH/s", "MH/s", "GH/s", "TH/s"];
    let mut value = per_second;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    let decimals = if value >= 100.0 { 1 } else { 2 };
    format!("{value:.decimals$} {}", UNITS[unit])
}

/// Rates over the interval between two readings of the counters.
#[derive(Debug)]
pub struct RateMeter {
    last: Vec<u64>,
    at: Instant,
}

/// The rates of one interval.
#[derive(Clone, Debug, PartialEq)]
pub struct Rates {
    /// Hashes per second of each thread.
    pub per_thread: Vec<f64>,
    /// Their sum.
    pub total: f64,
    /// Hashes done in the interval, all threads.
    pub hashes: u64,
    /// The interval.
    pub elapsed: Duration,
}

impl RateMeter {
    /// Starts measuring from the counters' present values.
    pub fn start(counters: &HashCounters) -> Self {
        Self {
            last: counters.snapshot(),
            at: Instant::now(),
        }
    }

    /// The rates since the last reading (or the start), and starts a new interval.
    pub fn read(&mut self, counters: &HashCounters) -> Rates {
        let now = counters.snapshot();
        let at = Instant::now();
        let elapsed = at.duration_since(self.at);
        let secs = elapsed.as_secs_f64().max(1e-9);
        let deltas: Vec<u64> = now
            .iter()
            .zip(&self.last)
            .map(|(n, l)| n.saturating_sub(*l))
            .collect();
        self.last = now;
        self.at = at;
        Rates {
            per_thread: deltas.iter().map(|&d| d as f64 / secs).collect(),
            total: deltas.iter().sum::<u64>() as f64 / secs,
            hashes: deltas.iter().sum(),
            elapsed,
        }
    }
}

impl Rates {
    /// `34.12 MH/s [17.05 MH/s, 17.07 MH/s]`.
    pub fn describe(&self) -> String {
        let threads: Vec<String> = self
            .per_thread
            .iter()
            .map(|&r| format_hashrate(r))
            .collect();
        format!("{} [{}]", format_hashrate(self.total), threads.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_like_miners_print_them() {
        assert_eq!(format_hashrate(0.0), "0.00 H/s");
        assert_eq!(format_hashrate(25_912.0), "25.91 kH/s");
        assert_eq!(format_hashrate(34_120_000.0), "34.12 MH/s");
        assert_eq!(format_hashrate(123_400_000.0), "123.4 MH/s");
        let counters = HashCounters::new(2);
        let mut meter = RateMeter::start(&counters);
        counters.add(0, 1000);
        counters.add(1, 3000);
        let rates = meter.read(&counters);
        assert_eq!(rates.hashes, 4000);
        assert!(rates.per_thread[1] > rates.per_thread[0]);
        assert_eq!(meter.read(&counters).hashes, 0);
    }
}
