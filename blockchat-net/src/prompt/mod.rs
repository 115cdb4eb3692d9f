//! The interactive prompt (rustyline: history in the data dir, completion of command words),
//! its commands and how answers are shown. It talks to a node through the node's API, whether it
//! runs in the node's own terminal or in `blockchat attach`; `blockchat client` parses and shows
//! the same way.

use std::path::PathBuf;

use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};
use std::time::Duration;

use crate::api::client::{Client, Endpoint};
use crate::api::{Reply, Request};
use command::{Command, HELP, WORDS};

pub mod command;
pub mod render;
use render::render;

/// Completes the command word at the start of the line.
struct Words;

impl Completer for Words {
    type Candidate = String;
    fn complete(&self, line: &str, pos: usize, _: &Context<'_>) -> rustyline::Result<(usize, Vec<String>)> {
        let typed = &line[..pos];
        if typed.contains(char::is_whitespace) {
            return Ok((pos, Vec::new()));
        }
        Ok((0, WORDS.iter().filter(|w| w.starts_with(typed)).map(|w| w.to_string()).collect()))
    }
}
impl Hinter for Words {
    type Hint = String;
}
impl Highlighter for Words {}
impl Validator for Words {}
impl Helper for Words {}

/// Runs the prompt until `exit`, Ctrl-C or Ctrl-D. `own` is the node's id when the prompt is the
/// node's own terminal: leaving then stops the node. Attached (`None`), the id is asked for.
pub fn run(endpoint: Endpoint, history: PathBuf, own: Option<u32>) {
    let mut client = Client::new(endpoint, Duration::from_secs(30));
    let id = match own {
        Some(id) => Some(id),
        None => match client.call(&Request::Status {}) {
            Ok(Ok(Reply::Status(s))) => s.id,
            Ok(Err(e)) => {
                eprintln!("error: {e}");
                return;
            }
            Ok(Ok(_)) => None,
            Err(e) => {
                eprintln!("{e}");
                return;
            }
        },
    };
    let id = id.map_or("?".to_string(), |i| i.to_string());
    let mut editor: Editor<Words, rustyline::history::DefaultHistory> = match Editor::new() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("cannot start the prompt: {e}; use --no-repl");
            return;
        }
    };
    editor.set_helper(Some(Words));
    let _ = editor.load_history(&history);
    println!("BlockChat node {id}. Type help for the commands.");
    let prompt = format!("blockchat[{id}]> ");
    loop {
        match editor.readline(&prompt) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                }
                match command::parse(&line) {
                    Ok(None) => {}
                    Ok(Some(Command::Help)) => println!("{HELP}"),
                    Ok(Some(Command::Exit)) => break,
                    Ok(Some(Command::Node(request))) => match client.call(&request) {
                        Ok(response) => println!("{}", render(&response)),
                        Err(e) => println!("error: {e}"),
                    },
                    Err(e) => println!("error: {e}"),
                }
            }
            Err(ReadlineError::Interrupted | ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("prompt error: {e}");
                break;
            }
        }
    }
    let _ = editor.save_history(&history);
    println!("bye");
    if own.is_some() {
        let _ = client.call(&Request::Shutdown {});
    }
}
