//! A scenario: everything one run needs, as a TOML or JSON file or the equivalent flags.

use std::path::{Path, PathBuf};

use blockchat_core::{NetworkParams, ParamsError, UNITS_PER_BCC};
pub use blockchat_host::client::Think;
pub use blockchat_host::client::synthetic::Receivers;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use blockchat_host::CostModel;

/// Why a scenario is unusable.
#[derive(Debug, Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read scenario {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or JSON for a scenario.
    #[error("scenario {path} is not valid: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        message: String,
    },
    /// Fewer than two nodes.
    #[error("nodes must be at least 2, got {nodes}")]
    TooFewNodes {
        /// The number given.
        nodes: usize,
    },
    /// The network's parameters are out of range.
    #[error("invalid network parameters: {0}")]
    Params(#[from] ParamsError),
    /// `shared_cores = 0`.
    #[error("shared_cores must be at least 1")]
    ZeroSharedCores,
    /// A list of stakes of the wrong length.
    #[error("{given} stakes given for {nodes} nodes")]
    StakeCount {
        /// Stakes listed.
        given: usize,
        /// Nodes.
        nodes: usize,
    },
    /// Every stake is zero.
    #[error("nobody stakes: at least one node needs a positive stake")]
    NobodyStakes,
    /// A stake above the initial balance.
    #[error("node {node} stakes {stake_bcc} BCC, more than the {balance_bcc} BCC each node starts with")]
    StakeAboveBalance {
        /// The node.
        node: usize,
        /// Its stake, BCC.
        stake_bcc: u64,
        /// The initial balance, BCC.
        balance_bcc: u64,
    },
    /// No k-regular overlay exists.
    #[error("no {k}-regular overlay on {nodes} nodes (need 0 < k < n and n·k even)")]
    NoRegularOverlay {
        /// Degree.
        k: usize,
        /// Nodes.
        nodes: usize,
    },
    /// A loss rate outside [0, 1).
    #[error("loss rate {rate} is not in [0, 1)")]
    LossRate {
        /// The rate.
        rate: f64,
    },
    /// A fault names a node that does not exist.
    #[error("fault on node {node}, but there are {nodes} nodes")]
    FaultNode {
        /// The node named.
        node: usize,
        /// Nodes.
        nodes: usize,
    },
    /// A network event or a late start names a node that does not exist.
    #[error("network event names node {node}, but there are {nodes} nodes")]
    EventNode {
        /// The node named.
        node: usize,
        /// Nodes.
        nodes: usize,
    },
    /// A non-positive or non-finite open-loop rate.
    #[error("rate_per_node must be positive, got {rate}")]
    Rate {
        /// The rate.
        rate: f64,
    },
    /// An empty, negative or non-finite range of milliseconds.
    #[error("{what} range [{min_ms}, {max_ms}] ms is empty or negative")]
    Range {
        /// Which range.
        what: &'static str,
        /// Its lower end.
        min_ms: f64,
        /// Its upper end.
        max_ms: f64,
    },
    /// A command-line value that does not parse.
    #[error("{flag} '{value}': use {expected}")]
    Flag {
        /// The flag.
        flag: &'static str,
        /// What was given.
        value: String,
        /// What is expected, in words.
        expected: &'static str,
    },
}

/// Stakes at genesis, in whole BCC: one value for everyone, or one per node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Stakes {
    /// The same stake for every node.
    Uniform(u64),
    /// Node i stakes the i-th value.
    PerNode(Vec<u64>),
}

/// The latency model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case", deny_unknown_fields)]
pub enum Latency {
    /// Instant delivery.
    Ideal,
    /// A fixed latency.
    Constant {
        /// Milliseconds.
        ms: f64,
    },
    /// Uniform jitter.
    Uniform {
        /// Smallest, ms.
        min_ms: f64,
        /// Largest, ms.
        max_ms: f64,
    },
    /// Base plus exponential.
    Exponential {
        /// Fixed part, ms.
        base_ms: f64,
        /// Mean of the exponential part, ms.
        mean_ms: f64,
    },
    /// Log-normal (long tail).
    LogNormal {
        /// Median, ms.
        median_ms: f64,
        /// Shape.
        sigma: f64,
    },
    /// Pareto (long tail).
    Pareto {
        /// Minimum, ms.
        scale_ms: f64,
        /// Tail index.
        shape: f64,
    },
    /// SimBlock-style regions with bandwidth.
    Regions {
        /// Share of nodes per region (six weights); the Bitcoin 2019 shares if absent.
        distribution: Option<[f64; 6]>,
    },
}

