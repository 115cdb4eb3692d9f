//! The genesis block: the first coins and stakes, built from a configuration every node shares.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::amount::UNITS_PER_BCC;
use crate::block::{Block, GENESIS_PREVIOUS_HASH};
use crate::error::GenesisError;
use crate::ids::{Address, Signature};
use crate::ledger::{Account, Ledger};
use crate::signature::is_valid_public_key;
use crate::time::Time;
use crate::transaction::{Transaction, TxKind};

/// BCC each node starts with in the course's setting.
pub const COURSE_START_BCC: u64 = 1_000;
/// Genesis transactions carry nonce `GENESIS_NONCE_BASE + position`, a range no real account
/// reaches, so no later transaction can share a genesis transaction's id.
pub const GENESIS_NONCE_BASE: u64 = 1 << 63;

/// One account's starting balance and stake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisAccount {
    /// The account's address.
    pub address: Address,
    /// Starting balance, in units.
    pub balance: u64,
    /// Starting stake, in units (at most the balance).
    pub stake: u64,
}

/// What the genesis block grants. The first account is the bootstrap node (node 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    /// Accounts in node-id order; the first is the bootstrap.
    pub accounts: Vec<GenesisAccount>,
    /// The genesis block's timestamp.
    pub timestamp: Time,
}

impl Genesis {
    /// The course's start: 1000 BCC and `stake` units of stake for every node.
    pub fn course(addresses: &[Address], stake: u64) -> Genesis {
        Genesis::with_stakes(addresses.iter().map(|a| (*a, stake)))
    }

    /// 1000 BCC each, with a stake per node (the fairness experiment gives one node 100 BCC).
    pub fn with_stakes(stakes: impl IntoIterator<Item = (Address, u64)>) -> Genesis {
        let accounts = stakes
            .into_iter()
            .map(|(address, stake)| GenesisAccount { address, balance: COURSE_START_BCC * UNITS_PER_BCC, stake })
            .collect();
        Genesis { accounts, timestamp: Time::ZERO }
    }

    /// Checks the configuration: accounts present, distinct, valid keys, stake ≤ balance,
    /// someone staking, supply within a u64.
    pub fn validate(&self) -> Result<(), GenesisError> {
        if self.accounts.is_empty() {
            return Err(GenesisError::NoAccounts);
        }
        let mut seen = std::collections::BTreeSet::new();
        let mut supply = 0u64;
        for acc in &self.accounts {
            if !seen.insert(acc.address) {
                return Err(GenesisError::DuplicateAddress { address: acc.address });
            }
            if !is_valid_public_key(&acc.address) {
                return Err(GenesisError::InvalidKey { address: acc.address });
            }
            if acc.stake > acc.balance {
                return Err(GenesisError::StakeAboveBalance {
                    address: acc.address,
                    stake: acc.stake,
                    balance: acc.balance,
                });
            }
            supply = supply.checked_add(acc.balance).ok_or(GenesisError::SupplyOverflow)?;
        }
        if self.accounts.iter().all(|a| a.stake == 0) {
            return Err(GenesisError::NoStake);
        }
        Ok(())
    }

    /// The genesis block: a mint of the whole supply from address 0 to the bootstrap, a
    /// fee-free transfer from the bootstrap to every other account, then every stake. Each
    /// transaction's nonce is `GENESIS_NONCE_BASE` plus its position; signatures are zero
    /// (genesis is trusted by hash).
    pub fn block(&self) -> Result<Block, GenesisError> {
        self.validate()?;
        let bootstrap = self.accounts[0].address;
        let supply = self.accounts.iter().map(|a| a.balance).sum();
        let mut txs = Vec::with_capacity(2 * self.accounts.len());
        let mut push = |sender, receiver, kind| {
            let nonce = GENESIS_NONCE_BASE + txs.len() as u64;
            txs.push(Arc::new(Transaction::from_parts(sender, receiver, kind, nonce, Signature::ZERO)));
        };
        push(Address::ZERO, bootstrap, TxKind::Coins { amount: supply });
        for acc in &self.accounts[1..] {
            push(bootstrap, acc.address, TxKind::Coins { amount: acc.balance });
        }
        for acc in self.accounts.iter().filter(|a| a.stake > 0) {
            push(acc.address, Address::ZERO, TxKind::Stake { amount: acc.stake });
        }
        Ok(Block::from_parts(0, self.timestamp, 0, Address::ZERO, GENESIS_PREVIOUS_HASH, txs, Signature::ZERO))
    }

