//! The host: the core node plus every policy above the protocol, as one sans-IO state machine.
//! A driver reports what happened (`handle`, `handle_timeout`, `submit`, `flush`) with the
//! time, then carries out the effects it collects with [`Host::drain`], in order, and asks
//! [`Host::poll_timeout`] when to call again.

use std::sync::Arc;
use std::time::Duration;

use blockchat_core::error::{BlockError, TxError};
use blockchat_core::node::NodeError;
use blockchat_core::{
    Address, Block, Chain, Ed25519Check, Input as CoreInput, Node, Origin, Output, PeerMessage, SignatureCheck, Step,
    Time, Transaction, TxId, TxRequest, Wallet, Work,
};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::client::Client;
use crate::config::Settings;
use crate::effect::{Effect, Input, LineId, Notice, Persist};
use crate::outbox::Outbox;
use crate::timers::{Due, Kind, Timers};

/// How long a burst waits while the mempool is over its pause threshold.
const PAUSE: Duration = Duration::from_millis(10);

/// Totals since start, for a status page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Transactions taken into the mempool, the user's and the peers'.
    pub txs_accepted: u64,
    /// Blocks committed (a reverted one counts again if it returns).
    pub committed_blocks: u64,
    /// Blocks reverted by reorganisations.
    pub reverted_blocks: u64,
    /// Transactions from peers refused.
    pub peer_txs_rejected: u64,
    /// Blocks from peers refused.
    pub blocks_rejected: u64,
    /// The user's transactions refused at submission or dropped later (lines excluded).
    pub own_rejected: u64,
    /// Messages not sent because a link was down and its budget spent.
    pub dropped_to_down_links: u64,
}

/// A BlockChat node above the protocol.
#[derive(Debug)]
pub struct Host<C: SignatureCheck = Ed25519Check> {
    node: Node<C>,
    me: Address,
    settings: Settings,
    // The peers in the driver's order, and what waits for each (apart: relaying compares
    // addresses, and only touches an outbox to queue something).
    peers: Vec<Address>,
    outboxes: Vec<Outbox>,
    // Lookup only; its iteration order never matters.
    index: FxHashMap<Address, usize>,
    timers: Timers,
    client: Client,
    ready: bool,
    pump_wanted: bool,
    reannounced: u32,
    // When the oldest transaction waiting in an outbox was queued.
    unflushed_since: Option<Time>,
    effects: Vec<Effect>,
    work: Work,
    stats: Stats,
}

impl<C: SignatureCheck> Host<C> {
    /// A host for `wallet` on the network of `genesis`, talking to `peers`, sending `client`'s
    /// plan once every peer has been reached.
    pub fn new(
        settings: Settings,
        wallet: Wallet,
        genesis: &Block,
        check: C,
        peers: Vec<Address>,
        client: Client,
    ) -> Result<Host<C>, NodeError> {
        let node = Node::new(settings.node, wallet, genesis, check)?;
        Ok(Host::around(node, settings, peers, client))
    }

    /// The same from an already validated chain (built once and cloned for many nodes).
    pub fn with_chain(
        settings: Settings,
        wallet: Wallet,
        chain: Chain,
        check: C,
        peers: Vec<Address>,
        client: Client,
    ) -> Result<Host<C>, NodeError> {
        let node = Node::with_chain(settings.node, wallet, chain, check)?;
        Ok(Host::around(node, settings, peers, client))
    }

    fn around(node: Node<C>, settings: Settings, peers: Vec<Address>, client: Client) -> Host<C> {
        let me = node.address();
        let peers: Vec<Address> = peers.into_iter().filter(|p| *p != me).collect();
        let index = peers.iter().enumerate().map(|(i, p)| (*p, i)).collect();
        let outboxes = peers.iter().enumerate().map(|(i, p)| Outbox::new(*p, i as u32)).collect();
        Host {
            node,
            me,
            settings,
            peers,
            outboxes,
            index,
            timers: Timers::default(),
            client,
            ready: false,
            pump_wanted: false,
            reannounced: 0,
            unflushed_since: None,
            effects: Vec::new(),
            work: Work::default(),
            stats: Stats::default(),
        }
    }

