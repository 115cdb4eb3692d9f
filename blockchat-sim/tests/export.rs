//! The exported chain is complete: from the JSON alone (no simulator state), every id, hash,
//! signature, validator choice and balance can be checked again.

use std::sync::Arc;
use std::time::Duration;

use blockchat_core::genesis::GenesisAccount;
use blockchat_core::{
    Address, Block, BlockHash, Ed25519Check, Genesis, NetworkParams, Node, NodeConfig, Signature, Time, Transaction,
    TxId, TxKind, Wallet,
};
use blockchat_sim::scenario::Scenario;
use serde_json::Value;

fn hex<T: std::str::FromStr>(v: &Value) -> T
where
    T::Err: std::fmt::Debug,
{
    v.as_str().expect("a hex string").parse().expect("valid hex")
}

fn transaction(v: &Value) -> Arc<Transaction> {
    let kind = match v["type"].as_str().unwrap() {
        "coins" => TxKind::Coins { amount: v["amount"].as_u64().unwrap() },
        "message" => TxKind::Message { text: v["text"].as_str().unwrap().to_string() },
        "stake" => TxKind::Stake { amount: v["amount"].as_u64().unwrap() },
        other => panic!("unknown kind {other}"),
    };
    let tx = Transaction::from_parts(
        hex::<Address>(&v["sender"]),
        hex::<Address>(&v["receiver"]),
        kind,
        v["nonce"].as_u64().unwrap(),
        hex::<Signature>(&v["signature"]),
    );
    assert_eq!(tx.id(), hex::<TxId>(&v["id"]), "the exported id is the hash of the exported fields");
    Arc::new(tx)
}

#[test]
fn an_exported_chain_reverifies_from_the_json_alone() {
    let s = Scenario { nodes: 4, capacity: 4, seed: 21, ..Scenario::default() };
    let report = blockchat_sim::run(&s).unwrap();
    let json: Value = serde_json::from_str(&blockchat_sim::export::chain_json(&report)).unwrap();
    assert_eq!(json["format"], "blockchat-chain-v2");

    // The rules, as the genesis records them (durations as serde writes them: secs and nanos).
    let g = &json["genesis"];
    let duration = |v: &Value| Duration::new(v["secs"].as_u64().unwrap(), v["nanos"].as_u64().unwrap() as u32);
    let p = &g["params"];
    let params = NetworkParams {
        capacity: p["capacity"].as_u64().unwrap() as usize,
        max_block_interval: (!p["max_block_interval"].is_null()).then(|| duration(&p["max_block_interval"])),
        round_timeout: duration(&p["round_timeout"]),
        max_reorg_depth: p["max_reorg_depth"].as_u64().unwrap(),
        initial_balance: p["initial_balance"].as_u64().unwrap(),
    };
    assert!(params.max_block_interval.is_none());
    // The file's top-level copy of the rules says the same.
    assert_eq!(json["capacity"].as_u64().unwrap() as usize, params.capacity);
    assert_eq!(json["round_timeout_ns"].as_u64().unwrap() as u128, params.round_timeout.as_nanos());
    assert!(json["max_block_interval_ns"].is_null());
    assert_eq!(json["max_reorg_depth"].as_u64().unwrap(), params.max_reorg_depth);
    assert_eq!(json["initial_balance"].as_u64().unwrap(), params.initial_balance);
    assert_eq!(params, s.network_params());
    let accounts = g["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| GenesisAccount { address: hex(&a["address"]), stake: a["stake"].as_u64().unwrap() })
        .collect();
    let genesis = Genesis { params, accounts, timestamp: Time(g["timestamp"].as_u64().unwrap()) };

    let blocks: Vec<Arc<Block>> = json["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let block = Block::from_parts(
                b["index"].as_u64().unwrap(),
                Time(b["timestamp"].as_u64().unwrap()),
                b["round"].as_u64().unwrap() as u32,
                hex(&b["validator"]),
                hex(&b["previous_hash"]),
                b["transactions"].as_array().unwrap().iter().map(transaction).collect(),
                hex(&b["signature"]),
            );
            assert_eq!(
                block.hash(),
                hex::<BlockHash>(&b["hash"]),
                "the exported hash is the hash of the exported fields"
            );
            Arc::new(block)
        })
        .collect();
    // The genesis block's first transaction is the parameter record: a message from address 0
    // to address 0 whose text is the rules' canonical record.
    let record = &blocks[0].transactions()[0];
    assert_eq!((record.sender(), record.receiver()), (Address::ZERO, Address::ZERO));
    assert_eq!(record.kind(), &TxKind::Message { text: params.record() });
    let rebuilt = genesis.block().unwrap();
    assert_eq!(rebuilt.hash(), blocks[0].hash(), "the genesis block follows from the genesis configuration");
    assert_eq!(*blocks[0], rebuilt);

    let mut node = Node::new(NodeConfig::new(&params), Wallet::from_seed(0), &blocks[0], Ed25519Check::new()).unwrap();
    for b in &blocks[1..] {
        node.load_block(b.clone()).unwrap();
    }
    assert_eq!(node.chain().tip().hash(), report.chain_digest);
    for v in &report.validators {
        assert_eq!(node.ledger().account(&v.address).copied().unwrap(), v.account, "node {}", v.node);
    }
}

#[test]
fn shipped_scenarios_load_and_run_healthily() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    assert!(names.len() >= 5);
    for path in names {
        let s = Scenario::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if s.nodes > 50 {
            continue; // the large ones run in the benchmarks, not in CI
        }
        let r = blockchat_sim::run(&s).unwrap();
        assert!(r.agreement && r.supply_conserved, "{}", path.display());
        assert!(r.summary.committed > 0, "{}", path.display());
    }
}
