//! Batch runs of the BlockChat simulator: the course's three experiments and more, written as
//! CSV, SVG plots and a README in `results/`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod compare;
pub mod plot;
pub mod readme;
pub mod runner;
pub mod stats;
pub mod suite;

use std::path::Path;

use runner::{RunError, Table};
use suite::Suite;

/// Runs `suite` into `out/<suite>`: runs.csv, scenarios.jsonl, summary.csv and the plots.
pub fn produce(suite: &Suite, out: &Path, redo: bool, tick: &(dyn Fn() + Sync)) -> Result<Table, RunError> {
    let dir = out.join(&suite.name);
    let runs = runner::run_suite(suite, &dir, redo, tick)?;
    let summary = runner::summarise(suite, &runs, &dir)?;
    plot::draw_all(suite, &summary, &dir)?;
    Ok(summary)
}
