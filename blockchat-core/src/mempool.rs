//! The mempool: valid pending transactions in arrival order, each checked against the committed
//! state plus the same sender's pending transactions ahead of it.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use crate::FastMap;
use crate::error::TxError;
use crate::ids::{Address, TxId};
use crate::ledger::{Account, Ledger};
use crate::time::Time;
use crate::transaction::{Transaction, TxKind};

/// What happened to a transaction offered to the mempool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admitted {
    /// Queued as valid and ready for a block.
    Pending,
    /// Held until the sender's earlier nonces arrive.
    Held,
}

/// What becomes of a transaction whose sender cannot afford it against the committed state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unfunded {
    /// Refused with `InsufficientBalance` (a local request: its client waits and retries).
    Refuse,
    /// Held like a nonce ahead and queued once a commit makes it affordable (a peer's, which
    /// may spend income from a block this node has not applied yet).
    Hold,
}

/// A sender's pending (arrival sequence, id) pairs in nonce order. The first is kept inline:
/// most senders have one pending transaction at a time, and it then costs no allocation and no
/// second read.
#[derive(Debug, Clone, Default)]
struct Pending {
    // None only when `rest` is empty too.
    first: Option<(u64, TxId)>,
    rest: VecDeque<(u64, TxId)>,
}

impl Pending {
    fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }

    fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    fn front(&self) -> Option<&(u64, TxId)> {
        self.first.as_ref()
    }

    fn push_back(&mut self, entry: (u64, TxId)) {
        if self.first.is_none() {
            self.first = Some(entry);
        } else {
            self.rest.push_back(entry);
        }
    }

    fn pop_front(&mut self) -> Option<(u64, TxId)> {
        let front = self.first.take()?;
        self.first = self.rest.pop_front();
        Some(front)
    }
}

impl IntoIterator for Pending {
    type Item = (u64, TxId);
    type IntoIter =
        std::iter::Chain<std::option::IntoIter<(u64, TxId)>, std::collections::vec_deque::IntoIter<(u64, TxId)>>;

    fn into_iter(self) -> Self::IntoIter {
        self.first.into_iter().chain(self.rest)
    }
}

/// A sender's pending transactions and what they take from its committed account. Credits are
/// not projected, so a pending sequence stays valid in any block order that keeps its nonces.
#[derive(Debug, Clone, Default)]
struct Sender {
    txs: Pending,
    // Units the pending transactions debit.
    debit: u64,
    // The latest pending stake: (arrival sequence, new stake).
    last_stake: Option<(u64, u64)>,
}

impl Sender {
    /// The sender's account once every pending transaction applies.
    fn projected(&self, committed: &Account) -> Account {
        Account {
            balance: committed.balance.saturating_sub(self.debit),
            stake: self.last_stake.map_or(committed.stake, |(_, s)| s),
            next_nonce: committed.next_nonce + self.txs.len() as u64,
        }
    }

    fn push(&mut self, seq: u64, tx: &Transaction) {
        self.txs.push_back((seq, tx.id()));
        self.debit += tx.kind().debit();
        if let TxKind::Stake { amount } = tx.kind() {
            self.last_stake = Some((seq, *amount));
        }
    }

    /// Drops the oldest pending transaction (it committed); its arrival sequence.
    fn pop_front(&mut self, tx: &Transaction) -> Option<u64> {
        let (seq, _) = self.txs.pop_front()?;
        self.debit -= tx.kind().debit();
        if self.last_stake.is_some_and(|(s, _)| s == seq) {
            self.last_stake = None;
        }
        Some(seq)
    }
}

/// Pending transactions by arrival sequence. Sequences only grow, so this is a deque with holes
/// where transactions left: O(1) to append, look up and remove.
#[derive(Debug, Clone, Default)]
struct Arrivals {
    // Sequence of the front slot.
    base: u64,
    slots: VecDeque<Option<(Arc<Transaction>, Time)>>,
    live: usize,
    // The latest arrival time of any entry appended (re-admitted ones keep older times).
    latest: Time,
}

impl Arrivals {
    fn len(&self) -> usize {
        self.live
    }

    fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Appends the entry of sequence `seq`, the next one handed out.
    fn push(&mut self, seq: u64, entry: (Arc<Transaction>, Time)) {
        if self.slots.is_empty() {
            self.base = seq;
        }
        debug_assert_eq!(seq, self.base + self.slots.len() as u64);
        self.latest = self.latest.max(entry.1);
        self.slots.push_back(Some(entry));
        self.live += 1;
    }

    fn get(&self, seq: u64) -> Option<&(Arc<Transaction>, Time)> {
        let i = usize::try_from(seq.checked_sub(self.base)?).ok()?;
        self.slots.get(i)?.as_ref()
    }

    fn remove(&mut self, seq: u64) -> Option<(Arc<Transaction>, Time)> {
        let i = usize::try_from(seq.checked_sub(self.base)?).ok()?;
        let entry = self.slots.get_mut(i)?.take()?;
        self.live -= 1;
        while matches!(self.slots.front(), Some(None)) {
            self.slots.pop_front();
            self.base += 1;
        }
        Some(entry)
    }

    fn iter(&self) -> impl Iterator<Item = (&Arc<Transaction>, Time)> {
        self.slots.iter().flatten().map(|(t, at)| (t, *at))
    }
}

/// Pending transactions waiting for a block.
#[derive(Debug, Clone)]
pub struct Mempool {
    limit: usize,
    future_window: u64,
    next_seq: u64,
    queue: Arrivals,
    // Lookup only; its iteration order never matters.
    by_id: FastMap<TxId, u64>,
    // The ids last queued, each in a slot chosen by its first byte (zero when empty). Every id
    // here is in `by_id`; most copies of a gossiped transaction arrive while it is still here,
    // and one probe of this small table answers them without the map's scattered reads.
    recent: [TxId; RECENT_SLOTS],
    // Lookup only; every iteration over it is summed or sorted.
    senders: FastMap<Address, Sender>,
    future: BTreeMap<(Address, u64), (Arc<Transaction>, Time)>,
}

/// Slots of the table of recently queued ids.
const RECENT_SLOTS: usize = 32;

fn slot(id: &TxId) -> usize {
    usize::from(id.0[0]) % RECENT_SLOTS
}

impl Mempool {
    /// An empty mempool holding at most `limit` pending transactions and holding back nonces up
    /// to `future_window` ahead of a sender's next one.
    pub fn new(limit: usize, future_window: u64) -> Mempool {
        Mempool {
            limit,
            future_window,
            next_seq: 0,
            queue: Arrivals::default(),
            by_id: FastMap::default(),
            recent: [TxId::ZERO; RECENT_SLOTS],
            senders: FastMap::default(),
            future: BTreeMap::new(),
        }
    }

    /// Pending (ready) transactions.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Transactions held for an earlier nonce.
    pub fn held(&self) -> usize {
        self.future.len()
    }

    /// Whether `tx` (same id and signature) is pending, so its signature was already checked.
    pub fn contains(&self, tx: &Transaction) -> bool {
        self.by_id
            .get(&tx.id())
            .and_then(|seq| self.queue.get(*seq))
            .is_some_and(|(p, _)| p.signature() == tx.signature())
    }

    /// Whether a transaction with this id is pending or held.
    pub fn knows(&self, tx: &Transaction) -> bool {
        let id = tx.id();
        (self.recent[slot(&id)] == id && id != TxId::ZERO)
            || self.by_id.contains_key(&id)
            || (!self.future.is_empty()
                && self.future.get(&(tx.sender(), tx.nonce())).is_some_and(|(t, _)| t.id() == tx.id()))
    }

    /// Pending transactions in arrival order, with their arrival times.
    pub fn iter(&self) -> impl Iterator<Item = (&Arc<Transaction>, Time)> {
        self.queue.iter()
    }

    /// When the oldest pending transaction arrived.
    pub fn oldest_arrival(&self) -> Option<Time> {
        self.queue.iter().next().map(|(_, at)| at)
    }

    /// When the newest pending transaction arrived.
    pub fn newest_arrival(&self) -> Option<Time> {
        (!self.queue.is_empty()).then_some(self.queue.latest)
    }

    /// The sender's account once its pending transactions apply (committed state if none).
    fn projected(&self, sender: &Address, committed: &Account) -> Account {
        self.senders.get(sender).map_or(*committed, |s| s.projected(committed))
    }

