//! Workloads: the course's input files (`id<N> <message>` per line), generated ones, and a
//! synthetic stream of coin transfers, submitted by the node once the network is ready.

use std::collections::VecDeque;
use std::path::Path;
use std::time::Duration;

use blockchat_core::{Time, TxKind, TxRequest, UNITS_PER_BCC};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use thiserror::Error;
use tokio::time::Instant;

use crate::control::WorkloadStatus;
use crate::roster::Roster;

/// Most submissions per turn of the node's loop, so network events interleave.
const CHUNK: usize = 64;
/// Units sent by each synthetic transfer (0.001 BCC).
pub const SYNTHETIC_AMOUNT: u64 = UNITS_PER_BCC / 1000;

/// Why an input file could not be used.
#[derive(Debug, Error)]
pub enum InputError {
    /// The file could not be read.
    #[error("{file}: {error}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        error: std::io::Error,
    },
    /// A line is not `id<N> <message>`, or names no node.
    #[error("{file} line {line}: {why}")]
    BadLine {
        /// The file.
        file: String,
        /// Line number (1-based).
        line: usize,
        /// What is wrong.
        why: String,
    },
}

/// One line of an input file: send `text` to node `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputLine {
    /// Line number (1-based).
    pub line: usize,
    /// Receiver id.
    pub to: u32,
    /// The message.
    pub text: String,
}

/// A parsed input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    /// Its name, for errors.
    pub name: String,
    /// Its lines, blank ones skipped.
    pub lines: Vec<InputLine>,
}

/// Parses course-format text: `id<N> <message>` per line, CRLF or LF, blank lines skipped.
pub fn parse_input(name: &str, text: &str) -> Result<InputFile, InputError> {
    let mut lines = Vec::new();
    for (k, raw) in text.lines().enumerate() {
        let line = k + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw.trim().is_empty() {
            continue;
        }
        let bad = |why: String| InputError::BadLine { file: name.to_string(), line, why };
        let (target, text) = raw.split_once(' ').unwrap_or((raw, ""));
        let digits = target.strip_prefix("id").ok_or_else(|| bad(format!("'{target}' should be id<N>, like id3")))?;
        let to = digits.parse::<u32>().map_err(|_| bad(format!("'{target}' should be id<N>, like id3")))?;
        if text.trim().is_empty() {
            return Err(bad(format!("no message after {target}")));
        }
        lines.push(InputLine { line, to, text: text.to_string() });
    }
    Ok(InputFile { name: name.to_string(), lines })
}

/// Reads and parses an input file.
pub fn read_input(path: &Path) -> Result<InputFile, InputError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| InputError::Read { file: name.clone(), error })?;
    parse_input(&name, &text)
}

/// The transactions of `file` for the network `roster`; ids must name members.
pub fn requests_from_input(file: &InputFile, roster: &Roster) -> Result<Vec<TxRequest>, InputError> {
    file.lines
        .iter()
        .map(|l| {
            let member = roster.member(l.to).ok_or_else(|| InputError::BadLine {
                file: file.name.clone(),
                line: l.line,
                why: format!("there is no node {} in a network of {}", l.to, roster.len()),
            })?;
            Ok(TxRequest { receiver: member.key, kind: TxKind::Message { text: l.text.clone() } })
        })
        .collect()
}

/// `count` coin transfers of [`SYNTHETIC_AMOUNT`] to the other members in turn.
pub fn synthetic_requests(roster: &Roster, count: usize) -> Vec<TxRequest> {
    let others: Vec<_> = roster.members().iter().filter(|m| m.id != roster.me).map(|m| m.key).collect();
    if others.is_empty() {
        return Vec::new();
    }
    (0..count)
        .map(|k| TxRequest { receiver: others[k % others.len()], kind: TxKind::Coins { amount: SYNTHETIC_AMOUNT } })
        .collect()
}

/// Phrases for generated workloads.
const PHRASES: &[&str] = &[
    "hello",
    "good morning",
    "see you at noon",
    "the build is green",
    "lunch?",
    "ship it",
    "meeting moved to three",
    "thanks for the coins",
    "how is the weather there",
    "ok",
    "the tests pass on my machine",
    "block party tonight",
    "where is the key",
    "call me later",
    "happy birthday",
    "running late, start without me",
    "nice work",
    "send the report",
    "the validator was fair today",
    "see the logs",
];

