//! The engine: a virtual clock, an event queue, and the loop that hands each node's host its
//! inputs and carries out its effects through the network and CPU models. The hosts are the
//! ones the TCP daemon runs; nothing here decides what a node does, only when and at what cost.
//!
//! Each node has a loop like the daemon's: inputs wait in an inbox while it is busy, blocks and
//! block requests ahead of transactions and link changes, timers after both; when the inbox is
//! empty the host flushes its outboxes. Frames cost a writer's and a reader's CPU time, and a
//! committed block a write and a sync before what follows it is sent.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::{Duration, Instant};

use blockchat_core::{Address, Chain, Ed25519Check, Genesis, PeerMessage, Time, Wallet, Work};
use blockchat_host::seed::{self, Stream};
use blockchat_host::{Client, Effect, Host, Input, Notice, Persist, Settings};
use rand_chacha::ChaCha8Rng;
use rustc_hash::FxHashMap;

use crate::SimError;
use crate::adversary::Adversary;
use crate::build;
use crate::crypto::{SimCheck, Verdicts};
use crate::links::Links;
use crate::machine::Machine;
use crate::metrics::Collector;
use crate::network::{NetworkModel, NodeId, lost, millis};
use crate::queue::Queue;
use crate::report::Report;
use crate::scenario::{Fault, NetEvent, Scenario, Stop};
use crate::topology::Topology;
use crate::trace::Trace;
use blockchat_host::CostModel;

#[derive(Debug)]
enum Event {
    // Node indices as u32 and the sender's address looked up on arrival keep queued events small.
    /// A frame, read and decoded, reaches `to`'s inbox.
    Deliver {
        to: u32,
        from: u32,
        epoch: u32,
        bytes: u32,
        message: PeerMessage,
    },
    /// `node` learns that its link to `peer` came up or went down.
    Link {
        node: u32,
        peer: u32,
        epoch: u32,
        up: bool,
    },
    /// `node`'s host asked to be woken at this time.
    Wake {
        node: u32,
        epoch: u32,
    },
    /// `node`'s loop finished a step.
    Free {
        node: u32,
        epoch: u32,
    },
    // Boxed: an effect is larger than every other event, and delayed ones are rare.
    Emit {
        node: NodeId,
        effect: Box<Effect>,
    },
    Crash {
        node: NodeId,
    },
    Restart {
        node: NodeId,
    },
    Net(usize),
}

/// An input waiting for a node's loop.
#[derive(Debug)]
enum Queued {
    Message { from: u32, bytes: u32, message: PeerMessage },
    Link { peer: u32, up: bool },
}

/// One simulated node.
struct SimNode {
    host: Host<SimCheck>,
    adversary: Option<Adversary>,
    // Scheduled crash times still ahead, earliest last.
    crashes: Vec<Time>,
    // Blocks and block requests, then everything else.
    urgent: VecDeque<Queued>,
    normal: VecDeque<Queued>,
    // The wake-up scheduled for the host, and whether one came due while the loop was busy.
    wake_at: Option<Time>,
    timer_due: bool,
}

/// What every event needs to know about its node, kept dense apart from the node itself.
#[derive(Debug, Clone, Copy)]
struct Cpu {
    busy_until: Time,
    // The next scheduled crash (Time::MAX if none).
    next_crash: Time,
    epoch: u32,
    up: bool,
    honest: bool,
    // A Free event is scheduled.
    free_pending: bool,
}

/// Progress of a running simulation, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Virtual time reached.
    pub now: Time,
    /// Honest lines resolved.
    pub resolved: u64,
    /// Honest lines planned.
    pub planned: u64,
    /// Events run so far.
    pub events: u64,
}

