//! Several hosts driven to agreement: normal runs, a silent validator, competing blocks,
//! catch-up after a cut, a late validator, and partial blocks.

mod support;

use std::sync::Arc;
use std::time::Duration;

use blockchat_core::{
    Address, Block, NetworkParams, PeerMessage, Time, Transaction, TxError, TxKind, TxRequest, UNITS_PER_BCC, Wallet,
};
use blockchat_host::Notice;
use support::Net;

const BCC: u64 = UNITS_PER_BCC;

fn coins(to: Address, bcc: u64) -> TxRequest {
    TxRequest { receiver: to, kind: TxKind::Coins { amount: bcc * BCC } }
}

fn message(to: Address, text: &str) -> TxRequest {
    TxRequest { receiver: to, kind: TxKind::Message { text: text.into() } }
}

/// `n` hosts of `stake` each, every link up at time 0.
fn connected(n: usize, params: NetworkParams, stake: u64) -> Net {
    let mut net = Net::new(n, params, stake, vec![]);
    net.connect_all(Time::ZERO);
    net
}

/// Blocks reverted by reorganisations, summed over nodes.
fn reverted(net: &Net) -> usize {
    net.log.notices.iter().filter(|(_, _, n)| matches!(n, Notice::Reverted(_))).count()
}

/// Every node sends `per_node` transactions round-robin to the others, 1 ms apart.
fn workload(net: &mut Net, per_node: usize) {
    let n = net.hosts.len();
    for k in 0..per_node {
        for i in 0..n {
            let to = net.address((i + 1 + k % (n - 1)) % n);
            let req = if k % 3 == 0 { message(to, "hello there") } else { coins(to, 1 + k as u64 % 7) };
            net.submit(Time::from_millis(k as u64), i, req);
        }
    }
}

#[test]
fn four_nodes_agree_and_commit_everything() {
    let mut net = connected(4, NetworkParams::new(5), 10 * BCC);
    workload(&mut net, 30);
    net.run();
    net.assert_agreement(0..4);
    // A validator's block leaves at once and its own transaction in it at the next flush, so
    // peers see that transaction after the block: a copy of a committed one, not a refusal.
    let copy = |e: &TxError| matches!(e, TxError::AlreadyCommitted { .. });
    let refused: Vec<_> = net
        .log
        .notices
        .iter()
        .filter(|(_, _, n)| match n {
            Notice::PeerTxRejected { error, .. } => !copy(error),
            Notice::OwnTxDropped { .. } | Notice::BlockRejected { .. } => true,
            _ => false,
        })
        .collect();
    assert!(refused.is_empty(), "{refused:?}");
    assert!(net.log.submitted.iter().all(|(_, _, v)| v.is_ok()), "{:?}", net.log.submitted);
    assert_eq!(net.committed_transactions(0), 120);
    let chain = net.hosts[0].node().chain();
    assert_eq!(chain.height(), 24);
    // Fees went to validators: somebody other than the senders' own balances changed.
    let validators: std::collections::BTreeSet<_> = chain.blocks()[1..].iter().map(|b| b.validator()).collect();
    assert!(validators.len() > 1, "the lottery picked one validator for 24 blocks");
    assert_eq!(net.hosts[0].node().ledger().total_supply(), 4_000 * BCC);
}

#[test]
fn same_inputs_give_the_same_chain() {
    let run = || {
        let mut net = connected(3, NetworkParams::new(4), 10 * BCC);
        workload(&mut net, 12);
        net.run();
        (net.tips(0..3), net.events)
    };
    assert_eq!(run(), run());
}

#[test]
fn overspending_and_unknown_receivers_are_rejected_locally() {
    let mut net = connected(3, NetworkParams::new(2), 10 * BCC);
    let stranger = Wallet::from_seed(5).address();
    net.submit(Time::ZERO, 0, coins(net.address(1), 2_000));
    net.submit(Time::ZERO, 0, coins(stranger, 1));
    net.submit(Time::ZERO, 0, TxRequest { receiver: net.address(1), kind: TxKind::Stake { amount: 1_001 * BCC } });
    net.run();
    let errors: Vec<TxError> = net.log.submitted.iter().filter_map(|(_, _, v)| v.clone().err()).collect();
    assert_eq!(
        errors,
        vec![
            TxError::InsufficientBalance { needed: 2_060 * BCC, available: 990 * BCC },
            TxError::UnknownReceiver { receiver: stranger },
            TxError::InsufficientBalance { needed: 1_001 * BCC, available: 1_000 * BCC },
        ]
    );
    assert!(!net.log.notices.iter().any(|(_, _, n)| matches!(n, Notice::PeerTxRejected { .. })));
}

