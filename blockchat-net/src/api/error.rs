//! Why a request was not carried out: one typed error, sent as JSON-RPC's `{"code", "message",
//! "data"}` with the facts in `data`.

use blockchat_core::error::TxError;
use blockchat_core::{BlockHash, TxId};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::api::types::{Amount, Phase};

/// Why a request was not carried out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum ApiError {
    /// The body is not JSON.
    #[error("the request is not JSON: {detail}")]
    Parse {
        /// What the parser said.
        detail: String,
    },
    /// The body is JSON but not a JSON-RPC 2.0 request.
    #[error("not a JSON-RPC 2.0 request: {detail}")]
    InvalidRequest {
        /// What is wrong.
        detail: String,
    },
    /// No method has this name.
    #[error("there is no method {method:?} (see docs/API.md)")]
    UnknownMethod {
        /// The name asked for.
        method: String,
    },
    /// The method exists but its parameters do not fit it.
    #[error("bad parameters for {method}: {detail}")]
    InvalidParams {
        /// The method.
        method: String,
        /// What is wrong.
        detail: String,
    },
    /// A method that changes state, asked through the explorer's read-only session.
    #[error("{method} changes the node's state; the explorer's session may only read")]
    ReadOnly {
        /// The method.
        method: String,
    },
    /// The network has not formed yet.
    #[error("the network is not ready yet ({phase})")]
    NotReady {
        /// Where the node is.
        phase: Phase,
    },
    /// The node is stopping.
    #[error("the node is shutting down")]
    ShuttingDown,
    /// No member has this id.
    #[error("there is no node {id} (ids go from 0 to {last})")]
    UnknownNode {
        /// The id asked for.
        id: u32,
        /// The highest id.
        last: u32,
    },
    /// The best chain holds no block at this height.
    #[error("no block at height {height} (the chain is {tip} blocks high)")]
    NoBlockAtHeight {
        /// The height asked for.
        height: u64,
        /// The best chain's height.
        tip: u64,
    },
    /// The best chain holds no block with this hash.
    #[error("no block {hash} in the best chain")]
    NoSuchBlock {
        /// The hash asked for.
        hash: BlockHash,
    },
    /// Neither the best chain nor the mempool holds this transaction.
    #[error("no transaction {id} in the best chain or the mempool")]
    NoSuchTransaction {
        /// The id asked for.
        id: TxId,
    },
    /// The node refused the transaction; `reason` names the core's error, the other fields are
    /// its facts.
    #[error("refused: {message}")]
    Refused {
        /// The core's error, by name (`InsufficientBalance`, …).
        reason: String,
        /// In words, with the facts.
        message: String,
        /// The core's error fields (amounts as BCC and units).
        facts: Value,
    },
}

impl ApiError {
    /// The JSON-RPC error code: the standard ones for protocol errors, 1–99 for the node's.
    pub fn code(&self) -> i64 {
        match self {
            ApiError::Parse { .. } => -32700,
            ApiError::InvalidRequest { .. } => -32600,
            ApiError::UnknownMethod { .. } => -32601,
            ApiError::InvalidParams { .. } => -32602,
            ApiError::NotReady { .. } => 1,
            ApiError::ShuttingDown => 2,
            ApiError::UnknownNode { .. } => 3,
            ApiError::NoBlockAtHeight { .. } | ApiError::NoSuchBlock { .. } => 4,
            ApiError::NoSuchTransaction { .. } => 5,
            ApiError::Refused { .. } => 6,
            ApiError::ReadOnly { .. } => 7,
        }
    }
}

impl From<&TxError> for ApiError {
    fn from(e: &TxError) -> ApiError {
        ApiError::Refused { reason: e.name().to_string(), message: e.to_string(), facts: tx_error_facts(e) }
    }
}

/// The fields of a core transaction error, amounts in the API's representation.
fn tx_error_facts(e: &TxError) -> Value {
    let amount = |units: u64| serde_json::to_value(Amount(units)).unwrap_or(Value::Null);
    match e {
        TxError::BadNonce { expected, got } => json!({ "expected": expected, "got": got }),
        TxError::NonceTooFarAhead { expected, got, window } => {
            json!({ "expected": expected, "got": got, "window": window })
        }
        TxError::InsufficientBalance { needed, available } => {
            json!({ "needed": amount(*needed), "available": amount(*available) })
        }
        TxError::UnknownSender { sender } => json!({ "sender": sender }),
        TxError::UnknownReceiver { receiver } | TxError::StakeReceiverNotZero { receiver } => {
            json!({ "receiver": receiver })
        }
        TxError::MessageTooLong { chars, max } => json!({ "chars": chars, "max": max }),
        TxError::MempoolFull { limit } => json!({ "limit": limit }),
        TxError::AlreadyPending { id } | TxError::AlreadyCommitted { id } => json!({ "id": id }),
        TxError::BadSignature
        | TxError::SendToSelf
        | TxError::ReceiverIsZero
        | TxError::ZeroAmount
        | TxError::EmptyMessage
        | TxError::NoStakersLeft => json!({}),
    }
}

/// A JSON-RPC error object: `{"code", "message", "data"}`; `data` is the typed error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// The code (see [`ApiError::code`]).
    pub code: i64,
    /// The error in words.
    pub message: String,
    /// The typed error with its facts.
    pub data: ApiError,
}

impl From<ApiError> for ErrorObject {
    fn from(e: ApiError) -> ErrorObject {
        ErrorObject { code: e.code(), message: e.to_string(), data: e }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_carries_the_core_error_fields() {
        let e = ApiError::from(&TxError::InsufficientBalance { needed: 2_000_000, available: 500_000 });
        let o = serde_json::to_value(ErrorObject::from(e)).unwrap();
        assert_eq!(o["code"], 6);
        assert_eq!(o["data"]["error"], "refused");
        assert_eq!(o["data"]["reason"], "InsufficientBalance");
        assert_eq!(o["data"]["facts"]["needed"]["bcc"], "2");
        assert_eq!(o["data"]["facts"]["available"]["units"], 500_000);
        assert!(o["message"].as_str().unwrap().contains("insufficient balance"));
    }
}
