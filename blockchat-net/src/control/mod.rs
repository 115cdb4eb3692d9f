//! The control endpoint: what a client (the prompt, `blockchat client`, a test) may ask a
//! running node, and its answers. One JSON object per line over TCP, loopback by default.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use blockchat_core::error::TxError;
use blockchat_core::{Address, BlockHash, TxId};
use blockchat_host::ClientStatus;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn};

use crate::daemon::driver::Event;

pub mod views;

/// Longest request line accepted.
const MAX_REQUEST: usize = 64 << 10;

/// Where a node is in its life.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    /// Opening its data dir and sockets.
    #[default]
    Starting,
    /// The bootstrap, waiting for this many nodes to join.
    WaitingForJoins {
        /// Nodes still to join.
        missing: u32,
    },
    /// Joining through the bootstrap at this address.
    Joining {
        /// The bootstrap's address.
        bootstrap: String,
    },
    /// Admitted, waiting for the others and the roster.
    WaitingForRoster,
    /// Connecting to its peers.
    Connecting {
        /// Peers connected.
        connected: usize,
        /// Peers in all.
        peers: usize,
    },
    /// Every peer has been reached once: the network is ready.
    Ready,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Phase::Starting => write!(f, "starting"),
            Phase::WaitingForJoins { missing } => write!(f, "waiting for {missing} nodes to join"),
            Phase::Joining { bootstrap } => write!(f, "joining via {bootstrap}"),
            Phase::WaitingForRoster => write!(f, "waiting for the roster"),
            Phase::Connecting { connected, peers } => write!(f, "connecting ({connected} of {peers} peers)"),
            Phase::Ready => write!(f, "ready"),
        }
    }
}

/// Why a request was not carried out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum ControlError {
    /// The network has not formed yet.
    #[error("the network is not ready yet ({phase})")]
    NotReady {
        /// Where the node is.
        phase: Phase,
    },
    /// The node is stopping.
    #[error("the node is shutting down")]
    ShuttingDown,
    /// The request is not valid JSON for a request.
    #[error("not a valid request: {message}")]
    BadRequest {
        /// What the parser said.
        message: String,
    },
    /// No member has this id.
    #[error("there is no node {id} (ids go from 0 to {last})")]
    UnknownNode {
        /// The id asked for.
        id: u32,
        /// The highest id.
        last: u32,
    },
    /// The node refused the transaction.
    #[error("refused: {message}")]
    Refused {
        /// The core's error, by name (`InsufficientBalance`, …).
        kind: String,
        /// In words, with the facts.
        message: String,
    },
}

impl From<&TxError> for ControlError {
    fn from(e: &TxError) -> ControlError {
        ControlError::Refused { kind: e.name().to_string(), message: e.to_string() }
    }
}

/// Who a transaction goes to, as the user wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recipient {
    /// A node id from the roster.
    Id(u32),
    /// A full address.
    Address(Address),
}

/// What a client asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum Request {
    /// Height, peers, mempool, workload progress.
    Status,
    /// This node's balance and stake.
    Balance,
    /// The last block's transactions and validator.
    View,
    /// This node's committed transactions, newest first.
    History {
        /// Most entries returned.
        limit: usize,
    },
    /// Every member and whether it is connected.
    Peers,
    /// Send coins (units).
    Transfer {
        /// The receiver.
        to: Recipient,
        /// Units.
        amount: u64,
    },
    /// Send a message.
    Message {
        /// The receiver.
        to: Recipient,
        /// The text.
        text: String,
    },
    /// Set this node's stake (units).
    Stake {
        /// Units.
        amount: u64,
    },
    /// Summaries of best-chain blocks from height `from` (at most `limit`).
    Chain {
        /// First height.
        from: u64,
        /// Most blocks.
        limit: usize,
    },
    /// Every account at the tip.
    Ledger,
    /// Stop the node cleanly.
    Shutdown,
}