    /// The nonce the sender's next new transaction should carry.
    pub fn next_nonce(&self, sender: &Address, ledger: &Ledger) -> u64 {
        ledger.account(sender).map_or(0, |c| self.projected(sender, c).next_nonce)
    }

    /// The checks of [`Mempool::admit`] that need no signature, against the current queue:
    /// worth running before paying for a verification.
    pub fn precheck(&self, tx: &Transaction, ledger: &Ledger) -> Result<(), TxError> {
        if self.knows(tx) {
            return Err(TxError::AlreadyPending { id: tx.id() });
        }
        tx.check_form()?;
        let committed = ledger.account(&tx.sender()).ok_or(TxError::UnknownSender { sender: tx.sender() })?;
        if !tx.receiver().is_zero() && ledger.account(&tx.receiver()).is_none() {
            return Err(TxError::UnknownReceiver { receiver: tx.receiver() });
        }
        // A spent nonce can never apply: refuse it before anyone pays for its signature.
        if tx.nonce() < committed.next_nonce {
            return Err(TxError::BadNonce { expected: committed.next_nonce, got: tx.nonce() });
        }
        Ok(())
    }

    /// Total stake once every pending stake change applies (what an unstake must leave above 0).
    fn projected_total_stake(&self, ledger: &Ledger) -> u64 {
        let mut total = ledger.lottery().total_stake();
        for (address, sender) in &self.senders {
            if let (Some((_, stake)), Some(committed)) = (sender.last_stake, ledger.account(address)) {
                total = total - committed.stake.min(total) + stake;
            }
        }
        total
    }

    /// The total stake to check `tx` against: only stakes need the projection.
    fn total_stake_for(&self, tx: &Transaction, ledger: &Ledger) -> u64 {
        match tx.kind() {
            TxKind::Stake { .. } => self.projected_total_stake(ledger),
            _ => ledger.lottery().total_stake(),
        }
    }

    /// Every admission check but the signature, without admitting: whether `tx` would be
    /// accepted as pending now. Lets a node refuse a local request before paying to sign it.
    pub fn check(&self, tx: &Transaction, ledger: &Ledger) -> Result<(), TxError> {
        self.precheck(tx, ledger)?;
        if self.queue.len() >= self.limit {
            return Err(TxError::MempoolFull { limit: self.limit });
        }
        let committed = ledger.account(&tx.sender()).ok_or(TxError::UnknownSender { sender: tx.sender() })?;
        Ledger::check_against(&self.projected(&tx.sender(), committed), tx, self.total_stake_for(tx, ledger))
    }

    /// Offers `tx`. Cheap checks run first; `verify` (the signature check) runs only if they pass.
    pub fn admit(
        &mut self,
        tx: Arc<Transaction>,
        now: Time,
        ledger: &Ledger,
        verify: impl FnOnce(&Transaction) -> bool,
    ) -> Result<Admitted, TxError> {
        self.precheck(&tx, ledger)?;
        self.admit_prechecked(tx, now, ledger, verify, Unfunded::Refuse)
    }

    /// [`Mempool::admit`] for a transaction that already passed [`Mempool::precheck`] against
    /// this mempool and `ledger`; `unfunded` says what becomes of one its sender cannot afford.
    pub fn admit_prechecked(
        &mut self,
        tx: Arc<Transaction>,
        now: Time,
        ledger: &Ledger,
        verify: impl FnOnce(&Transaction) -> bool,
        unfunded: Unfunded,
    ) -> Result<Admitted, TxError> {
        self.offer(tx, now, ledger, verify, unfunded == Unfunded::Hold)
    }

