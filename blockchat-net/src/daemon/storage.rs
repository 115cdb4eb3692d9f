//! The data directory: the wallet key file (mode 0600), the network description, and the log of
//! committed blocks. Each log record is `length u32 ‖ crc32 u32 ‖ block encoding`; a torn last
//! record (a crash mid-write) is detected and cut off, never accepted.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use blockchat_core::codec::DecodeError;
use blockchat_core::wallet::KeyFileError;
use blockchat_core::{Block, Wallet};
use thiserror::Error;

use crate::daemon::roster::NetworkInfo;

/// Bytes before each record's payload.
const HEADER: usize = 8;
/// Largest record accepted when reading (a block of 65,536 long messages fits).
const MAX_RECORD: usize = 512 << 20;

/// Why the data directory could not be used.
#[derive(Debug, Error)]
pub enum StorageError {
    /// A file could not be read or written.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        error: io::Error,
    },
    /// The key file is malformed.
    #[error("{path}: {error}")]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        error: KeyFileError,
    },
    /// The network file is malformed.
    #[error("{path}: {error}")]
    NetworkFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        error: serde_json::Error,
    },
    /// A record in the middle of the block log is damaged: not a torn write, so not cut off.
    #[error("{path}: record {record} at byte {offset} is damaged ({why}); refusing to drop the records after it")]
    Corrupt {
        /// The log.
        path: PathBuf,
        /// Record number (0-based; record k holds block k+1).
        record: usize,
        /// Its byte offset.
        offset: u64,
        /// What is wrong.
        why: String,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StorageError + '_ {
    move |error| StorageError::Io { path: path.to_path_buf(), error }
}

/// The files of one node.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// Opens (creating if needed) the directory at `root`.
    pub fn open(root: &Path) -> Result<DataDir, StorageError> {
        fs::create_dir_all(root).map_err(io_err(root))?;
        Ok(DataDir { root: root.to_path_buf() })
    }
    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// The wallet key file.
    pub fn key_path(&self) -> PathBuf {
        self.root.join("wallet.key")
    }
    /// The network description.
    pub fn network_path(&self) -> PathBuf {
        self.root.join("network.json")
    }
    /// The block log.
    pub fn log_path(&self) -> PathBuf {
        self.root.join("blocks.log")
    }
    /// Where the node writes its control endpoint's address.
    pub fn control_path(&self) -> PathBuf {
        self.root.join("control.addr")
    }
    /// The prompt's history.
    pub fn history_path(&self) -> PathBuf {
        self.root.join("history.txt")
    }

    /// The stored wallet, or a new one from OS entropy written with mode 0600.
    pub fn load_or_create_wallet(&self) -> Result<(Wallet, bool), StorageError> {
        let path = self.key_path();
        match fs::read_to_string(&path) {
            Ok(text) => {
                let wallet = Wallet::from_key_file(&text).map_err(|error| StorageError::KeyFile { path, error })?;
                Ok((wallet, false))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let wallet = Wallet::generate(&mut rand::rng());
                let mut f =
                    OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path).map_err(io_err(&path))?;
                f.write_all(wallet.to_key_file().as_bytes()).map_err(io_err(&path))?;
                f.sync_all().map_err(io_err(&path))?;
                fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).map_err(io_err(&path))?;
                Ok((wallet, true))
            }
            Err(error) => Err(StorageError::Io { path, error }),
        }
    }

    /// The stored network description, if the node has joined one.
    pub fn load_network(&self) -> Result<Option<NetworkInfo>, StorageError> {
        let path = self.network_path();
        match fs::read_to_string(&path) {
            Ok(text) => {
                serde_json::from_str(&text).map(Some).map_err(|error| StorageError::NetworkFile { path, error })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(StorageError::Io { path, error }),
        }
    }

    /// Stores the network description (written to a temporary file, synced, then renamed).
    pub fn save_network(&self, info: &NetworkInfo) -> Result<(), StorageError> {
        let path = self.network_path();
        let tmp = self.root.join("network.json.tmp");
        let text = serde_json::to_string_pretty(info)
            .map_err(|error| StorageError::NetworkFile { path: path.clone(), error })?;
        let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
        f.write_all(text.as_bytes()).map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
        fs::rename(&tmp, &path).map_err(io_err(&path))
    }
}

