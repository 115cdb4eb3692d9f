//! One seed, split into independent random streams per purpose, so that changing one part of a
//! scenario does not reshuffle the others.

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;
use sha2::{Digest, Sha256};

/// What a random stream is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Node wallets.
    Keys,
    /// Message delays and losses.
    Network,
    /// Generated course-format input files.
    Inputs,
    /// A node's client: think times, arrivals, synthetic receivers, amounts and texts (one
    /// stream per node, by index).
    Client,
    /// Byzantine behaviour and fault timing.
    Faults,
    /// The overlay graph.
    Topology,
}

impl Stream {
    fn label(self) -> &'static [u8] {
        match self {
            Stream::Keys => b"keys",
            Stream::Network => b"network",
            Stream::Inputs => b"inputs",
            Stream::Client => b"client",
            Stream::Faults => b"faults",
            Stream::Topology => b"topology",
        }
    }
}

/// The generator for `stream` under `seed`: ChaCha8 keyed by SHA-256(seed ‖ label).
pub fn rng(seed: u64, stream: Stream) -> ChaCha8Rng {
    ChaCha8Rng::from_seed(sub_seed(seed, stream.label()))
}

/// The generator for item `index` of `stream` under `seed` (one per node, say).
pub fn rng_for(seed: u64, stream: Stream, index: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(sub_seed_u64(seed, stream, index))
}

/// A 64-bit seed for item `index` of `stream` (for wallets, which take a `u64`).
pub fn sub_seed_u64(seed: u64, stream: Stream, index: u64) -> u64 {
    let mut h = Sha256::new();
    h.update(sub_seed(seed, stream.label()));
    h.update(index.to_be_bytes());
    let d: [u8; 32] = h.finalize().into();
    u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}

fn sub_seed(seed: u64, label: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(seed.to_be_bytes());
    h.update(label);
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::Rng;

    #[test]
    fn streams_are_independent_and_reproducible() {
        let a = rng(1, Stream::Network).next_u64();
        assert_eq!(a, rng(1, Stream::Network).next_u64());
        assert_ne!(a, rng(1, Stream::Inputs).next_u64());
        assert_ne!(rng_for(1, Stream::Client, 0).next_u64(), rng_for(1, Stream::Client, 1).next_u64());
        assert_ne!(a, rng(2, Stream::Network).next_u64());
        assert_ne!(sub_seed_u64(1, Stream::Keys, 0), sub_seed_u64(1, Stream::Keys, 1));
    }
}
