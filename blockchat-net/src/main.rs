//! `blockchat`: a node (`--bootstrap` / `--join`), `client`, `cluster`, `inputs` and
//! `calibrate`.

use std::io::IsTerminal;
use std::process::ExitCode;

use blockchat_host::client::course;
use blockchat_net::api::{self, Request};
use blockchat_net::cli::{Cli, ClientArgs, ConfigArgs, ConfigWhat, InputsArgs, NodeArgs, RepairArgs, Sub, Target};
use blockchat_net::prompt::command::{self, Command, HELP};
use blockchat_net::prompt::render::render;
use blockchat_net::{cluster, config, daemon};
use clap::{CommandFactory, Parser};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    // A config file's settings go before the flags given, which override them.
    let args = match config::with_config(std::env::args_os().collect()) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let cli = Cli::parse_from(args);
    let result = match cli.command {
        None => node(cli.node),
        Some(Sub::Client(args)) => client(args),
        Some(Sub::Attach(target)) => attach(target),
        Some(Sub::Cluster(args)) => {
            init_logs(None);
            cluster::run(&args).map_err(|e| e.to_string())
        }
        Some(Sub::Inputs(args)) => inputs(args),
        Some(Sub::Calibrate(args)) => cluster::calibrate::run(&args).map_err(|e| e.to_string()),
        Some(Sub::Repair(args)) => repair(args),
        Some(Sub::Config(ConfigArgs { what: ConfigWhat::Show(node) })) => config::show(&node)
            .map(|text| print!("{text}"))
            .map_err(|e| format!("cannot write the settings as TOML: {e}")),
        Some(Sub::Completions(args)) => {
            clap_complete::generate(args.shell, &mut Cli::command(), "blockchat", &mut std::io::stdout());
            Ok(())
        }
        Some(Sub::Man) => clap_mangen::Man::new(Cli::command())
            .render(&mut std::io::stdout())
            .map_err(|e| format!("cannot write the manual page: {e}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("error: {e}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr, or to a file when the prompt owns the terminal; `RUST_LOG` filters.
fn init_logs(file: Option<std::fs::File>) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    match file {
        Some(f) => builder.with_ansi(false).with_writer(std::sync::Mutex::new(f)).init(),
        None => builder.with_ansi(std::io::stderr().is_terminal()).with_writer(std::io::stderr).init(),
    }
}

fn node(args: NodeArgs) -> Result<(), String> {
    // Bad flags or files are refused before the data dir and its log file are created.
    daemon::check(&args).map_err(|e| e.to_string())?;
    let log_file = match (&args.data_dir, args.no_repl) {
        (Some(dir), false) => {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let path = dir.join("node.log");
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            println!("logging to {}; the prompt appears once the network has formed", path.display());
            Some(f)
        }
        _ => None,
    };
    init_logs(log_file);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(daemon::run_node(args)).map_err(|e| e.to_string())
}

fn client(args: ClientArgs) -> Result<(), String> {
    let endpoint = args.target.endpoint().map_err(|e| e.to_string())?;
    let line = args.command.join(" ");
    let request = match command::parse(&line)? {
        Some(Command::Node(r)) => r,
        Some(Command::Help) => {
            println!("{HELP}");
            return Ok(());
        }
        Some(Command::Exit) => Request::Shutdown {},
        None => return Err("no command given".into()),
    };
    let response =
        api::client::ask(&endpoint, &request, std::time::Duration::from_secs(30)).map_err(|e| e.to_string())?;
    if args.json {
        let value = match &response {
            Ok(reply) => serde_json::json!({ "result": reply }),
            Err(e) => serde_json::json!({ "error": api::ErrorObject::from(e.clone()) }),
        };
        println!("{}", serde_json::to_string_pretty(&value).map_err(|e| e.to_string())?);
    } else if response.is_ok() {
        println!("{}", render(&response));
    } else {
        eprintln!("{}", render(&response));
    }
    // The answer is already printed; exit non-zero on an error without repeating it.
    response.map(|_| ()).map_err(|_| String::new())
}

fn attach(target: Target) -> Result<(), String> {
    let endpoint = target.endpoint().map_err(|e| e.to_string())?;
    let history = match &target.data_dir {
        Some(dir) => dir.join("attach_history"),
        None => std::env::temp_dir().join("blockchat_attach_history"),
    };
    blockchat_net::prompt::run(endpoint, history, None);
    Ok(())
}

fn repair(args: RepairArgs) -> Result<(), String> {
    use blockchat_net::daemon::blocklog::{self, Repair};
    let path = args.data_dir.join("blocks.log");
    if !path.exists() {
        return Err(format!("{}: no block log here", path.display()));
    }
    match blocklog::repair(&path).map_err(|e| e.to_string())? {
        Repair::Intact { blocks } => println!("{}: intact ({blocks} blocks); nothing to repair", path.display()),
        Repair::Cut { kept, damaged, removed, copy } => println!(
            "{}: record {} at byte {} was damaged ({}); kept the {kept} blocks before it and removed \
             {removed} bytes; the original is in {}. Start the node: it fetches the rest from its peers.",
            path.display(),
            damaged.record,
            damaged.offset,
            damaged.damage,
            copy.display()
        ),
    }
    Ok(())
}

fn inputs(args: InputsArgs) -> Result<(), String> {
    course::write_dir(&args.out, args.nodes, args.lines, args.seed).map_err(|e| e.to_string())?;
    println!("wrote {} files of {} lines to {}", args.nodes, args.lines, args.out.display());
    Ok(())
}
