//! The node's counters and their Prometheus text form (`GET /metrics`).

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};

/// Upper bounds of the block-interval histogram's buckets, seconds.
pub const INTERVAL_BUCKETS: [f64; 10] = [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0];

/// Time between consecutive committed blocks (by their timestamps), as a Prometheus histogram.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// Observations at or below each of [`INTERVAL_BUCKETS`] (not cumulative).
    pub buckets: [u64; 10],
    /// Observations above the last bucket.
    pub over: u64,
    /// Sum of the observations, nanoseconds.
    pub sum_ns: u64,
}

impl Histogram {
    /// Counts one interval.
    pub fn observe(&mut self, ns: u64) {
        let seconds = ns as f64 / 1e9;
        match INTERVAL_BUCKETS.iter().position(|b| seconds <= *b) {
            Some(i) => self.buckets[i] += 1,
            None => self.over += 1,
        }
        self.sum_ns = self.sum_ns.saturating_add(ns);
    }

    /// Observations in all.
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum::<u64>() + self.over
    }
}

/// What `/metrics` reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Best-chain height.
    pub height: u64,
    /// Peers connected now.
    pub peers_connected: usize,
    /// Peers in all.
    pub peers: usize,
    /// Pending transactions.
    pub mempool: usize,
    /// Transactions taken into the mempool.
    pub txs_accepted: u64,
    /// Transactions refused (at submission, from peers, or dropped later), by the core's reason.
    pub txs_refused: BTreeMap<String, u64>,
    /// Blocks committed (again after a reorganisation, if they return).
    pub blocks_committed: u64,
    /// Blocks from peers refused.
    pub blocks_rejected: u64,
    /// Blocks reverted by reorganisations.
    pub blocks_reverted: u64,
    /// Time between committed blocks.
    pub block_interval: Histogram,
    /// Peer-protocol bytes received.
    pub bytes_in: u64,
    /// Peer-protocol bytes sent.
    pub bytes_out: u64,
    /// Connections closed for malformed frames or failed handshakes.
    pub bad_connections: u64,
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP blockchat_{name} {help}\n# TYPE blockchat_{name} {kind}");
}

fn one(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    family(out, name, kind, help);
    let _ = writeln!(out, "blockchat_{name} {value}");
}

impl Metrics {
    /// The Prometheus text exposition format (version 0.0.4).
    pub fn to_prometheus(&self) -> String {
        let mut out = String::new();
        one(&mut out, "height", "gauge", "Height of the best chain.", self.height);
        one(&mut out, "peers_connected", "gauge", "Peers connected now.", self.peers_connected);
        one(&mut out, "peers", "gauge", "Peers in the network.", self.peers);
        one(&mut out, "mempool_transactions", "gauge", "Transactions pending in the mempool.", self.mempool);
        one(
            &mut out,
            "transactions_accepted_total",
            "counter",
            "Transactions taken into the mempool.",
            self.txs_accepted,
        );
        family(&mut out, "transactions_refused_total", "counter", "Transactions refused, by reason.");
        for (reason, n) in &self.txs_refused {
            // Reasons are the core's variant names: letters only, nothing to escape.
            let _ = writeln!(out, "blockchat_transactions_refused_total{{reason=\"{reason}\"}} {n}");
        }
        one(&mut out, "blocks_committed_total", "counter", "Blocks committed.", self.blocks_committed);
        one(&mut out, "blocks_rejected_total", "counter", "Blocks from peers refused.", self.blocks_rejected);
        one(&mut out, "blocks_reverted_total", "counter", "Blocks reverted by reorganisations.", self.blocks_reverted);
        family(&mut out, "block_interval_seconds", "histogram", "Time between consecutive committed blocks.");
        let h = &self.block_interval;
        let mut cumulative = 0;
        for (bound, n) in INTERVAL_BUCKETS.iter().zip(h.buckets) {
            cumulative += n;
            let _ = writeln!(out, "blockchat_block_interval_seconds_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let _ = writeln!(out, "blockchat_block_interval_seconds_bucket{{le=\"+Inf\"}} {}", h.count());
        let _ = writeln!(out, "blockchat_block_interval_seconds_sum {}", h.sum_ns as f64 / 1e9);
        let _ = writeln!(out, "blockchat_block_interval_seconds_count {}", h.count());
        one(&mut out, "received_bytes_total", "counter", "Peer-protocol bytes received.", self.bytes_in);
        one(&mut out, "sent_bytes_total", "counter", "Peer-protocol bytes sent.", self.bytes_out);
        one(&mut out, "bad_connections_total", "counter", "Connections closed for bad frames.", self.bad_connections);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_in_the_text() {
        let mut m = Metrics::default();
        for ms in [3, 40, 40, 700, 20_000] {
            m.block_interval.observe(ms * 1_000_000);
        }
        m.txs_refused.insert("InsufficientBalance".into(), 4);
        let text = m.to_prometheus();
        for line in [
            "blockchat_block_interval_seconds_bucket{le=\"0.005\"} 1",
            "blockchat_block_interval_seconds_bucket{le=\"0.05\"} 3",
            "blockchat_block_interval_seconds_bucket{le=\"1\"} 4",
            "blockchat_block_interval_seconds_bucket{le=\"10\"} 4",
            "blockchat_block_interval_seconds_bucket{le=\"+Inf\"} 5",
            "blockchat_block_interval_seconds_count 5",
            "blockchat_transactions_refused_total{reason=\"InsufficientBalance\"} 4",
            "# TYPE blockchat_height gauge",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
    }
}
