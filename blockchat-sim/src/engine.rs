//! The engine: a virtual clock, an event queue ordered by (time, sequence), and the loop that
//! hands inputs to nodes and carries out their outputs. No protocol logic lives here.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use blockchat_core::node::Origin;
use blockchat_core::{
    Address, Chain, Ed25519Check, Genesis, Input, Node, NodeConfig, Output, PeerMessage, Time, Timer, TxId, Wallet,
};
use rand_chacha::ChaCha8Rng;
use rustc_hash::FxHashMap;

use crate::SimError;
use crate::adversary::Adversary;
use crate::build;
use crate::cpu::CostModel;
use crate::crypto::{SimCheck, Verdicts};
use crate::links::Links;
use crate::metrics::Collector;
use crate::network::{NetworkModel, NodeId, lost};
use crate::queue::Queue;
use crate::report::Report;
use crate::scenario::{Fault, NetEvent, Scenario, Stop};
use crate::seed::{self, Stream};
use crate::topology::Topology;
use crate::trace::Trace;
use crate::workload::Feed;

#[derive(Debug)]
enum Event {
    // Node indices as u32 and the sender's address looked up on arrival keep queued events small.
    Deliver { to: u32, from: u32, epoch: u32, bytes: u32, message: PeerMessage },
    Timer { node: u32, epoch: u32, timer: Timer },
    Connected { node: u32, epoch: u32, peer: u32 },
    Submit { node: NodeId },
    // Boxed: an output is twice the size of every other event, and delayed emits are rare.
    Emit { node: NodeId, output: Box<Output> },
    Crash { node: NodeId },
    Restart { node: NodeId },
    Net(usize),
}

/// One simulated node.
struct SimNode {
    node: Node<SimCheck>,
    adversary: Option<Adversary>,
    awaiting: Option<TxId>,
    // Scheduled crash times still ahead, earliest last.
    crashes: Vec<Time>,
}

/// What every event needs to know about its node, kept dense (32 bytes a node) apart from the
/// node itself. Inputs are handled in arrival order, each starting when the previous one is
/// done (`busy_until`).
#[derive(Debug, Clone, Copy)]
struct Cpu {
    busy_until: Time,
    // The next scheduled crash (Time::MAX if none).
    next_crash: Time,
    epoch: u32,
    up: bool,
    honest: bool,
}

