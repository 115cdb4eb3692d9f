//! What a run measures: submissions and their fate, commits, forks, messages.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use blockchat_core::{Address, Block, BlockHash, PeerMessage, Time, TxId};
use blockchat_host::{ClientStatus, Notice};
use rustc_hash::{FxHashMap, FxHashSet};

/// Names of message kinds, in the order of [`Collector::messages`].
pub const MESSAGE_KINDS: [&str; 5] = ["transaction", "transactions", "block", "blocks", "get_blocks"];

/// Tallies gathered while the simulation runs.
#[derive(Debug, Default)]
pub struct Collector {
    /// First line accepted (when throughput is measured from).
    pub first_submission: Option<Time>,
    /// Lines that had to wait for funds or room, by reason (each time they were refused).
    pub waited: BTreeMap<&'static str, u64>,
    /// Lines given up, by reason.
    pub rejected: BTreeMap<&'static str, u64>,
    /// Rejections of transactions received from peers, by reason.
    pub peer_rejected: BTreeMap<&'static str, u64>,
    /// Rejected blocks, by reason.
    pub blocks_rejected: BTreeMap<&'static str, u64>,
    /// Messages sent and their bytes, by kind (indexed like [`MESSAGE_KINDS`]).
    pub messages: [(u64, u64); 5],
    /// Messages lost (partition, loss, down receiver).
    pub messages_lost: u64,
    /// Copies of pending transactions received (skipped at the cost of reading them).
    pub duplicates: u64,
    /// CPU time charged to the nodes, all of them together (what a real cluster's processes
    /// would use, the operating system's own share excepted).
    pub cpu_charged: std::time::Duration,
    /// Reorganisations at honest nodes.
    pub reorgs: u64,
    /// Blocks reverted by them.
    pub reverted_blocks: u64,
    // Lookup only; iteration order never reaches a result.
    submitted_at: FxHashMap<TxId, Time>,
    committed_at: FxHashMap<TxId, Time>,
    // The (sender, nonce) slot of every line's transaction, and the lines accepted and then
    // given up: a twin on the same nonce may have committed instead (a double spender's).
    slots: FxHashMap<TxId, (Address, u64)>,
    dropped: Vec<TxId>,
    // Every block some honest node committed.
    seen_blocks: FxHashSet<BlockHash>,
}

impl Collector {
    /// A host's notice, at `now`.
    pub fn notice(&mut self, notice: &Notice, now: Time) {
        match notice {
            Notice::LineSubmitted { tx, .. } => {
                self.first_submission.get_or_insert(now);
                self.submitted_at.entry(tx.id()).or_insert(now);
                self.slots.insert(tx.id(), (tx.sender(), tx.nonce()));
            }
            Notice::LineWaiting { error, .. } => *self.waited.entry(error.name()).or_default() += 1,
            Notice::LineCommitted { id, .. } => {
                self.committed_at.entry(*id).or_insert(now);
            }
            Notice::LineFailed { id, error, .. } => {
                *self.rejected.entry(error.name()).or_default() += 1;
                if let Some(id) = id {
                    self.dropped.push(*id);
                }
            }
            Notice::LineLost { .. } => {}
            Notice::PeerTxRejected { error, .. } => *self.peer_rejected.entry(error.name()).or_default() += 1,
            Notice::BlockRejected { error, .. } => *self.blocks_rejected.entry(error.name()).or_default() += 1,
            Notice::Committed(_) | Notice::Reverted(_) | Notice::Ready | Notice::OwnTxDropped { .. } => {}
        }
    }

    /// An honest node committed `block`.
    pub fn committed_block(&mut self, block: &Arc<Block>) {
        self.seen_blocks.insert(block.hash());
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

    /// Summarises the run against the reference node's final chain and every client's status
    /// (`clients`: lines planned, accepted, pending, not yet sent).
    pub fn summarise(&self, chain: &[Arc<Block>], clients: &[ClientStatus], end: Time) -> Summary {
        let mut latencies: Vec<Duration> = Vec::new();
        let mut committed = 0u64;
        let mut filled: FxHashSet<(Address, u64)> = FxHashSet::default();
        for b in chain.iter().skip(1) {
            for tx in b.transactions() {
                committed += 1;
                filled.insert((tx.sender(), tx.nonce()));
                if let (Some(&at), Some(&done)) = (self.submitted_at.get(&tx.id()), self.committed_at.get(&tx.id())) {
                    latencies.push(done.since(at));
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
        // A line dropped because another transaction took its nonce on the chain is committed
        // in effect (the chain counts the twin), not rejected.
        let replaced = self.dropped.iter().filter(|id| self.slots.get(id).is_some_and(|s| filled.contains(s))).count();
        let failed: u64 = clients.iter().map(|c| c.failed as u64).sum::<u64>() - replaced as u64;
        let sum = |f: fn(&ClientStatus) -> usize| clients.iter().map(|c| f(c) as u64).sum::<u64>();
        Summary {
            planned: sum(|c| c.total),
            submitted: sum(|c| c.submitted),
            committed,
            rejected: failed,
            pending: sum(|c| c.pending),
            unsent: sum(|c| c.unsent),
            lost_to_crash: sum(|c| c.lost),
            throughput: if span.is_zero() { 0.0 } else { committed as f64 / span.as_secs_f64() },
            block_time_mean: mean(&intervals),
            block_time_p50: percentile(&intervals, 50),
            block_time_p99: percentile(&intervals, 99),
            block_time_max: intervals.iter().max().copied().unwrap_or_default(),
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
    /// Lines the clients planned to send.
    pub planned: u64,
    /// Lines accepted into their node's mempool at least once.
    pub submitted: u64,
    /// Transactions on the final chain (every one is some client's line, or a Byzantine
    /// node's twin of one).
    pub committed: u64,
    /// Lines given up (refused for a reason waiting cannot cure).
    pub rejected: u64,
    /// Lines still in a mempool at the end.
    pub pending: u64,
    /// Lines never sent: their sender could never afford them (or the run stopped first).
    pub unsent: u64,
    /// Lines lost with a crashed node's mempool.
    pub lost_to_crash: u64,
    /// Committed transactions per virtual second, first submission to last block.
    pub throughput: f64,
    /// Mean interval between consecutive blocks.
    pub block_time_mean: Duration,
    /// Median interval.
    pub block_time_p50: Duration,
    /// 99th-percentile interval.
    pub block_time_p99: Duration,
    /// Longest interval.
    pub block_time_max: Duration,
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
