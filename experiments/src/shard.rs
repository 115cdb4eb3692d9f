//! Spreading a suite over machines: `run SUITE --shard I/N` computes every N-th run (one Slurm
//! array task each) into `SUITE/shards/`, and `merge SUITE` puts the shards back together into
//! exactly the files an unsharded run writes.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::AtomicUsize;

use thiserror::Error;

use crate::runner::{RunError, Table, compute, file_error, row_key, runs_header, write_runs};
use crate::suite::Suite;

/// One part of a suite: the runs whose position in the suite, modulo `count`, is `index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This part, from 0.
    pub index: usize,
    /// Parts in all.
    pub count: usize,
}

/// Why `I/N` is not a shard.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("'{text}' is not a shard: write I/N with 0 <= I < N, like 0/4")]
pub struct ShardError {
    /// What was given.
    pub text: String,
}

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(text: &str) -> Result<Shard, ShardError> {
        let bad = || ShardError { text: text.to_string() };
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count) = (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Its file in the suite's directory.
    pub fn file(&self, dir: &Path) -> std::path::PathBuf {
        dir.join("shards").join(format!("{}-of-{}.csv", self.index, self.count))
    }
}

/// Computes `shard`'s runs of `suite` into `dir/shards/I-of-N.csv` (runs.csv's columns, the
/// suite's order); returns how many runs that is.
pub fn run_shard(suite: &Suite, dir: &Path, shard: Shard, tick: &(dyn Fn() + Sync)) -> Result<usize, RunError> {
    let path = shard.file(dir);
    let parent = path.parent().unwrap_or(dir);
    std::fs::create_dir_all(parent).map_err(|e| file_error(parent, e))?;
    let runs: Vec<_> =
        suite.runs.iter().enumerate().filter(|(k, _)| k % shard.count == shard.index).map(|(_, r)| r).collect();
    let rows = compute(suite, &runs, &BTreeMap::new(), &AtomicUsize::new(0), tick)?;
    Table { header: runs_header(suite), rows }.write(&path)?;
    Ok(runs.len())
}

/// Merges every shard in `dir/shards/` into `dir/runs.csv` and `scenarios.jsonl`, byte for byte
/// what an unsharded run writes; refuses when a run is missing or a shard belongs to other code
/// or another suite (another header or scenario hash).
pub fn merge(suite: &Suite, dir: &Path) -> Result<Table, RunError> {
    let shards = dir.join("shards");
    let mut entries: Vec<_> = std::fs::read_dir(&shards)
        .map_err(|e| file_error(&shards, e))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    entries.sort();
    let mut rows: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for path in &entries {
        let table = Table::read(path)?;
        if table.header != runs_header(suite) {
            return Err(file_error(path, format!("its columns are not those of suite {}", suite.name)));
        }
        for row in table.rows {
            rows.insert(row_key(&row), row);
        }
    }
    let mut ordered = Vec::with_capacity(suite.runs.len());
    let mut missing = Vec::new();
    for run in &suite.runs {
        match rows.remove(&format!("{}#{}", run.id, run.hash)) {
            Some(row) => ordered.push(row),
            None => missing.push(run.id.clone()),
        }
    }
    if !missing.is_empty() {
        let message = format!(
            "{} of {} runs are in no shard (or were computed by other code), first {}",
            missing.len(),
            suite.runs.len(),
            missing[0]
        );
        return Err(file_error(&shards, message));
    }
    write_runs(suite, dir, ordered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_table() {
        let cases = [
            ("0/4", Some((0, 4))),
            ("3/4", Some((3, 4))),
            (" 1 / 2 ", Some((1, 2))),
            ("4/4", None),
            ("0/0", None),
            ("1", None),
            ("a/b", None),
            ("-1/3", None),
        ];
        for (text, want) in cases {
            let got = text.parse::<Shard>().ok().map(|s| (s.index, s.count));
            assert_eq!(got, want, "{text:?}");
        }
    }
}
