//! One node fed crafted inputs: every invalid block and peer transaction is rejected with the
//! right error, batches are verified, and a stored chain reloads.

use std::sync::Arc;

use blockchat_core::error::{BlockError, TxError};
use blockchat_core::node::Origin;
use blockchat_core::work::Work;
use blockchat_core::{
    Address, Block, Chain, Ed25519Check, Genesis, Input, NetworkParams, Node, NodeConfig, Output, PeerMessage,
    Signature, Time, Transaction, TxKind, UNITS_PER_BCC, Wallet,
};

const BCC: u64 = UNITS_PER_BCC;
/// The receiving node's clock in the block tables: 1000 s.
const NOW: u64 = 1_000_000_000_000;

struct Fixture {
    wallets: Vec<Wallet>,
    genesis: Block,
    node: Node,
}

/// Four wallets; the node under test is wallet 0; capacity 2.
fn fixture() -> Fixture {
    let wallets: Vec<Wallet> = (0..4).map(|i| Wallet::from_seed(70 + i)).collect();
    let addrs: Vec<Address> = wallets.iter().map(|w| w.address()).collect();
    let params = NetworkParams::new(2);
    let genesis = Genesis::course(params, &addrs, 10 * BCC).block().unwrap();
    let node = Node::new(NodeConfig::new(&params), wallets[0].clone(), &genesis, Ed25519Check::new()).unwrap();
    Fixture { wallets, genesis, node }
}

fn tx(from: &Wallet, to: &Wallet, bcc: u64, nonce: u64) -> Arc<Transaction> {
    Arc::new(Transaction::new_signed(from, to.address(), TxKind::Coins { amount: bcc * BCC }, nonce))
}

fn block_errors(outputs: &[Output]) -> Vec<BlockError> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::BlockRejected { error, .. } => Some((**error).clone()),
            _ => None,
        })
        .collect()
}

