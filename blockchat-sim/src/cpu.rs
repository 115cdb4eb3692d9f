//! The CPU model: what each costly step of a node takes in virtual time.

use std::time::{Duration, Instant};

use blockchat_core::signature::SignedItem;
use blockchat_core::{Ed25519Check, SignatureCheck, Transaction, TxKind, Wallet, Work};
use serde::{Deserialize, Serialize};

/// Virtual nanoseconds per operation. Defaults are the medians measured by
/// `cargo bench -p blockchat-core` on the project's 2-core machine; `blockchat-sim calibrate`
/// measures them again here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CostModel {
    /// One Ed25519 signature.
    pub sign_ns: u64,
    /// One signature verified alone.
    pub verify_ns: u64,
    /// One signature verified inside a batch.
    pub batch_verify_ns: u64,
    /// Fixed cost of one batch.
    pub batch_base_ns: u64,
    /// One transaction applied to the ledger.
    pub apply_ns: u64,
    /// Hashing, per kilobyte.
    pub hash_per_kib_ns: u64,
    /// Receiving and decoding a message, per kilobyte.
    pub receive_per_kib_ns: u64,
    /// Fixed cost of handling any input.
    pub per_input_ns: u64,
}

impl Default for CostModel {
    fn default() -> Self {
        CostModel::CALIBRATED
    }
}

impl CostModel {
    /// Medians from the core benchmarks on the project's machine (see blockchat-core/README.md).
    pub const CALIBRATED: CostModel = CostModel {
        sign_ns: 20_200,
        verify_ns: 39_000,
        batch_verify_ns: 17_100,
        batch_base_ns: 1_000,
        apply_ns: 400,
        hash_per_kib_ns: 570,
        receive_per_kib_ns: 1_600,
        per_input_ns: 500,
    };

    /// Everything free: nodes react instantly.
    pub const ZERO: CostModel = CostModel {
        sign_ns: 0,
        verify_ns: 0,
        batch_verify_ns: 0,
        batch_base_ns: 0,
        apply_ns: 0,
        hash_per_kib_ns: 0,
        receive_per_kib_ns: 0,
        per_input_ns: 0,
    };

    /// Every cost times `num / den`, rounded up (nodes sharing fewer cores than they are).
    pub fn scaled(self, num: u64, den: u64) -> CostModel {
        let f = |x: u64| (x * num).div_ceil(den.max(1));
        CostModel {
            sign_ns: f(self.sign_ns),
            verify_ns: f(self.verify_ns),
            batch_verify_ns: f(self.batch_verify_ns),
            batch_base_ns: f(self.batch_base_ns),
            apply_ns: f(self.apply_ns),
            hash_per_kib_ns: f(self.hash_per_kib_ns),
            receive_per_kib_ns: f(self.receive_per_kib_ns),
            per_input_ns: f(self.per_input_ns),
        }
    }

    /// Virtual time to handle one input of `received_bytes` that performed `work`.
    pub fn cost(&self, work: &Work, received_bytes: usize) -> Duration {
        let ns = self.per_input_ns
            + u64::from(work.signed) * self.sign_ns
            + u64::from(work.verified) * self.verify_ns
            + u64::from(work.batch_verified) * self.batch_verify_ns
            + u64::from(work.batches) * self.batch_base_ns
            + u64::from(work.applied) * self.apply_ns
            + work.hashed_bytes * self.hash_per_kib_ns / 1024
            + received_bytes as u64 * self.receive_per_kib_ns / 1024;
        Duration::from_nanos(ns)
    }

    /// Measures this machine: the median of several short timing rounds per operation.
    pub fn calibrate() -> CostModel {
        let wallets: Vec<Wallet> = (0..64).map(Wallet::from_seed).collect();
        let to = wallets[1].address();
        let txs: Vec<Transaction> = wallets
            .iter()
            .map(|w| Transaction::new_signed(w, to, TxKind::Message { text: "calibrate".into() }, 0))
            .collect();
        let mut check = Ed25519Check::new();
        let sign_ns = median_ns(64, |i| {
            std::hint::black_box(wallets[i % 64].sign(&[i as u8; 32]));
        });
        let verify_ns = median_ns(64, |i| {
            assert!(check.verify(txs[i % 64].signed_item()));
        });
        let items: Vec<SignedItem<'_>> = txs.iter().map(|t| t.signed_item()).collect();
        let batch_verify_ns = median_ns(4, |_| assert!(check.verify_batch(&items))) / 64;
        let big = vec![7u8; 64 * 1024];
        let hash_per_kib_ns = median_ns(8, |_| {
            std::hint::black_box(<sha2::Sha256 as sha2::Digest>::digest(&big));
        }) / 64;
        let encoded: Vec<Vec<u8>> = txs.iter().map(|t| t.encode()).collect();
        let receive_per_kib_ns = median_ns(64, |i| {
            std::hint::black_box(Transaction::decode(&encoded[i % 64]).ok());
        }) * 1024
            / encoded[0].len() as u64;
        CostModel { sign_ns, verify_ns, batch_verify_ns, receive_per_kib_ns, hash_per_kib_ns, ..CostModel::CALIBRATED }
    }
}

/// Median over 9 rounds of the mean time per call of `f`, called `per_round` times a round.
fn median_ns(per_round: usize, mut f: impl FnMut(usize)) -> u64 {
    let mut rounds: Vec<u64> = (0..9)
        .map(|_| {
            let start = Instant::now();
            for i in 0..per_round {
                f(i);
            }
            (start.elapsed().as_nanos() / per_round as u128) as u64
        })
        .collect();
    rounds.sort_unstable();
    rounds[rounds.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_adds_up_and_zero_is_free() {
        let work = Work { signed: 1, verified: 2, batch_verified: 10, batches: 1, applied: 5, hashed_bytes: 2048 };
        let m = CostModel::CALIBRATED;
        let want = m.per_input_ns
            + m.sign_ns
            + 2 * m.verify_ns
            + 10 * m.batch_verify_ns
            + m.batch_base_ns
            + 5 * m.apply_ns
            + 2 * m.hash_per_kib_ns
            + m.receive_per_kib_ns;
        assert_eq!(m.cost(&work, 1024), Duration::from_nanos(want));
        assert_eq!(CostModel::ZERO.cost(&work, 1 << 20), Duration::ZERO);
    }
}
