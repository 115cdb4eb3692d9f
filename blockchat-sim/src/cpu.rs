//! The CPU model: what each costly step of a node takes in virtual time, and the machine the
//! nodes run on (a core each, or a few cores they share, as a local cluster does).

use std::time::{Duration, Instant};

use blockchat_core::signature::SignedItem;
use blockchat_core::{Ed25519Check, SignatureCheck, Time, Transaction, TxKind, Wallet, Work};
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
    /// Writing one frame to a socket (the writer: encoding, the system call).
    pub frame_send_ns: u64,
    /// Reading one frame from a socket (the reader: the system call, decoding, queueing).
    pub frame_receive_ns: u64,
    /// Moving a frame's bytes through both ends' kernels, per KiB.
    pub frame_per_kib_ns: u64,
    /// Appending one block to the block log (the write call).
    pub block_write_ns: u64,
    /// Syncing the block log after a block: the node's loop waits, no core is busy.
    pub block_sync_ns: u64,
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
        frame_send_ns: 0,
        frame_receive_ns: 0,
        frame_per_kib_ns: 0,
        block_write_ns: 0,
        block_sync_ns: 0,
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
        frame_send_ns: 0,
        frame_receive_ns: 0,
        frame_per_kib_ns: 0,
        block_write_ns: 0,
        block_sync_ns: 0,
    };

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

    /// CPU time a writer spends on one frame of `bytes`.
    pub fn send(&self, bytes: usize) -> Duration {
        Duration::from_nanos(self.frame_send_ns + bytes as u64 * self.frame_per_kib_ns / 2048)
    }

    /// CPU time a reader spends on one frame of `bytes`.
    pub fn receive(&self, bytes: usize) -> Duration {
        Duration::from_nanos(self.frame_receive_ns + bytes as u64 * self.frame_per_kib_ns / 2048)
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

/// The cores the nodes run on: unlimited (a machine each), or a few shared by every node's
/// loop, readers and writers (a local cluster); a step waits for the first free core.
#[derive(Debug, Clone)]
pub struct Machine {
    // When each shared core is next free; empty when every node has its own.
    free_at: Vec<Time>,
}

impl Machine {
    /// A machine each (`None`) or `cores` shared cores.
    pub fn new(cores: Option<usize>) -> Machine {
        Machine { free_at: vec![Time::ZERO; cores.unwrap_or(0)] }
    }

    /// Runs `work` of CPU time that is ready at `ready`; returns when it is done.
    pub fn run(&mut self, ready: Time, work: Duration) -> Time {
        if work.is_zero() {
            return ready;
        }
        let start = self.start(ready);
        self.finish(start, work)
    }

    /// When a step ready at `ready` can start: at once, or when the first core frees up.
    pub fn start(&self, ready: Time) -> Time {
        self.free_at.iter().min().map_or(ready, |free| ready.max(*free))
    }

    /// Books the first free core from `start` (as [`Machine::start`] gave it) for `work`;
    /// returns when it is done.
    pub fn finish(&mut self, start: Time, work: Duration) -> Time {
        let done = start + work;
        if let Some(k) = self.free_at.iter().enumerate().min_by_key(|(k, t)| (**t, *k)).map(|(k, _)| k) {
            if !work.is_zero() {
                self.free_at[k] = done;
            }
        }
        done
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

    #[test]
    fn shared_cores_queue_work_and_own_cores_do_not() {
        let ms = Duration::from_millis;
        let mut own = Machine::new(None);
        assert_eq!(own.run(Time::from_millis(1), ms(5)), Time::from_millis(6));
        assert_eq!(own.run(Time::from_millis(1), ms(5)), Time::from_millis(6));
        let mut two = Machine::new(Some(2));
        let done: Vec<Time> = (0..3).map(|_| two.run(Time::from_millis(1), ms(5))).collect();
        assert_eq!(done, vec![Time::from_millis(6), Time::from_millis(6), Time::from_millis(11)]);
        assert_eq!(two.run(Time::from_millis(20), ms(1)), Time::from_millis(21));
    }
}
