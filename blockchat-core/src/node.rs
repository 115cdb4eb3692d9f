//! The node: one sans-IO state machine. Time and events come in through [`Node::handle`];
//! what the node wants done comes out as [`Output`]s for the driver to carry out.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;

use crate::block::Block;
use crate::chain::{Chain, ChainParams, Insert};
use crate::error::{BlockError, GenesisError, TxError};
use crate::ids::{Address, BlockHash, Signature, TxId};
use crate::ledger::Ledger;
use crate::mempool::{Admitted, Mempool};
use crate::message::{MAX_BLOCKS_PER_MESSAGE, PeerMessage};
use crate::signature::{Ed25519Check, SignatureCheck};
use crate::time::Time;
use crate::transaction::{Transaction, TxKind};
use crate::wallet::Wallet;
use crate::work::Work;

/// How a node behaves; `params` must match across the network, the rest is local.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeConfig {
    /// Rules shared by the network.
    pub params: ChainParams,
    /// How long a node holding enough pending transactions waits for the expected validator
    /// before moving to the next round.
    pub round_timeout: Duration,
    /// Most pending transactions held.
    pub mempool_limit: usize,
    /// How far ahead of a sender's next nonce transactions are held.
    pub future_nonce_window: u64,
    /// Whether to forward newly seen transactions and blocks (needed on sparse overlays).
    pub relay: bool,
    /// How many recent blocks can be undone by a reorganisation.
    pub max_reorg_depth: u64,
    /// Most blocks sent in answer to one request.
    pub sync_batch: usize,
    /// Most blocks held while their parent is missing.
    pub orphan_limit: usize,
    /// When the tip has not changed for this long, the node sends it to its peers once more, so
    /// that a lost last block or two competing blocks at the tip (an equivocating validator)
    /// still reach everyone. `None` turns it off.
    pub tip_rebroadcast: Option<Duration>,
}

impl NodeConfig {
    /// Defaults for a network of blocks of `capacity` transactions.
    pub fn new(capacity: usize) -> NodeConfig {
        let round_timeout = Duration::from_secs(2);
        NodeConfig {
            params: ChainParams { capacity, max_block_interval: None },
            round_timeout,
            mempool_limit: 100_000,
            future_nonce_window: 64,
            relay: false,
            max_reorg_depth: 64,
            sync_batch: 256,
            orphan_limit: 1_024,
            tip_rebroadcast: Some(round_timeout),
        }
    }
}

/// Why a node could not be created.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NodeError {
    /// The genesis block is invalid.
    #[error("invalid genesis: {0}")]
    Genesis(#[from] GenesisError),
    /// A setting is out of range.
    #[error("invalid configuration: {0}")]
    Config(&'static str),
}

/// A transaction the local user asks for; the node picks the nonce and signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxRequest {
    /// The receiver (ignored for a stake).
    pub receiver: Address,
    /// What to do.
    pub kind: TxKind,
}

/// A timer the node asked for; stale ones are ignored when they fire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// The validator of `round` at `height` may have gone silent.
    Round {
        /// Height of the awaited block.
        height: u64,
        /// Round being waited on.
        round: u32,
    },
    /// A partial block may be due at `height`.
    BlockInterval {
        /// Height of the awaited block.
        height: u64,
    },
    /// The tip at `height` may have gone unseen by some peers.
    QuietTip {
        /// Height of the tip when the timer was set.
        height: u64,
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
        /// Why.
        error: BlockError,
    },
}

/// The result of one [`Node::handle`] call.
#[derive(Debug, Default)]
#[must_use]
pub struct Step {
    /// What to do, in order.
    pub outputs: Vec<Output>,
    /// The costly operations performed.
    pub work: Work,
}

/// A BlockChat node.
#[derive(Debug)]
pub struct Node<C: SignatureCheck = Ed25519Check> {
    config: NodeConfig,
    wallet: Wallet,
    chain: Chain,
    mempool: Mempool,
    check: C,
    round: u32,
    round_timer: Option<(u64, u32)>,
    interval_timer: Option<u64>,
    // Blocks waiting for their parent, keyed by the parent's hash.
    orphans: BTreeMap<BlockHash, Vec<Arc<Block>>>,
    orphan_count: usize,
    last_sync: Option<(Address, u64, Time)>,
}