/// Course-format files for `nodes` nodes, `lines` lines each, from `seed`: node i writes to a
/// uniformly drawn other node. The same seed gives the same files.
pub fn generate_inputs(nodes: usize, lines: usize, seed: u64) -> Vec<String> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    (0..nodes)
        .map(|me| {
            let mut text = String::new();
            for _ in 0..lines {
                let mut to = (rng.next_u64() % (nodes.max(2) as u64 - 1)) as usize;
                if to >= me {
                    to += 1;
                }
                let phrase = PHRASES[(rng.next_u64() % PHRASES.len() as u64) as usize];
                text.push_str(&format!("id{to} {phrase}\n"));
            }
            text
        })
        .collect()
}

/// The node's scripted submissions, paced and with a pause while the mempool is very full.
#[derive(Debug)]
pub struct Workload {
    queue: VecDeque<TxRequest>,
    rate: Option<f64>,
    pause_above: usize,
    started: Option<Instant>,
    status: WorkloadStatus,
}

impl Workload {
    /// Submits `requests` once started, at `rate` per second (as fast as possible if `None`),
    /// holding back while more than `pause_above` transactions are pending.
    pub fn new(requests: Vec<TxRequest>, rate: Option<f64>, pause_above: usize) -> Workload {
        let status = WorkloadStatus { total: requests.len(), ..WorkloadStatus::default() };
        Workload { queue: requests.into(), rate: rate.filter(|r| *r > 0.0), pause_above, started: None, status }
    }

    /// Starts submitting (the network is ready).
    pub fn start(&mut self, now: Time) {
        if self.started.is_none() && !self.queue.is_empty() {
            self.started = Some(Instant::now());
            self.status.started_at = Some(now.as_nanos());
        }
    }

    /// When the next submission is due, if any.
    pub fn next_due(&self, pending: usize) -> Option<Instant> {
        let started = self.started?;
        if self.queue.is_empty() {
            return None;
        }
        if pending >= self.pause_above {
            return Some(Instant::now() + Duration::from_millis(10));
        }
        Some(match self.rate {
            None => Instant::now(),
            Some(rate) => started + Duration::from_secs_f64(self.status.submitted as f64 / rate),
        })
    }

    /// The submissions due at `now`, at most a chunk.
    pub fn due(&mut self, now: Instant, pending: usize) -> Vec<TxRequest> {
        let Some(started) = self.started else { return Vec::new() };
        if pending >= self.pause_above {
            return Vec::new();
        }
        let allowed = match self.rate {
            None => CHUNK,
            Some(rate) => {
                let target = (now.duration_since(started).as_secs_f64() * rate).floor() as usize + 1;
                target.saturating_sub(self.status.submitted).min(CHUNK)
            }
        };
        let n = allowed.min(self.queue.len()).min(self.pause_above - pending);
        let batch: Vec<TxRequest> = self.queue.drain(..n).collect();
        batch
    }

    /// Records one submission's verdict.
    pub fn record(&mut self, accepted: bool, now: Time) {
        self.status.submitted += 1;
        if accepted {
            self.status.accepted += 1;
        } else {
            self.status.rejected += 1;
        }
        if self.queue.is_empty() && self.status.submitted == self.status.total {
            self.status.finished_at = Some(now.as_nanos());
        }
    }

    /// Progress so far.
    pub fn status(&self) -> WorkloadStatus {
        self.status.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_input_table() {
        let ok = parse_input("f", "id1 hello there\r\n\r\nid4 Everything!\nid0 x\n").unwrap();
        let got: Vec<(usize, u32, &str)> = ok.lines.iter().map(|l| (l.line, l.to, l.text.as_str())).collect();
        assert_eq!(got, vec![(1, 1, "hello there"), (3, 4, "Everything!"), (4, 0, "x")]);
        for (text, line, why) in [
            ("id1 ok\nhello world\n", 2, "'hello' should be id<N>, like id3"),
            ("idx hi", 1, "'idx' should be id<N>, like id3"),
            ("id3\n", 1, "no message after id3"),
            ("id3    \r\n", 1, "no message after id3"),
        ] {
            match parse_input("t.txt", text) {
                Err(InputError::BadLine { file, line: l, why: w }) => {
                    assert_eq!((file.as_str(), l, w.as_str()), ("t.txt", line, why), "{text:?}")
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn generated_inputs_are_deterministic_and_parse() {
        let a = generate_inputs(5, 20, 7);
        assert_eq!(a, generate_inputs(5, 20, 7));
        assert_ne!(a, generate_inputs(5, 20, 8));
        for (me, text) in a.iter().enumerate() {
            let f = parse_input("gen", text).unwrap();
            assert_eq!(f.lines.len(), 20);
            assert!(f.lines.iter().all(|l| l.to as usize != me && l.to < 5));
        }
    }
}
