//! One peer's outbox: blocks and block requests leave at once, transactions wait for the next
//! flush and travel as one `Transactions` frame (the receiver verifies them as one batch), and
//! while the link is down everything worth delivering is held, within a byte budget, until it
//! comes back.

use std::mem;
use std::sync::Arc;

use blockchat_core::message::MAX_TRANSACTIONS_PER_MESSAGE;
use blockchat_core::{Address, PeerMessage, Transaction};

use crate::effect::Effect;

/// What one peer's outbox holds.
#[derive(Debug)]
pub(crate) struct Outbox {
    // The peer, and its position among the host's peers.
    to: Address,
    peer: u32,
    up: bool,
    /// Whether the link has ever been up (a later link-up is a reconnection).
    pub(crate) seen: bool,
    // Urgent messages held while the link is down, oldest first.
    held: Vec<PeerMessage>,
    // Transactions waiting for the flush (or, while down, for the link).
    txs: Vec<Arc<Transaction>>,
    bytes: usize,
    /// Messages dropped because the link was down and the budget spent (or because, like a
    /// block request, they mean nothing to a peer that will ask again when it reconnects).
    pub(crate) dropped: u64,
}

impl Outbox {
    /// The outbox of peer `to`, at `peer` among the host's peers.
    pub(crate) fn new(to: Address, peer: u32) -> Outbox {
        Outbox { to, peer, up: false, seen: false, held: Vec::new(), txs: Vec::new(), bytes: 0, dropped: 0 }
    }

    /// Whether the link is up.
    pub(crate) fn is_up(&self) -> bool {
        self.up
    }

    /// Whether transactions wait for a flush.
    pub(crate) fn has_pending(&self) -> bool {
        self.up && !self.txs.is_empty()
    }

    /// Whether any transaction waits here, for a flush or for the link.
    pub(crate) fn has_waiting(&self) -> bool {
        !self.txs.is_empty()
    }

    /// A block or block request or answer: out now, held while the link is down.
    pub(crate) fn push_urgent(&mut self, message: PeerMessage, budget: usize, out: &mut Vec<Effect>) {
        if self.up {
            out.push(Effect::Send { to: self.to, peer: self.peer, message });
            return;
        }
        // A reconnecting peer asks for what it misses; only new blocks are worth holding.
        let size = message.encoded_len();
        if !matches!(message, PeerMessage::Block(_)) || self.bytes + size > budget {
            self.dropped += 1;
            return;
        }
        self.bytes += size;
        self.held.push(message);
    }

    /// A transaction for the next flush (held within the budget while the link is down).
    pub(crate) fn push_tx(&mut self, tx: Arc<Transaction>, budget: usize) {
        if !self.up {
            let size = tx.encoded_len();
            if self.bytes + size > budget {
                self.dropped += 1;
                return;
            }
            self.bytes += size;
        }
        self.txs.push(tx);
    }

    /// Emits the waiting transactions as frames of at most `frame_bytes` each.
    pub(crate) fn flush(&mut self, frame_bytes: usize, out: &mut Vec<Effect>) {
        if !self.up || self.txs.is_empty() {
            return;
        }
        // The common case on a quiet network: one transaction, no batch to build.
        if self.txs.len() == 1 {
            let (to, peer) = (self.to, self.peer);
            out.extend(self.txs.pop().map(|t| Effect::Send { to, peer, message: PeerMessage::Transaction(t) }));
            return;
        }
        frames((self.to, self.peer), self.txs.drain(..), frame_bytes, out);
    }

    /// The link came up: held blocks leave at once; held transactions wait for the flush.
    pub(crate) fn link_up(&mut self, out: &mut Vec<Effect>) {
        self.up = true;
        self.seen = true;
        self.bytes = 0;
        let (to, peer) = (self.to, self.peer);
        out.extend(self.held.drain(..).map(|message| Effect::Send { to, peer, message }));
    }

    /// The link went down: what is queued is held from now on.
    pub(crate) fn link_down(&mut self) {
        self.up = false;
        self.bytes = self.txs.iter().map(|t| t.encoded_len()).sum();
    }

    /// Forgets waiting transactions that `committed` says are in a block now: the block
    /// carries them, so sending them after it would only be refused.
    pub(crate) fn forget(&mut self, committed: &rustc_hash::FxHashSet<blockchat_core::TxId>) {
        if self.txs.is_empty() {
            return;
        }
        let before = self.txs.len();
        self.txs.retain(|t| !committed.contains(&t.id()));
        if !self.up && self.txs.len() != before {
            self.bytes = self.held.iter().map(PeerMessage::encoded_len).sum::<usize>()
                + self.txs.iter().map(|t| t.encoded_len()).sum::<usize>();
        }
    }

    /// Whether `tx` already waits here.
    pub(crate) fn queued(&self, tx: &Transaction) -> bool {
        self.txs.iter().any(|t| t.id() == tx.id())
    }

