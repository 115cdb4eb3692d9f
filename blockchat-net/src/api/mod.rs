//! The node's API: JSON-RPC 2.0 over HTTP, authenticated, with a stream of new blocks, Prometheus
//! metrics and the block explorer (`docs/API.md` lists the methods with examples).
//!
//! [`Request`] is the method list: what the server parses, what the node's loop answers and what
//! [`client::Client`] sends. Every answer is a [`Reply`] or an [`ApiError`].

use blockchat_core::{Address, BlockHash, TxId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub mod auth;
pub mod client;
pub mod error;
pub mod explorer;
pub mod metrics;
pub mod server;
pub mod types;
pub mod views;

pub use error::{ApiError, ErrorObject};
pub use types::*;

/// Who a transaction goes to or an account is looked up by: a node id, or an address in hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Recipient {
    /// A node id from the roster.
    Id(u32),
    /// A full address.
    Address(Address),
}

fn ten() -> usize {
    10
}
fn twenty() -> usize {
    20
}
fn hundred() -> usize {
    100
}

/// A method and its named parameters: `{"method": "block", "params": {"height": 3}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", content = "params", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// The node's phase, the chain's height and tip, peers, mempool, workload progress.
    Status {},
    /// A best-chain block by height or by hash (neither: the tip).
    Block {
        /// Its height.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        height: Option<u64>,
        /// Its hash.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hash: Option<BlockHash>,
    },
    /// Best-chain blocks in brief, from height `from` (at most `limit`, up to 1,000).
    Blocks {
        /// First height.
        #[serde(default)]
        from: u64,
        /// Most blocks.
        #[serde(default = "ten")]
        limit: usize,
    },
    /// A transaction by id, with the block that holds it (or pending).
    Transaction {
        /// Its id.
        id: TxId,
    },
    /// Transactions waiting in this node's mempool, oldest first.
    Mempool {
        /// Most returned.
        #[serde(default = "hundred")]
        limit: usize,
    },
    /// An account: balance, stake, spendable, nonce, pending spends (default: this node's).
    Account {
        /// A node id or an address.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        holder: Option<Recipient>,
    },
    /// Every account at the tip and the supply.
    Ledger {},
    /// Every member and whether this node is connected to it.
    Peers {},
    /// Each member's share of the best chain's blocks against its share of the stake.
    Shares {},
    /// This node's committed transactions (sent or received), newest first.
    History {
        /// Most returned.
        #[serde(default = "twenty")]
        limit: usize,
    },
    /// Send coins from this node.
    SendCoins {
        /// The receiver.
        to: Recipient,
        /// How many.
        amount: Amount,
    },
    /// Send a message from this node.
    SendMessage {
        /// The receiver.
        to: Recipient,
        /// The text.
        text: String,
    },
    /// Set this node's stake.
    Stake {
        /// The new stake.
        amount: Amount,
    },
    /// Stop the node cleanly.
    Shutdown {},
    /// Counters for `/metrics` (served as Prometheus text, not as a method).
    #[serde(skip)]
    Metrics,
}

impl Request {
    /// Whether the method changes the node's state (refused to the explorer's read-only session).
    pub fn changes_state(&self) -> bool {
        matches!(
            self,
            Request::SendCoins { .. } | Request::SendMessage { .. } | Request::Stake { .. } | Request::Shutdown {}
        )
    }

    /// The method's name on the wire.
    pub fn method(&self) -> String {
        let name = match self {
            Request::Status {} => "status",
            Request::Block { .. } => "block",
            Request::Blocks { .. } => "blocks",
            Request::Transaction { .. } => "transaction",
            Request::Mempool { .. } => "mempool",
            Request::Account { .. } => "account",
            Request::Ledger {} => "ledger",
            Request::Peers {} => "peers",
            Request::Shares {} => "shares",
            Request::History { .. } => "history",
            Request::SendCoins { .. } => "send_coins",
            Request::SendMessage { .. } => "send_message",
            Request::Stake { .. } => "stake",
            Request::Shutdown {} => "shutdown",
            Request::Metrics => "metrics",
        };
        name.to_string()
    }

    /// Reads a JSON-RPC call's method and named parameters (absent parameters are `{}`).
    pub fn parse(method: &str, params: Option<Value>) -> Result<Request, ApiError> {
        let params = match params {
            None | Some(Value::Null) => Value::Object(Default::default()),
            Some(Value::Object(o)) => Value::Object(o),
            Some(_) => {
                return Err(ApiError::InvalidParams {
                    method: method.to_string(),
                    detail: "params must be an object of named parameters".to_string(),
                });
            }
        };
        let call = serde_json::json!({ "method": method, "params": params });
        serde_json::from_value(call).map_err(|e| {
            let detail = e.to_string();
            if detail.starts_with("unknown variant") {
                ApiError::UnknownMethod { method: method.to_string() }
            } else {
                ApiError::InvalidParams { method: method.to_string(), detail }
            }
        })
    }

