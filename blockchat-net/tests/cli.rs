//! Bad command lines, input files and data dirs: a clear error naming the problem and a non-zero
//! exit, never a panic.

mod support;

use std::process::Command;

use support::BIN;

#[test]
fn bad_arguments_and_files_are_explained() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = |name: &str| dir.path().join(name).display().to_string();
    std::fs::write(dir.path().join("bad.txt"), "id1 hello\nhello world\n").expect("write");
    std::fs::create_dir_all(dir.path().join("badkey")).expect("dir");
    std::fs::write(dir.path().join("badkey/wallet.key"), "not a key\n").expect("write");
    std::fs::create_dir_all(dir.path().join("badnet")).expect("dir");
    std::fs::write(dir.path().join("badnet/network.json"), "{\"capacity\": 5").expect("write");
    let l = |v: &[&str]| -> Vec<String> {
        v.iter().map(|a| a.to_string()).chain(["--listen".to_string(), "127.0.40.1:7000".to_string()]).collect()
    };
    let (e, f, g, bad, missing) = (d("e"), d("f"), d("g"), d("bad.txt"), d("missing.txt"));
    let (a, b, c, h, badkey, badnet, nowhere) =
        (d("a"), d("b"), d("c"), d("h"), d("badkey"), d("badnet"), d("nowhere"));
    let boot = |dir: &str, more: &[&str]| {
        let mut v = vec!["--bootstrap", "-n", "2", "-c", "5", "--data-dir", dir];
        v.extend_from_slice(more);
        l(&v)
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (l(&["--bootstrap", "-n", "2", "-c", "5"]), "--data-dir DIR is required"),
        (l(&["--bootstrap", "-n", "2", "--data-dir", &a]), "--bootstrap needs -c C"),
        (vec!["--data-dir".into(), b.clone()], "--listen ADDR is required"),
        (
            ["--data-dir", &c, "--join", "127.0.40.1:7000", "--listen", "0.0.0.0:7000"].map(String::from).to_vec(),
            "give --advertise",
        ),
        (l(&["--join", "x:1", "-s", "lots"]), "'lots' is not an amount"),
        (boot(&e, &["--input", &missing]), "missing.txt"),
        (boot(&f, &["--input", &bad]), "bad.txt line 2: 'hello' should be id<N>"),
        (boot(&badkey, &[]), "not a BlockChat key file"),
        (l(&["--data-dir", &badnet]), "network.json"),
        (boot(&g, &["--max-frame", "10"]), "--max-frame 10 is too small"),
        (l(&["--data-dir", &h]), "give --bootstrap or --join ADDR"),
        (
            ["client", "--node", "127.0.40.1:9", "balance"].map(String::from).to_vec(),
            "cannot reach the node at 127.0.40.1:9",
        ),
        (["client", "--node", "127.0.40.1:9", "fly"].map(String::from).to_vec(), "unknown command 'fly'"),
        (
            ["client", "--node", "127.0.40.1:9", "t", "1", "1.0000001"].map(String::from).to_vec(),
            "more than 6 decimal places",
        ),
        (
            ["cluster", "-n", "3", "--inputs", &nowhere, "--subnet", "41"].map(String::from).to_vec(),
            "missing input file",
        ),
    ];
    for (args, want) in cases {
        let mut cmd = Command::new(BIN);
        cmd.args(&args);
        if args.first().is_some_and(|a| a.starts_with("--")) {
            cmd.args(["--no-repl"]);
        }
        let out = cmd.output().expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(want), "{args:?}: expected '{want}' in:\n{stderr}");
        assert!(!stderr.contains("panicked"), "{args:?} panicked:\n{stderr}");
    }
}
