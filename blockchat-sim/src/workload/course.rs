//! The course's input files: `trans{i}.txt` in a directory, one `id<N> <message>` per line (node
//! i sends the message to node N), and a generator of files in the same format.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rand_chacha::ChaCha8Rng;
use rand_core::Rng;
use thiserror::Error;

/// Why the input files could not be used.
#[derive(Debug, Error)]
pub enum InputError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line is not `id<N> <message>`.
    #[error("{path}, line {line}: expected 'id<N> <message>', got '{text}'")]
    BadLine {
        /// The file.
        path: PathBuf,
        /// One-based line number.
        line: usize,
        /// The line.
        text: String,
    },
    /// A line names a node that does not exist.
    #[error("{path}, line {line}: node id{node} does not exist (there are {nodes} nodes)")]
    UnknownNode {
        /// The file.
        path: PathBuf,
        /// One-based line number.
        line: usize,
        /// The node named.
        node: usize,
        /// Nodes in the run.
        nodes: usize,
    },
}

/// One line: who receives which text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The receiving node.
    pub to: usize,
    /// The message.
    pub text: String,
}

/// Parses one file's text; blank lines are skipped, CRLF and LF both work.
pub fn parse(path: &Path, text: &str, nodes: usize) -> Result<Vec<Line>, InputError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let bad = || InputError::BadLine { path: path.into(), line: i + 1, text: line.to_string() };
        let (head, message) = line.split_once(' ').ok_or_else(bad)?;
        let to: usize = head.strip_prefix("id").and_then(|n| n.parse().ok()).ok_or_else(bad)?;
        if message.is_empty() {
            return Err(bad());
        }
        if to >= nodes {
            return Err(InputError::UnknownNode { path: path.into(), line: i + 1, node: to, nodes });
        }
        out.push(Line { to, text: message.to_string() });
    }
    Ok(out)
}

/// Reads `trans0.txt` … `trans{n-1}.txt` from `dir`.
pub fn read_dir(dir: &Path, nodes: usize) -> Result<Vec<Vec<Line>>, InputError> {
    (0..nodes)
        .map(|i| {
            let path = dir.join(format!("trans{i}.txt"));
            let text =
                std::fs::read_to_string(&path).map_err(|source| InputError::Io { path: path.clone(), source })?;
            parse(&path, &text, nodes)
        })
        .collect()
}

const WORDS: [&str; 64] = [
    "the",
    "answer",
    "is",
    "forty",
    "two",
    "ship",
    "whale",
    "towel",
    "galaxy",
    "guide",
    "mostly",
    "harmless",
    "tea",
    "time",
    "lunch",
    "doubly",
    "so",
    "deep",
    "thought",
    "computer",
    "planet",
    "mice",
    "dolphins",
    "thanks",
    "fish",
    "bring",
    "your",
    "never",
    "panic",
    "vogon",
    "poetry",
    "heart",
    "of",
    "gold",
    "improbable",
    "drive",
    "babel",
    "ear",
    "earth",
    "demolished",
    "bypass",
    "plans",
    "were",
    "on",
    "display",
    "cellar",
    "leopard",
    "beware",
    "flat",
    "dark",
    "stairs",
    "universe",
    "everything",
    "life",
    "and",
    "question",
    "ultimate",
    "robot",
    "brain",
    "size",
    "very",
    "small",
    "blue",
    "green",
];

/// One generated message: 1 to 8 words, capitalised, ending in punctuation (about 25 characters
/// on average, close to the course's files).
fn sentence(rng: &mut ChaCha8Rng) -> String {
    let words = 1 + (rng.next_u32() % 6) as usize;
    let mut s = String::new();
    for w in 0..words {
        if w > 0 {
            s.push(' ');
        }
        s.push_str(WORDS[(rng.next_u32() % WORDS.len() as u32) as usize]);
    }
    let mut chars = s.chars();
    let first = chars.next().map(|c| c.to_ascii_uppercase()).unwrap_or('A');
    let end = [".", "!", "?", "."][(rng.next_u32() % 4) as usize];
    format!("{first}{}{end}", chars.as_str())
}

/// The text of `lines` course-format lines for node `me` of `nodes`, CRLF-terminated.
pub fn generate_file(me: usize, nodes: usize, lines: usize, rng: &mut ChaCha8Rng) -> String {
    let mut out = String::new();
    for _ in 0..lines {
        let mut to = (rng.next_u32() as usize) % (nodes - 1);
        if to >= me {
            to += 1;
        }
        let _ = write!(out, "id{to} {}\r\n", sentence(rng));
    }
    out
}

/// Parsed generated files for every node (what `gen-inputs` would write).
pub fn generate(nodes: usize, lines: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<Line>> {
    (0..nodes)
        .map(|i| {
            let text = generate_file(i, nodes, lines, rng);
            // The generator's own output always parses.
            parse(Path::new("generated"), &text, nodes).unwrap_or_default()
        })
        .collect()
}

/// Writes `trans{i}.txt` for every node into `dir`.
pub fn write_dir(dir: &Path, nodes: usize, lines: usize, rng: &mut ChaCha8Rng) -> Result<(), InputError> {
    std::fs::create_dir_all(dir).map_err(|source| InputError::Io { path: dir.into(), source })?;
    for i in 0..nodes {
        let path = dir.join(format!("trans{i}.txt"));
        let text = generate_file(i, nodes, lines, rng);
        std::fs::write(&path, text).map_err(|source| InputError::Io { path, source })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::{Stream, rng};

    #[test]
    fn parse_table() {
        let p = Path::new("trans0.txt");
        assert_eq!(
            parse(p, "id1 Hello there\r\n\r\nid4 Everything!\n", 5).unwrap(),
            vec![Line { to: 1, text: "Hello there".into() }, Line { to: 4, text: "Everything!".into() }]
        );
        for (text, want) in [
            ("hello", "line 1: expected 'id<N> <message>', got 'hello'"),
            ("id1 ok\nidx nope", "line 2: expected"),
            ("id1 ", "line 1: expected"),
            ("id7 far away", "line 1: node id7 does not exist (there are 5 nodes)"),
        ] {
            let err = parse(p, text, 5).unwrap_err().to_string();
            assert!(err.contains(want), "{text:?}: {err}");
            assert!(err.starts_with("trans0.txt"), "{err}");
        }
    }

    #[test]
    fn generated_files_are_course_format_and_seeded() {
        let a = generate_file(2, 5, 100, &mut rng(1, Stream::Workload));
        assert_eq!(a, generate_file(2, 5, 100, &mut rng(1, Stream::Workload)));
        assert_eq!(a.matches("\r\n").count(), 100);
        let lines = parse(Path::new("g"), &a, 5).unwrap();
        assert!(lines.iter().all(|l| l.to != 2 && l.to < 5));
        let chars: usize = lines.iter().map(|l| l.text.chars().count()).sum();
        assert!((1_500..3_500).contains(&chars), "{chars} characters in 100 lines");
    }

    #[test]
    fn official_files_parse_when_present() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/blockchat-inputs");
        for (dir, n) in [("5nodes", 5), ("10nodes", 10)] {
            let d = root.join(dir);
            if !d.exists() {
                eprintln!("skipped: {} not present", d.display());
                continue;
            }
            let all = read_dir(&d, n).unwrap();
            assert!(all.iter().all(|f| f.len() == 100));
        }
    }
}
