//! The log of committed blocks (`blocks.log`), format 2, byte for byte in
//! `docs/PROTOCOL.md` ("The block log"): an 8-byte file header `BCHLOG\0\x02`, then per block
//! `length u32 ‖ crc32(length) u32 ‖ crc32(payload) u32 ‖ payload`, big-endian, CRC-32/ISO-HDLC.
//! Because the length has its own checksum, a torn last write (an incomplete final record) can
//! be told from damage anywhere else: only the former is cut off; damage stops the node with
//! the record and offset, and `blockchat repair` is the operator's explicit way out.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use blockchat_core::Block;
use blockchat_core::codec::DecodeError;
use thiserror::Error;

use crate::daemon::storage::StorageError;

/// The first bytes of a format-2 log.
pub const MAGIC: [u8; 8] = *b"BCHLOG\x00\x02";
/// Bytes before each record's payload.
const HEADER: usize = 12;
/// Bytes before each payload in format 1 (`length ‖ crc32(payload)`), read only to convert.
const HEADER_V1: usize = 8;
/// Largest record accepted when reading (a block of 65,536 long messages fits).
const MAX_RECORD: usize = 512 << 20;

/// What is wrong with a damaged record.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Damage {
    /// The length field does not match its checksum (a flipped bit, not a torn write).
    #[error("its length field does not match the length's checksum")]
    Length,
    /// The length is larger than any block the log accepts.
    #[error("its length {length} is over the {MAX_RECORD}-byte limit")]
    TooLong {
        /// The length read.
        length: usize,
    },
    /// The payload does not match its checksum.
    #[error("its block does not match the block's checksum")]
    Payload,
    /// The checksums hold but the bytes are not a block.
    #[error("its block does not decode: {0}")]
    Decode(DecodeError),
    /// The file starts with neither a block log's header nor a readable record.
    #[error("the file is not a block log (neither its header nor a readable first record)")]
    Unrecognised,
}

/// A damaged record: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damaged {
    /// Record number (0-based; record k holds block k+1).
    pub record: usize,
    /// Its byte offset in the file.
    pub offset: u64,
    /// What is wrong.
    pub damage: Damage,
}