/// What reading a log's bytes found.
#[derive(Debug, PartialEq, Eq)]
pub struct Scan {
    /// Byte ranges of the intact records' payloads.
    pub records: Vec<(usize, usize)>,
    /// Bytes of intact records; anything after is a torn tail.
    pub valid_len: usize,
}

/// Splits log bytes into records. A damaged or incomplete *last* record is a torn tail
/// (`valid_len` stops before it); a damaged record followed by more data is an error.
pub fn scan(bytes: &[u8]) -> Result<Scan, (usize, usize, String)> {
    let mut records = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let rest = &bytes[at..];
        if rest.len() < HEADER {
            break;
        }
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let crc = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]);
        if len > MAX_RECORD || rest.len() - HEADER < len {
            // Runs past the end of the file: only a torn write does that.
            break;
        }
        let payload = &rest[HEADER..HEADER + len];
        if crc32fast::hash(payload) != crc {
            if HEADER + len == rest.len() {
                break;
            }
            return Err((records.len(), at, "checksum mismatch".to_string()));
        }
        records.push((at + HEADER, at + HEADER + len));
        at += HEADER + len;
    }
    Ok(Scan { records, valid_len: at })
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
    /// Bytes of a torn last record that were cut off (0 if none).
    pub torn_bytes: u64,
}

