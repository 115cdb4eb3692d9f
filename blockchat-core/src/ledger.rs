//! The account ledger: balance, stake and next nonce per address, and the rules that move them.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::FastMap;
use crate::error::{BlockError, TxError};
use crate::ids::Address;
use crate::lottery::Lottery;
use crate::transaction::{Transaction, TxKind};

/// One address's state. Staked units stay in the balance but cannot be spent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Account {
    /// Units held, staked ones included.
    pub balance: u64,
    /// Units locked as stake (never more than the balance).
    pub stake: u64,
    /// The nonce the next transaction from this address must carry.
    pub next_nonce: u64,
}

impl Account {
    /// Units that can be sent or spent on fees: balance minus stake.
    pub fn spendable(&self) -> u64 {
        self.balance.saturating_sub(self.stake)
    }
}

/// Pre-images of the accounts a block changed, so it can be undone. An account touched twice
/// has two entries; reverting newest first restores the oldest last, so no lookup set is kept.
#[derive(Debug, Clone, Default)]
pub struct Undo {
    entries: Vec<(u32, Account)>,
}

impl Undo {
    /// Room for a block of `transactions`: sender and receiver each, and the validator's credit,
    /// so applying a block never moves its undo data.
    pub(crate) fn for_block(transactions: usize) -> Undo {
        Undo { entries: Vec::with_capacity(2 * transactions + 1) }
    }

    /// Keeps `before` as the state of the account at `position` ahead of the change being made.
    fn record(&mut self, position: u32, before: Account) {
        self.entries.push((position, before));
    }
}

/// The addresses that hold accounts, in address order, and where each one's state is kept.
/// Accounts exist from genesis on (a transfer to an unknown address is refused and only
/// stakers validate), so one directory is shared by every copy of a ledger.
#[derive(Debug, Default)]
struct Directory {
    addresses: Vec<Address>,
    // Lookup only; its iteration order never matters.
    positions: FastMap<Address, u32>,
}

/// The state every transaction is checked against.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    directory: Arc<Directory>,
    // One state per directory address, in the same order: a copy of a ledger is one vector.
    states: Vec<Account>,
    total_supply: u64,
    lottery: Lottery,
}

impl Ledger {
    /// A ledger holding `accounts`; used by genesis.
    pub(crate) fn from_accounts(accounts: BTreeMap<Address, Account>) -> Ledger {
        let total_supply = accounts.values().map(|a| a.balance).sum();
        let addresses: Vec<Address> = accounts.keys().copied().collect();
        let positions = addresses.iter().enumerate().map(|(i, a)| (*a, i as u32)).collect();
        let states = accounts.into_values().collect();
        let directory = Arc::new(Directory { addresses, positions });
        let mut ledger = Ledger { directory, states, total_supply, lottery: Lottery::default() };
        ledger.rebuild_lottery();
        ledger
    }

    #[inline]
    fn position(&self, address: &Address) -> Option<u32> {
        self.directory.positions.get(address).copied()
    }

    /// The account of `address`, if it exists.
    #[inline]
    pub fn account(&self, address: &Address) -> Option<&Account> {
        self.position(address).map(|i| &self.states[i as usize])
    }

    /// Every account, in address order.
    pub fn accounts(&self) -> impl Iterator<Item = (&Address, &Account)> {
        self.directory.addresses.iter().zip(&self.states)
    }

    /// Number of accounts.
    pub fn len(&self) -> usize {
        self.states.len()
    }