impl<C: SignatureCheck> Node<C> {
    /// A node that owns `wallet` and starts from `genesis`.
    pub fn new(config: NodeConfig, wallet: Wallet, genesis: &Block, check: C) -> Result<Node<C>, NodeError> {
        if config.params.capacity == 0 {
            return Err(NodeError::Config("capacity must be at least 1"));
        }
        if config.sync_batch == 0 || config.sync_batch > MAX_BLOCKS_PER_MESSAGE {
            return Err(NodeError::Config("sync_batch must be between 1 and 1024"));
        }
        Ok(Node {
            chain: Chain::new(genesis, config.params, config.max_reorg_depth)?,
            mempool: Mempool::new(config.mempool_limit, config.future_nonce_window),
            config,
            wallet,
            check,
            round: 0,
            round_timer: None,
            interval_timer: None,
            orphans: BTreeMap::new(),
            orphan_count: 0,
            last_sync: None,
        })
    }

    /// This node's address.
    pub fn address(&self) -> Address {
        self.wallet.address()
    }
    /// The node's settings.
    pub fn config(&self) -> &NodeConfig {
        &self.config
    }
    /// The chain this node follows.
    pub fn chain(&self) -> &Chain {
        &self.chain
    }
    /// The state at the tip.
    pub fn ledger(&self) -> &Ledger {
        self.chain.ledger()
    }
    /// Pending transactions.
    pub fn mempool(&self) -> &Mempool {
        &self.mempool
    }
    /// The lottery round the node is waiting on.
    pub fn round(&self) -> u32 {
        self.round
    }

    /// Forgets everything a crash loses (mempool, held blocks, timers); keeps the chain.
    pub fn restart(&mut self) {
        self.mempool.clear();
        self.orphans.clear();
        self.orphan_count = 0;
        self.round = 0;
        self.round_timer = None;
        self.interval_timer = None;
        self.last_sync = None;
    }

    /// Appends a block read back from storage, validated in full; it must extend the tip.
    pub fn load_block(&mut self, block: Arc<Block>) -> Result<(), BlockError> {
        if block.previous_hash() != self.chain.tip().hash() {
            return Err(BlockError::UnknownParent { parent: block.previous_hash() });
        }
        let mut work = Work::default();
        self.chain.insert(block, &mut self.check, &|_| false, &mut work).map(|_| ())
    }

    /// Handles one input at time `now`.
    pub fn handle(&mut self, now: Time, input: Input) -> Step {
        let mut step = Step::default();
        match input {
            Input::Submit(request) => self.on_submit(now, request, &mut step),
            Input::Peer { from, message } => match message {
                PeerMessage::Transaction(tx) => self.on_transactions(now, vec![tx], from, &mut step),
                PeerMessage::Transactions(txs) => self.on_transactions(now, txs, from, &mut step),
                PeerMessage::Block(block) => self.on_block(now, block, from, &mut step),
                PeerMessage::GetBlocks { from: height } => {
                    let blocks = self.chain.blocks_from(height, self.config.sync_batch);
                    if !blocks.is_empty() {
                        let message = PeerMessage::Blocks(blocks.to_vec());
                        step.outputs.push(Output::Send { to: from, message });
                    }
                }
                PeerMessage::Blocks(blocks) => {
                    let full = blocks.len() >= self.config.sync_batch;
                    for block in blocks {
                        self.on_block(now, block, from, &mut step);
                    }
                    if full {
                        self.request_sync(now, from, self.chain.height() + 1, &mut step);
                    }
                }
            },
            Input::Timer(timer) => self.on_timer(timer, &mut step),
            Input::PeerConnected(peer) => {
                let message = PeerMessage::GetBlocks { from: self.chain.height() + 1 };
                step.outputs.push(Output::Send { to: peer, message });
            }
        }
        self.progress(now, &mut step);
        step
    }

    fn on_submit(&mut self, now: Time, request: TxRequest, step: &mut Step) {
        let me = self.wallet.address();
        let nonce = self.mempool.next_nonce(&me, self.chain.ledger());
        let receiver = if matches!(request.kind, TxKind::Stake { .. }) { Address::ZERO } else { request.receiver };
        // Check before signing: a refused request costs no signature.
        let unsigned = Transaction::from_parts(me, receiver, request.kind.clone(), nonce, Signature::ZERO);
        step.work.hashed_bytes += unsigned.encoded_len() as u64 - 64;
        if let Err(error) = self.mempool.check(&unsigned, self.chain.ledger()) {
            step.outputs.push(Output::TxRejected { id: unsigned.id(), origin: Origin::Local, error });
            return;
        }
        let tx = Arc::new(Transaction::new_signed(&self.wallet, receiver, request.kind, nonce));
        step.work.signed += 1;
        match self.mempool.admit(tx.clone(), now, self.chain.ledger(), |_| true) {
            Ok(_) => {
                step.outputs.push(Output::TxAccepted(tx.clone()));
                step.outputs.push(Output::Broadcast { message: PeerMessage::Transaction(tx), except: None });
            }
            Err(error) => step.outputs.push(Output::TxRejected { id: tx.id(), origin: Origin::Local, error }),
        }
    }

