//! The command line: the node (the course's flags), `client`, `cluster` and `inputs`.

use std::net::SocketAddr;
use std::path::PathBuf;

use blockchat_core::params::DEFAULT_MAX_REORG_DEPTH;
use blockchat_core::parse_bcc;
use blockchat_host::Think;
use clap::{Args, Parser, Subcommand};

use crate::daemon::parse_think;
use crate::daemon::wire::DEFAULT_MAX_FRAME;

fn bcc(text: &str) -> Result<u64, String> {
    parse_bcc(text).map_err(|e| e.to_string())
}

/// Seconds: a finite number, zero or more.
fn seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s >= 0.0 => Ok(s),
        _ => Err(format!("'{text}' is not a number of seconds (zero or more, like 1 or 0.5)")),
    }
}

/// BlockChat: a Proof-of-Stake blockchain node, its client, a local cluster runner and a
/// calibration of this machine's I/O for the simulator.
#[derive(Debug, Parser)]
#[command(
    name = "blockchat",
    version,
    args_conflicts_with_subcommands = true,
    args_override_self = true,
    after_help = "Examples:
  blockchat --bootstrap -n 5 -c 10 -s 10 --listen 127.0.0.1:7000 --data-dir /tmp/bc/0
  blockchat --join 127.0.0.1:7000 --listen 127.0.0.2:7000 -s 10 --data-dir /tmp/bc/1
  blockchat --data-dir /tmp/bc/1                    # restart: the data dir is enough
  blockchat --config node1.toml --stake 20          # settings from a file, one overridden
  blockchat cluster -n 5 -c 10 -s 10                # five local nodes, a workload, a check"
)]
pub struct Cli {
    /// A subcommand; without one, run a node.
    #[command(subcommand)]
    pub command: Option<Sub>,
    /// The node's settings.
    #[command(flatten)]
    pub node: NodeArgs,
}

