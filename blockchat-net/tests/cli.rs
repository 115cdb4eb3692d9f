//! Bad command lines, network parameters, input files and data dirs: a clear error naming the
//! problem and a non-zero exit, never a panic. `blockchat calibrate` prints its six fields.

mod support;

use std::process::Command;
use std::time::Duration;

use support::{BIN, output_within};

#[test]
fn bad_arguments_and_files_are_explained() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = |name: &str| dir.path().join(name).display().to_string();
    std::fs::write(dir.path().join("bad.txt"), "id1 hello\nhello world\n").expect("write");
    std::fs::write(dir.path().join("far.txt"), "id1 hello\nid7 too far\n").expect("write");
    std::fs::create_dir_all(dir.path().join("badkey")).expect("dir");
    std::fs::write(dir.path().join("badkey/wallet.key"), "not a key\n").expect("write");
    std::fs::create_dir_all(dir.path().join("badnet")).expect("dir");
    std::fs::write(dir.path().join("badnet/network.json"), "{\"capacity\": 5").expect("write");
    let l = |v: &[&str]| -> Vec<String> {
        v.iter().map(|a| a.to_string()).chain(["--listen".to_string(), "127.0.40.1:7000".to_string()]).collect()
    };
    let (e, f, g, bad, missing) = (d("e"), d("f"), d("g"), d("bad.txt"), d("missing.txt"));
    let (i, j, far) = (d("i"), d("j"), d("far.txt"));
    let (a, b, c, h, badkey, badnet, nowhere, runs) =
        (d("a"), d("b"), d("c"), d("h"), d("badkey"), d("badnet"), d("nowhere"), d("runs"));
    let boot = |dir: &str, more: &[&str]| {
        let mut v = vec!["--bootstrap", "-n", "2", "-c", "5", "--data-dir", dir];
        v.extend_from_slice(more);
        l(&v)
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (l(&["--bootstrap", "-n", "2", "-c", "5"]), "--data-dir DIR is required"),
        (l(&["--bootstrap", "-n", "2", "--data-dir", &a]), "-c is required with --bootstrap"),
        (vec!["--data-dir".into(), b.clone()], "--listen ADDR is required"),
        (
            ["--data-dir", &c, "--join", "127.0.40.1:7000", "--listen", "0.0.0.0:7000"].map(String::from).to_vec(),
            "give --advertise",
        ),
        (l(&["--join", "x:1", "-s", "lots"]), "'lots' is not an amount"),
        (boot(&e, &["--input", &missing]), "missing.txt"),
        (boot(&f, &["--input", &bad]), "bad.txt, line 2: \"hello\" should be id<N>"),
        (boot(&badkey, &[]), "not a BlockChat key file"),
        // Refused before the network forms, not after the others joined and wait for it.
        (boot(&i, &["--input", &far]), "far.txt: line 2 sends to node 7, but the network has nodes 0 to 1"),
        (boot(&j, &["--rate", "0"]), "--rate: invalid pace"),
        (l(&["--data-dir", &badnet]), "network.json"),
        (boot(&g, &["--max-frame", "10"]), "--max-frame 10 is out of range: at least 65536"),
        (l(&["--data-dir", &h]), "give --bootstrap or --join ADDR"),
        (
            ["client", "--node", "127.0.40.1:9", "balance"].map(String::from).to_vec(),
            "cannot reach the node at http://127.0.40.1:9/rpc",
        ),
        (
            ["client", "--data-dir", "/nonexistent/node1", "status"].map(String::from).to_vec(),
            "/nonexistent/node1/api.addr: No such file or directory (os error 2) (is a node running with this data dir?)",
        ),
        (["client", "--node", "127.0.40.1:9", "fly"].map(String::from).to_vec(), "unknown command 'fly'"),
        (
            ["client", "--node", "127.0.40.1:9", "t", "1", "1.0000001"].map(String::from).to_vec(),
            "more than 6 decimal places",
        ),
        (
            ["cluster", "-n", "3", "--inputs", &nowhere, "--subnet", "41", "--data-dir", &runs]
                .map(String::from)
                .to_vec(),
            "nowhere/trans0.txt: cannot read",
        ),
        (["cluster", "-n", "0", "--subnet", "41"].map(String::from).to_vec(), "-n: between 1 and 250"),
    ];
    let wrong: Vec<String> = cases.iter().filter_map(|(args, want)| explained(args, want).err()).collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

