//! The event trace: a digest of every event the simulation runs, and optionally a JSON-lines
//! file of them. The digest folds the records into two 64-bit lanes with multiply-rotate steps
//! and ends in a SHA-256 of the lanes: it is there to tell runs that differ apart (same seed,
//! same digest), not to resist forgery, and it costs a tenth of hashing every byte.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use blockchat_core::{PeerMessage, Time};
use blockchat_host::Input;
use sha2::{Digest, Sha256};

/// Accumulates the trace digest (and file).
#[derive(Debug)]
pub struct Trace {
    lanes: [u64; 2],
    bytes: u64,
    buf: Vec<u8>,
    file: Option<BufWriter<File>>,
}

/// Folds `buf` into the lanes, eight bytes at a time (the tail zero-padded).
fn fold(lanes: &mut [u64; 2], buf: &[u8]) {
    const K: [u64; 2] = [0x9E37_79B9_7F4A_7C15, 0xC2B2_AE3D_27D4_EB4F];
    for chunk in buf.chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        lanes[0] = (lanes[0] ^ w).wrapping_mul(K[0]).rotate_left(29);
        lanes[1] = (lanes[1].wrapping_add(w) ^ lanes[0]).wrapping_mul(K[1]).rotate_left(31);
    }
}

impl Trace {
    /// A trace that only digests.
    pub fn digest_only() -> Trace {
        Trace { lanes: [0; 2], bytes: 0, buf: Vec::new(), file: None }
    }

    /// A trace that only digests; with `path`, also writes JSON lines there.
    pub fn new(path: Option<&Path>) -> std::io::Result<Trace> {
        let file = path.map(File::create).transpose()?.map(BufWriter::new);
        Ok(Trace { lanes: [0; 2], bytes: 0, buf: Vec::with_capacity(1 << 16), file })
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
            Input::LinkUp(a) | Input::LinkDown(a) => {
                let up = matches!(input, Input::LinkUp(_));
                self.buf.push(if up { 3 } else { 5 });
                self.buf.extend_from_slice(&a.0[..4]);
                if up { "link-up" } else { "link-down" }
            }
            Input::Message { from, message } => {
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
            fold(&mut self.lanes, &self.buf);
            self.bytes += self.buf.len() as u64;
            self.buf.clear();
        }
    }

    /// The digest of everything recorded, flushing the file.
    pub fn finish(mut self) -> std::io::Result<[u8; 32]> {
        fold(&mut self.lanes, &self.buf);
        self.bytes += self.buf.len() as u64;
        if let Some(mut f) = self.file.take() {
            f.flush()?;
        }
        let mut h = Sha256::new();
        h.update(self.lanes[0].to_be_bytes());
        h.update(self.lanes[1].to_be_bytes());
        h.update(self.bytes.to_be_bytes());
        Ok(h.finalize().into())
    }
}