    /// Admits transactions from a peer: cheap checks first, then one batch verification of what
    /// passed (a single verification when only one did).
    fn on_transactions(&mut self, now: Time, txs: Vec<Arc<Transaction>>, from: Address, step: &mut Step) {
        let mut fresh: Vec<Arc<Transaction>> = Vec::with_capacity(txs.len());
        let mut ids = std::collections::BTreeSet::new();
        for tx in txs {
            match self.mempool.precheck(&tx, self.chain.ledger()) {
                Ok(()) if !ids.insert(tx.id()) => {}
                Ok(()) => fresh.push(tx),
                Err(TxError::AlreadyPending { .. }) => {}
                Err(error) => step.outputs.push(Output::TxRejected { id: tx.id(), origin: Origin::Peer(from), error }),
            }
        }
        let verdicts = self.verify_all(&fresh, &mut step.work);
        for (tx, valid) in fresh.into_iter().zip(verdicts) {
            match self.mempool.admit(tx.clone(), now, self.chain.ledger(), |_| valid) {
                Ok(Admitted::Pending | Admitted::Held) => {
                    if self.config.relay {
                        let message = PeerMessage::Transaction(tx);
                        step.outputs.push(Output::Broadcast { message, except: Some(from) });
                    }
                }
                Err(TxError::AlreadyPending { .. }) => {}
                Err(error) => step.outputs.push(Output::TxRejected { id: tx.id(), origin: Origin::Peer(from), error }),
            }
        }
    }

    /// Each transaction's signature verdict, from one batch when there are several.
    fn verify_all(&mut self, txs: &[Arc<Transaction>], work: &mut Work) -> Vec<bool> {
        let items: Vec<_> = txs.iter().map(|t| t.signed_item()).collect();
        if items.len() > 1 {
            work.batches += 1;
            work.batch_verified += items.len() as u32;
            if self.check.verify_batch(&items) {
                return vec![true; items.len()];
            }
        }
        items
            .into_iter()
            .map(|item| {
                work.verified += 1;
                self.check.verify(item)
            })
            .collect()
    }

    fn on_block(&mut self, now: Time, block: Arc<Block>, from: Address, step: &mut Step) {
        if self.chain.contains(&block.hash()) {
            return;
        }
        let parent = block.previous_hash();
        if !self.chain.contains(&parent) {
            let index = block.index();
            self.hold_orphan(block);
            // Behind: fetch what follows our tip. Forked below our tip: fetch from before the fork.
            let tip = self.chain.height();
            let from_height =
                if index > tip + 1 { tip + 1 } else { index.saturating_sub(self.config.max_reorg_depth).max(1) };
            self.request_sync(now, from, from_height, step);
            return;
        }
        let mut queue = vec![block];
        while let Some(block) = queue.pop() {
            let hash = block.hash();
            let Node { chain, mempool, check, .. } = self;
            let known = |tx: &Transaction| mempool.contains(tx);
            match chain.insert(block.clone(), check, &known, &mut step.work) {
                Ok(Insert::Known) => continue,
                Ok(Insert::Side) => {}
                Ok(Insert::Extended) => self.on_new_tip(now, Vec::new(), vec![block.clone()], step),
                Ok(Insert::Reorganized { reverted, applied }) => self.on_new_tip(now, reverted, applied, step),
                Err(error) => {
                    step.outputs.push(Output::BlockRejected { hash, from, error });
                    continue;
                }
            }
            if self.config.relay {
                step.outputs.push(Output::Broadcast { message: PeerMessage::Block(block), except: Some(from) });
            }
            if let Some(children) = self.orphans.remove(&hash) {
                self.orphan_count -= children.len();
                queue.extend(children);
            }
        }
    }

    fn hold_orphan(&mut self, block: Arc<Block>) {
        if self.orphan_count >= self.config.orphan_limit {
            return;
        }
        let siblings = self.orphans.entry(block.previous_hash()).or_default();
        if !siblings.iter().any(|b| b.hash() == block.hash()) {
            siblings.push(block);
            self.orphan_count += 1;
        }
    }

