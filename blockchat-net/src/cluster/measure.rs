//! What a cluster run measured, from the committed chain and the clients' reports, and its CSV
//! row.

use std::io::Write;
use std::path::Path;

use blockchat_core::format_bcc;
use blockchat_host::ClientStatus;

use crate::api::{AccountView, BlockSummary};

/// The CSV header; one row per run (documented in the crate README).
pub const CSV_HEADER: &str = "nodes,capacity,stake_profile,workload,think_ms,block_interval_ms,lines,lines_committed,lines_failed,lines_unsent,committed,blocks,throughput_tx_per_s,mean_block_time_s,longest_block_interval_s,longest_full_block_wait_s,start_spread_s,wall_s,cpu_s,other_cpu_s,late_round_blocks,blocks_by_node,balances_bcc";

/// One run's results.
#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    /// Nodes.
    pub nodes: usize,
    /// Block capacity.
    pub capacity: usize,
    /// `uniform-10` or `fairness-100/10`.
    pub stake_profile: String,
    /// `course-files`, `generated` or `synthetic`.
    pub workload: String,
    /// The clients' pause before each line, `0` or `100-500`.
    pub think: String,
    /// The partial-block interval in ms, `full` for full blocks only.
    pub block_interval: String,
    /// Every client's final report.
    pub clients: Vec<ClientStatus>,
    /// Wall time of the whole run, start-up included.
    pub wall_seconds: f64,
    /// CPU time (user + system) all node processes used.
    pub cpu_seconds: f64,
    /// CPU time other processes on the machine used meanwhile (a shared machine's noise).
    pub other_cpu_seconds: f64,
    /// What the chain says.
    pub chain: ChainStats,
    /// What each node process did and used.
    pub node_loads: Vec<NodeLoad>,
}

/// What one node process did during a run and the CPU time it used.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NodeLoad {
    /// CPU time (user + system) of the process, start-up included.
    pub cpu_seconds: f64,
    /// The part of it used after every node was ready (the workload's).
    pub workload_cpu_seconds: f64,
    /// Its frames, bytes and blocks written.
    pub load: crate::daemon::driver::Load,
    /// Its costly steps.
    pub work: blockchat_core::Work,
}

/// What the committed chain says about a run.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainStats {
    /// Transactions in blocks after genesis.
    pub committed: u64,
    /// Blocks after genesis.
    pub blocks: u64,
    /// Committed transactions per second, from the first line accepted to the last block.
    pub throughput: f64,
    /// Mean time per block over the same span, in seconds.
    pub mean_block_time: f64,
    /// The longest time between two consecutive blocks after the first, in seconds.
    pub longest_interval: f64,
    /// The longest of those intervals that ended in a full block, in seconds: a partial block
    /// comes by design a maximum block interval after its oldest transaction, a full one should
    /// never wait.
    pub longest_full_wait: f64,
    /// Seconds between the first and the last client's first line sent: the nodes' start-up
    /// skew inside the measured span.
    pub start_spread: f64,
    /// Blocks minted in a round above 0.
    pub late_round_blocks: u64,
    /// Blocks validated by each node.
    pub blocks_by_node: Vec<u64>,
    /// Final balance of each node, in units.
    pub balances: Vec<u64>,
}

