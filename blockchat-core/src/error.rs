//! Why a transaction or a block is rejected, with the facts needed to act on it.

use thiserror::Error;

use crate::ids::{Address, BlockHash, TxId};

/// Why a transaction is invalid, or was not taken into the mempool.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TxError {
    /// The signature does not verify against the sender's public key.
    #[error("the signature does not verify")]
    BadSignature,
    /// The nonce is not the sender's next one.
    #[error("wrong nonce: expected {expected}, got {got}")]
    BadNonce {
        /// The sender's next nonce.
        expected: u64,
        /// The transaction's nonce.
        got: u64,
    },
    /// The nonce is ahead of the sender's next one by more than the mempool holds.
    #[error("nonce {got} is too far ahead of the next nonce {expected} (window {window})")]
    NonceTooFarAhead {
        /// The sender's next nonce.
        expected: u64,
        /// The transaction's nonce.
        got: u64,
        /// How far ahead the mempool holds transactions.
        window: u64,
    },
    /// The sender's unstaked balance does not cover amount plus fee.
    #[error(
        "insufficient balance: needs {} BCC, {} BCC available",
        crate::amount::format_bcc(*needed),
        crate::amount::format_bcc(*available)
    )]
    InsufficientBalance {
        /// Amount plus fee (or the new stake), in units.
        needed: u64,
        /// Balance minus stake (or the balance, for a stake), in units.
        available: u64,
    },
    /// The sender holds no account.
    #[error("unknown sender {sender}")]
    UnknownSender {
        /// The sender.
        sender: Address,
    },
    /// The receiver holds no account (accounts are created at genesis).
    #[error("unknown receiver {receiver}")]
    UnknownReceiver {
        /// The receiver.
        receiver: Address,
    },
    /// Coins or a message sent to oneself.
    #[error("sender and receiver are the same")]
    SendToSelf,
    /// Coins or a message addressed to address 0.
    #[error("coins and messages cannot go to address 0")]
    ReceiverIsZero,
    /// A stake transaction whose receiver is not address 0.
    #[error("a stake must be addressed to address 0, not {receiver}")]
    StakeReceiverNotZero {
        /// The receiver given.
        receiver: Address,
    },
    /// A coin transfer of zero units.
    #[error("a transfer must send more than zero")]
    ZeroAmount,
    /// A message with no characters.
    #[error("a message cannot be empty")]
    EmptyMessage,
    /// A message longer than the protocol allows.
    #[error("the message has {chars} characters, more than the maximum {max}")]
    MessageTooLong {
        /// Characters in the message.
        chars: usize,
        /// Largest allowed.
        max: usize,
    },
    /// The stake would leave no staker, so no validator could ever be drawn again.
    #[error("this stake would leave nobody staking, which would halt the chain")]
    NoStakersLeft,
    /// The mempool holds its maximum number of transactions.
    #[error("the mempool is full ({limit} transactions)")]
    MempoolFull {
        /// The mempool's limit.
        limit: usize,
    },
    /// The same transaction is already pending.
    #[error("transaction {id} is already pending")]
    AlreadyPending {
        /// Its id.
        id: TxId,
    },
    /// The same transaction is already in a recent block: a late duplicate or a replay.
    #[error("transaction {id} is already committed")]
    AlreadyCommitted {
        /// Its id.
        id: TxId,
    },
}

impl TxError {
    /// The variant's name, for counting and logs without formatting.
    pub fn name(&self) -> &'static str {
        match self {
            TxError::BadSignature => "BadSignature",
            TxError::BadNonce { .. } => "BadNonce",
            TxError::NonceTooFarAhead { .. } => "NonceTooFarAhead",
            TxError::InsufficientBalance { .. } => "InsufficientBalance",
            TxError::UnknownSender { .. } => "UnknownSender",
            TxError::UnknownReceiver { .. } => "UnknownReceiver",
            TxError::SendToSelf => "SendToSelf",
            TxError::ReceiverIsZero => "ReceiverIsZero",
            TxError::StakeReceiverNotZero { .. } => "StakeReceiverNotZero",
            TxError::ZeroAmount => "ZeroAmount",
            TxError::EmptyMessage => "EmptyMessage",
            TxError::MessageTooLong { .. } => "MessageTooLong",
            TxError::NoStakersLeft => "NoStakersLeft",
            TxError::MempoolFull { .. } => "MempoolFull",
            TxError::AlreadyPending { .. } => "AlreadyPending",
            TxError::AlreadyCommitted { .. } => "AlreadyCommitted",
        }
    }
}

