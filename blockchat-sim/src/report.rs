//! The result of a run: summary, per-validator shares, balances, digests; printed for people
//! and written as CSV rows whose bytes depend only on the scenario and seed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use blockchat_core::error::TxError;
use blockchat_core::{Account, Address, Block, BlockHash, Genesis, Time, format_bcc};
use blockchat_host::{ClientStatus, Host, Plan};
use sha2::{Digest, Sha256};

use crate::build::{network_label, topology_label};
use crate::crypto::SimCheck;
use crate::metrics::{Collector, Summary};
use crate::scenario::{Scenario, Workload};
use crate::workload::label as workload_label;

/// A line of an honest node that never committed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfinished {
    /// The node.
    pub node: usize,
    /// The line's number in its file (1-based), or its position in a generated plan.
    pub number: usize,
    /// The message, for course lines.
    pub text: Option<String>,
    /// Why the node could not send it (the refusal of the line it waits on), if it waits.
    pub waiting: Option<TxError>,
}

/// One node's stake, share, blocks validated and final balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatorRow {
    /// Node index.
    pub node: usize,
    /// Its address.
    pub address: Address,
    /// Stake at genesis, units.
    pub stake: u64,
    /// Blocks it validated on the final chain.
    pub blocks: u64,
    /// Its final account.
    pub account: Account,
}

/// Everything a run produced.
#[derive(Debug, Clone)]
pub struct Report {
    /// The scenario run.
    pub scenario: Scenario,
    /// Headline numbers.
    pub summary: Summary,
    /// Whether every honest running node ended on the same tip.
    pub agreement: bool,
    /// Each honest running node's final height and tip hash, in node order.
    pub tips: Vec<(u64, BlockHash)>,
    /// Whether every honest running node's balances add up to the genesis supply.
    pub supply_conserved: bool,
    /// The reference node's final chain (the first honest running node).
    pub chain: Vec<Arc<Block>>,
    /// The genesis configuration.
    pub genesis: Genesis,
    /// Per-node stakes, blocks and balances.
    pub validators: Vec<ValidatorRow>,
    /// Lines given up, by reason.
    pub rejected: BTreeMap<&'static str, u64>,
    /// Times a line had to wait for funds or room, by reason.
    pub waited: BTreeMap<&'static str, u64>,
    /// Honest nodes' lines that never committed, in node and line order.
    pub unfinished: Vec<Unfinished>,
    /// Rejections of peers' transactions by reason.
    pub peer_rejected: BTreeMap<&'static str, u64>,
    /// Rejected blocks by reason.
    pub blocks_rejected: BTreeMap<&'static str, u64>,
    /// Messages and bytes by kind.
    pub messages: BTreeMap<&'static str, (u64, u64)>,
    /// Hash of the final chain's tip (it commits to the whole chain).
    pub chain_digest: BlockHash,
    /// Digest of the event trace.
    pub trace_digest: [u8; 32],
    /// Events run (printed, not in the CSV).
    pub events: u64,
    /// Copies of pending transactions received and skipped.
    pub duplicates: u64,
    /// CPU time charged to all nodes together (printed, not in the CSV).
    pub cpu_charged: Duration,
    /// Wall time of the run (printed, not in the CSV).
    pub wall: Duration,
    /// Real signature verifications and reused verdicts (printed, not in the CSV).
    pub signatures: (u64, u64),
}

