//! `blockchat calibrate`: measures this machine the way the daemon uses it, for the simulator's
//! cost model: the cryptography, frames through the daemon's framing, tasks and channels over
//! loopback TCP (latency and CPU per frame), and block-log appends with and without a sync,
//! alone and several at once (how much of a sync the disk serves one at a time). The output is
//! the `[cpu]` and `[network]` tables of a scenario.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use blockchat_core::{Block, NetworkParams, PeerMessage, Time, Transaction, TxKind, Wallet};
use blockchat_host::CostModel;
use futures::StreamExt;
use serde::Serialize;
use thiserror::Error;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::cli::CalibrateArgs;
use crate::daemon::blocklog::BlockLog;
use crate::daemon::peer::write_frames;
use crate::daemon::storage::StorageError;
use crate::daemon::wire::{self, DEFAULT_MAX_FRAME};

/// The calibration cluster: nodes, generated lines per node, block capacity (none of the
/// configurations `experiments compare-real` predicts).
const DAEMON_NODES: usize = 4;
const DAEMON_LINES: usize = 400;
const DAEMON_CAPACITY: usize = 5;
const DAEMON_RUNS: usize = 3;
/// Syncs measured at once: the five nodes of the course's smaller cluster.
const SYNC_BURST: usize = 5;
/// The pause between measured blocks: about a block time of the local cluster.
const IDLE_BETWEEN_BLOCKS: Duration = Duration::from_millis(1);

/// Why calibration failed.
#[derive(Debug, Error)]
pub enum CalibrateError {
    /// A socket, file or runtime could not be used.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The block log could not be written.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The cluster that measures the daemon's own work failed.
    #[error("the calibration cluster: {0}")]
    Cluster(#[from] Box<super::ClusterError>),
    /// The result could not be written as TOML.
    #[error("cannot write TOML: {0}")]
    Toml(#[from] toml::ser::Error),
}

/// The `[cpu]` table of a scenario: a measured cost model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Costs {
    /// Always `custom`: a measured model.
    pub model: &'static str,
    /// What was measured (the fields the calibration does not measure keep their defaults).
    #[serde(flatten)]
    pub costs: CostModel,
}

/// The scenario tables the calibration fills.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Calibration {
    /// The CPU and disk costs.
    pub cpu: Costs,
    /// The loopback link.
    pub network: Loopback,
}

/// A loopback link: the latency left of half a round trip once its CPU is counted.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Loopback {
    /// `{ model = "constant", ms = … }`.
    pub latency: Constant,
}

/// A constant latency, in a scenario's terms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Constant {
    /// Always `constant`.
    pub model: &'static str,
    /// Milliseconds.
    pub ms: f64,
}

fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> CalibrateError {
    move |source| CalibrateError::Io { what, source }
}

