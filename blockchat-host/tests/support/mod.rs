//! A small deterministic driver for tests: hosts on virtual time, a fixed latency per frame,
//! links that come up when the test says, and switches to silence nodes or cut links. The real
//! simulator (with CPU and network models) is `blockchat-sim`; this one only needs to be
//! obviously correct.
#![allow(dead_code, missing_docs)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use blockchat_core::error::TxError;
use blockchat_core::{Address, Block, Genesis, NetworkParams, PeerMessage, Time, TxId, TxRequest, Wallet};
use blockchat_host::seed::{self, Stream};
use blockchat_host::{Client, Effect, Host, Input, Notice, Pace, Persist, Plan, Settings};

#[derive(Debug)]
enum Event {
    Deliver { to: usize, from: usize, message: PeerMessage },
    Link { node: usize, peer: usize, up: bool },
    Wake { node: usize },
    Submit { node: usize, request: TxRequest },
}

/// Everything the hosts asked for, for assertions.
#[derive(Debug, Default)]
pub struct Log {
    /// Per node, in order: what it persisted and sent, as short strings (`append 3`,
    /// `send block 3 to 1`, `send txs 2 to 0`, …).
    pub effects: BTreeMap<usize, Vec<String>>,
    /// Every notice: node, when, what.
    pub notices: Vec<(usize, Time, Notice)>,
    /// Every verdict on a user's submission: node, when, the transaction's id or why not.
    pub submitted: Vec<(usize, Time, Result<TxId, TxError>)>,
}

/// Random delay and loss on every frame, reproducible from `rng`.
pub struct Faults {
    pub rng: rand_chacha::ChaCha8Rng,
    pub max_jitter: Duration,
    pub loss_per_mille: u64,
}

pub struct Net {
    pub hosts: Vec<Host>,
    pub wallets: Vec<Wallet>,
    pub genesis: Block,
    index: BTreeMap<Address, usize>,
    queue: BTreeMap<(Time, u64), Event>,
    seq: u64,
    pub now: Time,
    pub latency: Duration,
    /// Per-node extra delay on everything it sends.
    pub slow: BTreeMap<usize, Duration>,
    /// Nodes whose frames are dropped (a silent node).
    pub muted: BTreeSet<usize>,
    /// Directed links that drop frames.
    pub cut: BTreeSet<(usize, usize)>,
    /// Faults on every frame, drawn from a seeded generator: up to this much extra delay
    /// (frames overtake each other) and this many frames in a thousand lost.
    pub faults: Option<Faults>,
    wakes: Vec<Option<Time>>,
    pub log: Log,
    pub events: u64,
}

impl Net {
    /// `n` nodes on a network of `params`, `stake` units each, clients from `plans`, links
    /// not up yet (call [`Net::connect_all`] or [`Net::link`]).
    pub fn new(n: usize, params: NetworkParams, stake: u64, plans: Vec<(Plan, Pace)>) -> Net {
        Net::with_settings(&vec![stake; n], params, plans, Settings::new(&params))
    }

    /// One node per stake, with the test's settings.
    pub fn with_settings(
        stakes: &[u64],
        params: NetworkParams,
        mut plans: Vec<(Plan, Pace)>,
        settings: Settings,
    ) -> Net {
        let n = stakes.len();
        let wallets: Vec<Wallet> = (0..n as u64).map(|i| Wallet::from_seed(1000 + i)).collect();
        let addrs: Vec<Address> = wallets.iter().map(|w| w.address()).collect();
        let genesis = Genesis::with_stakes(params, addrs.iter().copied().zip(stakes.iter().copied()))
            .block()
            .expect("valid genesis");
        plans.resize_with(n, || (Plan::Nothing, Pace::Burst));
        let members: Arc<[Address]> = addrs.clone().into();
        let hosts = wallets
            .iter()
            .zip(plans)
            .enumerate()
            .map(|(i, (w, (plan, pace)))| {
                let client = Client::new(plan, pace, seed::rng_for(7, Stream::Client, i as u64), i, members.clone())
                    .expect("client");
                let peers = addrs.iter().copied().filter(|a| *a != w.address()).collect();
                Host::new(settings, w.clone(), &genesis, Default::default(), peers, client).expect("host")
            })
            .collect();
        let index = addrs.iter().enumerate().map(|(i, a)| (*a, i)).collect();
        Net {
            hosts,
            wallets,
            genesis,
            index,
            queue: BTreeMap::new(),
            seq: 0,
            now: Time::ZERO,
            latency: Duration::from_millis(1),
            slow: BTreeMap::new(),
            muted: BTreeSet::new(),
            cut: BTreeSet::new(),
            faults: None,
            wakes: vec![None; n],
            log: Log::default(),
            events: 0,
        }
    }

    pub fn address(&self, i: usize) -> Address {
        self.wallets[i].address()
    }

    fn push(&mut self, at: Time, event: Event) {
        self.queue.insert((at, self.seq), event);
        self.seq += 1;
    }

    /// `node` learns at `at` that its link to `peer` is up (or down).
    pub fn link(&mut self, at: Time, node: usize, peer: usize, up: bool) {
        self.push(at, Event::Link { node, peer, up });
    }

    /// Every link comes up at `at`, both ends.
    pub fn connect_all(&mut self, at: Time) {
        let n = self.hosts.len();
        for i in 0..n {
            for j in 0..n {
                if i != j {
                    self.link(at, i, j, true);
                }
            }
        }
    }

    /// The user of `node` submits `request` at `at`.
    pub fn submit(&mut self, at: Time, node: usize, request: TxRequest) {
        self.push(at, Event::Submit { node, request });
    }

