//! Command-line interface.

use std::fs::OpenOptions;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use blockchat_host::CostModel;
use blockchat_host::Think;
use blockchat_host::client::course;
use blockchat_host::client::synthetic::Receivers;
use blockchat_sim::scenario::{Cpu, Latency, Network, Scenario, ScenarioError, Stakes, Stop, Topology, Workload};
use blockchat_sim::{Progress, Report, SimError, Simulation, export, say, say_raw};
use clap::{Args, CommandFactory, Parser, Subcommand};

/// A deterministic virtual-time simulator of BlockChat networks.
#[derive(Debug, Parser)]
#[command(name = "blockchat-sim", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one scenario (by default the course's performance experiment) and print its summary.
    #[command(after_help = "Examples:
  blockchat-sim run                                   # 5 nodes, capacity 5, stake 10, generated inputs
  blockchat-sim run -n 10 -c 20 -s 10 --seed 7
  blockchat-sim run --inputs ../shared/data/blockchat-inputs/5nodes -c 10
  blockchat-sim run -n 5 -s 100,10,10,10,10 --csv fairness.csv
  blockchat-sim run --think-ms 100-500               # the course client's pause per line
  blockchat-sim run -n 200 --topology regular:8 --network wan --synthetic 20000 --rate 5
  blockchat-sim run --scenario scenarios/partition.toml --export-chain chain.json
  blockchat-sim run --check-determinism
  blockchat calibrate --out io.toml && blockchat-sim run --scenario io.toml --shared-cores 2 -c 10
                                                      # a local cluster of this machine")]
    Run(Box<RunArgs>),
    /// Write course-format input files (trans{i}.txt, lines `id<N> <message>`).
    #[command(after_help = "Example:\n  blockchat-sim gen-inputs -n 10 --lines 100 --seed 3 --out inputs/10nodes")]
    GenInputs {
        /// Number of nodes (files).
        #[arg(short = 'n', long)]
        nodes: usize,
        /// Lines per file.
        #[arg(long, default_value_t = 100)]
        lines: usize,
        /// Seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
    },
    /// Measure this machine's cryptography and print a CPU cost model (TOML for `[cpu]`).
    #[command(after_help = "Example:\n  blockchat-sim calibrate > cpu.toml   # then --scenario cpu.toml")]
    Calibrate,
    /// Run the documented performance scenarios and print wall times.
    #[command(
        after_help = "Examples:\n  blockchat-sim bench\n  blockchat-sim bench --only overlay\n  blockchat-sim bench --large --only 10000   # 10,000 nodes × 10,000 transactions"
    )]
    Bench {
        /// Run only the scenarios whose name contains this.
        #[arg(long)]
        only: Option<String>,
        /// Also the Ethereum-size overlays: 2,000, 5,000 and 10,000 nodes × 10,000 transactions
        /// (minutes, and up to 6 GiB).
        #[arg(long)]
        large: bool,
    },
    /// Print a shell completion script (`blockchat-sim completions bash`).
    #[command(
        after_help = "Example:\n  blockchat-sim completions bash > ~/.local/share/bash-completion/completions/blockchat-sim"
    )]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page, in roff (`blockchat-sim man > blockchat-sim.1`).
    #[command(after_help = "Example:\n  blockchat-sim man > blockchat-sim.1 && man ./blockchat-sim.1")]
    Man,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// A scenario file (TOML or JSON); the flags below override it.
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// Number of nodes.
    #[arg(short = 'n', long)]
    nodes: Option<usize>,
    /// Transactions per block.
    #[arg(short = 'c', long)]
    capacity: Option<usize>,
    /// Stake in BCC: one value for all, or one per node separated by commas (100,10,10,10,10).
    #[arg(short = 's', long)]
    stake: Option<String>,
    /// Seed of every random choice.
    #[arg(long)]
    seed: Option<u64>,
    /// Directory of course-format files trans0.txt … (generated from the seed if absent).
    #[arg(long)]
    inputs: Option<PathBuf>,
    /// Lines per generated input file.
    #[arg(long)]
    lines: Option<usize>,
    /// Pause before each input line, ms: `100` or a uniform range `100-500`.
    #[arg(long)]
    think_ms: Option<String>,
    /// A synthetic workload of this many transactions instead of input files.
    #[arg(long)]
    synthetic: Option<usize>,
    /// With --synthetic: open-loop rate per node (tx/s); closed loop if absent.
    #[arg(long)]
    rate: Option<f64>,
    /// With --synthetic: each node sends as fast as its node takes them (the TCP benchmark's load).
    #[arg(long, conflicts_with = "rate")]
    burst: bool,
    /// Network: ideal, lan, wan, constant:MS, uniform:MIN:MAX, lognormal:MEDIAN:SIGMA.
    #[arg(long)]
    network: Option<String>,
    /// Overlay: full or regular:K.
    #[arg(long)]
    topology: Option<String>,
    /// CPU model: calibrated or zero.
    #[arg(long)]
    cpu: Option<String>,
    /// Verify every signature in every node (slow) instead of sharing verdicts.
    #[arg(long)]
    real_crypto: bool,
    /// All nodes share one machine with this many cores and one disk (a local cluster).
    #[arg(long)]
    shared_cores: Option<usize>,
    /// Round timeout, ms.
    #[arg(long)]
    round_timeout_ms: Option<u64>,
    /// Allow partial blocks after this many ms (or a quarter of it without new arrivals).
    #[arg(long)]
    max_block_interval_ms: Option<u64>,
    /// Stop condition: committed, time:SECONDS or blocks:COUNT.
    #[arg(long)]
    until: Option<String>,
    /// Append one CSV row for this run to FILE.
    #[arg(long)]
    csv: Option<PathBuf>,
    /// Append one CSV row per block to FILE.
    #[arg(long)]
    blocks_csv: Option<PathBuf>,
    /// Write the final chain as JSON to FILE.
    #[arg(long)]
    export_chain: Option<PathBuf>,
    /// Write a JSON-lines event trace to FILE.
    #[arg(long)]
    trace: Option<PathBuf>,
    /// Run twice and fail if anything differs.
    #[arg(long)]
    check_determinism: bool,
    /// Print only the fingerprint line.
    #[arg(long)]
    quiet: bool,
}