    /// Reads this method's result.
    pub fn reply_from(&self, result: Value) -> Result<Reply, serde_json::Error> {
        use serde_json::from_value as de;
        Ok(match self {
            Request::Status {} => Reply::Status(Box::new(de(result)?)),
            Request::Block { .. } => Reply::Block(de(result)?),
            Request::Blocks { .. } => Reply::Blocks(de(result)?),
            Request::Transaction { .. } => Reply::Transaction(de(result)?),
            Request::Mempool { .. } => Reply::Mempool(de(result)?),
            Request::Account { .. } => Reply::Account(de(result)?),
            Request::Ledger {} => Reply::Ledger(de(result)?),
            Request::Peers {} => Reply::Peers(de(result)?),
            Request::Shares {} => Reply::Shares(de(result)?),
            Request::History { .. } => Reply::History(de(result)?),
            Request::SendCoins { .. } | Request::SendMessage { .. } | Request::Stake { .. } => {
                Reply::Submitted(de(result)?)
            }
            Request::Shutdown {} => Reply::ShuttingDown,
            Request::Metrics => Reply::Metrics(Box::new(de(result)?)),
        })
    }
}

/// A method's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Reply {
    /// To `status`.
    Status(Box<Status>),
    /// To `block`.
    Block(BlockView),
    /// To `blocks`.
    Blocks(Vec<BlockSummary>),
    /// To `transaction`.
    Transaction(Located),
    /// To `mempool`.
    Mempool(Vec<TxView>),
    /// To `account`.
    Account(AccountView),
    /// To `ledger`.
    Ledger(LedgerView),
    /// To `peers`.
    Peers(Vec<PeerView>),
    /// To `shares`.
    Shares(Vec<Share>),
    /// To `history`.
    History(Vec<Located>),
    /// To `send_coins`, `send_message` and `stake`.
    Submitted(Submitted),
    /// To `shutdown` (`null`).
    ShuttingDown,
    /// The counters behind `/metrics`.
    Metrics(Box<metrics::Metrics>),
}

/// An answer: a result, or why not.
pub type Response = Result<Reply, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_parse_to_requests_or_typed_errors() {
        let a = Address([7; 32]);
        let cases: Vec<(&str, Value, Result<Request, i64>)> = vec![
            ("status", Value::Null, Ok(Request::Status {})),
            ("block", serde_json::json!({"height": 3}), Ok(Request::Block { height: Some(3), hash: None })),
            ("blocks", serde_json::json!({}), Ok(Request::Blocks { from: 0, limit: 10 })),
            (
                "send_coins",
                serde_json::json!({"to": 2, "amount": {"bcc": "1.5"}}),
                Ok(Request::SendCoins { to: Recipient::Id(2), amount: Amount(1_500_000) }),
            ),
            (
                "account",
                serde_json::json!({"holder": a.to_string()}),
                Ok(Request::Account { holder: Some(Recipient::Address(a)) }),
            ),
            ("send_coins", serde_json::json!({"to": 2}), Err(-32602)),
            ("status", serde_json::json!([1]), Err(-32602)),
            ("block", serde_json::json!({"heigth": 3}), Err(-32602)),
            ("getbalance", Value::Null, Err(-32601)),
            ("metrics", Value::Null, Err(-32601)),
        ];
        for (method, params, want) in cases {
            let got = Request::parse(method, Some(params.clone()));
            match want {
                Ok(r) => assert_eq!(got.unwrap(), r, "{method} {params}"),
                Err(code) => assert_eq!(got.unwrap_err().code(), code, "{method} {params}"),
            }
        }
    }

    #[test]
    fn method_names_round_trip() {
        let every = [
            Request::Status {},
            Request::Block { height: Some(1), hash: None },
            Request::Blocks { from: 0, limit: 1 },
            Request::Transaction { id: TxId([1; 32]) },
            Request::Mempool { limit: 1 },
            Request::Account { holder: None },
            Request::Ledger {},
            Request::Peers {},
            Request::Shares {},
            Request::History { limit: 1 },
            Request::SendCoins { to: Recipient::Id(1), amount: Amount(1) },
            Request::SendMessage { to: Recipient::Id(1), text: "hi".into() },
            Request::Stake { amount: Amount(1) },
            Request::Shutdown {},
        ];
        for r in every {
            assert_eq!(serde_json::to_value(&r).unwrap()["method"], r.method());
            let back = Request::parse(&r.method(), serde_json::to_value(&r).unwrap().get("params").cloned()).unwrap();
            assert_eq!(back, r);
        }
        assert!(Request::Shutdown {}.changes_state() && !Request::Ledger {}.changes_state());
    }
}
