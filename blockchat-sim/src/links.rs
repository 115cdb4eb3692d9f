//! The scenario's changes to the network over time: partitions, one-way cuts, slow or lossy
//! links, heals.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::network::NodeId;

/// Current overrides on top of the network model.
#[derive(Debug, Clone, Default)]
pub struct Links {
    // Group of each node while partitioned.
    group: Option<Vec<usize>>,
    // Directed (from, to) pairs whose messages are lost.
    cut: BTreeMap<(NodeId, NodeId), ()>,
    // Per directed link: extra latency and loss rate.
    degraded: BTreeMap<(NodeId, NodeId), (Duration, f64)>,
}

impl Links {
    /// Splits `nodes` nodes into `groups`; unlisted nodes form one more group.
    pub fn partition(&mut self, nodes: usize, groups: &[Vec<usize>]) {
        let mut g = vec![groups.len(); nodes];
        for (i, members) in groups.iter().enumerate() {
            for &m in members {
                g[m] = i;
            }
        }
        self.group = Some(g);
    }

    /// Loses every message from a node in `from` to a node in `to`.
    pub fn cut_one_way(&mut self, from: &[usize], to: &[usize]) {
        for &a in from {
            for &b in to {
                self.cut.insert((a, b), ());
            }
        }
    }

    /// Slows and/or degrades the link between `a` and `b`, both ways.
    pub fn degrade(&mut self, a: usize, b: usize, extra: Duration, loss: f64) {
        self.degraded.insert((a, b), (extra, loss));
        self.degraded.insert((b, a), (extra, loss));
    }

    /// Undoes everything; returns the directed pairs that could not talk before and now can.
    pub fn heal(&mut self, nodes: usize) -> Vec<(NodeId, NodeId)> {
        let mut restored = Vec::new();
        for a in 0..nodes {
            for b in 0..nodes {
                if a != b && !self.allowed(a, b) {
                    restored.push((a, b));
                }
            }
        }
        *self = Links::default();
        restored
    }

    /// Whether a message from `a` can reach `b` at all.
    pub fn allowed(&self, a: NodeId, b: NodeId) -> bool {
        if let Some(g) = &self.group
            && g[a] != g[b]
        {
            return false;
        }
        !self.cut.contains_key(&(a, b))
    }

    /// Extra latency and loss rate on the link from `a` to `b`.
    pub fn degradation(&self, a: NodeId, b: NodeId) -> Option<(Duration, f64)> {
        if self.degraded.is_empty() {
            return None;
        }
        self.degraded.get(&(a, b)).copied()
    }

    /// Whether anything is overridden.
    pub fn is_normal(&self) -> bool {
        self.group.is_none() && self.cut.is_empty() && self.degraded.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_cuts_and_heal() {
        let mut l = Links::default();
        assert!(l.allowed(0, 3) && l.is_normal());
        l.partition(5, &[vec![0, 1]]);
        assert!(l.allowed(0, 1) && l.allowed(2, 4) && !l.allowed(1, 2) && !l.allowed(4, 0));
        l.cut_one_way(&[0], &[1]);
        assert!(!l.allowed(0, 1) && l.allowed(1, 0));
        l.degrade(2, 3, Duration::from_millis(5), 0.5);
        assert_eq!(l.degradation(3, 2), Some((Duration::from_millis(5), 0.5)));
        let restored = l.heal(5);
        assert!(restored.contains(&(0, 1)) && restored.contains(&(2, 0)) && !restored.contains(&(1, 0)));
        assert!(l.is_normal() && l.allowed(0, 1));
    }
}