/// Measures a run from one node's chain and the clients' reports.
pub fn measure(
    chain: &[BlockSummary],
    accounts: &[AccountView],
    clients: &[ClientStatus],
    nodes: usize,
    capacity: usize,
) -> ChainStats {
    let blocks: Vec<&BlockSummary> = chain.iter().filter(|b| b.height > 0).collect();
    let committed: u64 = blocks.iter().map(|b| b.transactions as u64).sum();
    let start = clients.iter().filter_map(|c| c.first_sent_at).min();
    let last_start = clients.iter().filter_map(|c| c.first_sent_at).max();
    let start_spread = match (start, last_start) {
        (Some(s), Some(l)) => l.saturating_sub(s) as f64 / 1e9,
        _ => 0.0,
    };
    let end = blocks.last().map(|b| b.timestamp_ns);
    let span = match (start, end) {
        (Some(s), Some(e)) if e > s => (e - s) as f64 / 1e9,
        _ => 0.0,
    };
    let throughput = if span > 0.0 { committed as f64 / span } else { 0.0 };
    let mean_block = if blocks.is_empty() { 0.0 } else { span / blocks.len() as f64 };
    let gaps = || blocks.windows(2).map(|w| (w[1].timestamp_ns.saturating_sub(w[0].timestamp_ns), w[1].transactions));
    let longest = gaps().map(|(gap, _)| gap).max().unwrap_or(0);
    let longest_full = gaps().filter(|(_, txs)| *txs >= capacity).map(|(gap, _)| gap).max().unwrap_or(0);
    let late = blocks.iter().filter(|b| b.round > 0).count() as u64;
    let mut by_node = vec![0u64; nodes];
    for b in &blocks {
        if let Some(v) = b.validator.and_then(|v| by_node.get_mut(v as usize)) {
            *v += 1;
        }
    }
    let mut balances = vec![0u64; nodes];
    for a in accounts {
        if let Some(slot) = a.holder.id.and_then(|i| balances.get_mut(i as usize)) {
            *slot = a.balance.units();
        }
    }
    ChainStats {
        committed,
        blocks: blocks.len() as u64,
        throughput,
        mean_block_time: mean_block,
        longest_interval: longest as f64 / 1e9,
        longest_full_wait: longest_full as f64 / 1e9,
        start_spread,
        late_round_blocks: late,
        blocks_by_node: by_node,
        balances,
    }
}

impl RunResult {
    fn lines(&self, f: fn(&ClientStatus) -> usize) -> usize {
        self.clients.iter().map(f).sum()
    }

    /// The CSV row (no newline).
    pub fn csv_row(&self) -> String {
        let join = |v: &[String]| v.join(";");
        format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{:.1},{:.5},{:.4},{:.4},{:.4},{:.2},{:.2},{:.2},{},{},{}",
            self.nodes,
            self.capacity,
            self.stake_profile,
            self.workload,
            self.think,
            self.block_interval,
            self.lines(|c| c.total),
            self.lines(|c| c.committed),
            self.lines(|c| c.failed),
            self.lines(|c| c.unsent),
            self.chain.committed,
            self.chain.blocks,
            self.chain.throughput,
            self.chain.mean_block_time,
            self.chain.longest_interval,
            self.chain.longest_full_wait,
            self.chain.start_spread,
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
        let total = self.lines(|s| s.total);
        [
            format!(
                "{} nodes, capacity {}, stakes {}, workload {}, think time {} ms, partial blocks {}",
                self.nodes, self.capacity, self.stake_profile, self.workload, self.think, self.block_interval
            ),
            format!(
                "lines: {total} planned, {} committed ({:.1}%), {} given up, {} never sent (never affordable)",
                self.lines(|s| s.committed),
                100.0 * self.lines(|s| s.committed) as f64 / total.max(1) as f64,
                self.lines(|s| s.failed),
                self.lines(|s| s.unsent),
            ),
            format!("committed {} transactions in {} blocks ({} in a late round)", c.committed, c.blocks, c.late_round_blocks),
            format!(
                "throughput {:.1} tx/s, mean block time {:.4} s, longest gap between blocks {:.3} s (before a full block {:.3} s), run took {:.1} s, nodes used {:.1} CPU s (other processes {:.1} CPU s)",
                c.throughput,
                c.mean_block_time,
                c.longest_interval,
                c.longest_full_wait,
                self.wall_seconds,
                self.cpu_seconds,
                self.other_cpu_seconds
            ),
            format!("blocks by node {:?}; balances (BCC) {balances:?}", c.blocks_by_node),
            // A result exists only once these were checked (see `run_once`).
            format!(
                "checked: all {} nodes hold the same chain ({} blocks after genesis) and the same balances; the supply is conserved ({} BCC)",
                self.nodes,
                c.blocks,
                format_bcc(c.balances.iter().sum())
            ),
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
