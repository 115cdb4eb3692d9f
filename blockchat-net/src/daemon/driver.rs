//! The node's event loop: the one task that owns the host (`blockchat_host::Host`, the same the
//! simulator runs). It reports connections, peer messages, local requests and the clock to the
//! host and carries out what the host asks, in order: blocks to the log (synced before anything
//! after them is sent), frames to the peers' writers. Nothing here decides what the node does.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use blockchat_core::{Address, PeerMessage, TxKind, TxRequest, Work};
use blockchat_host::{Effect, Host, Input, Notice, Persist, Plan};
use tokio::sync::{mpsc, oneshot};
use tokio::time::sleep_until;
use tracing::{debug, info, warn};

use crate::control::{ControlError, PeerView, Phase, Recipient, Reply, Request, Response, Status, views};
use crate::daemon::blocklog::BlockLog;
use crate::daemon::clock;
use crate::daemon::peer::{Inbox, MAX_BACKLOG_BYTES, PeerLink};
use crate::daemon::roster::Roster;
use crate::daemon::storage::StorageError;

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

/// What the loop did, for the shutdown line and the status (and to calibrate the simulator).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Load {
    /// Frames handed to writers, and their bytes.
    pub frames_out: u64,
    /// Bytes of those frames.
    pub bytes_out: u64,
    /// Frames received from peers.
    pub frames_in: u64,
    /// Bytes of those frames.
    pub bytes_in: u64,
    /// Blocks written to the log.
    pub blocks_written: u64,
    /// Time the loop spent in the host and carrying out its effects, syncs excluded, µs.
    pub busy_us: u64,
    /// Time spent writing and syncing blocks, µs.
    pub persist_us: u64,
}

/// Longest the loop handles queued events before it looks at the clock and flushes.
const TURN: Duration = Duration::from_millis(5);

/// A connected peer: its connection number and its writer.
#[derive(Debug)]
struct Link {
    conn: u64,
    writer: PeerLink,
}

/// The node task's state.
pub struct Driver {
    host: Host,
    roster: Arc<Roster>,
    log: BlockLog,
    links: HashMap<Address, Link>,
    counters: Arc<Counters>,
    inbox: Arc<Inbox>,
    stopping: bool,
    effects: Vec<Effect>,
    // The core's costly operations since start, for the shutdown line.
    work: Work,
    load: Load,
}