/// A node's state in brief.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// Where the node is in its life.
    pub phase: Phase,
    /// This node's id, once assigned.
    pub id: Option<u32>,
    /// Nodes in the network.
    pub nodes: usize,
    /// Block capacity.
    pub capacity: usize,
    /// The partial-block interval, ms (none: full blocks only).
    pub max_block_interval_ms: Option<u64>,
    /// Height of the best chain.
    pub height: u64,
    /// Hash of its tip.
    pub tip: Option<BlockHash>,
    /// The lottery round awaited.
    pub round: u32,
    /// Peers connected now.
    pub peers_connected: usize,
    /// Pending transactions.
    pub mempool: usize,
    /// Transactions in the best chain (genesis excluded).
    pub committed_txs: u64,
    /// Local submissions refused, or dropped later.
    pub rejected_local: u64,
    /// Transactions from peers refused.
    pub rejected_from_peers: u64,
    /// Blocks from peers refused.
    pub blocks_rejected: u64,
    /// Connections closed for malformed frames or failed handshakes.
    pub bad_connections: u64,
    /// Blocks reverted by reorganisations.
    pub reverted: u64,
    /// Messages not sent to a peer whose link was down (beyond what is held for it).
    pub dropped_to_down_links: u64,
    /// Frames, bytes and the loop's time since start.
    pub load: crate::daemon::driver::Load,
    /// The client's progress through its `--input` or synthetic plan.
    pub workload: ClientStatus,
    /// The line the client waits on (1-based line number, or position for generated loads)
    /// and why it cannot be sent yet.
    pub waiting: Option<(usize, String)>,
}

/// One transaction in a block, for display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxView {
    /// Its id.
    pub id: TxId,
    /// Sender (`node 3`).
    pub from: String,
    /// Receiver (`node 1`, or `stake`).
    pub to: String,
    /// `coins`, `message` or `stake`.
    pub kind: String,
    /// Amount in BCC, or the message text.
    pub what: String,
    /// Fee in BCC.
    pub fee: String,
}

/// A block, for display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockView {
    /// Height.
    pub index: u64,
    /// Hash.
    pub hash: BlockHash,
    /// Validator id (none for genesis).
    pub validator: Option<u32>,
    /// Lottery round.
    pub round: u32,
    /// Timestamp (Unix ns).
    pub timestamp: u64,
    /// Its transactions.
    pub transactions: Vec<TxView>,
}

/// A block in brief, for measurements and comparisons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockSummary {
    /// Height.
    pub index: u64,
    /// Hash.
    pub hash: BlockHash,
    /// Validator id (none for genesis).
    pub validator: Option<u32>,
    /// Lottery round.
    pub round: u32,
    /// Timestamp (Unix ns).
    pub timestamp: u64,
    /// Transactions held.
    pub transactions: usize,
    /// Fees in units.
    pub fees: u64,
}

/// One account at the tip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    /// Member id, if a member.
    pub id: Option<u32>,
    /// Address.
    pub address: Address,
    /// Balance in units.
    pub balance: u64,
    /// Stake in units.
    pub stake: u64,
    /// Next nonce.
    pub next_nonce: u64,
}

/// A member and its connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerView {
    /// Id.
    pub id: u32,
    /// Dial address.
    pub address: String,
    /// Key.
    pub key: Address,
    /// Whether this node has a link to it now (never true of this node itself).
    pub connected: bool,
    /// Whether it is this node.
    #[serde(default)]
    pub this_node: bool,
}

/// A successful answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    /// To `Status`.
    Status(Box<Status>),
    /// To `Balance` (units).
    Balance {
        /// Balance.
        balance: u64,
        /// Stake.
        stake: u64,
        /// Balance minus stake.
        available: u64,
        /// What this node's own pending transactions will take from the balance (amounts and
        /// fees), once committed.
        #[serde(default)]
        pending: u64,
    },
    /// To `View`.
    View(BlockView),
    /// To `History`: (height, transaction), newest first.
    History {
        /// Entries.
        entries: Vec<(u64, TxView)>,
    },
    /// To `Peers`.
    Peers {
        /// Members.
        peers: Vec<PeerView>,
    },
    /// To a transaction request: accepted into the mempool and broadcast.
    Submitted {
        /// Its id.
        id: TxId,
        /// The nonce the node chose.
        nonce: u64,
        /// Its fee in units.
        fee: u64,
    },
    /// To `Chain`.
    Chain {
        /// Blocks.
        blocks: Vec<BlockSummary>,
    },
    /// To `Ledger`.
    Ledger {
        /// Accounts.
        accounts: Vec<AccountView>,
        /// Sum of balances, in units.
        supply: u64,
    },
    /// To `Shutdown`.
    ShuttingDown,
}

