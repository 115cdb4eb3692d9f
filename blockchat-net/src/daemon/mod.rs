//! The node daemon: the data dir, the API, bootstrap or join (or resume from the
//! stored roster), reloading and re-validating the block log, then the connections and the
//! loop around the host.

pub mod admission;
pub mod blocklog;
pub mod bootstrap;
pub mod clock;
pub mod driver;
pub mod handshake;
pub mod peer;
pub mod roster;
pub mod storage;
pub mod throttle;
pub mod wire;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use blockchat_core::error::BlockError;
use blockchat_core::node::NodeError;
use blockchat_core::{Ed25519Check, NetworkParams, ParamsError, format_bcc};
use blockchat_host::client::course::{self, CourseError};
use blockchat_host::client::synthetic::Mix;
use blockchat_host::client::{ClientError, Think};
use blockchat_host::seed::{self, Stream};
use blockchat_host::{Client, Host, Pace, Plan, Settings};
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::api::Phase;
use crate::api::auth::{AuthError, Secret};
use crate::api::server::{self, ApiState, Gate, SharedGate};
use crate::cli::NodeArgs;
use admission::{Admission, KeysFileError};
use blocklog::BlockLog;
use bootstrap::{BootstrapPlan, JoinPlan};
use driver::{Counters, Driver};
use peer::PeerNet;
use roster::Roster;
use storage::{DataDir, StorageError};
use wire::WireError;

/// Units sent by each synthetic transfer (0.001 BCC).
pub const SYNTHETIC_AMOUNT: u64 = blockchat_core::UNITS_PER_BCC / 1000;

