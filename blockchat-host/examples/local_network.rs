//! Runs five hosts in one process on virtual time through a small workload of coin transfers
//! and messages, then prints the chain and the balances. No sockets, no clock, no threads: the
//! same output on every run.
//!
//! This is the smallest loop that can drive hosts: every frame arrives the instant it is sent,
//! in order, and time jumps to the next submission or the earliest timer. `blockchat-sim` is the
//! full driver (latency and bandwidth models, CPU costs, faults, metrics).
//!
//! `cargo run --release -p blockchat-host --example local_network`

use std::collections::VecDeque;

use blockchat_core::{
    Address, Genesis, NetworkParams, PeerMessage, Time, TxKind, TxRequest, UNITS_PER_BCC, Wallet, format_bcc,
};
use blockchat_host::seed::{self, Stream};
use blockchat_host::{Client, Effect, Host, Input, Settings};

const NODES: usize = 5;
const CAPACITY: usize = 5;
const STAKE_BCC: u64 = 10;
const ROUNDS: usize = 10;

/// Frames in flight: receiver, sender, message.
type Frames = VecDeque<(usize, Address, PeerMessage)>;

/// Sends what host `i` asked for. The chain lives in memory here, so there is nothing to store
/// before sending, and notices are not needed.
fn carry_out(hosts: &mut [Host], addrs: &[Address], i: usize, now: Time, frames: &mut Frames) {
    let mut effects = Vec::new();
    // Nothing else is waiting for this host's turn: send its batched transactions now.
    hosts[i].flush(now);
    let _ = hosts[i].drain(&mut effects);
    for effect in effects {
        if let Effect::Send { to, message, .. } = effect {
            let j = addrs.iter().position(|a| *a == to).expect("a member");
            frames.push_back((j, addrs[i], message));
        }
    }
}

fn main() {
    let params = NetworkParams::new(CAPACITY);
    let wallets: Vec<Wallet> = (0..NODES as u64).map(|i| Wallet::from_seed(1000 + i)).collect();
    let addrs: Vec<Address> = wallets.iter().map(|w| w.address()).collect();
    let genesis = Genesis::course(params, &addrs, STAKE_BCC * UNITS_PER_BCC).block().expect("valid genesis");
    let mut hosts: Vec<Host> = wallets
        .iter()
        .map(|w| {
            let client = Client::idle(seed::rng(0, Stream::Client));
            Host::new(Settings::new(&params), w.clone(), &genesis, Default::default(), addrs.clone(), client)
                .expect("host")
        })
        .collect();

    // The users' transactions, in time order.
    let texts = ["Don't panic.", "So long, and thanks for all the fish", "42", "Mostly harmless"];
    let mut submissions = VecDeque::new();
    for k in 0..ROUNDS {
        for i in 0..NODES {
            let receiver = addrs[(i + 1 + k % (NODES - 1)) % NODES];
            let kind = if k % 2 == 0 {
                TxKind::Message { text: texts[(i + k) % texts.len()].to_string() }
            } else {
                TxKind::Coins { amount: (k as u64 + 1) * UNITS_PER_BCC }
            };
            submissions.push_back((Time::from_millis(10 * k as u64 + i as u64), i, TxRequest { receiver, kind }));
        }
    }

    let mut now = Time::ZERO;
    let mut frames = Frames::new();
    let mut delivered = 0u64;
    for i in 0..NODES {
        for peer in addrs.iter().filter(|a| **a != addrs[i]) {
            hosts[i].handle(now, Input::LinkUp(*peer));
        }
        carry_out(&mut hosts, &addrs, i, now, &mut frames);
    }
    loop {
        while let Some((to, from, message)) = frames.pop_front() {
            hosts[to].handle(now, Input::Message { from, message });
            carry_out(&mut hosts, &addrs, to, now, &mut frames);
            delivered += 1;
        }
        let timer = hosts.iter().filter_map(|h| h.poll_timeout()).min();
        let submission = submissions.front().map(|(at, _, _)| *at);
        let Some(next) = [timer, submission].into_iter().flatten().min() else { break };
        now = now.max(next);
        if submission == Some(next) {
            let (_, i, request) = submissions.pop_front().expect("a submission");
            if let Err(error) = hosts[i].submit(now, request) {
                println!("node {i}: refused: {error}");
            }
            carry_out(&mut hosts, &addrs, i, now, &mut frames);
            continue;
        }
        for i in 0..NODES {
            if hosts[i].poll_timeout().is_some_and(|at| at <= now) {
                hosts[i].handle_timeout(now);
                carry_out(&mut hosts, &addrs, i, now, &mut frames);
            }
        }
    }

    let tip = hosts[0].node().chain().tip().hash();
    assert!(hosts.iter().all(|h| h.node().chain().tip().hash() == tip), "the nodes disagree");
    let node = hosts[0].node();
    let chain = node.chain();
    let id_of = |a: Address| addrs.iter().position(|x| *x == a);
    println!("BlockChat: {NODES} nodes, capacity {CAPACITY}, stake {STAKE_BCC} BCC each, {delivered} frames\n");
    println!("{:>5}  {:>9}  {:>9}  {:>5}  {:>3}  {:>10}", "block", "hash", "validator", "round", "txs", "fees (BCC)");
    for b in chain.blocks() {
        let validator = id_of(b.validator()).map_or("genesis".to_string(), |i| format!("node {i}"));
        println!(
            "{:>5}  {:>9}  {:>9}  {:>5}  {:>3}  {:>10}",
            b.index(),
            b.hash().short(),
            validator,
            b.round(),
            b.transactions().len(),
            format_bcc(b.fees())
        );
    }
    println!("\n{:>6}  {:>9}  {:>12}  {:>10}  {:>5}", "node", "address", "balance", "stake", "nonce");
    for (i, a) in addrs.iter().enumerate() {
        let account = node.ledger().account(a).copied().unwrap_or_default();
        println!(
            "{:>6}  {:>9}  {:>12}  {:>10}  {:>5}",
            format!("node {i}"),
            a.short(),
            format_bcc(account.balance),
            format_bcc(account.stake),
            account.next_nonce
        );
    }
    let committed: usize = chain.blocks()[1..].iter().map(|b| b.transactions().len()).sum();
    println!(
        "\nsupply {} BCC (conserved), {committed} transactions committed, {} pending, all {NODES} nodes agree on tip {}",
        format_bcc(node.ledger().total_supply()),
        node.mempool().len(),
        tip.short()
    );
}