#[test]
fn bootstrap_parameters_are_validated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("boot").display().to_string();
    // (flags added to `--bootstrap -n 2 -c 5`, replacing its -n or -c, and what the error says)
    let cases: &[(&[&str], &str)] = &[
        (&["-c", "0"], "-c 0 is out of range: between 1 and 65536 transactions"),
        (&["-c", "100000"], "-c 100000 is out of range: between 1 and 65536 transactions"),
        (&["-c", "x"], "invalid value 'x' for '--capacity <C>'"),
        (&["--round-timeout-ms", "0"], "--round-timeout-ms 0 is out of range: at least 1"),
        (&["--round-timeout-ms", "1.5"], "invalid value '1.5' for '--round-timeout-ms <MS>'"),
        (&["--max-block-interval-ms", "soon"], "invalid value 'soon' for '--max-block-interval-ms <MS>'"),
        (&["--max-reorg-depth", "0"], "--max-reorg-depth 0 is out of range: at least 1"),
        (&["--initial-balance", "0"], "--initial-balance 0 is out of range: more than 0 BCC"),
        (&["--initial-balance", "lots"], "'lots' is not an amount"),
        (&["-n", "0"], "-n 0 is out of range: at least 1"),
        // Parameters are the bootstrap's to choose: a joiner takes them from the genesis.
    ];
    let wrong: Vec<String> = cases
        .iter()
        .filter_map(|(flags, want)| {
            // clap refuses a repeated flag, so the case's own -n or -c replaces the default one.
            let mut args = vec!["--bootstrap".to_string()];
            for (flag, default) in [("-n", "2"), ("-c", "5")] {
                if !flags.contains(&flag) {
                    args.extend([flag.to_string(), default.to_string()]);
                }
            }
            args.extend(flags.iter().map(|f| f.to_string()));
            args.extend(["--data-dir", &data, "--listen", "127.0.40.1:7000"].map(String::from));
            explained(&args, want).err()
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

#[test]
fn calibrate_prints_the_cost_model() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out_file = dir.path().join("out/io.toml");
    let mut cmd = Command::new(BIN);
    cmd.args(["calibrate", "--data-dir", &dir.path().display().to_string()])
        .args(["--out", &out_file.display().to_string()]);
    let started = std::time::Instant::now();
    let out = output_within(cmd, Duration::from_secs(120));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    eprintln!("calibrate took {:.1} s:\n{stdout}", started.elapsed().as_secs_f64());
    let table: toml::Table = stdout.parse().unwrap_or_else(|e| panic!("not TOML ({e}):\n{stdout}"));
    // A scenario fragment: the CPU and I/O costs, and the loopback link's own latency.
    let cpu = table.get("cpu").and_then(|v| v.as_table()).unwrap_or_else(|| panic!("[cpu]:\n{stdout}"));
    assert_eq!(cpu.get("model").and_then(|v| v.as_str()), Some("custom"), "{stdout}");
    let ns = ["sign_ns", "verify_ns", "frame_send_ns", "frame_receive_ns", "frame_per_kib_ns", "block_sync_ns"];
    for field in ns {
        assert!(cpu.get(field).and_then(|v| v.as_integer()).is_some_and(|v| v >= 0), "{field}:\n{stdout}");
    }
    for field in ["sign_ns", "verify_ns", "block_write_ns"] {
        assert!(cpu.get(field).and_then(|v| v.as_integer()).is_some_and(|v| v > 0), "{field}:\n{stdout}");
    }
    let latency = table.get("network").and_then(|n| n.get("latency")).and_then(|l| l.get("ms"));
    assert!(latency.and_then(|v| v.as_float()).is_some_and(|ms| (0.0..1000.0).contains(&ms)), "latency:\n{stdout}");
    assert_eq!(std::fs::read_to_string(&out_file).expect("--out file"), stdout, "--out holds what was printed");
    // The block-log test file is removed from the data dir.
    let left: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").flatten().map(|e| e.file_name()).collect();
    assert_eq!(left, ["out"], "left in the data dir");
}

/// Runs `blockchat args` (a node gets `--no-repl`) with a time limit; Ok when it failed with
/// `want` in its stderr and did not panic, else what happened.
fn explained(args: &[String], want: &str) -> Result<(), String> {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    if args.first().is_some_and(|a| a.starts_with("--")) {
        cmd.args(["--no-repl"]);
    }
    let out = output_within(cmd, Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        Err(format!("{args:?} succeeded"))
    } else if stderr.contains("panicked") {
        Err(format!("{args:?} panicked:\n{stderr}"))
    } else if !stderr.contains(want) {
        Err(format!("{args:?}: expected '{want}' in:\n{stderr}"))
    } else {
        Ok(())
    }
}

/// Completions for each shell and the manual page come from the command-line definition, so
/// they name every subcommand; an unknown shell is a usage error (status 2).
#[test]
fn completions_and_the_manual_page_cover_every_subcommand() {
    let run = |args: &[&str]| Command::new(BIN).args(args).output().expect("run blockchat");
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = run(&["completions", shell]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{shell}: {}", String::from_utf8_lossy(&out.stderr));
        for word in ["cluster", "calibrate", "repair", "--bootstrap"] {
            assert!(text.contains(word), "{shell} completions lack {word}");
        }
    }
    let out = run(&["man"]);
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && page.contains(".TH blockchat"), "{page}");
    for word in ["client", "cluster", "inputs", "calibrate", "repair", "bootstrap"] {
        assert!(page.contains(word), "the manual page lacks {word}");
    }
    assert_eq!(run(&["completions", "tcsh"]).status.code(), Some(2));
    // The client's help lists the commands it takes.
    let help = String::from_utf8_lossy(&run(&["client", "--help"]).stdout).to_string();
    for command in ["t <id|address> <amount>", "m <id|address> <message>", "stake <amount>", "history [n]", "peers"] {
        assert!(help.contains(command), "`blockchat client --help` lacks {command}:\n{help}");
    }
}