/// Measures and prints the cost model fields (and writes them to `--out`).
pub fn run(args: &CalibrateArgs) -> Result<(), CalibrateError> {
    let dir = match &args.data_dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("blockchat-calibrate-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir).map_err(io("creating the test directory"))?;
    let BlockLogCosts { write: block_write_ns, sync: single_sync, sync_cpu } = block_log(&dir.join("calibrate.log"))?;
    let _ = std::fs::remove_file(dir.join("calibrate.log"));
    // A burst of k syncs at once ends on average after latency + serial × (k + 1) / 2 in the
    // simulator's disk model: the burst's mean against a lone sync gives the serial part.
    let burst = concurrent_syncs(&dir, SYNC_BURST)?;
    let serial_sync = (burst.saturating_sub(single_sync) * 2 / (SYNC_BURST as u64 - 1)).min(single_sync - sync_cpu);
    let crypto = blockchat_host::calibrate::crypto();
    if args.data_dir.is_none() {
        let _ = std::fs::remove_dir(&dir);
    }
    // Two runtimes shaped like the daemon's, as two peers' processes are: every frame wakes the
    // other end's parked workers, as it does between nodes.
    let runtime = daemon_runtime()?;
    let peer = daemon_runtime()?;
    let small = frames(1);
    let large = frames(100);
    let (rtt_small, cpu_small) = runtime.block_on(ping_pong(&peer, small.clone(), 20_000))?;
    let (_, cpu_large) = runtime.block_on(ping_pong(&peer, large.clone(), 5_000))?;
    let (sb, lb) = (small.encoded_len() as f64, large.encoded_len() as f64);
    let per_byte = ((cpu_large - cpu_small) / (lb - sb)).max(0.0);
    let fixed = (cpu_small - per_byte * sb).max(0.0);
    let latency = (rtt_small / 2.0 - cpu_small).max(0.0);
    let mut cost = Calibration {
        cpu: Costs {
            model: "custom",
            costs: CostModel {
                sign_ns: crypto.sign_ns,
                verify_ns: crypto.verify_ns,
                batch_verify_ns: crypto.batch_verify_ns,
                batch_key_ns: crypto.batch_key_ns,
                hash_per_kib_ns: crypto.hash_per_kib_ns,
                receive_per_kib_ns: crypto.decode_per_kib_ns,
                frame_send_ns: (fixed / 2.0) as u64,
                frame_receive_ns: (fixed / 2.0) as u64,
                frame_per_kib_ns: (per_byte * 1024.0) as u64,
                block_write_ns,
                block_sync_ns: serial_sync,
                sync_latency_ns: single_sync.saturating_sub(serial_sync + sync_cpu),
                sync_cpu_ns: sync_cpu,
                ..CostModel::CALIBRATED
            },
        },
        network: Loopback { latency: Constant { model: "constant", ms: latency / 1e6 } },
    };
    let daemon = if args.no_cluster {
        "# the daemon's own work per input: not measured (--no-cluster), the model's default\n".to_string()
    } else {
        let d = daemon_overhead(&cost.cpu.costs, args.subnet)?;
        cost.cpu.costs.per_input_ns = d.per_input_ns;
        format!(
            "# a {}-node cluster ({} lines, capacity {}, no fsync; the median of {DAEMON_RUNS} runs): its nodes used {:.3} CPU s once ready, the costs\n\
             # above price {:.3} s of what they did; the rest over its {} inputs is the daemon's own work per input\n",
            DAEMON_NODES,
            DAEMON_NODES * DAEMON_LINES,
            DAEMON_CAPACITY,
            d.cpu_seconds,
            d.priced_seconds,
            d.inputs
        )
    };
    let text = format!(
        "# measured by `blockchat calibrate` (frames of {sb} and {lb} bytes over loopback, a block log in {}):\n\
         # median round trip {:.1} us, CPU per frame {:.1} us; what is left of half a round trip\n\
         # after the CPU is the link's own latency;\n\
         # a lone sync {:.1} us ({:.1} us of it on a core), {SYNC_BURST} at once {:.1} us on average (the disk idle\n\
         # between blocks)\n{daemon}{}",
        dir.display(),
        rtt_small / 1e3,
        cpu_small / 1e3,
        single_sync as f64 / 1e3,
        sync_cpu as f64 / 1e3,
        burst as f64 / 1e3,
        toml::to_string(&cost)?
    );
    print!("{text}");
    if let Some(out) = &args.out {
        if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io("creating the output directory"))?;
        }
        std::fs::write(out, &text).map_err(io("writing the output"))?;
    }
    Ok(())
}

/// What the calibration cluster measured.
struct DaemonOverhead {
    per_input_ns: u64,
    cpu_seconds: f64,
    priced_seconds: f64,
    inputs: u64,
}

