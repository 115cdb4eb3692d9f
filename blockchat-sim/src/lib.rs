#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod adversary;
pub mod build;
pub mod crypto;
pub mod engine;
pub mod export;
pub mod links;
pub mod machine;
pub mod metrics;
pub mod network;
pub mod queue;
pub mod report;
pub mod scenario;
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

/// The seed streams, shared with the host (course inputs, clients) and kept here by name.
pub use blockchat_host::seed;

/// The cost model the engine charges, shared with `blockchat calibrate`, which measures it.
pub use blockchat_host::CostModel;

/// Why a simulation could not run.
#[derive(Debug, Error)]
pub enum SimError {
    /// The scenario is invalid.
    #[error(transparent)]
    Scenario(#[from] scenario::ScenarioError),
    /// The workload's input files are unusable.
    #[error(transparent)]
    Inputs(#[from] blockchat_host::client::course::CourseError),
    /// A node's client cannot send its plan.
    #[error("cannot set up a client: {0}")]
    Client(#[from] blockchat_host::client::ClientError),
    /// The genesis block cannot be built.
    #[error("cannot build the genesis block: {0}")]
    Genesis(#[from] blockchat_core::GenesisError),
    /// A node cannot be created.
    #[error("cannot create a node: {0}")]
    Node(#[from] blockchat_core::node::NodeError),
    /// The overlay cannot be drawn.
    #[error("cannot draw the overlay: {0}")]
    Topology(#[from] topology::TopologyError),
    /// An output file could not be written.
    #[error("cannot write {}: {source}", path.as_ref().map_or("output".to_string(), |p| p.display().to_string()))]
    Output {
        /// The file, when there is one.
        path: Option<std::path::PathBuf>,
        /// Why.
        source: std::io::Error,
    },
    /// A value could not be turned into text (TOML for a cost model).
    #[error("cannot write the cost model as TOML: {0}")]
    Toml(#[from] toml::ser::Error),
    /// Two runs of one scenario differed.
    #[error("DETERMINISM CHECK FAILED: fingerprint {first} then {second}; seed {seed}")]
    Determinism {
        /// The seed.
        seed: u64,
        /// The first run's fingerprint.
        first: String,
        /// The second's.
        second: String,
    },
}

impl SimError {
    /// 2 when the scenario, a flag or a file it names is unusable (a usage error), 1 when
    /// running failed.
    pub fn exit_code(&self) -> u8 {
        match self {
            SimError::Scenario(_) | SimError::Inputs(_) => 2,
            _ => 1,
        }
    }
}

/// Runs `scenario` to its end and reports.
pub fn run(scenario: &Scenario) -> Result<Report, SimError> {
    Simulation::new(scenario, None)?.run(&mut |_| {})
}
