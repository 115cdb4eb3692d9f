//! Starting a node: the data dir, the control endpoint, bootstrap or join (or resume from the
//! stored roster), reloading and re-validating the block log, then the connections and the loop.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use blockchat_core::{Ed25519Check, Node, NodeConfig, format_bcc};
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::bootstrap::{self, BootstrapPlan, JoinPlan};
use crate::cli::NodeArgs;
use crate::control::{self, Gate, SharedGate};
use crate::driver::{Counters, Driver};
use crate::peer::{self, PeerNet};
use crate::roster::Roster;
use crate::storage::{BlockLog, DataDir, StorageError};
use crate::wire::WireError;
use crate::workload::{self, InputError, Workload};

/// Why a node could not start or had to stop.
#[derive(Debug, Error)]
pub enum RunError {
    /// A flag is missing or contradicts another.
    #[error("{0}")]
    Usage(String),
    /// The data dir could not be used.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The input file is unusable.
    #[error(transparent)]
    Input(#[from] InputError),
    /// Joining or bootstrapping failed.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// A socket could not be bound.
    #[error("cannot listen on {addr}: {error}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        error: std::io::Error,
    },
    /// The stored chain does not validate.
    #[error("{0}")]
    Chain(String),
}

/// The default control address: the listen IP when loopback (else 127.0.0.1), listen port + 1.
pub fn default_control(listen: SocketAddr) -> SocketAddr {
    let ip = if listen.ip().is_loopback() { listen.ip() } else { IpAddr::V4(Ipv4Addr::LOCALHOST) };
    SocketAddr::new(ip, listen.port().wrapping_add(1))
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, RunError> {
    TcpListener::bind(addr).await.map_err(|error| RunError::Bind { addr, error })
}

/// Runs a node until shutdown.
pub async fn run_node(args: NodeArgs) -> Result<(), RunError> {
    if args.max_frame < 64 << 10 {
        return Err(RunError::Usage(format!("--max-frame {} is too small (at least 65536)", args.max_frame)));
    }
    let dir = args.data_dir.as_deref().ok_or_else(|| RunError::Usage("--data-dir DIR is required".into()))?;
    if args.bootstrap {
        match (args.nodes, args.capacity) {
            (None, _) => return Err(RunError::Usage("--bootstrap needs -n N (the number of nodes)".into())),
            (_, None) => return Err(RunError::Usage("--bootstrap needs -c C (transactions per block)".into())),
            (Some(n), Some(c)) if n < 1 || c < 1 => {
                return Err(RunError::Usage("-n and -c must be at least 1".into()));
            }
            _ => {}
        }
    }
    let data = DataDir::open(dir)?;
    let (wallet, created) = data.load_or_create_wallet()?;
    info!("{} wallet {}", if created { "created" } else { "loaded" }, wallet.address());
    let input = args.input.as_deref().map(workload::read_input).transpose()?;
    let stored = data.load_network()?;
    let stored_roster = stored.map(|info| Roster::new(info, wallet.address())).transpose().map_err(WireError::from)?;

    let listen = match (args.listen, &stored_roster) {
        (Some(l), _) => l,
        (None, Some(r)) => r.member(r.me).and_then(|m| m.address.parse().ok()).ok_or_else(|| {
            RunError::Usage("--listen ADDR is required (the stored address is not an IP:port)".into())
        })?,
        (None, None) => return Err(RunError::Usage("--listen ADDR is required".into())),
    };
    let advertise = args.advertise.clone().unwrap_or_else(|| listen.to_string());
    if args.advertise.is_none() && listen.ip().is_unspecified() {
        return Err(RunError::Usage(format!(
            "listening on {listen}: give --advertise with the address peers should dial"
        )));
    }

    let gate: SharedGate = Arc::new(Mutex::new(Gate::Starting { phase: "starting".into(), id: None }));
    let control_addr = args.control.unwrap_or_else(|| default_control(listen));
    let control_listener = bind(control_addr).await?;
    let control_addr = control_listener.local_addr().map_err(|error| RunError::Bind { addr: control_addr, error })?;
    std::fs::write(data.control_path(), format!("{control_addr}\n"))
        .map_err(|error| StorageError::Io { path: data.control_path(), error })?;
    tokio::spawn(control::serve(control_listener, gate.clone()));
    info!("control endpoint on {control_addr}");
    let listener = bind(listen).await?;
    info!("listening for peers on {listen} (advertised as {advertise})");

    let resumed = stored_roster.is_some();
    let roster = match stored_roster {
        Some(r) => {
            info!("resuming as node {} of {} from {}", r.me, r.len(), dir.display());
            r
        }
        None => {
            let roster = if args.bootstrap {
                let (nodes, capacity) = (args.nodes.unwrap_or(1), args.capacity.unwrap_or(1));
                let plan = BootstrapPlan {
                    nodes,
                    capacity,
                    round_timeout_ms: args.round_timeout_ms,
                    stake: args.stake,
                    advertise: advertise.clone(),
                };
                let info = bootstrap::run_bootstrap(&listener, &wallet, &plan, args.max_frame, &gate).await?;
                Roster::new(info, wallet.address()).map_err(WireError::from)?
            } else if let Some(addr) = &args.join {
                let plan = JoinPlan {
                    bootstrap: addr.clone(),
                    advertise: advertise.clone(),
                    stake: args.stake,
                    max_frame: args.max_frame,
                };
                bootstrap::join(&plan, &wallet, &gate).await?
            } else {
                return Err(RunError::Usage(
                    "give --bootstrap or --join ADDR, or the --data-dir of a node that has joined a network".into(),
                ));
            };
            data.save_network(&roster.info)?;
            roster
        }
    };
    let roster = Arc::new(roster);

    let mut config = NodeConfig::new(roster.capacity());
    // A network rule: every node takes it from the bootstrap's description, not its own flags.
    config.params.round_timeout = Duration::from_millis(roster.info.round_timeout_ms);
    config.tip_rebroadcast = Some(config.params.round_timeout);
    let mut node = Node::new(config, wallet.clone(), &roster.genesis, Ed25519Check::new())
        .map_err(|e| RunError::Chain(format!("cannot start from this genesis: {e}")))?;
    let (log, recovered) = BlockLog::open(&data.log_path(), !args.no_fsync)?;
    if recovered.torn_bytes > 0 {
        warn!("cut off a torn last record ({} bytes) from the block log", recovered.torn_bytes);
    }
    let reloaded = recovered.blocks.len();
    for block in recovered.blocks {
        let index = block.index();
        node.load_block(Arc::new(block)).map_err(|e| {
            RunError::Chain(format!("block {index} in {} fails validation: {e}", data.log_path().display()))
        })?;
    }
    if reloaded > 0 {
        info!("reloaded and re-validated {reloaded} blocks; tip {}", node.chain().tip().hash().short());
    }

    let requests = match (&input, args.synthetic) {
        (_, _) if resumed && (input.is_some() || args.synthetic.is_some()) => {
            warn!("not sending the workload again after a restart");
            Vec::new()
        }
        (Some(file), _) => workload::requests_from_input(file, &roster)?,
        (None, Some(count)) => workload::synthetic_requests(&roster, count),
        (None, None) => Vec::new(),
    };
    let work = Workload::new(requests, args.rate, 40_000);
    let me = roster.member(roster.me).map(|m| m.stake).unwrap_or_default();
    info!("node {} of {}, capacity {}, stake {} BCC", roster.me, roster.len(), roster.capacity(), format_bcc(me));

    let (events_tx, events) = mpsc::unbounded_channel();
    let (urgent_tx, urgent) = mpsc::unbounded_channel();
    let counters = Arc::new(Counters::default());
    let net = Arc::new(PeerNet::new(
        wallet,
        roster.clone(),
        (events_tx.clone(), urgent_tx),
        counters.clone(),
        args.max_frame,
    ));
    tokio::spawn(peer::accept_loop(listener, net.clone()));
    for member in roster.members().iter().filter(|m| m.id < roster.me) {
        tokio::spawn(peer::dial_loop(member.clone(), net.clone()));
    }
    if let Ok(mut g) = gate.lock() {
        *g = Gate::Running(events_tx.clone());
    }
    if !args.no_repl {
        let (tx, history, id) = (events_tx.clone(), data.history_path(), roster.me);
        std::thread::spawn(move || crate::repl::run(tx, history, id));
    }
    drop(events_tx);
    let driver = Driver::new(node, roster, log, work, counters, net.inbox.clone());
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
        info!("Ctrl-C: shutting down");
    };
    driver.run(events, urgent, stop).await?;
    Ok(())
}
