//! Blocks: an ordered batch of transactions, signed by the validator the lottery chose.

use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::codec::{DecodeError, Reader, Writer};
use crate::ids::{Address, BlockHash, Signature, TxId};
use crate::signature::SignedItem;
use crate::time::Time;
use crate::transaction::Transaction;
use crate::wallet::Wallet;

/// Tag byte that starts every block header, separating block hashes from transaction ids.
pub const BLOCK_DOMAIN: u8 = b'B';
/// The genesis block's previous hash: the number 1 as 32 big-endian bytes (the course's "1").
pub const GENESIS_PREVIOUS_HASH: BlockHash = {
    let mut h = [0u8; 32];
    h[31] = 1;
    BlockHash(h)
};
/// Most transactions a block may hold on the wire.
pub const MAX_BLOCK_TRANSACTIONS: usize = 65_536;

/// A block. Its hash is derived from its fields, so it cannot disagree with them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Block {
    index: u64,
    timestamp: Time,
    round: u32,
    validator: Address,
    previous_hash: BlockHash,
    hash: BlockHash,
    signature: Signature,
    transactions: Vec<Arc<Transaction>>,
}

impl Block {
    /// Builds a block and signs its hash with the validator's wallet.
    pub fn new_signed(
        wallet: &Wallet,
        index: u64,
        timestamp: Time,
        round: u32,
        previous_hash: BlockHash,
        transactions: Vec<Arc<Transaction>>,
    ) -> Block {
        let mut block =
            Block::from_parts(index, timestamp, round, wallet.address(), previous_hash, transactions, Signature::ZERO);
        block.signature = wallet.sign(&block.hash.0);
        block
    }

    /// Assembles a block from its fields, computing its hash; the signature is not checked.
    pub fn from_parts(
        index: u64,
        timestamp: Time,
        round: u32,
        validator: Address,
        previous_hash: BlockHash,
        transactions: Vec<Arc<Transaction>>,
        signature: Signature,
    ) -> Block {
        let ids = transactions.iter().map(|t| t.id());
        let hash = header_hash(index, timestamp, round, &validator, &previous_hash, transactions.len(), ids);
        Block { index, timestamp, round, validator, previous_hash, hash, signature, transactions }
    }

    /// Height: 0 for genesis.
    pub fn index(&self) -> u64 {
        self.index
    }
    /// When the validator minted it (an input to the node, never read from a clock).
    pub fn timestamp(&self) -> Time {
        self.timestamp
    }
    /// The lottery round the validator was drawn in (0 unless earlier validators timed out).
    pub fn round(&self) -> u32 {
        self.round
    }
    /// The validator's address; it receives the block's fees.
    pub fn validator(&self) -> Address {
        self.validator
    }
    /// The parent's hash.
    pub fn previous_hash(&self) -> BlockHash {
        self.previous_hash
    }
    /// SHA-256 of the canonical header.
    pub fn hash(&self) -> BlockHash {
        self.hash
    }
    /// The validator's signature over the hash.
    pub fn signature(&self) -> Signature {
        self.signature
    }
    /// The transactions, in the order they apply.
    pub fn transactions(&self) -> &[Arc<Transaction>] {
        &self.transactions
    }
    /// Sum of the fees paid to the validator (none for genesis, whose transfers are fee-free).
    pub fn fees(&self) -> u64 {
        self.transactions.iter().map(|t| self.fee_of(t)).sum()
    }

    /// The fee `tx` paid in this block: none in genesis, whose transfers are fee-free.
    pub fn fee_of(&self, tx: &Transaction) -> u64 {
        if self.index == 0 { 0 } else { tx.fee() }
    }

    /// The (key, message, signature) triple that must verify.
    pub fn signed_item(&self) -> SignedItem<'_> {
        SignedItem { key: &self.validator, msg: &self.hash.0, sig: &self.signature }
    }

    /// Bytes of the canonical encoding.
    pub fn encoded_len(&self) -> usize {
        HEADER_FIXED_LEN + self.transactions.iter().map(|t| t.encoded_len()).sum::<usize>() + 64
    }

    /// Appends the canonical encoding: header fields, transactions, signature.
    pub fn encode_into(&self, w: &mut Writer) {
        write_fixed_header(w, self.index, self.timestamp, self.round, &self.validator, &self.previous_hash);
        w.u32(self.transactions.len() as u32);
        for tx in &self.transactions {
            tx.encode_into(w);
        }
        w.bytes(&self.signature.0);
    }

    /// The canonical encoding as a new buffer.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(self.encoded_len());
        self.encode_into(&mut w);
        w.finish()
    }

    /// Reads one block from `r`; ids and the hash are recomputed from the bytes read.
    pub fn decode_from(r: &mut Reader<'_>) -> Result<Block, DecodeError> {
        let domain = r.u8("block tag")?;
        if domain != BLOCK_DOMAIN {
            return Err(DecodeError::UnknownTag { what: "block", tag: domain });
        }
        let index = r.u64("index")?;
        let timestamp = Time(r.u64("timestamp")?);
        let round = r.u32("round")?;
        let validator = Address(r.array("validator")?);
        let previous_hash = BlockHash(r.array("previous hash")?);
        let count = r.count("transaction count", MAX_BLOCK_TRANSACTIONS)?;
        // Never trust a count for allocation beyond what the bytes could hold.
        let mut transactions = Vec::with_capacity(count.min(r.remaining() / 150));
        for _ in 0..count {
            transactions.push(Arc::new(Transaction::decode_from(r)?));
        }
        let signature = Signature(r.array("block signature")?);
        Ok(Block::from_parts(index, timestamp, round, validator, previous_hash, transactions, signature))
    }

    /// Decodes exactly one block from `bytes`.
    pub fn decode(bytes: &[u8]) -> Result<Block, DecodeError> {
        let mut r = Reader::new(bytes);
        let block = Block::decode_from(&mut r)?;
        r.finish()?;
        Ok(block)
    }
}