/// Runs a small real cluster without syncs (the model prices those apart) and measures what
/// the cost model leaves out of the daemon: its nodes' CPU time less the model's price of the
/// work they report (signatures, verifications, frames, bytes, block writes), over the inputs
/// they handled (frames received, which the simulator charges it on): tasks, channels, wake-ups.
fn daemon_overhead(costs: &CostModel, subnet: u8) -> Result<DaemonOverhead, CalibrateError> {
    #[derive(clap::Parser)]
    struct Cluster {
        #[command(flatten)]
        args: crate::cli::ClusterArgs,
    }
    let (n, lines, capacity, subnet) =
        (DAEMON_NODES.to_string(), DAEMON_LINES.to_string(), DAEMON_CAPACITY.to_string(), subnet.to_string());
    let flags = [
        "-n",
        &n,
        "-c",
        &capacity,
        "--lines",
        &lines,
        "--full-blocks",
        "--no-fsync",
        "--subnet",
        &subnet,
        "--quiet",
        "0.3",
    ];
    let cluster = <Cluster as clap::Parser>::try_parse_from(["cluster"].into_iter().chain(flags)).map_err(|e| {
        CalibrateError::Io { what: "building the calibration cluster's arguments", source: std::io::Error::other(e) }
    })?;
    let mut runs = (0..DAEMON_RUNS)
        .map(|k| super::run_once(&cluster.args, k).map_err(Box::new).map(|run| overhead(costs, &run)))
        .collect::<Result<Vec<_>, _>>()?;
    // The median run: a shared machine's other load lands on one run or two, not on all.
    runs.sort_by_key(|d| d.per_input_ns);
    Ok(runs.swap_remove(DAEMON_RUNS / 2))
}

/// What one calibration run says of the daemon's own work.
fn overhead(costs: &CostModel, run: &super::RunResult) -> DaemonOverhead {
    let unpriced = CostModel { per_input_ns: 0, ..*costs };
    let mut priced_ns = 0u64;
    let mut inputs = 0u64;
    for node in &run.node_loads {
        let l = &node.load;
        priced_ns += unpriced.cost(&node.work, l.bytes_in as usize).as_nanos() as u64
            + l.frames_out * costs.frame_send_ns
            + l.frames_in * costs.frame_receive_ns
            + (l.bytes_out + l.bytes_in) * costs.frame_per_kib_ns / 2048
            + l.blocks_written * costs.block_write_ns;
        inputs += l.frames_in;
    }
    let cpu_seconds: f64 = run.node_loads.iter().map(|l| l.workload_cpu_seconds).sum();
    let cpu_ns = (cpu_seconds * 1e9) as u64;
    DaemonOverhead {
        per_input_ns: cpu_ns.saturating_sub(priced_ns) / inputs.max(1),
        cpu_seconds,
        priced_seconds: priced_ns as f64 / 1e9,
        inputs,
    }
}

/// A frame of `count` course-like messages (a `Transaction` when there is one).
fn frames(count: usize) -> PeerMessage {
    let w = Wallet::from_seed(1);
    let to = Wallet::from_seed(2).address();
    let txs: Vec<Arc<Transaction>> = (0..count as u64)
        .map(|n| Arc::new(Transaction::new_signed(&w, to, TxKind::Message { text: "Lunchtime doubly so.".into() }, n)))
        .collect();
    match count {
        1 => PeerMessage::Transaction(txs[0].clone()),
        _ => PeerMessage::Transactions(txs),
    }
}