    /// The core node.
    pub fn node(&self) -> &Node<C> {
        &self.node
    }
    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }
    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }
    /// Totals since start.
    pub fn stats(&self) -> Stats {
        let dropped = self.outboxes.iter().map(|o| o.dropped).sum();
        Stats { dropped_to_down_links: dropped, ..self.stats }
    }
    /// Whether every peer's link has been up once.
    pub fn is_ready(&self) -> bool {
        self.ready
    }
    /// The peers, in the driver's order.
    pub fn peers(&self) -> impl Iterator<Item = Address> + '_ {
        self.peers.iter().copied()
    }
    /// Peers whose link is up.
    pub fn peers_up(&self) -> usize {
        self.outboxes.iter().filter(|o| o.is_up()).count()
    }
    /// Whether `peer`'s link is up.
    pub fn is_up(&self, peer: &Address) -> bool {
        self.index.get(peer).is_some_and(|&i| self.outboxes[i].is_up())
    }

    /// Appends a block read back from storage, validated in full; it must extend the tip.
    pub fn load_block(&mut self, block: Arc<Block>) -> Result<(), BlockError> {
        self.node.load_block(block)
    }

    /// Moves the effects to carry out, in order, into `into`; returns the core's work since the
    /// last drain (for a CPU model).
    pub fn drain(&mut self, into: &mut Vec<Effect>) -> Work {
        if into.is_empty() {
            std::mem::swap(into, &mut self.effects);
        } else {
            into.append(&mut self.effects);
        }
        std::mem::take(&mut self.work)
    }

    /// When the driver must call [`Host::handle_timeout`] next. (Waiting transactions are not
    /// a deadline: the driver flushes whenever it has nothing else to do, and the host itself
    /// once they have waited `flush_after` while inputs keep coming.)
    pub fn poll_timeout(&self) -> Option<Time> {
        self.timers.next()
    }

    /// Whether handling `message` would change nothing: a copy of a transaction already
    /// pending (most of what a gossiping network delivers). A driver may skip it, charging
    /// only its cost.
    pub fn ignores(&self, message: &PeerMessage) -> bool {
        matches!(message, PeerMessage::Transaction(tx) if self.node.mempool().knows(tx))
    }

    /// Whether transactions wait in an outbox for a flush.
    pub fn wants_flush(&self) -> bool {
        self.unflushed_since.is_some()
    }

    /// Handles one event at `now`.
    pub fn handle(&mut self, now: Time, input: Input) {
        match input {
            Input::Message { from, message } => {
                let step = self.node.handle(now, CoreInput::Peer { from, message });
                self.absorb(now, step, None);
            }
            Input::LinkUp(peer) => self.link_up(now, peer),
            Input::LinkDown(peer) => {
                if let Some(&i) = self.index.get(&peer) {
                    self.outboxes[i].link_down();
                }
            }
        }
        self.finish(now);
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Time) {
        while let Some(due) = self.timers.take_due(now) {
            match due {
                Due::Core(timer) => {
                    let step = self.node.handle(now, CoreInput::Timer(timer));
                    self.absorb(now, step, None);
                }
                Due::Client => {
                    self.client.on_wake(now);
                    self.pump_wanted = true;
                }
                Due::Reannounce => self.reannounce(now),
            }
        }
        self.finish(now);
    }

    /// The user asks for a transaction: the node picks the nonce, signs and sends it, or says
    /// why not.
    pub fn submit(&mut self, now: Time, request: TxRequest) -> Result<Arc<Transaction>, TxError> {
        let verdict = self.submit_inner(now, request, None);
        if verdict.is_err() {
            self.stats.own_rejected += 1;
        }
        self.finish(now);
        verdict
    }

    /// Sends what waits in the outboxes: the driver calls this when it has nothing else to do.
    pub fn flush(&mut self, now: Time) {
        let _ = now;
        let frame_bytes = self.settings.host.frame_bytes;
        for outbox in &mut self.outboxes {
            outbox.flush(frame_bytes, &mut self.effects);
        }
        self.unflushed_since = None;
    }

    /// Forgets what a crash loses (mempool, timers, outboxes, links, the client's lines in
    /// flight); keeps the chain. Every link is down until the driver reports it up again.
    pub fn restart(&mut self, now: Time) {
        self.node.restart();
        self.timers.clear();
        for o in &mut self.outboxes {
            o.clear();
        }
        self.unflushed_since = None;
        self.reannounced = 0;
        self.client.on_crash(now, &mut self.effects);
        self.finish(now);
    }

    /// Submits `request`; for a client's `line`, the client hears the verdict before the rest
    /// of the step (the block it completes may commit it at once).
    fn submit_inner(
        &mut self,
        now: Time,
        request: TxRequest,
        line: Option<LineId>,
    ) -> Result<Arc<Transaction>, TxError> {
        let step = self.node.handle(now, CoreInput::Submit(request.clone()));
        // The verdict is the first word on a local transaction: the submission comes first.
        let found = step.outputs.iter().enumerate().find_map(|(k, o)| match o {
            Output::TxAccepted(tx) => Some((k, Ok(tx.clone()))),
            Output::TxRejected { origin: Origin::Local, error, .. } => Some((k, Err(error.clone()))),
            _ => None,
        });
        let (skip, verdict) = match found {
            Some((k, v)) => (Some(k), v),
            None => (None, Err(TxError::MempoolFull { limit: self.settings.node.mempool_limit })),
        };
        if let Some(line) = line {
            self.client.submitted(now, line, request, verdict.clone(), &mut self.effects);
        }
        // The verdict is skipped below, so it is counted here.
        self.stats.txs_accepted += u64::from(verdict.is_ok());
        self.absorb(now, step, skip);
        if verdict.is_ok() && !self.timers.is_set(Kind::Reannounce) && self.settings.host.reannounce > 0 {
            self.timers.set(Kind::Reannounce, now + self.node.chain().params().round_timeout);
        }
        verdict
    }

    fn link_up(&mut self, now: Time, peer: Address) {
        let Some(&i) = self.index.get(&peer) else { return };
        self.outboxes[i].link_up(&mut self.effects);
        // It may have missed our pending transactions, or refused them while behind.
        let budget = self.settings.host.held_bytes;
        let own = self.own_pending();
        let outbox = &mut self.outboxes[i];
        for tx in own {
            if !outbox.queued(&tx) {
                outbox.push_tx(tx, budget);
            }
        }
        if outbox.has_pending() {
            self.unflushed_since.get_or_insert(now);
        }
        let step = self.node.handle(now, CoreInput::PeerConnected(peer));
        self.absorb(now, step, None);
    }

    /// Our transactions in the mempool, in arrival order.
    fn own_pending(&self) -> Vec<Arc<Transaction>> {
        if self.own_pending_count() == 0 {
            return Vec::new();
        }
        self.node.mempool().iter().filter(|(t, _)| t.sender() == self.me).map(|(t, _)| t.clone()).collect()
    }

    fn own_pending_count(&self) -> u64 {
        let ledger = self.node.ledger();
        let committed = ledger.account(&self.me).map_or(0, |a| a.next_nonce);
        self.node.mempool().next_nonce(&self.me, ledger).saturating_sub(committed)
    }

    fn reannounce(&mut self, now: Time) {
        let own = self.own_pending();
        if own.is_empty() {
            self.reannounced = 0;
            return;
        }
        let budget = self.settings.host.held_bytes;
        for o in self.outboxes.iter_mut().filter(|o| o.is_up()) {
            for tx in &own {
                o.push_tx(tx.clone(), budget);
            }
        }
        self.flush(now);
        self.reannounced += 1;
        if self.reannounced < self.settings.host.reannounce {
            let wait = self.node.chain().params().round_timeout * (1 << self.reannounced);
            self.timers.set(Kind::Reannounce, now + wait);
        }
    }

    /// Carries out one core step: durable changes first, then the client learns of blocks,
    /// then every output in order. `skip` is the submission's own verdict, already taken.
    fn absorb(&mut self, now: Time, step: Step, skip: Option<usize>) {
        self.work += step.work;
        let outputs = step.outputs;
        let lowest_reverted =
            outputs.iter().filter_map(|o| if let Output::Reverted(b) = o { Some(b.index()) } else { None }).min();
        if let Some(height) = lowest_reverted {
            self.effects.push(Effect::Persist(Persist::TruncateFrom(height)));
        }
        let mut moved = false;
        for o in &outputs {
            if let Output::Committed(b) = o {
                self.effects.push(Effect::Persist(Persist::Append(b.clone())));
                moved = true;
            }
        }
        if moved && self.outboxes.iter().any(Outbox::has_waiting) {
            let committed: FxHashSet<TxId> = outputs
                .iter()
                .filter_map(|o| if let Output::Committed(b) = o { Some(b) } else { None })
                .flat_map(|b| b.transactions().iter().map(|t| t.id()))
                .collect();
            for o in &mut self.outboxes {
                o.forget(&committed);
            }
        }
        for o in &outputs {
            if let Output::Reverted(b) = o {
                self.client.on_reverted(b, self.me);
            }
        }
        for o in &outputs {
            if let Output::Committed(b) = o {
                self.client.on_committed(now, b, self.me, &mut self.effects);
            }
        }
        for (k, output) in outputs.into_iter().enumerate() {
            if Some(k) == skip {
                continue;
            }
            match output {
                Output::Send { to, message } => {
                    if let Some(&i) = self.index.get(&to) {
                        self.send(now, i, message);
                    }
                }
                Output::Broadcast { message, except } => {
                    // By position: the peer to skip is looked up once, not compared at each.
                    let skip = except.and_then(|a| self.index.get(&a).copied());
                    for i in (0..self.peers.len()).filter(|i| Some(*i) != skip) {
                        self.send(now, i, message.clone());
                    }
                }
                Output::SetTimer { timer, at } => self.timers.set_core(timer, at),
                Output::Committed(b) => {
                    self.stats.committed_blocks += 1;
                    self.effects.push(Effect::notify(Notice::Committed(b)));
                }
                Output::Reverted(b) => {
                    self.stats.reverted_blocks += 1;
                    self.effects.push(Effect::notify(Notice::Reverted(b)));
                }
                Output::TxAccepted(_) => self.stats.txs_accepted += 1,
                Output::TxRejected { id, origin: Origin::Local, error } => {
                    if !self.client.on_dropped(now, id, error.clone(), &mut self.effects) {
                        self.stats.own_rejected += 1;
                        self.effects.push(Effect::notify(Notice::OwnTxDropped { id, error }));
                    }
                }
                Output::TxRejected { id, origin: Origin::Peer(from), error } => {
                    self.stats.peer_txs_rejected += 1;
                    self.effects.push(Effect::notify(Notice::PeerTxRejected { id, from, error }));
                }
                Output::BlockRejected { hash, from, error } => {
                    self.stats.blocks_rejected += 1;
                    self.effects.push(Effect::notify(Notice::BlockRejected { hash, from, error: *error }));
                }
            }
        }
        if moved {
            // A waiting line may be affordable now; our pending ones are re-announced only if
            // the chain goes quiet for a round timeout from here.
            self.pump_wanted = true;
            self.reannounced = 0;
            if self.settings.host.reannounce > 0 && self.own_pending_count() > 0 {
                self.timers.set(Kind::Reannounce, now + self.node.chain().params().round_timeout);
            } else {
                self.timers.cancel(Kind::Reannounce);
            }
        }
    }

    fn send(&mut self, now: Time, i: usize, message: PeerMessage) {
        let budget = self.settings.host.held_bytes;
        let outbox = &mut self.outboxes[i];
        match message {
            PeerMessage::Transaction(tx) => outbox.push_tx(tx, budget),
            PeerMessage::Transactions(txs) => txs.into_iter().for_each(|tx| outbox.push_tx(tx, budget)),
            other => {
                outbox.push_urgent(other, budget, &mut self.effects);
                return;
            }
        }
        if outbox.has_pending() {
            self.unflushed_since.get_or_insert(now);
        }
    }

    /// After every entry point: readiness, the client, an overdue flush, the client's timer.
    fn finish(&mut self, now: Time) {
        if !self.ready && self.outboxes.iter().all(|o| o.seen) {
            self.ready = true;
            self.effects.push(Effect::notify(Notice::Ready));
            self.client.start(now);
            self.pump_wanted = true;
        }
        if self.pump_wanted {
            self.pump_wanted = false;
            self.pump(now);
        }
        if self.unflushed_since.is_some_and(|t| now >= t + self.settings.host.flush_after) {
            self.flush(now);
        }
    }

    /// Sends what the client has ready: a chunk at most, then the rest on a later turn.
    fn pump(&mut self, now: Time) {
        let host = self.settings.host;
        let mut sent = 0;
        while self.client.ready() {
            if sent == host.chunk {
                self.timers.set(Kind::Client, now);
                return;
            }
            if self.node.mempool().len() >= host.pause_above {
                self.timers.set(Kind::Client, now + PAUSE);
                return;
            }
            let Some((line, request)) = self.client.next_request() else { break };
            let _ = self.submit_inner(now, request, Some(line));
            sent += 1;
        }
        match self.client.release_at() {
            Some(at) => self.timers.set(Kind::Client, at),
            None => self.timers.cancel(Kind::Client),
        }
    }
}