impl BlockLog {
    /// Opens the log at `path`, reading every intact record and cutting off a torn tail.
    pub fn open(path: &Path, fsync: bool) -> Result<(BlockLog, Recovered), StorageError> {
        let mut file = OpenOptions::new().read(true).append(true).create(true).open(path).map_err(io_err(path))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io_err(path))?;
        let corrupt = |record, offset: usize, why: String| StorageError::Corrupt {
            path: path.to_path_buf(),
            record,
            offset: offset as u64,
            why,
        };
        let scan = scan(&bytes).map_err(|(record, offset, why)| corrupt(record, offset, why))?;
        let mut blocks = Vec::with_capacity(scan.records.len());
        let mut offsets = Vec::with_capacity(scan.records.len());
        for (k, &(start, end)) in scan.records.iter().enumerate() {
            let block = Block::decode(&bytes[start..end])
                .map_err(|e: DecodeError| corrupt(k, start - HEADER, format!("block does not decode: {e}")))?;
            blocks.push(block);
            offsets.push((start - HEADER) as u64);
        }
        let torn_bytes = (bytes.len() - scan.valid_len) as u64;
        if torn_bytes > 0 {
            file.set_len(scan.valid_len as u64).map_err(io_err(path))?;
            file.sync_all().map_err(io_err(path))?;
        }
        let log = BlockLog { path: path.to_path_buf(), file, offsets, len: scan.valid_len as u64, fsync };
        Ok((log, Recovered { blocks, torn_bytes }))
    }

    /// Height of the last stored block (0 when empty).
    pub fn height(&self) -> u64 {
        self.offsets.len() as u64
    }

    /// Appends `block`, which must be at height `self.height() + 1`; syncs to disk if asked to.
    pub fn append(&mut self, block: &Block) -> Result<(), StorageError> {
        let payload = block.encode();
        let mut record = Vec::with_capacity(HEADER + payload.len());
        record.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        record.extend_from_slice(&crc32fast::hash(&payload).to_be_bytes());
        record.extend_from_slice(&payload);
        let path = self.path.clone();
        self.file.write_all(&record).map_err(io_err(&path))?;
        if self.fsync {
            self.file.sync_data().map_err(io_err(&path))?;
        }
        self.offsets.push(self.len);
        self.len += record.len() as u64;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn record(payload: &[u8]) -> Vec<u8> {
        let mut r = (payload.len() as u32).to_be_bytes().to_vec();
        r.extend_from_slice(&crc32fast::hash(payload).to_be_bytes());
        r.extend_from_slice(payload);
        r
    }

    #[test]
    fn scan_table() {
        let a = record(b"first");
        let b = record(b"second!");
        let ab: Vec<u8> = [a.clone(), b.clone()].concat();
        let mut flipped_last = ab.clone();
        let n = flipped_last.len();
        flipped_last[n - 1] ^= 1;
        let mut flipped_first = ab.clone();
        flipped_first[a.len() - 1] ^= 1;
        // (bytes, records kept, valid length) or an error at (record, offset).
        type Want = Result<(usize, usize), (usize, usize)>;
        let cases: Vec<(Vec<u8>, Want)> = vec![
            (vec![], Ok((0, 0))),
            (ab.clone(), Ok((2, ab.len()))),
            (ab[..ab.len() - 3].to_vec(), Ok((1, a.len()))),
            (ab[..a.len() + 5].to_vec(), Ok((1, a.len()))),
            (flipped_last, Ok((1, a.len()))),
            ([a.clone(), vec![0xff; 8]].concat(), Ok((1, a.len()))),
            (flipped_first, Err((0, 0))),
        ];
        for (i, (bytes, want)) in cases.into_iter().enumerate() {
            let got = scan(&bytes).map(|s| (s.records.len(), s.valid_len)).map_err(|(r, o, _)| (r, o));
            assert_eq!(got, want, "case {i}");
        }
    }

    #[test]
    fn a_torn_last_record_is_cut_off_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blocks.log");
        let keys: Vec<_> = (0..3).map(|i| Wallet::from_seed(i).address()).collect();
        let block = |ts| {
            let mut g = blockchat_core::Genesis::course(blockchat_core::NetworkParams::new(1), &keys, 10);
            g.timestamp = blockchat_core::Time(ts);
            g.block().unwrap()
        };
        {
            let (mut log, rec) = BlockLog::open(&path, true).unwrap();
            assert!(rec.blocks.is_empty());
            for ts in 1..=3 {
                log.append(&block(ts)).unwrap();
            }
            log.truncate_from(3).unwrap();
            log.append(&block(4)).unwrap();
        }
        let intact = fs::metadata(&path).unwrap().len();
        // A crash in the middle of the next append.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&record(&block(5).encode())[..50]).unwrap();
        drop(f);
        let (log, rec) = BlockLog::open(&path, true).unwrap();
        assert_eq!(rec.torn_bytes, 50);
        assert_eq!(rec.blocks, vec![block(1), block(2), block(4)]);
        assert_eq!(log.height(), 3);
        assert_eq!(fs::metadata(&path).unwrap().len(), intact);
        // Damage in the middle is not a torn write: refuse rather than drop blocks.
        let mut bytes = fs::read(&path).unwrap();
        bytes[20] ^= 0xff;
        fs::write(&path, &bytes).unwrap();
        assert!(matches!(BlockLog::open(&path, true), Err(StorageError::Corrupt { record: 0, .. })));
    }

    #[test]
    fn the_key_file_is_private_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::open(dir.path()).unwrap();
        let (w, created) = data.load_or_create_wallet().unwrap();
        assert!(created);
        let mode = fs::metadata(data.key_path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let (again, created) = data.load_or_create_wallet().unwrap();
        assert_eq!((again.address(), created), (w.address(), false));
        fs::write(data.key_path(), "nonsense").unwrap();
        assert!(matches!(data.load_or_create_wallet(), Err(StorageError::KeyFile { .. })));
        assert!(data.load_network().unwrap().is_none());
        fs::write(data.network_path(), "{").unwrap();
        assert!(matches!(data.load_network(), Err(StorageError::NetworkFile { .. })));
    }
}
