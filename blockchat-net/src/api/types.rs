//! What the API returns, in its one representation: amounts as `{"bcc": "12.5", "units":
//! 12500000}`, node ids as numbers, addresses, hashes and transaction ids as hex.

use blockchat_core::{Address, BlockHash, TxId, format_bcc, parse_bcc};
use blockchat_host::ClientStatus;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An amount of coins, in units (1 BCC = 1,000,000 units); on the wire both as a decimal BCC
/// string and as integer units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Amount(pub u64);

impl Amount {
    /// The amount in units.
    pub fn units(self) -> u64 {
        self.0
    }
}

impl std::fmt::Display for Amount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} BCC", format_bcc(self.0))
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AmountWire {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bcc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    units: Option<u64>,
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        AmountWire { bcc: Some(format_bcc(self.0)), units: Some(self.0) }.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Amount {
    /// Either field alone, or both when they agree.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Amount, D::Error> {
        use serde::de::Error;
        let wire = AmountWire::deserialize(d)?;
        let from_bcc = wire.bcc.as_deref().map(parse_bcc).transpose().map_err(|e| D::Error::custom(e.to_string()))?;
        match (from_bcc, wire.units) {
            (Some(b), Some(u)) if b != u => {
                Err(D::Error::custom(format!("bcc {} and units {u} disagree", wire.bcc.unwrap_or_default())))
            }
            (Some(v), _) | (None, Some(v)) => Ok(Amount(v)),
            (None, None) => Err(D::Error::custom("an amount needs \"bcc\" (a decimal string) or \"units\"")),
        }
    }
}

/// An account holder: its address, and its node id when it is a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    /// Member id (none for address 0 or a non-member).
    pub id: Option<u32>,
    /// Address (public key), hex.
    pub address: Address,
}

impl std::fmt::Display for Party {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.id {
            Some(id) => write!(f, "node {id}"),
            None if self.address == Address::ZERO => write!(f, "address 0"),
            None => write!(f, "{}", self.address.short()),
        }
    }
}

/// What a transaction does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Payload {
    /// Coins to the receiver.
    Coins {
        /// How many.
        amount: Amount,
    },
    /// A message to the receiver.
    Message {
        /// Its text, as sent (escape it before showing it).
        text: String,
    },
    /// The sender's new stake.
    Stake {
        /// The new stake.
        amount: Amount,
    },
}

/// One transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxView {
    /// Its id.
    pub id: TxId,
    /// Sender.
    pub sender: Party,
    /// Receiver (address 0 for a stake).
    pub receiver: Party,
    /// The sender's nonce.
    pub nonce: u64,
    /// What it does.
    #[serde(flatten)]
    pub payload: Payload,
    /// The fee it pays (charged when committed; genesis pays none).
    pub fee: Amount,
}

/// Where a transaction is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Placement {
    /// In a best-chain block.
    Committed {
        /// The block's height.
        height: u64,
        /// The block's hash.
        hash: BlockHash,
        /// Blocks on top of it, itself included.
        confirmations: u64,
    },
    /// In this node's mempool.
    Pending,
}

/// A transaction and where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Located {
    /// The transaction.
    pub transaction: TxView,
    /// Its block, or pending.
    #[serde(flatten)]
    pub placement: Placement,
}

/// A block with its transactions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockView {
    /// Height (genesis is 0).
    pub height: u64,
    /// Hash.
    pub hash: BlockHash,
    /// The previous block's hash (zero for genesis).
    pub previous: BlockHash,
    /// Validator (none for genesis).
    pub validator: Option<Party>,
    /// Lottery round.
    pub round: u32,
    /// Timestamp, Unix nanoseconds.
    pub timestamp_ns: u64,
    /// Fees paid to the validator.
    pub fees: Amount,
    /// Its transactions, in order.
    pub transactions: Vec<TxView>,
}

/// A block in brief.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockSummary {
    /// Height.
    pub height: u64,
    /// Hash.
    pub hash: BlockHash,
    /// Validator id (none for genesis or a non-member).
    pub validator: Option<u32>,
    /// Lottery round.
    pub round: u32,
    /// Timestamp, Unix nanoseconds.
    pub timestamp_ns: u64,
    /// Transactions held.
    pub transactions: usize,
    /// Fees paid to the validator.
    pub fees: Amount,
}

/// One account at the tip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    /// Holder.
    #[serde(flatten)]
    pub holder: Party,
    /// Balance, stake included.
    pub balance: Amount,
    /// Stake.
    pub stake: Amount,
    /// Balance minus stake: what it may spend.
    pub spendable: Amount,
    /// Its next nonce.
    pub next_nonce: u64,
    /// What its transactions pending in this node's mempool will spend (amounts and fees).
    pub pending_spends: Amount,
    /// Its transactions pending in this node's mempool.
    pub pending_transactions: usize,
}

/// Every account and the supply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerView {
    /// Accounts, members first by id.
    pub accounts: Vec<AccountView>,
    /// Sum of balances.
    pub supply: Amount,
}