/// A simulation in progress.
pub struct Simulation {
    scenario: Scenario,
    now: Time,
    queue: Queue<Event>,
    nodes: Vec<SimNode>,
    cpus: Vec<Cpu>,
    addresses: Vec<Address>,
    topology: Topology,
    network: Box<dyn NetworkModel>,
    links: Links,
    fifo: Option<FxHashMap<(NodeId, NodeId), Time>>,
    net_rng: ChaCha8Rng,
    cost: CostModel,
    machine: Machine,
    verdicts: Option<Rc<RefCell<Verdicts>>>,
    metrics: Collector,
    trace: Trace,
    genesis: Genesis,
    // Honest lines not yet committed, given up or lost, per node and in all.
    unresolved: Vec<u64>,
    remaining: u64,
    planned: u64,
    deadline: Option<Time>,
    // When the stop condition was met, and when an honest node last committed a block.
    stopped_at: Option<Time>,
    last_commit: Time,
    events: u64,
    scratch: Vec<Effect>,
}

impl Simulation {
    /// Builds every node, the network and the workload of `scenario`; `trace_path` adds a
    /// JSON-lines trace file.
    pub fn new(scenario: &Scenario, trace_path: Option<&std::path::Path>) -> Result<Simulation, SimError> {
        scenario.validate()?;
        let n = scenario.nodes;
        let wallets: Vec<Wallet> =
            (0..n).map(|i| Wallet::from_seed(seed::sub_seed_u64(scenario.seed, Stream::Keys, i as u64))).collect();
        let addresses: Vec<Address> = wallets.iter().map(Wallet::address).collect();
        let params = scenario.network_params();
        let genesis = Genesis::with_stakes(params, addresses.iter().copied().zip(scenario.stakes_units()));
        let block = genesis.block()?;
        let relay = matches!(scenario.topology, crate::scenario::Topology::Regular { .. });
        let settings = Settings::new(&params).relay(relay).mempool_limit(scenario.mempool_limit);
        let verdicts = (!scenario.real_crypto).then(|| Rc::new(RefCell::new(Verdicts::default())));
        let withhold = 2 * params.round_timeout;
        let topology = build::topology(scenario)?;
        let members: std::sync::Arc<[Address]> = addresses.clone().into();
        let plans = crate::workload::plans(&scenario.workload, n, scenario.seed)?;
        // Validated once; every node starts from a copy.
        let chain = Chain::new(&block)?;
        let mut nodes = Vec::with_capacity(n);
        for (i, (w, (plan, pace))) in wallets.iter().zip(plans).enumerate() {
            let check = match &verdicts {
                Some(v) => SimCheck::Shared(v.clone()),
                None => SimCheck::Real(Ed25519Check::new()),
            };
            let rng = seed::rng_for(scenario.seed, Stream::Client, i as u64);
            let client = Client::new(plan, pace, rng, i, members.clone())?;
            // Neighbours never include the node itself, so a peer's position in the host is its
            // position here (see `dispatch`).
            debug_assert!(!topology.neighbours(i).contains(&i));
            let peers: Vec<Address> = topology.neighbours(i).iter().map(|&j| addresses[j]).collect();
            let host = Host::with_chain(settings, w.clone(), chain.clone(), check, peers, client)?;
            nodes.push(SimNode {
                host,
                adversary: None,
                crashes: Vec::new(),
                urgent: VecDeque::new(),
                normal: VecDeque::new(),
                wake_at: None,
                timer_due: false,
            });
        }
        for f in &scenario.faults {
            match f {
                Fault::Byzantine { node, behaviour } => {
                    let peers = topology.neighbours(*node).iter().map(|&j| addresses[j]).collect();
                    nodes[*node].adversary = Some(Adversary::new(*behaviour, wallets[*node].clone(), peers, withhold));
                }
                Fault::Crash { node, at_s, .. } => nodes[*node].crashes.push(secs(*at_s)),
            }
        }
        for n in &mut nodes {
            n.crashes.sort_unstable_by(|a, b| b.cmp(a));
        }
        let cpus: Vec<Cpu> = nodes
            .iter()
            .map(|n| Cpu {
                busy_until: Time::ZERO,
                next_crash: n.crashes.last().copied().unwrap_or(Time(u64::MAX)),
                epoch: 0,
                up: true,
                honest: n.adversary.is_none(),
                free_pending: false,
            })
            .collect();
        let network = build::network(scenario);
        // Link degradations add latency that can reorder a link, so they keep the book-keeping.
        let fifo = scenario.network.fifo && (!network.keeps_order() || !scenario.events.is_empty());
        let trace =
            Trace::new(trace_path).map_err(|source| SimError::Output { path: trace_path.map(Into::into), source })?;
        let unresolved: Vec<u64> =
            nodes.iter().map(|n| if n.adversary.is_none() { n.host.client().plan().len() as u64 } else { 0 }).collect();
        let planned = unresolved.iter().sum();
        let mut sim = Simulation {
            scenario: scenario.clone(),
            now: Time::ZERO,
            queue: Queue::default(),
            nodes,
            cpus,
            addresses,
            topology,
            network,
            links: Links::default(),
            fifo: fifo.then(FxHashMap::default),
            net_rng: seed::rng(scenario.seed, Stream::Network),
            cost: scenario.cpu.model(),
            machine: Machine::new(scenario.shared_cores),
            verdicts,
            metrics: Collector::default(),
            trace,
            genesis,
            unresolved,
            remaining: planned,
            planned,
            deadline: None,
            stopped_at: None,
            last_commit: Time::ZERO,
            events: 0,
            scratch: Vec::new(),
        };
        sim.schedule_startup();
        for f in &scenario.faults {
            if let Fault::Crash { node, at_s, restart_s } = f {
                sim.push(secs(*at_s), Event::Crash { node: *node });
                if let Some(r) = restart_s {
                    sim.push(secs(*r), Event::Restart { node: *node });
                }
            }
        }
        for (i, e) in scenario.events.iter().enumerate() {
            let (NetEvent::Partition { at_s, .. }
            | NetEvent::OneWay { at_s, .. }
            | NetEvent::Link { at_s, .. }
            | NetEvent::Heal { at_s }) = e;
            sim.push(secs(*at_s), Event::Net(i));
        }
        Ok(sim)
    }

