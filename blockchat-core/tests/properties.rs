//! Properties that must hold for any input: supply, stakes, nonces, encodings. (Agreement and
//! determinism of a network of nodes are in `blockchat-host/tests/properties.rs`.)

use std::collections::BTreeSet;
use std::sync::Arc;

use blockchat_core::ledger::Undo;
use blockchat_core::{
    Address, Block, BlockHash, Genesis, NetworkParams, PeerMessage, Time, Transaction, TxKind, UNITS_PER_BCC, Wallet,
};
use proptest::prelude::*;

const BCC: u64 = UNITS_PER_BCC;

fn wallets(n: u64) -> Vec<Wallet> {
    (0..n).map(|i| Wallet::from_seed(500 + i)).collect()
}

/// One attempted transaction: (sender, receiver, kind selector, amount in BCC/10, nonce skew).
type Op = (usize, usize, u8, u64, i8);

fn op() -> impl Strategy<Value = Op> {
    (0usize..4, 0usize..5, 0u8..3, 0u64..6_000, prop_oneof![8 => Just(0i8), 1 => -2i8..3])
}

fn kind_of(selector: u8, amount: u64) -> TxKind {
    match selector {
        0 => TxKind::Coins { amount: amount * BCC / 10 },
        1 => TxKind::Message { text: "m".repeat((amount % 700) as usize) },
        _ => TxKind::Stake { amount: amount * BCC / 10 },
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever is attempted: supply never changes, no balance drops below its stake, and no
    /// (sender, nonce) is ever accepted twice.
    #[test]
    fn ledger_invariants(ops in proptest::collection::vec(op(), 1..120), block_size in 1usize..8) {
        let w = wallets(4);
        let addrs: Vec<Address> = w.iter().map(|x| x.address()).collect();
        let mut ledger = Genesis::course(NetworkParams::new(1), &addrs, 10 * BCC).ledger().unwrap();
        let supply = ledger.total_supply();
        let mut accepted = BTreeSet::new();
        let mut all = Vec::new();
        for (k, chunk) in ops.chunks(block_size).enumerate() {
            let validator = addrs[k % 4];
            let (mut fees, mut undo) = (0, Undo::default());
            for &(s, r, sel, amount, skew) in chunk {
                let receiver = if r == 4 { Address::ZERO } else { addrs[r] };
                let next = ledger.account(&addrs[s]).unwrap().next_nonce;
                let nonce = next.saturating_add_signed(i64::from(skew));
                let tx = Transaction::new_signed(&w[s], receiver, kind_of(sel, amount), nonce);
                if ledger.apply(&tx, &mut fees, &mut undo).is_ok() {
                    prop_assert!(accepted.insert((tx.sender(), tx.nonce())), "nonce accepted twice");
                }
                all.push(tx);
            }
            prop_assert!(ledger.credit(validator, fees, &mut undo).is_ok(), "validators hold accounts");
            let sum: u64 = ledger.accounts().map(|(_, a)| a.balance).sum();
            prop_assert_eq!(sum, supply);
            for (_, a) in ledger.accounts() {
                prop_assert!(a.balance >= a.stake);
            }
            prop_assert!(ledger.lottery().total_stake() > 0);
        }
        // Replaying everything ever attempted is refused now.
        let (mut fees, mut undo) = (0, Undo::default());
        for tx in &all {
            if accepted.contains(&(tx.sender(), tx.nonce())) {
                prop_assert!(ledger.apply(tx, &mut fees, &mut undo).is_err());
            }
        }
    }

    /// Encodings round-trip, for any text and numbers.
    #[test]
    fn encodings_round_trip(text in "\\PC{1,40}", amount in any::<u64>(), nonce in any::<u64>(), ts in any::<u64>(), round in any::<u32>()) {
        let w = Wallet::from_seed(1);
        let to = Wallet::from_seed(2).address();
        let txs: Vec<Arc<Transaction>> = [
            TxKind::Coins { amount }, TxKind::Message { text }, TxKind::Stake { amount },
        ].into_iter().map(|k| Arc::new(Transaction::new_signed(&w, to, k, nonce))).collect();
        for tx in &txs {
            prop_assert_eq!(&Transaction::decode(&tx.encode()).unwrap(), &**tx);
        }
        let block = Arc::new(Block::new_signed(&w, nonce, Time(ts), round, BlockHash([9; 32]), txs.clone()));
        prop_assert_eq!(&Block::decode(&block.encode()).unwrap(), &*block);
        for msg in [
            PeerMessage::Transaction(txs[1].clone()),
            PeerMessage::Block(block.clone()),
            PeerMessage::GetBlocks { from: nonce },
            PeerMessage::Blocks(vec![block.clone(), block]),
            PeerMessage::Transactions(txs.clone()),
        ] {
            let bytes = msg.encode();
            prop_assert_eq!(bytes.len(), msg.encoded_len());
            prop_assert_eq!(PeerMessage::decode(&bytes).unwrap(), msg);
        }
    }

    /// Decoding arbitrary bytes returns a value or an error, never a panic.
    #[test]
    fn decoding_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = PeerMessage::decode(&bytes);
        let _ = Block::decode(&bytes);
        let _ = Transaction::decode(&bytes);
    }

    /// Corrupting one byte of a valid message never panics, and never yields the same block.
    #[test]
    fn corrupted_messages_never_panic(at in any::<prop::sample::Index>(), xor in 1u8..=255) {
        let w = Wallet::from_seed(3);
        let to = Wallet::from_seed(4).address();
        let tx = Arc::new(Transaction::new_signed(&w, to, TxKind::Message { text: "hello".into() }, 1));
        let block = Block::new_signed(&w, 1, Time(5), 0, BlockHash([1; 32]), vec![tx]);
        let mut bytes = PeerMessage::Block(Arc::new(block.clone())).encode();
        let i = at.index(bytes.len());
        bytes[i] ^= xor;
        if let Ok(PeerMessage::Block(b)) = PeerMessage::decode(&bytes) {
            prop_assert!(b.hash() != block.hash() || b.signature() != block.signature() || *b != block);
        }
    }
}

