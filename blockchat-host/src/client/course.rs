//! The course's input files, the one parser and generator of the project: `trans{i}.txt` in a
//! directory, one `id<N> <message>` per line; node i sends each message to node N.
//!
//! The format, exactly:
//! - A UTF-8 byte-order mark at the very start of a file is skipped; other invalid UTF-8 is refused.
//! - A line ends at LF; one CR just before that LF is removed, nothing else (no other trimming).
//! - Blank lines (empty or only whitespace) are skipped; line numbers still count them.
//! - Otherwise a line is `id<N>`, one ASCII space, then the message. `N` is ASCII decimal digits
//!   (no sign, leading zeros allowed) fitting a `usize`. The first ASCII space is the only
//!   separator, so `id3\thello` is a bad id.
//! - The message is everything after that space, verbatim; it must not be empty or only whitespace.
//! - Targets are checked against the network size separately ([`check_targets`]); self-sends are
//!   not checked here (the protocol refuses them).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rand_core::Rng;
use thiserror::Error;

use crate::seed::{Stream, rng};

/// One line of a course file: node `to` receives `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// One-based line number in the file (blank lines count).
    pub number: usize,
    /// The receiving node.
    pub to: usize,
    /// The message, verbatim.
    pub text: String,
}

/// Why a line is not `id<N> <message>`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LineError {
    /// The first word does not start with `id`.
    #[error("{word:?} should be id<N>, like id3")]
    NoTarget {
        /// The first word (up to the first space).
        word: String,
    },
    /// The first word starts with `id` but no node number follows.
    #[error("{word:?} should be id followed by a node number, like id3")]
    BadId {
        /// The first word (up to the first space).
        word: String,
    },
    /// Nothing follows the target.
    #[error("no message after {target}")]
    NoMessage {
        /// The target word, like `id3`.
        target: String,
    },
    /// Only whitespace follows the target.
    #[error("only whitespace after {target}, no message")]
    BlankMessage {
        /// The target word, like `id3`.
        target: String,
    },
}

/// Why course files could not be used.
#[derive(Debug, Error)]
pub enum CourseError {
    /// A file could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file or directory could not be written.
    #[error("{path}: cannot write: {source}")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file is not UTF-8 text.
    #[error("{path}: not UTF-8 text")]
    NotUtf8 {
        /// The file.
        path: PathBuf,
    },
    /// A line is not `id<N> <message>`.
    #[error("{path}, line {line}: {error}")]
    BadLine {
        /// The file.
        path: PathBuf,
        /// One-based line number.
        line: usize,
        /// What is wrong.
        error: LineError,
    },
    /// A line names a node outside the network.
    #[error("{path}, line {line}: there is no node id{node} in a network of {nodes}")]
    UnknownNode {
        /// The file.
        path: PathBuf,
        /// One-based line number.
        line: usize,
        /// The node named.
        node: usize,
        /// Nodes in the network.
        nodes: usize,
    },
    /// Generating needs a sender and at least one other node.
    #[error("generating course files needs at least 2 nodes, not {nodes}")]
    TooFewNodes {
        /// Nodes asked for.
        nodes: usize,
    },
}

/// Parses one line that is not blank into (target, message).
fn parse_line(line: &str) -> Result<(usize, &str), LineError> {
    let (word, message) = line.split_once(' ').unwrap_or((line, ""));
    let Some(digits) = word.strip_prefix("id") else {
        return Err(LineError::NoTarget { word: word.to_string() });
    };
    let bad_id = || LineError::BadId { word: word.to_string() };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad_id());
    }
    let to = digits.parse::<usize>().map_err(|_| bad_id())?;
    if message.is_empty() {
        return Err(LineError::NoMessage { target: word.to_string() });
    }
    if message.trim().is_empty() {
        return Err(LineError::BlankMessage { target: word.to_string() });
    }
    Ok((to, message))
}

/// Parses one file's text (format only; `path` is for errors).
pub fn parse(path: &Path, text: &str) -> Result<Vec<Line>, CourseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for (k, piece) in text.split_inclusive('\n').enumerate() {
        let number = k + 1;
        // Only a line that an LF ends can have a CRLF ending.
        let line = match piece.strip_suffix('\n') {
            Some(line) => line.strip_suffix('\r').unwrap_or(line),
            None => piece,
        };
        if line.trim().is_empty() {
            continue;
        }
        let (to, message) =
            parse_line(line).map_err(|error| CourseError::BadLine { path: path.into(), line: number, error })?;
        out.push(Line { number, to, text: message.to_string() });
    }
    Ok(out)
}

