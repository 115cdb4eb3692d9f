//! Five real node processes on loopback run the course's 5-node files (generated ones when the
//! shared data is absent) and converge on the identical chain and balances; supply is conserved.
//! The `cluster` command does the same in the course's strict mode (full blocks only) and in the
//! deployed default (a partial block after 1 s), and its CSV row agrees with the chain.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use blockchat_core::UNITS_PER_BCC;
use blockchat_net::api::{Reply, Request};
use blockchat_net::cluster;
use blockchat_net::cluster::measure::CSV_HEADER;
use support::{BIN, Net, course_inputs, output_within, serial};

/// The course's 5-node files, or generated ones (100 lines each) under `root`.
fn five_node_inputs(root: &Path) -> PathBuf {
    let inputs = course_inputs(5).unwrap_or_else(|| {
        let dir = root.join("inputs");
        let mut cmd = Command::new(BIN);
        cmd.args(["inputs", "-n", "5", "--out", &dir.display().to_string()]);
        let out = output_within(cmd, Duration::from_secs(30));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        dir
    });
    eprintln!("inputs from {}", inputs.display());
    inputs
}

#[test]
fn five_nodes_run_the_course_files_and_agree() {
    let _one = serial();
    let mut net = Net::new(21, 5, 5);
    let inputs = five_node_inputs(net.root.path());
    net.start_all(|k| vec!["--input".into(), inputs.join(format!("trans{k}.txt")).display().to_string()]);

    // Every line is committed or given up; then the chain goes quiet with every node on the same
    // tip.
    let mut last = (0, Instant::now());
    net.wait(90, "the workload to finish and the chain to settle", || {
        let s: Vec<_> = (0..5).map(|k| net.try_status(k)).collect::<Option<_>>()?;
        let height = s[0].height;
        if height != last.0 {
            last = (height, Instant::now());
        }
        // A line whose node has spent everything waits for income that may never come (a live
        // network's users may send some later): settled too, once the chain is quiet.
        let done = s.iter().all(|s| s.workload.total == 100 && (s.workload.done() || s.waiting.is_some()));
        let same = s.windows(2).all(|w| w[0].tip == w[1].tip);
        (done && same && last.1.elapsed() > Duration::from_secs(2)).then_some(())
    });

    let chains: Vec<_> = (0..5).map(|k| net.chain(k)).collect();
    assert!(chains[0].len() > 10, "only {} blocks", chains[0].len());
    for k in 1..5 {
        assert_eq!(chains[k], chains[0], "node {k}'s chain differs");
    }
    let ledgers: Vec<_> = (0..5).map(|k| cluster::ledger(&net.api(k)).expect("ledger")).collect();
    for k in 1..5 {
        assert_eq!(ledgers[k], ledgers[0], "node {k}'s balances differ");
    }
    assert_eq!(ledgers[0].1, 5_000 * UNITS_PER_BCC, "supply is conserved");
    let balances: u64 = ledgers[0].0.iter().map(|a| a.balance.units()).sum();
    assert_eq!(balances, 5_000 * UNITS_PER_BCC);
    // The network's default mints a partial block once a transaction has waited 1 s, so a block
    // holds 1 to 5 transactions (it was 5 exactly under the course's full-block rule).
    assert!(chains[0].iter().skip(1).all(|b| (1..=5).contains(&b.transactions)));
    // A line its sender cannot afford yet now waits for a block instead of being refused, so
    // nearly every line commits, and every committed transaction is one of the clients' lines.
    let statuses: Vec<_> = (0..5).map(|k| net.status(k)).collect();
    let lines: usize = statuses.iter().map(|s| s.workload.committed).sum();
    let failed: usize = statuses.iter().map(|s| s.workload.failed + s.workload.lost).sum();
    let unsent: usize = statuses.iter().map(|s| s.workload.unsent).sum();
    assert_eq!(lines + failed + unsent, 500, "{statuses:?}");
    for s in statuses.iter().filter(|s| s.waiting.is_some()) {
        let why = &s.waiting.as_ref().expect("waiting").reason;
        assert!(why.contains("insufficient balance"), "a line waits for something else: {why}");
    }
    // Every node learned the network's parameters from the genesis the bootstrap made.
    assert!(statuses.iter().all(|s| (s.capacity, s.max_block_interval_ms) == (5, Some(1000))), "{statuses:?}");
    assert!(lines >= 475, "only {lines} of 500 lines committed");
    let committed: usize = chains[0].iter().skip(1).map(|b| b.transactions).sum();
    assert_eq!(committed, lines, "committed transactions vs lines the clients saw commit");
    eprintln!("{lines} lines committed, {failed} given up, in {} blocks", chains[0].len() - 1);
    match net.ask(2, Request::Block { height: None, hash: None }) {
        Ok(Reply::Block(v)) => assert_eq!(v.height, chains[0].len() as u64 - 1),
        other => panic!("{other:?}"),
    }
}

