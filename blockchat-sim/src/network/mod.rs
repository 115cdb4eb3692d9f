//! Network models: when (and whether) a message arrives. A model is a small trait; the built-in
//! ones cover ideal, constant, jittered, long-tailed and geographic networks, and loss.

mod models;
mod regions;

use std::time::Duration;

use blockchat_core::Time;
use rand_chacha::ChaCha8Rng;
use rand_core::Rng;

pub use models::{Constant, Exponential, Ideal, LogNormal, Pareto, Uniform};
pub use regions::{REGION_NAMES, Regions};

/// Index of a simulated node.
pub type NodeId = usize;

/// Decides the fate of one message. Implement it in a few lines to try another network.
pub trait NetworkModel {
    /// When a message of `size` bytes sent by `from` to `to` at `now` arrives, or `None` if lost.
    fn delivery(&mut self, from: NodeId, to: NodeId, size: usize, now: Time, rng: &mut ChaCha8Rng) -> Option<Time>;

    /// Whether messages on one link can never overtake each other (so FIFO needs no
    /// book-keeping): true for latencies that do not vary.
    fn keeps_order(&self) -> bool {
        false
    }
}

impl<M: NetworkModel + ?Sized> NetworkModel for Box<M> {
    fn delivery(&mut self, from: NodeId, to: NodeId, size: usize, now: Time, rng: &mut ChaCha8Rng) -> Option<Time> {
        (**self).delivery(from, to, size, now, rng)
    }

    fn keeps_order(&self) -> bool {
        (**self).keeps_order()
    }
}

/// What happens to a lost message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LossMode {
    /// It is gone.
    Drop,
    /// It is sent again after `rto` (TCP-like), as often as needed.
    Retransmit {
        /// Retransmission timeout.
        rto: Duration,
    },
}

/// Wraps a model with a loss probability.
#[derive(Debug)]
pub struct Lossy<M> {
    /// The underlying model.
    pub inner: M,
    /// Probability that one transmission is lost.
    pub rate: f64,
    /// What a loss means.
    pub mode: LossMode,
}

impl<M: NetworkModel> NetworkModel for Lossy<M> {
    fn delivery(&mut self, from: NodeId, to: NodeId, size: usize, now: Time, rng: &mut ChaCha8Rng) -> Option<Time> {
        let mut penalty = Duration::ZERO;
        // A loss rate of 1 would retransmit forever; cap it at a (very unlikely) 64 attempts.
        for _ in 0..64 {
            if !lost(rng, self.rate) {
                return self.inner.delivery(from, to, size, now + penalty, rng);
            }
            match self.mode {
                LossMode::Drop => return None,
                LossMode::Retransmit { rto } => penalty += rto,
            }
        }
        None
    }
}

/// A Bernoulli draw with probability `p`.
pub fn lost(rng: &mut ChaCha8Rng, p: f64) -> bool {
    p > 0.0 && unit(rng) < p
}

/// A uniform draw in [0, 1) from 53 random bits.
pub fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// `ms` milliseconds (possibly fractional) as a duration, never negative.
pub fn millis(ms: f64) -> Duration {
    Duration::from_nanos((ms.max(0.0) * 1e6).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::{Stream, rng};

    #[test]
    fn loss_drops_or_delays() {
        let mut r = rng(1, Stream::Network);
        let mut drop = Lossy { inner: Constant { latency: millis(1.0) }, rate: 0.5, mode: LossMode::Drop };
        let n = 10_000;
        let arrived = (0..n).filter(|_| drop.delivery(0, 1, 100, Time::ZERO, &mut r).is_some()).count();
        assert!((arrived as f64 / n as f64 - 0.5).abs() < 0.03, "{arrived}");
        let mut retx = Lossy {
            inner: Constant { latency: millis(1.0) },
            rate: 0.5,
            mode: LossMode::Retransmit { rto: millis(200.0) },
        };
        for _ in 0..100 {
            let at = retx.delivery(0, 1, 100, Time::ZERO, &mut r).unwrap();
            let extra = at.as_nanos() - 1_000_000;
            assert_eq!(extra % 200_000_000, 0, "delays are whole retransmission timeouts");
        }
    }
}