    fn request_sync(&mut self, now: Time, peer: Address, from: u64, step: &mut Step) {
        // The same request to the same peer is not repeated within a round timeout.
        if let Some((p, h, at)) = self.last_sync {
            if p == peer && h == from && now < at + self.config.round_timeout {
                return;
            }
        }
        self.last_sync = Some((peer, from, now));
        step.outputs.push(Output::Send { to: peer, message: PeerMessage::GetBlocks { from } });
    }

    /// Book-keeping after the best chain changed: mempool, outputs, round reset.
    fn on_new_tip(&mut self, now: Time, reverted: Vec<Arc<Block>>, applied: Vec<Arc<Block>>, step: &mut Step) {
        let me = self.wallet.address();
        let mut dropped = Vec::new();
        if reverted.is_empty() {
            for block in &applied {
                dropped.extend(self.mempool.on_commit(block.transactions(), self.chain.ledger()));
            }
        } else {
            let adopted: std::collections::BTreeSet<TxId> =
                applied.iter().flat_map(|b| b.transactions().iter().map(|t| t.id())).collect();
            let returned: Vec<Arc<Transaction>> = reverted
                .iter()
                .rev()
                .flat_map(|b| b.transactions().iter().cloned())
                .filter(|t| !adopted.contains(&t.id()))
                .collect();
            dropped = self.mempool.rebuild(returned, now, self.chain.ledger());
        }
        for (tx, error) in dropped {
            if tx.sender() == me {
                step.outputs.push(Output::TxRejected { id: tx.id(), origin: Origin::Local, error });
            }
        }
        step.outputs.extend(reverted.into_iter().map(Output::Reverted));
        step.outputs.extend(applied.into_iter().map(Output::Committed));
        if let Some(quiet) = self.config.tip_rebroadcast {
            let timer = Timer::QuietTip { height: self.chain.height() };
            step.outputs.push(Output::SetTimer { timer, at: now + quiet });
        }
        self.round = 0;
        self.round_timer = None;
        self.interval_timer = None;
    }

    fn on_timer(&mut self, timer: Timer, step: &mut Step) {
        let next = self.chain.height() + 1;
        match timer {
            Timer::QuietTip { height } if height + 1 == next => {
                let message = PeerMessage::Block(self.chain.tip().clone());
                step.outputs.push(Output::Broadcast { message, except: None });
            }
            Timer::Round { height, round } if height == next && round == self.round => {
                self.round_timer = None;
                if self.mempool.len() >= self.threshold() {
                    self.round += 1;
                }
            }
            Timer::BlockInterval { height } if height == next => self.interval_timer = None,
            _ => {}
        }
    }

    /// Pending transactions that call for a block: the capacity, or one with partial blocks.
    fn threshold(&self) -> usize {
        match self.config.params.max_block_interval {
            Some(_) => 1,
            None => self.config.params.capacity,
        }
    }

    /// Mints while this node is the validator and a block is due, then arms the timers.
    fn progress(&mut self, now: Time, step: &mut Step) {
        let me = self.wallet.address();
        let capacity = self.config.params.capacity;
        let interval = self.config.params.max_block_interval;
        loop {
            if self.chain.validator_for(self.round) != Some(me) {
                break;
            }
            let full = self.mempool.len() >= capacity;
            let due = match (interval, self.mempool.oldest_arrival()) {
                (Some(i), Some(oldest)) => oldest + i <= now,
                _ => false,
            };
            if !full && !due {
                break;
            }
            let candidates = self.mempool.iter().map(|(t, _)| t);
            let Some(block) = self.chain.mint(&self.wallet, now, self.round, candidates, &mut step.work) else {
                break;
            };
            step.outputs.push(Output::Broadcast { message: PeerMessage::Block(block.clone()), except: None });
            self.on_new_tip(now, Vec::new(), vec![block], step);
        }
        let height = self.chain.height() + 1;
        if self.mempool.len() >= self.threshold() && self.round_timer != Some((height, self.round)) {
            let wait = self.config.round_timeout + interval.unwrap_or_default();
            let timer = Timer::Round { height, round: self.round };
            step.outputs.push(Output::SetTimer { timer, at: now + wait });
            self.round_timer = Some((height, self.round));
        }
        if let (Some(i), Some(oldest)) = (interval, self.mempool.oldest_arrival()) {
            if self.interval_timer != Some(height) && self.chain.validator_for(self.round) == Some(me) {
                let timer = Timer::BlockInterval { height };
                step.outputs.push(Output::SetTimer { timer, at: (oldest + i).max(now) });
                self.interval_timer = Some(height);
            }
        }
    }
}
