//! Attacks and failure modes found in review, kept as regression tests: each asserts what the
//! protocol must guarantee, and each failed before its fix. Each feeds one node crafted inputs;
//! the ones that need a network of nodes are in `blockchat-host/tests/regressions.rs`.

use std::sync::Arc;
use std::time::Duration;

use blockchat_core::genesis::GenesisAccount;
use blockchat_core::work::Work;
use blockchat_core::{
    Address, Block, BlockHash, Chain, Ed25519Check, Genesis, Input, NetworkParams, Node, NodeConfig, Output,
    PeerMessage, Signature, Time, Transaction, TxKind, TxRequest, UNITS_PER_BCC, Wallet,
};

const BCC: u64 = UNITS_PER_BCC;

fn wallets(n: u64) -> Vec<Wallet> {
    (0..n).map(|i| Wallet::from_seed(900 + i)).collect()
}

fn coins(from: &Wallet, to: Address, bcc: u64, nonce: u64) -> Arc<Transaction> {
    Arc::new(Transaction::new_signed(from, to, TxKind::Coins { amount: bcc * BCC }, nonce))
}

fn peer(from: Address, message: PeerMessage) -> Input {
    Input::Peer { from, message }
}

/// Mints on a scratch chain with whichever `round` makes `wallet` the validator.
fn grind(chain: &mut Chain, wallet: &Wallet, now: Time, txs: &[Arc<Transaction>]) -> Arc<Block> {
    for round in 0..10_000u32 {
        let mut w = Work::default();
        if let Some(b) = chain.mint(wallet, now, round, txs.iter(), &mut w).block {
            return b;
        }
    }
    panic!("no round found");
}

// ---------------------------------------------------------------------------------------------
// 1. Round grinding: any staker can mint at any height immediately by picking a round it wins,
//    and height dominates fork choice, so a 1-block payment can be reverted at will.
// ---------------------------------------------------------------------------------------------
#[test]
fn round_grinding_lets_one_small_staker_revert_a_confirmed_payment() {
    let w = wallets(4);
    // The attacker (w[3]) holds only 1 BCC of stake out of 301.
    let accounts = vec![
        GenesisAccount { address: w[0].address(), stake: 100 * BCC },
        GenesisAccount { address: w[1].address(), stake: 100 * BCC },
        GenesisAccount { address: w[2].address(), stake: 100 * BCC },
        GenesisAccount { address: w[3].address(), stake: BCC },
    ];
    let params = NetworkParams::new(1);
    let genesis = Genesis { params, accounts, timestamp: Time::ZERO }.block().unwrap();
    let config = NodeConfig::new(&params);
    let attacker = &w[3];
    let victim = w[2].address();
    // The honest node under test (w[1]).
    let mut honest = Node::new(config, w[1].clone(), &genesis, Ed25519Check::new()).unwrap();

    // Honest chain: the attacker's 500 BCC payment to the victim, minted by the round-0 validator.
    let mut scratch = Chain::new(&genesis).unwrap();
    let payment = coins(attacker, victim, 500, 0);
    let v0 = scratch.validator_for(0).unwrap();
    let v0w = w.iter().find(|x| x.address() == v0).unwrap();
    let mut work = Work::default();
    let b1 = scratch.mint(v0w, Time::from_millis(10), 0, [payment.clone()].iter(), &mut work).block.unwrap();
    let _ = honest.handle(Time::from_millis(11), peer(v0, PeerMessage::Block(b1.clone())));
    assert_eq!(honest.chain().height(), 1);
    assert_eq!(honest.ledger().account(&victim).unwrap().balance, 1_500 * BCC);

    // Attacker's private branch from genesis: spends nonce 0 elsewhere, then pads, each block
    // minted at once with the first round the attacker wins (no waiting, no timeouts).
    let mut private = Chain::new(&genesis).unwrap();
    let other = w[0].address();
    let p1 = grind(&mut private, attacker, Time::from_millis(12), &[coins(attacker, other, 500, 0)]);
    let p2 = grind(&mut private, attacker, Time::from_millis(12), &[coins(attacker, other, 1, 1)]);
    eprintln!("attacker rounds used: {} {}", p1.round(), p2.round());
    let _ = honest.handle(Time::from_millis(13), peer(attacker.address(), PeerMessage::Block(p1)));
    let _ = honest.handle(Time::from_millis(13), peer(attacker.address(), PeerMessage::Block(p2)));

    // What a safe protocol must guarantee: a payment confirmed by an on-time (round-0) block is not
    // undone by a branch whose blocks used rounds that no timeout could have reached yet.
    assert_eq!(
        honest.ledger().account(&victim).unwrap().balance,
        1_500 * BCC,
        "the honest node adopted the attacker's ground branch: the payment was reverted (height {}, tip validator is attacker: {})",
        honest.chain().height(),
        honest.chain().tip().validator() == attacker.address()
    );
}