/// Median append time of a ten-transaction block without and with a sync, ns.
fn block_log(path: &std::path::Path) -> Result<BlockLogCosts, CalibrateError> {
    let w = Wallet::from_seed(3);
    let to = Wallet::from_seed(4).address();
    let genesis =
        blockchat_core::Genesis::course(NetworkParams::new(10), &[w.address(), to], 1).block().map_err(|e| {
            CalibrateError::Io { what: "building a test block", source: std::io::Error::other(e.to_string()) }
        })?;
    let txs: Vec<Arc<Transaction>> = (0..10u64)
        .map(|n| Arc::new(Transaction::new_signed(&w, to, TxKind::Message { text: "Lunchtime doubly so.".into() }, n)))
        .collect();
    let block = Block::new_signed(&w, 1, Time(1), 0, genesis.hash(), txs);
    // (median wall time, mean CPU time of this thread) per append.
    let measure = |sync: bool| -> Result<(u64, u64), CalibrateError> {
        let _ = std::fs::remove_file(path);
        let (mut log, _) = BlockLog::open(path, sync)?;
        let mut times = Vec::with_capacity(300);
        let mut cpu = 0;
        for _ in 0..300 {
            // A node's disk idles between blocks; back-to-back syncs measure a faster disk.
            std::thread::sleep(IDLE_BETWEEN_BLOCKS);
            let (t, c) = (Instant::now(), thread_cpu_ns());
            log.append(&block)?;
            cpu += thread_cpu_ns().saturating_sub(c);
            times.push(t.elapsed().as_nanos() as u64);
        }
        times.sort_unstable();
        Ok((times[times.len() / 2], cpu / times.len() as u64))
    };
    let (write, write_cpu) = measure(false)?;
    let (synced, synced_cpu) = measure(true)?;
    let sync = synced.saturating_sub(write);
    Ok(BlockLogCosts { write, sync, sync_cpu: synced_cpu.saturating_sub(write_cpu).min(sync) })
}

/// A block-log append's costs, ns.
struct BlockLogCosts {
    /// The write call (median).
    write: u64,
    /// The sync after it (median), with the disk idle before it.
    sync: u64,
    /// The part of the sync this thread spent on a core (mean).
    sync_cpu: u64,
}

/// CPU time this thread has used, from the scheduler (0 where unavailable).
fn thread_cpu_ns() -> u64 {
    super::schedstat_ns(std::path::Path::new("/proc/thread-self/schedstat")).unwrap_or(0)
}

/// The mean time a sync takes when `writers` logs each append a block and sync at the same
/// moment, as a block's receivers do, the disk idle between bursts: the median over bursts, ns.
fn concurrent_syncs(dir: &std::path::Path, writers: usize) -> Result<u64, CalibrateError> {
    let w = Wallet::from_seed(5);
    let to = Wallet::from_seed(6).address();
    let txs: Vec<Arc<Transaction>> = (0..10u64)
        .map(|n| Arc::new(Transaction::new_signed(&w, to, TxKind::Message { text: "Lunchtime doubly so.".into() }, n)))
        .collect();
    let block = Arc::new(Block::new_signed(&w, 1, Time(1), 0, blockchat_core::BlockHash([1; 32]), txs));
    let bursts = 150;
    let barrier = Arc::new(Barrier::new(writers + 1));
    let handles: Vec<_> = (0..writers)
        .map(|k| {
            let path = dir.join(format!("calibrate-{k}.log"));
            let (block, barrier) = (block.clone(), barrier.clone());
            std::thread::spawn(move || -> Result<Vec<u64>, StorageError> {
                let _ = std::fs::remove_file(&path);
                let mut log = BlockLog::open(&path, true).map(|(log, _)| log);
                let mut times = Vec::with_capacity(bursts);
                // Every burst is waited for, even after an error, so no thread is left waiting.
                for _ in 0..bursts {
                    barrier.wait();
                    let t = Instant::now();
                    if let Ok(l) = &mut log
                        && let Err(e) = l.append(&block)
                    {
                        log = Err(e);
                    }
                    times.push(t.elapsed().as_nanos() as u64);
                    barrier.wait();
                }
                let _ = std::fs::remove_file(&path);
                log.map(|_| times)
            })
        })
        .collect();
    for _ in 0..bursts {
        barrier.wait();
        barrier.wait();
        std::thread::sleep(IDLE_BETWEEN_BLOCKS);
    }
    let mut per_writer = Vec::with_capacity(writers);
    for h in handles {
        per_writer.push(h.join().map_err(|_| CalibrateError::Io {
            what: "a sync thread",
            source: std::io::Error::other("it panicked"),
        })??);
    }
    let mut means: Vec<u64> =
        (0..bursts).map(|b| per_writer.iter().map(|t| t[b]).sum::<u64>() / writers as u64).collect();
    means.sort_unstable();
    Ok(means[bursts / 2])
}