/// Progress of a running simulation, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Virtual time reached.
    pub now: Time,
    /// Honest submissions resolved.
    pub resolved: u64,
    /// Honest submissions planned.
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
    // Lookup only; its iteration order never matters.
    index: FxHashMap<Address, NodeId>,
    topology: Topology,
    network: Box<dyn NetworkModel>,
    links: Links,
    fifo: Option<FxHashMap<(NodeId, NodeId), Time>>,
    net_rng: ChaCha8Rng,
    workload_rng: ChaCha8Rng,
    cpu: CostModel,
    feeds: Vec<Feed>,
    verdicts: Option<Rc<RefCell<Verdicts>>>,
    metrics: Collector,
    trace: Trace,
    genesis: Genesis,
    remaining: u64,
    planned: u64,
    deadline: Option<Time>,
    // When the stop condition was met, and when an honest node last committed a block.
    stopped_at: Option<Time>,
    last_commit: Time,
    events: u64,
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
        let genesis = Genesis::with_stakes(addresses.iter().copied().zip(scenario.stakes_units()));
        let block = genesis.block().map_err(|e| SimError::Setup(e.to_string()))?;
        let mut config = NodeConfig::new(scenario.capacity);
        config.params = scenario.chain_params();
        config.tip_rebroadcast = Some(config.params.round_timeout);
        config.mempool_limit = scenario.mempool_limit;
        config.relay = matches!(scenario.topology, crate::scenario::Topology::Regular { .. });
        let verdicts = (!scenario.real_crypto).then(|| Rc::new(RefCell::new(Verdicts::default())));
        let withhold = 2 * config.params.round_timeout;
        // Validated once; every node starts from a copy.
        let chain = Chain::new(&block, config.params).map_err(|e| SimError::Setup(e.to_string()))?;
        let mut nodes = Vec::with_capacity(n);
        for w in &wallets {
            let check = match &verdicts {
                Some(v) => SimCheck::Shared(v.clone()),
                None => SimCheck::Real(Ed25519Check::new()),
            };
            let node = Node::with_chain(config, w.clone(), chain.clone(), check)
                .map_err(|e| SimError::Setup(e.to_string()))?;
            nodes.push(SimNode { node, adversary: None, awaiting: None, crashes: Vec::new() });
        }
        for f in &scenario.faults {
            match f {
                Fault::Byzantine { node, behaviour } => {
                    nodes[*node].adversary = Some(Adversary::new(*behaviour, wallets[*node].clone(), withhold));
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
            })
            .collect();
        let mut workload_rng = seed::rng(scenario.seed, Stream::Workload);
        let feeds = crate::workload::feeds(&scenario.workload, n, &mut workload_rng)?;
        let topology = build::topology(scenario)?;
        let network = build::network(scenario);
        // Link degradations add latency that can reorder a link, so they keep the book-keeping.
        let fifo = scenario.network.fifo && (!network.keeps_order() || !scenario.events.is_empty());
        let trace = Trace::new(trace_path).map_err(|e| SimError::Output(format!("trace file: {e}")))?;
        let honest = |i: usize| nodes[i].adversary.is_none();
        let planned: u64 = (0..n).filter(|&i| honest(i)).map(|i| feeds[i].total() as u64).sum();
        let mut sim = Simulation {
            index: addresses.iter().enumerate().map(|(i, a)| (*a, i)).collect(),
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
            workload_rng,
            cpu: match scenario.shared_cores {
                Some(cores) if cores < n => scenario.cpu.model().scaled(n as u64, cores as u64),
                _ => scenario.cpu.model(),
            },
            feeds,
            verdicts,
            metrics: Collector::default(),
            trace,
            genesis,
            remaining: planned,
            planned,
            deadline: None,
            stopped_at: None,
            last_commit: Time::ZERO,
            events: 0,
        };
        for i in 0..n {
            let gap = sim.feeds[i].gap(&mut sim.workload_rng);
            sim.push(Time::ZERO + gap, Event::Submit { node: i });
        }
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

    fn push(&mut self, at: Time, event: Event) {
        self.queue.push(at, event);
    }

    fn honest(&self, node: NodeId) -> bool {
        self.cpus[node].honest
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
        let trace = std::mem::replace(&mut self.trace, Trace::new(None).map_err(|e| SimError::Output(e.to_string()))?);
        let trace_digest = trace.finish().map_err(|e| SimError::Output(format!("trace file: {e}")))?;
        let honest_up: Vec<&Node<SimCheck>> =
            self.nodes.iter().zip(&self.cpus).filter(|(_, c)| c.honest && c.up).map(|(n, _)| &n.node).collect();
        Ok(Report::new(
            &self.scenario,
            &self.genesis,
            &self.addresses,
            &honest_up,
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
            if self.events % 65_536 == 0 {
                progress(self.progress());
            }
        }
    }

    /// Node `i`, for inspection between `advance` calls.
    pub fn node(&self, i: NodeId) -> &Node<SimCheck> {
        &self.nodes[i].node
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
                .is_some_and(|(n, _)| n.node.chain().height() >= count),
        }
    }

    fn step(&mut self, event: Event) {
        match event {
            Event::Deliver { to, from, epoch, bytes, message } => {
                let input = Input::Peer { from: self.addresses[from as usize], message };
                self.arrive(to as usize, epoch, input, bytes)
            }
            Event::Timer { node, epoch, timer } => self.arrive(node as usize, epoch, Input::Timer(timer), 0),
            Event::Connected { node, epoch, peer } => {
                self.arrive(node as usize, epoch, Input::PeerConnected(self.addresses[peer as usize]), 0)
            }
            Event::Submit { node } => self.submit(node),
            Event::Emit { node, output } => {
                self.trace.record(self.now, node, "emit", &[]);
                self.dispatch(node, *output, self.now);
            }
            Event::Crash { node } => self.crash(node),
            Event::Restart { node } => self.restart(node),
            Event::Net(i) => self.net_event(i),
        }
    }

    /// An input reaches node `id`: it runs when the node's CPU is free, unless the node is down
    /// or will have crashed by then (crash times are known in advance, so this is exact).
    fn arrive(&mut self, id: NodeId, epoch: u32, input: Input, bytes: u32) {
        let cpu = self.cpus[id];
        let start = self.now.max(cpu.busy_until);
        if !cpu.up || cpu.epoch != epoch || start >= cpu.next_crash {
            if matches!(input, Input::Peer { .. }) {
                self.metrics.messages_lost += 1;
            }
            return;
        }
        self.trace.record_input(self.now, id, &input);
        let step = self.nodes[id].node.handle(start, input);
        let done = start + self.cpu.cost(&step.work, bytes as usize);
        self.cpus[id].busy_until = done;
        if cpu.honest {
            if step.outputs.iter().any(|o| matches!(o, Output::Reverted(_))) {
                self.metrics.reorgs += 1;
            }
            for output in step.outputs {
                self.dispatch(id, output, done);
            }
            return;
        }
        let n = &mut self.nodes[id];
        let Some(adversary) = &mut n.adversary else { return };
        let peers: Vec<Address> = self.topology.neighbours(id).iter().map(|&j| self.addresses[j]).collect();
        for d in adversary.rewrite(&n.node, step.outputs, &peers) {
            if d.after.is_zero() {
                self.dispatch(id, d.output, done);
            } else {
                self.push(done + d.after, Event::Emit { node: id, output: Box::new(d.output) });
            }
        }
    }

    fn dispatch(&mut self, id: NodeId, output: Output, at: Time) {
        match output {
            Output::Send { to, message } => {
                if let Some(&j) = self.index.get(&to) {
                    let size = message.encoded_len();
                    self.transmit(id, j, message, size, at);
                }
            }
            Output::Broadcast { message, except } => {
                let size = message.encoded_len();
                for k in 0..self.topology.neighbours(id).len() {
                    let j = self.topology.neighbours(id)[k];
                    if Some(self.addresses[j]) != except {
                        self.transmit(id, j, message.clone(), size, at);
                    }
                }
            }
            Output::SetTimer { timer, at: fire } => {
                let epoch = self.cpus[id].epoch;
                self.push(fire.max(at), Event::Timer { node: id as u32, epoch, timer });
            }
            Output::Committed(block) => {
                let me = self.addresses[id];
                let before = self.metrics.resolved;
                let honest = self.honest(id);
                self.metrics.committed(id, &block, at, honest, |t| t.sender() == me);
                if honest {
                    self.remaining -= self.metrics.resolved - before;
                    self.last_commit = self.last_commit.max(at);
                }
                if let Some(awaited) = self.nodes[id].awaiting {
                    if block.transactions().iter().any(|t| t.id() == awaited) {
                        self.next_closed_loop(id, at);
                    }
                }
            }
            Output::Reverted(_) => {
                if self.honest(id) {
                    self.metrics.reverted_blocks += 1;
                }
            }
            Output::TxAccepted(tx) => {
                self.metrics.accepted(id, tx.id(), self.now);
                if self.feeds[id].closed_loop() {
                    self.nodes[id].awaiting = Some(tx.id());
                }
            }
            Output::TxRejected { id: tx, origin: Origin::Local, error } => {
                let before = self.metrics.resolved;
                self.metrics.rejected(tx, &error, self.now);
                if self.honest(id) {
                    self.remaining -= self.metrics.resolved - before;
                }
                let awaited = self.nodes[id].awaiting;
                if self.feeds[id].closed_loop() && (awaited.is_none() || awaited == Some(tx)) {
                    self.next_closed_loop(id, at);
                }
            }
            Output::TxRejected { origin: Origin::Peer(_), error, .. } => self.metrics.peer_rejected(&error),
            Output::BlockRejected { error, .. } => self.metrics.block_rejected(&error),
        }
    }

    fn next_closed_loop(&mut self, id: NodeId, at: Time) {
        self.nodes[id].awaiting = None;
        self.push(at, Event::Submit { node: id });
    }

    fn transmit(&mut self, from: NodeId, to: NodeId, message: PeerMessage, size: usize, at: Time) {
        self.metrics.sent(&message, size);
        if from == to || !self.links.allowed(from, to) {
            self.metrics.messages_lost += 1;
            return;
        }
        let Some(mut arrival) = self.network.delivery(from, to, size, at, &mut self.net_rng) else {
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
        if let Some(fifo) = &mut self.fifo {
            let last = fifo.entry((from, to)).or_insert(Time::ZERO);
            arrival = arrival.max(*last);
            *last = arrival;
        }
        let epoch = self.cpus[to].epoch;
        let event = Event::Deliver { to: to as u32, from: from as u32, epoch, bytes: size as u32, message };
        self.push(arrival, event);
    }

    fn submit(&mut self, id: NodeId) {
        let Some(request) = self.feeds[id].next(id, &self.addresses, &mut self.workload_rng) else {
            return;
        };
        if self.cpus[id].up {
            let epoch = self.cpus[id].epoch;
            self.arrive(id, epoch, Input::Submit(request), 0);
        } else {
            self.trace.record(self.now, id, "submit-lost", &[]);
            self.metrics.lost_to_crash += 1;
            if self.honest(id) {
                self.remaining -= 1;
            }
        }
        if !self.feeds[id].closed_loop() || !self.cpus[id].up {
            let gap = self.feeds[id].gap(&mut self.workload_rng);
            self.push(self.now + gap, Event::Submit { node: id });
        }
    }

    fn crash(&mut self, id: NodeId) {
        self.trace.record(self.now, id, "crash", &[]);
        let n = &mut self.nodes[id];
        n.crashes.pop();
        let next_crash = n.crashes.last().copied().unwrap_or(Time(u64::MAX));
        let cpu = &mut self.cpus[id];
        cpu.up = false;
        cpu.epoch += 1;
        cpu.next_crash = next_crash;
        let lost = self.metrics.lose_pending(id);
        if self.honest(id) {
            self.remaining -= lost;
        }
        if self.nodes[id].awaiting.take().is_some() {
            self.push(self.now, Event::Submit { node: id });
        }
    }

    fn restart(&mut self, id: NodeId) {
        self.trace.record(self.now, id, "restart", &[]);
        self.nodes[id].node.restart();
        let cpu = &mut self.cpus[id];
        cpu.up = true;
        cpu.busy_until = self.now;
        let epoch = cpu.epoch;
        for k in 0..self.topology.neighbours(id).len() {
            let peer = self.topology.neighbours(id)[k] as u32;
            self.push(self.now, Event::Connected { node: id as u32, epoch, peer });
        }
    }

    fn net_event(&mut self, i: usize) {
        let n = self.scenario.nodes;
        self.trace.record(self.now, usize::MAX, "network", &(i as u32).to_be_bytes());
        match self.scenario.events[i].clone() {
            NetEvent::Partition { groups, .. } => self.links.partition(n, &groups),
            NetEvent::OneWay { from, to, .. } => self.links.cut_one_way(&from, &to),
            NetEvent::Link { a, b, extra_ms, loss, .. } => {
                self.links.degrade(a, b, crate::network::millis(extra_ms), loss)
            }
            NetEvent::Heal { .. } => {
                // Like TCP connections coming back: both ends learn the peer is reachable again.
                for (a, b) in self.links.heal(n) {
                    if self.topology.neighbours(a).contains(&b) {
                        let epoch = self.cpus[a].epoch;
                        self.push(self.now, Event::Connected { node: a as u32, epoch, peer: b as u32 });
                    }
                }
            }
        }
    }
}

/// `s` seconds as a time.
fn secs(s: f64) -> Time {
    Time::ZERO + Duration::from_secs_f64(s.max(0.0))
}