impl Report {
    /// Assembles the report at the end of a run.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        scenario: &Scenario,
        genesis: &Genesis,
        addresses: &[Address],
        honest_up: &[&Host<SimCheck>],
        all: &[&Host<SimCheck>],
        metrics: &Collector,
        end: Time,
        trace_digest: [u8; 32],
        events: u64,
        wall: Duration,
        signatures: (u64, u64),
    ) -> Report {
        let honest_up: Vec<_> = honest_up.iter().map(|h| h.node()).collect();
        let chain: Vec<Arc<Block>> = match honest_up.first() {
            Some(n) => n.chain().blocks().to_vec(),
            None => genesis.block().map(|b| vec![Arc::new(b)]).unwrap_or_default(),
        };
        let tip = chain.last().map(|b| b.hash()).unwrap_or(BlockHash::ZERO);
        let agreement = honest_up.iter().all(|n| n.chain().tip().hash() == tip);
        let supply_conserved = honest_up.iter().all(|n| {
            let l = n.ledger();
            l.accounts().map(|(_, a)| a.balance).sum::<u64>() == l.total_supply()
        });
        let mut blocks_by: BTreeMap<Address, u64> = BTreeMap::new();
        for b in chain.iter().skip(1) {
            *blocks_by.entry(b.validator()).or_default() += 1;
        }
        let ledger = honest_up.first().map(|n| n.ledger());
        let validators = addresses
            .iter()
            .enumerate()
            .map(|(node, a)| ValidatorRow {
                node,
                address: *a,
                stake: genesis.accounts.get(node).map_or(0, |g| g.stake),
                blocks: blocks_by.get(a).copied().unwrap_or(0),
                account: ledger.and_then(|l| l.account(a)).copied().unwrap_or_default(),
            })
            .collect();
        let clients: Vec<ClientStatus> = all.iter().map(|h| h.client().status()).collect();
        let unfinished = all
            .iter()
            .enumerate()
            .filter(|(i, h)| {
                !scenario
                    .faults
                    .iter()
                    .any(|f| matches!(f, crate::scenario::Fault::Byzantine { node, .. } if node == i))
                    && !h.client().plan().is_empty()
            })
            .flat_map(|(node, h)| unfinished(node, h))
            .collect();
        Report {
            scenario: scenario.clone(),
            summary: metrics.summarise(&chain, &clients, end),
            waited: metrics.waited.clone(),
            unfinished,
            agreement,
            tips: honest_up.iter().map(|n| (n.chain().height(), n.chain().tip().hash())).collect(),
            supply_conserved,
            chain,
            genesis: genesis.clone(),
            validators,
            rejected: metrics.rejected.clone(),
            peer_rejected: metrics.peer_rejected.clone(),
            blocks_rejected: metrics.blocks_rejected.clone(),
            messages: metrics.messages_by_kind(),
            chain_digest: tip,
            trace_digest,
            events,
            duplicates: metrics.duplicates,
            cpu_charged: metrics.cpu_charged,
            wall,
            signatures,
        }
    }

    /// A short digest of the chain and the trace: equal runs print equal fingerprints.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.chain_digest.0);
        h.update(self.trace_digest);
        hex::encode(&h.finalize()[..8])
    }

    /// The CSV columns, in order (documented in the crate README).
    pub const CSV_COLUMNS: [&'static str; 42] = [
        "name",
        "seed",
        "nodes",
        "capacity",
        "stake",
        "network",
        "topology",
        "workload",
        "think_ms",
        "planned",
        "submitted",
        "committed",
        "rejected",
        "rejected_balance",
        "rejected_nonce",
        "rejected_signature",
        "rejected_other",
        "pending",
        "unsent",
        "throughput_tps",
        "block_time_mean_s",
        "block_time_p50_s",
        "block_time_p99_s",
        "block_time_max_s",
        "latency_p50_s",
        "latency_p99_s",
        "blocks",
        "forks",
        "reorgs",
        "messages",
        "bytes",
        "messages_lost",
        "virtual_time_s",
        "agreement",
        "supply_conserved",
        "top_validator_share",
        "top_stake_share",
        "top_validator_blocks",
        "top_validator_balance_bcc",
        "others_mean_balance_bcc",
        "chain_digest",
        "trace_digest",
    ];

    /// This run's CSV row, matching [`Report::CSV_COLUMNS`].
    pub fn csv_row(&self) -> Vec<String> {
        let s = &self.summary;
        let sc = &self.scenario;
        let count = |k: &str| self.rejected.get(k).copied().unwrap_or(0);
        let other = s.rejected.saturating_sub(count("InsufficientBalance") + count("BadNonce") + count("BadSignature"));
        let (top_blocks_share, top_stake_share) = self.top_validator();
        let top = self.top_staker();
        let others: Vec<u64> =
            self.validators.iter().filter(|v| Some(v.node) != top.map(|t| t.node)).map(|v| v.account.balance).collect();
        let others_mean = others.iter().sum::<u64>() / (others.len() as u64).max(1);
        vec![
            sc.name.clone(),
            sc.seed.to_string(),
            sc.nodes.to_string(),
            sc.capacity.to_string(),
            sc.stake_label(),
            network_label(sc),
            topology_label(sc),
            workload_label(&sc.workload),
            think_label(sc),
            s.planned.to_string(),
            s.submitted.to_string(),
            s.committed.to_string(),
            s.rejected.to_string(),
            count("InsufficientBalance").to_string(),
            count("BadNonce").to_string(),
            count("BadSignature").to_string(),
            other.to_string(),
            s.pending.to_string(),
            s.unsent.to_string(),
            format!("{:.3}", s.throughput),
            secs(s.block_time_mean),
            secs(s.block_time_p50),
            secs(s.block_time_p99),
            secs(s.block_time_max),
            secs(s.latency_p50),
            secs(s.latency_p99),
            s.blocks.to_string(),
            s.forks.to_string(),
            s.reorgs.to_string(),
            s.messages.to_string(),
            s.bytes.to_string(),
            s.messages_lost.to_string(),
            secs(s.virtual_time),
            self.agreement.to_string(),
            self.supply_conserved.to_string(),
            format!("{top_blocks_share:.4}"),
            format!("{top_stake_share:.4}"),
            top.map_or(0, |t| t.blocks).to_string(),
            format_bcc(top.map_or(0, |t| t.account.balance)),
            format_bcc(others_mean),
            self.chain_digest.to_hex(),
            hex::encode(self.trace_digest),
        ]
    }

    /// The node with the largest stake (the lowest index among equals).
    pub fn top_staker(&self) -> Option<&ValidatorRow> {
        self.validators.iter().max_by_key(|v| (v.stake, std::cmp::Reverse(v.node)))
    }

    /// Share of blocks validated by the largest staker, and its share of stake.
    pub fn top_validator(&self) -> (f64, f64) {
        let total_stake: u64 = self.validators.iter().map(|v| v.stake).sum();
        let total_blocks: u64 = self.validators.iter().map(|v| v.blocks).sum();
        let Some(top) = self.top_staker() else {
            return (0.0, 0.0);
        };
        let share = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        (share(top.blocks, total_blocks), share(top.stake, total_stake))
    }

    /// One CSV row per block of the final chain: index, hash, validator node, round, timestamp,
    /// interval, transactions, fees.
    pub fn blocks_csv_rows(&self) -> Vec<Vec<String>> {
        let node_of: BTreeMap<Address, usize> = self.validators.iter().map(|v| (v.address, v.node)).collect();
        self.chain
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, b)| {
                let interval = b.timestamp().since(self.chain[i - 1].timestamp());
                vec![
                    self.scenario.name.clone(),
                    self.scenario.seed.to_string(),
                    b.index().to_string(),
                    b.hash().to_hex(),
                    node_of.get(&b.validator()).map_or("-".into(), |n| n.to_string()),
                    b.round().to_string(),
                    format!("{:.9}", b.timestamp().as_secs_f64()),
                    if i == 1 { String::new() } else { secs(interval) },
                    b.transactions().len().to_string(),
                    b.fees().to_string(),
                ]
            })
            .collect()
    }

    /// Columns of [`Report::blocks_csv_rows`].
    pub const BLOCKS_CSV_COLUMNS: [&'static str; 10] = [
        "name",
        "seed",
        "index",
        "hash",
        "validator_node",
        "round",
        "timestamp_s",
        "interval_s",
        "transactions",
        "fees_units",
    ];

    /// The readable summary printed after a run.
    pub fn text(&self) -> String {
        let s = &self.summary;
        let sc = &self.scenario;
        let mut t = String::new();
        let _ = writeln!(
            t,
            "BlockChat simulation '{}': {} nodes, capacity {}, stake {}, network {}, topology {}, workload {}, seed {}",
            sc.name,
            sc.nodes,
            sc.capacity,
            sc.stake_label(),
            network_label(sc),
            topology_label(sc),
            workload_label(&sc.workload),
            sc.seed
        );
        let _ = writeln!(
            t,
            "  lines: {} planned, {} sent, {} committed ({:.1}%), {} given up, {} pending, {} never sent, {} lost to crashes",
            s.planned,
            s.submitted,
            s.committed,
            100.0 * s.committed as f64 / s.planned.max(1) as f64,
            s.rejected,
            s.pending,
            s.unsent,
            s.lost_to_crash
        );
        if !self.rejected.is_empty() {
            let _ = writeln!(t, "  given up by reason: {}", join(&self.rejected));
        }
        if !self.waited.is_empty() {
            let _ = writeln!(t, "  lines that waited for a block (times): {}", join(&self.waited));
        }
        if !self.unfinished.is_empty() {
            let shown = 8;
            let _ = writeln!(t, "  lines never committed ({}):", self.unfinished.len());
            for u in self.unfinished.iter().take(shown) {
                let what = u.text.as_deref().map(|x| format!(" {x:?}")).unwrap_or_default();
                let why = match &u.waiting {
                    Some(e) => format!(": {e}"),
                    None => " (behind it)".to_string(),
                };
                let _ = writeln!(t, "    node {} line {}{what}{why}", u.node, u.number);
            }
            if self.unfinished.len() > shown {
                let _ = writeln!(t, "    … and {} more", self.unfinished.len() - shown);
            }
        }
        let _ = writeln!(t, "  throughput: {:.2} committed tx per virtual second", s.throughput);
        let _ = writeln!(
            t,
            "  block time: mean {}, p50 {}, p99 {}, longest {} over {} blocks",
            human(s.block_time_mean),
            human(s.block_time_p50),
            human(s.block_time_p99),
            human(s.block_time_max),
            s.blocks
        );
        let _ = writeln!(t, "  confirmation latency: p50 {}, p99 {}", human(s.latency_p50), human(s.latency_p99));
        let total_stake: u64 = self.validators.iter().map(|v| v.stake).sum::<u64>().max(1);
        let _ = writeln!(t, "  node  stake share  blocks (share)  final balance BCC  stake BCC");
        for v in &self.validators {
            let _ = writeln!(
                t,
                "  {:>4}  {:>10.1}%  {:>6} ({:>5.1}%)  {:>17}  {:>9}",
                v.node,
                100.0 * v.stake as f64 / total_stake as f64,
                v.blocks,
                100.0 * v.blocks as f64 / s.blocks.max(1) as f64,
                format_bcc(v.account.balance),
                format_bcc(v.account.stake)
            );
        }
        let _ = writeln!(t, "  forks: {} blocks off the final chain, {} reorganisations", s.forks, s.reorgs);
        if !self.peer_rejected.is_empty() {
            let _ = writeln!(t, "  peers' transactions rejected: {}", join(&self.peer_rejected));
        }
        if !self.blocks_rejected.is_empty() {
            let _ = writeln!(t, "  blocks rejected: {}", join(&self.blocks_rejected));
        }
        let kinds: Vec<String> = self.messages.iter().map(|(k, (n, b))| format!("{k} {n} ({b} B)")).collect();
        let _ = writeln!(
            t,
            "  messages: {} sent, {} bytes, {} lost, {} copies of pending transactions; {}",
            s.messages,
            s.bytes,
            s.messages_lost,
            self.duplicates,
            kinds.join(", ")
        );
        let _ = writeln!(
            t,
            "  agreement: {}, supply conserved: {}, virtual time {}",
            if self.agreement {
                "all honest nodes share one chain".to_string()
            } else {
                let tips: Vec<String> = self.tips.iter().map(|(h, t)| format!("{h}:{}", t.short())).collect();
                format!("NO - honest nodes disagree (tips {})", tips.join(" "))
            },
            self.supply_conserved,
            human(s.virtual_time)
        );
        let secs = self.wall.as_secs_f64().max(1e-9);
        let _ = writeln!(
            t,
            "  simulator: {} events in {:.3} s wall ({:.0} events/s); {} signatures verified, {} verdicts reused; nodes charged {:.3} CPU s",
            self.events,
            secs,
            self.events as f64 / secs,
            self.signatures.0,
            self.signatures.1,
            self.cpu_charged.as_secs_f64()
        );
        let _ = writeln!(
            t,
            "  fingerprint {} (chain {}, trace {})",
            self.fingerprint(),
            self.chain_digest.short(),
            hex::encode(&self.trace_digest[..4])
        );
        t
    }
}

