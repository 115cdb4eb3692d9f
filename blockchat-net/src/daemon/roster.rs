//! The network's description: every member's id, address and key, and the genesis block, which
//! records the network's parameters. The bootstrap builds it; every node validates it with the
//! core before use.

use std::collections::HashMap;

use blockchat_core::codec::DecodeError;
use blockchat_core::{Address, Block, BlockHash, Genesis, GenesisError, NetworkParams, Time};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// One node of the network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Its id: 0 for the bootstrap, then 1..n−1 in join order.
    pub id: u32,
    /// Its public key (address).
    pub key: Address,
    /// Where to dial it (`host:port`).
    pub address: String,
    /// Its stake in the genesis, in units.
    pub stake: u64,
}

/// What the bootstrap sends every node once all have joined; also stored in the data dir.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkInfo {
    /// Every node, in id order.
    pub members: Vec<Member>,
    /// The genesis block's canonical encoding, in hex.
    pub genesis: String,
}

/// Why a network description is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RosterError {
    /// The genesis is not hex.
    #[error("the genesis block is not valid hex")]
    GenesisNotHex,
    /// The genesis bytes do not decode.
    #[error("the genesis block does not decode: {0}")]
    GenesisDecode(#[from] DecodeError),
    /// The core refuses the genesis.
    #[error("the genesis block is invalid: {0}")]
    Genesis(#[from] GenesisError),
    /// Ids are not 0, 1, 2, … in order.
    #[error("member {position} has id {id}; ids must be 0..n in order")]
    BadIds {
        /// Position in the list.
        position: usize,
        /// The id found.
        id: u32,
    },
    /// The roster and the genesis disagree about a member.
    #[error("node {id}'s key or stake differs between the roster and the genesis")]
    GenesisMismatch {
        /// The member's id.
        id: u32,
    },
    /// Our own key is not in the roster.
    #[error("this node's key {0} is not in the roster")]
    NotAMember(Address),
}

impl NetworkInfo {
    /// Builds the description and its genesis under `params`, with each member's stake.
    pub fn build(params: NetworkParams, members: Vec<Member>, timestamp: Time) -> Result<NetworkInfo, RosterError> {
        let mut genesis = Genesis::with_stakes(params, members.iter().map(|m| (m.key, m.stake)));
        genesis.timestamp = timestamp;
        let block = genesis.block()?;
        Ok(NetworkInfo { members, genesis: hex::encode(block.encode()) })
    }
}

/// A validated network description, indexed.
#[derive(Debug, Clone)]
pub struct Roster {
    /// The description as received.
    pub info: NetworkInfo,
    /// The decoded genesis block.
    pub genesis: Block,
    /// The network's parameters, as the genesis records them.
    pub params: NetworkParams,
    /// This node's id.
    pub me: u32,
    by_key: HashMap<Address, u32>,
}

impl Roster {
    /// Validates `info` for the node holding `me`: the genesis decodes and is canonical (the
    /// core rebuilds it), its accounts are the members in id order with their stakes.
    pub fn new(info: NetworkInfo, me: Address) -> Result<Roster, RosterError> {
        let bytes = hex::decode(&info.genesis).map_err(|_| RosterError::GenesisNotHex)?;
        let genesis = Block::decode(&bytes)?;
        let config = Genesis::from_block(&genesis)?;
        for (position, m) in info.members.iter().enumerate() {
            if m.id as usize != position {
                return Err(RosterError::BadIds { position, id: m.id });
            }
        }
        if config.accounts.len() != info.members.len() {
            return Err(RosterError::GenesisMismatch { id: info.members.len().min(config.accounts.len()) as u32 });
        }
        for (m, acc) in info.members.iter().zip(&config.accounts) {
            if m.key != acc.address || m.stake != acc.stake {
                return Err(RosterError::GenesisMismatch { id: m.id });
            }
        }
        let by_key: HashMap<Address, u32> = info.members.iter().map(|m| (m.key, m.id)).collect();
        let me = *by_key.get(&me).ok_or(RosterError::NotAMember(me))?;
        Ok(Roster { info, genesis, params: config.params, me, by_key })
    }

    /// The genesis hash, which names the network.
    pub fn genesis_hash(&self) -> BlockHash {
        self.genesis.hash()
    }
    /// The id of the member holding `key`.
    pub fn id_of(&self, key: &Address) -> Option<u32> {
        self.by_key.get(key).copied()
    }
    /// The member with id `id`.
    pub fn member(&self, id: u32) -> Option<&Member> {
        self.info.members.get(id as usize)
    }
    /// Every member.
    pub fn members(&self) -> &[Member] {
        &self.info.members
    }
    /// How many nodes the network has.
    pub fn len(&self) -> usize {
        self.info.members.len()
    }
    /// Whether the roster is empty (never, once validated).
    pub fn is_empty(&self) -> bool {
        self.info.members.is_empty()
    }
    /// Every member's key, by id.
    pub fn keys(&self) -> Vec<Address> {
        self.info.members.iter().map(|m| m.key).collect()
    }
    /// A short label for a key: `node 3`, or the key's short hex if it is not a member.
    pub fn label(&self, key: &Address) -> String {
        match self.id_of(key) {
            Some(id) => format!("node {id}"),
            None if key.is_zero() => "address 0".to_string(),
            None => key.short(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use blockchat_core::Wallet;

    fn members(n: u32) -> Vec<Member> {
        (0..n)
            .map(|id| Member {
                id,
                key: Wallet::from_seed(u64::from(id)).address(),
                address: format!("127.0.0.{}:7000", id + 1),
                stake: 10_000_000,
            })
            .collect()
    }

    #[test]
    fn roster_validation_table() {
        let good = NetworkInfo::build(NetworkParams::new(5), members(3), Time(1)).unwrap();
        let me = good.members[1].key;
        let r = Roster::new(good.clone(), me).unwrap();
        assert_eq!((r.me, r.len(), r.params.capacity), (1, 3, 5));
        assert_eq!(r.label(&good.members[2].key), "node 2");

        let mut swapped = good.clone();
        swapped.members.swap(1, 2);
        let mut renumbered = swapped.clone();
        renumbered.members[1].id = 1;
        renumbered.members[2].id = 2;
        let mut stake = good.clone();
        stake.members[2].stake = 1;
        let cases: Vec<(NetworkInfo, Address, RosterError)> = vec![
            (NetworkInfo { genesis: "zz".into(), ..good.clone() }, me, RosterError::GenesisNotHex),
            (swapped, me, RosterError::BadIds { position: 1, id: 2 }),
            (renumbered, me, RosterError::GenesisMismatch { id: 1 }),
            (stake, me, RosterError::GenesisMismatch { id: 2 }),
            (good.clone(), Wallet::from_seed(99).address(), RosterError::NotAMember(Wallet::from_seed(99).address())),
        ];
        for (info, me, want) in cases {
            assert_eq!(Roster::new(info, me).err(), Some(want));
        }
        let mut truncated = good;
        truncated.genesis.truncate(40);
        assert!(matches!(Roster::new(truncated, me), Err(RosterError::GenesisDecode(_))));
    }
}