/// A tree of valid blocks grown from one genesis: each step extends a random earlier block
/// (or the genesis) in a random round, so branches compete; returned in creation order, each
/// after its parent.
fn block_tree(steps: &[(usize, u32)]) -> (Block, Vec<Arc<Block>>) {
    use blockchat_core::{Chain, Work};
    let w = wallets(4);
    let addrs: Vec<Address> = w.iter().map(Wallet::address).collect();
    let params = NetworkParams::new(2).with_block_interval(Some(std::time::Duration::from_millis(100)));
    let genesis = Genesis::course(params, &addrs, 10 * BCC).block().unwrap();
    let timeout = params.round_timeout;
    let mut states: Vec<Chain> = vec![Chain::new(&genesis).unwrap()];
    let mut blocks = Vec::new();
    for &(pick, round) in steps {
        let mut chain = states[pick % states.len()].clone();
        let Some(v) = chain.validator_for(round) else { continue };
        let signer = w.iter().find(|x| x.address() == v).unwrap();
        let sender = &w[(pick + round as usize) % w.len()];
        let nonce = chain.ledger().account(&sender.address()).map_or(0, |a| a.next_nonce);
        let to = addrs[(pick + 1) % addrs.len()];
        let to = if to == sender.address() { addrs[(pick + 2) % addrs.len()] } else { to };
        let tx = Arc::new(Transaction::new_signed(sender, to, TxKind::Coins { amount: BCC / 100 }, nonce));
        let at = chain.tip().timestamp() + timeout * round + std::time::Duration::from_millis(1);
        let mut work = Work::default();
        if let Some(b) = chain.mint(signer, at, round, [tx].iter(), &mut work).block {
            blocks.push(b);
            states.push(chain);
        }
    }
    (genesis, blocks)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Fork choice does not depend on the order in which blocks arrive: any order that delivers
    /// each block after its parent ends on the same tip and the same ledger.
    #[test]
    fn fork_choice_does_not_depend_on_arrival_order(
        steps in proptest::collection::vec((any::<usize>(), 0u32..3), 2..14),
        shuffle in any::<u64>(),
    ) {
        use blockchat_core::{Chain, Ed25519Check, Work};
        use rand_chacha::ChaCha8Rng;
        use rand_core::{Rng, SeedableRng};
        let (genesis, blocks) = block_tree(&steps);
        let final_state = |order: &[Arc<Block>]| {
            let mut chain = Chain::new(&genesis).unwrap();
            let mut check = Ed25519Check::new();
            for b in order {
                chain.insert(b.clone(), &mut check, &|_| false, &mut Work::default()).unwrap();
            }
            (chain.tip().hash(), chain.height(), chain.ledger().total_supply(), chain.blocks().to_vec())
        };
        let want = final_state(&blocks);
        // A random order that still puts every block after its parent.
        let mut rng = ChaCha8Rng::seed_from_u64(shuffle);
        let mut pending = blocks.clone();
        let mut order = Vec::new();
        let mut have: BTreeSet<BlockHash> = [genesis.hash()].into();
        while !pending.is_empty() {
            let ready: Vec<usize> =
                (0..pending.len()).filter(|&i| have.contains(&pending[i].previous_hash())).collect();
            let pick = ready[(rng.next_u64() % ready.len() as u64) as usize];
            let b = pending.remove(pick);
            have.insert(b.hash());
            order.push(b);
        }
        prop_assert_eq!(final_state(&order), want);
    }
}