/// Running a node.
#[derive(Debug, Clone, Args, serde::Serialize)]
pub struct NodeArgs {
    /// Read settings from this TOML file, keys named as the long flags (`stake = "20"`,
    /// `listen = "127.0.0.1:7000"`, `no_fsync = true`); flags on the command line override it.
    #[arg(long, value_name = "FILE")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Start the bootstrap node (node 0), which forms the network.
    #[arg(long, conflicts_with = "join")]
    pub bootstrap: bool,
    /// Join the network whose bootstrap listens at this address.
    #[arg(long, value_name = "ADDR")]
    pub join: Option<String>,
    /// Nodes in the network, the bootstrap included (bootstrap only).
    #[arg(requires = "bootstrap", short = 'n', long = "nodes", value_name = "N")]
    pub nodes: Option<u32>,
    /// Transactions per block (bootstrap only; others learn the network's parameters from its
    /// genesis).
    #[arg(requires = "bootstrap", short = 'c', long = "capacity", value_name = "C")]
    pub capacity: Option<u32>,
    /// With --bootstrap: a validator mints a partial block once a transaction has waited this
    /// long, or nothing new has arrived for a quarter of it (0: full blocks only, the course's
    /// rule).
    #[arg(requires = "bootstrap", long, value_name = "MS", default_value_t = 1000)]
    pub max_block_interval_ms: u64,
    /// With --bootstrap: full blocks only (the course's rule; same as --max-block-interval-ms 0).
    #[arg(requires = "bootstrap", long)]
    pub full_blocks: bool,
    /// With --bootstrap: blocks a reorganisation may undo.
    #[arg(requires = "bootstrap", long, value_name = "N", default_value_t = DEFAULT_MAX_REORG_DEPTH)]
    pub max_reorg_depth: u64,
    /// With --bootstrap: BCC every node starts with.
    #[arg(requires = "bootstrap", long, value_name = "BCC", value_parser = bcc, default_value = "1000")]
    #[serde(serialize_with = "crate::config::bcc")]
    pub initial_balance: u64,
    /// A shared secret joiners must hold: with --bootstrap, required of every joiner; when
    /// joining, the one the bootstrap's operator gave (it is proven, never sent).
    #[arg(long, value_name = "TOKEN")]
    pub join_token: Option<String>,
    /// With --bootstrap: only the public keys listed in FILE (64 hex digits a line, `#`
    /// comments) may join.
    #[arg(requires = "bootstrap", long, value_name = "FILE")]
    pub allow_keys: Option<PathBuf>,
    /// This node's initial stake in BCC (decimals allowed).
    #[arg(short = 's', long = "stake", value_name = "BCC", value_parser = bcc, default_value = "10")]
    #[serde(serialize_with = "crate::config::bcc")]
    pub stake: u64,
    /// Address to listen on for peers (host:port).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Address peers should dial, when it is not the listen address.
    #[arg(long, value_name = "ADDR")]
    pub advertise: Option<String>,
    /// Where the key, the roster and the block log live.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// A course-format file (`id<N> <message>` lines) to send once the network is ready.
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Send this many small coin transfers once the network is ready (benchmarks).
    #[arg(long, value_name = "COUNT", conflicts_with = "input")]
    pub synthetic: Option<usize>,
    /// Submit the workload at this many transactions per second on average (Poisson arrivals;
    /// default: as fast as the node takes them).
    #[arg(long, value_name = "TX_PER_S", conflicts_with = "think_ms")]
    pub rate: Option<f64>,
    /// Pause before each line, uniform in MIN-MAX milliseconds (the course client: 100-500).
    #[arg(long, value_name = "MS|MIN-MAX", value_parser = parse_think)]
    #[serde(serialize_with = "crate::config::think")]
    pub think_ms: Option<Think>,
    /// Seed of the client's think times and generated transactions.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// No interactive prompt (scripts and services); logs go to stderr.
    #[arg(long)]
    pub no_repl: bool,
    /// The API's and the explorer's address (default: the listen IP if loopback, else 127.0.0.1;
    /// listen port + 1).
    #[arg(long, value_name = "ADDR", alias = "control")]
    pub api: Option<SocketAddr>,
    /// The API's password (default: a random secret written to the data dir's `.cookie` at each
    /// start). Prefer the environment variable or the config file to the command line.
    #[arg(long, value_name = "PASSWORD", env = "BLOCKCHAT_API_PASSWORD", hide_env_values = true)]
    #[serde(skip_serializing)]
    pub api_password: Option<String>,
    /// With --bootstrap: milliseconds the network gives a silent validator before the next
    /// lottery round (a network rule, sent to every node that joins).
    #[arg(requires = "bootstrap", long, value_name = "MS", default_value_t = 2000)]
    pub round_timeout_ms: u64,
    /// Do not fsync the block log after each block (faster, loses the tail on power loss).
    #[arg(long)]
    pub no_fsync: bool,
    /// Largest frame accepted from a peer, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_FRAME)]
    pub max_frame: usize,
    /// Tokio worker threads.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub threads: usize,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Sub {
    /// Run one prompt command against a running node's API.
    ///
    /// Examples: `blockchat client --data-dir node1 balance`, `blockchat client --node
    /// 127.0.0.1:7001 --password secret t 2 12.5`, `blockchat client --data-dir node1 --json view`.
    #[command(after_help = crate::prompt::command::HELP)]
    Client(ClientArgs),
    /// Open the interactive prompt against a running node, through its API (like `geth attach`).
    #[command(after_help = "Examples:
  blockchat attach --data-dir node1
  BLOCKCHAT_API_PASSWORD=secret blockchat attach --node 127.0.0.1:7101")]
    Attach(Target),
    /// Start n nodes on 127.0.0.1 … 127.0.0.n, run a workload, measure, check, stop.
    #[command(after_help = "Examples:
  blockchat cluster -n 5 -c 10 -s 10
  blockchat cluster -n 10 -c 5 --inputs ../shared/data/blockchat-inputs/10nodes --think-ms 100-500
  blockchat cluster -n 5 -c 100 --synthetic 100000 --runs 3 --csv synthetic.csv")]
    Cluster(ClusterArgs),
    /// Write generated course-format input files (seeded, deterministic).
    #[command(after_help = "Example:\n  blockchat inputs -n 5 --lines 100 --seed 1 --out inputs/5nodes")]
    Inputs(InputsArgs),
    /// Measure this machine's I/O as the daemon does it (frames over loopback TCP, block-log
    /// appends and syncs) and print the simulator's cost model fields for it.
    #[command(after_help = "Example:\n  blockchat calibrate --data-dir /var/lib/blockchat --out io.toml")]
    Calibrate(CalibrateArgs),
    /// Cut a damaged block log at its first damaged record (the whole log is copied aside
    /// first); the node then fetches the blocks after it from its peers.
    #[command(after_help = "Example (the node is stopped):\n  blockchat repair --data-dir /var/lib/blockchat")]
    Repair(RepairArgs),
    /// Settings: `blockchat config show [--config FILE] [flags]` prints what a node started with
    /// them would use, as a config file.
    #[command(after_help = "Example:\n  blockchat config show --config node1.toml --stake 20")]
    Config(ConfigArgs),
    /// Print a shell completion script (`blockchat completions bash > /etc/bash_completion.d/blockchat`).
    #[command(
        after_help = "Example:\n  blockchat completions bash > ~/.local/share/bash-completion/completions/blockchat"
    )]
    Completions(CompletionsArgs),
    /// Print the manual page, in roff (`blockchat man > blockchat.1; man ./blockchat.1`).
    #[command(after_help = "Example:\n  blockchat man > blockchat.1 && man ./blockchat.1")]
    Man,
}

