//! Several nodes driven to agreement: normal runs, a silent validator, competing blocks,
//! catch-up after a cut, a late validator, and partial blocks.

mod support;

use std::sync::Arc;
use std::time::Duration;

use blockchat_core::node::Origin;
use blockchat_core::{Block, NodeConfig, PeerMessage, Time, TxError, TxKind, TxRequest, UNITS_PER_BCC};
use support::Net;

const BCC: u64 = UNITS_PER_BCC;

fn coins(to: blockchat_core::Address, bcc: u64) -> TxRequest {
    TxRequest { receiver: to, kind: TxKind::Coins { amount: bcc * BCC } }
}

fn message(to: blockchat_core::Address, text: &str) -> TxRequest {
    TxRequest { receiver: to, kind: TxKind::Message { text: text.into() } }
}

/// Every node sends `per_node` transactions round-robin to the others, 1 ms apart.
fn workload(net: &mut Net, per_node: usize) {
    let n = net.nodes.len();
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
    let mut net = Net::new(4, NodeConfig::new(5), 10 * BCC);
    workload(&mut net, 30);
    net.run();
    net.assert_agreement(0..4);
    assert!(net.rejections.is_empty(), "{:?}", net.rejections);
    assert_eq!(net.committed_transactions(0), 120);
    assert_eq!(net.nodes[0].chain().height(), 24);
    // Fees went to validators: somebody other than the senders' own balances changed.
    let ledger = net.nodes[0].ledger();
    let validators: std::collections::BTreeSet<_> =
        net.nodes[0].chain().blocks()[1..].iter().map(|b| b.validator()).collect();
    assert!(validators.len() > 1, "the lottery picked one validator for 24 blocks");
    assert_eq!(ledger.total_supply(), 4_000 * BCC);
}

#[test]
fn same_inputs_give_the_same_chain() {
    let run = || {
        let mut net = Net::new(3, NodeConfig::new(4), 10 * BCC);
        workload(&mut net, 12);
        net.run();
        (net.tips(0..3), net.events)
    };
    assert_eq!(run(), run());
}

#[test]
fn overspending_and_unknown_receivers_are_rejected_locally() {
    let mut net = Net::new(3, NodeConfig::new(2), 10 * BCC);
    let stranger = blockchat_core::Wallet::from_seed(5).address();
    net.submit(Time::ZERO, 0, coins(net.address(1), 2_000));
    net.submit(Time::ZERO, 0, coins(stranger, 1));
    net.submit(Time::ZERO, 0, TxRequest { receiver: net.address(1), kind: TxKind::Stake { amount: 1_001 * BCC } });
    net.run();
    let errors: Vec<TxError> = net.rejections.iter().map(|r| r.error.clone()).collect();
    assert_eq!(
        errors,
        vec![
            TxError::InsufficientBalance { needed: 2_060 * BCC, available: 990 * BCC },
            TxError::UnknownReceiver { receiver: stranger },
            TxError::InsufficientBalance { needed: 1_001 * BCC, available: 1_000 * BCC },
        ]
    );
    assert!(net.rejections.iter().all(|r| r.origin == Origin::Local));
}

