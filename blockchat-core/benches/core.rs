//! Criterion benchmarks for the hot paths: signing, verification, ledger, block validation,
//! lottery, mempool and codec.

use std::hint::black_box;
use std::sync::Arc;

use blockchat_core::genesis::GenesisAccount;
use blockchat_core::ledger::Undo;
use blockchat_core::mempool::Mempool;
use blockchat_core::signature::SignedItem;
use blockchat_core::{
    Address, Block, BlockHash, Chain, Ed25519Check, Genesis, Lottery, NetworkParams, SignatureCheck, Time, Transaction,
    TxKind, UNITS_PER_BCC, Wallet,
};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

fn wallets(n: usize) -> Vec<Wallet> {
    (0..n as u64).map(Wallet::from_seed).collect()
}

fn genesis_for(ws: &[Wallet], capacity: usize) -> Genesis {
    let accounts = ws.iter().map(|w| GenesisAccount { address: w.address(), stake: 10 * UNITS_PER_BCC }).collect();
    Genesis { params: NetworkParams::new(capacity), accounts, timestamp: Time::ZERO }
}

fn signatures(c: &mut Criterion) {
    let ws = wallets(64);
    let to = ws[1].address();
    let mut g = c.benchmark_group("signature");
    g.throughput(Throughput::Elements(1));
    g.bench_function("transaction create+sign", |b| {
        let mut nonce = 0;
        b.iter(|| {
            nonce += 1;
            black_box(Transaction::new_signed(&ws[0], to, TxKind::Coins { amount: 5 }, nonce))
        })
    });
    let txs: Vec<Transaction> = ws
        .iter()
        .enumerate()
        .map(|(i, w)| Transaction::new_signed(w, to, TxKind::Message { text: "hello".into() }, i as u64))
        .collect();
    let mut check = Ed25519Check::new();
    for t in &txs {
        assert!(check.verify(t.signed_item()));
    }
    g.bench_function("verify one", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % txs.len();
            assert!(check.verify(black_box(txs[i].signed_item())))
        })
    });
    let items: Vec<SignedItem<'_>> = txs.iter().map(|t| t.signed_item()).collect();
    g.throughput(Throughput::Elements(64));
    g.bench_function("verify batch of 64", |b| b.iter(|| assert!(check.verify_batch(black_box(&items)))));
    // A peer's frame: one sender's transactions (ed25519-zebra folds one key's terms together).
    let one = &ws[0];
    let same: Vec<Transaction> =
        (0..64u64).map(|n| Transaction::new_signed(one, to, TxKind::Message { text: "hello".into() }, n)).collect();
    let same_items: Vec<SignedItem<'_>> = same.iter().map(|t| t.signed_item()).collect();
    g.bench_function("verify batch of 64 from one sender", |b| {
        b.iter(|| assert!(check.verify_batch(black_box(&same_items))))
    });
    g.finish();
}

fn ledger(c: &mut Criterion) {
    let ws = wallets(100);
    let mut ledger = genesis_for(&ws, 1).ledger().unwrap();
    let tx = Transaction::new_signed(&ws[3], ws[7].address(), TxKind::Coins { amount: UNITS_PER_BCC }, 0);
    let mut g = c.benchmark_group("ledger");
    g.throughput(Throughput::Elements(1));
    g.bench_function("apply+undo a transfer (100 accounts)", |b| {
        b.iter(|| {
            let (mut fees, mut undo) = (0, Undo::default());
            ledger.apply(black_box(&tx), &mut fees, &mut undo).unwrap();
            ledger.revert(undo);
        })
    });
    g.finish();
}

/// A chain after genesis, a block of `n` transfers from `n` distinct senders, a warm key cache.
fn block_setup(n: usize) -> (Chain, Arc<Block>, Ed25519Check) {
    let ws = wallets(n.max(2));
    let g = genesis_for(&ws, n).block().unwrap();
    let chain = Chain::new(&g).unwrap();
    let v = chain.validator_for(0).unwrap();
    let validator = ws.iter().find(|w| w.address() == v).unwrap();
    let txs: Vec<Arc<Transaction>> = (0..n)
        .map(|i| {
            let to = ws[(i + 1) % ws.len()].address();
            Arc::new(Transaction::new_signed(&ws[i % ws.len()], to, TxKind::Coins { amount: UNITS_PER_BCC }, 0))
        })
        .collect();
    let mut check = Ed25519Check::new();
    for w in &ws {
        let msg = [0u8; 32];
        let sig = w.sign(&msg);
        check.verify(SignedItem { key: &w.address(), msg: &msg, sig: &sig });
    }
    let block = Arc::new(Block::new_signed(validator, 1, Time(1), 0, g.hash(), txs));
    (chain, block, check)
}

fn blocks(c: &mut Criterion) {
    let mut g = c.benchmark_group("block validation (unseen transactions)");
    g.sample_size(20);
    for n in [10usize, 100, 1_000] {
        let (chain, block, check) = block_setup(n);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(format!("capacity {n}"), |b| {
            b.iter_batched(
                || (chain.clone(), check.clone()),
                |(mut chain, mut check)| {
                    let mut work = Default::default();
                    chain.insert(block.clone(), &mut check, &|_| false, &mut work).unwrap();
                    chain
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

fn lottery(c: &mut Criterion) {
    let mut g = c.benchmark_group("lottery draw");
    g.throughput(Throughput::Elements(1));
    for n in [10u64, 100, 1_000] {
        let l = Lottery::new((0..n).map(|i| {
            let mut a = [0u8; 32];
            a[..8].copy_from_slice(&i.to_be_bytes());
            (Address(a), 1 + i % 17)
        }));
        g.bench_function(format!("{n} stakers"), |b| {
            let mut parent = [0u8; 32];
            let mut r = 0u32;
            b.iter(|| {
                r = r.wrapping_add(1);
                parent[..4].copy_from_slice(&r.to_be_bytes());
                black_box(l.draw(&BlockHash(parent), 0))
            })
        });
    }
    g.finish();
}

fn mempool_and_codec(c: &mut Criterion) {
    let ws = wallets(10);
    let ledger = genesis_for(&ws, 1).ledger().unwrap();
    let txs: Vec<Arc<Transaction>> = (0..1_000u64)
        .map(|i| {
            let w = &ws[(i % 10) as usize];
            let to = ws[((i + 1) % 10) as usize].address();
            Arc::new(Transaction::new_signed(w, to, TxKind::Coins { amount: 1_000 }, i / 10))
        })
        .collect();
    let mut g = c.benchmark_group("mempool");
    g.throughput(Throughput::Elements(txs.len() as u64));
    g.bench_function("admit 1000 (signature already checked)", |b| {
        b.iter(|| {
            let mut pool = Mempool::new(100_000, 64);
            for t in &txs {
                pool.admit(t.clone(), Time::ZERO, &ledger, |_| true).unwrap();
            }
            pool
        })
    });
    g.finish();
    let mut g = c.benchmark_group("codec");
    g.throughput(Throughput::Elements(1));
    let tx = Transaction::new_signed(&ws[0], ws[1].address(), TxKind::Message { text: "Don't panic.".into() }, 3);
    g.bench_function("transaction encode+decode", |b| {
        b.iter(|| Transaction::decode(&black_box(&tx).encode()).unwrap())
    });
    g.finish();
}

criterion_group!(benches, signatures, ledger, blocks, lottery, mempool_and_codec);
criterion_main!(benches);