/// Why a node could not start or had to stop.
#[derive(Debug, Error)]
pub enum RunError {
    /// A required flag is missing.
    #[error("{flag} is required{why}")]
    Missing {
        /// The flag, as typed.
        flag: &'static str,
        /// When it is required, in words (or empty).
        why: &'static str,
    },
    /// A flag's value is out of range.
    #[error("{flag} {value} is out of range: {expected}")]
    Range {
        /// The flag.
        flag: &'static str,
        /// What was given.
        value: String,
        /// What is accepted.
        expected: &'static str,
    },
    /// Listening on every interface without saying what peers should dial.
    #[error("listening on {listen}: give --advertise with the address peers should dial")]
    NoAdvertise {
        /// The listen address.
        listen: SocketAddr,
    },
    /// Neither bootstrap nor join, and no stored network.
    #[error("give --bootstrap or --join ADDR, or the --data-dir of a node that has joined a network")]
    NoNetwork,
    /// The network's parameters are invalid.
    #[error("invalid network parameters: {0}")]
    Params(#[from] ParamsError),
    /// The data dir could not be used.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The API's cookie could not be written.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The input file is unusable.
    #[error(transparent)]
    Input(#[from] CourseError),
    /// The input file names a node outside the network, or the pace is invalid.
    #[error("{path}: {error}")]
    Client {
        /// The input file (or the flag's name).
        path: PathBuf,
        /// Why.
        error: ClientError,
    },
    /// The --allow-keys file is unreadable or holds something other than keys.
    #[error(transparent)]
    Keys(#[from] KeysFileError),
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
    /// The genesis in the roster cannot start a node.
    #[error("cannot start from this genesis: {0}")]
    Genesis(#[from] NodeError),
    /// A stored block does not validate.
    #[error("block {index} in {path} fails validation: {error}")]
    StoredBlock {
        /// Its height.
        index: u64,
        /// The log.
        path: PathBuf,
        /// Why.
        error: BlockError,
    },
}

/// The default API address: the listen IP when loopback (else 127.0.0.1), listen port + 1.
pub fn default_api(listen: SocketAddr) -> SocketAddr {
    let ip = if listen.ip().is_loopback() { listen.ip() } else { IpAddr::V4(Ipv4Addr::LOCALHOST) };
    SocketAddr::new(ip, listen.port().wrapping_add(1))
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, RunError> {
    TcpListener::bind(addr).await.map_err(|error| RunError::Bind { addr, error })
}

/// The network parameters the bootstrap's flags choose.
pub fn params_of(args: &NodeArgs) -> Result<NetworkParams, RunError> {
    let capacity = args.capacity.ok_or(RunError::Missing { flag: "-c", why: " with --bootstrap" })?;
    let interval = if args.full_blocks { 0 } else { args.max_block_interval_ms };
    network_params(capacity, interval, args.round_timeout_ms, args.max_reorg_depth, args.initial_balance)
}

/// Network parameters from flag values (`interval_ms` 0: full blocks only); an out-of-range
/// value is named by its flag.
pub fn network_params(
    capacity: u32,
    interval_ms: u64,
    round_timeout_ms: u64,
    max_reorg_depth: u64,
    initial_balance: u64,
) -> Result<NetworkParams, RunError> {
    let params = NetworkParams {
        capacity: capacity as usize,
        max_block_interval: (interval_ms > 0).then(|| Duration::from_millis(interval_ms)),
        round_timeout: Duration::from_millis(round_timeout_ms),
        max_reorg_depth,
        initial_balance,
    };
    params.validate().map_err(|e| {
        let (flag, value, expected) = match e {
            ParamsError::ZeroCapacity | ParamsError::CapacityTooLarge { .. } => {
                ("-c", capacity.to_string(), "between 1 and 65536 transactions")
            }
            ParamsError::RoundTimeout { .. } => ("--round-timeout-ms", round_timeout_ms.to_string(), "at least 1"),
            ParamsError::BlockInterval { .. } => ("--max-block-interval-ms", interval_ms.to_string(), "0 or more"),
            ParamsError::ZeroReorgDepth => ("--max-reorg-depth", max_reorg_depth.to_string(), "at least 1"),
            ParamsError::ZeroInitialBalance => ("--initial-balance", format_bcc(initial_balance), "more than 0 BCC"),
            ParamsError::Record(_) => return RunError::Params(e),
        };
        RunError::Range { flag, value, expected }
    })?;
    Ok(params)
}

/// The client's plan and pace from the flags; the input file is read (and its format checked)
/// before the node joins anything.
fn plan_of(args: &NodeArgs) -> Result<(Plan, Pace), RunError> {
    let plan = match (&args.input, args.synthetic) {
        (Some(path), _) => Plan::Lines(course::read_file(path)?),
        (None, Some(count)) => Plan::Synthetic { count, mix: Mix::transfers(SYNTHETIC_AMOUNT) },
        (None, None) => Plan::Nothing,
    };
    let pace = match (args.rate, &args.think_ms) {
        (Some(per_second), _) => Pace::Poisson { per_second },
        (None, Some(think)) => think.pace(),
        (None, None) => Pace::Burst,
    };
    let flag = if args.rate.is_some() { "--rate" } else { "--think-ms" };
    pace.check().map_err(|error| RunError::Client { path: PathBuf::from(flag), error })?;
    // The bootstrap knows the network's size: a line naming a node beyond it is refused now,
    // not after the others have joined and wait for this node.
    if let (Plan::Lines(lines), true, Some(nodes)) = (&plan, args.bootstrap, args.nodes)
        && let Some(l) = lines.iter().find(|l| l.to >= nodes as usize)
    {
        let path = args.input.clone().unwrap_or_default();
        let error = ClientError::UnknownNode { number: l.number, to: l.to, last: nodes as usize - 1 };
        return Err(RunError::Client { path, error });
    }
    Ok((plan, pace))
}

/// A joiner learns the network's size only once it is a member: a line naming a node beyond it
/// is dropped with a warning rather than stopping a node the others now wait for.
fn drop_absent_nodes(plan: Plan, nodes: usize) -> Plan {
    match plan {
        Plan::Lines(lines) => Plan::Lines(
            lines
                .into_iter()
                .filter(|l| {
                    let keep = l.to < nodes;
                    if !keep {
                        warn!(
                            "input line {} sends to node {}, but the network has nodes 0 to {}; skipped",
                            l.number,
                            l.to,
                            nodes - 1
                        );
                    }
                    keep
                })
                .collect(),
        ),
        other => other,
    }
}

/// What the flags say, checked before anything is created (the data dir, the log file).
pub struct Checked {
    /// The network's parameters, for the bootstrap.
    params: Option<NetworkParams>,
    /// The client's plan and pace (an input file is read and checked here).
    plan: Plan,
    pace: Pace,
    /// Who may join.
    admission: Admission,
}

/// Checks the flags and reads the files they name, creating nothing.
pub fn check(args: &NodeArgs) -> Result<Checked, RunError> {
    if args.max_frame < 64 << 10 {
        let value = args.max_frame.to_string();
        return Err(RunError::Range { flag: "--max-frame", value, expected: "at least 65536" });
    }
    if args.data_dir.is_none() {
        return Err(RunError::Missing { flag: "--data-dir DIR", why: "" });
    }
    let params = if args.bootstrap {
        match args.nodes {
            None => return Err(RunError::Missing { flag: "-n N (the number of nodes)", why: " with --bootstrap" }),
            Some(0) => return Err(RunError::Range { flag: "-n", value: "0".into(), expected: "at least 1" }),
            Some(_) => Some(params_of(args)?),
        }
    } else {
        None
    };
    let (plan, pace) = plan_of(args)?;
    let admission = Admission {
        token: args.join_token.clone(),
        keys: args.allow_keys.as_deref().map(admission::read_keys).transpose()?,
    };
    Ok(Checked { params, plan, pace, admission })
}

/// Runs a node until shutdown.
pub async fn run_node(args: NodeArgs) -> Result<(), RunError> {
    let Checked { params, plan, pace, admission } = check(&args)?;
    let dir = args.data_dir.as_deref().ok_or(RunError::Missing { flag: "--data-dir DIR", why: "" })?;
    let data = DataDir::open(dir)?;
    let (wallet, created) = data.load_or_create_wallet()?;
    info!("{} wallet {}", if created { "created" } else { "loaded" }, wallet.address());
    let stored = data.load_network()?;
    let stored_roster = stored.map(|info| Roster::new(info, wallet.address())).transpose().map_err(WireError::from)?;

    let listen = match (args.listen, &stored_roster) {
        (Some(l), _) => l,
        (None, Some(r)) => r
            .member(r.me)
            .and_then(|m| m.address.parse().ok())
            .ok_or(RunError::Missing { flag: "--listen ADDR", why: " (the stored address is not an IP:port)" })?,
        (None, None) => return Err(RunError::Missing { flag: "--listen ADDR", why: "" }),
    };
    let advertise = args.advertise.clone().unwrap_or_else(|| listen.to_string());
    if args.advertise.is_none() && listen.ip().is_unspecified() {
        return Err(RunError::NoAdvertise { listen });
    }

    let gate: SharedGate = Arc::new(Mutex::new(Gate::Starting { phase: Phase::Starting, id: None }));
    let api_addr = args.api.unwrap_or_else(|| default_api(listen));
    let api_listener = bind(api_addr).await?;
    let api_addr = api_listener.local_addr().map_err(|error| RunError::Bind { addr: api_addr, error })?;
    let secret = match &args.api_password {
        Some(password) => Secret::password(password),
        None => {
            let secret = Secret::random();
            secret.write_cookie(dir)?;
            secret
        }
    };
    std::fs::write(data.api_path(), format!("{api_addr}\n"))
        .map_err(|error| StorageError::Io { path: data.api_path(), error })?;
    let (blocks_feed, _) = tokio::sync::broadcast::channel(256);
    let api = ApiState { gate: gate.clone(), secret: secret.clone(), blocks: blocks_feed.clone() };
    tokio::spawn(server::serve(api_listener, api));
    info!(
        "API and explorer on http://{api_addr}/ ({})",
        if args.api_password.is_some() { "password from the settings" } else { "secret in the data dir's .cookie" }
    );
    let listener = bind(listen).await?;
    info!("listening for peers on {listen} (advertised as {advertise})");

    let resumed = stored_roster.is_some();
    let roster = match (stored_roster, params) {
        (Some(r), _) => {
            info!("resuming as node {} of {} from {}", r.me, r.len(), dir.display());
            r
        }
        (None, Some(params)) => {
            let nodes = args.nodes.unwrap_or(1);
            let show_progress = !args.no_repl;
            let plan = BootstrapPlan {
                nodes,
                params,
                stake: args.stake,
                advertise: advertise.clone(),
                admission,
                show_progress,
            };
            let info = bootstrap::run_bootstrap(&listener, &wallet, &plan, args.max_frame, &gate).await?;
            let roster = Roster::new(info, wallet.address()).map_err(WireError::from)?;
            data.save_network(&roster.info)?;
            roster
        }
        (None, None) => {
            let Some(addr) = &args.join else { return Err(RunError::NoNetwork) };
            let plan = JoinPlan {
                bootstrap: addr.clone(),
                advertise: advertise.clone(),
                stake: args.stake,
                max_frame: args.max_frame,
                token: args.join_token.clone(),
            };
            let roster = bootstrap::join(&plan, &wallet, &gate, &listener).await?;
            data.save_network(&roster.info)?;
            roster
        }
    };
    let roster = Arc::new(roster);
    info!("network: {}", roster.params);

    let (plan, pace) = if resumed && !plan.is_empty() {
        warn!("not sending the workload again after a restart");
        (Plan::Nothing, Pace::Burst)
    } else {
        (plan, pace)
    };
    let members: Arc<[blockchat_core::Address]> = roster.keys().into();
    let plan = drop_absent_nodes(plan, members.len());
    let me = roster.me as usize;
    let rng = seed::rng_for(args.seed, Stream::Client, me as u64);
    let input_name = args.input.clone().unwrap_or_else(|| PathBuf::from("--synthetic"));
    let client = Client::new(plan, pace, rng, me, members.clone())
        .map_err(|error| RunError::Client { path: input_name, error })?;
    let peers: Vec<_> = members.iter().copied().filter(|k| *k != wallet.address()).collect();
    let mut host =
        Host::new(Settings::new(&roster.params), wallet.clone(), &roster.genesis, Ed25519Check::new(), peers, client)?;
    let (log, recovered) = BlockLog::open(&data.log_path(), !args.no_fsync)?;
    if recovered.torn_bytes > 0 {
        warn!(
            "cut off an incomplete final record ({} bytes) from the block log: a write the last run did not finish",
            recovered.torn_bytes
        );
    }
    if recovered.converted {
        info!("rewrote the block log in format 2 ({} blocks)", recovered.blocks.len());
    }
    let reloaded = recovered.blocks.len();
    for block in recovered.blocks {
        let index = block.index();
        host.load_block(Arc::new(block)).map_err(|error| RunError::StoredBlock {
            index,
            path: data.log_path(),
            error,
        })?;
    }
    if reloaded > 0 {
        info!("reloaded and re-validated {reloaded} blocks; tip {}", host.node().chain().tip().hash().short());
    }
    let stake = roster.member(roster.me).map(|m| m.stake).unwrap_or_default();
    info!("node {} of {}, stake {} BCC", roster.me, roster.len(), format_bcc(stake));

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
        let endpoint = crate::api::client::Endpoint::new(&api_addr.to_string(), secret);
        let (history, id) = (data.history_path(), roster.me);
        std::thread::spawn(move || crate::prompt::run(endpoint, history, Some(id)));
    }
    drop(events_tx);
    let driver = Driver::new(host, roster, log, counters, net.inbox.clone(), blocks_feed);
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
        info!("Ctrl-C: shutting down");
    };
    driver.run(events, urgent, stop).await?;
    // Answers already handed to the API server (the reply to `shutdown` among them) still leave.
    tokio::time::sleep(Duration::from_millis(200)).await;
    if args.api_password.is_none() {
        // A stale cookie would let a client think the node runs.
        let _ = std::fs::remove_file(dir.join(crate::api::auth::COOKIE_FILE));
    }
    Ok(())
}

/// Parses `MS` or `MIN-MAX` milliseconds into a think time (`0` for none).
pub fn parse_think(text: &str) -> Result<Think, String> {
    let bad = || format!("'{text}' is not MS or MIN-MAX milliseconds, like 100-500");
    let (lo, hi) = text.split_once('-').unwrap_or((text, text));
    let lo: f64 = lo.trim().parse().map_err(|_| bad())?;
    let hi: f64 = hi.trim().parse().map_err(|_| bad())?;
    if !(lo >= 0.0 && hi >= lo && hi.is_finite()) {
        return Err(bad());
    }
    Ok(Think { min_ms: lo, max_ms: hi })
}
