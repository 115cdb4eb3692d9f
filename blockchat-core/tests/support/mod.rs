//! A small deterministic driver for tests and the example: nodes on virtual time, a fixed
//! latency per message, timers, and switches to silence nodes or cut links. The real simulator
//! lives in `blockchat-sim`; this one only needs to be obviously correct.
#![allow(dead_code, missing_docs)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use blockchat_core::error::TxError;
use blockchat_core::node::{Origin, Timer};
use blockchat_core::{Address, Block, Genesis, Input, Node, NodeConfig, Output, PeerMessage, Time, TxRequest, Wallet};

#[derive(Debug)]
enum Event {
    Deliver { to: usize, from: usize, message: PeerMessage },
    Timer { node: usize, timer: Timer },
    Submit { node: usize, request: TxRequest },
    Connected { node: usize, peer: usize },
}

/// Every rejection a node reported, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub node: usize,
    pub origin: Origin,
    pub error: TxError,
}

pub struct Net {
    pub nodes: Vec<Node>,
    pub wallets: Vec<Wallet>,
    pub genesis: Block,
    index: BTreeMap<Address, usize>,
    queue: BTreeMap<(Time, u64), Event>,
    seq: u64,
    pub now: Time,
    pub latency: Duration,
    /// Per-node extra delay on everything it sends.
    pub slow: BTreeMap<usize, Duration>,
    /// Nodes whose outputs are dropped (a silent node).
    pub muted: BTreeSet<usize>,
    /// Directed links that drop messages.
    pub cut: BTreeSet<(usize, usize)>,
    pub rejections: Vec<Rejection>,
    pub block_rejections: usize,
    /// Blocks reverted by reorganisations, summed over nodes.
    pub reverted: usize,
    pub events: u64,
}

impl Net {
    /// `n` nodes with seeded wallets, the course genesis with `stake` units each.
    pub fn new(n: usize, config: NodeConfig, stake: u64) -> Net {
        let wallets: Vec<Wallet> = (0..n as u64).map(|i| Wallet::from_seed(1000 + i)).collect();
        let addrs: Vec<Address> = wallets.iter().map(|w| w.address()).collect();
        let genesis = Genesis::course(&addrs, stake).block().expect("valid genesis");
        Net::with_genesis(wallets, genesis, config)
    }

    pub fn with_genesis(wallets: Vec<Wallet>, genesis: Block, config: NodeConfig) -> Net {
        let nodes =
            wallets.iter().map(|w| Node::new(config, w.clone(), &genesis, Default::default()).expect("node")).collect();
        let index = wallets.iter().enumerate().map(|(i, w)| (w.address(), i)).collect();
        Net {
            nodes,
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
            rejections: Vec::new(),
            block_rejections: 0,
            reverted: 0,
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

    pub fn submit(&mut self, at: Time, node: usize, request: TxRequest) {
        self.push(at, Event::Submit { node, request });
    }

    pub fn connect(&mut self, at: Time, node: usize, peer: usize) {
        self.push(at, Event::Connected { node, peer });
    }

    /// Hands a message to `to` as if `from` had sent it.
    pub fn inject(&mut self, at: Time, from: usize, to: usize, message: PeerMessage) {
        self.push(at, Event::Deliver { to, from, message });
    }

    fn send(&mut self, from: usize, to: usize, message: PeerMessage) {
        if from == to || self.cut.contains(&(from, to)) {
            return;
        }
        let delay = self.latency + self.slow.get(&from).copied().unwrap_or_default();
        self.push(self.now + delay, Event::Deliver { to, from, message });
    }

    fn dispatch(&mut self, node: usize, outputs: Vec<Output>) {
        for out in outputs {
            match out {
                Output::Send { to, message } => {
                    if let Some(&to) = self.index.get(&to) {
                        if !self.muted.contains(&node) {
                            self.send(node, to, message);
                        }
                    }
                }
                Output::Broadcast { message, except } => {
                    if self.muted.contains(&node) {
                        continue;
                    }
                    for to in 0..self.nodes.len() {
                        if Some(self.address(to)) != except {
                            self.send(node, to, message.clone());
                        }
                    }
                }
                Output::SetTimer { timer, at } => self.push(at, Event::Timer { node, timer }),
                Output::TxRejected { origin, error, .. } => self.rejections.push(Rejection { node, origin, error }),
                Output::BlockRejected { .. } => self.block_rejections += 1,
                Output::Reverted(_) => self.reverted += 1,
                Output::Committed(_) | Output::TxAccepted(_) => {}
            }
        }
    }

    /// Runs the next event; false when none is left.
    pub fn step(&mut self) -> bool {
        let Some(((at, _), event)) = self.queue.pop_first() else {
            return false;
        };
        self.now = self.now.max(at);
        self.events += 1;
        let (node, input) = match event {
            Event::Deliver { to, from, message } => (to, Input::Peer { from: self.address(from), message }),
            Event::Timer { node, timer } => (node, Input::Timer(timer)),
            Event::Submit { node, request } => (node, Input::Submit(request)),
            Event::Connected { node, peer } => (node, Input::PeerConnected(self.address(peer))),
        };
        let step = self.nodes[node].handle(self.now, input);
        self.dispatch(node, step.outputs);
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
        which.into_iter().map(|i| (self.nodes[i].chain().height(), self.nodes[i].chain().tip().hash())).collect()
    }

    /// Asserts the nodes share one chain, conserve supply and keep balances above stakes.
    pub fn assert_agreement(&self, which: impl IntoIterator<Item = usize> + Clone) {
        let tips = self.tips(which.clone());
        assert!(tips.windows(2).all(|w| w[0] == w[1]), "nodes disagree: {tips:?}");
        for i in which {
            let ledger = self.nodes[i].ledger();
            let sum: u64 = ledger.accounts().map(|(_, a)| a.balance).sum();
            assert_eq!(sum, ledger.total_supply(), "node {i} changed the supply");
            assert!(ledger.accounts().all(|(_, a)| a.balance >= a.stake), "node {i}: balance below stake");
        }
    }

    /// Node `i`'s own account as node 0 sees it.
    pub fn ledger_account(&self, i: usize) -> blockchat_core::Account {
        self.nodes[0].ledger().account(&self.address(i)).copied().unwrap_or_default()
    }

    pub fn committed_transactions(&self, node: usize) -> usize {
        self.nodes[node].chain().blocks()[1..].iter().map(|b: &Arc<Block>| b.transactions().len()).sum()
    }
}
