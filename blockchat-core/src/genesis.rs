//! The genesis block: the network's parameters, the first coins and stakes, built from a
//! configuration every node shares.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::block::{Block, GENESIS_PREVIOUS_HASH};
use crate::error::GenesisError;
use crate::ids::{Address, Signature};
use crate::ledger::{Account, Ledger};
use crate::params::NetworkParams;
use crate::signature::is_valid_public_key;
use crate::time::Time;
use crate::transaction::{Transaction, TxKind};

/// Genesis transactions carry nonce `GENESIS_NONCE_BASE + position`, a range no real account
/// reaches, so no later transaction can share a genesis transaction's id.
pub const GENESIS_NONCE_BASE: u64 = 1 << 63;

/// One account's starting stake; every account starts with the network's initial balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisAccount {
    /// The account's address.
    pub address: Address,
    /// Starting stake, in units (at most the initial balance).
    pub stake: u64,
}

/// What the genesis block records. The first account is the bootstrap node (node 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    /// The network's rules.
    pub params: NetworkParams,
    /// Accounts in node-id order; the first is the bootstrap.
    pub accounts: Vec<GenesisAccount>,
    /// The genesis block's timestamp.
    pub timestamp: Time,
}

impl Genesis {
    /// A network under `params` whose accounts stake `stake` units each.
    pub fn course(params: NetworkParams, addresses: &[Address], stake: u64) -> Genesis {
        Genesis::with_stakes(params, addresses.iter().map(|a| (*a, stake)))
    }

    /// A network under `params` with a stake per account (the fairness experiment gives one
    /// node 100 BCC), stamped at time 0.
    pub fn with_stakes(params: NetworkParams, stakes: impl IntoIterator<Item = (Address, u64)>) -> Genesis {
        let accounts = stakes.into_iter().map(|(address, stake)| GenesisAccount { address, stake }).collect();
        Genesis { params, accounts, timestamp: Time::ZERO }
    }

    /// Checks the configuration: valid parameters, accounts present, distinct, valid keys,
    /// stake ≤ balance, someone staking, supply within a u64.
    pub fn validate(&self) -> Result<(), GenesisError> {
        self.params.validate()?;
        if self.accounts.is_empty() {
            return Err(GenesisError::NoAccounts);
        }
        let balance = self.params.initial_balance;
        let mut seen = std::collections::BTreeSet::new();
        for acc in &self.accounts {
            if !seen.insert(acc.address) {
                return Err(GenesisError::DuplicateAddress { address: acc.address });
            }
            if !is_valid_public_key(&acc.address) {
                return Err(GenesisError::InvalidKey { address: acc.address });
            }
            if acc.stake > balance {
                return Err(GenesisError::StakeAboveBalance { address: acc.address, stake: acc.stake, balance });
            }
        }
        balance.checked_mul(self.accounts.len() as u64).ok_or(GenesisError::SupplyOverflow)?;
        if self.accounts.iter().all(|a| a.stake == 0) {
            return Err(GenesisError::NoStake);
        }
        Ok(())
    }

