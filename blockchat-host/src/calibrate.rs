//! Measuring this machine's cryptography and decoding as the node does them, for the
//! simulator's CPU model (`blockchat-sim calibrate`, `blockchat calibrate`): the median of
//! several short timing rounds per operation.

use std::time::Instant;

use blockchat_core::signature::SignedItem;
use blockchat_core::{Ed25519Check, SignatureCheck, Transaction, TxKind, Wallet};

/// Nanoseconds per operation, measured here and now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CryptoCost {
    /// One Ed25519 signature.
    pub sign_ns: u64,
    /// One signature verified alone.
    pub verify_ns: u64,
    /// One signature verified inside a batch, beyond its key's share.
    pub batch_verify_ns: u64,
    /// Each distinct key in a batch.
    pub batch_key_ns: u64,
    /// SHA-256, per KiB.
    pub hash_per_kib_ns: u64,
    /// Decoding transactions, per KiB.
    pub decode_per_kib_ns: u64,
}

/// Measures signing, verifying (alone and in batches), hashing and decoding.
pub fn crypto() -> CryptoCost {
    let wallets: Vec<Wallet> = (0..64).map(Wallet::from_seed).collect();
    let to = wallets[1].address();
    let txs: Vec<Transaction> = wallets
        .iter()
        .map(|w| Transaction::new_signed(w, to, TxKind::Message { text: "calibrate".into() }, 0))
        .collect();
    let mut check = Ed25519Check::new();
    // Rounds of several milliseconds each, after a warm-up, so that a core waking up or one
    // preemption does not set the figure (rounds of under a millisecond varied 1.6-fold).
    for t in &txs {
        std::hint::black_box(check.verify(t.signed_item()));
    }
    let sign_ns = median_ns(512, |i| {
        std::hint::black_box(wallets[i % 64].sign(&[i as u8; 32]));
    });
    let verify_ns = median_ns(256, |i| {
        std::hint::black_box(check.verify(txs[i % 64].signed_item()));
    });
    // 64 senders, and 64 transactions of one sender: the difference is 63 keys' work.
    let items: Vec<SignedItem<'_>> = txs.iter().map(|t| t.signed_item()).collect();
    let many = median_ns(8, |_| {
        std::hint::black_box(check.verify_batch(&items));
    });
    let one: Vec<Transaction> = (0..64u64)
        .map(|n| Transaction::new_signed(&wallets[0], to, TxKind::Message { text: "calibrate".into() }, n))
        .collect();
    let one_items: Vec<SignedItem<'_>> = one.iter().map(|t| t.signed_item()).collect();
    let single = median_ns(8, |_| {
        std::hint::black_box(check.verify_batch(&one_items));
    });
    let batch_key_ns = many.saturating_sub(single) / 63;
    let batch_verify_ns = single.saturating_sub(batch_key_ns) / 64;
    let big = vec![7u8; 64 * 1024];
    let hash_per_kib_ns = median_ns(8, |_| {
        std::hint::black_box(<sha2::Sha256 as sha2::Digest>::digest(&big));
    }) / 64;
    let encoded: Vec<Vec<u8>> = txs.iter().map(|t| t.encode()).collect();
    let decode_per_kib_ns = median_ns(1024, |i| {
        std::hint::black_box(Transaction::decode(&encoded[i % 64]).ok());
    }) * 1024
        / encoded[0].len().max(1) as u64;
    CryptoCost { sign_ns, verify_ns, batch_verify_ns, batch_key_ns, hash_per_kib_ns, decode_per_kib_ns }
}

/// Median over 15 rounds of the mean time per call of `f`, called `per_round` times a round.
pub fn median_ns(per_round: usize, mut f: impl FnMut(usize)) -> u64 {
    let mut rounds: Vec<u64> = (0..15)
        .map(|_| {
            let start = Instant::now();
            for i in 0..per_round {
                f(i);
            }
            (start.elapsed().as_nanos() / per_round.max(1) as u128) as u64
        })
        .collect();
    rounds.sort_unstable();
    rounds[rounds.len() / 2]
}
