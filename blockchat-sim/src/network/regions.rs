//! A geographic network in the style of SimBlock: nodes live in regions; a message takes the
//! regions' latency (Pareto-jittered around its mean) plus its size over the bottleneck bandwidth.
//!
//! Source of the numbers: SimBlock (Aoki et al., "SimBlock: A Blockchain Network Simulator",
//! IEEE INFOCOM Workshops 2019), `simulator/src/main/java/simblock/settings/NetworkConfiguration.java`
//! in github.com/dsg-titech/simblock: `LATENCY_2019` (mean one-way latency in ms between regions,
//! from Bitcoin node measurements), the 2019 per-region download/upload bandwidths, and
//! `REGION_DISTRIBUTION_BITCOIN_2019` (share of Bitcoin nodes per region).

use std::time::Duration;

use blockchat_core::Time;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Pareto};

use super::{NetworkModel, NodeId, millis, unit};

/// The six regions, in the order of every table here.
pub const REGION_NAMES: [&str; 6] = ["north_america", "europe", "south_america", "asia_pacific", "japan", "australia"];

/// Mean one-way latency between regions, in milliseconds (SimBlock `LATENCY_2019`).
pub const LATENCY_MS: [[u32; 6]; 6] = [
    [32, 124, 184, 198, 151, 189],
    [124, 11, 227, 237, 252, 294],
    [184, 227, 88, 325, 301, 322],
    [198, 237, 325, 85, 58, 198],
    [151, 252, 301, 58, 12, 126],
    [189, 294, 322, 198, 126, 16],
];

/// Download bandwidth per region, in bits per second (SimBlock 2019).
pub const DOWNLOAD_BPS: [u64; 6] = [52_000_000, 40_000_000, 18_000_000, 22_800_000, 22_800_000, 29_900_000];

/// Upload bandwidth per region, in bits per second (SimBlock 2019).
pub const UPLOAD_BPS: [u64; 6] = [19_200_000, 20_700_000, 5_800_000, 15_700_000, 10_200_000, 11_300_000];

/// Share of nodes per region (SimBlock `REGION_DISTRIBUTION_BITCOIN_2019`).
pub const DISTRIBUTION: [f64; 6] = [0.3316, 0.4998, 0.0090, 0.1177, 0.0224, 0.0195];

/// Pareto shape of the latency jitter (SimBlock draws latencies with this shape around the mean).
const JITTER_SHAPE: f64 = 5.0;

/// The geographic model.
#[derive(Debug, Clone)]
pub struct Regions {
    /// Region of each node (an index into the tables).
    pub region_of: Vec<usize>,
}

impl Regions {
    /// Assigns each of `n` nodes a region, drawn with the Bitcoin 2019 distribution (or
    /// `distribution` if given, six weights).
    pub fn assign(n: usize, distribution: Option<[f64; 6]>, rng: &mut ChaCha8Rng) -> Regions {
        let weights = distribution.unwrap_or(DISTRIBUTION);
        let total: f64 = weights.iter().sum();
        let region_of = (0..n)
            .map(|_| {
                let mut x = unit(rng) * total;
                for (i, w) in weights.iter().enumerate() {
                    if x < *w {
                        return i;
                    }
                    x -= w;
                }
                weights.len() - 1
            })
            .collect();
        Regions { region_of }
    }
}

impl NetworkModel for Regions {
    fn delivery(&mut self, from: NodeId, to: NodeId, size: usize, now: Time, rng: &mut ChaCha8Rng) -> Option<Time> {
        let (a, b) = (self.region_of[from], self.region_of[to]);
        let mean = f64::from(LATENCY_MS[a][b]);
        // A Pareto with this shape and scale has the matrix value as its mean.
        let scale = mean * (JITTER_SHAPE - 1.0) / JITTER_SHAPE;
        let latency = Pareto::new(scale, JITTER_SHAPE).map(|d| d.sample(rng)).unwrap_or(mean);
        let bandwidth = UPLOAD_BPS[a].min(DOWNLOAD_BPS[b]);
        let transfer = Duration::from_nanos((size as u64 * 8).saturating_mul(1_000_000_000) / bandwidth);
        Some(now + millis(latency) + transfer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::{Stream, rng};

    #[test]
    fn latency_follows_the_matrix_and_size_costs_bandwidth() {
        let mut r = rng(5, Stream::Network);
        let mut m = Regions { region_of: vec![0, 1, 5] };
        let n = 20_000;
        let mean = |m: &mut Regions, r: &mut ChaCha8Rng, to, size| {
            (0..n).map(|_| m.delivery(0, to, size, Time::ZERO, r).unwrap().as_nanos() as f64).sum::<f64>()
                / n as f64
                / 1e6
        };
        let eu = mean(&mut m, &mut r, 1, 0);
        assert!((eu - 124.0).abs() < 2.0, "{eu}");
        let au = mean(&mut m, &mut r, 2, 0);
        assert!((au - 189.0).abs() < 3.0, "{au}");
        // 1 MB from North America (19.2 Mbit/s up) to Europe: about 417 ms on top.
        let big = mean(&mut m, &mut r, 1, 1_000_000);
        assert!((big - eu - 416.7).abs() < 3.0, "{big}");
        let assigned = Regions::assign(10_000, None, &mut r);
        let europe = assigned.region_of.iter().filter(|&&x| x == 1).count();
        assert!((europe as f64 / 10_000.0 - 0.4998).abs() < 0.02);
    }
}