    /// Forgets everything (a crash).
    pub(crate) fn clear(&mut self) {
        *self = Outbox { seen: self.seen, dropped: self.dropped, ..Outbox::new(self.to, self.peer) };
    }
}

/// Cuts `txs` into `Transactions` frames of at most [`MAX_TRANSACTIONS_PER_MESSAGE`] and
/// `frame_bytes` each (a lone transaction travels as `Transaction`), in order.
pub(crate) fn frames(
    (to, peer): (Address, u32),
    txs: impl ExactSizeIterator<Item = Arc<Transaction>>,
    frame_bytes: usize,
    out: &mut Vec<Effect>,
) {
    let mut run: Vec<Arc<Transaction>> = Vec::with_capacity(txs.len().min(MAX_TRANSACTIONS_PER_MESSAGE));
    let mut bytes = 0;
    let emit = |run: &mut Vec<Arc<Transaction>>, out: &mut Vec<Effect>| match run.len() {
        0 => {}
        1 => out.extend(run.pop().map(|t| Effect::Send { to, peer, message: PeerMessage::Transaction(t) })),
        _ => out.push(Effect::Send { to, peer, message: PeerMessage::Transactions(mem::take(run)) }),
    };
    for tx in txs {
        let size = tx.encoded_len();
        if run.len() == MAX_TRANSACTIONS_PER_MESSAGE || (!run.is_empty() && bytes + size > frame_bytes) {
            emit(&mut run, out);
            bytes = 0;
        }
        bytes += size;
        run.push(tx);
    }
    emit(&mut run, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use blockchat_core::{TxKind, Wallet};

    fn tx(n: u64) -> Arc<Transaction> {
        let w = Wallet::from_seed(1);
        Arc::new(Transaction::new_signed(&w, Wallet::from_seed(2).address(), TxKind::Coins { amount: 1 }, n))
    }

    fn sent(out: &[Effect]) -> Vec<PeerMessage> {
        out.iter()
            .map(|e| match e {
                Effect::Send { message, .. } => message.clone(),
                other => panic!("not a send: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn transactions_wait_for_the_flush_and_travel_together() {
        let to = Address([7; 32]);
        let mut o = Outbox::new(to, 0);
        let mut out = Vec::new();
        o.link_up(&mut out);
        o.push_tx(tx(0), 1 << 20);
        o.push_tx(tx(1), 1 << 20);
        o.push_urgent(PeerMessage::GetBlocks { from: 3 }, 1 << 20, &mut out);
        assert_eq!(sent(&out), vec![PeerMessage::GetBlocks { from: 3 }], "urgent first, at once");
        assert!(o.has_pending());
        out.clear();
        o.flush(1 << 20, &mut out);
        assert_eq!(sent(&out), vec![PeerMessage::Transactions(vec![tx(0), tx(1)])]);
        assert!(!o.has_pending());
    }

    #[test]
    fn a_down_link_holds_blocks_and_transactions_within_budget() {
        let to = Address([7; 32]);
        let mut o = Outbox::new(to, 0);
        let mut out = Vec::new();
        let block = PeerMessage::Block(Arc::new(blockchat_core::Block::from_parts(
            1,
            blockchat_core::Time(5),
            0,
            to,
            blockchat_core::BlockHash([1; 32]),
            vec![tx(9)],
            blockchat_core::Signature::ZERO,
        )));
        o.push_urgent(block.clone(), 1 << 20, &mut out);
        o.push_urgent(PeerMessage::GetBlocks { from: 1 }, 1 << 20, &mut out);
        o.push_tx(tx(0), 1 << 20);
        let size = tx(1).encoded_len();
        o.push_tx(tx(1), block.encoded_len() + size);
        assert!(out.is_empty());
        assert_eq!(o.dropped, 2, "the request, and the transaction over budget");
        o.link_up(&mut out);
        assert_eq!(sent(&out), vec![block]);
        out.clear();
        o.flush(1 << 20, &mut out);
        assert_eq!(sent(&out), vec![PeerMessage::Transaction(tx(0))]);
    }

    #[test]
    fn frames_respect_count_and_size() {
        let to = Address([7; 32]);
        let mut out = Vec::new();
        let many: Vec<_> = (0..MAX_TRANSACTIONS_PER_MESSAGE as u64 + 1).map(tx).collect();
        frames((to, 0), many.into_iter(), usize::MAX, &mut out);
        assert_eq!(out.len(), 2);
        let size = tx(0).encoded_len();
        out.clear();
        frames((to, 0), (0..5u32).map(|n| tx(u64::from(n))), 2 * size, &mut out);
        let counts: Vec<usize> = sent(&out)
            .iter()
            .map(|m| match m {
                PeerMessage::Transactions(t) => t.len(),
                _ => 1,
            })
            .collect();
        assert_eq!(counts, vec![2, 2, 1]);
    }
}
