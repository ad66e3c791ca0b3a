//! `GET /metrics`: the node's figures in Prometheus's text exposition format, version 0.0.4.
//!
//! Every series is named `otedama_…` and carries the labels `coin` and `network`, so that one
//! Prometheus can scrape several nodes; per-worker series add `worker` (the Stratum user, which
//! a stranger chooses: label values are escaped as the format requires, and only the busiest
//! workers are written, so that random names cannot make a scrape or Prometheus grow unbounded).

use super::{PeersView, StatusView};
use crate::stratum::WorkerSnapshot;
use std::fmt::Write;

/// The `Content-Type` of the exposition format.
pub(super) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The exposition of `status`, `peers` and `workers`.
pub(super) fn render(status: &StatusView, peers: &PeersView, workers: &[WorkerSnapshot]) -> String {
    let mut m = Exposition::new(&status.coin, &status.network);
    m.family(
        "otedama_info",
        "gauge",
        "Always 1; the labels say which node this is.",
    );
    m.sample(
        "otedama_info",
        &[
            ("version", env!("CARGO_PKG_VERSION")),
            ("peer_id", status.peer_id.as_deref().unwrap_or("")),
        ],
        1.0,
    );
    m.gauge(
        "otedama_coin_height",
        "Height of the block the node's current template builds (the coin's tip + 1); 0 before the first template.",
        status.height,
    );
    m.gauge(
        "otedama_daemon_healthy",
        "1 while the coin daemon answers, else 0.",
        status.daemon.healthy,
    );
    m.gauge(
        "otedama_synced",
        "1 while the node has a template and the network's best sharechain (it hands out work), else 0.",
        status.synced,
    );
    if let Some(height) = status.sharechain_height {
        m.gauge(
            "otedama_sharechain_height",
            "Height of the sharechain tip.",
            height,
        );
    }
    m.gauge(
        "otedama_sharechain_window_shares",
        "Shares in the PPLNS window at the tip.",
        status.shares,
    );
    m.gauge(
        "otedama_sharechain_window_limit",
        "The PPLNS window's length in shares.",
        status.window_limit,
    );
    if let Some(rate) = status.pool_hashrate {
        m.gauge(
            "otedama_pool_hashrate",
            "The pool's hash rate in hashes per second, from the work and time span of the PPLNS window.",
            rate,
        );
    }
    m.gauge(
        "otedama_local_hashrate",
        "This node's Stratum workers' hash rate in hashes per second (last ten minutes).",
        status.local_hashrate,
    );
    m.gauge(
        "otedama_stratum_clients",
        "Connected Stratum clients.",
        status.stratum_clients,
    );
    m.counter(
        "otedama_shares_found_total",
        "Shares this node's miners found that the sharechain accepted.",
        status.shares_found,
    );
    m.counter(
        "otedama_blocks_found_total",
        "Blocks found by this node and accepted by the daemon.",
        status.blocks_found,
    );
    m.counter(
        "otedama_blocks_rejected_total",
        "Blocks found by this node that the daemon refused.",
        status.blocks_rejected,
    );
    m.counter(
        "otedama_blocks_stale_total",
        "Valid blocks found by this node that lost the race to another block at their height.",
        status.blocks_stale,
    );
    m.gauge("otedama_peers", "Connected peers.", peers.peers.len());
    m.gauge(
        "otedama_banned_peers",
        "Peers banned now.",
        peers.banned.len(),
    );
    m.counter(
        "otedama_gossip_accepted_total",
        "Shares received by gossip and accepted.",
        peers.gossip_accepted,
    );
    m.counter(
        "otedama_gossip_invalid_total",
        "Shares received by gossip and rejected as invalid.",
        peers.gossip_invalid,
    );
    if let Some(sync) = &status.sync {
        m.gauge(
            "otedama_sync_queued_shares",
            "Shares known to be missing and not yet fetched.",
            sync.queued,
        );
        if let Some(best) = sync.best_peer_height {
            m.gauge(
                "otedama_sync_best_peer_height",
                "The best sharechain height a peer announced.",
                best,
            );
        }
    }
    workers_series(&mut m, workers);
    m.out
}

/// The most workers written per family: worker names are free text, and each one is a series
/// Prometheus keeps. The busiest are written; the API lists every worker.
const MAX_WORKER_SERIES: usize = 500;

