//! The chain: the best chain and its ledger, side branches, the fork-choice rule and
//! reorganisation.
//!
//! Fork choice: the best tip has the greatest height; among equal heights, the smallest sum of
//! rounds from genesis (validators that were on time); then the smallest hash.

use std::cmp::Reverse;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use crate::FastMap;
use crate::block::Block;
use crate::error::{BlockError, GenesisError, TxError};
use crate::genesis::Genesis;
use crate::ids::{Address, BlockHash};
use crate::ledger::{Ledger, Undo};
use crate::params::NetworkParams;
use crate::signature::{SignatureCheck, SignedItem};
use crate::time::Time;
use crate::transaction::Transaction;
use crate::wallet::Wallet;
use crate::work::Work;

/// How a block changed the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Insert {
    /// It extends the best chain.
    Extended,
    /// It made a side branch the best chain: `reverted` blocks left it (tip first), `applied`
    /// joined it (in order).
    Reorganized {
        /// Blocks no longer on the best chain, tip first.
        reverted: Vec<Arc<Block>>,
        /// Blocks now on the best chain, in order (the new block last).
        applied: Vec<Arc<Block>>,
    },
    /// It is kept on a side branch that does not beat the best chain.
    Side,
    /// It was already known.
    Known,
}

#[derive(Debug, Clone)]
struct SideBlock {
    block: Arc<Block>,
    rounds: u64,
}

/// Fork-choice score: larger is better.
type Score = (u64, Reverse<u64>, Reverse<BlockHash>);

/// The best chain from genesis, its ledger, and recent side branches.
#[derive(Debug, Clone)]
pub struct Chain {
    params: NetworkParams,
    blocks: Vec<Arc<Block>>,
    // Cumulative rounds from genesis, per height.
    rounds: Vec<u64>,
    // Lookup only; its iteration order never matters.
    heights: FastMap<BlockHash, u64>,
    // Undo data for the newest blocks of the best chain, oldest first.
    undo: VecDeque<Undo>,
    ledger: Ledger,
    side: BTreeMap<BlockHash, SideBlock>,
}

impl Chain {
    /// A chain holding only `genesis`; the network's parameters are the ones it records.
    pub fn new(genesis: &Block) -> Result<Chain, GenesisError> {
        let config = Genesis::from_block(genesis)?;
        let (params, ledger) = (config.params, config.ledger()?);
        let genesis = Arc::new(genesis.clone());
        Ok(Chain {
            params,
            heights: FastMap::from_iter([(genesis.hash(), 0)]),
            blocks: vec![genesis],
            rounds: vec![0],
            undo: VecDeque::new(),
            ledger,
            side: BTreeMap::new(),
        })
    }

    /// The shared rules.
    pub fn params(&self) -> &NetworkParams {
        &self.params
    }
    /// The best chain's last block.
    pub fn tip(&self) -> &Arc<Block> {
        &self.blocks[self.blocks.len() - 1]
    }
    /// The tip's index.
    pub fn height(&self) -> u64 {
        self.blocks.len() as u64 - 1
    }
    /// The best chain from genesis.
    pub fn blocks(&self) -> &[Arc<Block>] {
        &self.blocks
    }
    /// Up to `limit` best-chain blocks from height `from`.
    pub fn blocks_from(&self, from: u64, limit: usize) -> &[Arc<Block>] {
        // Both come from peers and clients: any value, never an overflow.
        let start = usize::try_from(from).unwrap_or(usize::MAX).min(self.blocks.len());
        &self.blocks[start..start.saturating_add(limit).min(self.blocks.len())]
    }
    /// The state at the tip.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }
    /// Whether the block is on the best chain or a side branch.
    pub fn contains(&self, hash: &BlockHash) -> bool {
        self.heights.contains_key(hash) || self.side.contains_key(hash)
    }
    /// Blocks kept on side branches.
    pub fn side_blocks(&self) -> usize {
        self.side.len()
    }
    /// The lottery's validator for the block after the tip in `round`.
    pub fn validator_for(&self, round: u32) -> Option<Address> {
        self.ledger.lottery().draw(&self.tip().hash(), round)
    }

    fn score(&self) -> Score {
        (self.height(), Reverse(self.rounds[self.rounds.len() - 1]), Reverse(self.tip().hash()))
    }

