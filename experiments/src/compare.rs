//! Simulator against reality: for every configuration measured on real clusters
//! (`results/real/*.csv`, written by `blockchat cluster`), the simulator's prediction of the
//! same configuration on the same host, and its error.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use blockchat_sim::scenario::{Latency, Network, Scenario, Stakes, Workload};

use crate::runner::{RunError, Table};
use crate::stats::fmt;

/// Seeds simulated per configuration.
const SEEDS: u64 = 3;

/// A real configuration: nodes, capacity, stake profile, workload.
type Key = (usize, usize, String, String);

/// One configuration: what the real runs measured and what the simulator predicts.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// `nodes,capacity,stake_profile,workload`.
    pub key: Key,
    /// Real runs.
    pub runs: usize,
    /// Median real throughput (tx/s).
    pub real_tps: f64,
    /// Median real mean block time (s).
    pub real_block_s: f64,
    /// Median simulated throughput (tx/s).
    pub sim_tps: f64,
    /// Median simulated mean block time (s), measured the way the real runs do it.
    pub sim_block_s: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The workload of a real configuration: a course file per node (from `inputs` when present,
/// generated otherwise), or `transactions` transfers of 1,000 units sent as fast as possible.
/// It is read from scenario text, like a suite's, so that its receivers and think time take the
/// scenario format's defaults (uniform, none): their types belong to blockchat-host, which this
/// crate does not depend on.
fn workload(kind: &str, transactions: usize, inputs: Option<PathBuf>) -> Result<Workload, serde_json::Error> {
    let text = match kind {
        "synthetic" => serde_json::json!({
            "kind": "synthetic",
            "rate_per_node": 1e9,
            "count": transactions,
            "coin_fraction": 1.0,
            "amount_units": [1_000, 1_000],
            "message_chars": [1, 1],
        }),
        _ => serde_json::json!({ "kind": "course", "lines": 100 }),
    };
    let mut workload: Workload = serde_json::from_value(text)?;
    if let Workload::Course { inputs: dir, .. } = &mut workload {
        *dir = inputs;
    }
    Ok(workload)
}

/// The scenario simulating a real configuration on a host of `cores` cores.
fn scenario(key: &Key, transactions: usize, cores: usize, inputs: &Path) -> Result<Scenario, RunError> {
    let (nodes, capacity, profile, kind) = key;
    let stake = match profile.strip_prefix("fairness-100/") {
        Some(rest) => {
            let s: u64 = rest.parse().unwrap_or(10);
            Stakes::PerNode((0..*nodes).map(|i| if i == 0 { 100 } else { s }).collect())
        }
        None => Stakes::Uniform(profile.trim_start_matches("uniform-").parse().unwrap_or(10)),
    };
    let dir = inputs.join(format!("{nodes}nodes"));
    let workload = workload(kind, transactions, dir.join("trans0.txt").exists().then_some(dir)).map_err(|e| {
        RunError::Simulation { suite: "compare".into(), run: format!("{key:?}"), message: e.to_string() }
    })?;
    Ok(Scenario {
        name: "real".into(),
        nodes: *nodes,
        capacity: *capacity,
        stake,
        workload,
        // Loopback: tens of microseconds per message.
        network: Network { latency: Latency::Constant { ms: 0.05 }, fifo: true, loss: None },
        shared_cores: Some(cores),
        ..Scenario::default()
    })
}

/// Compares every configuration found in the CSV files of `real` (inputs from `inputs` when
/// the real runs used the course's files).
pub fn compare(real: &Path, inputs: &Path, cores: usize) -> Result<Vec<Comparison>, RunError> {
    let mut groups: BTreeMap<Key, Vec<(f64, f64, usize)>> = BTreeMap::new();
    for file in ["course_grid.csv", "synthetic.csv"] {
        let path = real.join(file);
        if !path.exists() {
            continue;
        }
        let t = Table::read(&path)?;
        let col =
            |n: &str| t.col(n).ok_or_else(|| RunError::File { path: path.clone(), message: format!("no column {n}") });
        let (n, c, p, w, tps, bt, tx) = (
            col("nodes")?,
            col("capacity")?,
            col("stake_profile")?,
            col("workload")?,
            col("throughput_tx_per_s")?,
            col("mean_block_time_s")?,
            col("transactions")?,
        );
        for r in &t.rows {
            let key = (r[n].parse().unwrap_or(0), r[c].parse().unwrap_or(0), r[p].clone(), r[w].clone());
            let v = (r[tps].parse().unwrap_or(f64::NAN), r[bt].parse().unwrap_or(f64::NAN), r[tx].parse().unwrap_or(0));
            groups.entry(key).or_default().push(v);
        }
    }
    let mut out = Vec::new();
    for (key, rows) in groups {
        let transactions = rows[0].2;
        let base = scenario(&key, transactions, cores, inputs)?;
        let mut tps = Vec::new();
        let mut block = Vec::new();
        for seed in 1..=SEEDS {
            let r = blockchat_sim::run(&Scenario { seed, ..base.clone() }).map_err(|e| RunError::Simulation {
                suite: "compare".into(),
                run: format!("{key:?}"),
                message: e.to_string(),
            })?;
            let s = &r.summary;
            tps.push(s.throughput);
            // The real runs' block time: first submission to last block, over the blocks.
            block.push(if s.throughput > 0.0 {
                s.committed as f64 / s.throughput / s.blocks.max(1) as f64
            } else {
                0.0
            });
        }
        out.push(Comparison {
            runs: rows.len(),
            real_tps: median(rows.iter().map(|r| r.0).collect()),
            real_block_s: median(rows.iter().map(|r| r.1).collect()),
            sim_tps: median(tps),
            sim_block_s: median(block),
            key,
        });
    }
    Ok(out)
}

fn error(sim: f64, real: f64) -> String {
    if real > 0.0 { format!("{:+.0}%", 100.0 * (sim - real) / real) } else { "-".into() }
}

/// The comparison as a markdown table.
pub fn markdown(rows: &[Comparison]) -> String {
    let mut t = String::from(
        "| nodes | capacity | stakes | workload | real runs | real tx/s | simulated tx/s | error | real block time (ms) | simulated (ms) | error |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for c in rows {
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            c.key.0,
            c.key.1,
            c.key.2,
            c.key.3,
            c.runs,
            fmt(c.real_tps),
            fmt(c.sim_tps),
            error(c.sim_tps, c.real_tps),
            fmt(1e3 * c.real_block_s),
            fmt(1e3 * c.sim_block_s),
            error(c.sim_block_s, c.real_block_s)
        );
    }
    t
}

