//! The node: one sans-IO state machine. Time and events come in through [`Node::handle`];
//! what the node wants done comes out as [`Output`]s for the driver to carry out.

mod io;
mod sync;

pub use io::{Input, NodeConfig, NodeError, Origin, Output, Step, Timer, TxRequest};

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::block::Block;
use crate::chain::{Chain, Insert};
use crate::error::{BlockError, TxError};
use crate::ids::{Address, Signature, TxId};
use crate::ledger::Ledger;
use crate::mempool::{Admitted, Mempool, Unfunded};
use crate::message::{MAX_BLOCKS_PER_MESSAGE, PeerMessage};
use crate::signature::{Ed25519Check, SignatureCheck};
use crate::time::Time;
use crate::transaction::{Transaction, TxKind};
use crate::wallet::Wallet;
use crate::work::Work;
use sync::CatchUp;

/// How far back a late copy of a committed transaction is still named as one: at most this
/// many transactions, in at most [`RECENT_BLOCKS`] blocks from the tip.
const RECENT_COMMITTED: usize = 8_192;
/// Blocks searched for a late copy of a committed transaction.
const RECENT_BLOCKS: usize = 64;

/// A BlockChat node.
#[derive(Debug)]
pub struct Node<C: SignatureCheck = Ed25519Check> {
    config: NodeConfig,
    wallet: Wallet,
    chain: Chain,
    mempool: Mempool,
    check: C,
    round: u32,
    // Count of tip changes; timers carry it so stale ones can be told apart.
    generation: u64,
    round_timer: Option<u32>,
    interval_timer: bool,
    sync: CatchUp,
    // The last lottery draw: (generation, round, validator); stakes change only with the tip,
    // and the generation with it, so checking it needs no look at the chain.
    drawn: Option<(u64, u32, Option<Address>)>,
}

impl<C: SignatureCheck> Node<C> {
    /// A node that owns `wallet` and starts from `genesis`.
    pub fn new(config: NodeConfig, wallet: Wallet, genesis: &Block, check: C) -> Result<Node<C>, NodeError> {
        let chain = Chain::new(genesis)?;
        Node::with_chain(config, wallet, chain, check)
    }