/// The per-worker families (written only when there are workers), for the
/// [`MAX_WORKER_SERIES`] workers with the highest hash rate (ties by name), and how many were
/// left out.
fn workers_series(m: &mut Exposition, workers: &[WorkerSnapshot]) {
    if workers.is_empty() {
        return;
    }
    let mut busiest: Vec<&WorkerSnapshot> = workers.iter().collect();
    if busiest.len() > MAX_WORKER_SERIES {
        busiest.sort_by(|a, b| {
            b.hashrate
                .total_cmp(&a.hashrate)
                .then_with(|| a.name.cmp(&b.name))
        });
        busiest.truncate(MAX_WORKER_SERIES);
        busiest.sort_by(|a, b| a.name.cmp(&b.name));
    }
    m.gauge(
        "otedama_workers_not_exported",
        "Stratum workers known but left out of the per-worker series (only the busiest are written).",
        workers.len() - busiest.len(),
    );
    let workers = busiest;
    let name = "otedama_worker_shares_total";
    m.family(
        name,
        "counter",
        "Shares of each Stratum worker by result: accepted, rejected or stale (stale ones are also counted as rejected).",
    );
    for w in &workers {
        for (result, count) in [
            ("accepted", w.accepted),
            ("rejected", w.rejected),
            ("stale", w.stale),
        ] {
            m.sample(name, &[("worker", &w.name), ("result", result)], count);
        }
    }
    let name = "otedama_worker_blocks_total";
    m.family(name, "counter", "Blocks found by each Stratum worker.");
    for w in &workers {
        m.sample(name, &[("worker", &w.name)], w.blocks);
    }
    let name = "otedama_worker_hashrate";
    m.family(
        name,
        "gauge",
        "Each Stratum worker's hash rate in hashes per second (last ten minutes).",
    );
    for w in &workers {
        m.sample(name, &[("worker", &w.name)], w.hashrate);
    }
}

/// A sample's value, written as the format wants it.
#[derive(Clone, Copy, Debug)]
struct Value(f64);

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value(v)
    }
}

impl From<u64> for Value {
    fn from(v: u64) -> Self {
        // Exact below 2^53, far beyond any count here.
        Value(v as f64)
    }
}

impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value(f64::from(v))
    }
}

impl From<usize> for Value {
    fn from(v: usize) -> Self {
        Value(v as f64)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value(if v { 1.0 } else { 0.0 })
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            v if v.is_nan() => f.write_str("NaN"),
            v if v == f64::INFINITY => f.write_str("+Inf"),
            v if v == f64::NEG_INFINITY => f.write_str("-Inf"),
            // Rust writes finite floats in plain decimal, which the format accepts.
            v => write!(f, "{v}"),
        }
    }
}

/// The text being written, with the labels every series carries.
struct Exposition {
    out: String,
    /// `coin="…",network="…"`, escaped.
    common: String,
}

impl Exposition {
    fn new(coin: &str, network: &str) -> Exposition {
        let mut common = String::new();
        push_label(&mut common, "coin", coin);
        common.push(',');
        push_label(&mut common, "network", network);
        Exposition {
            out: String::with_capacity(4096),
            common,
        }
    }

    /// `# HELP` and `# TYPE` of family `name`; `help` is a constant without `\` or newlines.
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    /// One sample of `name` with the common labels and `labels`.
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Into<Value>) {
        self.out.push_str(name);
        self.out.push('{');
        self.out.push_str(&self.common);
        for (label, value) in labels {
            self.out.push(',');
            push_label(&mut self.out, label, value);
        }
        let _ = writeln!(self.out, "}} {}", value.into());
    }

    /// A gauge family with one sample.
    fn gauge(&mut self, name: &str, help: &str, value: impl Into<Value>) {
        self.family(name, "gauge", help);
        self.sample(name, &[], value);
    }

    /// A counter family with one sample.
    fn counter(&mut self, name: &str, help: &str, value: impl Into<Value>) {
        self.family(name, "counter", help);
        self.sample(name, &[], value);
    }
}

/// Writes `label="value"`, escaping `\`, `"` and newlines in the value.
fn push_label(out: &mut String, label: &str, value: &str) {
    out.push_str(label);
    out.push_str("=\"");
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        let mut out = String::new();
        push_label(&mut out, "worker", "a\\b\"c\nd");
        assert_eq!(out, r#"worker="a\\b\"c\nd""#);
    }

    #[test]
    fn values_are_written_as_the_format_wants() {
        assert_eq!(Value::from(7u64).to_string(), "7");
        assert_eq!(Value::from(true).to_string(), "1");
        assert_eq!(Value::from(1.5).to_string(), "1.5");
        assert_eq!(Value::from(1e21).to_string(), "1000000000000000000000");
        assert_eq!(Value::from(f64::NAN).to_string(), "NaN");
        assert_eq!(Value::from(f64::INFINITY).to_string(), "+Inf");
        assert_eq!(Value::from(f64::NEG_INFINITY).to_string(), "-Inf");
    }

    #[test]
    fn per_worker_series_are_capped_busiest_first() {
        let workers: Vec<WorkerSnapshot> = (0..2000u32)
            .map(|i| WorkerSnapshot {
                name: format!("addr.{i:04}"),
                accepted: 1,
                rejected: 0,
                stale: 0,
                blocks: 0,
                hashrate: f64::from(i),
                last_share_ms: Some(1),
            })
            .collect();
        let mut m = Exposition::new("bitcoin", "regtest");
        workers_series(&mut m, &workers);
        let rates: Vec<&str> = m
            .out
            .lines()
            .filter(|l| l.starts_with("otedama_worker_hashrate{"))
            .collect();
        assert_eq!(rates.len(), 500, "one series per worker, capped");
        assert!(
            m.out.contains(r#"worker="addr.1999""#),
            "the busiest is kept"
        );
        assert!(
            !m.out.contains(r#"worker="addr.0000""#),
            "the idlest is left out"
        );
        assert!(
            m.out.contains(
                "otedama_workers_not_exported{coin=\"bitcoin\",network=\"regtest\"} 1500"
            ),
            "the left-out count is said"
        );
    }
}