/// Runs `blockchat cluster` with `args` and `--csv`; returns its stdout and its one CSV row by
/// column name.
fn cluster_run(args: &[&str], limit: Duration) -> (String, HashMap<String, String>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("real.csv");
    let mut cmd = Command::new(BIN);
    cmd.arg("cluster").args(args).args(["--csv", &csv.display().to_string()]);
    let out = output_within(cmd, limit);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    eprintln!("{stdout}");
    let text = std::fs::read_to_string(&csv).expect("csv");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(CSV_HEADER));
    let row = lines.next().expect("a row");
    assert_eq!(lines.next(), None, "one run, one row");
    let values: Vec<&str> = row.split(',').collect();
    let names: Vec<&str> = CSV_HEADER.split(',').collect();
    assert_eq!(values.len(), names.len(), "{row}");
    let row = names.iter().zip(values).map(|(n, v)| (n.to_string(), v.to_string())).collect();
    (stdout, row)
}

fn number(row: &HashMap<String, String>, column: &str) -> u64 {
    row[column].parse().unwrap_or_else(|_| panic!("{column} = {:?} is not a count", row[column]))
}

#[test]
fn the_cluster_command_checks_and_writes_csv() {
    let _one = serial();
    let args = ["-n", "3", "-c", "5", "--lines", "30", "--subnet", "22", "--timeout", "60", "--quiet", "2"];
    let (stdout, row) = cluster_run(&args, Duration::from_secs(120));
    assert!(stdout.contains("throughput") && stdout.contains("longest gap between blocks"), "{stdout}");
    let last = stdout.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.starts_with("checked: all 3 nodes hold the same chain")
            && last.ends_with("the supply is conserved (3000 BCC)"),
        "the run does not end with its check: {last}"
    );
    let fixed = ["nodes", "capacity", "stake_profile", "workload", "think_ms", "block_interval_ms", "lines"];
    let fixed: Vec<&str> = fixed.iter().map(|c| row[*c].as_str()).collect();
    assert_eq!(fixed, ["3", "5", "uniform-10", "generated", "0", "1000", "90"]);
    // Partial blocks by default: lines that cannot fill a block still commit, so the count need
    // not be a multiple of the capacity (it was under full blocks only).
    let committed = number(&row, "committed");
    assert!(committed > 0, "{row:?}");
    assert_eq!(number(&row, "lines_committed"), committed, "{row:?}");
    assert!(stdout.contains(&format!("lines: 90 planned, {committed} committed")), "{stdout}");
}

/// `blockchat cluster` on the 5-node files with `mode`: at least 95% of the lines commit and the
/// CSV's lines_committed is the chain's committed count; returns the row.
fn course_files_commit(subnet: &str, mode: &[&str]) -> HashMap<String, String> {
    let root = tempfile::tempdir().expect("tempdir");
    let inputs = five_node_inputs(root.path()).display().to_string();
    let mut args = vec!["-n", "5", "-c", "5", "--inputs", &inputs, "--subnet", subnet, "--timeout", "120"];
    args.extend_from_slice(mode);
    let (stdout, row) = cluster_run(&args, Duration::from_secs(180));
    assert_eq!(number(&row, "lines"), 500, "{row:?}");
    let lines = number(&row, "lines_committed");
    assert!(lines >= 475, "only {lines} of 500 lines committed: {row:?}");
    assert_eq!(lines, number(&row, "committed"), "lines_committed vs the chain's committed count: {row:?}");
    // The rest are given up, never sent, or still in a mempool (a last partial load under full
    // blocks).
    assert!(lines + number(&row, "lines_failed") + number(&row, "lines_unsent") <= 500, "{row:?}");
    assert!(stdout.contains(&format!("lines: 500 planned, {lines} committed")), "{stdout}");
    row
}

#[test]
fn the_course_files_commit_with_full_blocks() {
    let _one = serial();
    let row = course_files_commit("27", &["--full-blocks"]);
    assert_eq!(row["block_interval_ms"], "full");
    // The course's rule: every block holds exactly the capacity.
    assert_eq!(number(&row, "committed"), 5 * number(&row, "blocks"), "{row:?}");
}

#[test]
fn the_course_files_commit_with_partial_blocks() {
    let _one = serial();
    let row = course_files_commit("28", &[]);
    assert_eq!(row["block_interval_ms"], "1000");
    let (committed, blocks) = (number(&row, "committed"), number(&row, "blocks"));
    assert!(blocks * 5 >= committed && blocks <= committed, "{committed} transactions in {blocks} blocks");
}