#[test]
fn a_silent_validator_does_not_stop_the_chain() {
    let mut config = NodeConfig::new(3);
    config.params.round_timeout = Duration::from_millis(200);
    let mut net = Net::new(4, config, 10 * BCC);
    net.muted.insert(2);
    workload(&mut net, 24);
    net.run();
    net.assert_agreement([0, 1, 3]);
    let chain = net.nodes[0].chain();
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
    let mut net = Net::new(4, NodeConfig::new(1), 10 * BCC);
    let validator = net.nodes[0].chain().validator_for(0).unwrap();
    let v = (0..4).find(|&i| net.address(i) == validator).unwrap();
    let wallet = net.wallets[v].clone();
    let sender = (v + 1) % 4;
    let tx_a =
        blockchat_core::Transaction::new_signed(&net.wallets[sender], net.address(v), TxKind::Coins { amount: BCC }, 0);
    let tx_b = blockchat_core::Transaction::new_signed(
        &net.wallets[sender],
        net.address(v),
        TxKind::Coins { amount: 2 * BCC },
        0,
    );
    let genesis = net.nodes[0].chain().tip().hash();
    let block = |tx: &blockchat_core::Transaction| {
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
    assert!(net.reverted >= 1, "nobody switched blocks");
    assert_eq!(net.nodes[honest[0]].chain().tip().hash(), winner.hash(), "the lower hash wins a tie");
}

#[test]
fn a_cut_off_node_catches_up_when_reconnected() {
    let mut net = Net::new(4, NodeConfig::new(4), 10 * BCC);
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
    assert_eq!(net.nodes[3].chain().height(), 0);
    let height = net.nodes[0].chain().height();
    assert_eq!(height, 15);
    net.cut.clear();
    let t = net.now + Duration::from_millis(10);
    net.connect(t, 3, 0);
    net.run();
    net.assert_agreement(0..4);
}

#[test]
fn a_late_round_zero_block_wins_over_the_fallback() {
    // The round-0 validator is slow; others time out and adopt a round-1 block, then the late
    // round-0 block arrives at the same height and wins (fewer rounds), so all converge on it.
    let mut config = NodeConfig::new(2);
    config.params.round_timeout = Duration::from_millis(50);
    let mut net = Net::new(5, config, 10 * BCC);
    let v0 = net.nodes[0].chain().validator_for(0).unwrap();
    let slow = (0..5).find(|&i| net.address(i) == v0).unwrap();
    net.slow.insert(slow, Duration::from_millis(300));
    let a = (slow + 1) % 5;
    let b = (slow + 2) % 5;
    net.submit(Time::ZERO, a, coins(net.address(b), 1));
    net.submit(Time::ZERO, b, coins(net.address(a), 1));
    net.run();
    net.assert_agreement(0..5);
    let tip = net.nodes[0].chain().tip();
    assert_eq!(tip.index(), 1);
    assert!(net.reverted >= 3, "the fallback block was never adopted and abandoned ({})", net.reverted);
    assert_eq!(tip.round(), 0, "the on-time round wins the tie at equal height");
    assert_eq!(tip.validator(), v0);
}

#[test]
fn partial_blocks_flush_a_light_load() {
    let mut config = NodeConfig::new(10);
    config.params.max_block_interval = Some(Duration::from_millis(100));
    let mut net = Net::new(3, config, 10 * BCC);
    net.submit(Time::ZERO, 0, coins(net.address(1), 3));
    net.submit(Time::ZERO, 1, message(net.address(2), "hi"));
    net.run();
    net.assert_agreement(0..3);
    assert_eq!(net.committed_transactions(0), 2);
    let tip = net.nodes[0].chain().tip();
    assert!(tip.timestamp() >= Time::from_millis(100), "minted before the interval: {:?}", tip.timestamp());
}

#[test]
fn without_partial_blocks_a_light_load_waits() {
    let mut net = Net::new(3, NodeConfig::new(10), 10 * BCC);
    net.submit(Time::ZERO, 0, coins(net.address(1), 3));
    net.run();
    assert_eq!(net.nodes[0].chain().height(), 0);
    assert_eq!(net.nodes[1].mempool().len(), 1);
}

#[test]
fn a_node_forked_below_its_tip_catches_up_after_reconnecting() {
    // Found by the simulator's fault suite. Node 3, cut off, is handed main blocks 2 and 3 (so
    // it holds them, waiting for block 1), then mints its own block 1 in a late round. When the
    // cut heals, its retries ask for blocks from its height + 1; the answer (2, 3) is all held
    // already and does not connect. It used to ask the same again for ever and stay forked; it
    // must ask from lower down.
    let mut config = NodeConfig::new(1);
    config.params.round_timeout = Duration::from_millis(100);
    let mut net = Net::new(4, config, 10 * BCC);
    for other in 0..3 {
        net.cut.insert((other, 3));
        net.cut.insert((3, other));
    }
    for k in 0..3u64 {
        net.submit(Time::from_millis(10 * k), (k % 3) as usize, coins(net.address(((k + 1) % 3) as usize), 1));
    }
    net.run_until(Time::from_millis(400));
    assert_eq!(net.nodes[0].chain().height(), 3);
    let main: Vec<Arc<Block>> = net.nodes[0].chain().blocks().to_vec();
    for b in &main[2..] {
        net.inject(Time::from_millis(500), 0, 3, PeerMessage::Block(b.clone()));
    }
    net.submit(Time::from_millis(1_000), 3, coins(net.address(0), 1));
    net.run_until(Time::from_millis(3_000));
    assert_eq!(net.nodes[3].chain().height(), 1, "node 3 minted its own block 1");
    assert_ne!(net.nodes[3].chain().blocks()[1].hash(), main[1].hash());
    assert_eq!(net.nodes[3].orphans(), 2);
    net.cut.clear();
    net.run_until(Time::from_millis(10_000));
    net.assert_agreement(0..4);
    assert_eq!(net.nodes[3].orphans(), 0);
}
