//! `blockchat cluster`: n node processes on 127.0.0.1 … 127.0.0.n, a workload, measurements
//! from the committed chain, a check that every node holds the same chain and balances, stop.

pub mod calibrate;
pub mod measure;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use blockchat_core::UNITS_PER_BCC;
use blockchat_host::client::course::{self, CourseError};
use thiserror::Error;

use crate::api::auth::Secret;
use crate::api::client::{self, ClientError, Endpoint};
use crate::api::{AccountView, ApiError, BlockSummary, Phase, Reply, Request, Status};
use crate::cli::ClusterArgs;
use measure::{NodeLoad, RunResult};

/// Why a cluster run failed.
#[derive(Debug, Error)]
pub enum ClusterError {
    /// A flag is out of range.
    #[error("{flag}: {expected}")]
    Usage {
        /// The flag.
        flag: &'static str,
        /// What is accepted.
        expected: &'static str,
    },
    /// A file or directory could not be made or written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The input files are unusable.
    #[error(transparent)]
    Inputs(#[from] CourseError),
    /// A network parameter is out of range.
    #[error(transparent)]
    Params(#[from] crate::daemon::RunError),
    /// A node process could not be started.
    #[error("node {id} cannot start: {source}")]
    Spawn {
        /// Its id.
        id: usize,
        /// Why.
        source: std::io::Error,
    },
    /// A node process exited before the run was over.
    #[error("node {id} exited early ({status}); see its stderr.log")]
    Exited {
        /// Its id.
        id: usize,
        /// How it exited.
        status: std::process::ExitStatus,
    },
    /// A node's API failed to answer.
    #[error("node {id} did not answer: {why}")]
    Api {
        /// Its id.
        id: usize,
        /// What went wrong.
        why: ApiFailure,
    },
    /// The run took too long.
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    /// A node's chain differs from node 0's.
    #[error("the nodes disagree: node {id}'s chain differs from node 0's")]
    ChainsDiffer {
        /// The node.
        id: usize,
    },
    /// A node's balances differ from node 0's.
    #[error("the nodes disagree: node {id}'s balances differ from node 0's")]
    BalancesDiffer {
        /// The node.
        id: usize,
    },
    /// The balances do not add up to the supply.
    #[error("the supply is {} BCC, not {} BCC", blockchat_core::format_bcc(*got), blockchat_core::format_bcc(*expected))]
    Supply {
        /// What the balances add up to.
        got: u64,
        /// The genesis supply.
        expected: u64,
    },
}

/// How an API call failed.
#[derive(Debug, Error)]
pub enum ApiFailure {
    /// The API could not be reached or the exchange broke.
    #[error("{0}")]
    Client(#[from] ClientError),
    /// The node answered with an error.
    #[error("{0}")]
    Refused(#[from] ApiError),
    /// The node answered with another reply than the one asked for.
    #[error("unexpected reply to {asked}")]
    Unexpected {
        /// The request, by name.
        asked: &'static str,
    },
}

/// Node processes, killed when dropped (also on failure).
#[derive(Debug, Default)]
pub struct Procs {
    /// The children, by node id.
    pub children: Vec<Child>,
}

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Where node `k` of a cluster listens, and its API.
pub fn addresses(subnet: u8, port: u16, k: usize) -> (SocketAddr, SocketAddr) {
    let ip = IpAddr::V4(Ipv4Addr::new(127, subnet, 0, k as u8 + 1));
    (SocketAddr::new(ip, port), SocketAddr::new(ip, port.wrapping_add(1)))
}

/// Asks the node at `api`, with a short timeout.
pub fn ask(api: &Endpoint, request: &Request) -> Result<Reply, ApiFailure> {
    Ok(client::ask(api, request, Duration::from_secs(20))??)
}

/// The node's status.
pub fn status(api: &Endpoint) -> Result<Status, ApiFailure> {
    match ask(api, &Request::Status {})? {
        Reply::Status(s) => Ok(*s),
        _ => Err(ApiFailure::Unexpected { asked: "status" }),
    }
}

/// The node's whole best chain, in pages.
pub fn chain(api: &Endpoint) -> Result<Vec<BlockSummary>, ApiFailure> {
    let mut out = Vec::new();
    loop {
        match ask(api, &Request::Blocks { from: out.len() as u64, limit: 1000 })? {
            Reply::Blocks(blocks) if blocks.is_empty() => return Ok(out),
            Reply::Blocks(blocks) => out.extend(blocks),
            _ => return Err(ApiFailure::Unexpected { asked: "blocks" }),
        }
    }
}

/// Every account at the node's tip, and the supply.
pub fn ledger(api: &Endpoint) -> Result<(Vec<AccountView>, u64), ApiFailure> {
    match ask(api, &Request::Ledger {})? {
        Reply::Ledger(l) => Ok((l.accounts, l.supply.units())),
        _ => Err(ApiFailure::Unexpected { asked: "ledger" }),
    }
}

/// Polls `check` every `every` until it gives a value or `limit` passes.
pub fn wait_for<T>(
    limit: Duration,
    every: Duration,
    what: &'static str,
    mut check: impl FnMut() -> Result<Option<T>, ClusterError>,
) -> Result<T, ClusterError> {
    let start = Instant::now();
    loop {
        if let Some(v) = check()? {
            return Ok(v);
        }
        if start.elapsed() > limit {
            return Err(ClusterError::Timeout(what));
        }
        std::thread::sleep(every);
    }
}

/// Runs `args.runs` cluster runs, printing each and appending CSV rows.
pub fn run(args: &ClusterArgs) -> Result<(), ClusterError> {
    for k in 0..args.runs {
        let result = run_once(args, k)?;
        println!("{}\n", result.summary());
        if let Some(csv) = &args.csv {
            measure::append_csv(csv, &result).map_err(|source| ClusterError::Io { path: csv.clone(), source })?;
        }
    }
    Ok(())
}

/// One cluster run.
pub fn run_once(args: &ClusterArgs, run: usize) -> Result<RunResult, ClusterError> {
    let started = Instant::now();
    let n = args.nodes as usize;
    if !(1..=250).contains(&n) {
        return Err(ClusterError::Usage { flag: "-n", expected: "between 1 and 250" });
    }
    // Checked before anything starts or is written: the rules and the input files.
    crate::daemon::network_params(
        args.capacity,
        block_interval(args),
        args.round_timeout_ms,
        blockchat_core::params::DEFAULT_MAX_REORG_DEPTH,
        blockchat_core::params::COURSE_START_BCC * UNITS_PER_BCC,
    )?;
    if let Some(dir) = &args.inputs {
        course::read_dir(dir, n)?;
    }
    let temp = args.data_dir.is_none();
    let root = args
        .data_dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("blockchat-cluster-{}-{run}", std::process::id())));
    let root = if temp { root } else { root.join(format!("run{run}")) };
    let setup = |source: std::io::Error| ClusterError::Io { path: root.clone(), source };
    if root.exists() {
        std::fs::remove_dir_all(&root).map_err(setup)?;
    }
    std::fs::create_dir_all(&root).map_err(setup)?;
    let result = drive(args, &root, started);
    if temp && result.is_ok() {
        let _ = std::fs::remove_dir_all(&root);
    } else if result.is_err() {
        eprintln!("node logs kept in {}", root.display());
    }
    result
}

fn workload_flags(args: &ClusterArgs, root: &Path) -> Result<(Vec<Vec<String>>, String), ClusterError> {
    let n = args.nodes as usize;
    let mut pace = Vec::new();
    if let Some(t) = &args.think_ms {
        pace = vec!["--think-ms".to_string(), format!("{}-{}", t.min_ms, t.max_ms)];
    }
    if let Some(total) = args.synthetic {
        let flags = (0..n).map(|i| {
            let mut f = vec!["--synthetic".into(), (total / n + usize::from(i < total % n)).to_string()];
            f.extend(pace.iter().cloned());
            f
        });
        return Ok((flags.collect(), "synthetic".into()));
    }
    let (dir, kind) = match &args.inputs {
        Some(dir) => (dir.clone(), "course-files"),
        None => {
            let dir = root.join("inputs");
            course::write_dir(&dir, n, args.lines, args.seed)?;
            (dir, "generated")
        }
    };
    // Checked here, with the network's size, before any node starts.
    course::read_dir(&dir, n)?;
    let flags = (0..n)
        .map(|i| {
            let mut f = vec!["--input".to_string(), dir.join(format!("trans{i}.txt")).display().to_string()];
            f.extend(pace.iter().cloned());
            f
        })
        .collect();
    Ok((flags, kind.into()))
}

fn spawn(args: &ClusterArgs, root: &Path, k: usize, extra: &[String], secret: &Secret) -> Result<Child, ClusterError> {
    let spawn_err = |source| ClusterError::Spawn { id: k, source };
    let exe = std::env::current_exe().map_err(spawn_err)?;
    let dir = root.join(format!("node{k}"));
    std::fs::create_dir_all(&dir).map_err(|source| ClusterError::Io { path: dir.clone(), source })?;
    let log_path = dir.join("stderr.log");
    let log = std::fs::File::create(&log_path).map_err(|source| ClusterError::Io { path: log_path, source })?;
    let (listen, api) = addresses(args.subnet, args.port, k);
    let stake = if args.fairness && k == 0 { 100 * UNITS_PER_BCC } else { args.stake };
    let mut cmd = Command::new(exe);
    if k == 0 {
        cmd.args(["--bootstrap", "-n", &args.nodes.to_string(), "-c", &args.capacity.to_string()])
            .args(["--round-timeout-ms", &args.round_timeout_ms.to_string()])
            .args(["--max-block-interval-ms", &block_interval(args).to_string()]);
    } else {
        cmd.args(["--join", &addresses(args.subnet, args.port, 0).0.to_string()]);
    }
    cmd.args(["-s", &blockchat_core::format_bcc(stake), "--listen", &listen.to_string()])
        .args(["--api", &api.to_string(), "--data-dir", &dir.display().to_string(), "--no-repl"])
        .args(["--threads", &args.node_threads.to_string(), "--seed", &args.seed.to_string()])
        .args(extra);
    if args.no_fsync {
        cmd.arg("--no-fsync");
    }
    cmd.env("BLOCKCHAT_API_PASSWORD", secret.expose());
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
    cmd.spawn().map_err(spawn_err)
}

/// The partial-block interval in ms, 0 for full blocks only.
fn block_interval(args: &ClusterArgs) -> u64 {
    if args.full_blocks { 0 } else { args.max_block_interval_ms }
}

fn alive(procs: &mut Procs) -> Result<(), ClusterError> {
    for (id, c) in procs.children.iter_mut().enumerate() {
        if let Ok(Some(status)) = c.try_wait() {
            return Err(ClusterError::Exited { id, status });
        }
    }
    Ok(())
}

fn drive(args: &ClusterArgs, root: &Path, started: Instant) -> Result<RunResult, ClusterError> {
    let n = args.nodes as usize;
    let (flags, kind) = workload_flags(args, root)?;
    let machine_before = machine_busy_seconds();
    let secret = Secret::random();
    let api = |k| Endpoint::new(&addresses(args.subnet, args.port, k).1.to_string(), secret.clone());
    let ask_status = |k: usize| status(&api(k)).map_err(|why| ClusterError::Api { id: k, why });
    let poll = Duration::from_millis(20);
    let mut procs = Procs::default();
    // Start the bootstrap, then each node once the previous one holds its id (ids follow join order).
    for (k, extra) in flags.iter().enumerate() {
        procs.children.push(spawn(args, root, k, extra, &secret)?);
        wait_for(Duration::from_secs(20), poll, "a node to join", || {
            alive(&mut procs)?;
            Ok(status(&api(k)).ok().filter(|s| s.id == Some(k as u32)).map(|_| ()))
        })?;
    }
    wait_for(Duration::from_secs(30), poll, "every node to connect to every other", || {
        alive(&mut procs)?;
        Ok((0..n).all(|k| status(&api(k)).is_ok_and(|s| s.phase == Phase::Ready)).then_some(()))
    })?;
    let cpu_at_ready: Vec<f64> = procs.children.iter().map(|c| cpu_seconds(c.id())).collect();
    // Every line committed or given up, or no progress possible: the chain quiet for longer than
    // a round timeout and a block interval.
    let limit = Duration::from_secs(args.timeout);
    let quiet = Duration::try_from_secs_f64(args.quiet).unwrap_or(Duration::MAX);
    let stall = quiet
        .saturating_add(Duration::from_millis(args.round_timeout_ms).saturating_mul(2))
        .saturating_add(Duration::from_millis(block_interval(args)));
    let mut last = (u64::MAX, Instant::now());
    let statuses = wait_for(limit, Duration::from_millis(100), "the workload to finish", || {
        alive(&mut procs)?;
        let statuses: Vec<Status> = (0..n).map(ask_status).collect::<Result<_, _>>()?;
        let heights: u64 = statuses.iter().map(|s| s.height).sum();
        if heights != last.0 {
            last = (heights, Instant::now());
        }
        let same_tip = statuses.windows(2).all(|w| w[0].tip == w[1].tip);
        let done = statuses.iter().all(|s| s.workload.done());
        let still = last.1.elapsed();
        Ok((same_tip && (done && still >= quiet || still >= stall)).then_some(statuses))
    })?;
    let chains: Vec<Vec<BlockSummary>> =
        (0..n).map(|k| chain(&api(k)).map_err(|why| ClusterError::Api { id: k, why })).collect::<Result<_, _>>()?;
    let ledgers: Vec<(Vec<AccountView>, u64)> =
        (0..n).map(|k| ledger(&api(k)).map_err(|why| ClusterError::Api { id: k, why })).collect::<Result<_, _>>()?;
    for k in 1..n {
        if chains[k] != chains[0] {
            return Err(ClusterError::ChainsDiffer { id: k });
        }
        if ledgers[k] != ledgers[0] {
            return Err(ClusterError::BalancesDiffer { id: k });
        }
    }
    let supply = ledgers[0].0.iter().map(|a| a.balance.units()).sum::<u64>();
    let expected = blockchat_core::params::COURSE_START_BCC * UNITS_PER_BCC * n as u64;
    if supply != expected || ledgers[0].1 != expected {
        return Err(ClusterError::Supply { got: supply, expected });
    }
    let node_loads: Vec<NodeLoad> = procs
        .children
        .iter()
        .zip(&statuses)
        .zip(&cpu_at_ready)
        .map(|((c, s), ready)| {
            let used = cpu_seconds(c.id());
            NodeLoad { cpu_seconds: used, workload_cpu_seconds: used - ready, load: s.load, work: s.work }
        })
        .collect();
    let cpu_seconds: f64 = node_loads.iter().map(|l| l.cpu_seconds).sum();
    let other_cpu_seconds = (machine_busy_seconds() - machine_before - cpu_seconds).max(0.0);
    for k in 0..n {
        let _ = ask(&api(k), &Request::Shutdown {});
    }
    for c in &mut procs.children {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && matches!(c.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    for (k, s) in statuses.iter().enumerate() {
        if let Some(w) = &s.waiting {
            // On stderr: `blockchat calibrate` runs a cluster and prints TOML on stdout.
            eprintln!(
                "node {k}: line {} and {} after it never became affordable: {}",
                w.line,
                s.workload.unsent.saturating_sub(1),
                w.reason
            );
        }
    }
    let clients: Vec<_> = statuses.iter().map(|s| s.workload).collect();
    let stake_profile = if args.fairness {
        format!("fairness-100/{}", blockchat_core::format_bcc(args.stake))
    } else {
        format!("uniform-{}", blockchat_core::format_bcc(args.stake))
    };
    let think = args.think_ms.map_or("0".to_string(), |t| format!("{}-{}", t.min_ms, t.max_ms));
    let interval = block_interval(args);
    Ok(RunResult {
        nodes: n,
        capacity: args.capacity as usize,
        stake_profile,
        workload: kind,
        think,
        block_interval: if interval == 0 { "full".into() } else { interval.to_string() },
        chain: measure::measure(&chains[0], &ledgers[0].0, &clients, n, args.capacity as usize),
        clients,
        wall_seconds: started.elapsed().as_secs_f64(),
        cpu_seconds,
        other_cpu_seconds,
        node_loads,
    })
}

/// CPU time every process on the machine has used since boot, from `/proc/stat`.
pub fn machine_busy_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else { return 0.0 };
    let Some(line) = stat.lines().next() else { return 0.0 };
    let v: Vec<f64> = line.split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal …: everything but idle and iowait.
    let busy: f64 = v.iter().take(8).sum::<f64>() - v.get(3).unwrap_or(&0.0) - v.get(4).unwrap_or(&0.0);
    busy / 100.0
}

/// CPU time (user + system) a process has used so far, from `/proc` (0 where unavailable): the
/// scheduler's nanoseconds summed over its threads, or else its clock ticks.
pub fn cpu_seconds(pid: u32) -> f64 {
    let threads = std::fs::read_dir(format!("/proc/{pid}/task")).into_iter().flatten().flatten();
    let ns: u64 = threads.filter_map(|t| schedstat_ns(&t.path().join("schedstat"))).sum();
    if ns > 0 { ns as f64 / 1e9 } else { cpu_ticks_seconds(pid) }
}

/// The CPU time, ns, in a `/proc/…/schedstat` file (its first field), if readable.
pub fn schedstat_ns(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.split_whitespace().next()?.parse().ok()
}

/// CPU time of a process from its clock ticks in `/proc/PID/stat`.
fn cpu_ticks_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0.0 };
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { return 0.0 };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // Linux reports in clock ticks of 1/100 s on every common configuration.
    (ticks(11) + ticks(12)) / 100.0
}