/// A member and its connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerView {
    /// Id.
    pub id: u32,
    /// Dial address (host:port).
    pub endpoint: String,
    /// Key.
    pub address: Address,
    /// Whether this node has a link to it now (never true of this node itself).
    pub connected: bool,
    /// Whether it is this node.
    pub this_node: bool,
}

/// A validator's share of the blocks against its share of the stake.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Share {
    /// The member.
    pub id: u32,
    /// Its stake at the tip.
    pub stake: Amount,
    /// Its stake over all stakes, 0–1.
    pub stake_share: f64,
    /// Best-chain blocks it validated (genesis excluded).
    pub blocks: u64,
    /// Those blocks over all, 0–1 (0 when there are none).
    pub block_share: f64,
    /// Fees it earned.
    pub fees: Amount,
}

/// Where a node is in its life.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    /// Opening its data dir and sockets.
    #[default]
    Starting,
    /// The bootstrap, waiting for this many nodes to join.
    WaitingForJoins {
        /// Nodes still to join.
        missing: u32,
    },
    /// Joining through the bootstrap at this address.
    Joining {
        /// The bootstrap's address.
        bootstrap: String,
    },
    /// Admitted, waiting for the others and the roster.
    WaitingForRoster,
    /// Connecting to its peers.
    Connecting {
        /// Peers connected.
        connected: usize,
        /// Peers in all.
        peers: usize,
    },
    /// Every peer has been reached once: the network is ready.
    Ready,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Phase::Starting => write!(f, "starting"),
            Phase::WaitingForJoins { missing } => write!(f, "waiting for {missing} nodes to join"),
            Phase::Joining { bootstrap } => write!(f, "joining via {bootstrap}"),
            Phase::WaitingForRoster => write!(f, "waiting for the roster"),
            Phase::Connecting { connected, peers } => write!(f, "connecting ({connected} of {peers} peers)"),
            Phase::Ready => write!(f, "ready"),
        }
    }
}

/// The line a node's client waits on and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiting {
    /// 1-based line number (or position, for generated loads).
    pub line: usize,
    /// Why it cannot be sent yet.
    pub reason: String,
}

/// A node's state in brief.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// Where the node is in its life.
    #[serde(flatten)]
    pub phase: Phase,
    /// This node's id, once assigned.
    pub id: Option<u32>,
    /// Nodes in the network.
    pub nodes: usize,
    /// Block capacity.
    pub capacity: usize,
    /// The partial-block interval, ms (none: full blocks only).
    pub max_block_interval_ms: Option<u64>,
    /// Height of the best chain.
    pub height: u64,
    /// Hash of its tip.
    pub tip: Option<BlockHash>,
    /// The lottery round awaited.
    pub round: u32,
    /// Peers connected now.
    pub peers_connected: usize,
    /// Pending transactions.
    pub mempool: usize,
    /// Transactions in the best chain (genesis excluded).
    pub committed_txs: u64,
    /// Local submissions refused, or dropped later.
    pub rejected_local: u64,
    /// Transactions from peers refused.
    pub rejected_from_peers: u64,
    /// Blocks from peers refused.
    pub blocks_rejected: u64,
    /// Connections closed for malformed frames or failed handshakes.
    pub bad_connections: u64,
    /// Blocks reverted by reorganisations.
    pub reverted: u64,
    /// Messages not sent to a peer whose link was down (beyond what is held for it).
    pub dropped_to_down_links: u64,
    /// Frames, bytes and the loop's time since start.
    pub load: crate::daemon::driver::Load,
    /// The costly steps the node took since start (signatures, verifications, …).
    #[serde(default)]
    pub work: blockchat_core::Work,
    /// The client's progress through its `--input` or synthetic plan.
    pub workload: ClientStatus,
    /// The line the client waits on, if any.
    pub waiting: Option<Waiting>,
}

/// What a transaction request did: accepted into the mempool and broadcast.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submitted {
    /// Its id.
    pub id: TxId,
    /// The nonce the node chose.
    pub nonce: u64,
    /// Its fee.
    pub fee: Amount,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_either_field_and_refuse_disagreement() {
        let cases: &[(&str, Result<u64, &str>)] = &[
            (r#"{"bcc":"12.5"}"#, Ok(12_500_000)),
            (r#"{"units":7}"#, Ok(7)),
            (r#"{"bcc":"1","units":1000000}"#, Ok(1_000_000)),
            (r#"{"bcc":"1","units":1}"#, Err("disagree")),
            (r#"{}"#, Err("needs")),
            (r#"{"bcc":"-1"}"#, Err("")),
            (r#"{"bcc":"1","coins":1}"#, Err("unknown field")),
        ];
        for (text, want) in cases {
            let got = serde_json::from_str::<Amount>(text);
            match want {
                Ok(units) => assert_eq!(got.unwrap(), Amount(*units), "{text}"),
                Err(part) => assert!(got.unwrap_err().to_string().contains(part), "{text}"),
            }
        }
        assert_eq!(serde_json::to_string(&Amount(12_500_000)).unwrap(), r#"{"bcc":"12.5","units":12500000}"#);
    }
}
