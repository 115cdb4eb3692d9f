//! Turns a scenario's descriptions into the network model and overlay they name.

use crate::SimError;
use crate::network::{
    self, Constant, Exponential, Ideal, LogNormal, LossMode, Lossy, NetworkModel, Pareto, Regions, Uniform,
};
use crate::scenario::{Latency, Scenario, Topology as TopologySpec};
use crate::seed::{self, Stream};
use crate::topology::Topology;

/// The network model of `s`, loss included.
pub fn network(s: &Scenario) -> Box<dyn NetworkModel> {
    let base: Box<dyn NetworkModel> = match &s.network.latency {
        Latency::Ideal => Box::new(Ideal),
        Latency::Constant { ms } => Box::new(Constant { latency: network::millis(*ms) }),
        Latency::Uniform { min_ms, max_ms } => Box::new(Uniform { min_ms: *min_ms, max_ms: *max_ms }),
        Latency::Exponential { base_ms, mean_ms } => Box::new(Exponential { base_ms: *base_ms, mean_ms: *mean_ms }),
        Latency::LogNormal { median_ms, sigma } => Box::new(LogNormal { median_ms: *median_ms, sigma: *sigma }),
        Latency::Pareto { scale_ms, shape } => Box::new(Pareto { scale_ms: *scale_ms, shape: *shape }),
        Latency::Regions { distribution } => {
            // Placement is part of the network's shape, drawn from the topology stream.
            let mut rng = seed::rng(s.seed, Stream::Topology);
            Box::new(Regions::assign(s.nodes, *distribution, &mut rng))
        }
    };
    match &s.network.loss {
        Some(loss) if loss.rate > 0.0 => {
            let mode = match loss.retransmit_ms {
                Some(ms) => LossMode::Retransmit { rto: network::millis(ms) },
                None => LossMode::Drop,
            };
            Box::new(Lossy { inner: base, rate: loss.rate, mode })
        }
        _ => base,
    }
}

/// The overlay of `s`.
pub fn topology(s: &Scenario) -> Result<Topology, SimError> {
    match s.topology {
        TopologySpec::FullMesh => Ok(Topology::full_mesh(s.nodes)),
        TopologySpec::Regular { k } => {
            Ok(Topology::random_regular(s.nodes, k, &mut seed::rng(s.seed, Stream::Topology))?)
        }
    }
}

/// A short label for the network, for reports: `ideal`, `constant-0.2ms`, `regions`, ….
pub fn network_label(s: &Scenario) -> String {
    let base = match &s.network.latency {
        Latency::Ideal => "ideal".to_string(),
        Latency::Constant { ms } => format!("constant-{ms}ms"),
        Latency::Uniform { min_ms, max_ms } => format!("uniform-{min_ms}-{max_ms}ms"),
        Latency::Exponential { base_ms, mean_ms } => format!("exponential-{base_ms}+{mean_ms}ms"),
        Latency::LogNormal { median_ms, sigma } => format!("lognormal-{median_ms}ms-{sigma}"),
        Latency::Pareto { scale_ms, shape } => format!("pareto-{scale_ms}ms-{shape}"),
        Latency::Regions { .. } => "regions".to_string(),
    };
    match &s.network.loss {
        Some(l) if l.rate > 0.0 => format!("{base}+loss{}", l.rate),
        _ => base,
    }
}

/// A short label for the overlay: `full` or `regular-8`.
pub fn topology_label(s: &Scenario) -> String {
    match s.topology {
        TopologySpec::FullMesh => "full".into(),
        TopologySpec::Regular { k } => format!("regular-{k}"),
    }
}