// ---------------------------------------------------------------------------------------------
// 2. After a reorganisation, a local transaction that the adopted branch COMMITTED is reported
//    as rejected (BadNonce), because `rebuild` re-admits the old queue without filtering ids
//    of the applied blocks.
// ---------------------------------------------------------------------------------------------
#[test]
fn a_reorg_does_not_report_a_committed_local_transaction_as_rejected() {
    let w = wallets(6);
    let addrs: Vec<Address> = w.iter().map(|x| x.address()).collect();
    let genesis = Genesis::course(NetworkParams::new(1), &addrs, 10 * BCC).block().unwrap();
    let mut scratch = Chain::new(&genesis).unwrap();
    let v0 = scratch.validator_for(0).unwrap();
    let (r1, v1) = (1..100u32).map(|r| (r, scratch.validator_for(r).unwrap())).next().unwrap();
    let wallet_of = |a: Address| w.iter().find(|x| x.address() == a).unwrap().clone();
    let s = 0usize;
    let x = coins(&w[s], addrs[1], 1, 0);
    let b1 = {
        let mut wk = Work::default();
        scratch.mint(&wallet_of(v1), Time(2), r1, [x].iter(), &mut wk).block.unwrap()
    };
    let v_next = scratch.validator_for(0).unwrap();
    // The node under test: not x's sender, not the round-0 validator, not the next validator.
    let me = (0..6).find(|&i| i != s && addrs[i] != v0 && addrs[i] != v_next).unwrap();
    let mut node =
        Node::new(NodeConfig::new(&NetworkParams::new(1)), w[me].clone(), &genesis, Ed25519Check::new()).unwrap();
    let to = addrs[(me + 1) % 6];
    let step = node.handle(Time(1), Input::Submit(TxRequest { receiver: to, kind: TxKind::Coins { amount: BCC } }));
    let t = step.outputs.iter().find_map(|o| if let Output::TxAccepted(t) = o { Some(t.clone()) } else { None });
    let t = t.expect("accepted");
    let s1 = node.handle(Time(3), peer(v1, PeerMessage::Block(b1)));
    assert!(s1.outputs.iter().any(|o| matches!(o, Output::Committed(_))));
    assert_eq!(node.chain().height(), 1);
    // ...then the late round-0 block holding T wins.
    let b0 = Arc::new(Block::new_signed(&wallet_of(v0), 1, Time(2), 0, genesis.hash(), vec![t.clone()]));
    let s0 = node.handle(Time(4), peer(v0, PeerMessage::Block(b0.clone())));
    // (The node may then mint block 2 at once, if the lottery picks it.)
    assert_eq!(node.chain().blocks()[1].hash(), b0.hash(), "the round-0 block won: {:?}", s0.outputs);
    let wrongly_rejected: Vec<_> =
        s0.outputs.iter().filter(|o| matches!(o, Output::TxRejected { id, .. } if *id == t.id())).collect();
    assert!(wrongly_rejected.is_empty(), "committed local tx reported as rejected: {wrongly_rejected:?}");
}

// ---------------------------------------------------------------------------------------------
// 3. Orphans are never validated, never expire and never leave the pool unless their parent is
//    accepted: 1,024 junk blocks with random parents fill it for good, and legitimate
//    out-of-order blocks are then dropped.
// ---------------------------------------------------------------------------------------------
#[test]
fn junk_orphans_fill_the_pool_for_good() {
    let w = wallets(4);
    let addrs: Vec<Address> = w.iter().map(|x| x.address()).collect();
    let genesis = Genesis::course(NetworkParams::new(1), &addrs, 10 * BCC).block().unwrap();
    let mut scratch = Chain::new(&genesis).unwrap();
    let mut blocks = Vec::new();
    for k in 0..2u64 {
        let tx = coins(&w[0], addrs[1], 1, k);
        let v = scratch.validator_for(0).unwrap();
        let vw = w.iter().find(|x| x.address() == v).unwrap();
        blocks.push(scratch.mint(vw, Time::from_millis(k + 1), 0, [tx].iter(), &mut Work::default()).block.unwrap());
    }
    let run = |junk: bool| {
        let me = (0..4).find(|&i| addrs[i] != blocks[0].validator() && addrs[i] != blocks[1].validator()).unwrap_or(3);
        let mut node =
            Node::new(NodeConfig::new(&NetworkParams::new(1)), w[me].clone(), &genesis, Ed25519Check::new()).unwrap();
        let attacker = Wallet::from_seed(4242);
        if junk {
            for i in 0..1_100u32 {
                let mut parent = [0u8; 32];
                parent[..4].copy_from_slice(&i.to_be_bytes());
                // Unsigned, any size, any index: nothing is checked before holding it.
                let b =
                    Block::from_parts(7, Time(0), 0, attacker.address(), BlockHash(parent), vec![], Signature::ZERO);
                let _ = node.handle(Time(1), peer(attacker.address(), PeerMessage::Block(Arc::new(b))));
            }
        }
        // Honest blocks arrive out of order: block 2 first (an orphan), then block 1.
        let _ = node.handle(Time(10), peer(addrs[0], PeerMessage::Block(blocks[1].clone())));
        let _ = node.handle(Time(11), peer(addrs[0], PeerMessage::Block(blocks[0].clone())));
        node.chain().height()
    };
    assert_eq!(run(false), 2, "without junk the held orphan is released");
    assert_eq!(run(true), 2, "after junk orphans the honest orphan was dropped");
}