/// The trees above do branch: blocks compete for the same parent, in several rounds.
#[test]
fn block_trees_branch() {
    let (_, blocks) = block_tree(&[(0, 0), (0, 1), (1, 0), (2, 2), (1, 1), (0, 2)]);
    let parents: Vec<BlockHash> = blocks.iter().map(|b| b.previous_hash()).collect();
    let distinct: BTreeSet<BlockHash> = parents.iter().copied().collect();
    assert!(blocks.len() >= 5, "{} blocks", blocks.len());
    assert!(distinct.len() < parents.len(), "no two blocks share a parent");
    assert!(blocks.iter().any(|b| b.round() > 0));
}

/// The mempool beside a plain reference: a list of pending transactions in arrival order and a
/// map of held ones, with the rules written the obvious way (projected accounts recomputed from
/// scratch each time). Random admissions (in order, ahead, behind, unaffordable, repeated),
/// commits of blocks minted from the pool, evictions (a transaction that failed to apply) and
/// reorganisations to a competing branch must leave both with the same pending ids in the same
/// order, the same number held, and the same verdicts and dropped transactions.
mod mempool_model {
    use super::*;
    use blockchat_core::chain::Insert;
    use blockchat_core::error::TxError;
    use blockchat_core::mempool::{Admitted, Mempool};
    use blockchat_core::{Chain, Ed25519Check, TxId, Work};
    use std::collections::BTreeMap;
    use std::time::Duration;

    const LIMIT: usize = 1_000;
    const WINDOW: u64 = 4;

    #[derive(Default)]
    struct Model {
        pending: Vec<Arc<Transaction>>,
        held: BTreeMap<(Address, u64), Arc<Transaction>>,
    }

    impl Model {
        /// (next nonce, spendable) once the sender's pending transactions apply.
        fn projected(&self, chain: &Chain, sender: &Address) -> (u64, u64) {
            let a = chain.ledger().account(sender).unwrap();
            let mut next = a.next_nonce;
            let mut spendable = a.balance - a.stake;
            for t in self.pending.iter().filter(|t| t.sender() == *sender) {
                next += 1;
                spendable -= t.kind().debit();
            }
            (next, spendable)
        }

