//! What goes in and out of a node: its settings, inputs, outputs and timers.

use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;

use crate::block::Block;
use crate::error::{BlockError, GenesisError, TxError};
use crate::ids::{Address, BlockHash, TxId};
use crate::message::PeerMessage;
use crate::params::NetworkParams;
use crate::time::Time;
use crate::transaction::{Transaction, TxKind};
use crate::work::Work;

/// How a node behaves locally; the network's rules come from its genesis block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeConfig {
    /// Most pending transactions held.
    pub mempool_limit: usize,
    /// How far ahead of a sender's next nonce transactions are held.
    pub future_nonce_window: u64,
    /// Whether to forward newly seen transactions and blocks (needed on sparse overlays).
    pub relay: bool,
    /// Most blocks sent in answer to one request.
    pub sync_batch: usize,
    /// Most blocks held while their parent is missing.
    pub orphan_limit: usize,
    /// When the tip has not changed for this long, the node sends it to its peers once more, so
    /// that a lost last block or two competing blocks at the tip (an equivocating validator)
    /// still reach everyone. `None` turns it off.
    pub tip_rebroadcast: Option<Duration>,
    /// How far ahead of this node's clock a block's timestamp may be.
    pub max_clock_drift: Duration,
}

impl NodeConfig {
    /// Defaults for a node of a network with `params` (the quiet tip is rebroadcast after one
    /// round timeout).
    pub fn new(params: &NetworkParams) -> NodeConfig {
        NodeConfig {
            mempool_limit: 100_000,
            future_nonce_window: 64,
            relay: false,
            sync_batch: 256,
            orphan_limit: 1_024,
            tip_rebroadcast: Some(params.round_timeout),
            max_clock_drift: Duration::from_secs(5),
        }
    }
}

/// Why a node could not be created.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NodeError {
    /// The genesis block is invalid.
    #[error("invalid genesis: {0}")]
    Genesis(#[from] GenesisError),
    /// `sync_batch` is zero or above what one message carries.
    #[error("sync_batch must be between 1 and {max}, got {got}")]
    SyncBatch {
        /// The value given.
        got: usize,
        /// The largest allowed.
        max: usize,
    },
}

/// A transaction the local user asks for; the node picks the nonce and signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxRequest {
    /// The receiver (ignored for a stake).
    pub receiver: Address,
    /// What to do.
    pub kind: TxKind,
}

/// A timer the node asked for. Each names the tip generation it was set in (the count of tip
/// changes); a timer from an older generation is stale and ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// The validator of `round` may have gone silent.
    Round {
        /// Tip generation when set.
        generation: u64,
        /// Round being waited on.
        round: u32,
    },
    /// A partial block may be due.
    BlockInterval {
        /// Tip generation when set.
        generation: u64,
    },
    /// The tip may have gone unseen by some peers.
    QuietTip {
        /// Tip generation when set.
        generation: u64,
    },
    /// Blocks are still missing: ask for them again.
    Sync {
        /// Tip generation when set.
        generation: u64,
    },
}

/// Something that happened to the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The local user submits a transaction.
    Submit(TxRequest),
    /// A peer sent a message.
    Peer {
        /// The peer's address.
        from: Address,
        /// What it sent.
        message: PeerMessage,
    },
    /// A timer set earlier fired.
    Timer(Timer),
    /// A connection to a peer came up (start-up, reconnection): time to catch up from it.
    PeerConnected(Address),
}

/// Where a rejected transaction came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Submitted by the local user.
    Local,
    /// Received from this peer.
    Peer(Address),
}

/// What the node wants done or wants known.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Output {
    /// Send `message` to one peer.
    Send {
        /// The peer.
        to: Address,
        /// The message.
        message: PeerMessage,
    },
    /// Send `message` to every peer, except `except` if set.
    Broadcast {
        /// The message.
        message: PeerMessage,
        /// A peer to skip (the one it came from).
        except: Option<Address>,
    },
    /// Deliver `Input::Timer(timer)` at `at`.
    SetTimer {
        /// Which timer.
        timer: Timer,
        /// When it fires.
        at: Time,
    },
    /// A block joined the best chain.
    Committed(Arc<Block>),
    /// A block left the best chain in a reorganisation.
    Reverted(Arc<Block>),
    /// A local transaction was accepted into the mempool and broadcast.
    TxAccepted(Arc<Transaction>),
    /// A transaction was refused, or a pending one of ours became invalid.
    TxRejected {
        /// The transaction's id.
        id: TxId,
        /// Where it came from.
        origin: Origin,
        /// Why.
        error: TxError,
    },
    /// A block from a peer was invalid.
    BlockRejected {
        /// The block's hash.
        hash: BlockHash,
        /// The peer that sent it.
        from: Address,
        /// Why (boxed: the largest error, and rare, so every output stays small to move).
        error: Box<BlockError>,
    },
}

/// The result of one [`Node::handle`](crate::Node::handle) call.
#[derive(Debug, Default)]
#[must_use]
pub struct Step {
    /// What to do, in order.
    pub outputs: Vec<Output>,
    /// The costly operations performed.
    pub work: Work,
}