// ---------------------------------------------------------------------------------------------
// 4. Signature skip compares id AND signature (expected to pass).
// ---------------------------------------------------------------------------------------------
#[test]
fn same_id_with_a_forged_signature_is_not_skipped() {
    let w = wallets(4);
    let addrs: Vec<Address> = w.iter().map(|x| x.address()).collect();
    let genesis = Genesis::course(NetworkParams::new(1), &addrs, 10 * BCC).block().unwrap();
    let scratch = Chain::new(&genesis).unwrap();
    let v0 = scratch.validator_for(0).unwrap();
    let me = (0..4).find(|&i| addrs[i] != v0).unwrap();
    let sender = (0..4).find(|&i| i != me).unwrap();
    let mut node =
        Node::new(NodeConfig::new(&NetworkParams::new(1)), w[me].clone(), &genesis, Ed25519Check::new()).unwrap();
    let good = coins(&w[sender], addrs[me], 1, 0);
    let _ = node.handle(Time(1), peer(addrs[sender], PeerMessage::Transaction(good.clone())));
    assert_eq!(node.mempool().len(), 1);
    let forged = Arc::new(Transaction::from_parts(
        good.sender(),
        good.receiver(),
        good.kind().clone(),
        good.nonce(),
        Signature([5; 64]),
    ));
    assert_eq!(forged.id(), good.id());
    let vw = w.iter().find(|x| x.address() == v0).unwrap();
    let b = Arc::new(Block::new_signed(vw, 1, Time(2), 0, genesis.hash(), vec![forged]));
    let s = node.handle(Time(3), peer(v0, PeerMessage::Block(b)));
    assert!(s.outputs.iter().any(|o| matches!(o, Output::BlockRejected { .. })));
    assert_eq!(node.chain().height(), 0);
}

/// A peer with a smaller (local) sync_batch answers with fewer blocks than ours; we take the
/// batch as the end of its chain and stop asking, though it is 20 blocks further ahead.
#[test]
fn catch_up_continues_when_a_peer_answers_with_a_smaller_batch() {
    let w = wallets(4);
    let addrs: Vec<Address> = w.iter().map(|x| x.address()).collect();
    let genesis = Genesis::course(NetworkParams::new(1), &addrs, 10 * BCC).block().unwrap();
    let mut config = NodeConfig::new(&NetworkParams::new(1));
    let mut scratch = Chain::new(&genesis).unwrap();
    for k in 0..30u64 {
        let tx = coins(&w[0], addrs[1], 1, k);
        let v = scratch.validator_for(0).unwrap();
        let vw = w.iter().find(|x| x.address() == v).unwrap();
        let mut wk = Work::default();
        scratch.mint(vw, Time(k + 1), 0, [tx].iter(), &mut wk).block.unwrap();
    }
    let me = w[3].clone();
    config.sync_batch = 256;
    let mut node = Node::new(config, me, &genesis, Ed25519Check::new()).unwrap();
    let s = node.handle(Time(100), Input::PeerConnected(addrs[0]));
    assert!(s.outputs.iter().any(|o| matches!(o, Output::Send { message: PeerMessage::GetBlocks { from: 1 }, .. })));
    // The peer runs with sync_batch = 10 and answers with blocks 1..=10.
    let batch = scratch.blocks_from(1, 10).to_vec();
    let s = node.handle(Time(101), peer(addrs[0], PeerMessage::Blocks(batch)));
    assert_eq!(node.chain().height(), 10);
    let asks = s.outputs.iter().any(|o| matches!(o, Output::Send { message: PeerMessage::GetBlocks { .. }, .. }));
    assert!(asks, "catch-up stopped at height 10 of 30: no further GetBlocks");

    // Ranges from outside (a client's `from 1, limit 2^64-1`): any value, never a panic.
    let n = scratch.height() as usize + 1;
    let cases: [(u64, usize, usize); 6] = [
        (1, usize::MAX, n - 1),
        (0, usize::MAX, n),
        (u64::MAX, 1, 0),
        (u64::MAX, usize::MAX, 0),
        (n as u64, 5, 0),
        (n as u64 - 2, usize::MAX - 1, 2),
    ];
    for (from, limit, want) in cases {
        assert_eq!(scratch.blocks_from(from, limit).len(), want, "from {from}, limit {limit}");
    }
}

