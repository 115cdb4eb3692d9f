//! Who talks to whom: the course's full mesh, or a random k-regular overlay for large networks.

use std::collections::VecDeque;

use rand_chacha::ChaCha8Rng;
use rand_core::Rng;
use thiserror::Error;

use crate::network::NodeId;

/// Why an overlay could not be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TopologyError {
    /// n·k must be even and k below n.
    #[error("no {k}-regular graph on {n} nodes exists (n·k must be even and k < n)")]
    Impossible {
        /// Nodes.
        n: usize,
        /// Degree.
        k: usize,
    },
    /// The random construction kept failing.
    #[error("could not draw a connected {k}-regular graph on {n} nodes")]
    GaveUp {
        /// Nodes.
        n: usize,
        /// Degree.
        k: usize,
    },
}

/// Each node's neighbours, sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    neighbours: Vec<Vec<NodeId>>,
}

impl Topology {
    /// Everyone connected to everyone.
    pub fn full_mesh(n: usize) -> Topology {
        Topology { neighbours: (0..n).map(|i| (0..n).filter(|&j| j != i).collect()).collect() }
    }

    /// A connected random k-regular graph (Steger–Wormald pairing: random stubs joined when
    /// they form a new edge, restarting when stuck).
    pub fn random_regular(n: usize, k: usize, rng: &mut ChaCha8Rng) -> Result<Topology, TopologyError> {
        if k >= n || (n * k) % 2 == 1 {
            return Err(TopologyError::Impossible { n, k });
        }
        for _ in 0..200 {
            if let Some(t) = try_regular(n, k, rng)
                && t.is_connected()
            {
                return Ok(t);
            }
        }
        Err(TopologyError::GaveUp { n, k })
    }

    /// The neighbours of `node`.
    pub fn neighbours(&self, node: NodeId) -> &[NodeId] {
        &self.neighbours[node]
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.neighbours.len()
    }

    /// Whether there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.neighbours.is_empty()
    }

    /// Whether every node can reach every other.
    pub fn is_connected(&self) -> bool {
        let n = self.neighbours.len();
        if n == 0 {
            return true;
        }
        let mut seen = vec![false; n];
        let mut queue = VecDeque::from([0]);
        seen[0] = true;
        while let Some(u) = queue.pop_front() {
            for &v in &self.neighbours[u] {
                if !seen[v] {
                    seen[v] = true;
                    queue.push_back(v);
                }
            }
        }
        seen.iter().all(|s| *s)
    }
}

fn try_regular(n: usize, k: usize, rng: &mut ChaCha8Rng) -> Option<Topology> {
    let mut stubs: Vec<NodeId> = (0..n).flat_map(|u| std::iter::repeat_n(u, k)).collect();
    let mut adj: Vec<Vec<NodeId>> = vec![Vec::with_capacity(k); n];
    let pick = |rng: &mut ChaCha8Rng, len: usize| (rng.next_u64() % len as u64) as usize;
    while !stubs.is_empty() {
        let mut pair = None;
        for _ in 0..64 {
            let (i, j) = (pick(rng, stubs.len()), pick(rng, stubs.len()));
            let (u, v) = (stubs[i], stubs[j]);
            if u != v && !adj[u].contains(&v) {
                pair = Some((i, j));
                break;
            }
        }
        if pair.is_none() {
            // Few stubs left: look for any suitable pair before giving up on this attempt.
            pair = (0..stubs.len()).find_map(|i| {
                (i + 1..stubs.len())
                    .find(|&j| stubs[i] != stubs[j] && !adj[stubs[i]].contains(&stubs[j]))
                    .map(|j| (i, j))
            });
        }
        let (i, j) = pair?;
        let (u, v) = (stubs[i], stubs[j]);
        adj[u].push(v);
        adj[v].push(u);
        stubs.swap_remove(i.max(j));
        stubs.swap_remove(i.min(j));
    }
    for list in &mut adj {
        list.sort_unstable();
    }
    Some(Topology { neighbours: adj })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::{Stream, rng};

    #[test]
    fn regular_graphs_are_regular_simple_connected_and_seeded() {
        for (n, k) in [(10, 3), (100, 8), (1_000, 8)] {
            let t = Topology::random_regular(n, k, &mut rng(7, Stream::Topology)).unwrap();
            for u in 0..n {
                let ns = t.neighbours(u);
                assert_eq!(ns.len(), k);
                assert!(!ns.contains(&u));
                assert!(ns.windows(2).all(|w| w[0] < w[1]), "no multi-edges");
                assert!(ns.iter().all(|&v| t.neighbours(v).contains(&u)), "symmetric");
            }
            assert!(t.is_connected());
            assert_eq!(t, Topology::random_regular(n, k, &mut rng(7, Stream::Topology)).unwrap());
        }
        assert_eq!(
            Topology::random_regular(5, 3, &mut rng(1, Stream::Topology)),
            Err(TopologyError::Impossible { n: 5, k: 3 })
        );
        assert_eq!(Topology::full_mesh(4).neighbours(2), &[0, 1, 3]);
    }
}