    /// Each end of each link comes up at its own time (start-up spread and late nodes); a
    /// network of one peer per node forms at once.
    fn schedule_startup(&mut self) {
        let s = &self.scenario.startup;
        let [lo, hi] = s.link_ms;
        let late: Vec<f64> = (0..self.nodes.len())
            .map(|i| s.late.iter().filter(|l| l.node == i).map(|l| l.by_ms).fold(0.0, f64::max))
            .collect();
        let mut rng = seed::rng(self.scenario.seed, Stream::Faults);
        for i in 0..self.nodes.len() {
            for k in 0..self.topology.neighbours(i).len() {
                let j = self.topology.neighbours(i)[k];
                let spread = if hi > lo { (hi - lo) * crate::network::unit(&mut rng) } else { 0.0 };
                let at = Time::ZERO + millis(lo + spread + late[i].max(late[j]));
                self.push(at, Event::Link { node: i as u32, peer: j as u32, epoch: 0, up: true });
            }
        }
    }

    fn push(&mut self, at: Time, event: Event) {
        self.queue.push(at, event);
    }

    /// Runs to the stop condition, calling `progress` now and then.
    pub fn run(mut self, progress: &mut dyn FnMut(Progress)) -> Result<Report, SimError> {
        let started = Instant::now();
        let limit = match self.scenario.stop {
            Stop::Time { seconds } => secs(seconds.min(self.scenario.max_seconds)),
            _ => secs(self.scenario.max_seconds),
        };
        self.advance(limit, progress);
        progress(self.progress());
        let (computed, reused) = self.verdicts.as_ref().map_or((0, 0), |v| {
            let v = v.borrow();
            (v.computed, v.reused)
        });
        self.metrics.cpu_charged = self.machine.charged();
        let trace = std::mem::replace(&mut self.trace, Trace::digest_only());
        let trace_digest = trace.finish().map_err(|source| SimError::Output { path: None, source })?;
        let honest_up: Vec<&Host<SimCheck>> =
            self.nodes.iter().zip(&self.cpus).filter(|(_, c)| c.honest && c.up).map(|(n, _)| &n.host).collect();
        let all: Vec<&Host<SimCheck>> = self.nodes.iter().map(|n| &n.host).collect();
        Ok(Report::new(
            &self.scenario,
            &self.genesis,
            &self.addresses,
            &honest_up,
            &all,
            &self.metrics,
            self.now,
            trace_digest,
            self.events,
            started.elapsed(),
            (computed, reused),
        ))
    }