/// Why a block is invalid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BlockError {
    /// The index does not follow the parent's.
    #[error("wrong index: expected {expected}, got {got}")]
    WrongIndex {
        /// Parent index plus one.
        expected: u64,
        /// The block's index.
        got: u64,
    },
    /// The previous hash names no block this node knows.
    #[error("unknown parent {parent}")]
    UnknownParent {
        /// The previous hash.
        parent: BlockHash,
    },
    /// The validator is not the lottery's choice for this parent and round.
    #[error("wrong validator for round {round}: expected {expected}, got {got}")]
    WrongValidator {
        /// The round claimed.
        round: u32,
        /// The lottery's choice.
        expected: Address,
        /// The block's validator.
        got: Address,
    },
    /// Nobody stakes in the parent's state, so no validator exists.
    #[error("no stakers: no validator can be drawn")]
    NoStakers,
    /// The validator holds no account to be paid its fees into.
    #[error("validator {validator} holds no account")]
    ValidatorWithoutAccount {
        /// The block's validator.
        validator: Address,
    },
    /// The validator's signature over the hash does not verify.
    #[error("the validator's signature does not verify")]
    BadSignature,
    /// The block holds the wrong number of transactions.
    #[error("wrong number of transactions: {got}, allowed {min}..={max}")]
    WrongSize {
        /// Fewest allowed.
        min: usize,
        /// Most allowed (the capacity).
        max: usize,
        /// Transactions in the block.
        got: usize,
    },
    /// The timestamp is earlier than the parent's.
    #[error("timestamp {got} ns is before the parent's {parent} ns")]
    TimestampBeforeParent {
        /// The parent's timestamp (ns).
        parent: u64,
        /// The block's timestamp (ns).
        got: u64,
    },
    /// A transaction in the block is invalid at its position.
    #[error("transaction {position} ({id}) is invalid: {error}")]
    InvalidTransaction {
        /// Zero-based position in the block.
        position: usize,
        /// Its id.
        id: TxId,
        /// Why.
        error: TxError,
    },
    /// A round-r block minted before r round timeouts had passed since its parent.
    #[error("round {round} cannot start before {earliest} ns, but the block says {got} ns")]
    RoundTooEarly {
        /// The round claimed.
        round: u32,
        /// Parent timestamp plus round × round timeout (ns).
        earliest: u64,
        /// The block's timestamp (ns).
        got: u64,
    },
    /// The timestamp is further in the future than clocks can drift.
    #[error("timestamp {timestamp} ns is ahead of this node's clock ({now} ns) by more than the allowed drift")]
    FromTheFuture {
        /// The block's timestamp (ns).
        timestamp: u64,
        /// The receiving node's time (ns).
        now: u64,
    },
    /// Adopting the block would undo more blocks than the node keeps undo data for.
    #[error("the fork starts {depth} blocks back, deeper than the {max} that can be reorganised")]
    ReorgTooDeep {
        /// How many blocks would be undone.
        depth: u64,
        /// The limit.
        max: u64,
    },
    /// The block is not a valid genesis block.
    #[error("invalid genesis: {0}")]
    Genesis(#[from] GenesisError),
}

impl BlockError {
    /// The variant's name, for counting and logs without formatting.
    pub fn name(&self) -> &'static str {
        match self {
            BlockError::WrongIndex { .. } => "WrongIndex",
            BlockError::UnknownParent { .. } => "UnknownParent",
            BlockError::WrongValidator { .. } => "WrongValidator",
            BlockError::NoStakers => "NoStakers",
            BlockError::ValidatorWithoutAccount { .. } => "ValidatorWithoutAccount",
            BlockError::BadSignature => "BadSignature",
            BlockError::WrongSize { .. } => "WrongSize",
            BlockError::TimestampBeforeParent { .. } => "TimestampBeforeParent",
            BlockError::InvalidTransaction { .. } => "InvalidTransaction",
            BlockError::ReorgTooDeep { .. } => "ReorgTooDeep",
            BlockError::RoundTooEarly { .. } => "RoundTooEarly",
            BlockError::FromTheFuture { .. } => "FromTheFuture",
            BlockError::Genesis(_) => "Genesis",
        }
    }
}

/// Why a genesis configuration or block is invalid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GenesisError {
    /// No accounts at all.
    #[error("the genesis lists no accounts")]
    NoAccounts,
    /// An address listed twice.
    #[error("address {address} is listed twice")]
    DuplicateAddress {
        /// The repeated address.
        address: Address,
    },
    /// An address that is not a usable Ed25519 public key (address 0 included).
    #[error("address {address} is not a valid public key")]
    InvalidKey {
        /// The address.
        address: Address,
    },
    /// A stake larger than the account's balance.
    #[error(
        "account {address} stakes {} BCC but holds only {} BCC",
        crate::amount::format_bcc(*stake),
        crate::amount::format_bcc(*balance)
    )]
    StakeAboveBalance {
        /// The account.
        address: Address,
        /// Its stake.
        stake: u64,
        /// Its balance.
        balance: u64,
    },
    /// Nobody stakes, so no validator could ever be drawn.
    #[error("nobody stakes: at least one account needs a positive stake")]
    NoStake,
    /// The balances add up to more than a u64 holds.
    #[error("the balances add up to more than 2^64 units")]
    SupplyOverflow,
    /// The block is not the canonical genesis block of any configuration.
    #[error("not a canonical genesis block: {0}")]
    NotCanonical(&'static str),
    /// The network parameters are invalid, or their record in the block is.
    #[error("invalid network parameters: {0}")]
    Params(#[from] crate::params::ParamsError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amount::UNITS_PER_BCC;

    /// Amounts in errors are BCC, never raw units ("needs 5000000000 units" read as 5 billion).
    #[test]
    fn errors_name_amounts_in_bcc() {
        let cases: [(String, &str); 3] = [
            (
                TxError::InsufficientBalance { needed: 5_150 * UNITS_PER_BCC, available: 990 * UNITS_PER_BCC }
                    .to_string(),
                "insufficient balance: needs 5150 BCC, 990 BCC available",
            ),
            (
                TxError::InsufficientBalance { needed: UNITS_PER_BCC / 4, available: 1 }.to_string(),
                "insufficient balance: needs 0.25 BCC, 0.000001 BCC available",
            ),
            (
                GenesisError::StakeAboveBalance {
                    address: Address([9; 32]),
                    stake: 2_000 * UNITS_PER_BCC,
                    balance: 1_000 * UNITS_PER_BCC,
                }
                .to_string(),
                "stakes 2000 BCC but holds only 1000 BCC",
            ),
        ];
        for (got, want) in cases {
            assert!(got.contains(want), "{got:?} does not say {want:?}");
        }
    }
}
