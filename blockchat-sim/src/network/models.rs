//! Latency distributions: ideal, constant, uniform jitter, exponential, log-normal, Pareto.

use std::time::Duration;

use blockchat_core::Time;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp, LogNormal as LogNormalDist, Pareto as ParetoDist};

use super::{NetworkModel, NodeId, millis, unit};

/// Instant delivery.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ideal;

impl NetworkModel for Ideal {
    fn delivery(&mut self, _: NodeId, _: NodeId, _: usize, now: Time, _: &mut ChaCha8Rng) -> Option<Time> {
        Some(now)
    }

    fn keeps_order(&self) -> bool {
        true
    }
}

/// The same latency for every message.
#[derive(Debug, Clone, Copy)]
pub struct Constant {
    /// One-way latency.
    pub latency: Duration,
}

impl NetworkModel for Constant {
    fn delivery(&mut self, _: NodeId, _: NodeId, _: usize, now: Time, _: &mut ChaCha8Rng) -> Option<Time> {
        Some(now + self.latency)
    }

    fn keeps_order(&self) -> bool {
        true
    }
}

/// A latency drawn uniformly from [min, max].
#[derive(Debug, Clone, Copy)]
pub struct Uniform {
    /// Smallest latency, in milliseconds.
    pub min_ms: f64,
    /// Largest latency, in milliseconds.
    pub max_ms: f64,
}

impl NetworkModel for Uniform {
    fn delivery(&mut self, _: NodeId, _: NodeId, _: usize, now: Time, rng: &mut ChaCha8Rng) -> Option<Time> {
        Some(now + millis(self.min_ms + (self.max_ms - self.min_ms) * unit(rng)))
    }
}

/// A base latency plus an exponentially distributed extra.
#[derive(Debug, Clone, Copy)]
pub struct Exponential {
    /// Fixed part, in milliseconds.
    pub base_ms: f64,
    /// Mean of the exponential part, in milliseconds.
    pub mean_ms: f64,
}

impl NetworkModel for Exponential {
    fn delivery(&mut self, _: NodeId, _: NodeId, _: usize, now: Time, rng: &mut ChaCha8Rng) -> Option<Time> {
        let extra = Exp::new(1.0 / self.mean_ms.max(1e-9)).map(|d| d.sample(rng)).unwrap_or(0.0);
        Some(now + millis(self.base_ms + extra))
    }
}

/// A long-tailed latency: log-normal with the given median and shape.
#[derive(Debug, Clone, Copy)]
pub struct LogNormal {
    /// Median latency, in milliseconds.
    pub median_ms: f64,
    /// Standard deviation of the underlying normal (tail weight).
    pub sigma: f64,
}

impl NetworkModel for LogNormal {
    fn delivery(&mut self, _: NodeId, _: NodeId, _: usize, now: Time, rng: &mut ChaCha8Rng) -> Option<Time> {
        let d = LogNormalDist::new(self.median_ms.max(1e-9).ln(), self.sigma.max(0.0));
        Some(now + millis(d.map(|d| d.sample(rng)).unwrap_or(self.median_ms)))
    }
}

/// A long-tailed latency: Pareto with the given scale (minimum) and shape.
#[derive(Debug, Clone, Copy)]
pub struct Pareto {
    /// Smallest latency, in milliseconds.
    pub scale_ms: f64,
    /// Tail index; smaller is heavier.
    pub shape: f64,
}

impl NetworkModel for Pareto {
    fn delivery(&mut self, _: NodeId, _: NodeId, _: usize, now: Time, rng: &mut ChaCha8Rng) -> Option<Time> {
        let d = ParetoDist::new(self.scale_ms.max(1e-9), self.shape.max(1e-3));
        Some(now + millis(d.map(|d| d.sample(rng)).unwrap_or(self.scale_ms)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::{Stream, rng};

    fn mean_ms(model: &mut dyn NetworkModel) -> f64 {
        let mut r = rng(3, Stream::Network);
        let n = 20_000;
        let total: u64 = (0..n).map(|_| model.delivery(0, 1, 100, Time::ZERO, &mut r).unwrap().as_nanos()).sum();
        total as f64 / n as f64 / 1e6
    }

    #[test]
    fn distributions_have_the_expected_means() {
        assert_eq!(mean_ms(&mut Ideal), 0.0);
        assert!((mean_ms(&mut Constant { latency: millis(2.5) }) - 2.5).abs() < 1e-9);
        assert!((mean_ms(&mut Uniform { min_ms: 1.0, max_ms: 3.0 }) - 2.0).abs() < 0.03);
        assert!((mean_ms(&mut Exponential { base_ms: 1.0, mean_ms: 4.0 }) - 5.0).abs() < 0.15);
        // Log-normal mean = median · exp(σ²/2).
        let ln = mean_ms(&mut LogNormal { median_ms: 10.0, sigma: 0.5 });
        assert!((ln - 10.0 * (0.125f64).exp()).abs() < 0.3, "{ln}");
        // Pareto mean = scale · shape / (shape − 1).
        let p = mean_ms(&mut Pareto { scale_ms: 8.0, shape: 5.0 });
        assert!((p - 10.0).abs() < 0.3, "{p}");
    }
}
