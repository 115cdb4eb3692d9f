//! Messages between peers, and their canonical encoding.

use std::sync::Arc;

use crate::block::Block;
use crate::codec::{DecodeError, Reader, Writer};
use crate::transaction::Transaction;

/// Most blocks one `Blocks` message may carry.
pub const MAX_BLOCKS_PER_MESSAGE: usize = 1_024;
/// Most transactions one `Transactions` message may carry.
pub const MAX_TRANSACTIONS_PER_MESSAGE: usize = 4_096;

/// What one node tells another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerMessage {
    /// A new transaction.
    Transaction(Arc<Transaction>),
    /// A new block.
    Block(Arc<Block>),
    /// A request for the sender's best-chain blocks from this height on.
    GetBlocks {
        /// First height wanted.
        from: u64,
    },
    /// Best-chain blocks in ascending order, answering `GetBlocks`.
    Blocks(Vec<Arc<Block>>),
    /// Several new transactions at once, so the receiver can verify them as one batch.
    Transactions(Vec<Arc<Transaction>>),
}

impl PeerMessage {
    /// Short name of the variant, for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            PeerMessage::Transaction(_) => "transaction",
            PeerMessage::Block(_) => "block",
            PeerMessage::GetBlocks { .. } => "get_blocks",
            PeerMessage::Blocks(_) => "blocks",
            PeerMessage::Transactions(_) => "transactions",
        }
    }

    /// Bytes of the canonical encoding.
    pub fn encoded_len(&self) -> usize {
        1 + match self {
            PeerMessage::Transaction(tx) => tx.encoded_len(),
            PeerMessage::Block(b) => b.encoded_len(),
            PeerMessage::GetBlocks { .. } => 8,
            PeerMessage::Blocks(bs) => 4 + bs.iter().map(|b| b.encoded_len()).sum::<usize>(),
            PeerMessage::Transactions(ts) => 4 + ts.iter().map(|t| t.encoded_len()).sum::<usize>(),
        }
    }

    /// The canonical encoding: a tag byte (1 transaction, 2 block, 3 get-blocks, 4 blocks,
    /// 5 transactions), then the payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(self.encoded_len());
        match self {
            PeerMessage::Transaction(tx) => {
                w.u8(1);
                tx.encode_into(&mut w);
            }
            PeerMessage::Block(b) => {
                w.u8(2);
                b.encode_into(&mut w);
            }
            PeerMessage::GetBlocks { from } => {
                w.u8(3);
                w.u64(*from);
            }
            PeerMessage::Blocks(bs) => {
                w.u8(4);
                w.u32(bs.len() as u32);
                for b in bs {
                    b.encode_into(&mut w);
                }
            }
            PeerMessage::Transactions(ts) => {
                w.u8(5);
                w.u32(ts.len() as u32);
                for t in ts {
                    t.encode_into(&mut w);
                }
            }
        }
        w.finish()
    }

    /// Decodes exactly one message from `bytes`.
    pub fn decode(bytes: &[u8]) -> Result<PeerMessage, DecodeError> {
        let mut r = Reader::new(bytes);
        let msg = match r.u8("message tag")? {
            1 => PeerMessage::Transaction(Arc::new(Transaction::decode_from(&mut r)?)),
            2 => PeerMessage::Block(Arc::new(Block::decode_from(&mut r)?)),
            3 => PeerMessage::GetBlocks { from: r.u64("height")? },
            4 => {
                let n = r.count("block count", MAX_BLOCKS_PER_MESSAGE)?;
                let mut blocks = Vec::with_capacity(n.min(r.remaining() / 150));
                for _ in 0..n {
                    blocks.push(Arc::new(Block::decode_from(&mut r)?));
                }
                PeerMessage::Blocks(blocks)
            }
            5 => {
                let n = r.count("transaction count", MAX_TRANSACTIONS_PER_MESSAGE)?;
                let mut txs = Vec::with_capacity(n.min(r.remaining() / 80));
                for _ in 0..n {
                    txs.push(Arc::new(Transaction::decode_from(&mut r)?));
                }
                PeerMessage::Transactions(txs)
            }
            tag => return Err(DecodeError::UnknownTag { what: "message", tag }),
        };
        r.finish()?;
        Ok(msg)
    }
}