/// What reading a log's bytes found.
#[derive(Debug, PartialEq, Eq)]
pub struct Scan {
    /// Byte ranges of the intact records' payloads.
    pub records: Vec<(usize, usize)>,
    /// Bytes of intact records (with the file header); anything after is a torn final record.
    pub valid_len: usize,
    /// The file is in format 1 and must be rewritten.
    pub old_format: bool,
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Splits log bytes into records. An incomplete final record (its header or its payload runs
/// past the end, or a tail of zeros a crash can leave) is a torn write and `valid_len` stops
/// before it; any other damage is an error, wherever it is.
pub fn scan(bytes: &[u8]) -> Result<Scan, Damaged> {
    if bytes.is_empty() || bytes.starts_with(&MAGIC) {
        return scan_v2(bytes);
    }
    if MAGIC.starts_with(bytes) {
        // A crash while the header itself was written: an empty log.
        return Ok(Scan { records: Vec::new(), valid_len: 0, old_format: false });
    }
    scan_v1(bytes)
}

fn scan_v2(bytes: &[u8]) -> Result<Scan, Damaged> {
    scan_records(bytes, MAGIC.len().min(bytes.len()), false)
}

/// Format 1 (`length ‖ crc32(payload) ‖ payload`): read as strictly as its format allows.
fn scan_v1(bytes: &[u8]) -> Result<Scan, Damaged> {
    let scan = scan_records(bytes, 0, true).map_err(|d| {
        // Damage before the first intact record: nothing says this was ever a log.
        if d.record == 0 { Damaged { damage: Damage::Unrecognised, ..d } } else { d }
    })?;
    if scan.records.is_empty() {
        // Not one intact record: this is not an old log, and nothing in it may be overwritten.
        return Err(Damaged { record: 0, offset: 0, damage: Damage::Unrecognised });
    }
    Ok(scan)
}

/// The records from byte `at` on, in format 1 (`old`: no length checksum, 8-byte headers) or 2.
fn scan_records(bytes: &[u8], mut at: usize, old: bool) -> Result<Scan, Damaged> {
    let (header, payload_crc) = if old { (HEADER_V1, 4) } else { (HEADER, 8) };
    let mut records = Vec::new();
    while at < bytes.len() {
        let rest = &bytes[at..];
        let damaged = |damage| Damaged { record: records.len(), offset: at as u64, damage };
        // Too short for a header, or the zeros a crash can leave: an incomplete final record.
        if rest.len() < header || (!old && rest.iter().all(|&b| b == 0)) {
            break;
        }
        let len = be32(rest) as usize;
        if !old && crc32fast::hash(&rest[..4]) != be32(&rest[4..]) {
            return Err(damaged(Damage::Length));
        }
        if len > MAX_RECORD {
            return Err(damaged(Damage::TooLong { length: len }));
        }
        if rest.len() - header < len {
            break;
        }
        let payload = &rest[header..header + len];
        if crc32fast::hash(payload) != be32(&rest[payload_crc..]) {
            // A final record whose payload a crash left half written (or zero-filled).
            if header + len == rest.len() {
                break;
            }
            return Err(damaged(Damage::Payload));
        }
        records.push((at + header, at + header + len));
        at += header + len;
    }
    Ok(Scan { records, valid_len: at, old_format: old })
}

/// One format-2 record of `payload`, header included.
pub fn record(payload: &[u8]) -> Vec<u8> {
    let len = (payload.len() as u32).to_be_bytes();
    let mut r = Vec::with_capacity(HEADER + payload.len());
    r.extend_from_slice(&len);
    r.extend_from_slice(&crc32fast::hash(&len).to_be_bytes());
    r.extend_from_slice(&crc32fast::hash(payload).to_be_bytes());
    r.extend_from_slice(payload);
    r
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StorageError + '_ {
    move |error| StorageError::Io { path: path.to_path_buf(), error }
}

/// The append-only log of committed blocks 1, 2, … (the genesis lives in the network file).
#[derive(Debug)]
pub struct BlockLog {
    path: PathBuf,
    file: File,
    /// Byte offset where the record of block `k + 1` starts.
    offsets: Vec<u64>,
    len: u64,
    fsync: bool,
}

/// What opening the log recovered.
#[derive(Debug)]
pub struct Recovered {
    /// Blocks in order, from height 1.
    pub blocks: Vec<Block>,
    /// Bytes of a torn final record that were cut off (0 if none).
    pub torn_bytes: u64,
    /// The log was in format 1 and has been rewritten in format 2.
    pub converted: bool,
}

/// Reads and checks every record of the log at `path` (missing: empty).
fn read(path: &Path) -> Result<(Vec<u8>, Scan, Vec<Block>), StorageError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(error) => return Err(StorageError::Io { path: path.to_path_buf(), error }),
    };
    let corrupt = |d: Damaged| StorageError::Corrupt {
        path: path.to_path_buf(),
        record: d.record,
        offset: d.offset,
        damage: d.damage,
    };
    let scan = scan(&bytes).map_err(corrupt)?;
    let header = if scan.old_format { HEADER_V1 } else { HEADER };
    let mut blocks = Vec::with_capacity(scan.records.len());
    for (k, &(start, end)) in scan.records.iter().enumerate() {
        let block = Block::decode(&bytes[start..end])
            .map_err(|e| corrupt(Damaged { record: k, offset: (start - header) as u64, damage: Damage::Decode(e) }))?;
        blocks.push(block);
    }
    Ok((bytes, scan, blocks))
}

/// Writes `blocks` as a fresh format-2 log at `path` (through a synced temporary file).
fn rewrite(path: &Path, blocks: &[Block]) -> Result<(), StorageError> {
    let tmp = path.with_extension("log.tmp");
    let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
    let mut bytes = MAGIC.to_vec();
    for b in blocks {
        bytes.extend_from_slice(&record(&b.encode()));
    }
    f.write_all(&bytes).map_err(io_err(&tmp))?;
    f.sync_all().map_err(io_err(&tmp))?;
    fs::rename(&tmp, path).map_err(io_err(path))
}

impl BlockLog {
    /// Opens the log at `path`: reads every record, cuts off a torn final record, converts a
    /// format-1 log, and refuses a log damaged anywhere else ([`StorageError::Corrupt`]).
    pub fn open(path: &Path, fsync: bool) -> Result<(BlockLog, Recovered), StorageError> {
        let (bytes, scan, blocks) = read(path)?;
        let converted = scan.old_format;
        if converted {
            rewrite(path, &blocks)?;
        }
        let mut file = OpenOptions::new().read(true).append(true).create(true).open(path).map_err(io_err(path))?;
        let mut len = file.metadata().map_err(io_err(path))?.len();
        let torn_bytes = if converted { 0 } else { (bytes.len() - scan.valid_len) as u64 };
        if torn_bytes > 0 || len < MAGIC.len() as u64 {
            file.set_len(scan.valid_len as u64).map_err(io_err(path))?;
            if scan.valid_len < MAGIC.len() {
                file.set_len(0).map_err(io_err(path))?;
                file.write_all(&MAGIC).map_err(io_err(path))?;
            }
            file.sync_all().map_err(io_err(path))?;
            len = file.metadata().map_err(io_err(path))?.len();
        }
        // Offsets are recomputed from the format-2 layout the file now has.
        let mut offsets = Vec::with_capacity(blocks.len());
        let mut at = MAGIC.len() as u64;
        for b in &blocks {
            offsets.push(at);
            at += (HEADER + b.encoded_len()) as u64;
        }
        debug_assert_eq!(at, len);
        let log = BlockLog { path: path.to_path_buf(), file, offsets, len, fsync };
        Ok((log, Recovered { blocks, torn_bytes, converted }))
    }

