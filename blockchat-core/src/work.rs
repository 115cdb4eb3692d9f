//! A tally of the expensive steps a node took, so a simulator can charge them as CPU time.

use std::ops::AddAssign;

/// Counts of costly operations performed while handling one input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Work {
    /// Ed25519 signatures made (transactions and blocks).
    pub signed: u32,
    /// Signatures verified one at a time.
    pub verified: u32,
    /// Signatures verified inside batches.
    pub batch_verified: u32,
    /// Batches verified.
    pub batches: u32,
    /// Distinct public keys in those batches (a batch verifier folds one key's signatures).
    pub batch_keys: u32,
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
        self.batch_keys += o.batch_keys;
        self.applied += o.applied;
        self.hashed_bytes += o.hashed_bytes;
    }
}

/// Counts one batch of `items` in `work`: the signatures and the distinct keys among them.
pub fn count_batch(work: &mut Work, items: &[crate::signature::SignedItem<'_>]) {
    let mut keys: Vec<&crate::ids::Address> = items.iter().map(|i| i.key).collect();
    keys.sort_unstable();
    keys.dedup();
    work.batches += 1;
    work.batch_verified += items.len() as u32;
    work.batch_keys += keys.len() as u32;
}
