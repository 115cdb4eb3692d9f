//! Whole runs: determinism, agreement on the course's and generated files, every adversary, a
//! crashed validator, a partition and heal, a crash and restart.

use std::path::PathBuf;
use std::sync::Arc;

use blockchat_core::{Block, Ed25519Check, Genesis, Node, NodeConfig, Wallet};
use blockchat_host::Think;
use blockchat_host::client::synthetic::Receivers;
use blockchat_sim::scenario::{Behaviour, Fault, NetEvent, Scenario, Stop, Workload};
use blockchat_sim::{Report, run};

fn synthetic(nodes: usize, count: usize, rate: f64) -> Scenario {
    Scenario {
        name: "test".into(),
        nodes,
        capacity: 5,
        round_timeout_ms: 500,
        workload: Workload::Synthetic {
            burst: false,
            rate_per_node: Some(rate),
            count,
            coin_fraction: 0.7,
            amount_units: [1_000, 50_000],
            message_chars: [1, 4],
            receivers: Receivers::Uniform,
        },
        ..Scenario::default()
    }
}

/// Replays the final chain into a fresh node: every signature, hash, validator and balance is
/// checked again, so no invalid transaction or double spend can hide in it. The network's rules
/// come from the genesis block, which must record the scenario's.
fn revalidate(report: &Report) {
    let genesis = &report.chain[0];
    let params = Genesis::from_block(genesis).expect("a canonical genesis block").params;
    assert_eq!(params, report.scenario.network_params(), "the genesis records the scenario's rules");
    let mut node = Node::new(NodeConfig::new(&params), Wallet::from_seed(0), genesis, Ed25519Check::new()).unwrap();
    for b in &report.chain[1..] {
        node.load_block(b.clone()).unwrap_or_else(|e| panic!("block {} does not revalidate: {e}", b.index()));
    }
    let supply: u64 = node.ledger().accounts().map(|(_, a)| a.balance).sum();
    assert_eq!(supply, node.ledger().total_supply());
}

/// Every planned line of an honest-only run is accounted for exactly once.
fn assert_accounted(report: &Report) {
    let s = &report.summary;
    assert_eq!(
        s.committed + s.rejected + s.pending + s.unsent + s.lost_to_crash,
        s.planned,
        "lines unaccounted for (seed {}): {s:?}",
        report.scenario.seed
    );
    assert!(s.submitted <= s.planned, "{s:?}");
}

fn assert_healthy(report: &Report) {
    assert!(report.agreement, "honest nodes disagree (seed {})", report.scenario.seed);
    assert!(report.supply_conserved);
    revalidate(report);
}

#[test]
fn same_seed_same_bytes_other_seed_other_fingerprint() {
    let s = Scenario { seed: 11, ..Scenario::default() };
    let (a, b) = (run(&s).unwrap(), run(&s).unwrap());
    assert_eq!(a.fingerprint(), b.fingerprint());
    assert_eq!(a.csv_row(), b.csv_row());
    assert_eq!(a.blocks_csv_rows(), b.blocks_csv_rows());
    let c = run(&Scenario { seed: 12, ..s }).unwrap();
    assert_ne!(a.fingerprint(), c.fingerprint());
    assert_healthy(&a);
}

#[test]
fn the_cli_writes_identical_csv_bytes_twice() {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_blockchat-sim");
    let mut outputs = Vec::new();
    for i in 0..2 {
        let csv = dir.path().join(format!("run{i}.csv"));
        let blocks = dir.path().join(format!("blocks{i}.csv"));
        let out = std::process::Command::new(bin)
            .args(["run", "-n", "4", "-c", "4", "--seed", "5", "--quiet", "--csv"])
            .arg(&csv)
            .arg("--blocks-csv")
            .arg(&blocks)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        outputs.push((std::fs::read(&csv).unwrap(), std::fs::read(&blocks).unwrap(), out.stdout));
    }
    assert_eq!(outputs[0], outputs[1]);
    let header = String::from_utf8(outputs[0].0.clone()).unwrap();
    assert!(header.starts_with("name,seed,nodes,capacity,stake,"));
    let check = std::process::Command::new(bin).args(["run", "-n", "3", "--check-determinism"]).output().unwrap();
    assert!(check.status.success());
    assert!(String::from_utf8_lossy(&check.stdout).contains("determinism check: two runs gave fingerprint"));
}

