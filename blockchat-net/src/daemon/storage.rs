//! The data directory: the wallet key file (mode 0600), the network description, and the log of
//! committed blocks ([`crate::daemon::blocklog`]).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use blockchat_core::Wallet;
use blockchat_core::wallet::KeyFileError;
use thiserror::Error;

use crate::daemon::blocklog::Damage;
use crate::daemon::roster::NetworkInfo;

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
    /// A record of the block log is damaged (not a torn final write, so nothing is cut off).
    #[error(
        "{path}: record {record} (block {}) at byte {offset} is damaged: {damage}. The node will not start on \
         it. To keep the {record} blocks before it and fetch the rest from peers, run \
         `blockchat repair --data-dir {}` (it copies the whole log aside first), then start the node again",
        record + 1,
        path.parent().map(|p| p.display().to_string()).unwrap_or_default()
    )]
    Corrupt {
        /// The log.
        path: PathBuf,
        /// Record number (0-based; record k holds block k+1).
        record: usize,
        /// Its byte offset.
        offset: u64,
        /// What is wrong.
        damage: Damage,
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
    /// Where the node writes its API's address.
    pub fn api_path(&self) -> PathBuf {
        self.root.join(crate::api::auth::ADDR_FILE)
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

#[cfg(test)]
mod tests {
    use super::*;

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