    /// The genesis block: the parameter record (a message from address 0 to address 0 whose
    /// text is [`NetworkParams::record`]), a mint of the whole supply from address 0 to the
    /// bootstrap, a fee-free transfer of the initial balance from the bootstrap to every other
    /// account, then every stake. Each transaction's nonce is `GENESIS_NONCE_BASE` plus its
    /// position; signatures are zero (genesis is trusted by hash).
    pub fn block(&self) -> Result<Block, GenesisError> {
        self.validate()?;
        let bootstrap = self.accounts[0].address;
        let balance = self.params.initial_balance;
        let supply = balance * self.accounts.len() as u64;
        let mut txs = Vec::with_capacity(2 * self.accounts.len() + 1);
        let mut push = |sender, receiver, kind| {
            let nonce = GENESIS_NONCE_BASE + txs.len() as u64;
            txs.push(Arc::new(Transaction::from_parts(sender, receiver, kind, nonce, Signature::ZERO)));
        };
        push(Address::ZERO, Address::ZERO, TxKind::Message { text: self.params.record() });
        push(Address::ZERO, bootstrap, TxKind::Coins { amount: supply });
        for acc in &self.accounts[1..] {
            push(bootstrap, acc.address, TxKind::Coins { amount: balance });
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
        let record = txs.next().ok_or(not("no transactions"))?;
        let TxKind::Message { text } = record.kind() else {
            return Err(not("the first transaction is not the parameter record"));
        };
        let params = NetworkParams::from_record(text)?;
        let mint = txs.next().ok_or(not("no mint"))?;
        if !matches!(mint.kind(), TxKind::Coins { .. }) {
            return Err(not("the second transaction is not a mint"));
        }
        let bootstrap = mint.receiver();
        let mut accounts = vec![GenesisAccount { address: bootstrap, stake: 0 }];
        let mut stakes = Vec::new();
        for tx in txs {
            match (tx.kind(), tx.sender() == bootstrap) {
                (TxKind::Coins { .. }, true) if stakes.is_empty() => {
                    accounts.push(GenesisAccount { address: tx.receiver(), stake: 0 });
                }
                (TxKind::Stake { amount }, _) => stakes.push((tx.sender(), *amount)),
                _ => return Err(not("unexpected transaction")),
            }
        }
        for (address, stake) in stakes {
            let acc = accounts.iter_mut().find(|a| a.address == address).ok_or(not("stake from an unknown account"))?;
            acc.stake = stake;
        }
        let genesis = Genesis { params, accounts, timestamp: block.timestamp() };
        if genesis.block()? != *block {
            return Err(not("the block differs from the one its configuration builds"));
        }
        Ok(genesis)
    }

    /// The ledger right after genesis.
    pub fn ledger(&self) -> Result<Ledger, GenesisError> {
        self.validate()?;
        let balance = self.params.initial_balance;
        let accounts: BTreeMap<Address, Account> =
            self.accounts.iter().map(|a| (a.address, Account { balance, stake: a.stake, next_nonce: 0 })).collect();
        Ok(Ledger::from_accounts(accounts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amount::UNITS_PER_BCC;
    use crate::params::ParamsError;
    use crate::wallet::Wallet;

    fn addresses(n: u64) -> Vec<Address> {
        (0..n).map(|i| Wallet::from_seed(i).address()).collect()
    }

    #[test]
    fn course_genesis_records_the_rules_and_gives_1000_each() {
        let addrs = addresses(5);
        let g = Genesis::course(NetworkParams::new(5), &addrs, 10 * UNITS_PER_BCC);
        let block = g.block().unwrap();
        assert_eq!(block.index(), 0);
        assert_eq!(block.previous_hash(), GENESIS_PREVIOUS_HASH);
        assert_eq!(block.transactions().len(), 1 + 1 + 4 + 5);
        let record = &block.transactions()[0];
        assert_eq!(record.kind(), &TxKind::Message { text: NetworkParams::new(5).record() });
        let mint = &block.transactions()[1];
        assert_eq!((mint.sender(), mint.receiver()), (Address::ZERO, addrs[0]));
        assert_eq!(mint.kind(), &TxKind::Coins { amount: 5_000 * UNITS_PER_BCC });
        let ledger = g.ledger().unwrap();
        for a in &addrs {
            let acc = ledger.account(a).unwrap();
            assert_eq!((acc.balance, acc.stake, acc.next_nonce), (1_000 * UNITS_PER_BCC, 10 * UNITS_PER_BCC, 0));
        }
        assert_eq!(ledger.total_supply(), 5_000 * UNITS_PER_BCC);
        assert_eq!(Genesis::from_block(&block), Ok(g.clone()));
        // Other rules, another network: the hash names the parameters too.
        let partial = Genesis { params: g.params.with_block_interval(Some(std::time::Duration::from_secs(1))), ..g };
        assert_ne!(partial.block().unwrap().hash(), block.hash());
        assert_eq!(Genesis::from_block(&partial.block().unwrap()), Ok(partial));
    }

    #[test]
    fn invalid_configurations_table() {
        let addrs = addresses(3);
        let acc = |address, stake| GenesisAccount { address, stake };
        let five = NetworkParams { initial_balance: 5, ..NetworkParams::new(5) };
        let huge = NetworkParams { initial_balance: u64::MAX, ..NetworkParams::new(5) };
        let cases = [
            (five, vec![], GenesisError::NoAccounts),
            (five, vec![acc(addrs[0], 1), acc(addrs[0], 1)], GenesisError::DuplicateAddress { address: addrs[0] }),
            (five, vec![acc(Address::ZERO, 1)], GenesisError::InvalidKey { address: Address::ZERO }),
            (five, vec![acc(addrs[0], 6)], GenesisError::StakeAboveBalance { address: addrs[0], stake: 6, balance: 5 }),
            (five, vec![acc(addrs[0], 0), acc(addrs[1], 0)], GenesisError::NoStake),
            (huge, vec![acc(addrs[0], 1), acc(addrs[1], 1)], GenesisError::SupplyOverflow),
            (
                NetworkParams { capacity: 0, ..five },
                vec![acc(addrs[0], 1)],
                GenesisError::Params(ParamsError::ZeroCapacity),
            ),
        ];
        for (params, accounts, want) in cases {
            let g = Genesis { params, accounts, timestamp: Time::ZERO };
            assert_eq!(g.block(), Err(want.clone()));
            assert_eq!(g.ledger().err(), Some(want));
        }
    }

    #[test]
    fn a_tampered_genesis_block_is_refused() {
        let g = Genesis::course(NetworkParams::new(5), &addresses(3), 10);
        let block = g.block().unwrap();
        let rebuilt = |txs: Vec<Arc<Transaction>>, signature| {
            Block::from_parts(0, block.timestamp(), 0, Address::ZERO, GENESIS_PREVIOUS_HASH, txs, signature)
        };
        let mut txs = block.transactions().to_vec();
        txs.swap(2, 3);
        // Nonces are positions, so reordering breaks canonical form.
        assert!(matches!(Genesis::from_block(&rebuilt(txs, Signature::ZERO)), Err(GenesisError::NotCanonical(_))));
        let mut txs = block.transactions().to_vec();
        txs.remove(0);
        assert!(matches!(Genesis::from_block(&rebuilt(txs, Signature::ZERO)), Err(GenesisError::NotCanonical(_))));
        let mut txs = block.transactions().to_vec();
        let other = NetworkParams::new(6).record();
        txs[0] = Arc::new(Transaction::from_parts(
            Address::ZERO,
            Address::ZERO,
            TxKind::Message { text: other },
            GENESIS_NONCE_BASE,
            Signature::ZERO,
        ));
        // Another record makes another network's genesis, with another hash.
        assert!(Genesis::from_block(&rebuilt(txs, Signature::ZERO)).is_ok_and(|g| g.params.capacity == 6));
        let signed = rebuilt(block.transactions().to_vec(), Signature([1; 64]));
        assert!(matches!(Genesis::from_block(&signed), Err(GenesisError::NotCanonical(_))));
    }
}