#[test]
fn a_silent_validator_does_not_stop_the_chain() {
    let mut params = NetworkParams::new(3);
    params.round_timeout = Duration::from_millis(200);
    let mut net = connected(4, params, 10 * BCC);
    net.muted.insert(2);
    workload(&mut net, 24);
    net.run();
    net.assert_agreement([0, 1, 3]);
    let chain = net.hosts[0].node().chain();
    assert!(chain.height() >= 20, "height {}", chain.height());
    let silent = net.address(2);
    assert!(chain.blocks().iter().all(|b| b.validator() != silent));
    assert!(chain.blocks().iter().any(|b| b.round() > 0), "no fallback round was needed?");
    // Only the silent node's own transactions (never broadcast) are missing.
    assert_eq!(net.committed_transactions(0), 3 * 24);
}

#[test]
fn competing_blocks_at_one_height_settle_on_one() {
    // Capacity 1 and a single transaction: the chosen validator equivocates by hand.
    let mut net = connected(4, NetworkParams::new(1), 10 * BCC);
    let validator = net.hosts[0].node().chain().validator_for(0).unwrap();
    let v = (0..4).find(|&i| net.address(i) == validator).unwrap();
    let wallet = net.wallets[v].clone();
    let sender = (v + 1) % 4;
    let tx_a = Transaction::new_signed(&net.wallets[sender], net.address(v), TxKind::Coins { amount: BCC }, 0);
    let tx_b = Transaction::new_signed(&net.wallets[sender], net.address(v), TxKind::Coins { amount: 2 * BCC }, 0);
    let genesis = net.hosts[0].node().chain().tip().hash();
    let block = |tx: &Transaction| {
        Arc::new(Block::new_signed(&wallet, 1, Time::from_millis(1), 0, genesis, vec![Arc::new(tx.clone())]))
    };
    let (a, b) = (block(&tx_a), block(&tx_b));
    net.muted.insert(v);
    // Each honest node hears only one of the two blocks and no later block follows: only the
    // quiet-tip rebroadcast can bring the two halves together.
    for i in (0..4).filter(|&i| i != v) {
        let block = if i % 2 == 0 { &a } else { &b };
        net.inject(Time::from_millis(1), v, i, PeerMessage::Block(block.clone()));
    }
    net.run();
    let honest: Vec<usize> = (0..4).filter(|&i| i != v).collect();
    net.assert_agreement(honest.iter().copied());
    let winner = if a.hash() < b.hash() { &a } else { &b };
    assert!(reverted(&net) >= 1, "nobody switched blocks");
    assert_eq!(net.hosts[honest[0]].node().chain().tip().hash(), winner.hash(), "the lower hash wins a tie");
}

#[test]
fn a_cut_off_node_catches_up_when_reconnected() {
    let mut net = connected(4, NetworkParams::new(4), 10 * BCC);
    for other in 0..3 {
        net.cut.insert((other, 3));
        net.cut.insert((3, other));
    }
    for k in 0..20u64 {
        for i in 0..3 {
            let to = net.address((i + 1) % 3);
            net.submit(Time::from_millis(k), i, coins(to, 1));
        }
    }
    net.run();
    assert_eq!(net.hosts[3].node().chain().height(), 0);
    assert_eq!(net.hosts[0].node().chain().height(), 15);
    net.cut.clear();
    let t = net.now + Duration::from_millis(10);
    net.link(t, 3, 0, true);
    net.run();
    net.assert_agreement(0..4);
}

