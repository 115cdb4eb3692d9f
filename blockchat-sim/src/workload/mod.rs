//! What the simulated users submit and when: the course's files or a synthetic generator.

pub mod course;

use std::time::Duration;

use blockchat_core::{Address, TxKind, TxRequest};
use rand_chacha::ChaCha8Rng;
use rand_core::Rng;
use rand_distr::{Distribution, Exp, Zipf};

use crate::network::{millis, unit};
use crate::scenario::{Receivers, Think, Workload};
use course::{InputError, Line};

/// One node's stream of submissions.
#[derive(Debug, Clone)]
pub struct Feed {
    source: Source,
    /// Submissions handed out so far.
    pub sent: usize,
}

#[derive(Debug, Clone)]
enum Source {
    Course { lines: Vec<Line>, think: Think },
    Synthetic { remaining: usize, rate: Option<f64>, spec: Box<Workload> },
}

/// Every node's feed for a scenario's workload.
pub fn feeds(workload: &Workload, nodes: usize, rng: &mut ChaCha8Rng) -> Result<Vec<Feed>, InputError> {
    match workload {
        Workload::Course { inputs, lines, think } => {
            let files = match inputs {
                Some(dir) => course::read_dir(dir, nodes)?,
                None => course::generate(nodes, *lines, rng),
            };
            Ok(files
                .into_iter()
                .map(|lines| Feed { source: Source::Course { lines, think: *think }, sent: 0 })
                .collect())
        }
        Workload::Synthetic { count, rate_per_node, .. } => Ok((0..nodes)
            .map(|i| {
                let remaining = count / nodes + usize::from(i < count % nodes);
                let source = Source::Synthetic { remaining, rate: *rate_per_node, spec: Box::new(workload.clone()) };
                Feed { source, sent: 0 }
            })
            .collect()),
    }
}

impl Feed {
    /// Submissions this feed will make in all.
    pub fn total(&self) -> usize {
        self.sent
            + match &self.source {
                Source::Course { lines, .. } => lines.len() - self.sent,
                Source::Synthetic { remaining, .. } => *remaining,
            }
    }

    /// Whether the node waits for each transaction to resolve before the next (closed loop).
    pub fn closed_loop(&self) -> bool {
        matches!(self.source, Source::Synthetic { rate: None, .. })
    }

    /// The pause before the next submission (think time, or an exponential inter-arrival).
    pub fn gap(&self, rng: &mut ChaCha8Rng) -> Duration {
        match &self.source {
            Source::Course { think, .. } => millis(think.min_ms + (think.max_ms - think.min_ms) * unit(rng)),
            Source::Synthetic { rate: Some(r), .. } => {
                Exp::new(*r).map(|d| Duration::from_secs_f64(d.sample(rng))).unwrap_or_default()
            }
            Source::Synthetic { rate: None, .. } => Duration::ZERO,
        }
    }

    /// The next submission of node `me`, or `None` when the feed is exhausted.
    pub fn next(&mut self, me: usize, addresses: &[Address], rng: &mut ChaCha8Rng) -> Option<TxRequest> {
        let request = match &mut self.source {
            Source::Course { lines, .. } => {
                let line = lines.get(self.sent)?;
                TxRequest { receiver: addresses[line.to], kind: TxKind::Message { text: line.text.clone() } }
            }
            Source::Synthetic { remaining, spec, .. } => {
                if *remaining == 0 {
                    return None;
                }
                *remaining -= 1;
                synthetic(spec, me, addresses, rng)?
            }
        };
        self.sent += 1;
        Some(request)
    }
}

fn synthetic(spec: &Workload, me: usize, addresses: &[Address], rng: &mut ChaCha8Rng) -> Option<TxRequest> {
    let Workload::Synthetic { coin_fraction, amount_units, message_chars, receivers, .. } = spec else {
        return None;
    };
    let others = addresses.len() - 1;
    let pick = match receivers {
        Receivers::Uniform => (rng.next_u64() % others as u64) as usize,
        Receivers::Zipf { s } => Zipf::new(others as f64, *s).map(|z| z.sample(rng) as usize - 1).unwrap_or(0),
    };
    let to = if pick >= me { pick + 1 } else { pick };
    let kind = if unit(rng) < *coin_fraction {
        let [lo, hi] = *amount_units;
        TxKind::Coins { amount: lo + rng.next_u64() % (hi.saturating_sub(lo) + 1) }
    } else {
        let [lo, hi] = *message_chars;
        let len = lo.max(1) + (rng.next_u64() % (hi.saturating_sub(lo) as u64 + 1)) as usize;
        TxKind::Message { text: (0..len).map(|_| (b'a' + (rng.next_u32() % 26) as u8) as char).collect() }
    };
    Some(TxRequest { receiver: addresses[to], kind })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::{Stream, rng};
    use blockchat_core::Wallet;

    #[test]
    fn synthetic_feeds_split_the_count_and_respect_the_mix() {
        let spec = Workload::Synthetic {
            rate_per_node: Some(10.0),
            count: 1_003,
            coin_fraction: 0.25,
            amount_units: [5, 9],
            message_chars: [2, 4],
            receivers: Receivers::Zipf { s: 1.2 },
        };
        let addrs: Vec<Address> = (0..4).map(|i| Wallet::from_seed(i).address()).collect();
        let mut r = rng(1, Stream::Workload);
        let mut all = feeds(&spec, 4, &mut r).unwrap();
        assert_eq!(all.iter().map(Feed::total).collect::<Vec<_>>(), vec![251, 251, 251, 250]);
        let mut coins = 0;
        let mut to_first = 0;
        while let Some(req) = all[3].next(3, &addrs, &mut r) {
            assert_ne!(req.receiver, addrs[3]);
            match req.kind {
                TxKind::Coins { amount } => {
                    assert!((5..=9).contains(&amount));
                    coins += 1;
                }
                TxKind::Message { text } => assert!((2..=4).contains(&text.len())),
                TxKind::Stake { .. } => unreachable!(),
            }
            to_first += usize::from(req.receiver == addrs[0]);
        }
        assert_eq!(all[3].sent, 250);
        assert!((40..90).contains(&coins), "{coins}");
        assert!(to_first > 250 / 3, "Zipf favours rank 1: {to_first}");
        assert!(!all[0].closed_loop());
        let gaps: f64 = (0..1000).map(|_| all[0].gap(&mut r).as_secs_f64()).sum::<f64>() / 1000.0;
        assert!((gaps - 0.1).abs() < 0.01, "mean gap {gaps}");
    }
}