/// What a lost message means.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Loss {
    /// Probability that one transmission is lost.
    pub rate: f64,
    /// Retransmission timeout in ms; if absent, a lost message is dropped.
    pub retransmit_ms: Option<f64>,
}

/// The network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Network {
    /// The latency model.
    pub latency: Latency,
    /// Keep each link's messages in order.
    pub fifo: bool,
    /// Random loss.
    pub loss: Option<Loss>,
}

impl Default for Network {
    fn default() -> Self {
        Network::lan()
    }
}

impl Network {
    /// A local network: 0.2 ms per message, in order.
    pub fn lan() -> Network {
        Network { latency: Latency::Constant { ms: 0.2 }, fifo: true, loss: None }
    }
    /// Instant, in order.
    pub fn ideal() -> Network {
        Network { latency: Latency::Ideal, fifo: true, loss: None }
    }
    /// The world: SimBlock regions, in order.
    pub fn wan() -> Network {
        Network { latency: Latency::Regions { distribution: None }, fifo: true, loss: None }
    }
}

/// The overlay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Topology {
    /// Everyone to everyone (the course's).
    FullMesh,
    /// A random k-regular graph; nodes relay what they have not seen.
    Regular {
        /// Degree.
        k: usize,
    },
}

/// The CPU model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case", deny_unknown_fields)]
pub enum Cpu {
    /// The costs measured on the project's machine.
    Calibrated,
    /// Free computation.
    Zero,
    /// Given costs.
    Custom(CostModel),
}

impl Cpu {
    /// The cost model this names.
    pub fn model(&self) -> CostModel {
        match self {
            Cpu::Calibrated => CostModel::CALIBRATED,
            Cpu::Zero => CostModel::ZERO,
            Cpu::Custom(m) => *m,
        }
    }
}

/// What the nodes submit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Workload {
    /// The course's format: `trans{i}.txt` files of `id<N> <message>` lines.
    Course {
        /// The directory; files are generated from the seed when absent.
        inputs: Option<PathBuf>,
        /// Lines per generated file.
        #[serde(default = "default_lines")]
        lines: usize,
        /// Pause before each line (none by default: each node sends its file as fast as it can
        /// afford it).
        #[serde(default)]
        think: Think,
    },
    /// Generated transactions.
    Synthetic {
        /// Open loop: transactions per second per node (Poisson). Absent: closed loop, each node
        /// waits for its previous transaction to commit or fail.
        rate_per_node: Option<f64>,
        /// Instead: each node sends as fast as its node takes them (a chunk per turn), the TCP
        /// benchmark's load.
        #[serde(default)]
        burst: bool,
        /// Total transactions, over all nodes.
        count: usize,
        /// Share of coin transfers (the rest are messages).
        #[serde(default = "default_coin_fraction")]
        coin_fraction: f64,
        /// Transfer amounts in units, uniform in [min, max].
        #[serde(default = "default_amounts")]
        amount_units: [u64; 2],
        /// Message lengths in characters, uniform in [min, max].
        #[serde(default = "default_message_len")]
        message_chars: [usize; 2],
        /// Who receives.
        #[serde(default = "default_receivers")]
        receivers: Receivers,
    },
}

fn default_lines() -> usize {
    100
}
fn default_coin_fraction() -> f64 {
    0.5
}
fn default_amounts() -> [u64; 2] {
    [1_000, 100_000]
}
fn default_message_len() -> [usize; 2] {
    [1, 3]
}
fn default_receivers() -> Receivers {
    Receivers::Uniform
}

/// When a run ends (it also ends when nothing is left to happen).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "when", rename_all = "snake_case", deny_unknown_fields)]
pub enum Stop {
    /// Every submission committed or rejected, plus a short drain for blocks in flight.
    Committed,
    /// At this virtual time.
    Time {
        /// Seconds.
        seconds: f64,
    },
    /// Once the reference node's chain has this many blocks after genesis.
    Blocks {
        /// Blocks.
        count: u64,
    },
}

