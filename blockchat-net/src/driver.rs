//! The node's event loop: the one task that owns the core `Node`. It feeds it peer messages,
//! timers on the real clock, connections and local requests, and carries out its outputs:
//! committed blocks go to the log (before anything is sent), messages to the peers' writers.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use blockchat_core::{Address, Input, Node, Origin, Output, PeerMessage, Step, Time, Timer, TxKind, TxRequest};
use tokio::sync::{mpsc, oneshot};
use tokio::time::sleep_until;
use tracing::{debug, info, warn};

use crate::clock;
use crate::control::{PeerView, Recipient, Reply, Request, Response, Status};
use crate::peer::{Inbox, MAX_BACKLOG, PeerLink};
use crate::roster::Roster;
use crate::storage::{BlockLog, StorageError};
use crate::views;
use crate::workload::Workload;

/// Events handled one at a time by the node's loop.
#[derive(Debug)]
pub enum Event {
    /// A peer sent a message.
    Peer {
        /// The peer's key.
        from: Address,
        /// The message.
        message: PeerMessage,
        /// Its size on the wire.
        bytes: usize,
    },
    /// An authenticated connection to a peer came up; `link` reaches its writer.
    Connected {
        /// The peer's key.
        peer: Address,
        /// This connection's number.
        conn: u64,
        /// Its writer.
        link: PeerLink,
    },
    /// A connection went down.
    Disconnected {
        /// The peer's key.
        peer: Address,
        /// The connection's number.
        conn: u64,
    },
    /// A local request (prompt, control client).
    Control {
        /// What is asked.
        request: Request,
        /// Where the answer goes.
        reply: oneshot::Sender<Response>,
    },
}

/// Counters shared with the connection tasks.
#[derive(Debug, Default)]
pub struct Counters {
    /// Connections closed for malformed frames or failed handshakes.
    pub bad_connections: AtomicU64,
}

#[derive(Debug, Default)]
struct Stats {
    committed_txs: u64,
    rejected_local: u64,
    rejected_from_peers: u64,
    blocks_rejected: u64,
    reverted: u64,
    work: blockchat_core::Work,
}

/// Longest the loop handles queued events before looking at timers and the workload.
const TURN: std::time::Duration = std::time::Duration::from_millis(5);

fn is_transaction(message: &PeerMessage) -> bool {
    matches!(message, PeerMessage::Transaction(_) | PeerMessage::Transactions(_))
}

/// A connected peer: its connection number, its writer, and what this turn of the loop queued
/// for it (handed to the writer in one piece, so transactions travel as one batch).
#[derive(Debug)]
struct Link {
    conn: u64,
    writer: PeerLink,
    outbox: Vec<PeerMessage>,
}

/// The node task's state.
pub struct Driver {
    node: Node,
    roster: Arc<Roster>,
    log: BlockLog,
    peers: HashMap<Address, Link>,
    timers: BinaryHeap<Reverse<(Time, Timer)>>,
    workload: Workload,
    stats: Stats,
    counters: Arc<Counters>,
    inbox: Arc<Inbox>,
    ready: bool,
    stopping: bool,
    /// A block or block request is waiting in an outbox.
    flush_now: bool,
}

impl Driver {
    /// A driver for `node`, whose chain already holds what `log` stores.
    pub fn new(
        node: Node,
        roster: Arc<Roster>,
        log: BlockLog,
        workload: Workload,
        counters: Arc<Counters>,
        inbox: Arc<Inbox>,
    ) -> Driver {
        let committed_txs = node.chain().blocks().iter().skip(1).map(|b| b.transactions().len() as u64).sum();
        Driver {
            node,
            roster,
            log,
            peers: HashMap::new(),
            timers: BinaryHeap::new(),
            workload,
            stats: Stats { committed_txs, ..Stats::default() },
            counters,
            inbox,
            ready: false,
            stopping: false,
            flush_now: false,
        }
    }

