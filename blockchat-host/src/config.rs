//! A node's settings: the one place that builds the core's `NodeConfig` from the network's
//! parameters, and the host's own policies.

use std::time::Duration;

use blockchat_core::{NetworkParams, NodeConfig};

/// The host's policies above the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostConfig {
    /// Longest transactions wait in an outbox before they are flushed anyway (the driver also
    /// flushes whenever it has nothing else to do).
    pub flush_after: Duration,
    /// Bytes held per peer while its link is down (blocks and transactions beyond are dropped:
    /// catch-up and re-announcing recover them).
    pub held_bytes: usize,
    /// Most bytes of transactions in one frame.
    pub frame_bytes: usize,
    /// Most submissions of a burst per turn, so that peers' messages interleave.
    pub chunk: usize,
    /// A burst pauses while this many transactions are pending.
    pub pause_above: usize,
    /// Re-announcements of our pending transactions after the chain has been quiet for a
    /// round timeout (each after twice the wait of the one before); 0 turns them off.
    pub reannounce: u32,
}

impl Default for HostConfig {
    fn default() -> HostConfig {
        HostConfig {
            flush_after: Duration::from_millis(5),
            held_bytes: 8 << 20,
            frame_bytes: 1 << 20,
            chunk: 64,
            pause_above: 40_000,
            reannounce: 3,
        }
    }
}

/// Everything a node is configured with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// The core node's settings.
    pub node: NodeConfig,
    /// The host's.
    pub host: HostConfig,
}

impl Settings {
    /// Defaults for a node of a network with `params`.
    pub fn new(params: &NetworkParams) -> Settings {
        Settings { node: NodeConfig::new(params), host: HostConfig::default() }
    }

    /// Forward what is new to peers (needed on sparse overlays).
    pub fn relay(mut self, relay: bool) -> Settings {
        self.node.relay = relay;
        self
    }

    /// Hold at most `limit` pending transactions.
    pub fn mempool_limit(mut self, limit: usize) -> Settings {
        self.node.mempool_limit = limit;
        self
    }
}
