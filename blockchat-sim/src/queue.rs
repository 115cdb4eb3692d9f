//! The event queue: ordered by (time, sequence), so events at equal times run in the order they
//! were scheduled. Keys only grow (nothing is scheduled before the event being run), so it is a
//! radix heap over the 128-bit key `time · 2⁶⁴ + sequence`: buckets by the highest bit in which a
//! key differs from the last one taken, each key moving down at most 128 times. Payloads live in
//! a slab; buckets hold 24-byte keys.

use blockchat_core::Time;

/// A time-ordered queue of `E`.
#[derive(Debug)]
pub struct Queue<E> {
    last: u128,
    buckets: Vec<Vec<(u128, u32)>>,
    // Bit i set when bucket i (0..128) is non-empty; bucket 128 is checked directly.
    nonempty: u128,
    len: usize,
    slots: Vec<Option<E>>,
    free: Vec<u32>,
    seq: u64,
}

impl<E> Default for Queue<E> {
    fn default() -> Self {
        Queue {
            last: 0,
            buckets: (0..129).map(|_| Vec::new()).collect(),
            nonempty: 0,
            len: 0,
            slots: Vec::new(),
            free: Vec::new(),
            seq: 0,
        }
    }
}

fn bucket(key: u128, last: u128) -> usize {
    128 - (key ^ last).leading_zeros() as usize
}

impl<E> Queue<E> {
    /// Schedules `event` at `at`, after everything already scheduled at `at`. Times earlier
    /// than the last event taken are moved up to it (the queue never runs backwards).
    pub fn push(&mut self, at: Time, event: E) {
        let slot = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(event);
                i
            }
            None => {
                self.slots.push(Some(event));
                (self.slots.len() - 1) as u32
            }
        };
        let key = (u128::from(at.as_nanos()) << 64 | u128::from(self.seq)).max(self.last);
        self.seq += 1;
        self.put(key, slot);
        self.len += 1;
    }

    fn put(&mut self, key: u128, slot: u32) {
        let b = bucket(key, self.last);
        self.buckets[b].push((key, slot));
        if b < 128 {
            self.nonempty |= 1 << b;
        }
    }

    /// Makes bucket 0 hold the smallest key, if any.
    fn settle(&mut self) -> bool {
        if self.nonempty & 1 == 1 {
            return true;
        }
        let i = match self.nonempty {
            0 if self.buckets[128].is_empty() => return false,
            0 => 128,
            mask => mask.trailing_zeros() as usize,
        };
        let mut moving = std::mem::take(&mut self.buckets[i]);
        if i < 128 {
            self.nonempty &= !(1 << i);
        }
        self.last = moving.iter().map(|(k, _)| *k).min().unwrap_or(self.last);
        for (k, slot) in moving.drain(..) {
            self.put(k, slot);
        }
        // Keep the emptied bucket's allocation for its next use.
        self.buckets[i] = moving;
        true
    }

    /// The time of the next event.
    pub fn peek_time(&mut self) -> Option<Time> {
        if !self.settle() {
            return None;
        }
        self.buckets[0].first().map(|(k, _)| Time((k >> 64) as u64))
    }

    /// Takes the next event.
    pub fn pop(&mut self) -> Option<(Time, E)> {
        if !self.settle() {
            return None;
        }
        // Keys are unique (the sequence number), so bucket 0 holds exactly one.
        let (key, slot) = self.buckets[0].pop()?;
        self.nonempty &= !1;
        self.len -= 1;
        let event = self.slots[slot as usize].take()?;
        self.free.push(slot);
        Some((Time((key >> 64) as u64), event))
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_times_keep_scheduling_order() {
        let mut q = Queue::default();
        q.push(Time(5), "c");
        q.push(Time(1), "a");
        q.push(Time(5), "d");
        q.push(Time(1), "b");
        assert_eq!(q.peek_time(), Some(Time(1)));
        let order: Vec<&str> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, ["a", "b", "c", "d"]);
        assert!(q.is_empty());
        q.push(Time(2), "reuses a slot");
        assert_eq!(q.slots.len(), 4);
    }

    #[test]
    fn matches_a_sorted_order_under_random_interleaving() {
        use rand_core::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut q = Queue::default();
        let mut model: std::collections::BTreeMap<(u64, u64), u64> = Default::default();
        let (mut now, mut seq) = (0u64, 0u64);
        for i in 0..20_000u64 {
            if rng.next_u32() % 3 != 0 || model.is_empty() {
                let at = now + rng.next_u64() % 1_000;
                q.push(Time(at), i);
                model.insert((at, seq), i);
                seq += 1;
            } else {
                let ((at, _), want) = model.pop_first().unwrap();
                let (t, got) = q.pop().unwrap();
                assert_eq!((t, got), (Time(at), want));
                now = at;
            }
        }
        assert_eq!(q.len(), model.len());
    }
}