    /// Runs events up to virtual time `limit` or the stop condition's end, whichever is first.
    pub fn advance(&mut self, limit: Time, progress: &mut dyn FnMut(Progress)) {
        // After the stop condition, run until the chain has been quiet long enough for blocks
        // in flight and a quiet-tip rebroadcast to land everywhere (at most a minute more).
        let drain = 2 * Duration::from_millis(self.scenario.round_timeout_ms) + Duration::from_secs(1);
        while let Some(at) = self.queue.peek_time() {
            if at > limit || self.deadline.is_some_and(|d| at > d) {
                break;
            }
            let Some((at, event)) = self.queue.pop() else { break };
            self.now = at;
            self.machine.advance(at);
            self.events += 1;
            self.step(event);
            if self.stopped_at.is_none() && self.stop_reached() {
                self.stopped_at = Some(self.now);
            }
            if let Some(stopped) = self.stopped_at {
                let quiet = self.now.max(self.last_commit) + drain;
                let at_most = stopped + Duration::from_secs(60);
                self.deadline = Some(self.deadline.map_or(quiet, |d| d.max(self.last_commit + drain)).min(at_most));
            }
            if self.events.is_multiple_of(65_536) {
                progress(self.progress());
            }
        }
    }

    /// Node `i`'s host, for inspection between `advance` calls.
    pub fn host(&self, i: NodeId) -> &Host<SimCheck> {
        &self.nodes[i].host
    }

    /// The virtual time reached.
    pub fn now(&self) -> Time {
        self.now
    }

    fn progress(&self) -> Progress {
        Progress { now: self.now, resolved: self.planned - self.remaining, planned: self.planned, events: self.events }
    }

    fn stop_reached(&self) -> bool {
        match self.scenario.stop {
            Stop::Committed => self.remaining == 0,
            Stop::Time { .. } => false,
            Stop::Blocks { count } => self
                .nodes
                .iter()
                .zip(&self.cpus)
                .find(|(_, c)| c.honest && c.up)
                .is_some_and(|(n, _)| n.host.node().chain().height() >= count),
        }
    }

    fn step(&mut self, event: Event) {
        match event {
            Event::Deliver { to, from, epoch, bytes, message } => {
                self.arrive(to as usize, epoch, Queued::Message { from, bytes, message })
            }
            Event::Link { node, peer, epoch, up } => self.arrive(node as usize, epoch, Queued::Link { peer, up }),
            Event::Wake { node, epoch } => self.wake(node as usize, epoch),
            Event::Free { node, epoch } => self.free(node as usize, epoch),
            Event::Emit { node, effect } => {
                self.trace.record(self.now, node, "emit", &[]);
                self.dispatch(node, *effect, self.now);
            }
            Event::Crash { node } => self.crash(node),
            Event::Restart { node } => self.restart(node),
            Event::Net(i) => self.net_event(i),
        }
    }

    /// Whether events of node `id` from `epoch` still count (it has not crashed since).
    fn alive(&self, id: NodeId, epoch: u32) -> bool {
        let cpu = &self.cpus[id];
        cpu.up && cpu.epoch == epoch && self.now < cpu.next_crash
    }

    /// An input reaches node `id`: handled now if its loop is idle, else queued.
    fn arrive(&mut self, id: NodeId, epoch: u32, item: Queued) {
        if !self.alive(id, epoch) {
            if matches!(item, Queued::Message { .. }) {
                self.metrics.messages_lost += 1;
            }
            return;
        }
        let n = &mut self.nodes[id];
        // A copy of a pending transaction changes nothing wherever it is handled: its reader
        // and a moment of the loop are all it costs.
        if let Queued::Message { message, bytes, .. } = &item
            && n.host.ignores(message)
        {
            let cost = self.cost.cost(&Work::default(), *bytes as usize);
            let done = self.machine.run(self.cpus[id].busy_until.max(self.now), cost);
            self.cpus[id].busy_until = done;
            self.metrics.duplicates += 1;
            return;
        }
        if self.cpus[id].busy_until <= self.now && n.urgent.is_empty() && n.normal.is_empty() {
            self.run_input(id, item);
            return;
        }
        let urgent = matches!(&item, Queued::Message { message, .. }
            if !matches!(message, PeerMessage::Transaction(_) | PeerMessage::Transactions(_)));
        if urgent {
            n.urgent.push_back(item)
        } else {
            n.normal.push_back(item)
        }
        self.schedule_free(id);
    }