#[test]
fn bad_command_lines_are_clear_errors() {
    let bin = env!("CARGO_BIN_EXE_blockchat-sim");
    for (args, want) in [
        (vec!["run", "-n", "1"], "nodes must be at least 2"),
        (vec!["run", "--stake", "ten"], "--stake 'ten'"),
        (vec!["run", "--network", "moon"], "--network 'moon'"),
        (vec!["run", "--until", "forever"], "--until 'forever'"),
        (vec!["run", "--inputs", "/nonexistent/dir"], "trans0.txt"),
        (vec!["run", "--scenario", "/nonexistent.toml"], "cannot read scenario"),
    ] {
        let out = std::process::Command::new(bin).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
    // A run that fails while running (here: its CSV cannot be written) exits with 1.
    let out = std::process::Command::new(bin).args(["run", "--csv", "/nonexistent/dir/runs.csv"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot write /nonexistent/dir/runs.csv"));
}

fn official(dir: &str) -> Option<PathBuf> {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/blockchat-inputs").join(dir);
    d.exists().then_some(d)
}

#[test]
fn course_files_and_generated_files_reach_agreement() {
    let mut cases = vec![
        Scenario { nodes: 5, ..Scenario::default() },
        Scenario { nodes: 10, capacity: 10, seed: 3, ..Scenario::default() },
        Scenario {
            nodes: 5,
            workload: Workload::Course { inputs: None, lines: 100, think: Think { min_ms: 100.0, max_ms: 500.0 } },
            ..Scenario::default()
        },
    ];
    for (dir, n) in [("5nodes", 5), ("10nodes", 10)] {
        match official(dir) {
            Some(path) => cases.push(Scenario {
                nodes: n,
                capacity: 10,
                workload: Workload::Course { inputs: Some(path), lines: 100, think: Think::default() },
                ..Scenario::default()
            }),
            None => eprintln!("skipped the official {dir} files: not present"),
        }
    }
    for s in cases {
        let r = run(&s).unwrap();
        assert_healthy(&r);
        assert_eq!(r.summary.planned, 100 * s.nodes as u64);
        assert_accounted(&r);
        assert!(r.summary.committed > 0);
    }
}

fn byzantine(behaviour: Behaviour) -> Report {
    let s = Scenario { faults: vec![Fault::Byzantine { node: 1, behaviour }], ..synthetic(5, 400, 20.0) };
    let r = run(&s).unwrap();
    assert_healthy(&r);
    assert!(r.summary.blocks >= 20, "{behaviour:?}: only {} blocks", r.summary.blocks);
    r
}

#[test]
fn invalid_signatures_are_rejected() {
    let r = byzantine(Behaviour::InvalidSignatures);
    assert!(r.peer_rejected.get("BadSignature").copied().unwrap_or(0) > 0, "{:?}", r.peer_rejected);
}

#[test]
fn double_spends_never_both_commit() {
    let r = byzantine(Behaviour::DoubleSpend);
    let adversary = r.validators[1].address;
    let mut nonces: Vec<u64> = r.chain[1..]
        .iter()
        .flat_map(|b| b.transactions().iter().filter(|t| t.sender() == adversary).map(|t| t.nonce()))
        .collect();
    let all = nonces.len();
    nonces.sort_unstable();
    nonces.dedup();
    assert_eq!(nonces.len(), all, "a nonce committed twice");
    assert!(all > 0, "the double spender's transactions never committed at all");
    // The summary counts what the chain holds, the adversary's committed spends included.
    let in_chain: usize = r.chain[1..].iter().map(|b| b.transactions().len()).sum();
    assert_eq!(r.summary.committed as usize, in_chain, "{:?}", r.summary);
}

#[test]
fn replayed_transactions_are_rejected() {
    let r = byzantine(Behaviour::Replay);
    // Recent replays are known duplicates; older ones fail on their spent nonce.
    let count = |k: &str| r.peer_rejected.get(k).copied().unwrap_or(0);
    assert!(count("AlreadyCommitted") + count("BadNonce") > 0, "{:?}", r.peer_rejected);
}

#[test]
fn forged_blocks_are_rejected() {
    let r = byzantine(Behaviour::Forge);
    assert!(r.blocks_rejected.get("WrongValidator").copied().unwrap_or(0) > 0, "{:?}", r.blocks_rejected);
    assert!(r.blocks_rejected.get("BadSignature").copied().unwrap_or(0) > 0, "{:?}", r.blocks_rejected);
}

#[test]
fn equivocation_settles_on_one_block() {
    let r = byzantine(Behaviour::Equivocate);
    assert!(r.summary.forks > 0, "the equivocator never produced a competing block");
}

#[test]
fn a_silent_validator_publishes_nothing_and_the_chain_grows() {
    let r = byzantine(Behaviour::SilentValidator);
    let silent = r.validators[1].address;
    assert!(r.chain.iter().all(|b: &Arc<Block>| b.validator() != silent));
    assert!(r.chain.iter().any(|b| b.round() > 0));
}

#[test]
fn withheld_blocks_do_not_split_the_network() {
    byzantine(Behaviour::Withhold);
}

#[test]
fn a_crashed_validator_does_not_stop_the_chain() {
    let s = Scenario {
        faults: vec![
            Fault::Crash { node: 0, at_s: 0.0, restart_s: None },
            Fault::Crash { node: 3, at_s: 0.0, restart_s: None },
        ],
        ..synthetic(5, 300, 20.0)
    };
    let r = run(&s).unwrap();
    assert_healthy(&r);
    assert!(r.summary.blocks >= 20);
    assert!(r.chain.iter().any(|b| b.round() > 0), "no fallback round was ever needed");
    assert_accounted(&r);
}

#[test]
fn a_partition_heals_into_one_chain() {
    let s = Scenario {
        events: vec![
            NetEvent::Partition { at_s: 0.3, groups: vec![vec![0, 1], vec![2, 3, 4]] },
            NetEvent::Heal { at_s: 4.0 },
        ],
        stop: Stop::Time { seconds: 12.0 },
        ..synthetic(5, 600, 10.0)
    };
    let r = run(&s).unwrap();
    assert_healthy(&r);
    assert!(r.summary.reorgs > 0, "nobody had to switch branches after the heal");
    assert!(r.summary.messages_lost > 0);
    assert_accounted(&r);
}

#[test]
fn a_restarted_node_catches_up() {
    let s =
        Scenario { faults: vec![Fault::Crash { node: 2, at_s: 1.0, restart_s: Some(4.0) }], ..synthetic(5, 600, 15.0) };
    let r = run(&s).unwrap();
    assert_healthy(&r);
    // The restarted node is on the common chain, mints on it again, and its client resumed its
    // plan after the restart (a line is lost only if it sat in the mempool at the crash).
    assert_eq!(r.tips.len(), 5, "the restarted node is not running at the end");
    let restarted = r.validators[2].address;
    assert!(r.chain.iter().any(|b| b.validator() == restarted && b.timestamp().as_secs_f64() > 4.0));
    assert!(r.unfinished.iter().all(|u| u.node != 2), "{:?}", r.unfinished);
}

/// A line in the mempool at the crash is lost with it, unless the node had already sent it to
/// its peers: then it commits anyway and counts once, as committed. Seed 1, crash at 0.9 s
/// (two lines in flight; both commit).
#[test]
fn a_line_in_flight_at_a_crash_counts_once() {
    let s =
        Scenario { faults: vec![Fault::Crash { node: 2, at_s: 0.9, restart_s: Some(4.0) }], ..synthetic(5, 600, 15.0) };
    let r = run(&s).unwrap();
    assert_healthy(&r);
    assert_accounted(&r);
    assert_eq!((r.summary.committed, r.summary.lost_to_crash), (600, 0), "{:?}", r.summary);
}

#[test]
fn a_sparse_overlay_relays_to_everyone() {
    let s = Scenario {
        topology: blockchat_sim::scenario::Topology::Regular { k: 4 },
        network: blockchat_sim::scenario::Network::wan(),
        ..synthetic(30, 600, 2.0)
    };
    let r = run(&s).unwrap();
    assert_healthy(&r);
    assert_accounted(&r);
}

/// The fault suite's harshest point: an equivocator and a double spender on one side of a
/// partition, two validators crashed on the other, then a heal. (Its first run exposed a
/// catch-up bug, reproduced exactly in blockchat-host's tests/protocol.rs.)
#[test]
fn combined_faults_during_a_partition_settle_on_one_chain() {
    let s: Scenario = toml::from_str(
        r#"
        name = "faults"
        seed = 1
        nodes = 10
        capacity = 10
        round_timeout_ms = 500
        workload = { kind = "synthetic", count = 2000, rate_per_node = 10.0, coin_fraction = 0.7 }
        events = [
          { kind = "partition", at_s = 1.0, groups = [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]] },
          { kind = "heal", at_s = 4.0 },
        ]
        faults = [
          { kind = "byzantine", node = 1, behaviour = "equivocate" },
          { kind = "byzantine", node = 2, behaviour = "double_spend" },
          { kind = "crash", node = 9, at_s = 1.0 },
          { kind = "crash", node = 8, at_s = 1.0 },
        ]
        "#,
    )
    .unwrap();
    let r = run(&s).unwrap();
    assert_healthy(&r);
    assert!(r.summary.virtual_time.as_secs() < 120, "the run did not settle: {:?}", r.summary.virtual_time);
}

/// Completions and the manual page name every subcommand.
#[test]
fn completions_and_the_manual_page_cover_every_subcommand() {
    let bin = env!("CARGO_BIN_EXE_blockchat-sim");
    let run = |args: &[&str]| std::process::Command::new(bin).args(args).output().unwrap();
    let bash = run(&["completions", "bash"]);
    assert!(bash.status.success());
    let man = run(&["man"]);
    assert!(man.status.success());
    let (bash, man) = (String::from_utf8_lossy(&bash.stdout), String::from_utf8_lossy(&man.stdout));
    assert!(man.contains(".TH blockchat-sim"), "{man}");
    for word in ["run", "gen-inputs", "calibrate", "bench"] {
        // roff escapes hyphens.
        assert!(bash.contains(word) && man.contains(&word.replace('-', "\\-")), "{word} missing");
    }
}
