//! Byzantine nodes: the honest node (its host, unchanged) wrapped by a small adversary that
//! rewrites the effects it asks for.

use std::sync::Arc;
use std::time::Duration;

use blockchat_core::{Address, Block, Node, PeerMessage, Signature, Transaction, TxId, TxKind, Wallet};
use blockchat_host::{Effect, Notice};
use rustc_hash::FxHashMap;

use crate::crypto::SimCheck;
use crate::scenario::Behaviour;

/// An effect, possibly held back for a while.
#[derive(Debug)]
pub struct Delayed {
    /// How long after the step it takes effect.
    pub after: Duration,
    /// What to do.
    pub effect: Effect,
}

impl Delayed {
    fn now(effect: Effect) -> Delayed {
        Delayed { after: Duration::ZERO, effect }
    }
}

/// One misbehaving node's adversary.
#[derive(Debug)]
pub struct Adversary {
    behaviour: Behaviour,
    wallet: Wallet,
    withhold_for: Duration,
    // Its peers in the host's order: the first half gets the originals, the rest the twins.
    peers: Vec<Address>,
    // Twins already made, so every peer of the second half gets the same one. Lookup only.
    twins: FxHashMap<TxId, Arc<Transaction>>,
}

impl Adversary {
    /// An adversary for the node owning `wallet` with `peers`; withheld blocks are released
    /// after `withhold_for`.
    pub fn new(behaviour: Behaviour, wallet: Wallet, peers: Vec<Address>, withhold_for: Duration) -> Adversary {
        Adversary { behaviour, wallet, withhold_for, peers, twins: FxHashMap::default() }
    }

    /// What it does.
    pub fn behaviour(&self) -> Behaviour {
        self.behaviour
    }

    fn second_half(&self, to: &Address) -> bool {
        self.peers.iter().position(|p| p == to).is_some_and(|i| i >= self.peers.len() / 2)
    }

    /// Rewrites one step's effects.
    pub fn rewrite(&mut self, node: &Node<SimCheck>, effects: Vec<Effect>) -> Vec<Delayed> {
        let me = self.wallet.address();
        let mut out = Vec::with_capacity(effects.len());
        let own_block = |b: &Block| b.validator() == me;
        for effect in effects {
            let Effect::Send { to, peer, message } = effect else {
                if let Effect::Notify(n) = &effect
                    && let Notice::Committed(b) = &**n
                {
                    self.after_commit(node, b, &mut out);
                }
                out.push(Delayed::now(effect));
                continue;
            };
            let message = match (self.behaviour, message) {
                (Behaviour::SilentValidator, PeerMessage::Block(b)) if own_block(&b) => continue,
                // Answers sync requests, but never with its own blocks (or what follows them).
                (Behaviour::SilentValidator, PeerMessage::Blocks(bs)) => {
                    PeerMessage::Blocks(bs.into_iter().take_while(|b| !own_block(b)).collect())
                }
                (Behaviour::Withhold, PeerMessage::Block(b)) if own_block(&b) => {
                    let effect = Effect::Send { to, peer, message: PeerMessage::Block(b) };
                    out.push(Delayed { after: self.withhold_for, effect });
                    continue;
                }
                (Behaviour::InvalidSignatures, m) => self.map_own(m, |tx| {
                    let mut sig = tx.signature();
                    sig.0[0] ^= 0x01;
                    Arc::new(Transaction::from_parts(tx.sender(), tx.receiver(), tx.kind().clone(), tx.nonce(), sig))
                }),
                (Behaviour::DoubleSpend, m) if self.second_half(&to) => {
                    let peers = self.peers.clone();
                    let wallet = self.wallet.clone();
                    let mut twins = std::mem::take(&mut self.twins);
                    let m =
                        self.map_own(m, |tx| twins.entry(tx.id()).or_insert_with(|| twin(&wallet, tx, &peers)).clone());
                    self.twins = twins;
                    m
                }
                (Behaviour::Equivocate, PeerMessage::Block(b)) if own_block(&b) && self.second_half(&to) => {
                    // Both versions valid: same transactions, another timestamp, another hash.
                    let other = Block::new_signed(
                        &self.wallet,
                        b.index(),
                        b.timestamp() + Duration::from_nanos(1),
                        b.round(),
                        b.previous_hash(),
                        b.transactions().to_vec(),
                    );
                    PeerMessage::Block(Arc::new(other))
                }
                (_, m) => m,
            };
            out.push(Delayed::now(Effect::Send { to, peer, message }));
        }
        out
    }

    /// Rewrites this node's own transactions in `message` with `f`.
    fn map_own(&self, message: PeerMessage, mut f: impl FnMut(&Transaction) -> Arc<Transaction>) -> PeerMessage {
        let me = self.wallet.address();
        let mut one = |tx: Arc<Transaction>| if tx.sender() == me { f(&tx) } else { tx };
        match message {
            PeerMessage::Transaction(tx) => PeerMessage::Transaction(one(tx)),
            PeerMessage::Transactions(txs) => PeerMessage::Transactions(txs.into_iter().map(one).collect()),
            other => other,
        }
    }

    /// Replay and forge act on each new block.
    fn after_commit(&mut self, node: &Node<SimCheck>, block: &Arc<Block>, out: &mut Vec<Delayed>) {
        let messages: Vec<PeerMessage> = match self.behaviour {
            // Sends the block's transactions again, as if they were new.
            Behaviour::Replay if !block.transactions().is_empty() => {
                vec![PeerMessage::Transactions(block.transactions().to_vec())]
            }
            Behaviour::Forge => self.forge(node).into_iter().map(PeerMessage::Block).collect(),
            _ => return,
        };
        let after = if self.behaviour == Behaviour::Replay { Duration::from_millis(1) } else { Duration::ZERO };
        for message in messages {
            for (peer, to) in (0u32..).zip(&self.peers) {
                out.push(Delayed { after, effect: Effect::Send { to: *to, peer, message: message.clone() } });
            }
        }
    }

    /// Blocks at the next height that it has no right to mint: one signed as itself when it is
    /// not the chosen validator, one claiming to be the chosen validator.
    fn forge(&mut self, node: &Node<SimCheck>) -> Vec<Arc<Block>> {
        let chain = node.chain();
        let tip = chain.tip();
        let last = tip.clone();
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

/// A second transaction with the same nonce, paying someone else.
fn twin(wallet: &Wallet, tx: &Transaction, peers: &[Address]) -> Arc<Transaction> {
    let receiver = peers.iter().copied().find(|p| *p != tx.receiver()).unwrap_or(tx.receiver());
    let kind = match tx.kind() {
        TxKind::Message { text } => TxKind::Message { text: format!("{text}!") },
        other => other.clone(),
    };
    Arc::new(Transaction::new_signed(wallet, receiver, kind, tx.nonce()))
}