    /// The host's timer: run now if the loop is idle, else once the inbox is empty.
    fn wake(&mut self, id: NodeId, epoch: u32) {
        if !self.alive(id, epoch) || self.nodes[id].wake_at != Some(self.now) {
            return;
        }
        self.nodes[id].wake_at = None;
        let n = &self.nodes[id];
        if self.cpus[id].busy_until <= self.now && n.urgent.is_empty() && n.normal.is_empty() {
            self.run_timers(id);
        } else {
            self.nodes[id].timer_due = true;
            self.schedule_free(id);
        }
    }

    /// The loop is free: everything queued, blocks first (each step starting when the one
    /// before is done), then due timers; the last step flushes the outboxes.
    fn free(&mut self, id: NodeId, epoch: u32) {
        if !self.alive(id, epoch) {
            return;
        }
        self.cpus[id].free_pending = false;
        if self.cpus[id].busy_until > self.now {
            self.schedule_free(id);
            return;
        }
        loop {
            let n = &mut self.nodes[id];
            let Some(item) = n.urgent.pop_front().or_else(|| n.normal.pop_front()) else { break };
            let at = self.cpus[id].busy_until.max(self.now);
            self.run_input_at(id, item, at);
        }
        if std::mem::take(&mut self.nodes[id].timer_due) {
            let at = self.cpus[id].busy_until.max(self.now);
            self.run_timers_at(id, at);
        }
    }

    fn schedule_free(&mut self, id: NodeId) {
        let cpu = &mut self.cpus[id];
        if !cpu.free_pending {
            cpu.free_pending = true;
            let (at, epoch) = (cpu.busy_until.max(self.now), cpu.epoch);
            self.push(at, Event::Free { node: id as u32, epoch });
        }
    }

    /// Hands one input to node `id`'s host now.
    fn run_input(&mut self, id: NodeId, item: Queued) {
        self.run_input_at(id, item, self.now);
    }

    /// Hands one input to node `id`'s host once its loop is free at `ready`.
    fn run_input_at(&mut self, id: NodeId, item: Queued, ready: Time) {
        let start = self.machine.start(ready);
        let (input, bytes) = match item {
            Queued::Message { from, bytes, message } => {
                (Input::Message { from: self.addresses[from as usize], message }, bytes as usize)
            }
            Queued::Link { peer, up } => {
                let peer = self.addresses[peer as usize];
                (if up { Input::LinkUp(peer) } else { Input::LinkDown(peer) }, 0)
            }
        };
        self.trace.record_input(start, id, &input);
        self.nodes[id].host.handle(start, input);
        self.finish(id, start, bytes);
    }

    fn run_timers(&mut self, id: NodeId) {
        self.run_timers_at(id, self.now);
    }

    fn run_timers_at(&mut self, id: NodeId, ready: Time) {
        let start = self.machine.start(ready);
        self.trace.record(start, id, "timer", &[]);
        self.nodes[id].host.handle_timeout(start);
        self.finish(id, start, 0);
    }

    /// After a host call at `start`: charges its cost, carries out its effects when it is done,
    /// and schedules what the loop does next.
    fn finish(&mut self, id: NodeId, start: Time, bytes: usize) {
        let done = self.carry_out(id, start, bytes);
        let n = &mut self.nodes[id];
        if let Some(at) = n.host.poll_timeout() {
            let at = at.max(self.now);
            if n.wake_at.is_none_or(|w| at < w) {
                n.wake_at = Some(at);
                let epoch = self.cpus[id].epoch;
                self.push(at, Event::Wake { node: id as u32, epoch });
            }
        }
        let n = &self.nodes[id];
        if !n.urgent.is_empty() || !n.normal.is_empty() || n.timer_due {
            self.schedule_free(id);
        } else if n.host.wants_flush() {
            // Nothing else is queued when this step is done: its outboxes leave then.
            self.nodes[id].host.flush(done);
            self.carry_out(id, done, 0);
        }
    }