        fn admit(&mut self, chain: &Chain, tx: Arc<Transaction>) -> Result<Admitted, TxError> {
            let key = (tx.sender(), tx.nonce());
            if self.pending.iter().any(|t| t.id() == tx.id()) || self.held.get(&key).is_some_and(|t| t.id() == tx.id())
            {
                return Err(TxError::AlreadyPending { id: tx.id() });
            }
            let committed = chain.ledger().account(&tx.sender()).unwrap().next_nonce;
            if tx.nonce() < committed {
                return Err(TxError::BadNonce { expected: committed, got: tx.nonce() });
            }
            let (next, spendable) = self.projected(chain, &tx.sender());
            if tx.nonce() > next {
                if tx.nonce() - next > WINDOW {
                    return Err(TxError::NonceTooFarAhead { expected: next, got: tx.nonce(), window: WINDOW });
                }
                self.held.entry(key).or_insert(tx);
                return Ok(Admitted::Held);
            }
            if tx.nonce() < next {
                return Err(TxError::BadNonce { expected: next, got: tx.nonce() });
            }
            if tx.kind().debit() > spendable {
                return Err(TxError::InsufficientBalance { needed: tx.kind().debit(), available: spendable });
            }
            let sender = tx.sender();
            self.pending.push(tx);
            self.promote(chain, sender);
            Ok(Admitted::Pending)
        }

        fn promote(&mut self, chain: &Chain, sender: Address) {
            loop {
                let (next, spendable) = self.projected(chain, &sender);
                let Some(tx) = self.held.get(&(sender, next)).cloned() else { return };
                if tx.kind().debit() > spendable {
                    return;
                }
                self.held.remove(&(sender, next));
                self.pending.push(tx);
            }
        }

        /// Drops the sender's held transactions whose nonce is spent, then keeps its pending
        /// ones, in order, while each still follows the one before and is affordable; returns
        /// the ids dropped.
        fn recheck(&mut self, chain: &Chain, sender: Address) -> Vec<TxId> {
            let a = *chain.ledger().account(&sender).unwrap();
            let mut dropped = Vec::new();
            self.held.retain(|(s, n), t| {
                let keep = *s != sender || *n >= a.next_nonce;
                if !keep {
                    dropped.push(t.id());
                }
                keep
            });
            let (mut next, mut spendable) = (a.next_nonce, a.balance - a.stake);
            self.pending.retain(|t| {
                if t.sender() != sender {
                    return true;
                }
                let fits = t.nonce() == next && t.kind().debit() <= spendable;
                if fits {
                    next += 1;
                    spendable -= t.kind().debit();
                } else {
                    dropped.push(t.id());
                }
                fits
            });
            self.promote(chain, sender);
            dropped
        }

        /// A block committed: its transactions leave and every sender is checked again from
        /// scratch. Returns what no longer fits.
        fn commit(&mut self, chain: &Chain, included: &[Arc<Transaction>]) -> Vec<TxId> {
            self.pending.retain(|t| !included.iter().any(|i| i.id() == t.id()));
            let senders: BTreeSet<Address> =
                self.held.keys().map(|(a, _)| *a).chain(self.pending.iter().map(|t| t.sender())).collect();
            senders.into_iter().flat_map(|s| self.recheck(chain, s)).collect()
        }

        /// `tx` could not apply: it leaves, and so does what of its sender's queue needed it.
        fn evict(&mut self, chain: &Chain, tx: &Transaction) -> Vec<TxId> {
            self.pending.retain(|t| t.id() != tx.id());
            let mut dropped = vec![tx.id()];
            dropped.extend(self.recheck(chain, tx.sender()));
            dropped
        }

        /// The best chain moved to another branch: the new branch's transactions leave, those of
        /// the abandoned one come back first, then every pending transaction of an account the
        /// change touched is admitted again after them.
        fn reorg(
            &mut self,
            chain: &Chain,
            applied: &[Arc<Transaction>],
            returned: &[Arc<Transaction>],
            touched: &[Address],
        ) -> Vec<TxId> {
            self.pending.retain(|t| !applied.iter().any(|a| a.id() == t.id()));
            let mut pulled = Vec::new();
            for address in touched {
                pulled.extend(self.pending.iter().filter(|t| t.sender() == *address).cloned());
                self.pending.retain(|t| t.sender() != *address);
            }
            let mut dropped = Vec::new();
            for tx in returned.iter().chain(&pulled) {
                match self.admit(chain, tx.clone()) {
                    Ok(_) | Err(TxError::AlreadyPending { .. }) => {}
                    Err(_) => dropped.push(tx.id()),
                }
            }
            for address in touched {
                dropped.extend(self.recheck(chain, *address));
            }
            dropped
        }
    }

