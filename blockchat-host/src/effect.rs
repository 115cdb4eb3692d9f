//! What goes in and out of a host: the events a driver reports, and the effects it must carry
//! out, in order.

use std::sync::Arc;

use blockchat_core::error::{BlockError, TxError};
use blockchat_core::{Address, Block, BlockHash, PeerMessage, Transaction, TxId};

/// Something that happened to the host's connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A peer sent a message.
    Message {
        /// The peer.
        from: Address,
        /// What it sent.
        message: PeerMessage,
    },
    /// The link to a peer came up: its first connection, or a reconnection.
    LinkUp(Address),
    /// The link to a peer went down; what is sent to it is held until it comes back.
    LinkDown(Address),
}

/// The position of a line in the client's plan (0-based), naming it in notices and reports.
pub type LineId = usize;

/// What the driver must do, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Effect {
    /// Make this durable. The driver completes it before carrying out any later effect, so no
    /// block is announced that a crash could lose.
    Persist(Persist),
    /// Send one frame to a peer.
    Send {
        /// The peer.
        to: Address,
        /// Its position among the host's peers (as given to the host, without this node), for
        /// drivers that keep peers in a list.
        peer: u32,
        /// The frame's message.
        message: PeerMessage,
    },
    /// Something to count, log or show; no action needed (boxed: sends, the common effect,
    /// stay small to move).
    Notify(Box<Notice>),
}

impl Effect {
    /// A notice, boxed.
    pub fn notify(notice: Notice) -> Effect {
        Effect::Notify(Box::new(notice))
    }
}

/// A change to the stored chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Persist {
    /// Drop the stored blocks from this height on (a reorganisation reverted them).
    TruncateFrom(u64),
    /// Append this block, the next height.
    Append(Arc<Block>),
}

impl Persist {
    /// The syncs a driver makes for `effects` when appends in a row share one (a group commit):
    /// one per run of appends that ends before anything else is carried out.
    pub fn syncs(effects: &[Effect]) -> usize {
        let append = |e: &Effect| matches!(e, Effect::Persist(Persist::Append(_)));
        let ends_run = |k: usize| !matches!(effects.get(k + 1), Some(Effect::Persist(_)));
        (0..effects.len()).filter(|&k| append(&effects[k]) && ends_run(k)).count()
    }
}

/// Something that happened, for logs, counters and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A block joined the best chain.
    Committed(Arc<Block>),
    /// A block left the best chain in a reorganisation.
    Reverted(Arc<Block>),
    /// Every peer's link has been up once: the network is ready and the client starts.
    Ready,
    /// A line of the client was taken into the mempool and sent to the peers.
    LineSubmitted {
        /// The line.
        line: LineId,
        /// Its signed transaction.
        tx: Arc<Transaction>,
    },
    /// A line cannot be sent yet (its sender cannot afford it, or the mempool is full); the
    /// client tries again after the next block.
    LineWaiting {
        /// The line.
        line: LineId,
        /// Why.
        error: TxError,
    },
    /// A line's transaction is in a block of this node's best chain.
    LineCommitted {
        /// The line.
        line: LineId,
        /// Its transaction.
        id: TxId,
    },
    /// A line was given up: refused for a reason that waiting cannot change.
    LineFailed {
        /// The line.
        line: LineId,
        /// Its transaction, when it had been accepted before it was dropped.
        id: Option<TxId>,
        /// Why.
        error: TxError,
    },
    /// A line in flight was lost with the mempool in a crash (it still commits if a peer had
    /// it; a `LineCommitted` then follows).
    LineLost {
        /// The line.
        line: LineId,
        /// Its transaction.
        id: TxId,
    },
    /// A transaction the user submitted (not a line) was dropped after it had been accepted.
    OwnTxDropped {
        /// Its id.
        id: TxId,
        /// Why.
        error: TxError,
    },
    /// A peer's transaction was refused.
    PeerTxRejected {
        /// Its id.
        id: TxId,
        /// The peer.
        from: Address,
        /// Why.
        error: TxError,
    },
    /// A peer's block was refused.
    BlockRejected {
        /// Its hash.
        hash: BlockHash,
        /// The peer.
        from: Address,
        /// Why.
        error: BlockError,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use blockchat_core::{BlockHash, Time, Wallet};

    #[test]
    fn appends_in_a_row_share_one_sync() {
        let w = Wallet::from_seed(1);
        let block = Arc::new(Block::new_signed(&w, 1, Time(1), 0, BlockHash([0; 32]), Vec::new()));
        let a = || Effect::Persist(Persist::Append(block.clone()));
        let t = || Effect::Persist(Persist::TruncateFrom(1));
        let n = || Effect::notify(Notice::Ready);
        let cases: [(Vec<Effect>, usize); 7] = [
            (vec![], 0),
            (vec![n()], 0),
            (vec![a()], 1),
            (vec![a(), a(), n()], 1),
            (vec![t(), a(), a()], 1),
            (vec![a(), n(), a(), n()], 2),
            (vec![a(), t(), a(), n(), n()], 1),
        ];
        for (effects, want) in cases {
            assert_eq!(Persist::syncs(&effects), want, "{effects:?}");
        }
    }
}