/// Tag, index, timestamp, round, validator, previous hash, transaction count.
const HEADER_FIXED_LEN: usize = 1 + 8 + 8 + 4 + 32 + 32 + 4;

fn write_fixed_header(w: &mut Writer, index: u64, timestamp: Time, round: u32, validator: &Address, prev: &BlockHash) {
    w.u8(BLOCK_DOMAIN);
    w.u64(index);
    w.u64(timestamp.as_nanos());
    w.u32(round);
    w.bytes(&validator.0);
    w.bytes(&prev.0);
}

/// SHA-256 over the header: fixed fields, the transaction count, then every transaction id.
fn header_hash(
    index: u64,
    timestamp: Time,
    round: u32,
    validator: &Address,
    prev: &BlockHash,
    count: usize,
    ids: impl Iterator<Item = TxId>,
) -> BlockHash {
    let mut w = Writer::with_capacity(HEADER_FIXED_LEN);
    write_fixed_header(&mut w, index, timestamp, round, validator, prev);
    w.u32(count as u32);
    let mut h = Sha256::new();
    h.update(w.finish());
    for id in ids {
        h.update(id.0);
    }
    BlockHash(h.finalize().into())
}

/// What a reorganisation changes for pending transactions.
#[derive(Debug, Clone, Default)]
pub struct Reorg {
    /// The transactions of the blocks now on the best chain, in order.
    pub applied: Vec<Arc<Transaction>>,
    /// Those of the abandoned blocks that the new branch does not hold, oldest first.
    pub returned: Vec<Arc<Transaction>>,
    /// Every address whose account either branch changed: senders, receivers, validators (sorted).
    pub touched: Vec<Address>,
}

impl Reorg {
    /// The change from `reverted` (tip first) to `applied` (in order), as fork choice reports it.
    pub fn between(reverted: &[Arc<Block>], applied: &[Arc<Block>]) -> Reorg {
        let adopted: std::collections::BTreeSet<TxId> =
            applied.iter().flat_map(|b| b.transactions().iter().map(|t| t.id())).collect();
        let returned = reverted
            .iter()
            .rev()
            .flat_map(|b| b.transactions().iter().cloned())
            .filter(|t| !adopted.contains(&t.id()))
            .collect();
        let mut touched = std::collections::BTreeSet::new();
        for b in reverted.iter().chain(applied) {
            touched.insert(b.validator());
            for t in b.transactions() {
                touched.insert(t.sender());
                if !t.receiver().is_zero() {
                    touched.insert(t.receiver());
                }
            }
        }
        Reorg {
            applied: applied.iter().flat_map(|b| b.transactions().iter().cloned()).collect(),
            returned,
            touched: touched.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::TxKind;

    fn sample() -> Block {
        let alice = Wallet::from_seed(1);
        let bob = Wallet::from_seed(2).address();
        let txs = vec![
            Arc::new(Transaction::new_signed(&alice, bob, TxKind::Coins { amount: 5 }, 0)),
            Arc::new(Transaction::new_signed(&alice, bob, TxKind::Message { text: "hi".into() }, 1)),
        ];
        Block::new_signed(&Wallet::from_seed(3), 4, Time::from_millis(9), 1, BlockHash([7; 32]), txs)
    }

    #[test]
    fn encoding_round_trip() {
        let b = sample();
        let bytes = b.encode();
        assert_eq!(bytes.len(), b.encoded_len());
        assert_eq!(Block::decode(&bytes), Ok(b));
        for cut in [0, 1, 20, bytes.len() - 1] {
            assert!(Block::decode(&bytes[..cut]).is_err());
        }
    }

    #[test]
    fn hash_covers_every_header_field_and_transaction() {
        let b = sample();
        let txs = b.transactions().to_vec();
        let v = b.validator();
        let variants = [
            Block::from_parts(5, b.timestamp(), 1, v, b.previous_hash(), txs.clone(), b.signature()),
            Block::from_parts(4, Time(1), 1, v, b.previous_hash(), txs.clone(), b.signature()),
            Block::from_parts(4, b.timestamp(), 2, v, b.previous_hash(), txs.clone(), b.signature()),
            Block::from_parts(4, b.timestamp(), 1, Address([1; 32]), b.previous_hash(), txs.clone(), b.signature()),
            Block::from_parts(4, b.timestamp(), 1, v, BlockHash([8; 32]), txs.clone(), b.signature()),
            Block::from_parts(4, b.timestamp(), 1, v, b.previous_hash(), txs[..1].to_vec(), b.signature()),
            Block::from_parts(
                4,
                b.timestamp(),
                1,
                v,
                b.previous_hash(),
                vec![txs[1].clone(), txs[0].clone()],
                b.signature(),
            ),
        ];
        for other in variants {
            assert_ne!(other.hash(), b.hash());
        }
    }

    #[test]
    fn a_huge_count_does_not_allocate_or_panic() {
        let mut bytes = sample().encode();
        // Overwrite the transaction count with the maximum and then with one past it.
        let at = HEADER_FIXED_LEN - 4;
        bytes[at..at + 4].copy_from_slice(&(MAX_BLOCK_TRANSACTIONS as u32).to_be_bytes());
        assert!(Block::decode(&bytes).is_err());
        bytes[at..at + 4].copy_from_slice(&(MAX_BLOCK_TRANSACTIONS as u32 + 1).to_be_bytes());
        assert!(matches!(Block::decode(&bytes), Err(DecodeError::TooLong { .. })));
    }
}