#[test]
fn fuzz_node_with_structured_garbage() {
    use rand_chacha::ChaCha20Rng;
    use rand_core::{Rng, SeedableRng};
    let w = wallets(4);
    let addrs: Vec<Address> = w.iter().map(|x| x.address()).collect();
    for seed in 0..4u64 {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut params = NetworkParams::new(1 + seed as usize % 2);
        if seed % 2 == 1 {
            params.max_block_interval = Some(Duration::from_millis(5));
        }
        params.max_reorg_depth = 3;
        let genesis = Genesis::course(params, &addrs, 10 * BCC).block().unwrap();
        let mut node = Node::new(NodeConfig::new(&params), w[0].clone(), &genesis, Ed25519Check::new()).unwrap();
        let mut known: Vec<(BlockHash, u64)> = vec![(genesis.hash(), 0)];
        let mut nonces = [0u64; 4];
        let mut now = 0u64;
        for _ in 0..3_000 {
            now += rng.next_u64() % 3;
            let pick = |rng: &mut ChaCha20Rng, n: usize| (rng.next_u64() % n as u64) as usize;
            let choice = pick(&mut rng, 10);
            let mk_tx = |rng: &mut ChaCha20Rng, nonces: &mut [u64; 4]| {
                let s = pick(rng, 4);
                let r = pick(rng, 5);
                let to = if r == 4 { Address::ZERO } else { addrs[r] };
                let kind = match pick(rng, 4) {
                    0 => TxKind::Coins { amount: rng.next_u64() % (3 * BCC) },
                    1 => TxKind::Message { text: "x".repeat(pick(rng, 3)) },
                    2 => TxKind::Stake { amount: rng.next_u64() % (20 * BCC) },
                    _ => TxKind::Coins { amount: rng.next_u64() },
                };
                let nonce = match pick(rng, 6) {
                    0 => rng.next_u64(),
                    1 => nonces[s].saturating_sub(1),
                    _ => {
                        nonces[s] += 1;
                        nonces[s] - 1
                    }
                };
                Arc::new(Transaction::new_signed(&w[s], to, kind, nonce))
            };
            let from = addrs[pick(&mut rng, 4)];
            let input = match choice {
                0..=3 => {
                    let txs = (0..1 + pick(&mut rng, 3)).map(|_| mk_tx(&mut rng, &mut nonces)).collect();
                    peer(from, PeerMessage::Transactions(txs))
                }
                4..=6 => {
                    let (parent, h) = known[pick(&mut rng, known.len())];
                    let index = if pick(&mut rng, 8) == 0 { rng.next_u64() } else { h + 1 };
                    let round = if pick(&mut rng, 8) == 0 {
                        u32::MAX - pick(&mut rng, 3) as u32
                    } else {
                        pick(&mut rng, 6) as u32
                    };
                    let txs = (0..pick(&mut rng, 4)).map(|_| mk_tx(&mut rng, &mut nonces)).collect();
                    let vw = &w[pick(&mut rng, 4)];
                    let ts = if pick(&mut rng, 10) == 0 { rng.next_u64() } else { now };
                    let b = Arc::new(Block::new_signed(vw, index, Time(ts), round, parent, txs));
                    known.push((b.hash(), index));
                    peer(from, PeerMessage::Block(b))
                }
                7 => {
                    peer(from, PeerMessage::GetBlocks { from: if pick(&mut rng, 2) == 0 { rng.next_u64() } else { 0 } })
                }
                8 => Input::Timer(blockchat_core::Timer::Round { generation: rng.next_u64() % 8, round: node.round() }),
                _ => Input::Submit(TxRequest {
                    receiver: addrs[1 + pick(&mut rng, 3)],
                    kind: TxKind::Coins { amount: 1 + rng.next_u64() % BCC },
                }),
            };
            let step = node.handle(Time(now), input);
            for o in step.outputs {
                if let Output::Broadcast { message: PeerMessage::Block(b), .. } = o {
                    known.push((b.hash(), b.index()));
                }
            }
            let l = node.ledger();
            let sum: u64 = l.accounts().map(|(_, a)| a.balance).sum();
            assert_eq!(sum, l.total_supply());
            assert!(l.accounts().all(|(_, a)| a.balance >= a.stake));
            // Chain linkage
            let bs = node.chain().blocks();
            assert!(bs.windows(2).all(|p| p[1].previous_hash() == p[0].hash() && p[1].index() == p[0].index() + 1));
        }
        eprintln!(
            "seed {seed}: height {}, side {}, pending {}",
            node.chain().height(),
            node.chain().side_blocks(),
            node.mempool().len()
        );
    }
}