    /// Hands a message to `to` as if `from` had sent it.
    pub fn inject(&mut self, at: Time, from: usize, to: usize, message: PeerMessage) {
        self.push(at, Event::Deliver { to, from, message });
    }

    fn carry_out(&mut self, node: usize) {
        let mut effects = Vec::new();
        let _ = self.hosts[node].drain(&mut effects);
        // The driver flushes whenever it has handled an input: this one has no queue.
        self.hosts[node].flush(self.now);
        let _ = self.hosts[node].drain(&mut effects);
        for effect in effects {
            match effect {
                Effect::Persist(Persist::Append(b)) => self.note(node, format!("append {}", b.index())),
                Effect::Persist(Persist::TruncateFrom(h)) => self.note(node, format!("truncate {h}")),
                Effect::Send { to, message, .. } => {
                    let Some(&j) = self.index.get(&to) else { continue };
                    self.note(node, format!("send {} to {j}", describe(&message)));
                    if self.muted.contains(&node) || self.cut.contains(&(node, j)) {
                        continue;
                    }
                    let mut delay = self.latency + self.slow.get(&node).copied().unwrap_or_default();
                    if let Some(f) = &mut self.faults {
                        use rand_core::Rng;
                        if f.rng.next_u64() % 1000 < f.loss_per_mille {
                            continue;
                        }
                        let jitter = f.max_jitter.as_nanos() as u64;
                        delay += Duration::from_nanos(if jitter == 0 { 0 } else { f.rng.next_u64() % jitter });
                    }
                    self.push(self.now + delay, Event::Deliver { to: j, from: node, message });
                }
                Effect::Notify(n) => self.log.notices.push((node, self.now, *n)),
            }
        }
        if let Some(at) = self.hosts[node].poll_timeout() {
            let at = at.max(self.now);
            if self.wakes[node].is_none_or(|w| at < w) {
                self.wakes[node] = Some(at);
                self.push(at, Event::Wake { node });
            }
        }
    }

    fn note(&mut self, node: usize, what: String) {
        self.log.effects.entry(node).or_default().push(what);
    }

    /// Runs the next event; false when none is left.
    pub fn step(&mut self) -> bool {
        let Some(((at, _), event)) = self.queue.pop_first() else {
            return false;
        };
        self.now = self.now.max(at);
        self.events += 1;
        let node = match event {
            Event::Deliver { to, from, message } => {
                let from = self.address(from);
                self.hosts[to].handle(self.now, Input::Message { from, message });
                to
            }
            Event::Link { node, peer, up } => {
                let peer = self.address(peer);
                self.hosts[node].handle(self.now, if up { Input::LinkUp(peer) } else { Input::LinkDown(peer) });
                node
            }
            Event::Wake { node } => {
                if self.wakes[node] != Some(self.now) {
                    return true;
                }
                self.wakes[node] = None;
                self.hosts[node].handle_timeout(self.now);
                node
            }
            Event::Submit { node, request } => {
                let verdict = self.hosts[node].submit(self.now, request).map(|tx| tx.id());
                self.log.submitted.push((node, self.now, verdict));
                node
            }
        };
        self.carry_out(node);
        true
    }

    /// Runs until nothing is left or `limit` is reached; returns the events run.
    pub fn run_until(&mut self, limit: Time) -> u64 {
        let start = self.events;
        while let Some((&(at, _), _)) = self.queue.first_key_value() {
            if at > limit {
                break;
            }
            self.step();
        }
        self.events - start
    }

    pub fn run(&mut self) -> u64 {
        self.run_until(Time(u64::MAX))
    }

    /// The tips of the given nodes' chains.
    pub fn tips(&self, which: impl IntoIterator<Item = usize>) -> Vec<(u64, blockchat_core::BlockHash)> {
        which
            .into_iter()
            .map(|i| (self.hosts[i].node().chain().height(), self.hosts[i].node().chain().tip().hash()))
            .collect()
    }

    /// Asserts the nodes share one chain, conserve supply and keep balances above stakes.
    pub fn assert_agreement(&self, which: impl IntoIterator<Item = usize> + Clone) {
        let tips = self.tips(which.clone());
        assert!(tips.windows(2).all(|w| w[0] == w[1]), "nodes disagree: {tips:?}");
        for i in which {
            let ledger = self.hosts[i].node().ledger();
            let sum: u64 = ledger.accounts().map(|(_, a)| a.balance).sum();
            assert_eq!(sum, ledger.total_supply(), "node {i} changed the supply");
            assert!(ledger.accounts().all(|(_, a)| a.balance >= a.stake), "node {i}: balance below stake");
        }
    }

    pub fn committed_transactions(&self, node: usize) -> usize {
        self.hosts[node].node().chain().blocks()[1..].iter().map(|b: &Arc<Block>| b.transactions().len()).sum()
    }

    /// The notices of `node`, with their times.
    pub fn notices(&self, node: usize) -> impl Iterator<Item = (Time, &Notice)> {
        self.log.notices.iter().filter(move |(n, _, _)| *n == node).map(|(_, t, n)| (*t, n))
    }
}

/// A frame in a few words: `block 3`, `txs 2`, `tx`, `get 4`, `blocks 2`.
pub fn describe(message: &PeerMessage) -> String {
    match message {
        PeerMessage::Transaction(_) => "tx".into(),
        PeerMessage::Transactions(t) => format!("txs {}", t.len()),
        PeerMessage::Block(b) => format!("block {}", b.index()),
        PeerMessage::Blocks(b) => format!("blocks {}", b.len()),
        PeerMessage::GetBlocks { from } => format!("get {from}"),
    }
}
