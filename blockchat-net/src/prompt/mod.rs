//! The interactive prompt (rustyline: history in the data dir, completion of command words),
//! its commands and how answers are shown. It runs on its own thread and talks to the node's
//! loop like any control client; `blockchat client` parses and shows the same way.

use std::path::PathBuf;

use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};
use tokio::sync::{mpsc, oneshot};

use crate::control::{ControlError, Request, Response};
use command::{Command, HELP, WORDS};

pub mod command;
pub mod render;
use crate::daemon::driver::Event;
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

fn ask(events: &mpsc::UnboundedSender<Event>, request: Request) -> Response {
    let (reply, rx) = oneshot::channel();
    if events.send(Event::Control { request, reply }).is_err() {
        return Err(ControlError::ShuttingDown);
    }
    rx.blocking_recv().unwrap_or(Err(ControlError::ShuttingDown))
}

/// Runs the prompt until `exit`, Ctrl-C or Ctrl-D; then asks the node to shut down.
pub fn run(events: mpsc::UnboundedSender<Event>, history: PathBuf, id: u32) {
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
                    Ok(Some(Command::Node(request))) => println!("{}", render(&ask(&events, request))),
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
    let _ = ask(&events, Request::Shutdown);
}