impl Driver {
    /// A driver for `host`, whose chain already holds what `log` stores.
    pub fn new(host: Host, roster: Arc<Roster>, log: BlockLog, counters: Arc<Counters>, inbox: Arc<Inbox>) -> Driver {
        Driver {
            host,
            roster,
            log,
            links: HashMap::new(),
            counters,
            inbox,
            stopping: false,
            effects: Vec::new(),
            work: Work::default(),
            load: Load::default(),
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
        // A network of one node is ready at once.
        self.host.handle_timeout(clock::now());
        self.carry_out()?;
        while !self.stopping {
            let deadline = self.host.poll_timeout().map(clock::instant_at);
            tokio::select! {
                biased;
                _ = &mut stop => break,
                Some(event) = urgent.recv() => self.on_event(event)?,
                event = events.recv() => {
                    let Some(event) = event else { break };
                    self.on_event(event)?;
                }
                _ = sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now)), if deadline.is_some() => {}
            }
            // Take what else is queued, blocks first, for a few milliseconds at most.
            let turn = std::time::Instant::now();
            while turn.elapsed() < TURN && !self.stopping {
                match urgent.try_recv().or_else(|_| events.try_recv()) {
                    Ok(event) => self.on_event(event)?,
                    Err(_) => break,
                }
            }
            let started = std::time::Instant::now();
            let now = clock::now();
            if self.host.poll_timeout().is_some_and(|t| t <= now) {
                self.host.handle_timeout(now);
                self.carry_out()?;
            }
            // Nothing else to do right now: what waits in the outboxes leaves.
            self.host.flush(clock::now());
            self.carry_out()?;
            self.load.busy_us += started.elapsed().as_micros() as u64;
        }
        let w = self.work;
        let l = self.load;
        info!(
            "node {} stopped at height {}; work: {} signed, {} verified alone, {} in {} batches, {} applied; \
             frames: {} out ({} B), {} in ({} B); loop busy {} ms, {} blocks written in {} ms",
            self.roster.me,
            self.host.node().chain().height(),
            w.signed,
            w.verified,
            w.batch_verified,
            w.batches,
            w.applied,
            l.frames_out,
            l.bytes_out,
            l.frames_in,
            l.bytes_in,
            l.busy_us / 1000,
            l.blocks_written,
            l.persist_us / 1000
        );
        Ok(())
    }

    fn on_event(&mut self, event: Event) -> Result<(), StorageError> {
        let started = std::time::Instant::now();
        match event {
            Event::Peer { from, message, bytes } => {
                self.host.handle(clock::now(), Input::Message { from, message });
                self.inbox.done(bytes);
                self.load.frames_in += 1;
                self.load.bytes_in += bytes as u64;
            }
            Event::Connected { peer, conn, link } => {
                if let Some(old) = self.links.insert(peer, Link { conn, writer: link }) {
                    // The newer connection wins; the older one closes and frees its queue.
                    old.writer.close.notify_one();
                }
                debug!("{} connected (connection {conn})", self.roster.label(&peer));
                self.host.handle(clock::now(), Input::LinkUp(peer));
            }
            Event::Disconnected { peer, conn } => {
                if self.links.get(&peer).is_some_and(|l| l.conn == conn) {
                    self.links.remove(&peer);
                    self.host.handle(clock::now(), Input::LinkDown(peer));
                }
            }
            Event::Control { request, reply } => {
                let response = self.on_request(request);
                let _ = reply.send(response);
            }
        }
        let result = self.carry_out();
        self.load.busy_us += started.elapsed().as_micros() as u64;
        result
    }

    /// Carries out the host's effects in order: a block is on disk before anything after it
    /// leaves.
    fn carry_out(&mut self) -> Result<(), StorageError> {
        self.work += self.host.drain(&mut self.effects);
        let mut stalled = Vec::new();
        for effect in std::mem::take(&mut self.effects) {
            match effect {
                Effect::Persist(Persist::TruncateFrom(height)) => self.log.truncate_from(height)?,
                Effect::Persist(Persist::Append(block)) => {
                    let started = std::time::Instant::now();
                    if block.index() <= self.log.height() {
                        self.log.truncate_from(block.index())?;
                    }
                    self.log.append(&block)?;
                    let took = started.elapsed().as_micros() as u64;
                    self.load.persist_us += took;
                    // Counted apart: the loop waits for the disk, it does not compute.
                    self.load.busy_us = self.load.busy_us.saturating_sub(took);
                    self.load.blocks_written += 1;
                }
                Effect::Send { to, message, .. } => match self.links.get(&to) {
                    Some(link) => {
                        let bytes = message.encoded_len();
                        self.load.frames_out += 1;
                        self.load.bytes_out += bytes as u64;
                        let queued = link.writer.backlog.fetch_add(bytes, Ordering::Relaxed) + bytes;
                        if link.writer.writer.send(message).is_err() || queued > MAX_BACKLOG_BYTES {
                            stalled.push(to);
                        }
                    }
                    None => debug!("{} went away; dropped a {} frame", self.roster.label(&to), message.kind()),
                },
                Effect::Notify(notice) => self.log_notice(*notice),
            }
        }
        for peer in stalled {
            if let Some(link) = self.links.remove(&peer) {
                link.writer.close.notify_one();
                warn!(
                    "{} is not keeping up (over {} MiB queued for it); closing its connection",
                    self.roster.label(&peer),
                    MAX_BACKLOG_BYTES >> 20
                );
                self.host.handle(clock::now(), Input::LinkDown(peer));
            }
        }
        Ok(())
    }

    fn log_notice(&self, notice: Notice) {
        match notice {
            Notice::Committed(block) => info!(
                "committed block {} {} by {} round {}: {} transactions",
                block.index(),
                block.hash().short(),
                self.roster.label(&block.validator()),
                block.round(),
                block.transactions().len()
            ),
            Notice::Reverted(block) => {
                warn!("reverted block {} {} (a better branch won)", block.index(), block.hash().short())
            }
            Notice::Ready => info!("network ready: all {} nodes connected", self.roster.len()),
            Notice::LineSubmitted { line, tx } => {
                debug!("line {} sent as {} nonce {}", line + 1, tx.id().short(), tx.nonce())
            }
            Notice::LineWaiting { line, error } => debug!("line {} waits for a block: {error}", line + 1),
            Notice::LineCommitted { line, id } => debug!("line {} committed ({})", line + 1, id.short()),
            Notice::LineFailed { line, error, .. } => info!("line {} given up: {error}", line + 1),
            Notice::LineLost { line, .. } => info!("line {} lost in a restart", line + 1),
            Notice::OwnTxDropped { id, error } => info!("our transaction {} was dropped: {error}", id.short()),
            Notice::PeerTxRejected { id, from, error } => {
                debug!("transaction {} from {} refused: {error}", id.short(), self.roster.label(&from))
            }
            Notice::BlockRejected { hash, from, error } => {
                warn!("block {} from {} refused: {error}", hash.short(), self.roster.label(&from))
            }
        }
    }

    fn resolve(&self, to: Recipient) -> Result<Address, ControlError> {
        match to {
            Recipient::Address(a) => Ok(a),
            Recipient::Id(id) => self
                .roster
                .member(id)
                .map(|m| m.key)
                .ok_or(ControlError::UnknownNode { id, last: self.roster.len().saturating_sub(1) as u32 }),
        }
    }

    fn submit(&mut self, receiver: Address, kind: TxKind) -> Response {
        match self.host.submit(clock::now(), TxRequest { receiver, kind }) {
            Ok(tx) => Ok(Reply::Submitted { id: tx.id(), nonce: tx.nonce(), fee: tx.fee() }),
            Err(error) => Err(ControlError::from(&error)),
        }
    }

    fn on_request(&mut self, request: Request) -> Response {
        let me = self.host.node().address();
        let roster = self.roster.clone();
        let chain = self.host.node().chain();
        Ok(match request {
            Request::Status => Reply::Status(Box::new(self.status())),
            Request::Balance => {
                let a = self.host.node().ledger().account(&me).copied().unwrap_or_default();
                let pending = self
                    .host
                    .node()
                    .mempool()
                    .iter()
                    .filter(|(t, _)| t.sender() == me)
                    .fold(0u64, |sum, (t, _)| sum.saturating_add(t.kind().debit()));
                Reply::Balance { balance: a.balance, stake: a.stake, available: a.spendable(), pending }
            }
            Request::View => Reply::View(views::block_view(&roster, chain.tip())),
            Request::History { limit } => {
                let entries = chain
                    .blocks()
                    .iter()
                    .rev()
                    .flat_map(|b| b.transactions().iter().rev().map(move |t| (b, t)))
                    .filter(|(_, t)| t.sender() == me || t.receiver() == me)
                    .take(limit)
                    .map(|(b, t)| (b.index(), views::tx_view(&roster, b, t)))
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
                        connected: m.key != me && self.host.is_up(&m.key),
                        this_node: m.key == me,
                    })
                    .collect(),
            },
            Request::Chain { from, limit } => Reply::Chain {
                blocks: chain.blocks_from(from, limit).iter().map(|b| views::block_summary(&roster, b)).collect(),
            },
            Request::Ledger => Reply::Ledger {
                accounts: views::accounts(&roster, self.host.node().ledger()),
                supply: self.host.node().ledger().total_supply(),
            },
            Request::Transfer { to, amount } => {
                let to = self.resolve(to)?;
                return self.submit(to, TxKind::Coins { amount });
            }
            Request::Message { to, text } => {
                let to = self.resolve(to)?;
                return self.submit(to, TxKind::Message { text });
            }
            Request::Stake { amount } => return self.submit(Address::ZERO, TxKind::Stake { amount }),
            Request::Shutdown => {
                info!("shutdown requested");
                self.stopping = true;
                Reply::ShuttingDown
            }
        })
    }

    fn status(&self) -> Status {
        let node = self.host.node();
        let chain = node.chain();
        let stats = self.host.stats();
        let peers = self.roster.len() - 1;
        let phase = if self.host.is_ready() {
            Phase::Ready
        } else {
            Phase::Connecting { connected: self.host.peers_up(), peers }
        };
        let client = self.host.client();
        let waiting = client.waiting().map(|(line, error)| {
            let number = match client.plan() {
                Plan::Lines(lines) => lines.get(line).map_or(line + 1, |l| l.number),
                _ => line + 1,
            };
            (number, error.to_string())
        });
        Status {
            phase,
            id: Some(self.roster.me),
            nodes: self.roster.len(),
            capacity: chain.params().capacity,
            max_block_interval_ms: chain.params().max_block_interval.map(|d| d.as_millis() as u64),
            height: chain.height(),
            tip: Some(chain.tip().hash()),
            round: node.round(),
            peers_connected: self.host.peers_up(),
            mempool: node.mempool().len(),
            committed_txs: chain.blocks().iter().skip(1).map(|b| b.transactions().len() as u64).sum(),
            rejected_local: stats.own_rejected,
            rejected_from_peers: stats.peer_txs_rejected,
            blocks_rejected: stats.blocks_rejected,
            bad_connections: self.counters.bad_connections.load(Ordering::Relaxed),
            reverted: stats.reverted_blocks,
            dropped_to_down_links: stats.dropped_to_down_links,
            load: self.load,
            workload: client.status(),
            waiting,
        }
    }
}
