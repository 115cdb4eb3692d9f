//! The event queue: ordered by (time, scheduling order), so events at equal times run in the
//! order they were scheduled. Times only grow (nothing is scheduled before the event being run),
//! so it is a radix heap over nanosecond times: bucket i holds the events whose time first
//! differs from the last time taken in bit i − 1, and an event moves down at most 64 times.
//! Buckets are FIFO and are emptied in order, so events of one time keep their scheduling order
//! without a sequence number.

use std::collections::VecDeque;

use blockchat_core::Time;

/// A time-ordered queue of `E`.
#[derive(Debug)]
pub struct Queue<E> {
    last: u64,
    // Bucket 0 holds the events at `last`, in scheduling order.
    buckets: Vec<VecDeque<(u64, E)>>,
    // Bit i set when bucket i is non-empty.
    nonempty: u128,
    len: usize,
}

impl<E> Default for Queue<E> {
    fn default() -> Self {
        Queue { last: 0, buckets: (0..65).map(|_| VecDeque::new()).collect(), nonempty: 0, len: 0 }
    }
}

fn bucket(time: u64, last: u64) -> usize {
    64 - (time ^ last).leading_zeros() as usize
}

impl<E> Queue<E> {
    /// Schedules `event` at `at`, after everything already scheduled at `at`. Times earlier
    /// than the last event taken are moved up to it (the queue never runs backwards).
    pub fn push(&mut self, at: Time, event: E) {
        let time = at.as_nanos().max(self.last);
        self.put(time, event);
        self.len += 1;
    }

    fn put(&mut self, time: u64, event: E) {
        let b = bucket(time, self.last);
        self.buckets[b].push_back((time, event));
        self.nonempty |= 1 << b;
    }

    /// Makes bucket 0 hold the events of the smallest time, if any. Every bucket below the one
    /// emptied is empty, so appending keeps each time's events in scheduling order.
    fn settle(&mut self) -> bool {
        if self.nonempty & 1 == 1 {
            return true;
        }
        if self.nonempty == 0 {
            return false;
        }
        let i = self.nonempty.trailing_zeros() as usize;
        let mut moving = std::mem::take(&mut self.buckets[i]);
        self.nonempty &= !(1 << i);
        self.last = moving.iter().map(|(t, _)| *t).min().unwrap_or(self.last);
        for (time, event) in moving.drain(..) {
            self.put(time, event);
        }
        // Keep the emptied bucket's allocation for its next use.
        self.buckets[i] = moving;
        true
    }

    /// The time of the next event.
    pub fn peek_time(&mut self) -> Option<Time> {
        self.settle().then_some(Time(self.last))
    }

    /// Takes the next event.
    pub fn pop(&mut self) -> Option<(Time, E)> {
        if !self.settle() {
            return None;
        }
        let (time, event) = self.buckets[0].pop_front()?;
        if self.buckets[0].is_empty() {
            self.nonempty &= !1;
        }
        self.len -= 1;
        Some((Time(time), event))
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
        q.push(Time(2), "late");
        assert_eq!(q.pop(), Some((Time(5), "late")), "never runs backwards");
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
