//! Generated transactions: a mix of coin transfers and messages to other nodes.

use blockchat_core::{Address, TxKind, TxRequest};
use rand_chacha::ChaCha8Rng;
use rand_core::Rng;
use rand_distr::{Distribution, Zipf};
use serde::{Deserialize, Serialize};

/// Who receives generated transactions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Receivers {
    /// Any other node, equally likely.
    Uniform,
    /// Node ranks drawn from a Zipf law with exponent `s` (a few popular receivers).
    Zipf {
        /// Exponent.
        s: f64,
    },
    /// The other nodes in turn.
    RoundRobin,
}

/// What generated transactions look like.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Mix {
    /// Share of coin transfers (the rest are messages).
    pub coin_fraction: f64,
    /// Transfer amounts in units, uniform in [min, max].
    pub amount_units: [u64; 2],
    /// Message lengths in characters, uniform in [min, max].
    pub message_chars: [usize; 2],
    /// Who receives.
    pub receivers: Receivers,
}

impl Default for Mix {
    /// Half transfers of 0.001–0.1 BCC, half messages of 1–3 letters, to any other node.
    fn default() -> Mix {
        Mix { coin_fraction: 0.5, amount_units: [1_000, 100_000], message_chars: [1, 3], receivers: Receivers::Uniform }
    }
}

impl Mix {
    /// Transfers of exactly `units` each to the other nodes in turn (the TCP benchmark's load).
    pub fn transfers(units: u64) -> Mix {
        Mix {
            coin_fraction: 1.0,
            amount_units: [units, units],
            message_chars: [1, 1],
            receivers: Receivers::RoundRobin,
        }
    }

    /// Generated transaction number `k` of node `me` among `members`.
    pub fn request(&self, k: usize, me: usize, members: &[Address], rng: &mut ChaCha8Rng) -> TxRequest {
        let others = members.len().saturating_sub(1).max(1);
        let pick = match self.receivers {
            Receivers::Uniform => (rng.next_u64() % others as u64) as usize,
            Receivers::Zipf { s } => Zipf::new(others as f64, s).map(|z| z.sample(rng) as usize - 1).unwrap_or(0),
            Receivers::RoundRobin => k % others,
        };
        let to = if pick >= me { pick + 1 } else { pick };
        let receiver = members.get(to).copied().unwrap_or(Address::ZERO);
        let kind = if unit(rng) < self.coin_fraction {
            let [lo, hi] = self.amount_units;
            TxKind::Coins { amount: lo + rng.next_u64() % (hi.saturating_sub(lo) + 1) }
        } else {
            let [lo, hi] = self.message_chars;
            let len = lo.max(1) + (rng.next_u64() % (hi.saturating_sub(lo) as u64 + 1)) as usize;
            TxKind::Message { text: (0..len).map(|_| (b'a' + (rng.next_u32() % 26) as u8) as char).collect() }
        };
        TxRequest { receiver, kind }
    }
}

/// A uniform draw in [0, 1) from 53 random bits.
pub fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use blockchat_core::Wallet;
    use rand_core::SeedableRng;

    #[test]
    fn mixes_respect_their_ranges_and_receivers() {
        let members: Vec<Address> = (0..4).map(|i| Wallet::from_seed(i).address()).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let zipf = Mix {
            coin_fraction: 0.25,
            amount_units: [5, 9],
            message_chars: [2, 4],
            receivers: Receivers::Zipf { s: 1.2 },
        };
        let (mut coins, mut to_first) = (0, 0);
        for k in 0..1_000 {
            let r = zipf.request(k, 3, &members, &mut rng);
            assert_ne!(r.receiver, members[3]);
            match r.kind {
                TxKind::Coins { amount } => {
                    assert!((5..=9).contains(&amount));
                    coins += 1;
                }
                TxKind::Message { text } => assert!((2..=4).contains(&text.len())),
                TxKind::Stake { .. } => panic!("no stakes"),
            }
            to_first += usize::from(r.receiver == members[0]);
        }
        assert!((180..320).contains(&coins), "{coins}");
        assert!(to_first > 1_000 / 3, "Zipf favours rank 1: {to_first}");
        let turn = Mix::transfers(1_000);
        let got: Vec<Address> = (0..6).map(|k| turn.request(k, 1, &members, &mut rng).receiver).collect();
        assert_eq!(got, vec![members[0], members[2], members[3], members[0], members[2], members[3]]);
    }
}