/// `blockchat config`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// What to do.
    #[command(subcommand)]
    pub what: ConfigWhat,
}

/// `blockchat config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigWhat {
    /// Print the effective settings (the file's, overridden by the flags) as TOML.
    #[command(
        args_override_self = true,
        after_help = "Example:\n  blockchat config show --config node1.toml --stake 20"
    )]
    Show(Box<NodeArgs>),
}

/// `blockchat completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `blockchat repair`.
#[derive(Debug, Args)]
pub struct RepairArgs {
    /// The node's data directory (the one holding blocks.log).
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
}

/// `blockchat calibrate`.
#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// Where to write the block-log test file (the disk the nodes' data dirs use).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Also write the result (TOML) to this file.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Skip the small real cluster that measures the daemon's own work per input (it then
    /// keeps the model's default).
    #[arg(long)]
    pub no_cluster: bool,
    /// The second byte of the loopback addresses of that cluster (127.B.0.k).
    #[arg(long, default_value_t = 34)]
    pub subnet: u8,
}

/// Which running node to talk to.
#[derive(Debug, Clone, Args)]
pub struct Target {
    /// The node's data dir (its `api.addr` and `.cookie` say where and how).
    #[arg(long, value_name = "DIR", required_unless_present = "node")]
    pub data_dir: Option<PathBuf>,
    /// Or: the node's API, `host:port` or `http://host:port`.
    #[arg(long, value_name = "URL", conflicts_with = "data_dir")]
    pub node: Option<String>,
    /// The API password (or the secret in the node's `.cookie`); with --data-dir, for a node
    /// that was given a password and so wrote no cookie.
    #[arg(long, value_name = "PASSWORD", env = "BLOCKCHAT_API_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// The node's cookie file.
    #[arg(long, value_name = "FILE", conflicts_with = "password")]
    pub cookie: Option<PathBuf>,
}

impl Target {
    /// Where the node's API is and its secret.
    pub fn endpoint(&self) -> Result<crate::api::client::Endpoint, crate::api::client::ClientError> {
        use crate::api::auth::Secret;
        use crate::api::client::Endpoint;
        match (&self.data_dir, &self.node) {
            // A node given a password writes no cookie: the password is the secret.
            (Some(dir), _) if self.password.is_some() || self.cookie.is_some() => {
                let addr = dir.join(crate::api::auth::ADDR_FILE);
                let text = std::fs::read_to_string(&addr)
                    .map_err(|error| crate::api::client::ClientError::NoEndpoint { path: addr, error })?;
                let secret = match (&self.cookie, &self.password) {
                    (Some(file), _) => Secret::read_cookie(file)?,
                    (None, p) => Secret::password(p.as_deref().unwrap_or_default()),
                };
                Ok(Endpoint::new(&text, secret))
            }
            (Some(dir), _) => Endpoint::from_data_dir(dir),
            (None, Some(url)) => {
                let secret = match (&self.cookie, &self.password) {
                    (Some(file), _) => Secret::read_cookie(file)?,
                    (None, Some(p)) => Secret::password(p),
                    (None, None) => Secret::password(""),
                };
                Ok(Endpoint::new(url, secret))
            }
            (None, None) => Ok(Endpoint::new("127.0.0.1:7001", Secret::password(""))),
        }
    }
}