    /// Runs until a shutdown request, the end of `events`, or `stop` firing. `urgent` (blocks,
    /// block requests) is served before `events` (transactions, connections, requests).
    pub async fn run(
        mut self,
        mut events: mpsc::UnboundedReceiver<Event>,
        mut urgent: mpsc::UnboundedReceiver<Event>,
        stop: impl std::future::Future<Output = ()>,
    ) -> Result<(), StorageError> {
        tokio::pin!(stop);
        self.check_ready();
        while !self.stopping {
            let timer_at = self.timers.peek().map(|Reverse((at, _))| clock::instant_at(*at));
            let work_at = self.workload.next_due(self.node.mempool().len());
            tokio::select! {
                biased;
                _ = &mut stop => break,
                Some(event) = urgent.recv() => self.on_event(event)?,
                event = events.recv() => {
                    let Some(event) = event else { break };
                    self.on_event(event)?;
                }
                _ = sleep_until(timer_at.unwrap_or_else(tokio::time::Instant::now)), if timer_at.is_some() => {}
                _ = sleep_until(work_at.unwrap_or_else(tokio::time::Instant::now)), if work_at.is_some() => {}
            }
            // Take what else is queued, blocks first, for a few milliseconds at most before
            // looking at the clock again. Blocks and block requests leave at once; transactions
            // wait for the end of the turn so that they travel as one batch.
            let turn = std::time::Instant::now();
            while turn.elapsed() < TURN {
                match urgent.try_recv().or_else(|_| events.try_recv()) {
                    Ok(event) => self.on_event(event)?,
                    Err(_) => break,
                }
                if self.flush_now {
                    self.flush();
                }
            }
            self.fire_timers()?;
            self.run_workload()?;
            self.flush();
        }
        let w = &self.stats.work;
        info!(
            "node {} stopped at height {}; work: {} signed, {} verified alone, {} in {} batches, {} applied",
            self.roster.me,
            self.node.chain().height(),
            w.signed,
            w.verified,
            w.batch_verified,
            w.batches,
            w.applied
        );
        Ok(())
    }

    /// Hands each peer's queued messages to its writer.
    fn flush(&mut self) {
        self.flush_now = false;
        let mut stalled = Vec::new();
        for (peer, link) in &mut self.peers {
            if link.outbox.is_empty() {
                continue;
            }
            let queued = link.writer.backlog.fetch_add(link.outbox.len(), Ordering::Relaxed) + link.outbox.len();
            let _ = link.writer.writer.send(std::mem::take(&mut link.outbox));
            if queued > MAX_BACKLOG {
                stalled.push(*peer);
            }
        }
        for peer in stalled {
            warn!(
                "{} is not keeping up (over {MAX_BACKLOG} messages queued); dropping its connection",
                self.roster.label(&peer)
            );
            self.peers.remove(&peer);
        }
    }

    fn handle(&mut self, input: Input) -> Result<Step, StorageError> {
        let step = self.node.handle(clock::now(), input);
        let (w, t) = (&mut self.stats.work, &step.work);
        w.signed += t.signed;
        w.verified += t.verified;
        w.batch_verified += t.batch_verified;
        w.batches += t.batches;
        w.applied += t.applied;
        self.carry_out(&step)?;
        Ok(step)
    }

    fn on_event(&mut self, event: Event) -> Result<(), StorageError> {
        match event {
            Event::Peer { from, message, bytes } => {
                let _ = self.handle(Input::Peer { from, message })?;
                self.inbox.done(bytes);
            }
            Event::Connected { peer, conn, link } => {
                self.peers.insert(peer, Link { conn, writer: link, outbox: Vec::new() });
                debug!("{} connected (connection {conn})", self.roster.label(&peer));
                let _ = self.handle(Input::PeerConnected(peer))?;
                self.check_ready();
            }
            Event::Disconnected { peer, conn } => {
                if self.peers.get(&peer).is_some_and(|l| l.conn == conn) {
                    self.peers.remove(&peer);
                }
            }
            Event::Control { request, reply } => {
                let response = self.on_request(request)?;
                let _ = reply.send(response);
            }
        }
        Ok(())
    }

