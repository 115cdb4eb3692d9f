//! What a run measures: submissions and their fate, commits, forks, messages.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use blockchat_core::error::{BlockError, TxError};
use blockchat_core::{Block, BlockHash, PeerMessage, Time, TxId};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::network::NodeId;

/// Names of message kinds, in the order of [`Collector::messages`].
pub const MESSAGE_KINDS: [&str; 5] = ["transaction", "transactions", "block", "blocks", "get_blocks"];

/// Tallies gathered while the simulation runs.
#[derive(Debug, Default)]
pub struct Collector {
    /// First submission (accepted or not).
    pub first_submission: Option<Time>,
    /// Submissions accepted into the submitter's mempool.
    pub accepted: u64,
    /// Submissions refused at once.
    pub refused: u64,
    /// Submissions resolved: committed at the submitter, refused, or dropped later.
    pub resolved: u64,
    /// Submissions skipped because their node was down.
    pub lost_to_crash: u64,
    /// Local rejections (at submission or dropped later), by reason.
    pub rejected: BTreeMap<&'static str, u64>,
    /// Rejections of transactions received from peers, by reason.
    pub peer_rejected: BTreeMap<&'static str, u64>,
    /// Rejected blocks, by reason.
    pub blocks_rejected: BTreeMap<&'static str, u64>,
    /// Messages sent and their bytes, by kind (indexed like [`MESSAGE_KINDS`]).
    pub messages: [(u64, u64); 5],
    /// Messages lost (partition, loss, down receiver).
    pub messages_lost: u64,
    /// Reorganisations at honest nodes.
    pub reorgs: u64,
    /// Blocks reverted by them.
    pub reverted_blocks: u64,
    // Lookup only; iteration order never reaches a result.
    pending: FxHashMap<TxId, NodeId>,
    submitted_at: FxHashMap<TxId, Time>,
    committed_at: FxHashMap<TxId, Time>,
    // Every block some honest node committed.
    seen_blocks: FxHashSet<BlockHash>,
}

impl Collector {
    /// A local submission reached the mempool at `now`.
    pub fn accepted(&mut self, node: NodeId, id: TxId, now: Time) {
        self.first_submission.get_or_insert(now);
        self.accepted += 1;
        self.pending.insert(id, node);
        self.submitted_at.insert(id, now);
    }

    /// A local transaction was refused or dropped.
    pub fn rejected(&mut self, id: TxId, error: &TxError, now: Time) {
        if self.committed_at.contains_key(&id) && !self.pending.contains_key(&id) {
            return;
        }
        if self.pending.remove(&id).is_none() {
            self.first_submission.get_or_insert(now);
            self.refused += 1;
        }
        self.resolved += 1;
        *self.rejected.entry(error.name()).or_default() += 1;
    }

    /// A transaction received from a peer was refused.
    pub fn peer_rejected(&mut self, error: &TxError) {
        *self.peer_rejected.entry(error.name()).or_default() += 1;
    }

    /// A block was refused.
    pub fn block_rejected(&mut self, error: &BlockError) {
        *self.blocks_rejected.entry(error.name()).or_default() += 1;
    }

    /// Node `node` committed `block` at `now`; `own` tells which transactions it sent. Only
    /// honest nodes' blocks count towards forks.
    pub fn committed(
        &mut self,
        node: NodeId,
        block: &Arc<Block>,
        now: Time,
        honest: bool,
        own: impl Fn(&blockchat_core::Transaction) -> bool,
    ) {
        if honest {
            self.seen_blocks.insert(block.hash());
        }
        for tx in block.transactions() {
            if own(tx) && self.pending.get(&tx.id()) == Some(&node) {
                self.pending.remove(&tx.id());
                self.committed_at.insert(tx.id(), now);
                self.resolved += 1;
            }
        }
    }

    /// Node `node` crashed: its pending submissions are lost with its mempool. Returns how many.
    pub fn lose_pending(&mut self, node: NodeId) -> u64 {
        let before = self.pending.len();
        self.pending.retain(|_, n| *n != node);
        let lost = (before - self.pending.len()) as u64;
        self.lost_to_crash += lost;
        self.resolved += lost;
        lost
    }

    /// A message of `bytes` was sent.
    pub fn sent(&mut self, message: &PeerMessage, bytes: usize) {
        let i = match message {
            PeerMessage::Transaction(_) => 0,
            PeerMessage::Transactions(_) => 1,
            PeerMessage::Block(_) => 2,
            PeerMessage::Blocks(_) => 3,
            PeerMessage::GetBlocks { .. } => 4,
        };
        self.messages[i].0 += 1;
        self.messages[i].1 += bytes as u64;
    }

