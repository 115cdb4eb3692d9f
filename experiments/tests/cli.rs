//! The runner's command line: a bad suite or run id is a usage error (status 2) naming it.

use std::process::Command;

#[test]
fn unknown_suites_and_runs_are_usage_errors() {
    let bin = env!("CARGO_BIN_EXE_experiments");
    let out_dir = tempfile::tempdir().expect("tempdir");
    let out = out_dir.path().display().to_string();
    let cases: [(&[&str], &str); 2] = [
        (&["run", "nosuch"], "nosuch"),
        (&["rerun", "fairness", "no-such-run"], "no run 'no-such-run' in suite fairness"),
    ];
    for (args, want) in cases {
        let run = Command::new(bin).args(["--out", &out]).args(args).output().expect("run experiments");
        let err = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
}