/// Runs the parsed command.
pub fn execute(cli: Cli) -> Result<(), SimError> {
    match cli.command {
        Command::Run(args) => run(*args),
        Command::GenInputs { nodes, lines, seed: s, out } => {
            course::write_dir(&out, nodes, lines, s)?;
            say!("wrote {nodes} files of {lines} lines to {}", out.display());
            Ok(())
        }
        Command::Calibrate => {
            let m = CostModel::calibrate();
            say!("# measured on this machine; paste into a scenario\n[cpu]\nmodel = \"custom\"");
            say_raw!("{}", toml::to_string(&m)?);
            Ok(())
        }
        Command::Bench { only, large } => crate::cli::bench(only.as_deref(), large),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "blockchat-sim", &mut std::io::stdout());
            Ok(())
        }
        Command::Man => clap_mangen::Man::new(Cli::command())
            .render(&mut std::io::stdout())
            .map_err(|source| SimError::Output { path: None, source }),
    }
}

fn flag(flag: &'static str, value: &str, expected: &'static str) -> SimError {
    SimError::Scenario(ScenarioError::Flag { flag, value: value.to_string(), expected })
}

/// The scenario named by the file and flags.
fn scenario_of(a: &RunArgs) -> Result<Scenario, SimError> {
    let mut s = match &a.scenario {
        Some(p) => Scenario::load(p)?,
        None => Scenario::default(),
    };
    if let Some(n) = a.nodes {
        s.nodes = n;
    }
    if let Some(c) = a.capacity {
        s.capacity = c;
    }
    if let Some(seed) = a.seed {
        s.seed = seed;
    }
    if let Some(text) = &a.stake {
        let values: Result<Vec<u64>, _> = text.split(',').map(|v| v.trim().parse::<u64>()).collect();
        let values = values.map_err(|_| flag("--stake", text, "whole BCC like 10 or 100,10,10"))?;
        s.stake = if values.len() == 1 { Stakes::Uniform(values[0]) } else { Stakes::PerNode(values) };
    }
    if a.inputs.is_some() || a.lines.is_some() || a.think_ms.is_some() {
        let (mut inputs, mut lines, mut think) = match &s.workload {
            Workload::Course { inputs, lines, think } => (inputs.clone(), *lines, *think),
            Workload::Synthetic { .. } => (None, 100, Think::default()),
        };
        if a.inputs.is_some() {
            inputs = a.inputs.clone();
        }
        lines = a.lines.unwrap_or(lines);
        if let Some(t) = &a.think_ms {
            think = parse_think(t)?;
        }
        s.workload = Workload::Course { inputs, lines, think };
    }
    if let Some(count) = a.synthetic {
        s.workload = Workload::Synthetic {
            burst: a.burst,
            rate_per_node: a.rate,
            count,
            coin_fraction: 0.5,
            amount_units: [1_000, 100_000],
            message_chars: [1, 3],
            receivers: Receivers::Uniform,
        };
    }
    if let Some(n) = &a.network {
        s.network = parse_network(n)?;
    }
    if let Some(t) = &a.topology {
        s.topology = match t.as_str() {
            "full" => Topology::FullMesh,
            other => match other.strip_prefix("regular:").and_then(|k| k.parse().ok()) {
                Some(k) => Topology::Regular { k },
                None => return Err(flag("--topology", t, "full or regular:K")),
            },
        };
    }
    if let Some(c) = &a.cpu {
        s.cpu = match c.as_str() {
            "calibrated" => Cpu::Calibrated,
            "zero" => Cpu::Zero,
            _ => return Err(flag("--cpu", c, "calibrated or zero")),
        };
    }
    s.real_crypto |= a.real_crypto;
    if a.shared_cores.is_some() {
        s.shared_cores = a.shared_cores;
    }
    if let Some(t) = a.round_timeout_ms {
        s.round_timeout_ms = t;
    }
    if a.max_block_interval_ms.is_some() {
        s.max_block_interval_ms = a.max_block_interval_ms;
    }
    if let Some(u) = &a.until {
        s.stop = parse_until(u)?;
    }
    s.validate()?;
    Ok(s)
}