    /// Height of the last stored block (0 when empty).
    pub fn height(&self) -> u64 {
        self.offsets.len() as u64
    }

    /// Appends `block`, which must be at height `self.height() + 1`; syncs to disk if asked to.
    pub fn append(&mut self, block: &Block) -> Result<(), StorageError> {
        self.write(block)?;
        self.sync()
    }

    /// Writes `block` (at height `self.height() + 1`) without syncing: blocks written one after
    /// another then share one [`BlockLog::sync`], as a database's group commit does.
    pub fn write(&mut self, block: &Block) -> Result<(), StorageError> {
        let record = record(&block.encode());
        let path = self.path.clone();
        self.file.write_all(&record).map_err(io_err(&path))?;
        self.offsets.push(self.len);
        self.len += record.len() as u64;
        Ok(())
    }

    /// Makes every block written so far durable (nothing to do without syncs).
    pub fn sync(&mut self) -> Result<(), StorageError> {
        if self.fsync {
            self.file.sync_data().map_err(io_err(&self.path))?;
        }
        Ok(())
    }

    /// Removes blocks from `height` on (a reorganisation reverted them).
    pub fn truncate_from(&mut self, height: u64) -> Result<(), StorageError> {
        let Some(k) = height.checked_sub(1) else { return Ok(()) };
        let Some(&offset) = self.offsets.get(k as usize) else { return Ok(()) };
        let path = self.path.clone();
        self.file.set_len(offset).map_err(io_err(&path))?;
        self.file.sync_all().map_err(io_err(&path))?;
        self.offsets.truncate(k as usize);
        self.len = offset;
        Ok(())
    }
}

/// What `blockchat repair` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repair {
    /// The log was intact (a torn final record, if any, is left for the node to cut).
    Intact {
        /// Blocks in it.
        blocks: usize,
    },
    /// The log was cut at its first damaged record; the whole original was kept beside it.
    Cut {
        /// Blocks kept.
        kept: usize,
        /// Where the damage was.
        damaged: Damaged,
        /// Bytes removed from the log.
        removed: u64,
        /// The copy of the original log.
        copy: PathBuf,
    },
}

/// Keeps the blocks of the log at `path` before its first damaged record, after copying the
/// whole file to `blocks.log.damaged` (never overwriting an earlier copy); the node then
/// fetches the rest from its peers.
pub fn repair(path: &Path) -> Result<Repair, StorageError> {
    let damaged = match read(path) {
        Ok((_, _, blocks)) => return Ok(Repair::Intact { blocks: blocks.len() }),
        Err(StorageError::Corrupt { record, offset, damage, .. }) => Damaged { record, offset, damage },
        Err(e) => return Err(e),
    };
    let mut copy = path.with_extension("log.damaged");
    let mut k = 1;
    while copy.exists() {
        copy = path.with_extension(format!("log.damaged.{k}"));
        k += 1;
    }
    fs::copy(path, &copy).map_err(io_err(&copy))?;
    File::open(&copy).and_then(|f| f.sync_all()).map_err(io_err(&copy))?;
    let mut bytes = Vec::new();
    File::open(path).and_then(|mut f| f.read_to_end(&mut bytes)).map_err(io_err(path))?;
    // The records before the damage, read as the scan read them (format 1 or 2).
    let scan = scan(&bytes[..damaged.offset as usize]).map_err(|d| StorageError::Corrupt {
        path: path.to_path_buf(),
        record: d.record,
        offset: d.offset,
        damage: d.damage,
    })?;
    let mut blocks = Vec::with_capacity(scan.records.len());
    for &(start, end) in scan.records.iter().take(damaged.record) {
        match Block::decode(&bytes[start..end]) {
            Ok(b) => blocks.push(b),
            Err(_) => break,
        }
    }
    rewrite(path, &blocks)?;
    let removed = bytes.len() as u64 - damaged.offset;
    Ok(Repair::Cut { kept: blocks.len(), damaged, removed, copy })
}

#[cfg(test)]
#[path = "blocklog_tests.rs"]
mod tests;
