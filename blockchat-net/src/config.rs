//! The node's config file (`--config FILE`, TOML): its settings become flags placed before the
//! ones given on the command line, which override them; `blockchat config show` prints what a
//! node would run with.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use serde::Serializer;
use thiserror::Error;

use crate::cli::{Cli, NodeArgs};

/// Why a config file cannot be used.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read the config file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not TOML.
    #[error("the config file {} is not valid TOML: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        message: String,
    },
    /// A key names no setting of the node.
    #[error("the config file {} sets '{key}', which is not a setting of the node (see blockchat --help)", path.display())]
    UnknownSetting {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
    },
    /// A value has the wrong type for its setting.
    #[error("the config file {} sets '{key}' to {value}: {expected}", path.display())]
    BadValue {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// The value, as written.
        value: String,
        /// What the setting takes.
        expected: &'static str,
    },
}

/// The command line `args` (program name first) with the settings of the `--config` file it
/// names, if any, put before the flags given, so those override the file. Other subcommands
/// than `config show` take no config file and are left as they are.
pub fn with_config(args: Vec<OsString>) -> Result<Vec<OsString>, ConfigError> {
    let at = match args.get(1).and_then(|a| a.to_str()) {
        Some("config") if args.get(2).and_then(|a| a.to_str()) == Some("show") => 3,
        Some(word) if Cli::command().find_subcommand(word).is_some() => return Ok(args),
        _ => 1,
    };
    let Some(path) = config_path(&args[at.min(args.len())..]) else { return Ok(args) };
    let flags = flags_of(&path)?;
    let mut out = args[..at].to_vec();
    out.extend(flags);
    out.extend_from_slice(&args[at..]);
    Ok(out)
}

/// The value of `--config FILE` or `--config=FILE`, if given.
fn config_path(args: &[OsString]) -> Option<PathBuf> {
    let mut words = args.iter();
    while let Some(word) = words.next() {
        let word = word.to_string_lossy();
        if word == "--" {
            return None;
        }
        if word == "--config" {
            return words.next().map(PathBuf::from);
        }
        if let Some(value) = word.strip_prefix("--config=") {
            return Some(PathBuf::from(value));
        }
    }
    None
}

/// The file's settings as flags, in the file's order (keys are long flag names, `_` or `-`).
fn flags_of(path: &Path) -> Result<Vec<OsString>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
    let table: toml::Table =
        text.parse().map_err(|e: toml::de::Error| ConfigError::Parse { path: path.into(), message: e.to_string() })?;
    let command = Cli::command();
    let mut flags = Vec::new();
    for (key, value) in table {
        let long = key.replace('_', "-");
        let arg = command
            .get_arguments()
            .find(|a| a.get_long() == Some(long.as_str()) && !matches!(long.as_str(), "config" | "help" | "version"))
            .ok_or_else(|| ConfigError::UnknownSetting { path: path.into(), key: key.clone() })?;
        let bad = |expected| ConfigError::BadValue {
            path: path.into(),
            key: key.clone(),
            value: value.to_string(),
            expected,
        };
        let takes_value = arg.get_action().takes_values();
        match (&value, takes_value) {
            (toml::Value::Boolean(true), false) => flags.push(format!("--{long}").into()),
            (toml::Value::Boolean(false), false) => {}
            (_, false) => return Err(bad("this setting is a switch: true or false")),
            (toml::Value::String(s), true) => flags.extend([format!("--{long}"), s.clone()].map(OsString::from)),
            (toml::Value::Integer(n), true) => flags.extend([format!("--{long}"), n.to_string()].map(OsString::from)),
            (toml::Value::Float(x), true) => flags.extend([format!("--{long}"), x.to_string()].map(OsString::from)),
            (_, true) => return Err(bad("this setting takes a string or a number")),
        }
    }
    Ok(flags)
}

/// The settings of `args` as a config file would hold them (amounts in BCC, times as typed).
pub fn show(args: &NodeArgs) -> Result<String, toml::ser::Error> {
    toml::to_string(args)
}

/// An amount in units, written as BCC (what the flags take).
pub(crate) fn bcc<S: Serializer>(units: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&blockchat_core::format_bcc(*units))
}

/// A think time, written as the flag takes it (`100-500`).
pub(crate) fn think<S: Serializer>(think: &Option<blockchat_host::Think>, s: S) -> Result<S::Ok, S::Error> {
    match think {
        Some(t) => s.serialize_str(&format!("{}-{}", t.min_ms, t.max_ms)),
        None => s.serialize_none(),
    }
}
