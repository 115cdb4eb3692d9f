//! Five real node processes on loopback run the course's 5-node files (generated ones when the
//! shared data is absent) and converge on the identical chain and balances; supply is conserved.

mod support;

use std::time::{Duration, Instant};

use blockchat_core::UNITS_PER_BCC;
use blockchat_net::cluster;
use blockchat_net::control::{Reply, Request};
use support::{BIN, Net, course_inputs, serial};

#[test]
fn five_nodes_run_the_course_files_and_agree() {
    let _one = serial();
    let mut net = Net::new(21, 5, 5);
    let inputs = course_inputs(5).unwrap_or_else(|| {
        let dir = net.root.path().join("inputs");
        let status = std::process::Command::new(BIN)
            .args(["inputs", "-n", "5", "--out", &dir.display().to_string()])
            .status()
            .expect("generate inputs");
        assert!(status.success());
        dir
    });
    eprintln!("inputs from {}", inputs.display());
    net.start_all(|k| vec!["--input".into(), inputs.join(format!("trans{k}.txt")).display().to_string()]);

    // Every line is submitted; then the chain goes quiet with every node on the same tip.
    let mut last = (0, Instant::now());
    net.wait(90, "the workload to finish and the chain to settle", || {
        let s: Vec<_> = (0..5).map(|k| net.try_status(k)).collect::<Option<_>>()?;
        let height = s[0].height;
        if height != last.0 {
            last = (height, Instant::now());
        }
        let submitted = s.iter().all(|s| s.workload.total == 100 && s.workload.submitted == 100);
        let same = s.windows(2).all(|w| w[0].tip == w[1].tip);
        (submitted && same && last.1.elapsed() > Duration::from_secs(3)).then_some(())
    });

    let chains: Vec<_> = (0..5).map(|k| net.chain(k)).collect();
    assert!(chains[0].len() > 10, "only {} blocks", chains[0].len());
    for k in 1..5 {
        assert_eq!(chains[k], chains[0], "node {k}'s chain differs");
    }
    let ledgers: Vec<_> = (0..5).map(|k| cluster::ledger(net.control(k)).expect("ledger")).collect();
    for k in 1..5 {
        assert_eq!(ledgers[k], ledgers[0], "node {k}'s balances differ");
    }
    assert_eq!(ledgers[0].1, 5_000 * UNITS_PER_BCC, "supply is conserved");
    let balances: u64 = ledgers[0].0.iter().map(|a| a.balance).sum();
    assert_eq!(balances, 5_000 * UNITS_PER_BCC);
    // Every block is full, and the lines refused at submission (insufficient balance) are reported.
    assert!(chains[0].iter().skip(1).all(|b| b.transactions == 5));
    let statuses: Vec<_> = (0..5).map(|k| net.status(k)).collect();
    let accepted: usize = statuses.iter().map(|s| s.workload.accepted).sum();
    let rejected: usize = statuses.iter().map(|s| s.workload.rejected).sum();
    assert_eq!(accepted + rejected, 500);
    let committed: u64 = chains[0].iter().skip(1).map(|b| b.transactions as u64).sum();
    assert!(committed as usize <= accepted && committed as usize + 5 * 5 > accepted, "{committed} of {accepted}");
    eprintln!("{accepted} accepted, {rejected} refused, {committed} committed in {} blocks", chains[0].len() - 1);
    match net.ask(2, Request::View) {
        Ok(Reply::View(v)) => assert_eq!(v.index, chains[0].len() as u64 - 1),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_cluster_command_checks_and_writes_csv() {
    let _one = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("real.csv");
    let out = std::process::Command::new(BIN)
        .args(["cluster", "-n", "3", "-c", "5", "--lines", "30", "--subnet", "22", "--timeout", "60"])
        .args(["--quiet", "2", "--csv", &csv.display().to_string()])
        .output()
        .expect("run cluster");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("throughput"), "{stdout}");
    let text = std::fs::read_to_string(&csv).expect("csv");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(blockchat_net::measure::CSV_HEADER));
    let row: Vec<&str> = lines.next().expect("a row").split(',').collect();
    assert_eq!(&row[..5], &["3", "5", "uniform-10", "generated", "90"]);
    let committed: u64 = row[7].parse().expect("committed");
    assert!(committed > 0 && committed % 5 == 0, "{committed}");
}
