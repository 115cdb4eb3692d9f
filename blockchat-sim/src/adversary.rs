//! Byzantine nodes: the honest node wrapped by a small adversary that rewrites its outputs.

use std::sync::Arc;
use std::time::Duration;

use blockchat_core::{Address, Block, Node, Output, PeerMessage, Signature, Transaction, TxKind, Wallet};

use crate::crypto::SimCheck;
use crate::scenario::Behaviour;

/// An output, possibly held back for a while.
#[derive(Debug)]
pub struct Delayed {
    /// How long after the step it takes effect.
    pub after: Duration,
    /// What to do.
    pub output: Output,
}

impl Delayed {
    fn now(output: Output) -> Delayed {
        Delayed { after: Duration::ZERO, output }
    }
}

/// One misbehaving node's adversary.
#[derive(Debug)]
pub struct Adversary {
    behaviour: Behaviour,
    wallet: Wallet,
    withhold_for: Duration,
    forged: u64,
}

impl Adversary {
    /// An adversary for the node owning `wallet`; withheld blocks are released after
    /// `withhold_for`.
    pub fn new(behaviour: Behaviour, wallet: Wallet, withhold_for: Duration) -> Adversary {
        Adversary { behaviour, wallet, withhold_for, forged: 0 }
    }

    /// What it does.
    pub fn behaviour(&self) -> Behaviour {
        self.behaviour
    }

    /// Rewrites one step's outputs; `peers` are the addresses the node talks to.
    pub fn rewrite(&mut self, node: &Node<SimCheck>, outputs: Vec<Output>, peers: &[Address]) -> Vec<Delayed> {
        let me = self.wallet.address();
        let mut out = Vec::with_capacity(outputs.len());
        for output in outputs {
            let own_block = |b: &Block| b.validator() == me;
            match (self.behaviour, output) {
                (Behaviour::SilentValidator, Output::Broadcast { message: PeerMessage::Block(b), .. })
                    if own_block(&b) => {}
                (Behaviour::SilentValidator, Output::Send { to, message: PeerMessage::Blocks(bs) }) => {
                    // Answer sync requests, but never with its own blocks (or what follows them).
                    let kept: Vec<Arc<Block>> = bs.into_iter().take_while(|b| !own_block(b)).collect();
                    if !kept.is_empty() {
                        out.push(Delayed::now(Output::Send { to, message: PeerMessage::Blocks(kept) }));
                    }
                }
                (Behaviour::Withhold, Output::Broadcast { message: PeerMessage::Block(b), except })
                    if own_block(&b) =>
                {
                    let output = Output::Broadcast { message: PeerMessage::Block(b), except };
                    out.push(Delayed { after: self.withhold_for, output });
                }
                (Behaviour::InvalidSignatures, Output::Broadcast { message: PeerMessage::Transaction(tx), except })
                    if tx.sender() == me =>
                {
                    let mut sig = tx.signature();
                    sig.0[0] ^= 0x01;
                    let bad = Transaction::from_parts(tx.sender(), tx.receiver(), tx.kind().clone(), tx.nonce(), sig);
                    let message = PeerMessage::Transaction(Arc::new(bad));
                    out.push(Delayed::now(Output::Broadcast { message, except }));
                }
                (Behaviour::DoubleSpend, Output::Broadcast { message: PeerMessage::Transaction(tx), .. })
                    if tx.sender() == me && !peers.is_empty() =>
                {
                    let twin = self.twin(&tx, peers);
                    for (i, to) in peers.iter().enumerate() {
                        let t = if i < peers.len() / 2 { tx.clone() } else { twin.clone() };
                        out.push(Delayed::now(Output::Send { to: *to, message: PeerMessage::Transaction(t) }));
                    }
                }
                (Behaviour::Equivocate, Output::Broadcast { message: PeerMessage::Block(b), .. }) if own_block(&b) => {
                    // Both versions valid: same transactions, another timestamp, another hash.
                    let txs = b.transactions().to_vec();
                    let timestamp = b.timestamp() + Duration::from_nanos(1);
                    let other = Arc::new(Block::new_signed(
                        &self.wallet,
                        b.index(),
                        timestamp,
                        b.round(),
                        b.previous_hash(),
                        txs,
                    ));
                    for (i, to) in peers.iter().enumerate() {
                        let block = if i % 2 == 0 { b.clone() } else { other.clone() };
                        out.push(Delayed::now(Output::Send { to: *to, message: PeerMessage::Block(block) }));
                    }
                }
                (Behaviour::Replay, Output::Committed(b)) => {
                    // Sends the block's transactions again, as if they were new.
                    let txs: Vec<Arc<Transaction>> = b.transactions().to_vec();
                    out.push(Delayed::now(Output::Committed(b)));
                    if !txs.is_empty() {
                        let message = PeerMessage::Transactions(txs);
                        out.push(Delayed {
                            after: Duration::from_millis(1),
                            output: Output::Broadcast { message, except: None },
                        });
                    }
                }
                (Behaviour::Forge, Output::Committed(b)) => {
                    let forged = self.forge(node, &b);
                    out.push(Delayed::now(Output::Committed(b)));
                    out.extend(forged.into_iter().map(|block| {
                        Delayed::now(Output::Broadcast { message: PeerMessage::Block(block), except: None })
                    }));
                }
                (_, output) => out.push(Delayed::now(output)),
            }
        }
        out
    }

    /// A second transaction with the same nonce, paying someone else.
    fn twin(&self, tx: &Transaction, peers: &[Address]) -> Arc<Transaction> {
        let receiver = peers.iter().copied().find(|p| *p != tx.receiver()).unwrap_or(tx.receiver());
        let kind = match tx.kind() {
            TxKind::Message { text } => TxKind::Message { text: format!("{text}!") },
            other => other.clone(),
        };
        Arc::new(Transaction::new_signed(&self.wallet, receiver, kind, tx.nonce()))
    }

    /// Blocks at the next height that it has no right to mint: one signed as itself when it is
    /// not the chosen validator, one claiming to be the chosen validator.
    fn forge(&mut self, node: &Node<SimCheck>, last: &Block) -> Vec<Arc<Block>> {
        let chain = node.chain();
        let tip = chain.tip();
        let capacity = chain.params().capacity;
        // A full block, so that size is not what gives it away: pending transactions, topped up
        // with the last block's.
        let txs: Vec<Arc<Transaction>> = node
            .mempool()
            .iter()
            .map(|(t, _)| t.clone())
            .chain(last.transactions().iter().cycle().cloned())
            .take(capacity)
            .collect();
        let mut forged = Vec::new();
        self.forged += 1;
        let timestamp = tip.timestamp() + Duration::from_millis(1);
        let (index, parent) = (tip.index() + 1, tip.hash());
        if let Some(round) = (0..16).find(|r| chain.validator_for(*r) != Some(self.wallet.address())) {
            forged.push(Arc::new(Block::new_signed(&self.wallet, index, timestamp, round, parent, txs.clone())));
        }
        if let Some(chosen) = chain.validator_for(0).filter(|v| *v != self.wallet.address()) {
            let mut fake = Block::from_parts(index, timestamp, 0, chosen, parent, txs, Signature::ZERO);
            fake = Block::from_parts(
                index,
                timestamp,
                0,
                chosen,
                parent,
                fake.transactions().to_vec(),
                self.wallet.sign(&fake.hash().0),
            );
            forged.push(Arc::new(fake));
        }
        forged
    }
}