    fn offer(
        &mut self,
        tx: Arc<Transaction>,
        now: Time,
        ledger: &Ledger,
        verify: impl FnOnce(&Transaction) -> bool,
        hold_unfunded: bool,
    ) -> Result<Admitted, TxError> {
        let committed = ledger.account(&tx.sender()).ok_or(TxError::UnknownSender { sender: tx.sender() })?;
        let projected = self.projected(&tx.sender(), committed);
        let unfunded = hold_unfunded
            && tx.nonce() == projected.next_nonce
            && matches!(
                Ledger::check_against(&projected, &tx, self.total_stake_for(&tx, ledger)),
                Err(TxError::InsufficientBalance { .. })
            );
        if tx.nonce() > projected.next_nonce || unfunded {
            let window = self.future_window;
            if tx.nonce() - projected.next_nonce > window {
                return Err(TxError::NonceTooFarAhead { expected: projected.next_nonce, got: tx.nonce(), window });
            }
            if self.future.len() >= self.limit {
                return Err(TxError::MempoolFull { limit: self.limit });
            }
            if !verify(&tx) {
                return Err(TxError::BadSignature);
            }
            self.future.entry((tx.sender(), tx.nonce())).or_insert((tx, now));
            return Ok(Admitted::Held);
        }
        if self.queue.len() >= self.limit {
            return Err(TxError::MempoolFull { limit: self.limit });
        }
        Ledger::check_against(&projected, &tx, self.total_stake_for(&tx, ledger))?;
        if !verify(&tx) {
            return Err(TxError::BadSignature);
        }
        let sender = tx.sender();
        self.push(tx, now);
        self.promote(sender, ledger);
        Ok(Admitted::Pending)
    }

