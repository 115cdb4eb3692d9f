//! Real node processes on loopback for the integration tests: each test picks its own
//! 127.<subnet>.0.k addresses; every process is killed when the harness drops, even on failure.
#![allow(dead_code, missing_docs)]

use std::io::Read;
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use blockchat_net::api::auth::Secret;
use blockchat_net::api::client::Endpoint;
use blockchat_net::api::{BlockSummary, Phase, Reply, Request, Status};
use blockchat_net::cluster::{self, ApiFailure, ClusterError, addresses};

pub const BIN: &str = env!("CARGO_BIN_EXE_blockchat");
pub const PORT: u16 = 7000;
/// The API password every test node gets (through the environment).
pub const PASSWORD: &str = "test-password";

/// Heavy tests in one binary run one at a time (two cores).
pub static SERIAL: Mutex<()> = Mutex::new(());

pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A network of node processes.
pub struct Net {
    pub subnet: u8,
    pub n: usize,
    pub capacity: u32,
    pub root: tempfile::TempDir,
    pub procs: Vec<Option<Child>>,
    /// Extra environment for every node.
    pub env: Vec<(String, String)>,
    /// Flags for the bootstrap only: the network's parameters, which the genesis records and
    /// every node that joins learns from it (`--round-timeout-ms 300`, `--full-blocks`, …).
    pub params: Vec<String>,
}

impl Drop for Net {
    fn drop(&mut self) {
        for p in self.procs.iter_mut().flatten() {
            let _ = p.kill();
            let _ = p.wait();
        }
        if std::thread::panicking() {
            // Keep the logs of a failed test.
            let path = std::mem::replace(&mut self.root, tempfile::tempdir().expect("tempdir")).keep();
            eprintln!("node logs kept in {}", path.display());
        }
    }
}

impl Net {
    pub fn new(subnet: u8, n: usize, capacity: u32) -> Net {
        Net {
            subnet,
            n,
            capacity,
            root: tempfile::tempdir().expect("tempdir"),
            procs: (0..n).map(|_| None).collect(),
            env: vec![
                ("RUST_LOG".into(), "info,blockchat_net=debug".into()),
                ("BLOCKCHAT_API_PASSWORD".into(), PASSWORD.into()),
            ],
            params: Vec::new(),
        }
    }

    pub fn dir(&self, k: usize) -> PathBuf {
        self.root.path().join(format!("node{k}"))
    }
    pub fn listen(&self, k: usize) -> SocketAddr {
        addresses(self.subnet, PORT, k).0
    }
    pub fn api_addr(&self, k: usize) -> SocketAddr {
        addresses(self.subnet, PORT, k).1
    }
    /// Node `k`'s API: with the test password, or (where the nodes run without one) the cookie
    /// in its data dir.
    pub fn api(&self, k: usize) -> Endpoint {
        let addr = self.api_addr(k).to_string();
        if self.env.iter().any(|(name, _)| name == "BLOCKCHAT_API_PASSWORD") {
            return Endpoint::new(&addr, Secret::password(PASSWORD));
        }
        Endpoint::from_data_dir(&self.dir(k)).unwrap_or_else(|_| Endpoint::new(&addr, Secret::password("")))
    }
    pub fn log(&self, k: usize) -> String {
        std::fs::read_to_string(self.dir(k).join("stderr.log")).unwrap_or_default()
    }

    /// The command line of node `k` (the bootstrap, with `params`, for k = 0), plus `extra`.
    pub fn command(&self, k: usize, extra: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        if k == 0 {
            cmd.args(["--bootstrap", "-n", &self.n.to_string(), "-c", &self.capacity.to_string()]).args(&self.params);
        } else {
            cmd.args(["--join", &self.listen(0).to_string()]);
        }
        cmd.args(["--listen", &self.listen(k).to_string(), "--api", &self.api_addr(k).to_string()])
            .args(["--data-dir", &self.dir(k).display().to_string()])
            .args(extra);
        cmd.envs(self.env.iter().map(|(a, b)| (a.as_str(), b.as_str())));
        cmd
    }

    /// Starts node `k` with logs appended to its stderr.log; no prompt.
    pub fn start(&mut self, k: usize, extra: &[&str]) {
        std::fs::create_dir_all(self.dir(k)).expect("data dir");
        let log =
            std::fs::OpenOptions::new().create(true).append(true).open(self.dir(k).join("stderr.log")).expect("log");
        let mut cmd = self.command(k, extra);
        cmd.arg("--no-repl").stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
        self.procs[k] = Some(cmd.spawn().expect("spawn node"));
    }

    /// Starts every node in id order (each after the previous got its id), then waits until all
    /// are connected.
    pub fn start_all(&mut self, extra: impl Fn(usize) -> Vec<String>) {
        for k in 0..self.n {
            let args = extra(k);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            self.start(k, &args);
            // The cookie appears once the node runs: the endpoint is read again each time.
            self.wait(20, &format!("node {k} to get its id"), || {
                cluster::status(&self.api(k)).ok().filter(|s| s.id == Some(k as u32)).map(|_| ())
            });
        }
        self.wait(30, "all nodes connected", || {
            (0..self.n).all(|k| self.status(k).phase == Phase::Ready).then_some(())
        });
    }

    /// Kills node `k` with SIGKILL.
    pub fn kill(&mut self, k: usize) {
        if let Some(mut p) = self.procs[k].take() {
            let _ = p.kill();
            let _ = p.wait();
        }
    }

    pub fn status(&self, k: usize) -> Status {
        cluster::status(&self.api(k)).unwrap_or_default()
    }

    pub fn try_status(&self, k: usize) -> Option<Status> {
        cluster::status(&self.api(k)).ok()
    }

    pub fn chain(&self, k: usize) -> Vec<BlockSummary> {
        cluster::chain(&self.api(k)).expect("chain")
    }

    pub fn ask(&self, k: usize, request: Request) -> Result<Reply, ApiFailure> {
        cluster::ask(&self.api(k), &request)
    }

    /// Polls `check` every 50 ms until it gives a value; panics after `secs` seconds.
    pub fn wait<T>(&self, secs: u64, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
        let every = Duration::from_millis(50);
        match cluster::wait_for(Duration::from_secs(secs), every, "a test condition", || Ok(check())) {
            Ok(v) => v,
            Err(ClusterError::Timeout(_)) => panic!("timed out after {secs} s waiting for {what}"),
            Err(e) => panic!("waiting for {what}: {e}"),
        }
    }
}

/// The course's input files, when the shared data is beside the repository.
pub fn course_inputs(nodes: usize) -> Option<PathBuf> {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../shared/data/blockchat-inputs/{nodes}nodes"));
    dir.join("trans0.txt").is_file().then_some(dir)
}

/// Runs `cmd` to its end with its output captured, in a process group of its own; after `limit`
/// kills the group (the command and any node it started) and panics with its stderr.
pub fn output_within(mut cmd: Command, limit: Duration) -> Output {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let mut child = cmd.spawn().expect("spawn");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr")));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", child.id())]).status();
            let _ = child.kill();
            let _ = child.wait();
            let stderr = stderr.join().unwrap_or_default();
            panic!("{cmd:?} still running after {limit:?}, killed; stderr:\n{}", String::from_utf8_lossy(&stderr));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output { status, stdout: stdout.join().unwrap_or_default(), stderr: stderr.join().unwrap_or_default() }
}