    /// Charges the host's last steps from `start` and carries out their effects when they are
    /// done; returns when that is.
    fn carry_out(&mut self, id: NodeId, start: Time, bytes: usize) -> Time {
        let mut effects = std::mem::take(&mut self.scratch);
        let work = self.nodes[id].host.drain(&mut effects);
        let appended = effects.iter().filter(|e| matches!(e, Effect::Persist(Persist::Append(_)))).count() as u64;
        // The daemon syncs once per run of consecutive appends (its group commit).
        let syncs = Persist::syncs(&effects);
        // An input costs its handling; a flush or a quiet timer costs nothing of the loop's.
        let mut cpu_time =
            if work == Work::default() && bytes == 0 { Duration::ZERO } else { self.cost.cost(&work, bytes) };
        cpu_time += Duration::from_nanos(appended * self.cost.block_write_ns);
        let computed = self.machine.run(start, cpu_time);
        // One sync after another: each takes a core, waits for its turn at the disk, then for
        // the device.
        let mut done = computed;
        for _ in 0..syncs {
            let kernel = self.machine.run(done, Duration::from_nanos(self.cost.sync_cpu_ns));
            done = self.machine.sync(kernel, Duration::from_nanos(self.cost.block_sync_ns))
                + Duration::from_nanos(self.cost.sync_latency_ns);
        }
        self.cpus[id].busy_until = self.cpus[id].busy_until.max(done);
        if self.cpus[id].honest
            && effects.iter().any(|e| matches!(e, Effect::Notify(n) if matches!(**n, Notice::Reverted(_))))
        {
            self.metrics.reorgs += 1;
        }
        if self.cpus[id].honest {
            for effect in effects.drain(..) {
                self.dispatch(id, effect, done);
            }
        } else if let SimNode { adversary: Some(adversary), host, .. } = &mut self.nodes[id] {
            let delayed = adversary.rewrite(host.node(), std::mem::take(&mut effects));
            for d in delayed {
                if d.after.is_zero() {
                    self.dispatch(id, d.effect, done);
                } else {
                    self.push(done + d.after, Event::Emit { node: id, effect: Box::new(d.effect) });
                }
            }
        }
        self.scratch = effects;
        done
    }

    /// The node holding `address`.
    fn dispatch(&mut self, id: NodeId, effect: Effect, at: Time) {
        match effect {
            Effect::Persist(_) => {}
            // The host's peers are this node's neighbours in order: the position names the node
            // without a look-up by address.
            Effect::Send { peer, message, .. } => {
                if let Some(&j) = self.topology.neighbours(id).get(peer as usize) {
                    self.transmit(id, j, message, at);
                }
            }
            Effect::Notify(notice) => self.notice(id, *notice, at),
        }
    }

    fn notice(&mut self, id: NodeId, notice: Notice, at: Time) {
        let honest = self.cpus[id].honest;
        let lines = matches!(
            notice,
            Notice::LineCommitted { .. } | Notice::LineFailed { .. } | Notice::LineLost { .. } | Notice::Reverted(_)
        );
        // What a node's core signed, or committed after checking, verifies: no other node needs
        // to check it for real again.
        if let Some(v) = &self.verdicts {
            match &notice {
                Notice::LineSubmitted { tx, .. } => v.borrow_mut().signed(tx.signed_item()),
                Notice::Committed(block) if block.validator() == self.addresses[id] => {
                    v.borrow_mut().signed(block.signed_item())
                }
                _ => {}
            }
        }
        match &notice {
            Notice::Committed(block) if honest => {
                self.last_commit = self.last_commit.max(at);
                self.metrics.committed_block(block);
            }
            Notice::Reverted(_) if honest => self.metrics.reverted_blocks += 1,
            _ => {}
        }
        self.metrics.notice(&notice, at);
        if lines && honest {
            let s = self.nodes[id].host.client().status();
            let left = (s.total - s.committed - s.failed - s.lost) as u64;
            self.remaining = self.remaining - self.unresolved[id] + left;
            self.unresolved[id] = left;
        }
    }

