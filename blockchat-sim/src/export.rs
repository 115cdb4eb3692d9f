//! The final chain as JSON with hex fields, complete enough for an outside tool to re-verify
//! every signature, hash, balance and validator choice from docs/PROTOCOL.md.

use std::path::Path;
use std::sync::Arc;

use blockchat_core::{Block, Genesis};
use serde::Serialize;

use crate::report::Report;

/// The exported file: the network's rules, the genesis configuration, every block.
#[derive(Serialize)]
struct ChainFile<'a> {
    format: &'static str,
    capacity: usize,
    max_block_interval_ns: Option<u64>,
    round_timeout_ns: u64,
    max_reorg_depth: u64,
    initial_balance: u64,
    genesis: &'a Genesis,
    blocks: &'a [Arc<Block>],
}

/// The JSON text of `report`'s final chain.
pub fn chain_json(report: &Report) -> String {
    let params = report.genesis.params;
    let file = ChainFile {
        format: "blockchat-chain-v2",
        capacity: params.capacity,
        max_block_interval_ns: params.max_block_interval.map(|d| d.as_nanos() as u64),
        round_timeout_ns: params.round_timeout.as_nanos() as u64,
        max_reorg_depth: params.max_reorg_depth,
        initial_balance: params.initial_balance,
        genesis: &report.genesis,
        blocks: &report.chain,
    };
    // Serialising plain data into a string cannot fail.
    serde_json::to_string_pretty(&file).unwrap_or_default()
}

/// Writes the chain JSON to `path`.
pub fn write_chain(report: &Report, path: &Path) -> std::io::Result<()> {
    std::fs::write(path, chain_json(report))
}
