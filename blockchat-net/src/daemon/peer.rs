//! Peer connections: accepting and dialling (with backoff), the handshake, then a reader that
//! decodes frames into the node's events and a writer that writes the frames the host made
//! (it batched the transactions already), several per system call when they queue up.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use blockchat_core::{Address, PeerMessage, Wallet};
use bytes::Bytes;
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio::time::timeout;
use tracing::{debug, info, warn};

use crate::daemon::driver::{Counters, Event};
use crate::daemon::handshake;
use crate::daemon::roster::{Member, Roster};
use crate::daemon::throttle::Throttle;
use crate::daemon::wire::{self, Answer, FramedStream, HANDSHAKE_MAX_FRAME, Opening, WireError};

/// Longest a handshake may take.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// First and longest pause between dial attempts.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(2));
/// Most frames a writer hands to one system call.
const WRITE_BATCH: usize = 256;
/// Connections allowed in their handshake at once; more are closed on arrival.
pub const MAX_PENDING_HANDSHAKES: usize = 64;
/// One warning per this long for each reason a connection is refused (repeats are counted).
const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(10);

/// What the connection tasks share.
#[derive(Debug)]
pub struct PeerNet {
    /// This node's wallet (signs handshakes).
    pub wallet: Wallet,
    /// The network.
    pub roster: Arc<Roster>,
    /// The node's event queue.
    pub events: mpsc::UnboundedSender<Event>,
    /// The node's queue for blocks and requests, served before transactions.
    pub urgent: mpsc::UnboundedSender<Event>,
    /// Bytes of peer messages received but not yet handled.
    pub inbox: Arc<Inbox>,
    /// Shared counters.
    pub counters: Arc<Counters>,
    /// Largest frame accepted or sent.
    pub max_frame: usize,
    next_conn: AtomicU64,
    /// Permits for connections in their handshake.
    handshakes: Arc<Semaphore>,
    /// Paces the warnings about refused connections.
    refusals: Throttle,
}

impl PeerNet {
    /// Shared state for the connection tasks.
    pub fn new(
        wallet: Wallet,
        roster: Arc<Roster>,
        (events, urgent): (mpsc::UnboundedSender<Event>, mpsc::UnboundedSender<Event>),
        counters: Arc<Counters>,
        max_frame: usize,
    ) -> PeerNet {
        let inbox = Arc::new(Inbox::default());
        PeerNet {
            wallet,
            roster,
            events,
            urgent,
            inbox,
            counters,
            max_frame,
            next_conn: AtomicU64::new(1),
            handshakes: Arc::new(Semaphore::new(MAX_PENDING_HANDSHAKES)),
            refusals: Throttle::new(REFUSAL_LOG_EVERY),
        }
    }

    fn bad_connection(&self) {
        self.counters.bad_connections.fetch_add(1, Ordering::Relaxed);
    }

    /// Warns about a refused connection, each reason at most once per [`REFUSAL_LOG_EVERY`].
    fn refused(&self, from: std::net::SocketAddr, why: &dyn std::fmt::Display) {
        self.bad_connection();
        let why = why.to_string();
        if let Some(skipped) = self.refusals.allow(&why, std::time::Instant::now()) {
            if skipped > 0 {
                warn!(%from, "refused a connection: {why} ({skipped} more refused since the last warning)");
            } else {
                warn!(%from, "refused a connection: {why}");
            }
        }
    }
}

/// Bytes queued for one peer's writer beyond which the peer counts as stalled and its
/// connection is closed (it catches up with `GetBlocks` when it comes back). Bytes, not frames:
/// a peer asking for blocks without reading the answers must not make the node hold gigabytes.
pub const MAX_BACKLOG_BYTES: usize = 64 << 20;

/// The node's handle on a connection's writer.
#[derive(Debug)]
pub struct PeerLink {
    /// Frames to send.
    pub writer: mpsc::UnboundedSender<PeerMessage>,
    /// Bytes handed over and not yet written.
    pub backlog: Arc<AtomicUsize>,
    /// Closes the connection (and frees what is queued for it) when notified.
    pub close: Arc<tokio::sync::Notify>,
}

/// Most bytes of received peer messages waiting for the node's loop before readers pause.
pub const INBOX_BUDGET: usize = 256 << 20;

/// Bytes received from peers and not yet handled by the node.
#[derive(Debug, Default)]
pub struct Inbox {
    queued: AtomicUsize,
}