    /// Whether there are no accounts.
    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }

    /// Sum of all balances (equal to the total supply in every valid state).
    pub fn sum_of_balances(&self) -> u64 {
        self.states.iter().map(|a| a.balance).sum()
    }

    /// Units in existence: fixed at genesis, never changed by a transaction.
    pub fn total_supply(&self) -> u64 {
        self.total_supply
    }

    /// The validator lottery over this state's stakes.
    pub fn lottery(&self) -> &Lottery {
        &self.lottery
    }

    /// Checks every stateful rule (not the signature) of `tx` against this state.
    pub fn check(&self, tx: &Transaction) -> Result<(), TxError> {
        tx.check_form()?;
        let sender = self.account(&tx.sender()).ok_or(TxError::UnknownSender { sender: tx.sender() })?;
        Self::check_against(sender, tx, self.lottery.total_stake())?;
        if !tx.receiver().is_zero() && self.position(&tx.receiver()).is_none() {
            return Err(TxError::UnknownReceiver { receiver: tx.receiver() });
        }
        Ok(())
    }

    /// Checks nonce and funds of `tx` against a sender state (committed or projected).
    pub(crate) fn check_against(sender: &Account, tx: &Transaction, total_stake: u64) -> Result<(), TxError> {
        if tx.nonce() != sender.next_nonce {
            return Err(TxError::BadNonce { expected: sender.next_nonce, got: tx.nonce() });
        }
        match tx.kind() {
            TxKind::Stake { amount } => {
                if *amount > sender.balance {
                    return Err(TxError::InsufficientBalance { needed: *amount, available: sender.balance });
                }
                if *amount == 0 && total_stake == sender.stake {
                    return Err(TxError::NoStakersLeft);
                }
            }
            kind => {
                let needed = kind.debit();
                if needed > sender.spendable() {
                    return Err(TxError::InsufficientBalance { needed, available: sender.spendable() });
                }
            }
        }
        Ok(())
    }

    /// Checks and applies `tx`, adding its fee to `fees` and recording pre-images in `undo`.
    /// On error nothing changes.
    pub fn apply(&mut self, tx: &Transaction, fees: &mut u64, undo: &mut Undo) -> Result<(), TxError> {
        tx.check_form()?;
        let sender = tx.sender();
        let s = self.position(&sender).ok_or(TxError::UnknownSender { sender })?;
        let before = self.states[s as usize];
        let receiver = match tx.kind() {
            TxKind::Coins { .. } => {
                let r = tx.receiver();
                Some(self.position(&r).ok_or(TxError::UnknownReceiver { receiver: r })?)
            }
            _ if !tx.receiver().is_zero() && self.position(&tx.receiver()).is_none() => {
                return Err(TxError::UnknownReceiver { receiver: tx.receiver() });
            }
            _ => None,
        };
        Self::check_against(&before, tx, self.lottery.total_stake())?;
        let mut after = before;
        after.next_nonce += 1;
        match tx.kind() {
            TxKind::Stake { amount } => after.stake = *amount,
            kind => after.balance -= kind.debit(),
        }
        undo.record(s, before);
        self.states[s as usize] = after;
        if let (Some(r), TxKind::Coins { amount }) = (receiver, tx.kind()) {
            let account = &mut self.states[r as usize];
            undo.record(r, *account);
            account.balance += amount;
        }
        if matches!(tx.kind(), TxKind::Stake { .. }) {
            self.rebuild_lottery();
        }
        *fees += tx.fee();
        Ok(())
    }

    /// Pays a block's collected fees to its validator, which must hold an account (only
    /// stakers are drawn, so a valid block's validator always does).
    pub fn credit(&mut self, validator: Address, fees: u64, undo: &mut Undo) -> Result<(), BlockError> {
        if fees == 0 {
            return Ok(());
        }
        let v = self.position(&validator).ok_or(BlockError::ValidatorWithoutAccount { validator })?;
        let account = &mut self.states[v as usize];
        undo.record(v, *account);
        account.balance += fees;
        Ok(())
    }

    /// Restores the accounts recorded in `undo`.
    pub fn revert(&mut self, undo: Undo) {
        let mut stakes_changed = false;
        for (position, before) in undo.entries.into_iter().rev() {
            let account = &mut self.states[position as usize];
            stakes_changed |= account.stake != before.stake;
            *account = before;
        }
        if stakes_changed {
            self.rebuild_lottery();
        }
    }

    fn rebuild_lottery(&mut self) {
        self.lottery = Lottery::new(self.accounts().map(|(a, acc)| (*a, acc.stake)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amount::UNITS_PER_BCC;
    use crate::wallet::Wallet;

    const BCC: u64 = UNITS_PER_BCC;

    struct World {
        ledger: Ledger,
        a: Wallet,
        b: Wallet,
    }

    fn world() -> World {
        let a = Wallet::from_seed(1);
        let b = Wallet::from_seed(2);
        let accounts = BTreeMap::from([
            (a.address(), Account { balance: 100 * BCC, stake: 10 * BCC, next_nonce: 0 }),
            (b.address(), Account { balance: 50 * BCC, stake: 10 * BCC, next_nonce: 0 }),
        ]);
        World { ledger: Ledger::from_accounts(accounts), a, b }
    }

    #[test]
    fn stateful_rules_table() {
        let w = world();
        let (a, b) = (&w.a, w.b.address());
        let stranger = Wallet::from_seed(9);
        let tx = |wallet: &Wallet, to: Address, kind: TxKind, nonce| Transaction::new_signed(wallet, to, kind, nonce);
        let cases: Vec<(&str, Transaction, Result<(), TxError>)> = vec![
            ("transfer", tx(a, b, TxKind::Coins { amount: 10 * BCC }, 0), Ok(())),
            (
                "exactly spendable",
                tx(a, b, TxKind::Coins { amount: 87_378_640 }, 0),
                Ok(()), // 87.378640 + 2.621360 fee = 90
            ),
            (
                "one unit over",
                tx(a, b, TxKind::Coins { amount: 87_378_641 }, 0),
                Err(TxError::InsufficientBalance { needed: 90_000_001, available: 90 * BCC }),
            ),
            (
                "stake is not spendable",
                tx(a, b, TxKind::Coins { amount: 95 * BCC }, 0),
                Err(TxError::InsufficientBalance { needed: 97_850_000, available: 90 * BCC }),
            ),
            ("future nonce", tx(a, b, TxKind::Coins { amount: 1 }, 1), Err(TxError::BadNonce { expected: 0, got: 1 })),
            ("message", tx(a, b, TxKind::Message { text: "hello".into() }, 0), Ok(())),
            (
                "message too dear",
                tx(a, b, TxKind::Message { text: "x".repeat(91) }, 0),
                Err(TxError::InsufficientBalance { needed: 91 * BCC, available: 90 * BCC }),
            ),
            ("raise stake to balance", tx(a, b, TxKind::Stake { amount: 100 * BCC }, 0), Ok(())),
            (
                "stake above balance",
                tx(a, b, TxKind::Stake { amount: 101 * BCC }, 0),
                Err(TxError::InsufficientBalance { needed: 101 * BCC, available: 100 * BCC }),
            ),
            ("unstake while others stake", tx(a, b, TxKind::Stake { amount: 0 }, 0), Ok(())),
            (
                "unknown sender",
                tx(&stranger, b, TxKind::Coins { amount: 1 }, 0),
                Err(TxError::UnknownSender { sender: stranger.address() }),
            ),
            (
                "unknown receiver",
                tx(a, stranger.address(), TxKind::Coins { amount: 1 }, 0),
                Err(TxError::UnknownReceiver { receiver: stranger.address() }),
            ),
            ("form is checked too", tx(a, b, TxKind::Coins { amount: 0 }, 0), Err(TxError::ZeroAmount)),
        ];
        for (name, tx, want) in cases {
            assert_eq!(w.ledger.check(&tx), want, "{name}");
        }
    }

    #[test]
    fn the_last_staker_cannot_unstake() {
        let mut w = world();
        let (mut fees, mut undo) = (0, Undo::default());
        let unstake_a = Transaction::new_signed(&w.a, Address::ZERO, TxKind::Stake { amount: 0 }, 0);
        w.ledger.apply(&unstake_a, &mut fees, &mut undo).unwrap();
        let unstake_b = Transaction::new_signed(&w.b, Address::ZERO, TxKind::Stake { amount: 0 }, 0);
        assert_eq!(w.ledger.check(&unstake_b), Err(TxError::NoStakersLeft));
    }

    #[test]
    fn apply_moves_units_and_revert_restores_everything() {
        let mut w = world();
        let before: Vec<_> = w.ledger.accounts().map(|(a, x)| (*a, *x)).collect();
        let lottery_before = w.ledger.lottery().clone();
        let (mut fees, mut undo) = (0, Undo::default());
        let b = w.b.address();
        let txs = [
            Transaction::new_signed(&w.a, b, TxKind::Coins { amount: 10 * BCC }, 0),
            Transaction::new_signed(&w.a, b, TxKind::Message { text: "hi".into() }, 1),
            Transaction::new_signed(&w.b, Address::ZERO, TxKind::Stake { amount: 30 * BCC }, 0),
        ];
        for tx in &txs {
            w.ledger.apply(tx, &mut fees, &mut undo).unwrap();
        }
        assert_eq!(fees, 300_000 + 2 * BCC);
        w.ledger.credit(b, fees, &mut undo).unwrap();
        let acc_a = *w.ledger.account(&w.a.address()).unwrap();
        let acc_b = *w.ledger.account(&b).unwrap();
        assert_eq!(
            acc_a,
            Account { balance: 100 * BCC - 10 * BCC - 300_000 - 2 * BCC, stake: 10 * BCC, next_nonce: 2 }
        );
        assert_eq!(acc_b, Account { balance: 60 * BCC + fees, stake: 30 * BCC, next_nonce: 1 });
        let sum: u64 = w.ledger.accounts().map(|(_, x)| x.balance).sum();
        assert_eq!(sum, w.ledger.total_supply());
        assert_eq!(w.ledger.lottery().total_stake(), 40 * BCC);
        assert_eq!(w.ledger.apply(&txs[0], &mut fees, &mut undo), Err(TxError::BadNonce { expected: 2, got: 0 }));

        w.ledger.revert(undo);
        let after: Vec<_> = w.ledger.accounts().map(|(a, x)| (*a, *x)).collect();
        assert_eq!(after, before);
        assert_eq!(w.ledger.lottery(), &lottery_before);
    }
}
