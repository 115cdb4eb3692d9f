//! What a cluster run measured, from the committed chain, and its CSV row.

use std::io::Write;
use std::path::Path;

use blockchat_core::format_bcc;

use crate::control::{AccountView, BlockSummary, WorkloadStatus};

/// The CSV header; one row per run (documented in the crate README).
pub const CSV_HEADER: &str = "nodes,capacity,stake_profile,workload,transactions,accepted,rejected_at_submit,committed,blocks,throughput_tx_per_s,mean_block_time_s,wall_s,cpu_s,other_cpu_s,late_round_blocks,blocks_by_node,balances_bcc";

/// One run's results.
#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    /// Nodes.
    pub nodes: usize,
    /// Block capacity.
    pub capacity: usize,
    /// `uniform-10` or `fairness-100/10`.
    pub stake_profile: String,
    /// `course-files`, `generated`, `synthetic`.
    pub workload: String,
    /// Transactions in the workload.
    pub transactions: usize,
    /// Accepted at submission.
    pub accepted: usize,
    /// Refused at submission (insufficient balance, mostly).
    pub rejected: usize,
    /// Wall time of the whole run, start-up included.
    pub wall_seconds: f64,
    /// CPU time (user + system) all node processes used.
    pub cpu_seconds: f64,
    /// CPU time other processes on the machine used meanwhile (a shared machine's noise).
    pub other_cpu_seconds: f64,
    /// What the chain says.
    pub chain: ChainStats,
}

/// What the committed chain says about a run.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainStats {
    /// Transactions in blocks after genesis.
    pub committed: u64,
    /// Blocks after genesis.
    pub blocks: u64,
    /// Committed transactions per second, from the first submission to the last block.
    pub throughput: f64,
    /// Mean time per block over the same span, in seconds.
    pub mean_block_time: f64,
    /// Blocks minted in a round above 0.
    pub late_round_blocks: u64,
    /// Blocks validated by each node.
    pub blocks_by_node: Vec<u64>,
    /// Final balance of each node, in units.
    pub balances: Vec<u64>,
}

/// Measures a run from one node's chain and the nodes' workload reports.
pub fn measure(
    chain: &[BlockSummary],
    accounts: &[AccountView],
    workloads: &[WorkloadStatus],
    nodes: usize,
) -> ChainStats {
    let blocks: Vec<&BlockSummary> = chain.iter().filter(|b| b.index > 0).collect();
    let committed: u64 = blocks.iter().map(|b| b.transactions as u64).sum();
    let start = workloads.iter().filter_map(|w| w.started_at).min();
    let end = blocks.last().map(|b| b.timestamp);
    let span = match (start, end) {
        (Some(s), Some(e)) if e > s => (e - s) as f64 / 1e9,
        _ => 0.0,
    };
    let throughput = if span > 0.0 { committed as f64 / span } else { 0.0 };
    let mean_block = if blocks.is_empty() { 0.0 } else { span / blocks.len() as f64 };
    let late = blocks.iter().filter(|b| b.round > 0).count() as u64;
    let mut by_node = vec![0u64; nodes];
    for b in &blocks {
        if let Some(v) = b.validator.and_then(|v| by_node.get_mut(v as usize)) {
            *v += 1;
        }
    }
    let mut balances = vec![0u64; nodes];
    for a in accounts {
        if let Some(slot) = a.id.and_then(|i| balances.get_mut(i as usize)) {
            *slot = a.balance;
        }
    }
    ChainStats {
        committed,
        blocks: blocks.len() as u64,
        throughput,
        mean_block_time: mean_block,
        late_round_blocks: late,
        blocks_by_node: by_node,
        balances,
    }
}

impl RunResult {
    /// The CSV row (no newline).
    pub fn csv_row(&self) -> String {
        let join = |v: &[String]| v.join(";");
        format!(
            "{},{},{},{},{},{},{},{},{},{:.1},{:.4},{:.2},{:.2},{:.2},{},{},{}",
            self.nodes,
            self.capacity,
            self.stake_profile,
            self.workload,
            self.transactions,
            self.accepted,
            self.rejected,
            self.chain.committed,
            self.chain.blocks,
            self.chain.throughput,
            self.chain.mean_block_time,
            self.wall_seconds,
            self.cpu_seconds,
            self.other_cpu_seconds,
            self.chain.late_round_blocks,
            join(&self.chain.blocks_by_node.iter().map(|b| b.to_string()).collect::<Vec<_>>()),
            join(&self.chain.balances.iter().map(|b| format_bcc(*b)).collect::<Vec<_>>()),
        )
    }

    /// A few lines for people.
    pub fn summary(&self) -> String {
        let c = &self.chain;
        let balances: Vec<String> = c.balances.iter().map(|b| format_bcc(*b)).collect();
        [
            format!("{} nodes, capacity {}, stakes {}, workload {}", self.nodes, self.capacity, self.stake_profile, self.workload),
            format!("submitted {} transactions: {} accepted, {} refused at submission", self.transactions, self.accepted, self.rejected),
            format!("committed {} transactions in {} blocks ({} in a late round)", c.committed, c.blocks, c.late_round_blocks),
            format!(
                "throughput {:.1} tx/s, mean block time {:.4} s, run took {:.1} s, nodes used {:.1} CPU s (other processes {:.1} CPU s)",
                c.throughput, c.mean_block_time, self.wall_seconds, self.cpu_seconds, self.other_cpu_seconds
            ),
            format!("blocks by node {:?}; balances (BCC) {balances:?}", c.blocks_by_node),
        ]
        .join("\n")
    }
}

/// Appends `row` to the CSV at `path`, writing the header first if the file is new.
pub fn append_csv(path: &Path, result: &RunResult) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let new = !path.exists();
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    if new {
        writeln!(f, "{CSV_HEADER}")?;
    }
    writeln!(f, "{}", result.csv_row())
}
