//! The node's client: what its user sends (a course file, a generated load), when (the pace),
//! and the retry rule: a line its sender cannot afford yet, or that finds the mempool full,
//! waits, and every later line behind it, until the next block; a line refused for any other
//! reason is given up. The host feeds it verdicts and blocks; it never touches the network.

pub mod course;
pub mod synthetic;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use blockchat_core::error::TxError;
use blockchat_core::{Address, Block, Time, Transaction, TxId, TxKind, TxRequest};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::effect::{Effect, LineId, Notice};
use course::Line;
use synthetic::{Mix, unit};

/// What the client sends.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Nothing: a node driven only by its user's requests.
    Nothing,
    /// Course-format lines, each a message to a node id.
    Lines(Vec<Line>),
    /// `count` generated transactions of `mix`.
    Synthetic {
        /// How many.
        count: usize,
        /// What they look like.
        mix: Mix,
    },
}

impl Plan {
    /// Lines in the plan.
    pub fn len(&self) -> usize {
        match self {
            Plan::Nothing => 0,
            Plan::Lines(lines) => lines.len(),
            Plan::Synthetic { count, .. } => *count,
        }
    }

    /// Whether the plan is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A pause before each line, uniform in [min, max] milliseconds (the course client's was
/// 100–500 ms).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Think {
    /// Shortest pause, ms.
    pub min_ms: f64,
    /// Longest pause, ms.
    pub max_ms: f64,
}

impl Think {
    /// The course client's pause: 100–500 ms.
    pub const COURSE: Think = Think { min_ms: 100.0, max_ms: 500.0 };

    /// No pause at all.
    pub fn is_none(&self) -> bool {
        self.max_ms <= 0.0
    }

    /// The pace this pause gives: a burst when there is none.
    pub fn pace(self) -> Pace {
        if self.is_none() { Pace::Burst } else { Pace::Think(self) }
    }
}

/// When the client sends.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Pace {
    /// As fast as the node takes them (a chunk per turn, pausing while the mempool is very full).
    Burst,
    /// A pause before each line.
    Think(Think),
    /// Open loop: Poisson arrivals at this rate per second.
    Poisson {
        /// Arrivals per second.
        per_second: f64,
    },
    /// Closed loop: each line waits for the previous one to commit or fail.
    ClosedLoop,
}

/// Why a client cannot be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClientError {
    /// A line names a node outside the network.
    #[error("line {number} sends to node {to}, but the network has nodes 0 to {last}")]
    UnknownNode {
        /// The line's number in its file.
        number: usize,
        /// The node it names.
        to: usize,
        /// The highest node id.
        last: usize,
    },
    /// A pace with a negative, inverted or non-finite range or rate.
    #[error("invalid pace {0:?}")]
    Pace(Pace),
}

/// Progress of the client's plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientStatus {
    /// Lines in the plan.
    pub total: usize,
    /// Lines taken into the mempool at least once.
    pub submitted: usize,
    /// Lines whose transaction is on this node's best chain.
    pub committed: usize,
    /// Lines in the mempool.
    pub pending: usize,
    /// Lines given up.
    pub failed: usize,
    /// Lines lost with the mempool in a crash.
    pub lost: usize,
    /// Lines not sent yet (waiting for their turn, their pace or funds).
    pub unsent: usize,
    /// Whether the next line waits for a block (it cannot be afforded yet).
    pub waiting: bool,
    /// When the client started (the network was ready), in the driver's time (ns).
    pub started_at: Option<u64>,
    /// When its first line was accepted (ns).
    pub first_sent_at: Option<u64>,
    /// When the last line was resolved, once all are.
    pub finished_at: Option<u64>,
}

impl ClientStatus {
    /// Whether every line is committed, given up or lost.
    pub fn done(&self) -> bool {
        self.committed + self.failed + self.lost == self.total
    }
}

#[derive(Debug, Clone)]
struct Blocked {
    line: LineId,
    request: TxRequest,
}

