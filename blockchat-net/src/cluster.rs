//! `blockchat cluster`: n node processes on 127.0.0.1 … 127.0.0.n, a workload, measurements
//! from the committed chain, a check that every node holds the same chain and balances, stop.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use blockchat_core::UNITS_PER_BCC;
use thiserror::Error;

use crate::cli::ClusterArgs;
use crate::control::{self, AccountView, BlockSummary, Reply, Request, Status};
use crate::measure::{self, RunResult};
use crate::workload;

/// Why a cluster run failed.
#[derive(Debug, Error)]
pub enum ClusterError {
    /// Setting up files failed.
    #[error("{0}")]
    Setup(String),
    /// A node did not come up or died.
    #[error("node {id}: {why}")]
    Node {
        /// Its id.
        id: usize,
        /// What happened.
        why: String,
    },
    /// The run took too long.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The nodes disagree.
    #[error("the nodes disagree: {0}")]
    Disagree(String),
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

/// Where node `k` of a cluster listens, and its control endpoint.
pub fn addresses(subnet: u8, port: u16, k: usize) -> (SocketAddr, SocketAddr) {
    let ip = IpAddr::V4(Ipv4Addr::new(127, subnet, 0, k as u8 + 1));
    (SocketAddr::new(ip, port), SocketAddr::new(ip, port.wrapping_add(1)))
}

/// Asks node at `addr`, with a short timeout.
pub fn ask(addr: SocketAddr, request: &Request) -> Result<Reply, String> {
    match control::ask(addr, request, Duration::from_secs(20)) {
        Ok(Ok(reply)) => Ok(reply),
        Ok(Err(e)) => Err(e),
        Err(e) => Err(e.to_string()),
    }
}

/// The node's status.
pub fn status(addr: SocketAddr) -> Result<Status, String> {
    match ask(addr, &Request::Status)? {
        Reply::Status(s) => Ok(s),
        other => Err(format!("unexpected reply {other:?}")),
    }
}

/// The node's whole best chain, in pages.
pub fn chain(addr: SocketAddr) -> Result<Vec<BlockSummary>, String> {
    let mut out = Vec::new();
    loop {
        match ask(addr, &Request::Chain { from: out.len() as u64, limit: 4096 })? {
            Reply::Chain { blocks } if blocks.is_empty() => return Ok(out),
            Reply::Chain { blocks } => out.extend(blocks),
            other => return Err(format!("unexpected reply {other:?}")),
        }
    }
}

/// Every account at the node's tip, and the supply.
pub fn ledger(addr: SocketAddr) -> Result<(Vec<AccountView>, u64), String> {
    match ask(addr, &Request::Ledger)? {
        Reply::Ledger { accounts, supply } => Ok((accounts, supply)),
        other => Err(format!("unexpected reply {other:?}")),
    }
}

/// Polls `check` every 100 ms until it gives a value or `limit` passes.
pub fn wait_for<T>(limit: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> Result<T, ClusterError> {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return Ok(v);
        }
        if start.elapsed() > limit {
            return Err(ClusterError::Timeout(what.to_string()));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs `args.runs` cluster runs, printing each and appending CSV rows.
pub fn run(args: &ClusterArgs) -> Result<(), ClusterError> {
    for k in 0..args.runs {
        let result = run_once(args, k)?;
        println!("{}\n", result.summary());
        if let Some(csv) = &args.csv {
            measure::append_csv(csv, &result).map_err(|e| ClusterError::Setup(format!("{}: {e}", csv.display())))?;
        }
    }
    Ok(())
}

/// One cluster run.
pub fn run_once(args: &ClusterArgs, run: usize) -> Result<RunResult, ClusterError> {
    let started = Instant::now();
    let n = args.nodes as usize;
    if !(1..=250).contains(&n) {
        return Err(ClusterError::Setup("-n must be between 1 and 250".into()));
    }
    let temp = args.data_dir.is_none();
    let root = args
        .data_dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("blockchat-cluster-{}-{run}", std::process::id())));
    let root = if temp { root } else { root.join(format!("run{run}")) };
    let setup = |e: std::io::Error| ClusterError::Setup(format!("{}: {e}", root.display()));
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
    if let Some(total) = args.synthetic {
        let flags = (0..n).map(|i| vec!["--synthetic".into(), (total / n + usize::from(i < total % n)).to_string()]);
        return Ok((flags.collect(), "synthetic".into()));
    }
    let (dir, kind) = match &args.inputs {
        Some(dir) => (dir.clone(), "course-files"),
        None => {
            let dir = root.join("inputs");
            std::fs::create_dir_all(&dir).map_err(|e| ClusterError::Setup(e.to_string()))?;
            for (i, text) in workload::generate_inputs(n, args.lines, args.seed).iter().enumerate() {
                std::fs::write(dir.join(format!("trans{i}.txt")), text)
                    .map_err(|e| ClusterError::Setup(e.to_string()))?;
            }
            (dir, "generated")
        }
    };
    let flags = (0..n)
        .map(|i| {
            let path = dir.join(format!("trans{i}.txt"));
            if path.is_file() {
                Ok(vec!["--input".into(), path.display().to_string()])
            } else {
                Err(ClusterError::Setup(format!("missing input file {}", path.display())))
            }
        })
        .collect::<Result<_, _>>()?;
    Ok((flags, kind.into()))
}

fn spawn(args: &ClusterArgs, root: &Path, k: usize, extra: &[String]) -> Result<Child, ClusterError> {
    let exe = std::env::current_exe().map_err(|e| ClusterError::Setup(e.to_string()))?;
    let dir = root.join(format!("node{k}"));
    std::fs::create_dir_all(&dir).map_err(|e| ClusterError::Setup(e.to_string()))?;
    let log = std::fs::File::create(dir.join("stderr.log")).map_err(|e| ClusterError::Setup(e.to_string()))?;
    let (listen, control) = addresses(args.subnet, args.port, k);
    let stake = if args.fairness && k == 0 { 100 * UNITS_PER_BCC } else { args.stake };
    let mut cmd = Command::new(exe);
    if k == 0 {
        cmd.args(["--bootstrap", "-n", &args.nodes.to_string(), "-c", &args.capacity.to_string()]);
    } else {
        cmd.args(["--join", &addresses(args.subnet, args.port, 0).0.to_string()]);
    }
    cmd.args(["-s", &blockchat_core::format_bcc(stake), "--listen", &listen.to_string()])
        .args(["--control", &control.to_string(), "--data-dir", &dir.display().to_string(), "--no-repl"])
        .args(["--round-timeout-ms", &args.round_timeout_ms.to_string()])
        .args(["--threads", &args.node_threads.to_string()])
        .args(extra);
    if args.no_fsync {
        cmd.arg("--no-fsync");
    }
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
    cmd.spawn().map_err(|e| ClusterError::Node { id: k, why: format!("cannot start: {e}") })
}

fn alive(procs: &mut Procs) -> Result<(), ClusterError> {
    for (id, c) in procs.children.iter_mut().enumerate() {
        if let Ok(Some(code)) = c.try_wait() {
            return Err(ClusterError::Node { id, why: format!("exited early ({code}); see its stderr.log") });
        }
    }
    Ok(())
}

fn drive(args: &ClusterArgs, root: &Path, started: Instant) -> Result<RunResult, ClusterError> {
    let n = args.nodes as usize;
    let (flags, kind) = workload_flags(args, root)?;
    let machine_before = machine_busy_seconds();
    let control = |k| addresses(args.subnet, args.port, k).1;
    let mut procs = Procs::default();
    // Start the bootstrap, then each node once the previous one holds its id (ids follow join order).
    for (k, extra) in flags.iter().enumerate() {
        procs.children.push(spawn(args, root, k, extra)?);
        wait_for(Duration::from_secs(20), &format!("node {k} to join"), || {
            alive(&mut procs).ok()?;
            status(control(k)).ok().filter(|s| s.id == Some(k as u32)).map(|_| ())
        })?;
    }
    alive(&mut procs)?;
    wait_for(Duration::from_secs(30), "every node to connect to every other", || {
        (0..n).all(|k| status(control(k)).is_ok_and(|s| s.phase == "ready")).then_some(())
    })?;
    // Wait for the workload to be submitted and the chain to go quiet.
    let limit = Duration::from_secs(args.timeout);
    let quiet = Duration::from_secs_f64(args.quiet);
    let mut last = (u64::MAX, Instant::now());
    let statuses = wait_for(limit, "the workload to finish", || {
        alive(&mut procs).ok()?;
        let statuses: Vec<Status> = (0..n).map(|k| status(control(k))).collect::<Result<_, _>>().ok()?;
        let heights: u64 = statuses.iter().map(|s| s.height).sum();
        if heights != last.0 {
            last = (heights, Instant::now());
        }
        let submitted = statuses.iter().all(|s| s.workload.submitted == s.workload.total);
        let same_tip = statuses.windows(2).all(|w| w[0].tip == w[1].tip);
        (submitted && same_tip && last.1.elapsed() >= quiet).then_some(statuses)
    })?;
    let chains: Vec<Vec<BlockSummary>> =
        (0..n).map(|k| chain(control(k)).map_err(|why| ClusterError::Node { id: k, why })).collect::<Result<_, _>>()?;
    let ledgers: Vec<(Vec<AccountView>, u64)> = (0..n)
        .map(|k| ledger(control(k)).map_err(|why| ClusterError::Node { id: k, why }))
        .collect::<Result<_, _>>()?;
    for k in 1..n {
        if chains[k] != chains[0] {
            return Err(ClusterError::Disagree(format!("node {k}'s chain differs from node 0's")));
        }
        if ledgers[k] != ledgers[0] {
            return Err(ClusterError::Disagree(format!("node {k}'s balances differ from node 0's")));
        }
    }
    let supply = 1_000 * UNITS_PER_BCC * n as u64;
    if ledgers[0].1 != supply {
        return Err(ClusterError::Disagree(format!("supply is {} units, not {supply}", ledgers[0].1)));
    }
    let cpu_seconds: f64 = procs.children.iter().map(|c| cpu_seconds(c.id())).sum();
    let other_cpu_seconds = (machine_busy_seconds() - machine_before - cpu_seconds).max(0.0);
    for k in 0..n {
        let _ = ask(control(k), &Request::Shutdown);
    }
    for c in &mut procs.children {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && matches!(c.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let workloads: Vec<_> = statuses.iter().map(|s| s.workload.clone()).collect();
    let stake_profile = if args.fairness {
        format!("fairness-100/{}", blockchat_core::format_bcc(args.stake))
    } else {
        format!("uniform-{}", blockchat_core::format_bcc(args.stake))
    };
    Ok(RunResult {
        nodes: n,
        capacity: args.capacity as usize,
        stake_profile,
        workload: kind,
        transactions: workloads.iter().map(|w| w.total).sum(),
        accepted: workloads.iter().map(|w| w.accepted).sum(),
        rejected: workloads.iter().map(|w| w.rejected).sum(),
        wall_seconds: started.elapsed().as_secs_f64(),
        cpu_seconds,
        other_cpu_seconds,
        chain: measure::measure(&chains[0], &ledgers[0].0, &workloads, n),
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

/// CPU time (user + system) a process has used so far, from `/proc` (0 where unavailable).
pub fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0.0 };
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { return 0.0 };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // Linux reports in clock ticks of 1/100 s on every common configuration.
    (ticks(11) + ticks(12)) / 100.0
}