/// `--config FILE` sets what the flags set; flags given override it; `config show` prints the
/// result as a config file (amounts in BCC, as the flags take them); a bad file is a usage
/// error naming the file and the key.
#[test]
fn a_config_file_sets_flags_and_flags_override_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        path.display().to_string()
    };
    let good = file(
        "node.toml",
        "bootstrap = true\nnodes = 3\ncapacity = 7\nstake = \"25\"\nlisten = \"127.0.41.1:7000\"\n\
         no_fsync = true\nthink-ms = \"100-500\"\nmax_block_interval_ms = 400\n",
    );
    let out = Command::new(BIN).args(["config", "show", "--config", &good, "--stake", "30.5"]).output().expect("run");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let shown: toml::Table = text.parse().unwrap_or_else(|e| panic!("not TOML ({e}):\n{text}"));
    let get = |k: &str| shown.get(k).map(ToString::to_string).unwrap_or_default();
    let want = [
        ("bootstrap", "true"),
        ("nodes", "3"),
        ("capacity", "7"),
        ("stake", "\"30.5\""),
        ("listen", "\"127.0.41.1:7000\""),
        ("no_fsync", "true"),
        ("think_ms", "\"100-500\""),
        ("max_block_interval_ms", "400"),
        ("initial_balance", "\"1000\""),
    ];
    for (key, value) in want {
        assert_eq!(get(key), value, "{key} in:\n{text}");
    }
    // What `config show` prints is itself a config file that gives the same settings.
    let again = file("again.toml", &text);
    let out = Command::new(BIN).args(["config", "show", "--config", &again]).output().expect("run");
    assert_eq!(String::from_utf8_lossy(&out.stdout), text);

    let cases = [
        ("colour = \"blue\"\n", "sets 'colour', which is not a setting of the node"),
        ("stake = [1, 2]\n", "sets 'stake' to [1, 2]: this setting takes a string or a number"),
        ("no_fsync = \"yes\"\n", "sets 'no_fsync' to \"yes\": this setting is a switch"),
        ("stake = \n", "is not valid TOML"),
        ("stake = \"lots\"\n", "lots"),
    ];
    for (k, (body, want)) in cases.into_iter().enumerate() {
        let bad = file(&format!("bad{k}.toml"), body);
        let out = Command::new(BIN).args(["--config", &bad, "--no-repl"]).output().expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{body:?}: {err}");
        assert!(err.contains(want), "{body:?}: {err}");
    }
    let missing = dir.path().join("missing.toml").display().to_string();
    let out = Command::new(BIN).args(["--config", &missing]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the config file"));
}

/// Bad flags are refused before anything is created: the data dir (and, with the prompt, its
/// log file) appears only once the flags and the files they name have been checked.
#[test]
fn bad_flags_create_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("node");
    let data_s = data.display().to_string();
    let missing = dir.path().join("missing.txt").display().to_string();
    let cases: [&[&str]; 4] = [
        &["--bootstrap", "-n", "0", "-c", "5"],
        &["--bootstrap", "-n", "3", "-c", "0"],
        &["--bootstrap", "-n", "3", "-c", "5", "--input", &missing],
        &["--join", "127.0.40.2:7000", "--max-frame", "10"],
    ];
    for flags in cases {
        let out = Command::new(BIN)
            .args(flags)
            .args(["--data-dir", &data_s, "--listen", "127.0.40.9:7000"])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(1), "{flags:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(!data.exists(), "{flags:?} created {}", data.display());
    }
}