/// The comparison as CSV.
pub fn table(rows: &[Comparison]) -> Table {
    let header = [
        "nodes",
        "capacity",
        "stake_profile",
        "workload",
        "real_runs",
        "real_tps_median",
        "sim_tps_median",
        "tps_error_pct",
        "real_block_time_s_median",
        "sim_block_time_s_median",
        "block_time_error_pct",
    ];
    Table {
        header: header.iter().map(|s| s.to_string()).collect(),
        rows: rows
            .iter()
            .map(|c| {
                vec![
                    c.key.0.to_string(),
                    c.key.1.to_string(),
                    c.key.2.clone(),
                    c.key.3.clone(),
                    c.runs.to_string(),
                    fmt(c.real_tps),
                    fmt(c.sim_tps),
                    error(c.sim_tps, c.real_tps),
                    fmt(c.real_block_s),
                    fmt(c.sim_block_s),
                    error(c.sim_block_s, c.real_block_s),
                ]
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_configurations_become_the_intended_scenarios() {
        let inputs = Path::new("/nonexistent");
        let key = (5, 20, "fairness-100/10".to_string(), "synthetic".to_string());
        let s = scenario(&key, 1_000, 2, inputs).unwrap();
        assert_eq!(
            (s.nodes, s.capacity, s.shared_cores, s.stake_label().as_str()),
            (5, 20, Some(2), "100/10/10/10/10")
        );
        let Workload::Synthetic { rate_per_node, count, coin_fraction, amount_units, message_chars, receivers } =
            s.workload
        else {
            panic!("not synthetic: {:?}", s.workload);
        };
        assert_eq!((rate_per_node, count, coin_fraction), (Some(1e9), 1_000, 1.0));
        assert_eq!((amount_units, message_chars), ([1_000, 1_000], [1, 1]));
        assert_eq!(format!("{receivers:?}"), "Uniform");
        let key = (10, 5, "uniform-10".to_string(), "course".to_string());
        let s = scenario(&key, 1_000, 2, inputs).unwrap();
        let Workload::Course { inputs, lines, think } = s.workload else {
            panic!("not course: {:?}", s.workload);
        };
        assert_eq!((inputs, lines, think.min_ms, think.max_ms), (None, 100, 0.0, 0.0));
    }
}