/// One node's client.
#[derive(Debug)]
pub struct Client {
    plan: Plan,
    pace: Pace,
    rng: ChaCha8Rng,
    me: usize,
    members: Arc<[Address]>,
    started: bool,
    // Lines the pace has let go so far, and the next fresh line.
    released: usize,
    next: LineId,
    // Lines to send again (dropped after acceptance), before any fresh one.
    retry: BTreeMap<LineId, TxRequest>,
    blocked: Option<Blocked>,
    waiting_error: Option<TxError>,
    pending: FxHashMap<TxId, (LineId, TxRequest)>,
    committed: FxHashMap<TxId, (LineId, TxRequest)>,
    // Lines in the mempool when the node crashed: their transactions may still have reached a
    // peer and commit.
    lost: FxHashMap<TxId, (LineId, TxRequest)>,
    // When the pace lets the next line go.
    release_at: Option<Time>,
    submitted: usize,
    failures: Vec<(LineId, TxError)>,
    started_at: Option<Time>,
    first_sent_at: Option<Time>,
    finished_at: Option<Time>,
}

/// Refusals that waiting for a block can cure.
fn waits(error: &TxError) -> bool {
    matches!(error, TxError::InsufficientBalance { .. } | TxError::MempoolFull { .. })
}

impl Pace {
    /// Refuses a pace no clock can follow (negative, not finite, a zero rate).
    pub fn check(self) -> Result<(), ClientError> {
        let ok = match self {
            Pace::Think(Think { min_ms, max_ms }) => min_ms >= 0.0 && max_ms >= min_ms && max_ms.is_finite(),
            Pace::Poisson { per_second } => per_second > 0.0 && per_second.is_finite(),
            Pace::Burst | Pace::ClosedLoop => true,
        };
        if ok { Ok(()) } else { Err(ClientError::Pace(self)) }
    }
}

impl Client {
    /// A client that sends nothing.
    pub fn idle(rng: ChaCha8Rng) -> Client {
        Client::build(Plan::Nothing, Pace::Burst, rng, 0, Arc::from(Vec::new()))
    }

    /// Node `me` of `members` sending `plan` at `pace`, drawing from `rng`.
    pub fn new(
        plan: Plan,
        pace: Pace,
        rng: ChaCha8Rng,
        me: usize,
        members: Arc<[Address]>,
    ) -> Result<Client, ClientError> {
        if let Plan::Lines(lines) = &plan
            && let Some(l) = lines.iter().find(|l| l.to >= members.len())
        {
            let last = members.len().saturating_sub(1);
            return Err(ClientError::UnknownNode { number: l.number, to: l.to, last });
        }
        pace.check()?;
        Ok(Client::build(plan, pace, rng, me, members))
    }

    fn build(plan: Plan, pace: Pace, rng: ChaCha8Rng, me: usize, members: Arc<[Address]>) -> Client {
        Client {
            plan,
            pace,
            rng,
            me,
            members,
            started: false,
            released: 0,
            next: 0,
            retry: BTreeMap::new(),
            blocked: None,
            waiting_error: None,
            pending: FxHashMap::default(),
            committed: FxHashMap::default(),
            release_at: None,
            submitted: 0,
            failures: Vec::new(),
            lost: FxHashMap::default(),
            started_at: None,
            first_sent_at: None,
            finished_at: None,
        }
    }

    /// The plan.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The pace.
    pub fn pace(&self) -> Pace {
        self.pace
    }

    /// Lines given up, and why.
    pub fn failures(&self) -> &[(LineId, TxError)] {
        &self.failures
    }

    /// The line the client waits on and why it cannot be sent yet.
    pub fn waiting(&self) -> Option<(LineId, &TxError)> {
        Some((self.blocked.as_ref()?.line, self.waiting_error.as_ref()?))
    }