/// An answer: a reply, or why not.
pub type Response = Result<Reply, ControlError>;

/// Where the control server sends requests: not yet a running node, or the node's event loop.
#[derive(Debug, Clone)]
pub enum Gate {
    /// The node is still starting; requests other than `Status` are refused.
    Starting {
        /// What it is doing.
        phase: Phase,
        /// Its id, once known.
        id: Option<u32>,
    },
    /// The node runs: requests go to its event loop.
    Running(mpsc::UnboundedSender<Event>),
}

/// A gate shared between the node and its control server.
pub type SharedGate = Arc<Mutex<Gate>>;

/// Sets the gate's starting phase.
pub fn set_phase(gate: &SharedGate, phase: Phase, id: Option<u32>) {
    if let Ok(mut g) = gate.lock() {
        *g = Gate::Starting { phase, id };
    }
}

async fn answer(gate: &SharedGate, request: Request) -> Response {
    let target = match gate.lock() {
        Ok(g) => g.clone(),
        Err(_) => return Err(ControlError::ShuttingDown),
    };
    match target {
        Gate::Starting { phase, id } => match request {
            Request::Status => Ok(Reply::Status(Box::new(Status { phase, id, ..Status::default() }))),
            _ => Err(ControlError::NotReady { phase }),
        },
        Gate::Running(events) => {
            let (reply, rx) = oneshot::channel();
            if events.send(Event::Control { request, reply }).is_err() {
                return Err(ControlError::ShuttingDown);
            }
            rx.await.unwrap_or(Err(ControlError::ShuttingDown))
        }
    }
}

/// Serves control clients on `listener` until the process ends.
pub async fn serve(listener: TcpListener, gate: SharedGate) {
    loop {
        let Ok((stream, from)) = listener.accept().await else { continue };
        let gate = gate.clone();
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut reader = tokio::io::BufReader::new(read);
            let mut line = String::new();
            loop {
                line.clear();
                match (&mut reader).take(MAX_REQUEST as u64).read_line(&mut line).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                let response = match serde_json::from_str::<Request>(line.trim()) {
                    Ok(request) => answer(&gate, request).await,
                    Err(e) => {
                        warn!(%from, "bad control request: {e}");
                        Err(ControlError::BadRequest { message: e.to_string() })
                    }
                };
                let mut out = serde_json::to_string(&response).unwrap_or_else(|e| format!("{{\"Err\":\"{e}\"}}"));
                out.push('\n');
                if write.write_all(out.as_bytes()).await.is_err() {
                    break;
                }
            }
            debug!(%from, "control client left");
        });
    }
}

/// A blocking control client, for `blockchat client`, the cluster runner and tests.
#[derive(Debug)]
pub struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    /// Connects to the control endpoint at `addr`.
    pub fn connect(addr: SocketAddr, timeout: Duration) -> std::io::Result<Client> {
        let stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_nodelay(true)?;
        Ok(Client { reader: BufReader::new(stream.try_clone()?), writer: stream })
    }

    /// Sends one request and waits for its answer.
    pub fn call(&mut self, request: &Request) -> std::io::Result<Response> {
        let mut line = serde_json::to_string(request).map_err(std::io::Error::other)?;
        line.push('\n');
        self.writer.write_all(line.as_bytes())?;
        let mut answer = String::new();
        if self.reader.read_line(&mut answer)? == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the node closed the connection"));
        }
        serde_json::from_str(&answer).map_err(std::io::Error::other)
    }
}

/// Connects, asks once, and returns the answer (for one-shot uses).
pub fn ask(addr: SocketAddr, request: &Request, timeout: Duration) -> std::io::Result<Response> {
    Client::connect(addr, timeout)?.call(request)
}
