//! `experiments`: regenerate every result, a quick subset, or one suite.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use blockchat_sim::{say, say_raw};
use clap::{Parser, Subcommand};
use experiments::runner::{RunError, Table};
use experiments::shard::Shard;
use experiments::suite::{SUITES, Suite, SuiteError};
use experiments::{produce, readme};

/// Reproduce the course's experiments and more on the BlockChat simulator.
#[derive(Debug, Parser)]
#[command(name = "experiments", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Where results go.
    #[arg(long, global = true)]
    out: Option<PathBuf>,
    /// Rerun runs even when their results exist.
    #[arg(long, global = true)]
    redo: bool,
    /// Worker threads (default: one per core).
    #[arg(long, global = true)]
    jobs: Option<usize>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Every suite with its full seeds, then results/README.md.
    #[command(
        after_help = "Examples:\n  experiments all                 # reuse stored runs, compute the rest\n  experiments all --redo --jobs 2 # recompute every run"
    )]
    All,
    /// A small subset for CI (into $CARGO_TARGET_DIR/experiments-quick, else the system's
    /// temporary directory, unless --out says).
    #[command(after_help = "Example:\n  experiments quick --out /tmp/quick")]
    Quick,
    /// One suite, or one shard of it (then `merge` puts the shards together).
    #[command(
        after_help = "Examples:\n  experiments run fairness\n  experiments run scalability --redo --out /tmp/results\n  experiments run faults --shard 2/8 --out /shared/results   # one Slurm array task (experiments/slurm)"
    )]
    Run {
        /// The suite's name (see `list`).
        suite: String,
        /// Compute only every N-th run, starting at the I-th (from 0), into SUITE/shards/.
        #[arg(long, value_name = "I/N")]
        shard: Option<Shard>,
    },
    /// Merge a suite's shards into runs.csv, summary.csv and the plots, byte for byte what an
    /// unsharded run writes.
    #[command(after_help = "Example:\n  experiments merge faults --out /shared/results")]
    Merge {
        /// The suite's name.
        suite: String,
    },
    /// Rerun one row alone and compare it with the stored one.
    #[command(
        after_help = "Example:\n  experiments rerun fairness stakes=100/10/10/10/10,capacity=5,seed=1   # a run_id of runs.csv"
    )]
    Rerun {
        /// The suite's name.
        suite: String,
        /// The run's id (the `run_id` column).
        run_id: String,
    },
    /// The suites and their sizes.
    #[command(after_help = "Example:\n  experiments list")]
    List,
    /// Predict every configuration measured on real clusters (results/real/course_grid.csv and
    /// synthetic.csv) with the cost model measured in the same sitting (results/real/io-cost.toml)
    /// and write results/real/comparison.csv and comparison.svg.
    #[command(
        after_help = "Example (after bash blockchat-net/scripts/bench.sh sitting 5):\n  experiments compare-real --cores 2"
    )]
    CompareReal {
        /// Cores of the host the real clusters ran on.
        #[arg(long, default_value_t = 2)]
        cores: usize,
        /// The course's input files, used where the real runs used them.
        #[arg(long, default_value = "../shared/data/blockchat-inputs")]
        inputs: PathBuf,
    },
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
enum Error {
    /// A suite is unknown or cannot be expanded.
    #[error(transparent)]
    Suite(#[from] SuiteError),
    /// A suite's runs failed.
    #[error(transparent)]
    Run(#[from] RunError),
    /// A file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `rerun` was given a run id the suite does not have.
    #[error("no run '{run_id}' in suite {suite}")]
    NoSuchRun {
        /// The suite.
        suite: String,
        /// The id asked for.
        run_id: String,
    },
    /// A rerun's simulation failed.
    #[error("the run failed: {0}")]
    Simulation(#[from] blockchat_sim::SimError),
    /// A rerun gave another row than the stored one.
    #[error("DIFFERS from the stored row in {suite}/runs.csv")]
    Differs {
        /// The suite.
        suite: String,
    },
}

impl Error {
    /// 2 for what the command line asked wrongly, 1 for what went wrong while running.
    fn exit_code(&self) -> u8 {
        match self {
            Error::Suite(SuiteError::Unknown(_)) | Error::NoSuchRun { .. } => 2,
            _ => 1,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(j) = cli.jobs
        && let Err(e) = rayon::ThreadPoolBuilder::new().num_threads(j.max(1)).build_global()
    {
        eprintln!("error: cannot start {j} worker threads: {e}");
        return ExitCode::from(2);
    }
    match execute(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn execute(cli: Cli) -> Result<(), Error> {
    let results = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../results");
    match cli.command {
        Command::List => {
            for (name, _) in SUITES {
                let full = Suite::named(name, None)?;
                let quick = Suite::parse(
                    name,
                    SUITES.iter().find(|s| s.0 == name).map_or("", |s| s.1),
                    Some(full.file.quick_seeds),
                )?;
                let q = if full.file.quick_seeds == 0 { 0 } else { quick.runs.len() };
                say!("{name:<12} {:>5} runs ({:>3} in quick)  {}", full.runs.len(), q, full.file.title);
            }
            Ok(())
        }
        Command::All => {
            let out = cli.out.unwrap_or(results);
            let suites: Vec<Suite> = SUITES.iter().map(|(n, _)| Suite::named(n, None)).collect::<Result<_, _>>()?;
            let done = run_suites(&suites, &out, cli.redo)?;
            let path = out.join("README.md");
            let comparison_path = out.join("real/comparison.csv");
            let comparison = if comparison_path.exists() { Some(Table::read(&comparison_path)?) } else { None };
            let text = readme::render_with(&done, &machine(), comparison.as_ref());
            std::fs::write(&path, text).map_err(|source| Error::Write { path: path.clone(), source })?;
            say!("wrote {}", path.display());
            Ok(())
        }
        Command::Quick => {
            // Never into the repository: the build's target dir when cargo says where it is,
            // else the system's temporary directory.
            let out = cli.out.unwrap_or_else(|| {
                std::env::var_os("CARGO_TARGET_DIR")
                    .map_or_else(std::env::temp_dir, PathBuf::from)
                    .join("experiments-quick")
            });
            let suites: Vec<Suite> = SUITES
                .iter()
                .filter_map(|(n, text)| {
                    let seeds = Suite::named(n, None).map(|s| s.file.quick_seeds).unwrap_or(0);
                    (seeds > 0).then(|| Suite::parse(n, text, Some(seeds)))
                })
                .collect::<Result<_, _>>()?;
            run_suites(&suites, &out, cli.redo)?;
            Ok(())
        }
        Command::Run { suite, shard: None } => {
            let out = cli.out.unwrap_or(results);
            let s = Suite::named(&suite, None)?;
            run_suites(&[s], &out, cli.redo)?;
            Ok(())
        }
        Command::Run { suite, shard: Some(shard) } => {
            let out = cli.out.unwrap_or(results);
            let s = Suite::named(&suite, None)?;
            let started = Instant::now();
            let dir = out.join(&s.name);
            let count = experiments::shard::run_shard(&s, &dir, shard, &|| {})?;
            say!(
                "{} shard {shard}: {count} of {} runs computed in {:.1} s -> {}",
                s.name,
                s.runs.len(),
                started.elapsed().as_secs_f64(),
                shard.file(&dir).display()
            );
            Ok(())
        }
        Command::Merge { suite } => {
            let out = cli.out.unwrap_or(results);
            let s = Suite::named(&suite, None)?;
            let dir = out.join(&s.name);
            let runs = experiments::shard::merge(&s, &dir)?;
            experiments::finish(&s, &runs, &dir)?;
            say!(
                "{}: merged {} runs from {} -> {}",
                s.name,
                runs.rows.len(),
                dir.join("shards").display(),
                dir.display()
            );
            Ok(())
        }
        Command::CompareReal { cores, inputs } => {
            use experiments::compare;
            let real = cli.out.unwrap_or(results).join("real");
            let cal = compare::Calibration::load(&real.join("io-cost.toml"))?;
            let rows = compare::compare(&real, &inputs, cores, &cal)?;
            compare::table(&rows).write(&real.join("comparison.csv"))?;
            compare::plot(&rows, &real.join("comparison.svg"))?;
            say!("{}", compare::markdown(&rows));
            let within = rows.iter().filter(|r| r.within()).count();
            say!(
                "{within} of {} configurations within ±{}% on both throughput and block time",
                rows.len(),
                compare::TOLERANCE_PCT
            );
            say!("wrote {} and {}", real.join("comparison.csv").display(), real.join("comparison.svg").display());
            Ok(())
        }
        Command::Rerun { suite, run_id } => {
            let out = cli.out.unwrap_or(results);
            let s = Suite::named(&suite, None)?;
            let run = s
                .runs
                .iter()
                .find(|r| r.id == run_id)
                .ok_or_else(|| Error::NoSuchRun { suite: suite.clone(), run_id: run_id.clone() })?;
            let report = blockchat_sim::run(&run.scenario)?;
            say_raw!("{}", report.text());
            let stored = Table::read(&out.join(&suite).join("runs.csv"))?;
            let row = stored.rows.iter().find(|r| r[2] == run_id);
            let fresh = report.csv_row();
            match row {
                Some(r) if r[4 + s.axes.len()..] == fresh[..] => say!("matches the stored row in {suite}/runs.csv"),
                Some(_) => return Err(Error::Differs { suite }),
                None => say!("(no stored row to compare with)"),
            }
            Ok(())
        }
    }
}

/// Runs each suite in turn with a progress bar (on a terminal) and prints where results went.
fn run_suites(suites: &[Suite], out: &Path, redo: bool) -> Result<Vec<(Suite, Table)>, Error> {
    let total: u64 = suites.iter().map(|s| s.runs.len() as u64).sum();
    let bar = if std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new(total);
        b.set_style(
            indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} runs, ETA {eta} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut done = Vec::new();
    for suite in suites {
        let started = Instant::now();
        bar.set_message(suite.name.clone());
        let produced = produce(suite, out, redo, &|| bar.inc(1))?;
        let line = format!(
            "{:<12} {:>5} runs: {:>5} reused, {:>5} computed in {:>6.1} s -> {}",
            suite.name,
            suite.runs.len(),
            suite.runs.len() - produced.computed,
            produced.computed,
            started.elapsed().as_secs_f64(),
            out.join(&suite.name).display()
        );
        if bar.is_hidden() {
            say!("{line}");
        } else {
            bar.println(line);
        }
        done.push((suite.clone(), produced.summary));
    }
    bar.finish_and_clear();
    Ok(done)
}

/// A one-line description of this machine, for the README.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    format!("{cpu}, {cores} cores")
}
