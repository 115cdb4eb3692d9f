//! The node's event loop: the one task that owns the host (`blockchat_host::Host`, the same the
//! simulator runs). It reports connections, peer messages, local requests and the clock to the
//! host and carries out what the host asks, in order: blocks to the log (synced before anything
//! after them is sent), frames to the peers' writers. Nothing here decides what the node does.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use blockchat_core::{Address, PeerMessage, Work};
use blockchat_host::{Effect, Host, Input, Notice, Persist};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::sleep_until;
use tracing::{debug, info, warn};

use crate::api::metrics::Histogram;
use crate::api::{BlockSummary, Request, Response, views};
use crate::daemon::blocklog::BlockLog;
use crate::daemon::clock;
use crate::daemon::peer::{Inbox, MAX_BACKLOG_BYTES, PeerLink};
use crate::daemon::roster::Roster;
use crate::daemon::storage::StorageError;

mod requests;

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
    /// A call to the node's API.
    Api {
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
    /// Syncs of the log (blocks written one after another share one).
    #[serde(default)]
    pub syncs: u64,
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
    // For /metrics and /events.
    refused: BTreeMap<String, u64>,
    intervals: Histogram,
    last_committed_ns: Option<u64>,
    blocks_feed: broadcast::Sender<BlockSummary>,
}

impl Driver {
    /// A driver for `host`, whose chain already holds what `log` stores; committed blocks are
    /// announced on `blocks_feed`.
    pub fn new(
        host: Host,
        roster: Arc<Roster>,
        log: BlockLog,
        counters: Arc<Counters>,
        inbox: Arc<Inbox>,
        blocks_feed: broadcast::Sender<BlockSummary>,
    ) -> Driver {
        let last_committed_ns = Some(host.node().chain().tip().timestamp().as_nanos());
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
            refused: BTreeMap::new(),
            intervals: Histogram::default(),
            last_committed_ns,
            blocks_feed,
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
             frames: {} out ({} B), {} in ({} B); loop busy {} ms, {} blocks written with {} syncs in {} ms",
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
            l.syncs,
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
            Event::Api { request, reply } => {
                let response = self.on_request(request);
                let _ = reply.send(response);
            }
        }
        let result = self.carry_out();
        self.load.busy_us += started.elapsed().as_micros() as u64;
        result
    }

    /// Carries out the host's effects in order: a block is on disk before anything after it
    /// leaves. Blocks appended one after another share one sync (a group commit: a validator
    /// that applies a block and mints the next syncs once, not twice, before sending).
    fn carry_out(&mut self) -> Result<(), StorageError> {
        self.work += self.host.drain(&mut self.effects);
        let mut stalled = Vec::new();
        let mut unsynced = false;
        for effect in std::mem::take(&mut self.effects) {
            if unsynced && !matches!(effect, Effect::Persist(_)) {
                self.sync()?;
                unsynced = false;
            }
            match effect {
                Effect::Persist(Persist::TruncateFrom(height)) => self.log.truncate_from(height)?,
                Effect::Persist(Persist::Append(block)) => {
                    self.persist(|log| {
                        if block.index() <= log.height() {
                            log.truncate_from(block.index())?;
                        }
                        log.write(&block)
                    })?;
                    self.load.blocks_written += 1;
                    unsynced = true;
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
        if unsynced {
            self.sync()?;
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

    /// Makes the blocks written so far durable.
    fn sync(&mut self) -> Result<(), StorageError> {
        self.load.syncs += 1;
        self.persist(|log| log.sync())
    }

    /// Runs a block-log operation, its time counted as the disk's, not the loop's.
    fn persist(&mut self, op: impl FnOnce(&mut BlockLog) -> Result<(), StorageError>) -> Result<(), StorageError> {
        let started = std::time::Instant::now();
        let result = op(&mut self.log);
        let took = started.elapsed().as_micros() as u64;
        self.load.persist_us += took;
        // Counted apart: the loop waits for the disk, it does not compute.
        self.load.busy_us = self.load.busy_us.saturating_sub(took);
        result
    }

    fn log_notice(&mut self, notice: Notice) {
        match notice {
            Notice::Committed(block) => {
                info!(
                    "committed block {} {} by {} round {}: {} transactions",
                    block.index(),
                    block.hash().short(),
                    self.roster.label(&block.validator()),
                    block.round(),
                    block.transactions().len()
                );
                let at = block.timestamp().as_nanos();
                if let Some(before) = self.last_committed_ns.replace(at) {
                    self.intervals.observe(at.saturating_sub(before));
                }
                // Nobody listening is fine.
                let _ = self.blocks_feed.send(views::block_summary(&self.roster, &block));
            }
            Notice::Reverted(block) => {
                warn!("reverted block {} {} (a better branch won)", block.index(), block.hash().short())
            }
            Notice::Ready => info!("network ready: all {} nodes connected", self.roster.len()),
            Notice::LineSubmitted { line, tx } => {
                debug!("line {} sent as {} nonce {}", line + 1, tx.id().short(), tx.nonce())
            }
            Notice::LineWaiting { line, error } => debug!("line {} waits for a block: {error}", line + 1),
            Notice::LineCommitted { line, id } => debug!("line {} committed ({})", line + 1, id.short()),
            Notice::LineFailed { line, error, .. } => {
                *self.refused.entry(error.name().to_string()).or_default() += 1;
                info!("line {} given up: {error}", line + 1)
            }
            Notice::LineLost { line, .. } => info!("line {} lost in a restart", line + 1),
            Notice::OwnTxDropped { id, error } => {
                *self.refused.entry(error.name().to_string()).or_default() += 1;
                info!("our transaction {} was dropped: {error}", id.short())
            }
            Notice::PeerTxRejected { id, from, error } => {
                *self.refused.entry(error.name().to_string()).or_default() += 1;
                debug!("transaction {} from {} refused: {error}", id.short(), self.roster.label(&from))
            }
            Notice::BlockRejected { hash, from, error } => {
                warn!("block {} from {} refused: {error}", hash.short(), self.roster.label(&from))
            }
        }
    }
}