    fn transmit(&mut self, from: NodeId, to: NodeId, message: PeerMessage, at: Time) {
        let size = message.encoded_len();
        self.metrics.sent(&message, size);
        if from == to || !self.links.allowed(from, to) {
            self.metrics.messages_lost += 1;
            return;
        }
        let depart = self.machine.run(at, self.cost.send(size));
        let Some(mut arrival) = self.network.delivery(from, to, size, depart, &mut self.net_rng) else {
            self.metrics.messages_lost += 1;
            return;
        };
        if let Some((extra, loss)) = self.links.degradation(from, to) {
            if lost(&mut self.net_rng, loss) {
                self.metrics.messages_lost += 1;
                return;
            }
            arrival = arrival + extra;
        }
        let mut ready = self.machine.run(arrival, self.cost.receive(size));
        if let Some(fifo) = &mut self.fifo {
            let last = fifo.entry((from, to)).or_insert(Time::ZERO);
            ready = ready.max(*last);
            *last = ready;
        }
        let epoch = self.cpus[to].epoch;
        let event = Event::Deliver { to: to as u32, from: from as u32, epoch, bytes: size as u32, message };
        self.push(ready, event);
    }

    fn crash(&mut self, id: NodeId) {
        self.trace.record(self.now, id, "crash", &[]);
        let n = &mut self.nodes[id];
        n.crashes.pop();
        n.urgent.clear();
        n.normal.clear();
        n.wake_at = None;
        n.timer_due = false;
        let next_crash = n.crashes.last().copied().unwrap_or(Time(u64::MAX));
        let cpu = &mut self.cpus[id];
        cpu.up = false;
        cpu.epoch += 1;
        cpu.next_crash = next_crash;
        cpu.free_pending = false;
        // Its connections close: each neighbour notices.
        for k in 0..self.topology.neighbours(id).len() {
            let j = self.topology.neighbours(id)[k];
            let epoch = self.cpus[j].epoch;
            self.push(self.now, Event::Link { node: j as u32, peer: id as u32, epoch, up: false });
        }
    }

    fn restart(&mut self, id: NodeId) {
        self.trace.record(self.now, id, "restart", &[]);
        let cpu = &mut self.cpus[id];
        cpu.up = true;
        cpu.busy_until = self.now;
        self.nodes[id].host.restart(self.now);
        self.finish(id, self.now, 0);
        // Both ends of every link learn it is back.
        for k in 0..self.topology.neighbours(id).len() {
            let j = self.topology.neighbours(id)[k];
            let (ei, ej) = (self.cpus[id].epoch, self.cpus[j].epoch);
            self.push(self.now, Event::Link { node: id as u32, peer: j as u32, epoch: ei, up: true });
            self.push(self.now, Event::Link { node: j as u32, peer: id as u32, epoch: ej, up: true });
        }
    }

    fn net_event(&mut self, i: usize) {
        let n = self.scenario.nodes;
        self.trace.record(self.now, usize::MAX, "network", &(i as u32).to_be_bytes());
        match self.scenario.events[i].clone() {
            NetEvent::Partition { groups, .. } => self.links.partition(n, &groups),
            NetEvent::OneWay { from, to, .. } => self.links.cut_one_way(&from, &to),
            NetEvent::Link { a, b, extra_ms, loss, .. } => self.links.degrade(a, b, millis(extra_ms), loss),
            NetEvent::Heal { .. } => {
                // Like TCP connections coming back: both ends learn the peer is reachable again.
                for (a, b) in self.links.heal(n) {
                    if self.topology.neighbours(a).contains(&b) {
                        let epoch = self.cpus[a].epoch;
                        self.push(self.now, Event::Link { node: a as u32, peer: b as u32, epoch, up: true });
                    }
                }
            }
        }
    }
}

/// `s` seconds as a time.
fn secs(s: f64) -> Time {
    Time::ZERO + Duration::try_from_secs_f64(s.max(0.0)).unwrap_or(Duration::MAX)
}
