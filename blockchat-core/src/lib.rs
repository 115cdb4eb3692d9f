#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod amount;
pub mod block;
pub mod chain;
pub mod codec;
pub mod error;
pub mod genesis;
pub mod ids;
pub mod ledger;
pub mod lottery;
pub mod mempool;
pub mod message;
pub mod node;
pub mod params;
pub mod signature;
pub mod time;
pub mod transaction;
pub mod wallet;
pub mod work;

/// Hash map for lookups on hot paths: foldhash, seeded per map (resistant to crafted keys). Its
/// iteration order is never used.
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

pub use amount::{UNITS_PER_BCC, format_bcc, parse_bcc};
pub use block::Block;
pub use chain::Chain;
pub use error::{BlockError, GenesisError, TxError};
pub use genesis::Genesis;
pub use ids::{Address, BlockHash, Signature, TxId};
pub use ledger::{Account, Ledger};
pub use lottery::Lottery;
pub use message::PeerMessage;
pub use node::{Input, Node, NodeConfig, Origin, Output, Step, Timer, TxRequest};
pub use params::{NetworkParams, ParamsError};
pub use signature::{Ed25519Check, SignatureCheck};
pub use time::Time;
pub use transaction::{Transaction, TxKind};
pub use wallet::Wallet;
pub use work::Work;