    /// Validates `block` and adds it. `known` says which transactions were already verified (in
    /// the mempool); the others are verified as one batch.
    pub fn insert(
        &mut self,
        block: Arc<Block>,
        check: &mut impl SignatureCheck,
        known: &dyn Fn(&Transaction) -> bool,
        work: &mut Work,
    ) -> Result<Insert, BlockError> {
        let hash = block.hash();
        if self.contains(&hash) {
            return Ok(Insert::Known);
        }
        let parent = block.previous_hash();
        if parent == self.tip().hash() {
            self.apply(&block, check, known, work)?;
            self.prune_side();
            return Ok(Insert::Extended);
        }
        let (parent_block, parent_rounds) = match self.heights.get(&parent) {
            Some(&h) => (self.blocks[h as usize].clone(), self.rounds[h as usize]),
            None => match self.side.get(&parent) {
                Some(s) => (s.block.clone(), s.rounds),
                None => return Err(BlockError::UnknownParent { parent }),
            },
        };
        self.check_header(&block, &parent_block)?;
        work.verified += 1;
        if !check.verify(block.signed_item()) {
            return Err(BlockError::BadSignature);
        }
        let rounds = parent_rounds + u64::from(block.round());
        let depth = self.height() - self.fork_height(&parent)?;
        if depth > self.undo.len() as u64 {
            return Err(BlockError::ReorgTooDeep { depth, max: self.undo.len() as u64 });
        }
        if (block.index(), Reverse(rounds), Reverse(hash)) > self.score() {
            return self.reorganize(block, rounds, check, known, work);
        }
        self.side.insert(hash, SideBlock { block, rounds });
        self.prune_side();
        Ok(Insert::Side)
    }

    /// Height of the best-chain block that the branch ending at `hash` grows from.
    fn fork_height(&self, hash: &BlockHash) -> Result<u64, BlockError> {
        let mut cur = *hash;
        loop {
            if let Some(&h) = self.heights.get(&cur) {
                return Ok(h);
            }
            cur = self.side.get(&cur).ok_or(BlockError::UnknownParent { parent: cur })?.block.previous_hash();
        }
    }

    /// Index, timestamp and size rules against the parent.
    fn check_header(&self, block: &Block, parent: &Block) -> Result<(), BlockError> {
        if block.index() != parent.index() + 1 {
            return Err(BlockError::WrongIndex { expected: parent.index() + 1, got: block.index() });
        }
        if block.timestamp() < parent.timestamp() {
            return Err(BlockError::TimestampBeforeParent {
                parent: parent.timestamp().as_nanos(),
                got: block.timestamp().as_nanos(),
            });
        }
        self.check_size(block)?;
        let earliest = self.params.earliest(parent.timestamp(), block.round());
        if block.timestamp() < earliest {
            return Err(BlockError::RoundTooEarly {
                round: block.round(),
                earliest: earliest.as_nanos(),
                got: block.timestamp().as_nanos(),
            });
        }
        Ok(())
    }

    /// The number of transactions is within the allowed range.
    pub fn check_size(&self, block: &Block) -> Result<(), BlockError> {
        let (min, max) = self.params.block_size();
        let got = block.transactions().len();
        if got < min || got > max {
            return Err(BlockError::WrongSize { min, max, got });
        }
        Ok(())
    }

    /// Fully validates a block whose parent is the tip and appends it.
    fn apply(
        &mut self,
        block: &Arc<Block>,
        check: &mut impl SignatureCheck,
        known: &dyn Fn(&Transaction) -> bool,
        work: &mut Work,
    ) -> Result<(), BlockError> {
        self.check_header(block, &self.tip().clone())?;
        let expected = self.validator_for(block.round()).ok_or(BlockError::NoStakers)?;
        if expected != block.validator() {
            return Err(BlockError::WrongValidator { round: block.round(), expected, got: block.validator() });
        }
        work.verified += 1;
        if !check.verify(block.signed_item()) {
            return Err(BlockError::BadSignature);
        }
        // Ledger rules before transaction signatures: they are cheap, and a batch is not.
        let mut undo = Undo::for_block(block.transactions().len());
        let mut fees = 0;
        for (position, tx) in block.transactions().iter().enumerate() {
            work.applied += 1;
            if let Err(error) = self.ledger.apply(tx, &mut fees, &mut undo) {
                self.ledger.revert(undo);
                return Err(BlockError::InvalidTransaction { position, id: tx.id(), error });
            }
        }
        if let Err(e) = verify_transactions(block, check, known, work)
            .and_then(|()| self.ledger.credit(block.validator(), fees, &mut undo))
        {
            self.ledger.revert(undo);
            return Err(e);
        }
        self.push(block.clone(), undo);
        Ok(())
    }

    fn push(&mut self, block: Arc<Block>, undo: Undo) {
        let rounds = self.rounds[self.rounds.len() - 1] + u64::from(block.round());
        self.heights.insert(block.hash(), block.index());
        self.blocks.push(block);
        self.rounds.push(rounds);
        self.undo.push_back(undo);
        while self.undo.len() as u64 > self.params.max_reorg_depth {
            self.undo.pop_front();
        }
    }

    /// Removes the tip, restoring the ledger. Callers make sure undo data exists.
    fn pop(&mut self) -> Option<(Arc<Block>, u64)> {
        let undo = self.undo.pop_back()?;
        let block = self.blocks.pop()?;
        let rounds = self.rounds.pop()?;
        self.heights.remove(&block.hash());
        self.ledger.revert(undo);
        Some((block, rounds))
    }