    /// The first time every peer is connected: the network is ready and the workload starts.
    fn check_ready(&mut self) {
        if !self.ready && self.peers.len() + 1 == self.roster.len() {
            self.ready = true;
            info!("network ready: all {} nodes connected", self.roster.len());
            self.workload.start(clock::now());
        }
    }

    fn fire_timers(&mut self) -> Result<(), StorageError> {
        let now = clock::now();
        while let Some(Reverse((at, timer))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            let _ = self.handle(Input::Timer(timer))?;
        }
        Ok(())
    }

    fn run_workload(&mut self) -> Result<(), StorageError> {
        let pending = self.node.mempool().len();
        for request in self.workload.due(tokio::time::Instant::now(), pending) {
            let step = self.handle(Input::Submit(request))?;
            let accepted = step.outputs.iter().any(|o| matches!(o, Output::TxAccepted(_)));
            self.workload.record(accepted, clock::now());
        }
        Ok(())
    }

    /// Persists first (so nothing is announced that a crash could lose), then acts.
    fn carry_out(&mut self, step: &Step) -> Result<(), StorageError> {
        for output in &step.outputs {
            match output {
                Output::Reverted(block) => self.log.truncate_from(block.index())?,
                Output::Committed(block) => {
                    if block.index() <= self.log.height() {
                        self.log.truncate_from(block.index())?;
                    }
                    self.log.append(block)?;
                }
                _ => {}
            }
        }
        for output in &step.outputs {
            match output {
                Output::Send { to, message } => {
                    self.flush_now |= !is_transaction(message);
                    self.send(to, message.clone());
                }
                Output::Broadcast { message, except } => {
                    self.flush_now |= !is_transaction(message);
                    for (peer, link) in &mut self.peers {
                        if Some(*peer) != *except {
                            link.outbox.push(message.clone());
                        }
                    }
                }
                Output::SetTimer { timer, at } => self.timers.push(Reverse((*at, *timer))),
                Output::Committed(block) => {
                    self.stats.committed_txs += block.transactions().len() as u64;
                    let validator = self.roster.label(&block.validator());
                    info!(
                        "committed block {} {} by {validator} round {}: {} transactions",
                        block.index(),
                        block.hash().short(),
                        block.round(),
                        block.transactions().len()
                    );
                }
                Output::Reverted(block) => {
                    self.stats.committed_txs =
                        self.stats.committed_txs.saturating_sub(block.transactions().len() as u64);
                    self.stats.reverted += 1;
                    warn!("reverted block {} {} (a better branch won)", block.index(), block.hash().short());
                }
                Output::TxAccepted(tx) => debug!("accepted local transaction {} nonce {}", tx.id().short(), tx.nonce()),
                Output::TxRejected { id, origin: Origin::Local, error } => {
                    self.stats.rejected_local += 1;
                    debug!("local transaction {} refused: {error}", id.short());
                }
                Output::TxRejected { id, origin: Origin::Peer(from), error } => {
                    self.stats.rejected_from_peers += 1;
                    debug!("transaction {} from {} refused: {error}", id.short(), self.roster.label(from));
                }
                Output::BlockRejected { hash, from, error } => {
                    self.stats.blocks_rejected += 1;
                    warn!("block {} from {} refused: {error}", hash.short(), self.roster.label(from));
                }
            }
        }
        Ok(())
    }

    fn send(&mut self, to: &Address, message: PeerMessage) {
        match self.peers.get_mut(to) {
            Some(link) => link.outbox.push(message),
            None => debug!("not connected to {}; dropped a {} message", self.roster.label(to), message.kind()),
        }
    }

    fn resolve(&self, to: Recipient) -> Result<Address, String> {
        match to {
            Recipient::Address(a) => Ok(a),
            Recipient::Id(id) => self.roster.member(id).map(|m| m.key).ok_or_else(|| {
                format!("there is no node {id} (ids go from 0 to {})", self.roster.len().saturating_sub(1))
            }),
        }
    }