fn join(m: &BTreeMap<&'static str, u64>) -> String {
    m.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
}

/// Seconds with nanosecond precision, fixed format.
fn secs(d: Duration) -> String {
    format!("{:.9}", d.as_secs_f64())
}

/// A duration for people: `12.3 ms`, `1.50 s`.
fn human(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 { format!("{s:.2} s") } else { format!("{:.2} ms", s * 1e3) }
}

fn think_label(s: &Scenario) -> String {
    match &s.workload {
        Workload::Course { think, .. } => format!("{}-{}", think.min_ms, think.max_ms),
        Workload::Synthetic { .. } => "-".into(),
    }
}

/// The lines node `node` never committed, with the refusal of the one it waits on.
fn unfinished(node: usize, host: &Host<SimCheck>) -> Vec<Unfinished> {
    let client = host.client();
    let waiting = client.waiting().map(|(line, e)| (line, e.clone()));
    client
        .unfinished()
        .into_iter()
        .map(|line| {
            let (number, text) = match client.plan() {
                Plan::Lines(lines) => (lines[line].number, Some(lines[line].text.clone())),
                _ => (line + 1, None),
            };
            let waiting = waiting.as_ref().filter(|(l, _)| *l == line).map(|(_, e)| e.clone());
            Unfinished { node, number, text, waiting }
        })
        .collect()
}