    fn reorganize(
        &mut self,
        tip: Arc<Block>,
        rounds: u64,
        check: &mut impl SignatureCheck,
        known: &dyn Fn(&Transaction) -> bool,
        work: &mut Work,
    ) -> Result<Insert, BlockError> {
        let mut branch = vec![tip.clone()];
        let mut cur = tip.previous_hash();
        let fork = loop {
            if let Some(&h) = self.heights.get(&cur) {
                break h;
            }
            let s = self.side.get(&cur).ok_or(BlockError::UnknownParent { parent: cur })?;
            branch.push(s.block.clone());
            cur = s.block.previous_hash();
        };
        branch.reverse();
        let mut reverted = Vec::new();
        while self.height() > fork {
            let Some((block, r)) = self.pop() else { break };
            reverted.push(SideBlock { block, rounds: r });
        }
        for (k, block) in branch.iter().enumerate() {
            if let Err(e) = self.apply(block, check, known, work) {
                for _ in 0..k {
                    if let Some((b, r)) = self.pop() {
                        self.side.insert(b.hash(), SideBlock { block: b, rounds: r });
                    }
                }
                for old in reverted.iter().rev() {
                    let restored = self.apply(&old.block, check, &|_| true, work);
                    debug_assert!(restored.is_ok(), "a block that was valid here must still be");
                }
                for bad in &branch[k..] {
                    self.side.remove(&bad.hash());
                }
                return Err(e);
            }
        }
        for b in &branch {
            self.side.remove(&b.hash());
        }
        debug_assert_eq!(self.rounds[self.rounds.len() - 1], rounds);
        let reverted_blocks = reverted.iter().map(|s| s.block.clone()).collect();
        for s in reverted {
            self.side.insert(s.block.hash(), s);
        }
        self.prune_side();
        Ok(Insert::Reorganized { reverted: reverted_blocks, applied: branch })
    }

    /// Drops side blocks too old to ever be adopted, and the oldest beyond a fixed budget.
    fn prune_side(&mut self) {
        let floor = self.height().saturating_sub(self.params.max_reorg_depth);
        self.side.retain(|_, s| s.block.index() > floor);
        let budget = 4 * self.params.max_reorg_depth as usize + 64;
        while self.side.len() > budget {
            let oldest = self.side.iter().min_by_key(|(h, s)| (s.block.index(), **h)).map(|(h, _)| *h);
            if let Some(h) = oldest {
                self.side.remove(&h);
            }
        }
    }

    /// Mints the next block from `candidates` (in order) if `wallet` is the validator for
    /// `round`: the block joins the chain. Candidates that no longer apply are skipped and
    /// returned with why, so the caller can drop them.
    pub fn mint<'a>(
        &mut self,
        wallet: &Wallet,
        now: Time,
        round: u32,
        candidates: impl Iterator<Item = &'a Arc<Transaction>>,
        work: &mut Work,
    ) -> Minted {
        let mut minted = Minted::default();
        if self.validator_for(round) != Some(wallet.address()) {
            return minted;
        }
        let (min, max) = self.params.block_size();
        let mut undo = Undo::for_block(max);
        let mut fees = 0;
        let mut txs = Vec::with_capacity(max);
        for tx in candidates {
            if txs.len() == max {
                break;
            }
            work.applied += 1;
            match self.ledger.apply(tx, &mut fees, &mut undo) {
                Ok(()) => txs.push(tx.clone()),
                Err(e) => minted.failed.push((tx.clone(), e)),
            }
        }
        if txs.len() < min || self.ledger.credit(wallet.address(), fees, &mut undo).is_err() {
            self.ledger.revert(undo);
            return minted;
        }
        let tip = self.tip();
        let timestamp = now.max(self.params.earliest(tip.timestamp(), round));
        let block = Arc::new(Block::new_signed(wallet, tip.index() + 1, timestamp, round, tip.hash(), txs));
        work.signed += 1;
        work.hashed_bytes += 93 + 32 * block.transactions().len() as u64;
        self.push(block.clone(), undo);
        self.prune_side();
        minted.block = Some(block);
        minted
    }
}

/// What an attempt to mint produced.
#[derive(Debug, Default)]
pub struct Minted {
    /// The new block, now the tip, if one was minted.
    pub block: Option<Arc<Block>>,
    /// Candidates that could not apply, with why.
    pub failed: Vec<(Arc<Transaction>, TxError)>,
}

/// Verifies every transaction not already verified, as one batch.
fn verify_transactions(
    block: &Block,
    check: &mut impl SignatureCheck,
    known: &dyn Fn(&Transaction) -> bool,
    work: &mut Work,
) -> Result<(), BlockError> {
    let unseen: Vec<(usize, SignedItem<'_>)> = block
        .transactions()
        .iter()
        .enumerate()
        .filter(|(_, tx)| !known(tx))
        .map(|(i, tx)| (i, tx.signed_item()))
        .collect();
    if unseen.is_empty() {
        return Ok(());
    }
    let items: Vec<SignedItem<'_>> = unseen.iter().map(|(_, item)| *item).collect();
    crate::work::count_batch(work, &items);
    if check.verify_batch(&items) {
        return Ok(());
    }
    // The batch failed: find the first culprit to report.
    for (position, item) in unseen {
        work.verified += 1;
        if !check.verify(item) {
            let id = block.transactions()[position].id();
            return Err(BlockError::InvalidTransaction { position, id, error: TxError::BadSignature });
        }
    }
    Err(BlockError::BadSignature)
}