    /// Messages and bytes by kind name, for reports.
    pub fn messages_by_kind(&self) -> BTreeMap<&'static str, (u64, u64)> {
        MESSAGE_KINDS.iter().zip(self.messages).filter(|(_, m)| m.0 > 0).map(|(k, m)| (*k, m)).collect()
    }

    /// Submissions made (accepted or refused at once).
    pub fn submitted(&self) -> u64 {
        self.accepted + self.refused
    }

    /// Summarises the run against the reference node's final chain.
    pub fn summarise(&self, chain: &[Arc<Block>], end: Time) -> Summary {
        let mut latencies: Vec<Duration> = Vec::new();
        let mut committed = 0u64;
        for b in chain.iter().skip(1) {
            for tx in b.transactions() {
                if let Some(&at) = self.submitted_at.get(&tx.id()) {
                    committed += 1;
                    if let Some(&done) = self.committed_at.get(&tx.id()) {
                        latencies.push(done.since(at));
                    }
                }
            }
        }
        let intervals: Vec<Duration> =
            chain.windows(2).skip(1).map(|w| w[1].timestamp().since(w[0].timestamp())).collect();
        let start = self.first_submission.unwrap_or(Time::ZERO);
        let last = chain.last().map_or(start, |b| b.timestamp());
        let span = last.since(start);
        let final_hashes: FxHashSet<BlockHash> = chain.iter().map(|b| b.hash()).collect();
        let forks = self.seen_blocks.iter().filter(|h| !final_hashes.contains(h)).count() as u64;
        Summary {
            submitted: self.submitted(),
            committed,
            rejected: self.rejected.values().sum(),
            pending: self.pending.len() as u64,
            lost_to_crash: self.lost_to_crash,
            throughput: if span.is_zero() { 0.0 } else { committed as f64 / span.as_secs_f64() },
            block_time_mean: mean(&intervals),
            block_time_p50: percentile(&intervals, 50),
            block_time_p99: percentile(&intervals, 99),
            latency_p50: percentile(&latencies, 50),
            latency_p99: percentile(&latencies, 99),
            blocks: chain.len() as u64 - 1,
            forks,
            reorgs: self.reorgs,
            messages: self.messages.iter().map(|m| m.0).sum(),
            bytes: self.messages.iter().map(|m| m.1).sum(),
            messages_lost: self.messages_lost,
            virtual_time: Duration::from_nanos(end.as_nanos()),
        }
    }
}

/// The headline numbers of one run. Every field is a pure function of the seed and scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Submissions made.
    pub submitted: u64,
    /// Submissions on the final chain.
    pub committed: u64,
    /// Submissions refused or dropped.
    pub rejected: u64,
    /// Submissions still pending at the end.
    pub pending: u64,
    /// Submissions skipped while their node was down.
    pub lost_to_crash: u64,
    /// Committed transactions per virtual second, first submission to last block.
    pub throughput: f64,
    /// Mean interval between consecutive blocks.
    pub block_time_mean: Duration,
    /// Median interval.
    pub block_time_p50: Duration,
    /// 99th-percentile interval.
    pub block_time_p99: Duration,
    /// Median submission-to-commit latency at the submitter.
    pub latency_p50: Duration,
    /// 99th-percentile latency.
    pub latency_p99: Duration,
    /// Blocks after genesis on the final chain.
    pub blocks: u64,
    /// Blocks some honest node committed that are not on the final chain.
    pub forks: u64,
    /// Reorganisations at honest nodes.
    pub reorgs: u64,
    /// Messages sent.
    pub messages: u64,
    /// Bytes sent.
    pub bytes: u64,
    /// Messages lost.
    pub messages_lost: u64,
    /// Virtual time at the end.
    pub virtual_time: Duration,
}

fn mean(v: &[Duration]) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    Duration::from_nanos((v.iter().map(|d| d.as_nanos()).sum::<u128>() / v.len() as u128) as u64)
}

/// The p-th percentile by the nearest-rank method.
pub fn percentile(v: &[Duration], p: usize) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    let mut s = v.to_vec();
    s.sort_unstable();
    let rank = (p * s.len()).div_ceil(100).max(1);
    s[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 50), Duration::from_millis(50));
        assert_eq!(percentile(&v, 99), Duration::from_millis(99));
        assert_eq!(percentile(&v[..1], 99), Duration::from_millis(1));
        assert_eq!(mean(&v), Duration::from_micros(50_500));
    }
}