/// How a Byzantine node misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Behaviour {
    /// Never publishes the blocks it mints.
    SilentValidator,
    /// Sends its transactions with corrupted signatures.
    InvalidSignatures,
    /// Sends two transactions with one nonce to different peers.
    DoubleSpend,
    /// Sends old committed transactions again.
    Replay,
    /// Mints blocks when not chosen (as itself and as the chosen validator).
    Forge,
    /// Mints two different blocks at one height for different peers.
    Equivocate,
    /// Holds back the blocks it mints for a while before publishing them.
    Withhold,
}

/// A scheduled fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// The node stops at `at_s` and, if `restart_s` is set, comes back keeping its chain.
    Crash {
        /// Node index.
        node: usize,
        /// Seconds.
        at_s: f64,
        /// Seconds.
        restart_s: Option<f64>,
    },
    /// The node runs an adversary around the honest node from the start.
    Byzantine {
        /// Node index.
        node: usize,
        /// What it does.
        behaviour: Behaviour,
    },
}

/// A scheduled change of the network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum NetEvent {
    /// Only nodes in the same group can talk.
    Partition {
        /// Seconds.
        at_s: f64,
        /// Disjoint groups of node indices; unlisted nodes form one more group.
        groups: Vec<Vec<usize>>,
    },
    /// Messages from `from` to `to` are lost (not the other way).
    OneWay {
        /// Seconds.
        at_s: f64,
        /// Senders.
        from: Vec<usize>,
        /// Receivers.
        to: Vec<usize>,
    },
    /// One link (both directions) gets extra latency and/or a loss rate.
    Link {
        /// Seconds.
        at_s: f64,
        /// One end.
        a: usize,
        /// The other end.
        b: usize,
        /// Added latency, ms.
        #[serde(default)]
        extra_ms: f64,
        /// Loss probability.
        #[serde(default)]
        loss: f64,
    },
    /// Every partition and link change is undone; separated nodes reconnect.
    Heal {
        /// Seconds.
        at_s: f64,
    },
}

/// Everything one run needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scenario {
    /// A label for reports.
    pub name: String,
    /// The one seed every random stream derives from.
    pub seed: u64,
    /// Number of nodes.
    pub nodes: usize,
    /// Transactions per block.
    pub capacity: usize,
    /// Stakes at genesis, whole BCC.
    pub stake: Stakes,
    /// Liveness timeout before moving to the next lottery round, ms.
    pub round_timeout_ms: u64,
    /// With partial blocks: longest wait before minting a partial block, ms.
    pub max_block_interval_ms: Option<u64>,
    /// Blocks a reorganisation may undo.
    pub max_reorg_depth: u64,
    /// BCC each node starts with.
    pub initial_balance_bcc: u64,
    /// When the nodes' links come up.
    pub startup: Startup,
    /// Most pending transactions per node.
    pub mempool_limit: usize,
    /// Verify every signature in every node instead of sharing verdicts.
    pub real_crypto: bool,
    /// The network.
    pub network: Network,
    /// The overlay.
    pub topology: Topology,
    /// The CPU model.
    pub cpu: Cpu,
    /// What the nodes submit.
    pub workload: Workload,
    /// When to stop.
    pub stop: Stop,
    /// Crashes and Byzantine nodes.
    pub faults: Vec<Fault>,
    /// Partitions, link changes, heals.
    pub events: Vec<NetEvent>,
    /// Virtual seconds after which a run stops whatever else is set.
    pub max_seconds: f64,
    /// All nodes share one host with this many cores (a local cluster): every step a node's
    /// loop, reader or writer takes waits for a free core. Absent: a machine each.
    pub shared_cores: Option<usize>,
}

/// When the links come up at the start (a real network forms over some milliseconds, not at
/// once; each end of a link learns of it on its own).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Startup {
    /// Each end of each link comes up at a time uniform in [min, max] ms.
    pub link_ms: [f64; 2],
    /// Nodes whose links all come up later by this much.
    pub late: Vec<Late>,
}

/// A node whose links come up late.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Late {
    /// The node.
    pub node: usize,
    /// How much later, ms.
    pub by_ms: f64,
}

