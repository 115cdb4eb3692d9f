//! Rate-limited log lines: a flood of refused connections must not become a flood of warnings
//! (disk, terminal), yet each distinct complaint is still written and the operator learns how
//! many repeats were left out.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Distinct lines remembered; beyond this, lines share one allowance (an attacker choosing
/// its errors must not grow the map).
const KEYS: usize = 256;
/// The key lines share once the map is full.
const OVERFLOW: &str = "";

/// At most one line per key per `every`; the repeats skipped in between are counted.
#[derive(Debug)]
pub struct Throttle {
    every: Duration,
    seen: Mutex<BTreeMap<String, (Instant, u64)>>,
}

impl Throttle {
    /// A throttle letting each distinct line through once per `every`.
    pub const fn new(every: Duration) -> Throttle {
        Throttle { every, seen: Mutex::new(BTreeMap::new()) }
    }

    /// `Some(skipped)` when the line `key` may be written now (with how many repeats were
    /// skipped since it last was), `None` when it is to be skipped.
    pub fn allow(&self, key: &str, now: Instant) -> Option<u64> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if !seen.contains_key(key) && seen.len() >= KEYS {
            seen.retain(|_, (last, skipped)| now.duration_since(*last) < self.every || *skipped > 0);
        }
        let key = if seen.contains_key(key) || seen.len() < KEYS { key } else { OVERFLOW };
        match seen.get_mut(key) {
            Some((last, skipped)) if now.duration_since(*last) < self.every => {
                *skipped += 1;
                None
            }
            Some(entry) => {
                let skipped = entry.1;
                *entry = (now, 0);
                Some(skipped)
            }
            None => {
                seen.insert(key.to_string(), (now, 0));
                Some(0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_line_once_per_period_and_a_count_of_the_repeats() {
        let t = Throttle::new(Duration::from_secs(10));
        let t0 = Instant::now();
        let at = |s| t0 + Duration::from_secs(s);
        let got: Vec<Option<u64>> =
            [(0, "a"), (1, "a"), (1, "b"), (2, "a"), (9, "a"), (10, "a"), (11, "a"), (25, "a"), (26, "b")]
                .iter()
                .map(|&(s, k)| t.allow(k, at(s)))
                .collect();
        assert_eq!(got, vec![Some(0), None, Some(0), None, None, Some(3), None, Some(1), Some(0)]);
    }

    #[test]
    fn many_distinct_lines_share_one_allowance_past_the_limit() {
        let t = Throttle::new(Duration::from_secs(10));
        let now = Instant::now();
        let allowed = (0..10 * KEYS).filter(|k| t.allow(&k.to_string(), now).is_some()).count();
        assert_eq!(allowed, KEYS + 1);
        assert!(t.seen.lock().unwrap().len() <= KEYS + 1);
    }
}
