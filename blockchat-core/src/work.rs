//! A tally of the expensive steps a node took, so a simulator can charge them as CPU time.

use std::ops::AddAssign;

/// Counts of costly operations performed while handling one input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Work {
    /// Ed25519 signatures made (transactions and blocks).
    pub signed: u32,
    /// Signatures verified one at a time.
    pub verified: u32,
    /// Signatures verified inside batches.
    pub batch_verified: u32,
    /// Batches verified.
    pub batches: u32,
    /// Transactions applied to the ledger (validation or minting).
    pub applied: u32,
    /// Bytes hashed to build ids and block hashes.
    pub hashed_bytes: u64,
}

impl AddAssign for Work {
    fn add_assign(&mut self, o: Work) {
        self.signed += o.signed;
        self.verified += o.verified;
        self.batch_verified += o.batch_verified;
        self.batches += o.batches;
        self.applied += o.applied;
        self.hashed_bytes += o.hashed_bytes;
    }
}