impl Default for Scenario {
    /// The course's performance experiment: 5 nodes, capacity 5, stake 10, generated
    /// course-format inputs, a LAN.
    fn default() -> Self {
        Scenario {
            name: "course".into(),
            seed: 1,
            nodes: 5,
            capacity: 5,
            stake: Stakes::Uniform(10),
            round_timeout_ms: 2_000,
            max_block_interval_ms: None,
            max_reorg_depth: blockchat_core::params::DEFAULT_MAX_REORG_DEPTH,
            initial_balance_bcc: blockchat_core::params::COURSE_START_BCC,
            startup: Startup::default(),
            mempool_limit: 100_000,
            real_crypto: false,
            network: Network::lan(),
            topology: Topology::FullMesh,
            cpu: Cpu::Calibrated,
            workload: Workload::Course { inputs: None, lines: 100, think: Think::default() },
            stop: Stop::Committed,
            faults: Vec::new(),
            events: Vec::new(),
            max_seconds: 3_600.0,
            shared_cores: None,
        }
    }
}

impl Scenario {
    /// Reads a scenario from a `.toml` or `.json` file; unset fields keep their defaults.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read { path: path.into(), source })?;
        let parsed = if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text).map_err(|e| e.to_string())
        } else {
            toml::from_str(&text).map_err(|e| e.to_string())
        };
        let scenario: Scenario = parsed.map_err(|message| ScenarioError::Parse { path: path.into(), message })?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// The network's parameters for this scenario.
    pub fn network_params(&self) -> NetworkParams {
        NetworkParams {
            capacity: self.capacity,
            max_block_interval: self.max_block_interval_ms.map(std::time::Duration::from_millis),
            round_timeout: std::time::Duration::from_millis(self.round_timeout_ms),
            max_reorg_depth: self.max_reorg_depth,
            initial_balance: self.initial_balance_bcc.saturating_mul(UNITS_PER_BCC),
        }
    }

    /// Stake of each node, in units.
    pub fn stakes_units(&self) -> Vec<u64> {
        match &self.stake {
            Stakes::Uniform(s) => vec![s.saturating_mul(UNITS_PER_BCC); self.nodes],
            Stakes::PerNode(v) => v.iter().map(|s| s.saturating_mul(UNITS_PER_BCC)).collect(),
        }
    }

    /// A short description of the stake profile for reports: `10` or `100/10/10/10/10`.
    pub fn stake_label(&self) -> String {
        match &self.stake {
            Stakes::Uniform(s) => s.to_string(),
            Stakes::PerNode(v) => v.iter().map(u64::to_string).collect::<Vec<_>>().join("/"),
        }
    }

    /// Checks ranges and cross-references.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        let nodes = self.nodes;
        if nodes < 2 {
            return Err(ScenarioError::TooFewNodes { nodes });
        }
        self.network_params().validate()?;
        if self.shared_cores == Some(0) {
            return Err(ScenarioError::ZeroSharedCores);
        }
        match &self.stake {
            Stakes::PerNode(v) if v.len() != nodes => {
                return Err(ScenarioError::StakeCount { given: v.len(), nodes });
            }
            Stakes::PerNode(v) if v.iter().all(|s| *s == 0) => return Err(ScenarioError::NobodyStakes),
            Stakes::Uniform(0) => return Err(ScenarioError::NobodyStakes),
            _ => {}
        }
        let stakes = match &self.stake {
            Stakes::Uniform(s) => vec![*s; nodes],
            Stakes::PerNode(v) => v.clone(),
        };
        if let Some((node, &stake_bcc)) = stakes.iter().enumerate().find(|(_, s)| **s > self.initial_balance_bcc) {
            return Err(ScenarioError::StakeAboveBalance { node, stake_bcc, balance_bcc: self.initial_balance_bcc });
        }
        if let Topology::Regular { k } = self.topology
            && (k >= nodes || (k * nodes) % 2 == 1 || k == 0)
        {
            return Err(ScenarioError::NoRegularOverlay { k, nodes });
        }
        if let Some(loss) = &self.network.loss
            && !(0.0..1.0).contains(&loss.rate)
        {
            return Err(ScenarioError::LossRate { rate: loss.rate });
        }
        for f in &self.faults {
            let (Fault::Crash { node, .. } | Fault::Byzantine { node, .. }) = f;
            if *node >= nodes {
                return Err(ScenarioError::FaultNode { node: *node, nodes });
            }
        }
        let mut named: Vec<usize> = self.startup.late.iter().map(|l| l.node).collect();
        for e in &self.events {
            match e {
                NetEvent::Partition { groups, .. } => named.extend(groups.iter().flatten()),
                NetEvent::OneWay { from, to, .. } => named.extend(from.iter().chain(to)),
                NetEvent::Link { a, b, .. } => named.extend([*a, *b]),
                NetEvent::Heal { .. } => {}
            }
        }
        if let Some(&node) = named.iter().find(|n| **n >= nodes) {
            return Err(ScenarioError::EventNode { node, nodes });
        }
        if let Workload::Synthetic { rate_per_node: Some(rate), .. } = &self.workload
            && (*rate <= 0.0 || !rate.is_finite())
        {
            return Err(ScenarioError::Rate { rate: *rate });
        }
        let range = |what, [min_ms, max_ms]: [f64; 2]| {
            if min_ms < 0.0 || max_ms < min_ms || !max_ms.is_finite() {
                return Err(ScenarioError::Range { what, min_ms, max_ms });
            }
            Ok(())
        };
        if let Workload::Course { think, .. } = &self.workload {
            range("think time", [think.min_ms, think.max_ms])?;
        }
        range("link start-up", self.startup.link_ms)?;
        for l in &self.startup.late {
            range("late start", [l.by_ms, l.by_ms])?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_and_json_scenarios_parse_with_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let toml_path = dir.path().join("s.toml");
        std::fs::write(
            &toml_path,
            r#"
            seed = 9
            nodes = 4
            stake = [100, 10, 10, 10]
            topology = { kind = "regular", k = 2 }
            network = { fifo = false, latency = { model = "uniform", min_ms = 1.0, max_ms = 2.0 } }
            workload = { kind = "synthetic", count = 40, rate_per_node = 5.0 }
            stop = { when = "time", seconds = 3.0 }
            [[faults]]
            kind = "crash"
            node = 1
            at_s = 1.0
            restart_s = 2.0
            [[events]]
            kind = "partition"
            at_s = 0.5
            groups = [[0, 1], [2, 3]]
            "#,
        )
        .unwrap();
        let s = Scenario::load(&toml_path).unwrap();
        assert_eq!((s.seed, s.nodes, s.capacity), (9, 4, 5));
        assert_eq!(s.stake_label(), "100/10/10/10");
        assert_eq!(s.faults.len(), 1);
        let json_path = dir.path().join("s.json");
        std::fs::write(&json_path, serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(Scenario::load(&json_path).unwrap(), s);
    }

    #[test]
    fn bad_scenarios_are_typed_errors() {
        let dir = tempfile::tempdir().unwrap();
        type Check = fn(&ScenarioError) -> bool;
        let cases: [(&str, Check); 11] = [
            ("nodes = 1", |e| matches!(e, ScenarioError::TooFewNodes { nodes: 1 })),
            ("stake = [1, 2]", |e| matches!(e, ScenarioError::StakeCount { given: 2, nodes: 5 })),
            ("stake = 0", |e| matches!(e, ScenarioError::NobodyStakes)),
            ("stake = 1001", |e| matches!(e, ScenarioError::StakeAboveBalance { node: 0, stake_bcc: 1001, .. })),
            ("capacity = 0", |e| matches!(e, ScenarioError::Params(ParamsError::ZeroCapacity))),
            ("topology = { kind = \"regular\", k = 3 }", |e| {
                matches!(e, ScenarioError::NoRegularOverlay { k: 3, nodes: 5 })
            }),
            ("bogus = 1", |e| matches!(e, ScenarioError::Parse { message, .. } if message.contains("unknown field"))),
            ("[[faults]]\nkind = \"crash\"\nnode = 9\nat_s = 1.0", |e| {
                matches!(e, ScenarioError::FaultNode { node: 9, nodes: 5 })
            }),
            ("startup = { late = [{ node = 7, by_ms = 5.0 }] }", |e| {
                matches!(e, ScenarioError::EventNode { node: 7, nodes: 5 })
            }),
            ("workload = { kind = \"course\", think = { min_ms = 5.0, max_ms = 1.0 } }", |e| {
                matches!(e, ScenarioError::Range { what: "think time", .. })
            }),
            ("nodes = \"five\"", |e| matches!(e, ScenarioError::Parse { .. })),
        ];
        for (text, check) in cases {
            let p = dir.path().join("bad.toml");
            std::fs::write(&p, text).unwrap();
            let err = Scenario::load(&p).unwrap_err();
            assert!(check(&err), "{text}: {err:?}");
        }
        let missing = Scenario::load(&dir.path().join("nope.toml")).unwrap_err();
        assert!(matches!(missing, ScenarioError::Read { .. }));
    }
}