fn tx_errors(outputs: &[Output]) -> Vec<TxError> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::TxRejected { error, .. } => Some(error.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn invalid_blocks_table() {
    let f = fixture();
    let parent = f.genesis.hash();
    let chosen = f.node.chain().validator_for(0).unwrap();
    let v = f.wallets.iter().find(|w| w.address() == chosen).unwrap();
    let other = f.wallets.iter().find(|w| w.address() != chosen && w.address() != f.wallets[0].address()).unwrap();
    let (a, b) = (&f.wallets[1], &f.wallets[2]);
    let good = vec![tx(a, b, 1, 0), tx(b, a, 1, 0)];
    let signed =
        |w: &Wallet, index, ts, round, prev, txs| Arc::new(Block::new_signed(w, index, Time(ts), round, prev, txs));
    let forged_sig = Arc::new(Block::from_parts(1, Time(5), 0, chosen, parent, good.clone(), Signature([7; 64])));
    let forged_tx = Arc::new(Transaction::from_parts(
        a.address(),
        b.address(),
        TxKind::Coins { amount: BCC },
        0,
        Signature([3; 64]),
    ));
    let wrong_round = (1..50).find(|&r| f.node.chain().validator_for(r) != Some(chosen)).unwrap();
    // A round-r block may not be stamped before r round timeouts (2 s each) after its parent.
    let late = |round: u32| u64::from(round) * 2_000_000_000 + 5;
    let cases: Vec<(&str, Arc<Block>, BlockError)> = vec![
        (
            "wrong validator",
            signed(other, 1, 5, 0, parent, good.clone()),
            BlockError::WrongValidator { round: 0, expected: chosen, got: other.address() },
        ),
        (
            "validator of another round",
            signed(v, 1, late(wrong_round), wrong_round, parent, good.clone()),
            BlockError::WrongValidator {
                round: wrong_round,
                expected: f.node.chain().validator_for(wrong_round).unwrap(),
                got: chosen,
            },
        ),
        ("forged block signature", forged_sig, BlockError::BadSignature),
        (
            "a later round minted before its time",
            signed(v, 1, 5, 1, parent, good.clone()),
            BlockError::RoundTooEarly { round: 1, earliest: 2_000_000_000, got: 5 },
        ),
        (
            "timestamp beyond the clock drift",
            signed(v, 1, NOW + 5_000_000_001, 0, parent, good.clone()),
            BlockError::FromTheFuture { timestamp: NOW + 5_000_000_001, now: NOW },
        ),
        ("wrong index", signed(v, 2, 5, 0, parent, good.clone()), BlockError::WrongIndex { expected: 1, got: 2 }),
        (
            "too few transactions",
            signed(v, 1, 5, 0, parent, good[..1].to_vec()),
            BlockError::WrongSize { min: 2, max: 2, got: 1 },
        ),
        (
            "too many transactions",
            signed(v, 1, 5, 0, parent, vec![good[0].clone(), good[1].clone(), tx(a, b, 1, 1)]),
            BlockError::WrongSize { min: 2, max: 2, got: 3 },
        ),
        (
            "overspend inside",
            signed(v, 1, 5, 0, parent, vec![good[0].clone(), tx(b, a, 2_000, 0)]),
            BlockError::InvalidTransaction {
                position: 1,
                id: tx(b, a, 2_000, 0).id(),
                // b already received 1 BCC from the transaction before it in the block.
                error: TxError::InsufficientBalance { needed: 2_060 * BCC, available: 991 * BCC },
            },
        ),
        (
            "replayed nonce inside",
            signed(v, 1, 5, 0, parent, vec![good[0].clone(), good[0].clone()]),
            BlockError::InvalidTransaction {
                position: 1,
                id: good[0].id(),
                error: TxError::BadNonce { expected: 1, got: 0 },
            },
        ),
        (
            "forged transaction signature",
            signed(v, 1, 5, 0, parent, vec![good[1].clone(), forged_tx.clone()]),
            BlockError::InvalidTransaction { position: 1, id: forged_tx.id(), error: TxError::BadSignature },
        ),
    ];
    for (name, block, want) in cases {
        let mut node = fixture().node;
        let step = node.handle(Time(NOW), Input::Peer { from: v.address(), message: PeerMessage::Block(block) });
        assert_eq!(block_errors(&step.outputs), vec![want], "{name}");
        assert_eq!(node.chain().height(), 0, "{name}");
    }

    // Timestamps may not go backwards: build block 1 at t=5, then block 2 at t=4.
    let mut node = fixture().node;
    let b1 = signed(v, 1, 5, 0, parent, good.clone());
    let out = node.handle(Time(10), Input::Peer { from: v.address(), message: PeerMessage::Block(b1.clone()) });
    assert!(block_errors(&out.outputs).is_empty());
    let v2 = node.chain().validator_for(0).unwrap();
    let w2 = f.wallets.iter().find(|w| w.address() == v2).unwrap();
    let b2 = signed(w2, 2, 4, 0, b1.hash(), vec![tx(a, b, 1, 1), tx(b, a, 1, 1)]);
    let out = node.handle(Time(11), Input::Peer { from: v2, message: PeerMessage::Block(b2) });
    assert_eq!(block_errors(&out.outputs), vec![BlockError::TimestampBeforeParent { parent: 5, got: 4 }]);

    // An unknown parent is held and the missing blocks are requested from the sender.
    let mut node = fixture().node;
    let orphan = signed(v, 5, 5, 0, blockchat_core::BlockHash([9; 32]), good);
    let out = node.handle(Time(12), Input::Peer { from: v.address(), message: PeerMessage::Block(orphan) });
    // ...and a retry is scheduled in case the answer never comes.
    assert_eq!(
        out.outputs,
        vec![
            Output::Send { to: v.address(), message: PeerMessage::GetBlocks { from: 1 } },
            Output::SetTimer {
                timer: blockchat_core::Timer::Sync { generation: 0 },
                at: Time(12) + std::time::Duration::from_secs(2)
            },
        ]
    );
    assert_eq!(node.orphans(), 1);
}

#[test]
fn peer_transactions_are_checked_and_batched() {
    let mut f = fixture();
    let (a, b, c) = (&f.wallets[1], &f.wallets[2], &f.wallets[3]);
    let forged = Arc::new(Transaction::from_parts(
        c.address(),
        a.address(),
        TxKind::Coins { amount: BCC },
        0,
        Signature([1; 64]),
    ));
    let stranger = Wallet::from_seed(99);
    let unknown = tx(&stranger, a, 1, 0);
    let batch = vec![tx(a, b, 1, 0), forged.clone(), tx(b, c, 1, 0), unknown, tx(a, b, 2_000, 1), tx(a, b, 1, 0)];
    let step = f.node.handle(Time(1), Input::Peer { from: a.address(), message: PeerMessage::Transactions(batch) });
    assert_eq!(
        tx_errors(&step.outputs),
        vec![TxError::UnknownSender { sender: stranger.address() }, TxError::BadSignature,]
    );
    // a cannot afford 2,000 BCC yet (it may spend income from a block not seen here): held.
    assert_eq!(f.node.mempool().held(), 1);
    // Pending, or minted at once if the node is the validator.
    let committed: usize = f.node.chain().blocks()[1..].iter().map(|b| b.transactions().len()).sum();
    assert_eq!(f.node.mempool().len() + committed, 2, "the two valid transfers are taken; the duplicate is ignored");
    assert_eq!(step.work.batches, 1);
    assert_eq!(step.work.batch_verified, 4);
    assert!(step.outputs.iter().all(|o| !matches!(o, Output::TxRejected { origin: Origin::Local, .. })));
}

/// Block `index` on `chain`, minted by its round-0 validator (one of `wallets`).
fn mint(chain: &mut Chain, wallets: &[Wallet], index: u64, txs: Vec<Arc<Transaction>>) -> Arc<Block> {
    let v = chain.validator_for(0).unwrap();
    let vw = wallets.iter().find(|w| w.address() == v).unwrap();
    chain.mint(vw, Time(index), 0, txs.iter(), &mut Work::default()).block.unwrap()
}

#[test]
fn a_replayed_committed_transaction_is_refused() {
    let mut f = fixture();
    let w = &f.wallets;
    let t = tx(&w[1], &w[2], 5, 0);
    let b1 = mint(&mut Chain::new(&f.genesis).unwrap(), w, 1, vec![t.clone(), tx(&w[3], &w[1], 1, 0)]);
    let (now, from) = (Time(10), w[1].address());
    let _ = f.node.handle(now, Input::Peer { from: b1.validator(), message: PeerMessage::Block(b1) });
    assert_eq!(f.node.chain().height(), 1);
    let again = || Input::Peer { from, message: PeerMessage::Transaction(t.clone()) };
    // On the chain: refused and named as a copy of a committed transaction.
    let step = f.node.handle(now, again());
    assert_eq!(tx_errors(&step.outputs), vec![TxError::AlreadyCommitted { id: t.id() }]);
    // A restart keeps the chain, so the name holds.
    f.node.restart();
    let step = f.node.handle(now, again());
    assert_eq!(tx_errors(&step.outputs), vec![TxError::AlreadyCommitted { id: t.id() }]);
    // Another transaction on the spent nonce is refused by the nonce alone.
    let other = tx(&w[1], &w[2], 6, 0);
    let step = f.node.handle(now, Input::Peer { from, message: PeerMessage::Transaction(other) });
    assert_eq!(tx_errors(&step.outputs), vec![TxError::BadNonce { expected: 1, got: 0 }]);
}

#[test]
fn a_stored_chain_reloads_and_a_broken_one_does_not() {
    let f = fixture();
    let w = &f.wallets;
    let mut chain = Chain::new(&f.genesis).unwrap();
    for k in 0..5u64 {
        // Wallets 1 and 2 pay each other, two transfers a block.
        let txs = vec![tx(&w[1], &w[2], 1, k), tx(&w[2], &w[1], 1, k)];
        mint(&mut chain, w, k + 1, txs);
    }
    let blocks = chain.blocks()[1..].to_vec();
    assert_eq!(blocks.len(), 5);
    let mut fresh = fixture().node;
    for b in &blocks {
        fresh.load_block(b.clone()).unwrap();
    }
    assert_eq!(fresh.chain().tip().hash(), chain.tip().hash());

    let mut gap = fixture().node;
    gap.load_block(blocks[0].clone()).unwrap();
    assert!(matches!(gap.load_block(blocks[2].clone()), Err(BlockError::UnknownParent { .. })));
}

/// With partial blocks the validator mints what it holds once nothing new has arrived for the
/// quiet interval (a quarter of the block interval), so the end of a burst does not wait the
/// whole interval; a steady trickle still gets its block at the full interval.
#[test]
fn partial_blocks_follow_the_quiet_and_the_full_interval() {
    use std::time::Duration;
    let wallets: Vec<Wallet> = (0..3).map(|i| Wallet::from_seed(90 + i)).collect();
    let addrs: Vec<Address> = wallets.iter().map(|w| w.address()).collect();
    let params = NetworkParams::new(10).with_block_interval(Some(Duration::from_millis(1_000)));
    let genesis = Genesis::course(params, &addrs, 10 * BCC).block().unwrap();
    let chosen = Chain::new(&genesis).unwrap().validator_for(0).unwrap();
    let me = wallets.iter().find(|w| w.address() == chosen).unwrap();
    let other = wallets.iter().find(|w| w.address() != chosen).unwrap();
    let ms = |n: u64| Time(n * 1_000_000);
    let minted = |outputs: &[Output]| {
        outputs.iter().any(|o| matches!(o, Output::Broadcast { message: PeerMessage::Block(_), .. }))
    };
    let timers = |outputs: &[Output]| -> Vec<Time> {
        outputs
            .iter()
            .filter_map(|o| match o {
                Output::SetTimer { timer: blockchat_core::Timer::BlockInterval { .. }, at } => Some(*at),
                _ => None,
            })
            .collect()
    };
    // (arrival times in ms, when the block is due in ms)
    let cases: [(&[u64], u64); 3] = [(&[0], 250), (&[0, 200, 400], 650), (&[0, 200, 400, 600, 800, 900], 1_000)];
    for (arrivals, due) in cases {
        let mut node = Node::new(NodeConfig::new(&params), me.clone(), &genesis, Ed25519Check::new()).unwrap();
        let mut armed = Vec::new();
        for (nonce, &at) in arrivals.iter().enumerate() {
            let t = tx(other, me, 1, nonce as u64);
            let step =
                node.handle(ms(at), Input::Peer { from: other.address(), message: PeerMessage::Transactions(vec![t]) });
            assert!(!minted(&step.outputs), "{arrivals:?}: minted at {at} ms");
            armed.extend(timers(&step.outputs));
        }
        // The timer armed first fires; the node re-arms until the block is due, then mints.
        let mut fired = armed[0];
        loop {
            let step = node.handle(fired, Input::Timer(blockchat_core::Timer::BlockInterval { generation: 0 }));
            if minted(&step.outputs) {
                break;
            }
            fired = *timers(&step.outputs).first().expect("a new interval timer");
            assert!(fired <= ms(due), "{arrivals:?}: timer at {fired:?} after the due time");
        }
        assert_eq!(fired, ms(due), "{arrivals:?}");
    }
}