impl Inbox {
    /// Counts `bytes` in.
    pub fn add(&self, bytes: usize) {
        self.queued.fetch_add(bytes, Ordering::Relaxed);
    }
    /// Counts `bytes` out (handled).
    pub fn done(&self, bytes: usize) {
        self.queued.fetch_sub(bytes, Ordering::Relaxed);
    }
    /// Whether readers should pause.
    pub fn full(&self) -> bool {
        self.queued.load(Ordering::Relaxed) > INBOX_BUDGET
    }
}

/// Accepts connections forever: members (by handshake) and late joiners (given the roster).
pub async fn accept_loop(listener: TcpListener, net: Arc<PeerNet>) {
    loop {
        match listener.accept().await {
            Ok((stream, from)) => {
                let Ok(permit) = net.handshakes.clone().try_acquire_owned() else {
                    net.refused(
                        from,
                        &format_args!("{MAX_PENDING_HANDSHAKES} connections are already in their handshake"),
                    );
                    continue;
                };
                let net = net.clone();
                tokio::spawn(async move {
                    let _ = stream.set_nodelay(true);
                    let mut framed = wire::framed(stream, HANDSHAKE_MAX_FRAME);
                    let accepted =
                        timeout(HANDSHAKE_TIMEOUT, accept(&mut framed, &net)).await.unwrap_or(Err(WireError::Timeout));
                    drop(permit);
                    match accepted {
                        Ok(Some(peer)) => {
                            wire::set_max_frame(&mut framed, net.max_frame);
                            let reason = run_link(framed, peer, &net).await;
                            info!("connection from {} closed: {reason}", net.roster.label(&peer));
                        }
                        Ok(None) => {}
                        Err(e) => {
                            net.refused(from, &e);
                            let _ = wire::send(&mut framed, &Answer::Refused(e.to_string())).await;
                        }
                    }
                });
            }
            Err(e) => {
                warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// The acceptor's handshake: a member's key, or `None` for a late joiner served its roster.
async fn accept(framed: &mut FramedStream, net: &PeerNet) -> Result<Option<Address>, WireError> {
    let (ours, theirs, opening) = handshake::accept_opening(framed).await?;
    let genesis = net.roster.genesis_hash();
    match opening {
        Opening::Hello(hello) => {
            let session = handshake::Session { genesis, dialler: theirs, acceptor: ours };
            let me = net.wallet.address();
            handshake::verify_hello(&hello, &session, handshake::Role::Dialler, &me)?;
            match net.roster.id_of(&hello.key) {
                Some(id) if id != net.roster.me => {}
                _ => {
                    return Err(WireError::UnexpectedKey {
                        key: hello.key,
                        expected: "a member of this network".into(),
                    });
                }
            }
            let answer = handshake::sign_hello(&net.wallet, &session, handshake::Role::Acceptor, &hello.key);
            wire::send(framed, &Answer::Hello(answer)).await?;
            Ok(Some(hello.key))
        }
        Opening::Probe { .. } => Err(WireError::Refused("this network has formed; there is nothing to probe".into())),
        Opening::Join(request) => {
            handshake::verify_join(&request, &ours)?;
            let Some(id) = net.roster.id_of(&request.key) else {
                return Err(WireError::Refused("the network is complete; no more nodes can join".into()));
            };
            let nodes = net.roster.len() as u32;
            wire::send(framed, &Answer::Admitted { id, nodes }).await?;
            wire::send(framed, &Answer::Network(net.roster.info.clone())).await?;
            info!("sent the roster again to node {id}");
            Ok(None)
        }
    }
}

/// Keeps a connection to `member` up: dials, authenticates, runs it, and redials with backoff.
pub async fn dial_loop(member: Member, net: Arc<PeerNet>) {
    let mut backoff = BACKOFF.0;
    loop {
        match dial(&member, &net).await {
            Ok(framed) => {
                backoff = BACKOFF.0;
                info!("connected to node {} at {}", member.id, member.address);
                let reason = run_link(framed, member.key, &net).await;
                info!("connection to node {} closed: {reason}", member.id);
            }
            Err(WireError::Io(e)) => debug!("dialling node {} at {} failed: {e}", member.id, member.address),
            Err(e) => {
                net.bad_connection();
                warn!("handshake with node {} at {} failed: {e}", member.id, member.address);
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF.1);
    }
}

async fn dial(member: &Member, net: &PeerNet) -> Result<FramedStream, WireError> {
    let stream =
        timeout(HANDSHAKE_TIMEOUT, TcpStream::connect(&member.address)).await.map_err(|_| WireError::Timeout)??;
    stream.set_nodelay(true)?;
    let mut framed = wire::framed(stream, HANDSHAKE_MAX_FRAME);
    let genesis = net.roster.genesis_hash();
    timeout(HANDSHAKE_TIMEOUT, handshake::dial_member(&mut framed, &net.wallet, genesis, member.key))
        .await
        .map_err(|_| WireError::Timeout)??;
    wire::set_max_frame(&mut framed, net.max_frame);
    Ok(framed)
}

/// Runs an authenticated connection until either direction fails; returns why it ended.
async fn run_link(framed: FramedStream, peer: Address, net: &PeerNet) -> String {
    let conn = net.next_conn.fetch_add(1, Ordering::Relaxed);
    let (writer, queue) = mpsc::unbounded_channel();
    let backlog = Arc::new(AtomicUsize::new(0));
    let close = Arc::new(tokio::sync::Notify::new());
    let link = PeerLink { writer, backlog: backlog.clone(), close: close.clone() };
    // On the urgent queue, so the node learns of the link before any block read from it.
    if net.urgent.send(Event::Connected { peer, conn, link }).is_err() {
        return "the node is stopping".into();
    }
    let (sink, stream) = framed.split();
    let reason = tokio::select! {
        r = read_loop(stream, peer, net) => r,
        r = write_frames(sink, queue, backlog.clone(), net.max_frame) => r,
        () = close.notified() => "closed by the node (the peer is not reading)".into(),
    };
    let _ = net.urgent.send(Event::Disconnected { peer, conn });
    reason
}

async fn read_loop(mut stream: SplitStream<FramedStream>, peer: Address, net: &PeerNet) -> String {
    let label = net.roster.label(&peer);
    loop {
        let frame = match stream.next().await {
            None => return "closed by the peer".into(),
            Some(Err(e)) => {
                net.bad_connection();
                warn!("bad frame from {label}: {e}; closing the connection");
                return format!("bad frame: {e}");
            }
            Some(Ok(frame)) => frame,
        };
        let message = match PeerMessage::decode(&frame) {
            Ok(m) => m,
            Err(e) => {
                net.bad_connection();
                warn!("malformed message from {label}: {e}; closing the connection");
                return format!("malformed message: {e}");
            }
        };
        // Blocks jump the queue of transactions: the chain's progress waits on them.
        let queue = match message {
            PeerMessage::Transaction(_) | PeerMessage::Transactions(_) => &net.events,
            _ => &net.urgent,
        };
        // Readers never wait on the node (a block must not queue behind transactions in the
        // socket), but all of them together hold at most a budget of unhandled bytes.
        while net.inbox.full() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let bytes = frame.len();
        net.inbox.add(bytes);
        if queue.send(Event::Peer { from: peer, message, bytes }).is_err() {
            return "the node is stopping".into();
        }
    }
}

/// Writes the frames handed to `queue` until it closes or a write fails; returns why it ended.
/// `backlog` counts the bytes handed over and not yet written (the sender adds each message's
/// encoded length).
pub async fn write_frames(
    mut sink: SplitSink<FramedStream, Bytes>,
    mut queue: mpsc::UnboundedReceiver<PeerMessage>,
    backlog: Arc<AtomicUsize>,
    max_frame: usize,
) -> String {
    let mut batch = Vec::with_capacity(WRITE_BATCH);
    loop {
        match queue.recv().await {
            Some(m) => batch.push(m),
            None => return "replaced by a newer connection".into(),
        }
        while batch.len() < WRITE_BATCH {
            match queue.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        if backlog.load(Ordering::Relaxed) > MAX_BACKLOG_BYTES {
            return "the peer is not keeping up".into();
        }
        let mut written = 0;
        for message in batch.drain(..) {
            let bytes = message.encode();
            written += bytes.len();
            if bytes.len() > max_frame {
                warn!("dropped a {} message of {} bytes, over the frame limit", message.kind(), bytes.len());
                continue;
            }
            if let Err(e) = sink.feed(Bytes::from(bytes)).await {
                return format!("write failed: {e}");
            }
        }
        if let Err(e) = sink.flush().await {
            return format!("write failed: {e}");
        }
        backlog.fetch_sub(written.min(backlog.load(Ordering::Relaxed)), Ordering::Relaxed);
    }
}
