//! Batch runs of the BlockChat simulator: the course's three experiments and more, written as
//! CSV, SVG plots and a README in `results/`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod compare;
pub mod format;
pub mod plot;
pub mod readme;
pub mod runner;
pub mod shard;
pub mod stats;
pub mod suite;

use std::path::Path;

use runner::{RunError, Table};
use suite::Suite;

/// What producing a suite did: its summary, and how many runs were computed (not reused).
#[derive(Debug)]
pub struct Produced {
    /// summary.csv as written.
    pub summary: Table,
    /// Runs simulated now; the others were reused from runs.csv.
    pub computed: usize,
}

/// Runs `suite` into `out/<suite>`: runs.csv, scenarios.jsonl, summary.csv and the plots.
pub fn produce(suite: &Suite, out: &Path, redo: bool, tick: &(dyn Fn() + Sync)) -> Result<Produced, RunError> {
    let dir = out.join(&suite.name);
    let ran = runner::run_suite(suite, &dir, redo, tick)?;
    Ok(Produced { summary: finish(suite, &ran.table, &dir)?, computed: ran.computed })
}

/// summary.csv and the plots of `suite` from its runs table, in `dir`.
pub fn finish(suite: &Suite, runs: &Table, dir: &Path) -> Result<Table, RunError> {
    let summary = runner::summarise(suite, runs, dir)?;
    plot::draw_all(suite, &summary, dir)?;
    Ok(summary)
}