    /// Reads the configuration back from a genesis block, accepting only the canonical block.
    pub fn from_block(block: &Block) -> Result<Genesis, GenesisError> {
        let not = GenesisError::NotCanonical;
        let mut txs = block.transactions().iter();
        let mint = txs.next().ok_or(not("no transactions"))?;
        let TxKind::Coins { amount: supply } = *mint.kind() else {
            return Err(not("the first transaction is not a mint"));
        };
        let bootstrap = mint.receiver();
        let mut accounts = vec![GenesisAccount { address: bootstrap, balance: supply, stake: 0 }];
        let mut stakes = Vec::new();
        for tx in txs {
            match (tx.kind(), tx.sender() == bootstrap) {
                (TxKind::Coins { amount }, true) if stakes.is_empty() => {
                    accounts[0].balance =
                        accounts[0].balance.checked_sub(*amount).ok_or(not("transfers exceed the mint"))?;
                    accounts.push(GenesisAccount { address: tx.receiver(), balance: *amount, stake: 0 });
                }
                (TxKind::Stake { amount }, _) => stakes.push((tx.sender(), *amount)),
                _ => return Err(not("unexpected transaction")),
            }
        }
        for (address, stake) in stakes {
            let acc = accounts.iter_mut().find(|a| a.address == address).ok_or(not("stake from an unknown account"))?;
            acc.stake = stake;
        }
        let genesis = Genesis { accounts, timestamp: block.timestamp() };
        if genesis.block()? != *block {
            return Err(not("the block differs from the one its configuration builds"));
        }
        Ok(genesis)
    }

    /// The ledger right after genesis.
    pub fn ledger(&self) -> Result<Ledger, GenesisError> {
        self.validate()?;
        let accounts: BTreeMap<Address, Account> = self
            .accounts
            .iter()
            .map(|a| (a.address, Account { balance: a.balance, stake: a.stake, next_nonce: 0 }))
            .collect();
        Ok(Ledger::from_accounts(accounts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wallet::Wallet;

    fn addresses(n: u64) -> Vec<Address> {
        (0..n).map(|i| Wallet::from_seed(i).address()).collect()
    }

    #[test]
    fn course_genesis_gives_1000_each_and_stakes() {
        let addrs = addresses(5);
        let g = Genesis::course(&addrs, 10 * UNITS_PER_BCC);
        let block = g.block().unwrap();
        assert_eq!(block.index(), 0);
        assert_eq!(block.previous_hash(), GENESIS_PREVIOUS_HASH);
        assert_eq!(block.transactions().len(), 1 + 4 + 5);
        let mint = &block.transactions()[0];
        assert_eq!((mint.sender(), mint.receiver()), (Address::ZERO, addrs[0]));
        assert_eq!(mint.kind(), &TxKind::Coins { amount: 5_000 * UNITS_PER_BCC });
        let ledger = g.ledger().unwrap();
        for a in &addrs {
            let acc = ledger.account(a).unwrap();
            assert_eq!((acc.balance, acc.stake, acc.next_nonce), (1_000 * UNITS_PER_BCC, 10 * UNITS_PER_BCC, 0));
        }
        assert_eq!(ledger.total_supply(), 5_000 * UNITS_PER_BCC);
        assert_eq!(Genesis::from_block(&block), Ok(g));
    }

    #[test]
    fn invalid_configurations_table() {
        let addrs = addresses(3);
        let acc = |address, balance, stake| GenesisAccount { address, balance, stake };
        let cases = [
            (vec![], GenesisError::NoAccounts),
            (vec![acc(addrs[0], 5, 1), acc(addrs[0], 5, 1)], GenesisError::DuplicateAddress { address: addrs[0] }),
            (vec![acc(Address::ZERO, 5, 1)], GenesisError::InvalidKey { address: Address::ZERO }),
            (vec![acc(addrs[0], 5, 6)], GenesisError::StakeAboveBalance { address: addrs[0], stake: 6, balance: 5 }),
            (vec![acc(addrs[0], 5, 0), acc(addrs[1], 5, 0)], GenesisError::NoStake),
            (vec![acc(addrs[0], u64::MAX, 1), acc(addrs[1], 1, 1)], GenesisError::SupplyOverflow),
        ];
        for (accounts, want) in cases {
            let g = Genesis { accounts, timestamp: Time::ZERO };
            assert_eq!(g.block(), Err(want.clone()));
            assert_eq!(g.ledger().err(), Some(want));
        }
    }

    #[test]
    fn a_tampered_genesis_block_is_refused() {
        let g = Genesis::course(&addresses(3), 10);
        let block = g.block().unwrap();
        let mut txs = block.transactions().to_vec();
        txs.swap(1, 2);
        let swapped =
            Block::from_parts(0, block.timestamp(), 0, Address::ZERO, GENESIS_PREVIOUS_HASH, txs, Signature::ZERO);
        // Nonces are positions, so reordering breaks canonical form.
        assert!(matches!(Genesis::from_block(&swapped), Err(GenesisError::NotCanonical(_))));
        let mut txs = block.transactions().to_vec();
        txs.remove(0);
        let no_mint =
            Block::from_parts(0, block.timestamp(), 0, Address::ZERO, GENESIS_PREVIOUS_HASH, txs, Signature::ZERO);
        assert!(matches!(Genesis::from_block(&no_mint), Err(GenesisError::NotCanonical(_))));
        let signed = Block::from_parts(
            0,
            block.timestamp(),
            0,
            Address::ZERO,
            GENESIS_PREVIOUS_HASH,
            block.transactions().to_vec(),
            Signature([1; 64]),
        );
        assert!(matches!(Genesis::from_block(&signed), Err(GenesisError::NotCanonical(_))));
    }
}
