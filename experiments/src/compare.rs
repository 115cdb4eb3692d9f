//! Simulator against reality: for every configuration measured on real clusters
//! (`results/real/course_grid.csv` and `synthetic.csv`, written by `blockchat cluster`), the
//! simulator's prediction of the same configuration on the same host, with the cost model
//! `blockchat calibrate` measured in the same sitting (`results/real/io-cost.toml`), its error,
//! and a plot of predicted against measured.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use blockchat_sim::scenario::{Cpu, Network, Receivers, Scenario, Stakes, Think, Workload};
use plotters::prelude::*;
use serde::Deserialize;

use crate::runner::{RunError, Table};
use crate::stats::fmt;

/// Seeds simulated per configuration.
const SEEDS: u64 = 5;
/// The error a prediction must stay within.
pub const TOLERANCE_PCT: f64 = 10.0;
/// The files of real runs compared, in order.
pub const FILES: [&str; 2] = ["course_grid.csv", "synthetic.csv"];

/// A real configuration: nodes, capacity, stake profile, workload, think time, block interval.
pub type Key = (usize, usize, String, String, String, String);

/// The `[cpu]` and `[network]` tables `blockchat calibrate` writes.
#[derive(Debug, Clone, Deserialize)]
pub struct Calibration {
    /// The cost model measured.
    pub cpu: Cpu,
    /// The loopback link measured.
    pub network: Network,
}

impl Calibration {
    /// Reads a calibration file.
    pub fn load(path: &Path) -> Result<Calibration, RunError> {
        let text = std::fs::read_to_string(path).map_err(|e| RunError::File {
            path: path.into(),
            message: format!("{e} (run `bash blockchat-net/scripts/bench.sh calibrate`)"),
        })?;
        toml::from_str(&text).map_err(|e| RunError::File { path: path.into(), message: e.to_string() })
    }
}

/// One configuration: what the real runs measured and what the simulator predicts.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// The configuration.
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