    /// Lines never committed, in order: waiting, not yet sent, or in the mempool.
    pub fn unfinished(&self) -> Vec<LineId> {
        let mut lines: Vec<LineId> = self.blocked.iter().map(|b| b.line).collect();
        lines.extend(self.retry.keys().copied());
        lines.extend(self.pending.values().map(|(l, _)| *l));
        lines.extend(self.next..self.plan.len());
        lines.sort_unstable();
        lines.dedup();
        lines
    }

    /// What the client has done so far.
    pub fn status(&self) -> ClientStatus {
        let committed = self.committed.len();
        let failed = self.failures.len();
        let unsent = self.plan.len() - self.next + self.retry.len() + usize::from(self.blocked.is_some());
        ClientStatus {
            total: self.plan.len(),
            submitted: self.submitted,
            committed,
            pending: self.pending.len(),
            failed,
            lost: self.lost.len(),
            unsent,
            waiting: self.blocked.is_some(),
            started_at: self.started_at.map(Time::as_nanos),
            first_sent_at: self.first_sent_at.map(Time::as_nanos),
            finished_at: self.finished_at.map(Time::as_nanos),
        }
    }

    /// The network is ready: the pace starts.
    pub fn start(&mut self, now: Time) {
        if self.started || self.plan.is_empty() {
            return;
        }
        self.started = true;
        self.started_at = Some(now);
        match self.pace {
            Pace::Burst => self.released = self.plan.len(),
            Pace::ClosedLoop => self.released = 1,
            Pace::Think(_) | Pace::Poisson { .. } => self.release_at = Some(now + self.gap()),
        }
    }

    /// When the pace next lets a line go.
    pub fn release_at(&self) -> Option<Time> {
        self.release_at.filter(|_| self.released < self.plan.len())
    }

    /// The pace's timer fired.
    pub fn on_wake(&mut self, now: Time) {
        while let Some(at) = self.release_at.filter(|at| *at <= now && self.released < self.plan.len()) {
            self.released += 1;
            self.release_at = match self.pace {
                Pace::Poisson { .. } => Some(at + self.gap()),
                _ => None,
            };
        }
    }

    fn gap(&mut self) -> Duration {
        match self.pace {
            Pace::Think(Think { min_ms, max_ms }) => millis(min_ms + (max_ms - min_ms) * unit(&mut self.rng)),
            Pace::Poisson { per_second } => {
                // A tiny rate gives a gap past any clock: it saturates rather than panics.
                Exp::new(per_second)
                    .map(|d| Duration::try_from_secs_f64(d.sample(&mut self.rng)).unwrap_or(Duration::MAX))
                    .unwrap_or_default()
            }
            Pace::Burst | Pace::ClosedLoop => Duration::ZERO,
        }
    }

    /// Whether a line is ready to send now.
    pub fn ready(&self) -> bool {
        self.started && self.blocked.is_none() && (!self.retry.is_empty() || self.next < self.released)
    }

    /// The next line to send, if one is ready.
    pub fn next_request(&mut self) -> Option<(LineId, TxRequest)> {
        if !self.ready() {
            return None;
        }
        if let Some((line, request)) = self.retry.pop_first() {
            return Some((line, request));
        }
        let line = self.next;
        self.next += 1;
        let request = match &self.plan {
            Plan::Nothing => return None,
            Plan::Lines(lines) => {
                let l = &lines[line];
                TxRequest { receiver: self.members[l.to], kind: TxKind::Message { text: l.text.clone() } }
            }
            Plan::Synthetic { mix, .. } => mix.request(line, self.me, &self.members, &mut self.rng),
        };
        Some((line, request))
    }