    fn submit(&mut self, receiver: Address, kind: TxKind) -> Result<Response, StorageError> {
        let step = self.handle(Input::Submit(TxRequest { receiver, kind }))?;
        for output in &step.outputs {
            match output {
                Output::TxAccepted(tx) => {
                    return Ok(Ok(Reply::Submitted { id: tx.id(), nonce: tx.nonce(), fee: tx.fee() }));
                }
                Output::TxRejected { origin: Origin::Local, error, .. } => return Ok(Err(format!("refused: {error}"))),
                _ => {}
            }
        }
        Ok(Err("the node gave no verdict on the transaction".into()))
    }

    fn on_request(&mut self, request: Request) -> Result<Response, StorageError> {
        let me = self.node.address();
        let roster = self.roster.clone();
        let chain = self.node.chain();
        Ok(Ok(match request {
            Request::Status => Reply::Status(self.status()),
            Request::Balance => {
                let a = self.node.ledger().account(&me).copied().unwrap_or_default();
                Reply::Balance { balance: a.balance, stake: a.stake, available: a.spendable() }
            }
            Request::View => Reply::View(views::block_view(&roster, chain.tip())),
            Request::History { limit } => {
                let entries = chain
                    .blocks()
                    .iter()
                    .rev()
                    .flat_map(|b| b.transactions().iter().rev().map(move |t| (b.index(), t)))
                    .filter(|(_, t)| t.sender() == me || t.receiver() == me)
                    .take(limit)
                    .map(|(h, t)| (h, views::tx_view(&roster, t)))
                    .collect();
                Reply::History { entries }
            }
            Request::Peers => Reply::Peers {
                peers: roster
                    .members()
                    .iter()
                    .map(|m| PeerView {
                        id: m.id,
                        address: m.address.clone(),
                        key: m.key,
                        connected: m.key == me || self.peers.contains_key(&m.key),
                    })
                    .collect(),
            },
            Request::Chain { from, limit } => Reply::Chain {
                blocks: chain.blocks_from(from, limit).iter().map(|b| views::block_summary(&roster, b)).collect(),
            },
            Request::Ledger => Reply::Ledger {
                accounts: views::accounts(&roster, self.node.ledger()),
                supply: self.node.ledger().total_supply(),
            },
            Request::Transfer { to, amount } => match self.resolve(to) {
                Ok(to) => return self.submit(to, TxKind::Coins { amount }),
                Err(e) => return Ok(Err(e)),
            },
            Request::Message { to, text } => match self.resolve(to) {
                Ok(to) => return self.submit(to, TxKind::Message { text }),
                Err(e) => return Ok(Err(e)),
            },
            Request::Stake { amount } => return self.submit(Address::ZERO, TxKind::Stake { amount }),
            Request::Shutdown => {
                info!("shutdown requested");
                self.stopping = true;
                Reply::ShuttingDown
            }
        }))
    }

    fn status(&self) -> Status {
        let chain = self.node.chain();
        let phase = if self.ready {
            "ready".to_string()
        } else {
            format!("connecting ({} of {} peers)", self.peers.len(), self.roster.len() - 1)
        };
        Status {
            phase,
            id: Some(self.roster.me),
            nodes: self.roster.len(),
            capacity: self.roster.capacity(),
            height: chain.height(),
            tip: Some(chain.tip().hash()),
            round: self.node.round(),
            peers_connected: self.peers.len(),
            mempool: self.node.mempool().len(),
            committed_txs: self.stats.committed_txs,
            rejected_local: self.stats.rejected_local,
            rejected_from_peers: self.stats.rejected_from_peers,
            blocks_rejected: self.stats.blocks_rejected,
            bad_connections: self.counters.bad_connections.load(Ordering::Relaxed),
            reverted: self.stats.reverted,
            workload: self.workload.status(),
        }
    }
}
