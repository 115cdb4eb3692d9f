//! The machine the nodes run on: a machine each, or one machine (a local cluster) whose few
//! cores every node's loop, readers and writers share and whose disk syncs one log at a time.
//! Work is booked on a core in the first idle gap long enough for it at or after the moment it
//! is ready, so a frame booked a little ahead does not hold back work ready earlier.

use std::time::Duration;

use blockchat_core::Time;

/// The busy intervals of one core or disk, sorted and disjoint; the past is forgotten.
#[derive(Debug, Clone, Default)]
struct Timeline {
    busy: Vec<(Time, Time)>,
}

impl Timeline {
    /// Forgets intervals over before `now` (nothing is booked before the simulation's now).
    fn forget(&mut self, now: Time) {
        let over = self.busy.iter().take_while(|(_, end)| *end <= now).count();
        if over > 0 {
            self.busy.drain(..over);
        }
    }

    /// The earliest start at or after `ready` with `length` free, and where to insert it.
    fn gap(&self, ready: Time, length: Duration) -> (Time, usize) {
        let mut at = ready;
        for (k, (start, end)) in self.busy.iter().enumerate() {
            if *end <= at {
                continue;
            }
            if at + length <= *start {
                return (at, k);
            }
            at = at.max(*end);
        }
        (at, self.busy.len())
    }

    fn book(&mut self, at: Time, k: usize, length: Duration) {
        if !length.is_zero() {
            self.busy.insert(k, (at, at + length));
        }
    }
}

/// The cores and disk of the simulated nodes.
#[derive(Debug, Clone)]
pub struct Machine {
    // Empty when every node has a machine of its own.
    cores: Vec<Timeline>,
    disk: Option<Timeline>,
    now: Time,
    charged: Duration,
}

impl Machine {
    /// A machine each (`None`) or one machine with `cores` shared cores and one disk.
    pub fn new(cores: Option<usize>) -> Machine {
        Machine {
            cores: vec![Timeline::default(); cores.unwrap_or(0)],
            disk: cores.map(|_| Timeline::default()),
            now: Time::ZERO,
            charged: Duration::ZERO,
        }
    }

    /// The simulation reached `now`: what ended before is forgotten.
    pub fn advance(&mut self, now: Time) {
        if now > self.now && !self.cores.is_empty() {
            self.now = now;
            for c in &mut self.cores {
                c.forget(now);
            }
            if let Some(d) = &mut self.disk {
                d.forget(now);
            }
        }
    }

    /// When a step ready at `ready` can start: the first moment a core is idle.
    pub fn start(&self, ready: Time) -> Time {
        self.cores.iter().map(|c| c.gap(ready, Duration::ZERO).0).min().unwrap_or(ready)
    }

    /// Books `work` of CPU time ready at `ready` on the core that can finish it first; returns
    /// when it is done.
    pub fn run(&mut self, ready: Time, work: Duration) -> Time {
        self.charged += work;
        if work.is_zero() || self.cores.is_empty() {
            return ready + work;
        }
        let (core, (at, k)) = self
            .cores
            .iter()
            .map(|c| c.gap(ready, work))
            .enumerate()
            .min_by_key(|(i, (at, _))| (*at, *i))
            .unwrap_or((0, (ready, 0)));
        self.cores[core].book(at, k, work);
        at + work
    }

    /// CPU time booked so far, on every core together.
    pub fn charged(&self) -> Duration {
        self.charged
    }

    /// A sync of `length` asked for at `ready`; returns when it is done.
    pub fn sync(&mut self, ready: Time, length: Duration) -> Time {
        match &mut self.disk {
            Some(disk) if !length.is_zero() => {
                let (at, k) = disk.gap(ready, length);
                disk.book(at, k, length);
                at + length
            }
            _ => ready + length,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_cores_fill_gaps_and_own_cores_never_wait() {
        let ms = Duration::from_millis;
        let t = Time::from_millis;
        let mut own = Machine::new(None);
        assert_eq!(own.run(t(1), ms(5)), t(6));
        assert_eq!(own.run(t(1), ms(5)), t(6));
        let mut two = Machine::new(Some(2));
        let done: Vec<Time> = (0..3).map(|_| two.run(t(1), ms(5))).collect();
        assert_eq!(done, vec![t(6), t(6), t(11)]);
        // Booked ahead on both cores from 20 ms: work ready at 12 ms fits before it.
        let mut ahead = Machine::new(Some(2));
        ahead.run(t(20), ms(10));
        ahead.run(t(20), ms(10));
        assert_eq!(ahead.start(t(12)), t(12));
        assert_eq!(ahead.run(t(12), ms(5)), t(17));
        assert_eq!(ahead.run(t(12), ms(9)), t(39), "no gap of 9 ms before 30 ms on either core");
        // One disk: two syncs asked for together take turns; a machine each does not share one.
        assert_eq!(two.sync(t(30), ms(2)), t(32));
        assert_eq!(two.sync(t(30), ms(2)), t(34));
        assert_eq!(own.sync(t(30), ms(2)), t(32));
        assert_eq!(own.sync(t(30), ms(2)), t(32));
        two.advance(t(100));
        assert_eq!(two.run(t(100), ms(1)), t(101));
    }
}
