//! The event trace: a SHA-256 over every event the simulation runs, and optionally a JSON-lines
//! file of them.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use blockchat_core::{Input, PeerMessage, Time};
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
        self.buf.extend_from_slice(&at.as_nanos().to_be_bytes());
        self.buf.extend_from_slice(&(node as u32).to_be_bytes());
        self.buf.extend_from_slice(kind.as_bytes());
        self.buf.extend_from_slice(detail);
        if self.buf.len() >= 1 << 16 {
            self.hasher.update(&self.buf);
            self.buf.clear();
        }
        if let Some(f) = &mut self.file {
            let line = format!(
                "{{\"t_ns\":{},\"node\":{node},\"event\":\"{kind}\",\"detail\":\"{}\"}}\n",
                at.as_nanos(),
                hex::encode(detail)
            );
            // A failing trace file must not change the simulation; the error surfaces at finish.
            let _ = f.write_all(line.as_bytes());
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

/// A name and the first bytes of an id for an input, to record in the trace.
pub fn describe(input: &Input) -> (&'static str, Vec<u8>) {
    match input {
        Input::Submit(_) => ("submit", Vec::new()),
        Input::Timer(t) => ("timer", format!("{t:?}").into_bytes()),
        Input::PeerConnected(a) => ("connected", a.0[..4].to_vec()),
        Input::Peer { from, message } => {
            let mut d = from.0[..4].to_vec();
            match message {
                PeerMessage::Transaction(tx) => d.extend_from_slice(&tx.id().0[..8]),
                PeerMessage::Block(b) => d.extend_from_slice(&b.hash().0[..8]),
                PeerMessage::GetBlocks { from } => d.extend_from_slice(&from.to_be_bytes()),
                PeerMessage::Blocks(bs) => bs.iter().for_each(|b| d.extend_from_slice(&b.hash().0[..4])),
                PeerMessage::Transactions(ts) => ts.iter().for_each(|t| d.extend_from_slice(&t.id().0[..4])),
            }
            (message.kind(), d)
        }
    }
}
