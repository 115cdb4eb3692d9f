#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod adversary;
pub mod build;
pub mod cpu;
pub mod crypto;
pub mod engine;
pub mod export;
pub mod links;
pub mod metrics;
pub mod network;
pub mod queue;
pub mod report;
pub mod scenario;
pub mod seed;
pub mod topology;
pub mod trace;
pub mod workload;

use thiserror::Error;

/// Prints a line to stdout; a closed pipe (`| head`) ends the output quietly, never a panic.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// [`say!`] without the newline.
#[macro_export]
macro_rules! say_raw {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($arg)*);
    }};
}

pub use engine::{Progress, Simulation};
pub use report::Report;
pub use scenario::Scenario;

/// Why a simulation could not run.
#[derive(Debug, Error)]
pub enum SimError {
    /// The scenario is invalid.
    #[error(transparent)]
    Scenario(#[from] scenario::ScenarioError),
    /// The workload's input files are unusable.
    #[error(transparent)]
    Inputs(#[from] workload::course::InputError),
    /// Nodes, genesis or overlay could not be built.
    #[error("cannot set up the simulation: {0}")]
    Setup(String),
    /// An output file could not be written.
    #[error("cannot write output: {0}")]
    Output(String),
}

/// Runs `scenario` to its end and reports.
pub fn run(scenario: &Scenario) -> Result<Report, SimError> {
    Simulation::new(scenario, None)?.run(&mut |_| {})
}