/// `blockchat client`.
#[derive(Debug, Args)]
pub struct ClientArgs {
    /// The node.
    #[command(flatten)]
    pub target: Target,
    /// Print the answer as the API's JSON.
    #[arg(long)]
    pub json: bool,
    /// The command, as typed at the prompt (e.g. `t 2 12.5`, `balance`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    pub command: Vec<String>,
}

/// `blockchat cluster`.
#[derive(Debug, Clone, Args)]
pub struct ClusterArgs {
    /// Nodes.
    #[arg(short = 'n', long = "nodes", default_value_t = 5)]
    pub nodes: u32,
    /// Transactions per block.
    #[arg(short = 'c', long = "capacity", default_value_t = 10)]
    pub capacity: u32,
    /// Each node's stake in BCC.
    #[arg(short = 's', long = "stake", value_parser = bcc, default_value = "10")]
    pub stake: u64,
    /// The fairness setting: node 0 stakes 100 BCC, the others `--stake`.
    #[arg(long)]
    pub fairness: bool,
    /// A directory of course-format files trans0.txt … trans{n-1}.txt (default: generated).
    #[arg(long, value_name = "DIR")]
    pub inputs: Option<PathBuf>,
    /// Instead of input files: this many coin transfers in all, split evenly between nodes.
    #[arg(long, value_name = "COUNT", conflicts_with = "inputs")]
    pub synthetic: Option<usize>,
    /// Lines per generated input file.
    #[arg(long, default_value_t = 100)]
    pub lines: usize,
    /// Seed of the generated input files and the clients.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Pause before each line, uniform in MIN-MAX milliseconds (the course client: 100-500).
    #[arg(long, value_name = "MS|MIN-MAX", value_parser = parse_think)]
    pub think_ms: Option<Think>,
    /// A validator mints a partial block once a transaction has waited this long, or nothing
    /// new has arrived for a quarter of it (0: full blocks only, the course's rule).
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub max_block_interval_ms: u64,
    /// Full blocks only (the course's rule; same as --max-block-interval-ms 0).
    #[arg(long)]
    pub full_blocks: bool,
    /// First port (every node listens on 127.0.0.k:PORT, its control on PORT+1).
    #[arg(long, default_value_t = 7000)]
    pub port: u16,
    /// The second byte of the loopback addresses used (127.B.0.k), so runs can coexist.
    #[arg(long, default_value_t = 0)]
    pub subnet: u8,
    /// Append a CSV row per run to this file (header written if new).
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Repeat the run this many times.
    #[arg(long, default_value_t = 1)]
    pub runs: usize,
    /// Keep the nodes' data dirs here (default: a temporary directory, removed afterwards).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
    /// Seconds without a new block, once every line is committed or given up, that end a run
    /// (a run whose lines cannot all be sent ends after this plus two round timeouts and the
    /// block interval without one).
    #[arg(long, value_parser = seconds, default_value_t = 1.0)]
    pub quiet: f64,
    /// Pass --no-fsync to the nodes.
    #[arg(long)]
    pub no_fsync: bool,
    /// Lottery round timeout of the nodes, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    pub round_timeout_ms: u64,
    /// Tokio worker threads per node.
    #[arg(long, default_value_t = 2)]
    pub node_threads: usize,
}

/// `blockchat inputs`.
#[derive(Debug, Args)]
pub struct InputsArgs {
    /// Nodes (files trans0.txt … trans{n-1}.txt).
    #[arg(short = 'n', long = "nodes", default_value_t = 5)]
    pub nodes: usize,
    /// Lines per file.
    #[arg(long, default_value_t = 100)]
    pub lines: usize,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output directory.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every command of `command` (itself and its subcommands, recursively) whose help shows no
    /// example, by path.
    fn commands_without_examples(command: &clap::Command, path: &str) -> Vec<String> {
        let mut missing = Vec::new();
        let shows = |c: &clap::Command| {
            [c.get_after_help(), c.get_after_long_help(), c.get_long_about()]
                .into_iter()
                .flatten()
                .any(|text| text.to_string().contains("Example"))
        };
        if command.get_name() != "help" && !shows(command) {
            missing.push(path.to_string());
        }
        for sub in command.get_subcommands() {
            missing.extend(commands_without_examples(sub, &format!("{path} {}", sub.get_name())));
        }
        missing
    }

    #[test]
    fn every_command_shows_an_example() {
        let missing = commands_without_examples(&super::Cli::command(), "blockchat");
        assert!(missing.is_empty(), "no example in the help of: {missing:?}");
    }
}
