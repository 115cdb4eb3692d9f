//! The stake-weighted validator lottery, seeded by the parent block's hash.

use std::sync::Arc;

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use sha2::{Digest, Sha256};

use crate::ids::{Address, BlockHash};

/// The stakers of one ledger state, sorted by address, with running stake totals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lottery {
    // Shared, never changed in place (a stake change builds a new lottery): copies of a ledger,
    // one per simulated node among them, share one list until a stake changes.
    stakers: Arc<[Address]>,
    // cumulative[i] = stake of stakers[0..=i]; strictly increasing.
    cumulative: Arc<[u64]>,
}

impl Lottery {
    /// The lottery over `stakes`; zero stakes are left out and order does not matter.
    pub fn new(stakes: impl IntoIterator<Item = (Address, u64)>) -> Lottery {
        let mut list: Vec<(Address, u64)> = stakes.into_iter().filter(|(_, s)| *s > 0).collect();
        list.sort_unstable_by_key(|(a, _)| *a);
        let mut total = 0u64;
        let (stakers, cumulative): (Vec<Address>, Vec<u64>) = list
            .into_iter()
            .map(|(a, s)| {
                total = total.saturating_add(s);
                (a, total)
            })
            .unzip();
        Lottery { stakers: stakers.into(), cumulative: cumulative.into() }
    }

    /// Sum of all stakes, in units.
    pub fn total_stake(&self) -> u64 {
        self.cumulative.last().copied().unwrap_or(0)
    }

    /// Number of addresses with a positive stake.
    pub fn len(&self) -> usize {
        self.stakers.len()
    }

    /// Whether nobody stakes (then no validator can be drawn).
    pub fn is_empty(&self) -> bool {
        self.stakers.is_empty()
    }

    /// Each staker with its stake, in address order.
    pub fn stakers(&self) -> impl Iterator<Item = (Address, u64)> + '_ {
        self.stakers.iter().zip(self.cumulative.iter()).scan(0u64, |prev, (a, c)| {
            let stake = c - *prev;
            *prev = *c;
            Some((*a, stake))
        })
    }

    /// The seed for `round` after `parent`: the parent hash itself for round 0, otherwise
    /// SHA-256(parent hash ‖ round as u64 big-endian).
    pub fn seed(parent: &BlockHash, round: u32) -> [u8; 32] {
        if round == 0 {
            return parent.0;
        }
        let mut h = Sha256::new();
        h.update(parent.0);
        h.update(u64::from(round).to_be_bytes());
        h.finalize().into()
    }

    /// The winning ticket in `[0, total)`: the first ChaCha20 output scaled by `total`.
    pub fn ticket(seed: [u8; 32], total: u64) -> u64 {
        let x = ChaCha20Rng::from_seed(seed).next_u64();
        ((u128::from(x) * u128::from(total)) >> 64) as u64
    }

    /// The validator of the block after `parent` in `round`: the first staker whose cumulative
    /// stake exceeds the ticket. `None` when nobody stakes.
    pub fn draw(&self, parent: &BlockHash, round: u32) -> Option<Address> {
        let total = self.total_stake();
        if total == 0 {
            return None;
        }
        let ticket = Lottery::ticket(Lottery::seed(parent, round), total);
        let i = self.cumulative.partition_point(|c| *c <= ticket);
        self.stakers.get(i).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(b: u8) -> Address {
        Address([b; 32])
    }

    #[test]
    fn empty_lottery_draws_nobody() {
        assert_eq!(Lottery::new([(addr(1), 0)]).draw(&BlockHash([1; 32]), 0), None);
    }

    #[test]
    fn single_staker_always_wins() {
        let l = Lottery::new([(addr(3), 10), (addr(4), 0)]);
        for r in 0..50 {
            assert_eq!(l.draw(&BlockHash([r as u8; 32]), r), Some(addr(3)));
        }
    }

    #[test]
    fn order_of_input_does_not_matter() {
        let a = Lottery::new([(addr(1), 5), (addr(9), 7), (addr(4), 1)]);
        let b = Lottery::new([(addr(9), 7), (addr(4), 1), (addr(1), 5)]);
        assert_eq!(a, b);
        assert_eq!(a.stakers().collect::<Vec<_>>(), vec![(addr(1), 5), (addr(4), 1), (addr(9), 7)]);
        assert_eq!(a.total_stake(), 13);
    }

    #[test]
    fn rounds_change_the_seed() {
        let p = BlockHash([7; 32]);
        assert_eq!(Lottery::seed(&p, 0), p.0);
        assert_ne!(Lottery::seed(&p, 1), Lottery::seed(&p, 2));
    }

    #[test]
    fn wins_track_stake_share() {
        // 100 against four stakes of 10: the big staker's share is 100/140 ≈ 71.4%.
        let l = Lottery::new([(addr(1), 100), (addr(2), 10), (addr(3), 10), (addr(4), 10), (addr(5), 10)]);
        let draws = 20_000u32;
        let wins = (0..draws)
            .filter(|i| {
                let parent = BlockHash(Sha256::digest(i.to_be_bytes()).into());
                l.draw(&parent, 0) == Some(addr(1))
            })
            .count();
        let share = wins as f64 / f64::from(draws);
        assert!((share - 100.0 / 140.0).abs() < 0.02, "share {share}");
    }
}
