//! The event trace: a SHA-256 over every event the simulation runs, and optionally a JSON-lines
//! file of them.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use blockchat_core::{Input, PeerMessage, Time, Timer};
use sha2::{Digest, Sha256};

/// Accumulates the trace digest (and file).
#[derive(Debug)]
pub struct Trace {
    hasher: Sha256,
    buf: Vec<u8>,
    file: Option<BufWriter<File>>,
}

impl Trace {
    /// A trace that only digests; with `path`, also writes JSON lines there.
    pub fn new(path: Option<&Path>) -> std::io::Result<Trace> {
        let file = path.map(File::create).transpose()?.map(BufWriter::new);
        Ok(Trace { hasher: Sha256::new(), buf: Vec::with_capacity(1 << 16), file })
    }

    /// Records one event: its time, node, kind and a short identifying detail.
    pub fn record(&mut self, at: Time, node: usize, kind: &'static str, detail: &[u8]) {
        let start = self.buf.len();
        self.buf.extend_from_slice(&at.as_nanos().to_be_bytes());
        self.buf.extend_from_slice(&(node as u32).to_be_bytes());
        self.buf.extend_from_slice(kind.as_bytes());
        self.buf.extend_from_slice(detail);
        self.written(start, at, node, kind);
    }

    /// Records an input handed to `node`: time, node, a kind byte and the first bytes of the
    /// sender and of the ids it carries (17 bytes for the common single message).
    pub fn record_input(&mut self, at: Time, node: usize, input: &Input) {
        let start = self.buf.len();
        self.buf.extend_from_slice(&at.as_nanos().to_be_bytes());
        self.buf.extend_from_slice(&(node as u32).to_be_bytes());
        let kind = match input {
            Input::Submit(_) => {
                self.buf.push(1);
                "submit"
            }
            Input::Timer(t) => {
                self.buf.push(2);
                let (tag, generation, round) = match t {
                    Timer::Round { generation, round } => (0u8, *generation, *round),
                    Timer::BlockInterval { generation } => (1, *generation, 0),
                    Timer::QuietTip { generation } => (2, *generation, 0),
                    Timer::Sync { generation } => (3, *generation, 0),
                };
                self.buf.push(tag);
                self.buf.extend_from_slice(&(generation as u32).to_be_bytes());
                self.buf.extend_from_slice(&round.to_be_bytes());
                "timer"
            }
            Input::PeerConnected(a) => {
                self.buf.push(3);
                self.buf.extend_from_slice(&a.0[..4]);
                "connected"
            }
            Input::Peer { from, message } => {
                self.buf.push(4);
                self.buf.push(from.0[0]);
                match message {
                    PeerMessage::Transaction(tx) => self.buf.extend_from_slice(&tx.id().0[..3]),
                    PeerMessage::Block(b) => self.buf.extend_from_slice(&b.hash().0[..3]),
                    PeerMessage::GetBlocks { from } => self.buf.extend_from_slice(&from.to_be_bytes()),
                    PeerMessage::Blocks(bs) => bs.iter().for_each(|b| self.buf.extend_from_slice(&b.hash().0[..3])),
                    PeerMessage::Transactions(ts) => ts.iter().for_each(|t| self.buf.extend_from_slice(&t.id().0[..3])),
                }
                message.kind()
            }
        };
        self.written(start, at, node, kind);
    }

    /// Flushes full buffers into the digest and mirrors the record to the file.
    fn written(&mut self, start: usize, at: Time, node: usize, kind: &'static str) {
        if let Some(f) = &mut self.file {
            let line = format!(
                "{{\"t_ns\":{},\"node\":{node},\"event\":\"{kind}\",\"detail\":\"{}\"}}\n",
                at.as_nanos(),
                hex::encode(&self.buf[start + 12..])
            );
            // A failing trace file must not change the simulation; the error surfaces at finish.
            let _ = f.write_all(line.as_bytes());
        }
        if self.buf.len() >= 1 << 16 {
            self.hasher.update(&self.buf);
            self.buf.clear();
        }
    }

    /// The digest of everything recorded, flushing the file.
    pub fn finish(mut self) -> std::io::Result<[u8; 32]> {
        self.hasher.update(&self.buf);
        if let Some(mut f) = self.file.take() {
            f.flush()?;
        }
        Ok(self.hasher.finalize().into())
    }
}