/// A runtime like a node's (`blockchat node --threads 2`).
fn daemon_runtime() -> Result<tokio::runtime::Runtime, CalibrateError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(io("starting the runtime"))
}

/// Round trips of `message` through the daemon's framing, a reader on `peer` that decodes and
/// queues it for a loop, the loop handing it to a writer, and back; returns the median round
/// trip and the process CPU time per frame, both in ns.
async fn ping_pong(
    peer: &tokio::runtime::Runtime,
    message: PeerMessage,
    rounds: usize,
) -> Result<(f64, f64), CalibrateError> {
    let listener = TcpListener::bind("127.0.0.1:0").await.map_err(io("binding a loopback socket"))?;
    let addr = listener.local_addr().map_err(io("reading the socket's address"))?;
    let dial = TcpStream::connect(addr);
    let (accepted, dialled) = tokio::join!(listener.accept(), dial);
    let a = accepted.map_err(io("accepting"))?.0;
    let b = dialled.map_err(io("connecting"))?;
    a.set_nodelay(true).map_err(io("setting nodelay"))?;
    b.set_nodelay(true).map_err(io("setting nodelay"))?;
    // The accepted end moves to the peer's runtime, which then owns its reads and writes.
    let a = a.into_std().map_err(io("moving the socket"))?;
    peer.spawn(async move {
        if let Ok(a) = TcpStream::from_std(a) {
            echo(a).await;
        }
    });
    let (sink, mut stream) = wire::framed(b, DEFAULT_MAX_FRAME).split();
    let (tx, rx) = mpsc::unbounded_channel();
    let backlog = Arc::new(AtomicUsize::new(0));
    tokio::spawn(write_frames(sink, rx, backlog.clone(), DEFAULT_MAX_FRAME));
    let mut rtts = Vec::with_capacity(rounds);
    let cpu_before = super::cpu_seconds(std::process::id());
    let started = Instant::now();
    for _ in 0..rounds {
        let t = Instant::now();
        backlog.fetch_add(message.encoded_len(), Ordering::Relaxed);
        if tx.send(message.clone()).is_err() {
            break;
        }
        match stream.next().await {
            Some(Ok(frame)) => {
                let _ = PeerMessage::decode(&frame);
            }
            _ => break,
        }
        rtts.push(t.elapsed().as_nanos() as f64);
    }
    let wall = started.elapsed();
    let cpu = super::cpu_seconds(std::process::id()) - cpu_before;
    rtts.sort_by(f64::total_cmp);
    let rtt = rtts.get(rtts.len() / 2).copied().unwrap_or(0.0);
    let frames = (2 * rtts.len()).max(1) as f64;
    // CPU seconds are counted in 10 ms ticks: the rounds take a second or more.
    let per_frame = if cpu > 0.0 { cpu * 1e9 / frames } else { wall.as_nanos() as f64 / frames };
    Ok((rtt, per_frame))
}

/// Echoes every frame back through its own loop and writer, as a node's tasks pass a frame on.
async fn echo(a: TcpStream) {
    let (echo_sink, mut echo_stream) = wire::framed(a, DEFAULT_MAX_FRAME).split();
    let (echo_tx, echo_rx) = mpsc::unbounded_channel();
    // Counted as the daemon's loop counts what it hands a writer.
    let echo_backlog = Arc::new(AtomicUsize::new(0));
    tokio::spawn(write_frames(echo_sink, echo_rx, echo_backlog.clone(), DEFAULT_MAX_FRAME));
    let (loop_tx, mut loop_rx) = mpsc::unbounded_channel::<PeerMessage>();
    tokio::spawn(async move {
        while let Some(Ok(frame)) = echo_stream.next().await {
            let Ok(m) = PeerMessage::decode(&frame) else { break };
            if loop_tx.send(m).is_err() {
                break;
            }
        }
    });
    tokio::spawn(async move {
        while let Some(m) = loop_rx.recv().await {
            echo_backlog.fetch_add(m.encoded_len(), Ordering::Relaxed);
            if echo_tx.send(m).is_err() {
                break;
            }
        }
    });
}
