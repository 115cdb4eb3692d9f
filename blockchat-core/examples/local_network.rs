//! Runs five in-process nodes on virtual time through a small workload of coin transfers and
//! messages, then prints the chain and the balances. No sockets, no clock, no threads: the same
//! output on every run.
//!
//! `cargo run --release -p blockchat-core --example local_network`

#[path = "../tests/support/mod.rs"]
mod support;

use blockchat_core::{NodeConfig, Time, TxKind, TxRequest, UNITS_PER_BCC, format_bcc};
use support::Net;

const NODES: usize = 5;
const CAPACITY: usize = 5;
const STAKE_BCC: u64 = 10;
const ROUNDS: usize = 10;

fn main() {
    let mut net = Net::new(NODES, NodeConfig::new(CAPACITY), STAKE_BCC * UNITS_PER_BCC);
    let texts = ["Don't panic.", "So long, and thanks for all the fish", "42", "Mostly harmless"];
    for k in 0..ROUNDS {
        for i in 0..NODES {
            let to = net.address((i + 1 + k % (NODES - 1)) % NODES);
            let kind = if k % 2 == 0 {
                TxKind::Message { text: texts[(i + k) % texts.len()].to_string() }
            } else {
                TxKind::Coins { amount: (k as u64 + 1) * UNITS_PER_BCC }
            };
            net.submit(Time::from_millis(10 * k as u64 + i as u64), i, TxRequest { receiver: to, kind });
        }
    }
    let events = net.run();
    net.assert_agreement(0..NODES);

    let id_of = |a: blockchat_core::Address| (0..NODES).find(|&i| net.address(i) == a);
    let chain = net.nodes[0].chain();
    println!("BlockChat: {NODES} nodes, capacity {CAPACITY}, stake {STAKE_BCC} BCC each, {events} events\n");
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
    for i in 0..NODES {
        let a = net.ledger_account(i);
        println!(
            "{:>6}  {:>9}  {:>12}  {:>10}  {:>5}",
            format!("node {i}"),
            net.address(i).short(),
            format_bcc(a.balance),
            format_bcc(a.stake),
            a.next_nonce
        );
    }
    let ledger = net.nodes[0].ledger();
    let pending = net.nodes[0].mempool().len();
    println!(
        "\nsupply {} BCC (conserved), {} transactions committed, {pending} pending, all {NODES} nodes agree on tip {}",
        format_bcc(ledger.total_supply()),
        net.committed_transactions(0),
        chain.tip().hash().short()
    );
}