    /// A node that owns `wallet` and starts from an already validated `chain` (built once and
    /// cloned when many nodes share a genesis).
    pub fn with_chain(config: NodeConfig, wallet: Wallet, chain: Chain, check: C) -> Result<Node<C>, NodeError> {
        if config.sync_batch == 0 || config.sync_batch > MAX_BLOCKS_PER_MESSAGE {
            return Err(NodeError::SyncBatch { got: config.sync_batch, max: MAX_BLOCKS_PER_MESSAGE });
        }
        Ok(Node {
            chain,
            mempool: Mempool::new(config.mempool_limit, config.future_nonce_window),
            sync: CatchUp::new(config.orphan_limit),
            config,
            wallet,
            check,
            round: 0,
            generation: 0,
            round_timer: None,
            interval_timer: false,
            drawn: None,
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
    /// Blocks held because their parent is missing.
    pub fn orphans(&self) -> usize {
        self.sync.orphans()
    }

    /// Forgets everything a crash loses (mempool, held blocks, timers); keeps the chain.
    pub fn restart(&mut self) {
        self.mempool.clear();
        self.sync = CatchUp::new(self.config.orphan_limit);
        self.round = 0;
        self.generation += 1;
        self.round_timer = None;
        self.interval_timer = false;
    }

    /// Appends a block read back from storage, validated in full; it must extend the tip.
    pub fn load_block(&mut self, block: Arc<Block>) -> Result<(), BlockError> {
        if block.previous_hash() != self.chain.tip().hash() {
            return Err(BlockError::UnknownParent { parent: block.previous_hash() });
        }
        let mut work = Work::default();
        self.chain.insert(block, &mut self.check, &|_| false, &mut work)?;
        self.generation += 1;
        Ok(())
    }

    /// Handles one input at time `now`.
    pub fn handle(&mut self, now: Time, input: Input) -> Step {
        let mut step = Step::default();
        // A copy of a transaction already pending changes nothing, so nothing can follow from it;
        // in a gossiping network most inputs are such copies.
        if let Input::Peer { message: PeerMessage::Transaction(tx), .. } = &input
            && self.mempool.knows(tx)
        {
            return step;
        }
        match input {
            Input::Submit(request) => self.on_submit(now, request, &mut step),
            Input::Peer { from, message } => match message {
                PeerMessage::Transaction(tx) => self.on_transaction(now, tx, from, &mut step),
                PeerMessage::Transactions(txs) => self.on_transactions(now, txs, from, &mut step),
                PeerMessage::Block(block) => self.on_block(now, block, from, &mut step),
                PeerMessage::GetBlocks { from: height } => {
                    // Answered even when empty: the asker may then ask again at once.
                    let blocks = self.chain.blocks_from(height, self.config.sync_batch);
                    let message = PeerMessage::Blocks(blocks.to_vec());
                    step.outputs.push(Output::Send { to: from, message });
                }
                PeerMessage::Blocks(blocks) => {
                    self.sync.answered(&from);
                    let before = self.chain.tip().hash();
                    let last = blocks.last().map(|b| b.hash());
                    let first = blocks.first().map(|b| (b.index(), b.previous_hash()));
                    for block in blocks {
                        self.on_block(now, block, from, &mut step);
                    }
                    let moved = self.chain.tip().hash() != before;
                    // The peer's batch size is its own: keep asking while answers move us on.
                    if moved && last == Some(self.chain.tip().hash()) {
                        self.sync.want(from, self.chain.height() + 1);
                    }
                    // An answer that starts on an unknown parent forks below what was asked: ask
                    // again from the bottom of the reorganisation window, or, if that is where it
                    // started, give up: the fork lies beyond reach.
                    let floor = self.reorg_floor();
                    if let Some((index, parent)) = first
                        && !moved
                        && !self.chain.contains(&parent)
                    {
                        if index <= floor {
                            self.sync.give_up();
                        } else {
                            self.sync.want(from, floor);
                        }
                    }
                }
            },
            Input::Timer(timer) => self.on_timer(timer, &mut step),
            Input::PeerConnected(peer) => self.sync.want(peer, self.chain.height() + 1),
        }
        self.progress(now, &mut step);
        let retry = self.sync.flush(now, self.chain.params().round_timeout, &mut step.outputs);
        if retry {
            let timer = Timer::Sync { generation: self.generation };
            step.outputs.push(Output::SetTimer { timer, at: now + self.chain.params().round_timeout });
        }
        step
    }

    /// The lowest height a reorganisation could replace (at least 1).
    fn reorg_floor(&self) -> u64 {
        (self.chain.height() + 1).saturating_sub(self.chain.params().max_reorg_depth).max(1)
    }

    /// The lottery's validator for the next block in `round`, drawn once per tip and round.
    fn validator_for(&mut self, round: u32) -> Option<Address> {
        let generation = self.generation;
        match self.drawn {
            Some((g, r, v)) if g == generation && r == round => v,
            _ => {
                let v = self.chain.validator_for(round);
                self.drawn = Some((generation, round, v));
                v
            }
        }
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

    /// Admits one transaction from a peer that is not already pending: the common case, kept
    /// free of allocations.
    fn on_transaction(&mut self, now: Time, tx: Arc<Transaction>, from: Address, step: &mut Step) {
        let Some(tx) = self.precheck_from_peer(tx, from, step) else { return };
        step.work.verified += 1;
        let valid = self.check.verify(tx.signed_item());
        self.admit_from_peer(now, tx, valid, from, step);
    }

    /// Admits transactions from a peer: cheap checks first, then one batch verification of what
    /// passed (a single verification when only one did).
    fn on_transactions(&mut self, now: Time, txs: Vec<Arc<Transaction>>, from: Address, step: &mut Step) {
        let mut fresh: Vec<Arc<Transaction>> = Vec::with_capacity(txs.len());
        let mut ids = BTreeSet::new();
        for tx in txs {
            if let Some(tx) = self.precheck_from_peer(tx, from, step)
                && ids.insert(tx.id())
            {
                fresh.push(tx);
            }
        }
        let verdicts = self.verify_all(&fresh, &mut step.work);
        for (tx, valid) in fresh.into_iter().zip(verdicts) {
            self.admit_from_peer(now, tx, valid, from, step);
        }
    }

    /// Takes a prechecked peer transaction whose signature verdict is `valid`, relaying it when
    /// this node relays.
    fn admit_from_peer(&mut self, now: Time, tx: Arc<Transaction>, valid: bool, from: Address, step: &mut Step) {
        match self.mempool.admit_prechecked(tx.clone(), now, self.chain.ledger(), |_| valid, Unfunded::Hold) {
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

    /// The checks a peer's transaction must pass before its signature is worth verifying;
    /// duplicates are dropped silently, the rest of the refusals reported.
    fn precheck_from_peer(&mut self, tx: Arc<Transaction>, from: Address, step: &mut Step) -> Option<Arc<Transaction>> {
        // A committed transaction always fails on its spent nonce, so the chain is searched only
        // then, and only to name the refusal.
        let refused = match self.mempool.precheck(&tx, self.chain.ledger()) {
            Err(TxError::BadNonce { .. }) if self.recently_committed(&tx.id()) => {
                Err(TxError::AlreadyCommitted { id: tx.id() })
            }
            other => other,
        };
        match refused {
            Ok(()) => Some(tx),
            Err(TxError::AlreadyPending { .. }) => None,
            Err(error) => {
                step.outputs.push(Output::TxRejected { id: tx.id(), origin: Origin::Peer(from), error });
                None
            }
        }
    }

    /// Each transaction's signature verdict, from one batch when there are several.
    fn verify_all(&mut self, txs: &[Arc<Transaction>], work: &mut Work) -> Vec<bool> {
        let items: Vec<_> = txs.iter().map(|t| t.signed_item()).collect();
        if items.len() > 1 {
            crate::work::count_batch(work, &items);
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
        if block.timestamp() > now + self.config.max_clock_drift {
            let error = BlockError::FromTheFuture { timestamp: block.timestamp().as_nanos(), now: now.as_nanos() };
            step.outputs.push(Output::BlockRejected { hash: block.hash(), from, error: Box::new(error) });
            return;
        }
        if !self.chain.contains(&block.previous_hash()) {
            if self.sync.holds(&block) {
                return;
            }
            if let Err(error) = self.hold_orphan(block.clone(), from, &mut step.work) {
                step.outputs.push(Output::BlockRejected { hash: block.hash(), from, error: Box::new(error) });
            }
            return;
        }
        let mut queue = vec![block];
        while let Some(block) = queue.pop() {
            let hash = block.hash();
            let Node { chain, mempool, check, .. } = self;
            let known = |tx: &Transaction| mempool.contains(tx);
            let relay = match chain.insert(block.clone(), check, &known, &mut step.work) {
                Ok(Insert::Known) => false,
                Ok(Insert::Side) => true,
                Ok(Insert::Extended) => {
                    self.on_new_tip(now, Vec::new(), vec![block.clone()], step);
                    true
                }
                Ok(Insert::Reorganized { reverted, applied }) => {
                    self.on_new_tip(now, reverted, applied, step);
                    true
                }
                Err(error) => {
                    step.outputs.push(Output::BlockRejected { hash, from, error: Box::new(error) });
                    self.sync.discard_descendants(&hash);
                    continue;
                }
            };
            if relay && self.config.relay {
                step.outputs.push(Output::Broadcast { message: PeerMessage::Block(block), except: Some(from) });
            }
            queue.extend(self.sync.take_children(&hash));
        }
    }

    /// Keeps a block whose parent is unknown, after the checks that need no parent, and asks
    /// its sender for what is missing.
    fn hold_orphan(&mut self, block: Arc<Block>, from: Address, work: &mut Work) -> Result<(), BlockError> {
        let tip = self.chain.height();
        let window = self.chain.params().max_reorg_depth;
        let floor = self.reorg_floor();
        if block.index() < floor {
            return Err(BlockError::ReorgTooDeep { depth: tip + 1 - block.index(), max: window });
        }
        self.chain.check_size(&block)?;
        work.verified += 1;
        if !self.check.verify(block.signed_item()) {
            return Err(BlockError::BadSignature);
        }
        let index = block.index();
        self.sync.hold(block, from, floor);
        // Behind: fetch what follows our tip. Forked below it: fetch from before the fork, but
        // never below what a reorganisation could undo.
        let from_height = if index > tip + 1 { tip + 1 } else { index.saturating_sub(window).max(floor) };
        self.sync.want(from, from_height);
        Ok(())
    }

    /// Book-keeping after the best chain changed: mempool, outputs, timers, round reset.
    fn on_new_tip(&mut self, now: Time, reverted: Vec<Arc<Block>>, applied: Vec<Arc<Block>>, step: &mut Step) {
        let me = self.wallet.address();
        let dropped = if reverted.is_empty() {
            let mut dropped = Vec::new();
            for block in &applied {
                dropped.extend(self.mempool.on_commit(block.transactions(), block.validator(), self.chain.ledger()));
            }
            dropped
        } else {
            let change = crate::block::Reorg::between(&reverted, &applied);
            step.work.applied += (change.returned.len() + change.touched.len()) as u32;
            self.mempool.on_reorg(&change.applied, change.returned, &change.touched, now, self.chain.ledger())
        };
        for (tx, error) in dropped {
            if tx.sender() == me {
                step.outputs.push(Output::TxRejected { id: tx.id(), origin: Origin::Local, error });
            }
        }
        step.outputs.extend(reverted.into_iter().map(Output::Reverted));
        step.outputs.extend(applied.into_iter().map(Output::Committed));
        self.generation += 1;
        if let Some(quiet) = self.config.tip_rebroadcast {
            let timer = Timer::QuietTip { generation: self.generation };
            step.outputs.push(Output::SetTimer { timer, at: now + quiet });
        }
        self.round = 0;
        self.round_timer = None;
        self.interval_timer = false;
    }

    /// Whether `id` is among the newest transactions of the best chain.
    fn recently_committed(&self, id: &TxId) -> bool {
        let blocks = self.chain.blocks();
        blocks[blocks.len().saturating_sub(RECENT_BLOCKS)..]
            .iter()
            .rev()
            .flat_map(|b| b.transactions().iter().rev())
            .take(RECENT_COMMITTED)
            .any(|t| t.id() == *id)
    }

    fn on_timer(&mut self, timer: Timer, step: &mut Step) {
        let current = self.generation;
        match timer {
            Timer::QuietTip { generation } if generation == current => {
                let message = PeerMessage::Block(self.chain.tip().clone());
                step.outputs.push(Output::Broadcast { message, except: None });
            }
            Timer::Round { generation, round } if generation == current && round == self.round => {
                self.round_timer = None;
                if self.mempool.len() >= self.threshold() {
                    self.round += 1;
                }
            }
            Timer::BlockInterval { generation } if generation == current => self.interval_timer = false,
            Timer::Sync { .. } => self.sync.retry(self.reorg_floor()),
            _ => {}
        }
    }

    /// Pending transactions that call for a block: the capacity, or one with partial blocks.
    fn threshold(&self) -> usize {
        match self.chain.params().max_block_interval {
            Some(_) => 1,
            None => self.chain.params().capacity,
        }
    }

    /// With partial blocks and something pending: when a partial block is due, the oldest
    /// arrival plus the block interval or the newest plus the quiet interval, whichever is first.
    fn partial_due(&self) -> Option<Time> {
        let params = self.chain.params();
        let (interval, quiet) = (params.max_block_interval?, params.quiet_interval()?);
        Some((self.mempool.oldest_arrival()? + interval).min(self.mempool.newest_arrival()? + quiet))
    }

    /// Mints while this node is the validator and a block is due, then arms the timers.
    fn progress(&mut self, now: Time, step: &mut Step) {
        let me = self.wallet.address();
        let capacity = self.chain.params().capacity;
        let interval = self.chain.params().max_block_interval;
        loop {
            if self.validator_for(self.round) != Some(me) {
                break;
            }
            let full = self.mempool.len() >= capacity;
            let due = self.partial_due().is_some_and(|at| at <= now);
            if !full && !due {
                break;
            }
            let candidates = self.mempool.iter().map(|(t, _)| t);
            let minted = self.chain.mint(&self.wallet, now, self.round, candidates, &mut step.work);
            // What could not apply leaves the mempool, or it would block every later attempt.
            for (tx, error) in minted.failed {
                for (t, e) in self.mempool.evict(&tx, error, self.chain.ledger()) {
                    if t.sender() == me {
                        step.outputs.push(Output::TxRejected { id: t.id(), origin: Origin::Local, error: e });
                    }
                }
            }
            match minted.block {
                Some(block) => {
                    step.outputs.push(Output::Broadcast { message: PeerMessage::Block(block.clone()), except: None });
                    self.on_new_tip(now, Vec::new(), vec![block], step);
                }
                None => break,
            }
        }
        let generation = self.generation;
        if self.mempool.len() >= self.threshold() && self.round_timer != Some(self.round) {
            let wait = self.chain.params().round_timeout + interval.unwrap_or_default();
            let timer = Timer::Round { generation, round: self.round };
            step.outputs.push(Output::SetTimer { timer, at: now + wait });
            self.round_timer = Some(self.round);
        }
        if let Some(due) = self.partial_due()
            && !self.interval_timer
            && self.validator_for(self.round) == Some(me)
        {
            let timer = Timer::BlockInterval { generation };
            // Strictly later than now, so a driver can never spin on it.
            let at = due.max(now + std::time::Duration::from_micros(1));
            step.outputs.push(Output::SetTimer { timer, at });
            self.interval_timer = true;
        }
    }
}