impl Comparison {
    /// The throughput error, in percent of the real median.
    pub fn tps_error(&self) -> f64 {
        100.0 * (self.sim_tps - self.real_tps) / self.real_tps
    }
    /// The block time error, in percent of the real median.
    pub fn block_error(&self) -> f64 {
        100.0 * (self.sim_block_s - self.real_block_s) / self.real_block_s
    }
    /// Whether both are within the tolerance.
    pub fn within(&self) -> bool {
        self.tps_error().abs() <= TOLERANCE_PCT && self.block_error().abs() <= TOLERANCE_PCT
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn simulation_error(key: &Key, message: String) -> RunError {
    RunError::Simulation { suite: "compare".into(), run: format!("{key:?}"), message }
}

/// The scenario simulating a real configuration on one host of `cores` cores.
pub fn scenario(key: &Key, lines: usize, cores: usize, inputs: &Path, cal: &Calibration) -> Result<Scenario, RunError> {
    let (nodes, capacity, profile, kind, think, interval) = key;
    let stake = match profile.strip_prefix("fairness-100/") {
        Some(rest) => {
            let s: u64 = rest.parse().unwrap_or(10);
            Stakes::PerNode((0..*nodes).map(|i| if i == 0 { 100 } else { s }).collect())
        }
        None => Stakes::Uniform(profile.trim_start_matches("uniform-").parse().unwrap_or(10)),
    };
    let think = match think.split_once('-') {
        Some((lo, hi)) => Think { min_ms: lo.parse().unwrap_or(0.0), max_ms: hi.parse().unwrap_or(0.0) },
        None => Think::default(),
    };
    let dir: PathBuf = inputs.join(format!("{nodes}nodes"));
    let workload = match kind.as_str() {
        "synthetic" => Workload::Synthetic {
            rate_per_node: None,
            burst: true,
            count: lines,
            coin_fraction: 1.0,
            amount_units: [1_000, 1_000],
            message_chars: [1, 1],
            receivers: Receivers::RoundRobin,
        },
        "course-files" if dir.join("trans0.txt").exists() => Workload::Course { inputs: Some(dir), lines: 100, think },
        "course-files" => {
            return Err(simulation_error(key, format!("the course's files are not in {}", dir.display())));
        }
        _ => Workload::Course { inputs: None, lines: lines / nodes.max(&1), think },
    };
    let max_block_interval_ms = interval.parse::<u64>().ok();
    Ok(Scenario {
        name: "real".into(),
        nodes: *nodes,
        capacity: *capacity,
        stake,
        workload,
        max_block_interval_ms,
        cpu: cal.cpu,
        network: cal.network.clone(),
        shared_cores: Some(cores),
        ..Scenario::default()
    })
}

/// Compares every configuration of the real CSV files in `real` (course inputs from `inputs`),
/// simulated on `cores` shared cores with the calibration `cal`.
pub fn compare(real: &Path, inputs: &Path, cores: usize, cal: &Calibration) -> Result<Vec<Comparison>, RunError> {
    let mut groups: BTreeMap<Key, Vec<(f64, f64, usize)>> = BTreeMap::new();
    for file in FILES {
        let path = real.join(file);
        if !path.exists() {
            continue;
        }
        let t = Table::read(&path)?;
        let col =
            |n: &str| t.col(n).ok_or_else(|| RunError::File { path: path.clone(), message: format!("no column {n}") });
        let (n, c, p, w, th, bi, tps, bt, lines) = (
            col("nodes")?,
            col("capacity")?,
            col("stake_profile")?,
            col("workload")?,
            col("think_ms")?,
            col("block_interval_ms")?,
            col("throughput_tx_per_s")?,
            col("mean_block_time_s")?,
            col("lines")?,
        );
        for r in &t.rows {
            let key = (
                r[n].parse().unwrap_or(0),
                r[c].parse().unwrap_or(0),
                r[p].clone(),
                r[w].clone(),
                r[th].clone(),
                r[bi].clone(),
            );
            let v =
                (r[tps].parse().unwrap_or(f64::NAN), r[bt].parse().unwrap_or(f64::NAN), r[lines].parse().unwrap_or(0));
            groups.entry(key).or_default().push(v);
        }
    }
    let mut out = Vec::new();
    for (key, rows) in groups {
        let base = scenario(&key, rows[0].2, cores, inputs, cal)?;
        let mut tps = Vec::new();
        let mut block = Vec::new();
        for seed in 1..=SEEDS {
            let r = blockchat_sim::run(&Scenario { seed, ..base.clone() })
                .map_err(|e| simulation_error(&key, e.to_string()))?;
            let s = &r.summary;
            tps.push(s.throughput);
            // The real runs' block time: first line accepted to last block, over the blocks.
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

fn pct(e: f64) -> String {
    if e.is_finite() { format!("{e:+.0}%") } else { "-".into() }
}

/// The comparison as a markdown table.
pub fn markdown(rows: &[Comparison]) -> String {
    let mut t = String::from(
        "| nodes | capacity | stakes | workload | think (ms) | blocks | real runs | real tx/s | simulated tx/s | error | real block time (ms) | simulated (ms) | error |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for c in rows {
        let blocks = if c.key.5 == "full" { "full".to_string() } else { format!("partial {} ms", c.key.5) };
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            c.key.0,
            c.key.1,
            c.key.2,
            c.key.3,
            c.key.4,
            blocks,
            c.runs,
            fmt(c.real_tps),
            fmt(c.sim_tps),
            pct(c.tps_error()),
            fmt(1e3 * c.real_block_s),
            fmt(1e3 * c.sim_block_s),
            pct(c.block_error())
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
        "think_ms",
        "block_interval_ms",
        "real_runs",
        "real_tps_median",
        "sim_tps_median",
        "tps_error_pct",
        "real_block_time_s_median",
        "sim_block_time_s_median",
        "block_time_error_pct",
        "within_10pct",
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
                    c.key.4.clone(),
                    c.key.5.clone(),
                    c.runs.to_string(),
                    fmt(c.real_tps),
                    fmt(c.sim_tps),
                    pct(c.tps_error()),
                    fmt(c.real_block_s),
                    fmt(c.sim_block_s),
                    pct(c.block_error()),
                    c.within().to_string(),
                ]
            })
            .collect(),
    }
}

/// One quantity of a comparison row: (measured, predicted).
type Measured = fn(&Comparison) -> (f64, f64);

/// Predicted against measured, throughput and block time side by side on log axes, with the
/// line of perfect prediction and the ±10% band.
pub fn plot(rows: &[Comparison], path: &Path) -> Result<(), RunError> {
    let fail = |e: &dyn std::fmt::Display| RunError::File { path: path.into(), message: e.to_string() };
    let root = SVGBackend::new(path, (1100, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let (left, right) = root.split_horizontally(550);
    let throughput: Measured = |c| (c.real_tps, c.sim_tps);
    let block_ms: Measured = |c| (1e3 * c.real_block_s, 1e3 * c.sim_block_s);
    let panels = [("Throughput", "tx/s", throughput), ("Mean block time", "ms", block_ms)];
    for (area, (title, unit, get)) in [left, right].into_iter().zip(panels) {
        let points: Vec<(f64, f64, bool)> = rows
            .iter()
            .map(|c| (get(c).0, get(c).1, c.key.3 == "synthetic"))
            .filter(|p| p.0 > 0.0 && p.1 > 0.0)
            .collect();
        let lo = points.iter().flat_map(|p| [p.0, p.1]).fold(f64::MAX, f64::min) / 1.5;
        let hi = points.iter().flat_map(|p| [p.0, p.1]).fold(0.0, f64::max) * 1.5;
        if points.is_empty() {
            continue;
        }
        let mut chart = ChartBuilder::on(&area)
            .caption(format!("{title}: simulator against the real cluster"), ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d((lo..hi).log_scale(), (lo..hi).log_scale())
            .map_err(|e| fail(&e))?;
        let label = |v: &f64| if *v >= 100.0 { format!("{v:.0}") } else { format!("{v:.1}") };
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .x_labels(6)
            .y_labels(6)
            .x_label_formatter(&label)
            .y_label_formatter(&label)
            .x_desc(format!("measured median ({unit}, log scale)"))
            .y_desc(format!("predicted median ({unit}, log scale)"))
            .draw()
            .map_err(|e| fail(&e))?;
        let grey = RGBColor(150, 150, 150);
        chart
            .draw_series(LineSeries::new([(lo, lo), (hi, hi)], BLACK.stroke_width(1)))
            .map_err(|e| fail(&e))?
            .label("predicted = measured")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLACK.stroke_width(1)));
        chart
            .draw_series([1.1, 0.9].map(|f| PathElement::new([(lo, lo * f), (hi, hi * f)], grey.stroke_width(1))))
            .map_err(|e| fail(&e))?
            .label("±10%")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], grey.stroke_width(1)));
        let course = RGBColor(31, 119, 180);
        let synthetic = RGBColor(214, 39, 40);
        chart
            .draw_series(points.iter().filter(|p| !p.2).map(|p| Circle::new((p.0, p.1), 4, course.filled())))
            .map_err(|e| fail(&e))?
            .label("course grid")
            .legend(move |(x, y)| Circle::new((x + 8, y), 4, course.filled()));
        chart
            .draw_series(points.iter().filter(|p| p.2).map(|p| TriangleMarker::new((p.0, p.1), 6, synthetic.filled())))
            .map_err(|e| fail(&e))?
            .label("100,000 transfers")
            .legend(move |(x, y)| TriangleMarker::new((x + 8, y), 6, synthetic.filled()));
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(|e| fail(&e))?;
    }
    root.present().map_err(|e| fail(&e))
}
