//! Running a suite: every run on the simulator, spread across cores, rows written in grid
//! order; runs whose scenario has not changed since the last time are reused.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use blockchat_sim::Report;
use rayon::prelude::*;
use thiserror::Error;

use crate::stats::{METRICS, PERCENTAGES, fmt, mean_ci, percent};
use crate::suite::Suite;

/// Why a suite could not be run or written.
#[derive(Debug, Error)]
pub enum RunError {
    /// A simulation failed.
    #[error("suite {suite}, run {run}: {message}")]
    Simulation {
        /// The suite.
        suite: String,
        /// The run.
        run: String,
        /// The error.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

pub(crate) fn file_error(path: &Path, e: impl std::fmt::Display) -> RunError {
    RunError::File { path: path.into(), message: e.to_string() }
}

/// A CSV table in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Column names.
    pub header: Vec<String>,
    /// Rows, as written.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// The index of column `name`.
    pub fn col(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// Reads a CSV file.
    pub fn read(path: &Path) -> Result<Table, RunError> {
        let mut r = csv::Reader::from_path(path).map_err(|e| file_error(path, e))?;
        let header = r.headers().map_err(|e| file_error(path, e))?.iter().map(String::from).collect();
        let rows = r
            .records()
            .map(|rec| rec.map(|r| r.iter().map(String::from).collect()))
            .collect::<Result<_, _>>()
            .map_err(|e| file_error(path, e))?;
        Ok(Table { header, rows })
    }

    /// Writes the table as CSV.
    pub fn write(&self, path: &Path) -> Result<(), RunError> {
        let mut w = csv::Writer::from_path(path).map_err(|e| file_error(path, e))?;
        w.write_record(&self.header).map_err(|e| file_error(path, e))?;
        for r in &self.rows {
            w.write_record(r).map_err(|e| file_error(path, e))?;
        }
        w.flush().map_err(|e| file_error(path, e))
    }
}

/// The runs.csv header of `suite`: identification, the axis labels, then the simulator's columns.
pub fn runs_header(suite: &Suite) -> Vec<String> {
    let mut h: Vec<String> = ["suite", "point", "run_id", "scenario_hash"].iter().map(|s| s.to_string()).collect();
    h.extend(suite.axes.iter().cloned());
    h.extend(Report::CSV_COLUMNS.iter().map(|s| s.to_string()));
    h
}

/// A suite's runs table, and how many of its runs were computed (the others were reused).
#[derive(Debug)]
pub struct Ran {
    /// runs.csv as written.
    pub table: Table,
    /// Runs simulated now.
    pub computed: usize,
}

/// Runs (or reuses) every run of `suite`, writing `runs.csv` and `scenarios.jsonl` into `dir`.
/// `tick` is called once per run finished or reused.
pub fn run_suite(suite: &Suite, dir: &Path, redo: bool, tick: &(dyn Fn() + Sync)) -> Result<Ran, RunError> {
    fs::create_dir_all(dir).map_err(|e| file_error(dir, e))?;
    let runs_path = dir.join("runs.csv");
    // Earlier rows, by run id, reusable when the scenario hash and the columns are the same.
    let mut cached: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if !redo && runs_path.exists() {
        let old = Table::read(&runs_path)?;
        if old.header == runs_header(suite) {
            for row in old.rows {
                cached.insert(row_key(&row), row);
            }
        }
    }
    let computed = std::sync::atomic::AtomicUsize::new(0);
    let rows = compute(suite, &suite.runs.iter().collect::<Vec<_>>(), &cached, &computed, tick)?;
    let table = write_runs(suite, dir, rows)?;
    Ok(Ran { table, computed: computed.into_inner() })
}

/// The key a stored row is reused under: its run id and scenario hash.
pub(crate) fn row_key(row: &[String]) -> String {
    format!("{}#{}", row[2], row[3])
}

/// The rows of `runs` (of `suite`), in order: reused from `cached` or simulated, in parallel;
/// `computed` counts the simulated ones.
pub(crate) fn compute(
    suite: &Suite,
    runs: &[&crate::suite::Run],
    cached: &BTreeMap<String, Vec<String>>,
    computed: &std::sync::atomic::AtomicUsize,
    tick: &(dyn Fn() + Sync),
) -> Result<Vec<Vec<String>>, RunError> {
    let rows: Vec<Result<Vec<String>, RunError>> = runs
        .par_iter()
        .with_max_len(1)
        .map(|run| {
            let key = format!("{}#{}", run.id, run.hash);
            let row = match cached.get(&key) {
                Some(row) => row.clone(),
                None => {
                    let report = blockchat_sim::run(&run.scenario).map_err(|e| RunError::Simulation {
                        suite: suite.name.clone(),
                        run: run.id.clone(),
                        message: e.to_string(),
                    })?;
                    computed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let mut row = vec![suite.name.clone(), run.point.clone(), run.id.clone(), run.hash.clone()];
                    row.extend(run.labels.iter().cloned());
                    row.extend(report.csv_row());
                    row
                }
            };
            tick();
            Ok(row)
        })
        .collect();
    rows.into_iter().collect()
}

/// Writes `runs.csv` (the rows, in the suite's order) and `scenarios.jsonl` into `dir`.
pub(crate) fn write_runs(suite: &Suite, dir: &Path, rows: Vec<Vec<String>>) -> Result<Table, RunError> {
    let table = Table { header: runs_header(suite), rows };
    table.write(&dir.join("runs.csv"))?;
    let mut jsonl = String::new();
    for run in &suite.runs {
        let line = serde_json::json!({ "run_id": run.id, "scenario_hash": run.hash, "scenario": run.scenario });
        jsonl.push_str(&line.to_string());
        jsonl.push('\n');
    }
    let path = dir.join("scenarios.jsonl");
    fs::write(&path, jsonl).map_err(|e| file_error(&path, e))?;
    Ok(table)
}

/// Mean and 95% interval of every metric per grid point, in grid order; written as summary.csv.
pub fn summarise(suite: &Suite, runs: &Table, dir: &Path) -> Result<Table, RunError> {
    let mut header: Vec<String> = vec!["point".into()];
    header.extend(suite.axes.iter().cloned());
    header.push("runs".into());
    header.push("agreement".into());
    for m in METRICS.iter().chain(PERCENTAGES.iter().map(|p| &p.0)) {
        header.push(format!("{m}_mean"));
        header.push(format!("{m}_ci95"));
    }
    let point_col = runs.col("point").unwrap_or(1);
    let mut order: Vec<String> = Vec::new();
    let mut groups: BTreeMap<String, Vec<&Vec<String>>> = BTreeMap::new();
    for row in &runs.rows {
        if !groups.contains_key(&row[point_col]) {
            order.push(row[point_col].clone());
        }
        groups.entry(row[point_col].clone()).or_default().push(row);
    }
    let mut rows = Vec::new();
    for point in order {
        let group = &groups[&point];
        let mut row = vec![point.clone()];
        for axis in &suite.axes {
            row.push(runs.col(axis).map(|c| group[0][c].clone()).unwrap_or_default());
        }
        row.push(group.len().to_string());
        let agreed = runs.col("agreement").map_or(0, |c| group.iter().filter(|r| r[c] == "true").count());
        row.push(fmt(agreed as f64 / group.len() as f64));
        for m in METRICS {
            let values: Vec<f64> =
                runs.col(m).map(|c| group.iter().filter_map(|r| r[c].parse().ok()).collect()).unwrap_or_default();
            let (mean, ci) = mean_ci(&values);
            row.push(fmt(mean));
            row.push(fmt(ci));
        }
        for (_, part, whole) in PERCENTAGES {
            let values: Vec<f64> = match (runs.col(part), runs.col(whole)) {
                (Some(p), Some(w)) => {
                    group.iter().filter_map(|r| percent(r[p].parse().ok()?, r[w].parse().ok()?)).collect()
                }
                _ => Vec::new(),
            };
            let (mean, ci) = mean_ci(&values);
            row.push(fmt(mean));
            row.push(fmt(ci));
        }
        rows.push(row);
    }
    let table = Table { header, rows };
    table.write(&dir.join("summary.csv"))?;
    Ok(table)
}