fn parse_think(t: &str) -> Result<Think, SimError> {
    let bad = || flag("--think-ms", t, "MS or MIN-MAX, like 100-500 (0 for none)");
    let (lo, hi) = t.split_once('-').unwrap_or((t, t));
    let lo: f64 = lo.trim().parse().map_err(|_| bad())?;
    let hi: f64 = hi.trim().parse().map_err(|_| bad())?;
    Ok(Think { min_ms: lo, max_ms: hi })
}

fn parse_network(n: &str) -> Result<Network, SimError> {
    let bad = || flag("--network", n, "ideal, lan, wan, constant:MS, uniform:MIN:MAX or lognormal:MEDIAN:SIGMA");
    let parts: Vec<&str> = n.split(':').collect();
    let num = |i: usize| parts.get(i).and_then(|p| p.parse::<f64>().ok()).ok_or_else(bad);
    let latency = match parts[0] {
        "ideal" => return Ok(Network::ideal()),
        "lan" => return Ok(Network::lan()),
        "wan" => return Ok(Network::wan()),
        "constant" => Latency::Constant { ms: num(1)? },
        "uniform" => Latency::Uniform { min_ms: num(1)?, max_ms: num(2)? },
        "lognormal" => Latency::LogNormal { median_ms: num(1)?, sigma: num(2)? },
        _ => return Err(bad()),
    };
    Ok(Network { latency, fifo: true, loss: None })
}

fn parse_until(u: &str) -> Result<Stop, SimError> {
    let bad = || flag("--until", u, "committed, time:SECONDS or blocks:COUNT");
    match u.split_once(':') {
        None if u == "committed" => Ok(Stop::Committed),
        Some(("time", v)) => Ok(Stop::Time { seconds: v.parse().map_err(|_| bad())? }),
        Some(("blocks", v)) => Ok(Stop::Blocks { count: v.parse().map_err(|_| bad())? }),
        _ => Err(bad()),
    }
}