/// Checks that every line names a node below `nodes`.
pub fn check_targets(path: &Path, lines: &[Line], nodes: usize) -> Result<(), CourseError> {
    match lines.iter().find(|l| l.to >= nodes) {
        Some(l) => Err(CourseError::UnknownNode { path: path.into(), line: l.number, node: l.to, nodes }),
        None => Ok(()),
    }
}

/// Reads and parses one file (format only, targets unchecked).
pub fn read_file(path: &Path) -> Result<Vec<Line>, CourseError> {
    let bytes = std::fs::read(path).map_err(|source| CourseError::Read { path: path.into(), source })?;
    let text = String::from_utf8(bytes).map_err(|_| CourseError::NotUtf8 { path: path.into() })?;
    parse(path, &text)
}

/// The path of node `i`'s file in `dir`.
fn file_path(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("trans{i}.txt"))
}

/// Reads `trans0.txt` … `trans{nodes-1}.txt` from `dir`, each parsed and its targets checked.
pub fn read_dir(dir: &Path, nodes: usize) -> Result<Vec<Vec<Line>>, CourseError> {
    (0..nodes)
        .map(|i| {
            let path = file_path(dir, i);
            let lines = read_file(&path)?;
            check_targets(&path, &lines, nodes)?;
            Ok(lines)
        })
        .collect()
}

/// Words of generated messages (kept compact: one word per line would be 64 lines).
#[rustfmt::skip]
const WORDS: [&str; 64] = [
    "the", "answer", "is", "forty", "two", "ship", "whale", "towel", "galaxy", "guide", "mostly", "harmless", "tea",
    "time", "lunch", "doubly", "so", "deep", "thought", "computer", "planet", "mice", "dolphins", "thanks", "fish",
    "bring", "your", "never", "panic", "vogon", "poetry", "heart", "of", "gold", "improbable", "drive", "babel", "ear",
    "earth", "demolished", "bypass", "plans", "were", "on", "display", "cellar", "leopard", "beware", "flat", "dark",
    "stairs", "universe", "everything", "life", "and", "question", "ultimate", "robot", "brain", "size", "very",
    "small", "blue", "green",
];

/// A uniform draw from `0..n` (`n > 0`), by rejection so that no value is favoured.
fn below(rng: &mut impl Rng, n: usize) -> usize {
    let n = n as u64;
    let zone = u64::MAX - u64::MAX % n;
    loop {
        let x = rng.next_u64();
        if x < zone {
            return (x % n) as usize;
        }
    }
}

/// One generated message: 1 to 6 words, capitalised, ending in punctuation (about 25 characters
/// on average, close to the course's files).
fn sentence(rng: &mut impl Rng) -> String {
    let words: Vec<&str> = (0..1 + below(rng, 6)).map(|_| WORDS[below(rng, WORDS.len())]).collect();
    let s = words.join(" ");
    let mut chars = s.chars();
    let first = chars.next().map(|c| c.to_ascii_uppercase()).unwrap_or('A');
    let end = [".", "!", "?", "."][below(rng, 4)];
    format!("{first}{}{end}", chars.as_str())
}

/// File texts for `nodes` nodes, `lines` CRLF-terminated lines each, node 0 first, each line to
/// a uniformly drawn other node; the same seed gives the same bytes.
pub fn generate(nodes: usize, lines: usize, seed: u64) -> Result<Vec<String>, CourseError> {
    if nodes < 2 {
        return Err(CourseError::TooFewNodes { nodes });
    }
    let mut rng = rng(seed, Stream::Inputs);
    let mut files = Vec::with_capacity(nodes);
    for me in 0..nodes {
        let mut text = String::new();
        for _ in 0..lines {
            let to = below(&mut rng, nodes - 1);
            let to = to + usize::from(to >= me);
            let _ = write!(text, "id{to} {}\r\n", sentence(&mut rng));
        }
        files.push(text);
    }
    Ok(files)
}

/// The files of [`generate`], parsed (what [`read_dir`] gives after [`write_dir`]).
pub fn generate_lines(nodes: usize, lines: usize, seed: u64) -> Result<Vec<Vec<Line>>, CourseError> {
    let files = generate(nodes, lines, seed)?;
    files.iter().enumerate().map(|(i, text)| parse(&file_path(Path::new(""), i), text)).collect()
}