    /// Sorted ids of what the mempool dropped.
    fn ids(dropped: Vec<(Arc<Transaction>, TxError)>) -> Vec<TxId> {
        let mut ids: Vec<TxId> = dropped.iter().map(|(t, _)| t.id()).collect();
        ids.sort();
        ids
    }

    fn sorted(mut ids: Vec<TxId>) -> Vec<TxId> {
        ids.sort();
        ids
    }

    /// What one step does.
    #[derive(Debug, Clone, Copy)]
    enum Act {
        /// Submit: (sender, receiver offset, amount in BCC/10, nonce offset from the projected
        /// next: 0 in order, 1–5 ahead, 6 behind, 7 a repeat of the last one sent).
        Submit(usize, usize, u64, u8),
        /// Mint a block from the pool and commit it.
        Commit,
        /// Evict the pending transaction at this position (modulo the pool's size).
        Evict(usize),
        /// Replace the last block by a two-block branch that drops its last transaction and
        /// spends a nonce with a transaction the pool never saw.
        Reorg(usize),
    }

    fn act() -> impl Strategy<Value = Act> {
        prop_oneof![
            12 => (0usize..3, 1usize..3, 1u64..4_000, 0u8..8).prop_map(|(s, r, a, o)| Act::Submit(s, r, a, o)),
            3 => Just(Act::Commit),
            1 => (0usize..64).prop_map(Act::Evict),
            1 => (0usize..3).prop_map(Act::Reorg),
        ]
    }