/// Runs once, with a progress bar on a terminal after about a second.
fn run_once(s: &Scenario, trace: Option<&Path>) -> Result<Report, SimError> {
    let sim = Simulation::new(s, trace)?;
    let started = Instant::now();
    let show = std::io::stderr().is_terminal();
    let mut bar: Option<indicatif::ProgressBar> = None;
    let mut progress = |p: Progress| {
        if !show || started.elapsed() < Duration::from_secs(1) {
            return;
        }
        let b = bar.get_or_insert_with(|| {
            let b = indicatif::ProgressBar::new(p.planned.max(1));
            b.set_style(
                indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} resolved {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            b
        });
        b.set_position(p.resolved);
        b.set_message(format!("virtual {:.1}s, {} events", p.now.as_secs_f64(), p.events));
    };
    let report = sim.run(&mut progress)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(report)
}

fn run(a: RunArgs) -> Result<(), SimError> {
    let s = scenario_of(&a)?;
    let report = run_once(&s, a.trace.as_deref())?;
    if a.quiet {
        say!("fingerprint {}", report.fingerprint());
    } else {
        say_raw!("{}", report.text());
    }
    if a.check_determinism {
        let again = run_once(&s, None)?;
        if again.fingerprint() != report.fingerprint() || again.csv_row() != report.csv_row() {
            return Err(SimError::Determinism {
                seed: s.seed,
                first: report.fingerprint(),
                second: again.fingerprint(),
            });
        }
        say!("determinism check: two runs gave fingerprint {} and identical CSV rows", report.fingerprint());
    }
    if let Some(p) = &a.csv {
        append_csv(p, &Report::CSV_COLUMNS, &[report.csv_row()])?;
    }
    if let Some(p) = &a.blocks_csv {
        append_csv(p, &Report::BLOCKS_CSV_COLUMNS, &report.blocks_csv_rows())?;
    }
    if let Some(p) = &a.export_chain {
        export::write_chain(&report, p).map_err(|source| SimError::Output { path: Some(p.clone()), source })?;
    }
    Ok(())
}

/// Appends `rows` to the CSV file at `path`, writing the header first if the file is new.
pub fn append_csv(path: &Path, header: &[&str], rows: &[Vec<String>]) -> Result<(), SimError> {
    let fail = |source: std::io::Error| SimError::Output { path: Some(path.to_path_buf()), source };
    let fresh = std::fs::metadata(path).map(|m| m.len() == 0).unwrap_or(true);
    let file = OpenOptions::new().create(true).append(true).open(path).map_err(fail)?;
    let mut w = csv::Writer::from_writer(file);
    if fresh {
        w.write_record(header).map_err(|e| fail(e.into()))?;
    }
    for r in rows {
        w.write_record(r).map_err(|e| fail(e.into()))?;
    }
    w.flush().map_err(fail)
}

/// The documented performance scenarios.
fn bench(only: Option<&str>, large: bool) -> Result<(), SimError> {
    let course = Scenario::default();
    let synthetic = |name: &str, nodes, count, rate, topology, capacity| Scenario {
        name: name.into(),
        nodes,
        capacity,
        topology,
        workload: Workload::Synthetic {
            burst: false,
            rate_per_node: Some(rate),
            count,
            coin_fraction: 0.5,
            amount_units: [1_000, 100_000],
            message_chars: [1, 3],
            receivers: Receivers::Uniform,
        },
        ..Scenario::default()
    };
    let mut cases = vec![
        Scenario {
            name: "course-5x500".into(),
            workload: Workload::Course { inputs: None, lines: 100, think: Think::default() },
            ..course
        },
        synthetic("mesh-100x100000", 100, 100_000, 20.0, Topology::FullMesh, 100),
        synthetic("overlay-1000x10000", 1_000, 10_000, 0.2, Topology::Regular { k: 8 }, 100),
    ];
    if large {
        // The same 200 transactions per second in all, spread over more nodes.
        for nodes in [2_000, 5_000, 10_000] {
            let name = format!("overlay-{nodes}x10000");
            cases.push(synthetic(&name, nodes, 10_000, 200.0 / nodes as f64, Topology::Regular { k: 8 }, 100));
        }
    }
    say!(
        "{:<22} {:>10} {:>12} {:>14} {:>12} {:>10}",
        "scenario",
        "wall s",
        "events",
        "events/s",
        "deliveries/s",
        "committed"
    );
    for s in cases.iter().filter(|s| only.is_none_or(|o| s.name.contains(o))) {
        let report = blockchat_sim::run(s)?;
        let wall = report.wall.as_secs_f64();
        let deliveries = report.summary.messages - report.summary.messages_lost;
        say!(
            "{:<22} {:>10.3} {:>12} {:>14.0} {:>12.0} {:>10}",
            s.name,
            wall,
            report.events,
            report.events as f64 / wall,
            deliveries as f64 / wall,
            report.summary.committed
        );
    }
    Ok(())
}