    /// Queues a checked transaction.
    fn push(&mut self, tx: Arc<Transaction>, at: Time) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let sender = self.senders.entry(tx.sender()).or_default();
        sender.push(seq, &tx);
        self.by_id.insert(tx.id(), seq);
        self.recent[slot(&tx.id())] = tx.id();
        self.queue.push(seq, (tx, at));
    }

    /// Moves held transactions of `sender` that are now next in line into the queue.
    fn promote(&mut self, sender: Address, ledger: &Ledger) {
        let Some(committed) = ledger.account(&sender).copied() else {
            return;
        };
        loop {
            let projected = self.projected(&sender, &committed);
            if self.queue.len() >= self.limit {
                // Full: it stays held (it used to be taken out first and lost).
                return;
            }
            let Some((tx, at)) = self.future.remove(&(sender, projected.next_nonce)) else {
                return;
            };
            match Ledger::check_against(&projected, &tx, self.total_stake_for(&tx, ledger)) {
                Ok(()) => self.push(tx, at),
                // Not affordable yet: it waits for income (a later commit promotes it again).
                Err(TxError::InsufficientBalance { .. }) => {
                    self.future.insert((sender, projected.next_nonce), (tx, at));
                    return;
                }
                Err(_) => return,
            }
        }
    }

    /// After a block commits against `ledger`: drops its transactions and returns the pending
    /// ones that became invalid, with why. A sender whose committed transactions were the front
    /// of its pending queue keeps the rest untouched (credits only add); any other sender in the
    /// block is re-checked in full.
    /// `validator` is the block's, credited its fees: with the receivers of its coins, the only
    /// accounts whose income may make a held transaction affordable.
    pub fn on_commit(
        &mut self,
        included: &[Arc<Transaction>],
        validator: Address,
        ledger: &Ledger,
    ) -> Vec<(Arc<Transaction>, TxError)> {
        let mut recheck = Vec::new();
        for tx in included {
            let sender = tx.sender();
            // The sender's queue holds (sequence, id) as the id map does, so its front answers
            // for the committed transaction without a look in the map.
            match self.senders.get_mut(&sender) {
                Some(s) if s.txs.front().is_some_and(|(_, id)| *id == tx.id()) => {
                    let seq = s.pop_front(tx);
                    if s.txs.is_empty() {
                        self.senders.remove(&sender);
                    }
                    self.forget(&tx.id());
                    if let Some(seq) = seq {
                        self.queue.remove(seq);
                    }
                }
                Some(_) => recheck.push(sender),
                None => {}
            }
            if self.future.range((sender, 0)..=(sender, u64::MAX)).next().is_some() {
                recheck.push(sender);
            }
        }
        // Income may make a held transaction affordable: its sender need not be in the block.
        if !self.future.is_empty() {
            let credited = included
                .iter()
                .filter(|t| matches!(t.kind(), TxKind::Coins { .. }))
                .map(|t| t.receiver())
                .chain(std::iter::once(validator));
            for address in credited {
                if self.future.range((address, 0)..=(address, u64::MAX)).next().is_some() {
                    recheck.push(address);
                }
            }
        }
        // A committed stake change moves the total stake that pending unstakes must leave.
        if included.iter().any(|t| matches!(t.kind(), TxKind::Stake { .. })) {
            recheck.extend(self.senders.iter().filter(|(_, s)| s.last_stake.is_some()).map(|(a, _)| *a));
        }
        recheck.sort_unstable();
        recheck.dedup();
        let mut dropped = Vec::new();
        for address in recheck {
            self.recheck(address, ledger, &mut dropped);
        }
        dropped
    }

    /// Drops `tx`, which cannot apply for `error`, and whatever of its sender's queue no longer
    /// fits without it.
    pub fn evict(&mut self, tx: &Transaction, error: TxError, ledger: &Ledger) -> Vec<(Arc<Transaction>, TxError)> {
        let mut dropped = Vec::new();
        if let Some(seq) = self.forget(&tx.id())
            && let Some((t, _)) = self.queue.remove(seq)
        {
            dropped.push((t, error));
        }
        self.recheck(tx.sender(), ledger, &mut dropped);
        dropped
    }

    /// After a reorganisation to `ledger`: transactions of the new blocks leave, those of
    /// abandoned blocks (`returned`) come back, and the senders and receivers the change
    /// `touched` are re-checked. Returns what was dropped, with why.
    pub fn on_reorg(
        &mut self,
        applied: &[Arc<Transaction>],
        returned: Vec<Arc<Transaction>>,
        touched: &[Address],
        now: Time,
        ledger: &Ledger,
    ) -> Vec<(Arc<Transaction>, TxError)> {
        for tx in applied {
            if let Some(seq) = self.forget(&tx.id()) {
                self.queue.remove(seq);
            }
        }
        // Take out every pending transaction of a touched address, then re-admit the returned
        // ones before them (their nonces come first).
        let mut pulled = Vec::new();
        for address in touched {
            if let Some(sender) = self.senders.remove(address) {
                for (seq, id) in sender.txs {
                    self.forget(&id);
                    if let Some(entry) = self.queue.remove(seq) {
                        pulled.push(entry);
                    }
                }
            }
        }
        let mut dropped = Vec::new();
        for (tx, at) in returned.into_iter().map(|t| (t, now)).chain(pulled) {
            match self.admit(tx.clone(), at, ledger, |_| true) {
                Ok(_) | Err(TxError::AlreadyPending { .. }) => {}
                Err(e) => dropped.push((tx, e)),
            }
        }
        for address in touched {
            self.recheck(*address, ledger, &mut dropped);
        }
        dropped
    }

    /// Recomputes one sender's pending queue from `ledger`, dropping what no longer fits.
    fn recheck(&mut self, address: Address, ledger: &Ledger, dropped: &mut Vec<(Arc<Transaction>, TxError)>) {
        let Some(committed) = ledger.account(&address).copied() else {
            return;
        };
        // Held transactions whose nonce is now spent can never apply.
        let stale: Vec<(Address, u64)> =
            self.future.range((address, 0)..(address, committed.next_nonce)).map(|(k, _)| *k).collect();
        for key in stale {
            if let Some((tx, _)) = self.future.remove(&key) {
                dropped.push((tx, TxError::BadNonce { expected: committed.next_nonce, got: key.1 }));
            }
        }
        if let Some(old) = self.senders.remove(&address) {
            let mut fresh = Sender::default();
            for (seq, id) in old.txs {
                let Some(tx) = self.queue.get(seq).map(|(t, _)| t.clone()) else {
                    continue;
                };
                let projected = fresh.projected(&committed);
                match Ledger::check_against(&projected, &tx, self.total_stake_for(&tx, ledger)) {
                    Ok(()) => fresh.push(seq, &tx),
                    Err(e) => {
                        self.forget(&id);
                        self.queue.remove(seq);
                        dropped.push((tx, e));
                    }
                }
            }
            if !fresh.txs.is_empty() {
                self.senders.insert(address, fresh);
            }
        }
        self.promote(address, ledger);
    }

    /// Removes `id` from the id map and the recent table; its arrival sequence if it was there.
    fn forget(&mut self, id: &TxId) -> Option<u64> {
        let recent = &mut self.recent[slot(id)];
        if recent == id {
            *recent = TxId::ZERO;
        }
        self.by_id.remove(id)
    }

    /// Forgets everything (a crash loses the mempool).
    pub fn clear(&mut self) {
        *self = Mempool::new(self.limit, self.future_window);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amount::UNITS_PER_BCC;
    use crate::genesis::Genesis;
    use crate::ledger::Undo;
    use crate::wallet::Wallet;

    const BCC: u64 = UNITS_PER_BCC;

    fn setup() -> (Ledger, Vec<Wallet>) {
        let wallets: Vec<Wallet> = (0..3).map(Wallet::from_seed).collect();
        let addrs: Vec<Address> = wallets.iter().map(|w| w.address()).collect();
        (Genesis::course(crate::params::NetworkParams::new(1), &addrs, 10 * BCC).ledger().unwrap(), wallets)
    }

    fn coins(from: &Wallet, to: &Wallet, bcc: u64, nonce: u64) -> Arc<Transaction> {
        Arc::new(Transaction::new_signed(from, to.address(), TxKind::Coins { amount: bcc * BCC }, nonce))
    }

    #[test]
    fn admission_table() {
        let (ledger, w) = setup();
        let mut pool = Mempool::new(4, 2);
        let yes = |_: &Transaction| true;
        let t0 = coins(&w[0], &w[1], 500, 0);
        assert_eq!(pool.admit(t0.clone(), Time(1), &ledger, yes), Ok(Admitted::Pending));
        assert_eq!(pool.admit(t0.clone(), Time(2), &ledger, yes), Err(TxError::AlreadyPending { id: t0.id() }));
        // 500 + 15 fee already pending: only 475 of the 990 spendable is left.
        assert_eq!(
            pool.admit(coins(&w[0], &w[1], 470, 1), Time(3), &ledger, yes),
            Err(TxError::InsufficientBalance { needed: 484_100_000, available: 475 * BCC })
        );
        assert_eq!(
            pool.admit(coins(&w[0], &w[1], 1, 0), Time(3), &ledger, yes),
            Err(TxError::BadNonce { expected: 1, got: 0 })
        );
        assert_eq!(
            pool.admit(coins(&w[0], &w[1], 1, 4), Time(3), &ledger, yes),
            Err(TxError::NonceTooFarAhead { expected: 1, got: 4, window: 2 })
        );
        assert_eq!(pool.admit(coins(&w[1], &w[2], 1, 0), Time(3), &ledger, |_| false), Err(TxError::BadSignature));
        // A held nonce is promoted when the gap fills.
        assert_eq!(pool.admit(coins(&w[0], &w[1], 1, 2), Time(4), &ledger, yes), Ok(Admitted::Held));
        assert_eq!((pool.len(), pool.held()), (1, 1));
        assert_eq!(pool.admit(coins(&w[0], &w[1], 1, 1), Time(5), &ledger, yes), Ok(Admitted::Pending));
        assert_eq!((pool.len(), pool.held()), (3, 0));
        assert_eq!(pool.next_nonce(&w[0].address(), &ledger), 3);
        assert_eq!(pool.admit(coins(&w[1], &w[2], 1, 0), Time(6), &ledger, yes), Ok(Admitted::Pending));
        assert_eq!(
            pool.admit(coins(&w[2], &w[1], 1, 0), Time(7), &ledger, yes),
            Err(TxError::MempoolFull { limit: 4 })
        );
        let order: Vec<u64> = pool.iter().map(|(t, _)| t.nonce()).collect();
        assert_eq!(order, vec![0, 1, 2, 0]);
        assert_eq!(pool.oldest_arrival(), Some(Time(1)));
    }

    /// A held transaction whose turn comes while the pool is full stays held; it was taken out
    /// of the held set first and then dropped without a verdict.
    #[test]
    fn a_full_pool_keeps_what_it_holds() {
        let (ledger, w) = setup();
        let yes = |_: &Transaction| true;
        let mut pool = Mempool::new(1, 4);
        assert_eq!(pool.admit(coins(&w[0], &w[1], 1, 1), Time(1), &ledger, yes), Ok(Admitted::Held));
        assert_eq!(pool.admit(coins(&w[0], &w[1], 1, 0), Time(2), &ledger, yes), Ok(Admitted::Pending));
        assert_eq!((pool.len(), pool.held()), (1, 1));
    }

    #[test]
    fn commit_removes_included_and_drops_conflicts() {
        let (mut ledger, w) = setup();
        let mut pool = Mempool::new(100, 8);
        let ours = coins(&w[0], &w[1], 5, 0);
        let later = coins(&w[0], &w[1], 5, 1);
        let other = coins(&w[1], &w[2], 5, 0);
        for t in [&ours, &later, &other] {
            pool.admit(t.clone(), Time(0), &ledger, |_| true).unwrap();
        }
        // A competing transaction with nonce 0 from w[0] commits instead of ours.
        let rival = coins(&w[0], &w[2], 7, 0);
        let (mut fees, mut undo) = (0, Undo::default());
        ledger.apply(&rival, &mut fees, &mut undo).unwrap();
        ledger.apply(&other, &mut fees, &mut undo).unwrap();
        let dropped = pool.on_commit(&[rival.clone(), other.clone()], w[0].address(), &ledger);
        // `ours` lost its nonce; `later` (nonce 1) now fits, so it stays.
        assert_eq!(dropped, vec![(ours.clone(), TxError::BadNonce { expected: 1, got: 0 })]);
        let left: Vec<TxId> = pool.iter().map(|(t, _)| t.id()).collect();
        assert_eq!(left, vec![later.id()]);
        assert!(!pool.contains(&other));
    }

    #[test]
    fn a_peer_transaction_waits_for_the_income_it_spends() {
        let (mut ledger, w) = setup();
        let mut pool = Mempool::new(100, 8);
        // w[2] spends 1,200 BCC of its 990 spendable: income from a block not applied here yet.
        let spend = coins(&w[2], &w[1], 1_200, 0);
        let short = Err(TxError::InsufficientBalance { needed: 1_236_000_000, available: 990 * BCC });
        assert_eq!(pool.admit(spend.clone(), Time(0), &ledger, |_| true), short, "a local request is refused");
        assert_eq!(
            pool.admit_prechecked(spend.clone(), Time(0), &ledger, |_| false, Unfunded::Hold),
            Err(TxError::BadSignature)
        );
        assert_eq!(
            pool.admit_prechecked(spend.clone(), Time(0), &ledger, |_| true, Unfunded::Hold),
            Ok(Admitted::Held)
        );
        assert!(pool.knows(&spend) && !pool.contains(&spend));
        // A block in which w[2] only receives: w[0] pays it 300 BCC.
        let income = coins(&w[0], &w[2], 300, 0);
        let (mut fees, mut undo) = (0, Undo::default());
        ledger.apply(&income, &mut fees, &mut undo).unwrap();
        // Validated by w[1]: w[2]'s income is the coins it received.
        assert!(pool.on_commit(std::slice::from_ref(&income), w[1].address(), &ledger).is_empty());
        assert!(pool.contains(&spend), "queued once affordable");
        assert_eq!((pool.len(), pool.held()), (1, 0));
        // Still short after a commit: it stays held, not dropped.
        let big = coins(&w[1], &w[0], 5_000, 0);
        assert_eq!(pool.admit_prechecked(big.clone(), Time(1), &ledger, |_| true, Unfunded::Hold), Ok(Admitted::Held));
        // An empty block that w[1] validated: rechecked for its fees, still short.
        assert!(pool.on_commit(&[], w[1].address(), &ledger).is_empty());
        assert_eq!(pool.held(), 1);
    }

    #[test]
    fn a_reorg_returns_abandoned_transactions_before_later_ones() {
        let (ledger, w) = setup();
        let mut pool = Mempool::new(100, 8);
        // w[0]'s nonce-0 transfer was in an abandoned block; its nonce-1 transfer is pending.
        let back = coins(&w[0], &w[2], 1, 0);
        let later = coins(&w[0], &w[2], 1, 1);
        pool.admit(later.clone(), Time(0), &ledger, |_| true).unwrap();
        assert_eq!(pool.held(), 1, "nonce 1 waits for nonce 0");
        let dropped = pool.on_reorg(&[], vec![back.clone()], &[w[0].address()], Time(9), &ledger);
        assert!(dropped.is_empty(), "{dropped:?}");
        let order: Vec<TxId> = pool.iter().map(|(t, _)| t.id()).collect();
        assert_eq!(order, vec![back.id(), later.id()]);
    }
}