/// Writes the files of [`generate`] as `trans{i}.txt` into `dir`, creating it if needed.
pub fn write_dir(dir: &Path, nodes: usize, lines: usize, seed: u64) -> Result<(), CourseError> {
    let files = generate(nodes, lines, seed)?;
    std::fs::create_dir_all(dir).map_err(|source| CourseError::Write { path: dir.into(), source })?;
    for (i, text) in files.iter().enumerate() {
        let path = file_path(dir, i);
        std::fs::write(&path, text).map_err(|source| CourseError::Write { path, source })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use LineError::{BadId, BlankMessage, NoMessage, NoTarget};

    /// Expected lines: (number, to, text).
    type Want = &'static [(usize, usize, &'static str)];

    fn triples(lines: &[Line]) -> Vec<(usize, usize, &str)> {
        lines.iter().map(|l| (l.number, l.to, l.text.as_str())).collect()
    }

    #[test]
    fn parse_table() {
        let p = Path::new("trans0.txt");
        let ok: &[(&str, Want)] = &[
            ("id1 hello", &[(1, 1, "hello")]),
            ("id1 Hello  there  ", &[(1, 1, "Hello  there  ")]),
            ("id1  lead", &[(1, 1, " lead")]),
            ("id007 x", &[(1, 7, "x")]),
            ("id2 a\tb", &[(1, 2, "a\tb")]),
            ("id1 x\r\r\n", &[(1, 1, "x\r")]),
            ("id1 x\r", &[(1, 1, "x\r")]),
            ("id3 Καλημέρα!", &[(1, 3, "Καλημέρα!")]),
            ("", &[]),
            ("\u{feff}id1 a\r\n", &[(1, 1, "a")]),
        ];
        for (text, want) in ok {
            assert_eq!(triples(&parse(p, text).unwrap()), *want, "{text:?}");
        }
        let bad = [
            ("hello world", 1, NoTarget { word: "hello".into() }),
            ("hello", 1, NoTarget { word: "hello".into() }),
            (" id1 x", 1, NoTarget { word: "".into() }),
            ("ID1 x", 1, NoTarget { word: "ID1".into() }),
            ("id1 a\n\u{feff}id2 b", 2, NoTarget { word: "\u{feff}id2".into() }),
            ("idx hi", 1, BadId { word: "idx".into() }),
            ("id hi", 1, BadId { word: "id".into() }),
            ("id-1 hi", 1, BadId { word: "id-1".into() }),
            ("id+1 hi", 1, BadId { word: "id+1".into() }),
            ("id3x hi", 1, BadId { word: "id3x".into() }),
            ("id99999999999999999999999 hi", 1, BadId { word: "id99999999999999999999999".into() }),
            ("id3\thello", 1, BadId { word: "id3\thello".into() }),
            ("id3", 1, NoMessage { target: "id3".into() }),
            ("id3 ", 1, NoMessage { target: "id3".into() }),
            ("id3 \r\n", 1, NoMessage { target: "id3".into() }),
            ("id1 ok\nid3\r\n", 2, NoMessage { target: "id3".into() }),
            ("id3  ", 1, BlankMessage { target: "id3".into() }),
            ("id3 \t", 1, BlankMessage { target: "id3".into() }),
        ];
        for (text, line, error) in bad {
            match parse(p, text) {
                Err(CourseError::BadLine { path, line: l, error: e }) => {
                    assert_eq!((path.as_path(), l, e), (p, line, error), "{text:?}")
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn byte_order_mark_is_skipped_and_bad_utf8_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.txt");
        std::fs::write(&path, b"\xef\xbb\xbfid1 a\r\nid2 b\r\n").unwrap();
        assert_eq!(triples(&read_file(&path).unwrap()), [(1, 1, "a"), (2, 2, "b")]);
        std::fs::write(&path, b"id1 \xff\xfe\r\n").unwrap();
        assert!(matches!(read_file(&path), Err(CourseError::NotUtf8 { path: p }) if p == path));
        let missing = dir.path().join("missing.txt");
        assert!(matches!(read_file(&missing), Err(CourseError::Read { path: p, .. }) if p == missing));
    }

    #[test]
    fn crlf_and_lf_mix() {
        let lines = parse(Path::new("t"), "id1 a\r\nid2 b\nid3 c\r\nid4 d").unwrap();
        assert_eq!(triples(&lines), [(1, 1, "a"), (2, 2, "b"), (3, 3, "c"), (4, 4, "d")]);
    }

    #[test]
    fn blank_lines_are_skipped_and_counted() {
        let lines = parse(Path::new("t"), "\n  \r\nid1 a\n\t\n\r\nid2 b\n\n").unwrap();
        assert_eq!(triples(&lines), [(3, 1, "a"), (6, 2, "b")]);
    }

    #[test]
    fn check_targets_reports_unknown_node() {
        let p = Path::new("trans1.txt");
        let lines = parse(p, "id0 a\nid4 b\nid5 c\nid9 d\n").unwrap();
        for (nodes, want) in [(10, None), (6, Some((4, 9))), (5, Some((3, 5))), (0, Some((1, 0)))] {
            match (check_targets(p, &lines, nodes), want) {
                (Ok(()), None) => {}
                (Err(CourseError::UnknownNode { path, line, node, nodes: n }), Some(w)) => {
                    assert_eq!((path.as_path(), line, node, n), (p, w.0, w.1, nodes))
                }
                (got, want) => panic!("{nodes} nodes: {got:?}, wanted {want:?}"),
            }
        }
    }

    #[test]
    fn generated_files_parse_and_never_self_send() {
        for (nodes, lines, seed) in [(2, 50, 1), (5, 100, 7), (10, 100, 42), (3, 0, 5)] {
            let files = generate(nodes, lines, seed).unwrap();
            assert_eq!(files.len(), nodes, "seed {seed}");
            let mut chars = 0;
            for (me, text) in files.iter().enumerate() {
                assert_eq!(text.matches("\r\n").count(), lines, "seed {seed}");
                let parsed = parse(Path::new("g"), text).unwrap();
                assert_eq!(parsed.len(), lines, "seed {seed}");
                check_targets(Path::new("g"), &parsed, nodes).unwrap();
                assert!(parsed.iter().all(|l| l.to != me), "seed {seed}: node {me} sends to itself");
                chars += parsed.iter().map(|l| l.text.chars().count()).sum::<usize>();
            }
            if lines > 0 {
                let average = chars as f64 / (nodes * lines) as f64;
                assert!((15.0..35.0).contains(&average), "seed {seed}: {average} characters per message");
            }
        }
    }

    #[test]
    fn generation_is_seeded_and_deterministic() {
        let a = generate(5, 100, 1).unwrap();
        assert_eq!(a, generate(5, 100, 1).unwrap());
        assert_ne!(a, generate(5, 100, 2).unwrap());
        let parsed = generate_lines(5, 100, 1).unwrap();
        assert_eq!(parsed, a.iter().map(|t| parse(Path::new("x"), t).unwrap()).collect::<Vec<_>>());
        let dir = tempfile::tempdir().unwrap();
        for nodes in [0, 1] {
            assert!(matches!(generate(nodes, 3, 1), Err(CourseError::TooFewNodes { nodes: n }) if n == nodes));
            assert!(matches!(generate_lines(nodes, 3, 1), Err(CourseError::TooFewNodes { .. })));
            assert!(matches!(write_dir(dir.path(), nodes, 3, 1), Err(CourseError::TooFewNodes { .. })));
        }
    }

    #[test]
    fn write_dir_then_read_dir_gives_generate_lines() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("inputs");
        write_dir(&sub, 4, 30, 9).unwrap();
        assert_eq!(read_dir(&sub, 4).unwrap(), generate_lines(4, 30, 9).unwrap());
        let missing = sub.join("trans4.txt");
        assert!(matches!(read_dir(&sub, 5), Err(CourseError::Read { path, .. }) if path == missing));
    }

    #[test]
    fn official_files_parse_when_present() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/blockchat-inputs");
        for (dir, nodes) in [("5nodes", 5), ("10nodes", 10)] {
            let d = root.join(dir);
            if !d.exists() {
                eprintln!("skipped: {} not present", d.display());
                continue;
            }
            for (i, file) in read_dir(&d, nodes).unwrap().iter().enumerate() {
                assert_eq!(file.len(), 100, "{dir}/trans{i}.txt");
                let chars: usize = file.iter().map(|l| l.text.chars().count()).sum();
                assert_eq!(chars, 2_314, "{dir}/trans{i}.txt");
            }
        }
    }
}
