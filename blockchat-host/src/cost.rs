//! The cost model: what each costly step of a node takes (CPU, frames, the block log), which the
//! simulator charges in virtual time and `blockchat calibrate` measures on the real daemon.

use std::time::Duration;

use blockchat_core::Work;
use serde::{Deserialize, Serialize};

/// Virtual nanoseconds per operation. Defaults are the medians measured by
/// `cargo bench -p blockchat-core` on the project's 2-core machine; `blockchat-sim calibrate`
/// measures the CPU part again, `blockchat calibrate` all of it.
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
    /// Each distinct public key in a batch (the verifier decompresses it and folds its
    /// signatures into one term): a batch from one sender costs less per signature.
    pub batch_key_ns: u64,
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
    /// Syncing the block log after a block, the part during which the disk serves no other
    /// sync (on one machine, syncs of several nodes take turns): the loop waits, no core works.
    pub block_sync_ns: u64,
    /// The rest of a sync's time, which overlaps other syncs (queues, the device's latency).
    pub sync_latency_ns: u64,
    /// The CPU time a sync takes from the syncing process (the kernel's file-system and
    /// block-layer work on its behalf), which keeps a core busy before the disk part.
    pub sync_cpu_ns: u64,
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
        // Measured before verification folded keys; kept so stored simulated runs stay put.
        batch_key_ns: 0,
        apply_ns: 400,
        hash_per_kib_ns: 570,
        receive_per_kib_ns: 1_600,
        per_input_ns: 500,
        frame_send_ns: 0,
        frame_receive_ns: 0,
        frame_per_kib_ns: 0,
        block_write_ns: 0,
        block_sync_ns: 0,
        sync_latency_ns: 0,
        sync_cpu_ns: 0,
    };

    /// Everything free: nodes react instantly.
    pub const ZERO: CostModel = CostModel {
        sign_ns: 0,
        verify_ns: 0,
        batch_verify_ns: 0,
        batch_base_ns: 0,
        batch_key_ns: 0,
        apply_ns: 0,
        hash_per_kib_ns: 0,
        receive_per_kib_ns: 0,
        per_input_ns: 0,
        frame_send_ns: 0,
        frame_receive_ns: 0,
        frame_per_kib_ns: 0,
        block_write_ns: 0,
        block_sync_ns: 0,
        sync_latency_ns: 0,
        sync_cpu_ns: 0,
    };

    /// Virtual time to handle one input of `received_bytes` that performed `work`.
    pub fn cost(&self, work: &Work, received_bytes: usize) -> Duration {
        let ns = self.per_input_ns
            + u64::from(work.signed) * self.sign_ns
            + u64::from(work.verified) * self.verify_ns
            + u64::from(work.batch_verified) * self.batch_verify_ns
            + u64::from(work.batches) * self.batch_base_ns
            + u64::from(work.batch_keys) * self.batch_key_ns
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

    /// Measures this machine's cryptography and decoding (the I/O fields keep their defaults:
    /// `blockchat calibrate` measures those as the daemon does them).
    pub fn calibrate() -> CostModel {
        let c = crate::calibrate::crypto();
        CostModel {
            sign_ns: c.sign_ns,
            verify_ns: c.verify_ns,
            batch_verify_ns: c.batch_verify_ns,
            batch_key_ns: c.batch_key_ns,
            hash_per_kib_ns: c.hash_per_kib_ns,
            receive_per_kib_ns: c.decode_per_kib_ns,
            ..CostModel::CALIBRATED
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_adds_up_and_zero_is_free() {
        let work = Work {
            signed: 1,
            verified: 2,
            batch_verified: 10,
            batches: 1,
            batch_keys: 3,
            applied: 5,
            hashed_bytes: 2048,
        };
        let m = CostModel::CALIBRATED;
        let want = m.per_input_ns
            + m.sign_ns
            + 2 * m.verify_ns
            + 10 * m.batch_verify_ns
            + m.batch_base_ns
            + 3 * m.batch_key_ns
            + 5 * m.apply_ns
            + 2 * m.hash_per_kib_ns
            + m.receive_per_kib_ns;
        assert_eq!(m.cost(&work, 1024), Duration::from_nanos(want));
        let folded = CostModel { batch_key_ns: 9_000, ..m };
        assert_eq!(folded.cost(&work, 1024), Duration::from_nanos(want + 27_000));
        assert_eq!(CostModel::ZERO.cost(&work, 1 << 20), Duration::ZERO);
    }
}