#[test]
fn a_late_round_zero_block_wins_over_the_fallback() {
    // The round-0 validator is slow; others time out and adopt a round-1 block, then the late
    // round-0 block arrives at the same height and wins (fewer rounds), so all converge on it.
    let mut params = NetworkParams::new(2);
    params.round_timeout = Duration::from_millis(50);
    let mut net = connected(5, params, 10 * BCC);
    let v0 = net.hosts[0].node().chain().validator_for(0).unwrap();
    let slow = (0..5).find(|&i| net.address(i) == v0).unwrap();
    net.slow.insert(slow, Duration::from_millis(300));
    let a = (slow + 1) % 5;
    let b = (slow + 2) % 5;
    net.submit(Time::ZERO, a, coins(net.address(b), 1));
    net.submit(Time::ZERO, b, coins(net.address(a), 1));
    net.run();
    net.assert_agreement(0..5);
    let tip = net.hosts[0].node().chain().tip();
    assert_eq!(tip.index(), 1);
    assert!(reverted(&net) >= 3, "the fallback block was never adopted and abandoned ({})", reverted(&net));
    assert_eq!(tip.round(), 0, "the on-time round wins the tie at equal height");
    assert_eq!(tip.validator(), v0);
}

#[test]
fn partial_blocks_flush_a_light_load() {
    let mut params = NetworkParams::new(10);
    params.max_block_interval = Some(Duration::from_millis(100));
    let mut net = connected(3, params, 10 * BCC);
    net.submit(Time::ZERO, 0, coins(net.address(1), 3));
    net.submit(Time::ZERO, 1, message(net.address(2), "hi"));
    net.run();
    net.assert_agreement(0..3);
    assert_eq!(net.committed_transactions(0), 2);
    let tip = net.hosts[0].node().chain().tip();
    // Nothing else arrives: the validator mints after the quiet interval, a quarter of 100 ms.
    let stamped = tip.timestamp();
    assert!(stamped >= Time::from_millis(25), "minted before the quiet interval: {stamped:?}");
    assert!(stamped < Time::from_millis(100), "waited the whole interval: {stamped:?}");
}

#[test]
fn without_partial_blocks_a_light_load_waits() {
    let mut net = connected(3, NetworkParams::new(10), 10 * BCC);
    net.submit(Time::ZERO, 0, coins(net.address(1), 3));
    net.run();
    assert_eq!(net.hosts[0].node().chain().height(), 0);
    assert_eq!(net.hosts[1].node().mempool().len(), 1);
}

#[test]
fn a_node_forked_below_its_tip_catches_up_after_reconnecting() {
    // Found by the simulator's fault suite. Node 3, cut off, is handed main blocks 2 and 3 (so
    // it holds them, waiting for block 1), then mints its own block 1 in a late round. When the
    // cut heals, its retries ask for blocks from its height + 1; the answer (2, 3) is all held
    // already and does not connect. It used to ask the same again for ever and stay forked; it
    // must ask from lower down.
    let mut params = NetworkParams::new(1);
    params.round_timeout = Duration::from_millis(100);
    let mut net = connected(4, params, 10 * BCC);
    for other in 0..3 {
        net.cut.insert((other, 3));
        net.cut.insert((3, other));
    }
    for k in 0..3u64 {
        net.submit(Time::from_millis(10 * k), (k % 3) as usize, coins(net.address(((k + 1) % 3) as usize), 1));
    }
    net.run_until(Time::from_millis(400));
    assert_eq!(net.hosts[0].node().chain().height(), 3);
    let main: Vec<Arc<Block>> = net.hosts[0].node().chain().blocks().to_vec();
    for b in &main[2..] {
        net.inject(Time::from_millis(500), 0, 3, PeerMessage::Block(b.clone()));
    }
    net.submit(Time::from_millis(1_000), 3, coins(net.address(0), 1));
    net.run_until(Time::from_millis(3_000));
    let node3 = net.hosts[3].node();
    assert_eq!(node3.chain().height(), 1, "node 3 minted its own block 1");
    assert_ne!(node3.chain().blocks()[1].hash(), main[1].hash());
    assert_eq!(node3.orphans(), 2);
    net.cut.clear();
    net.run_until(Time::from_millis(10_000));
    net.assert_agreement(0..4);
    assert_eq!(net.hosts[3].node().orphans(), 0);
}