    /// The node's verdict on `line`, sent at `now`.
    pub fn submitted(
        &mut self,
        now: Time,
        line: LineId,
        request: TxRequest,
        verdict: Result<Arc<Transaction>, TxError>,
        out: &mut Vec<Effect>,
    ) {
        match verdict {
            Ok(tx) => {
                self.blocked = None;
                self.waiting_error = None;
                self.submitted += 1;
                self.first_sent_at.get_or_insert(now);
                self.pending.insert(tx.id(), (line, request));
                out.push(Effect::notify(Notice::LineSubmitted { line, tx }));
                self.paced(now);
            }
            Err(error) if waits(&error) => {
                if self.waiting_error.as_ref() != Some(&error) || self.blocked.as_ref().is_none_or(|b| b.line != line) {
                    out.push(Effect::notify(Notice::LineWaiting { line, error: error.clone() }));
                }
                self.blocked = Some(Blocked { line, request });
                self.waiting_error = Some(error);
            }
            Err(error) => {
                self.blocked = None;
                self.waiting_error = None;
                self.fail(now, line, None, error, out);
                self.paced(now);
            }
        }
    }

    // After a line left the client: the think time before the next one starts.
    fn paced(&mut self, now: Time) {
        if matches!(self.pace, Pace::Think(_)) && self.release_at.is_none() && self.released <= self.next {
            self.release_at = Some(now + self.gap());
        }
    }

    fn fail(&mut self, now: Time, line: LineId, id: Option<TxId>, error: TxError, out: &mut Vec<Effect>) {
        out.push(Effect::notify(Notice::LineFailed { line, id, error: error.clone() }));
        self.failures.push((line, error));
        self.resolved(now);
    }

    fn resolved(&mut self, now: Time) {
        if self.pace == Pace::ClosedLoop {
            self.released = (self.released + 1).min(self.plan.len());
        }
        if self.status().done() {
            self.finished_at = Some(now);
        }
    }

    /// A block joined the best chain: its lines of ours are committed, and a waiting line may
    /// now be affordable.
    pub fn on_committed(&mut self, now: Time, block: &Block, me: Address, out: &mut Vec<Effect>) {
        for tx in block.transactions().iter().filter(|t| t.sender() == me) {
            if let Some((line, request)) = self.pending.remove(&tx.id()).or_else(|| self.lost.remove(&tx.id())) {
                self.committed.insert(tx.id(), (line, request));
                out.push(Effect::notify(Notice::LineCommitted { line, id: tx.id() }));
                self.resolved(now);
            }
        }
        if let Some(b) = self.blocked.take() {
            self.retry.insert(b.line, b.request);
        }
    }

    /// A block left the best chain: its lines of ours are pending again.
    pub fn on_reverted(&mut self, block: &Block, me: Address) {
        for tx in block.transactions().iter().filter(|t| t.sender() == me) {
            if let Some(entry) = self.committed.remove(&tx.id()) {
                self.pending.insert(tx.id(), entry);
                self.finished_at = None;
            }
        }
    }

    /// The node dropped a transaction of ours after accepting it; returns whether it was a
    /// line's (a curable drop sends the line again).
    pub fn on_dropped(&mut self, now: Time, id: TxId, error: TxError, out: &mut Vec<Effect>) -> bool {
        let Some((line, request)) = self.pending.remove(&id) else { return false };
        if waits(&error) {
            out.push(Effect::notify(Notice::LineWaiting { line, error }));
            self.retry.insert(line, request);
        } else {
            self.fail(now, line, Some(id), error, out);
        }
        true
    }

    /// The node crashed: lines in its mempool are lost (unless a peer had them and they
    /// commit after all); the rest go on after the restart.
    pub fn on_crash(&mut self, now: Time, out: &mut Vec<Effect>) {
        let mut lost: Vec<(LineId, TxId)> = self.pending.iter().map(|(id, (line, _))| (*line, *id)).collect();
        lost.sort_unstable();
        for (line, id) in lost {
            out.push(Effect::notify(Notice::LineLost { line, id }));
            if let Some(entry) = self.pending.remove(&id) {
                self.lost.insert(id, entry);
            }
            self.resolved(now);
        }
        if self.release_at.is_some() {
            self.release_at = Some(now);
        }
    }
}

/// `ms` milliseconds (possibly fractional) as a duration, never negative.
pub fn millis(ms: f64) -> Duration {
    Duration::from_nanos((ms.max(0.0) * 1e6).round() as u64)
}
