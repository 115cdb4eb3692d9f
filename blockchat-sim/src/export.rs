//! The final chain as JSON with hex fields, complete enough for an outside tool to re-verify
//! every signature, hash, balance and validator choice from docs/PROTOCOL.md.

use std::path::Path;
use std::sync::Arc;

use blockchat_core::{Block, Genesis};
use serde::Serialize;

use crate::report::Report;

#[derive(Serialize)]
struct ChainFile<'a> {
    format: &'static str,
    capacity: usize,
    max_block_interval_ns: Option<u64>,
    genesis: &'a Genesis,
    blocks: &'a [Arc<Block>],
}

/// The JSON text of `report`'s final chain.
pub fn chain_json(report: &Report) -> String {
    let file = ChainFile {
        format: "blockchat-chain-v1",
        capacity: report.scenario.capacity,
        max_block_interval_ns: report.scenario.max_block_interval_ms.map(|ms| ms * 1_000_000),
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