    /// Mints on `chain` as its round-0 validator from `candidates`.
    fn mint(chain: &mut Chain, w: &[Wallet], candidates: &[Arc<Transaction>]) -> Option<Arc<Block>> {
        let v = chain.validator_for(0)?;
        let signer = w.iter().find(|x| x.address() == v).unwrap();
        let at = chain.tip().timestamp() + Duration::from_millis(1);
        chain.mint(signer, at, 0, candidates.iter(), &mut Work::default()).block
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn mempool_agrees_with_a_plain_model(acts in proptest::collection::vec(act(), 1..140)) {
            let w = wallets(3);
            let addrs: Vec<Address> = w.iter().map(Wallet::address).collect();
            let params = NetworkParams::new(4).with_block_interval(Some(Duration::from_millis(100)));
            let genesis = Genesis::course(params, &addrs, 10 * BCC).block().unwrap();
            let mut chain = Chain::new(&genesis).unwrap();
            let mut before_tip: Option<Chain> = None;
            let mut pool = Mempool::new(LIMIT, WINDOW);
            let mut model = Model::default();
            let mut last: Option<Arc<Transaction>> = None;
            for (k, &act) in acts.iter().enumerate() {
                match act {
                    Act::Commit => {
                        let candidates: Vec<Arc<Transaction>> = pool.iter().map(|(t, _)| t.clone()).collect();
                        let snapshot = chain.clone();
                        let v = chain.validator_for(0).unwrap();
                        let signer = w.iter().find(|x| x.address() == v).unwrap();
                        let at = chain.tip().timestamp() + Duration::from_millis(1);
                        let minted = chain.mint(signer, at, 0, candidates.iter(), &mut Work::default());
                        prop_assert!(minted.failed.is_empty(), "a pending transaction did not apply: {:?}", minted.failed);
                        if let Some(block) = minted.block {
                            before_tip = Some(snapshot);
                            let dropped = pool.on_commit(block.transactions(), block.validator(), chain.ledger());
                            let stale = model.commit(&chain, block.transactions());
                            prop_assert_eq!(ids(dropped), sorted(stale), "dropped at the commit of step {}", k);
                        }
                    }
                    Act::Evict(at) => {
                        let Some(tx) = pool.iter().map(|(t, _)| t.clone()).nth(at % pool.len().max(1)) else { continue };
                        let error = TxError::InsufficientBalance { needed: 1, available: 0 };
                        let dropped = pool.evict(&tx, error, chain.ledger());
                        let want = model.evict(&chain, &tx);
                        prop_assert_eq!(ids(dropped), sorted(want), "evicted at step {}", k);
                    }
                    Act::Reorg(s) => {
                        let Some(mut fork) = before_tip.take() else { continue };
                        let old_tip = chain.tip().clone();
                        // A transaction nobody pooled takes a nonce a pooled one may also hold.
                        let stranger = |fork: &Chain, n: usize| {
                            let sender = &w[(s + n) % 3];
                            let nonce = fork.ledger().account(&sender.address()).unwrap().next_nonce;
                            let to = addrs[(s + n + 1) % 3];
                            Arc::new(Transaction::new_signed(sender, to, TxKind::Coins { amount: 7 + k as u64 }, nonce))
                        };
                        let kept = &old_tip.transactions()[..old_tip.transactions().len() - 1];
                        let mut first: Vec<Arc<Transaction>> = kept.to_vec();
                        first.push(stranger(&fork, 0));
                        let Some(b1) = mint(&mut fork, &w, &first) else { continue };
                        let second = stranger(&fork, 1);
                        let Some(b2) = mint(&mut fork, &w, &[second]) else { continue };
                        for block in [b1, b2] {
                            let inserted = chain
                                .insert(block.clone(), &mut Ed25519Check::new(), &|_| false, &mut Work::default())
                                .unwrap();
                            let (reverted, applied) = match inserted {
                                Insert::Extended => (Vec::new(), vec![block]),
                                Insert::Reorganized { reverted, applied } => (reverted, applied),
                                Insert::Side | Insert::Known => continue,
                            };
                            if reverted.is_empty() {
                                let dropped = pool.on_commit(applied[0].transactions(), applied[0].validator(), chain.ledger());
                                let stale = model.commit(&chain, applied[0].transactions());
                                prop_assert_eq!(ids(dropped), sorted(stale), "dropped at the extension of step {}", k);
                                continue;
                            }
                            let change = blockchat_core::block::Reorg::between(&reverted, &applied);
                            let dropped = pool.on_reorg(&change.applied, change.returned.clone(), &change.touched, Time(k as u64), chain.ledger());
                            let want = model.reorg(&chain, &change.applied, &change.returned, &change.touched);
                            prop_assert_eq!(ids(dropped), sorted(want), "dropped at the reorganisation of step {}", k);
                        }
                    }
                    Act::Submit(s, r, amount, offset) => {
                        let sender = &w[s];
                        let to = addrs[(s + r) % 3];
                        let tx = match (offset, &last) {
                            (7, Some(t)) => t.clone(),
                            _ => {
                                let next = pool.next_nonce(&sender.address(), chain.ledger());
                                let nonce = match offset {
                                    0 | 7 => next,
                                    6 => next.saturating_sub(1),
                                    ahead => next + u64::from(ahead),
                                };
                                let kind = TxKind::Coins { amount: amount * BCC / 10 + k as u64 };
                                Arc::new(Transaction::new_signed(sender, to, kind, nonce))
                            }
                        };
                        last = Some(tx.clone());
                        let real = pool.admit(tx.clone(), Time(k as u64), chain.ledger(), |_| true);
                        let want = model.admit(&chain, tx);
                        prop_assert_eq!(real, want, "step {}", k);
                    }
                }
                let real_ids: Vec<_> = pool.iter().map(|(t, _)| t.id()).collect();
                let model_ids: Vec<_> = model.pending.iter().map(|t| t.id()).collect();
                prop_assert_eq!(real_ids, model_ids, "pending after step {} ({:?})", k, act);
                prop_assert_eq!(pool.held(), model.held.len(), "held after step {} ({:?})", k, act);
            }
        }
    }
}
