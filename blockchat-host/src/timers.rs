//! The host's timer table: one deadline per kind of timer, on the driver's monotonic time.
//! Setting a timer replaces (cancels) the previous one of its kind, so a stale timer never
//! fires; the driver only asks when the earliest deadline is.

use blockchat_core::{Time, Timer};

/// The kinds of timer, in the order due timers of equal deadline fire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The core's round timer.
    Round,
    /// The core's partial-block timer.
    BlockInterval,
    /// The core's quiet-tip rebroadcast.
    QuietTip,
    /// The core's catch-up retry.
    Sync,
    /// The client's next submission.
    Client,
    /// Re-announcing our pending transactions.
    Reannounce,
}

const KINDS: [Kind; 6] = [Kind::Round, Kind::BlockInterval, Kind::QuietTip, Kind::Sync, Kind::Client, Kind::Reannounce];

/// A timer that came due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Due {
    /// Hand this back to the core.
    Core(Timer),
    /// The client may submit.
    Client,
    /// Time to re-announce.
    Reannounce,
}

/// Deadlines by kind.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    at: [Option<Time>; 6],
    core: [Option<Timer>; 4],
}

fn slot(kind: Kind) -> usize {
    kind as usize
}

fn core_kind(timer: &Timer) -> Kind {
    match timer {
        Timer::Round { .. } => Kind::Round,
        Timer::BlockInterval { .. } => Kind::BlockInterval,
        Timer::QuietTip { .. } => Kind::QuietTip,
        Timer::Sync { .. } => Kind::Sync,
    }
}

impl Timers {
    /// Arms a core timer, replacing the previous one of its kind.
    pub(crate) fn set_core(&mut self, timer: Timer, at: Time) {
        let k = slot(core_kind(&timer));
        self.at[k] = Some(at);
        self.core[k] = Some(timer);
    }

    /// Arms a host timer, replacing the previous one of its kind.
    pub(crate) fn set(&mut self, kind: Kind, at: Time) {
        self.at[slot(kind)] = Some(at);
    }

    /// Whether `kind` is armed.
    pub(crate) fn is_set(&self, kind: Kind) -> bool {
        self.at[slot(kind)].is_some()
    }

    /// Disarms `kind`.
    pub(crate) fn cancel(&mut self, kind: Kind) {
        self.at[slot(kind)] = None;
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Time> {
        self.at.iter().flatten().min().copied()
    }

    /// Takes the earliest timer due at `now` (ties in kind order), disarming it.
    pub(crate) fn take_due(&mut self, now: Time) -> Option<Due> {
        let (k, _) = self
            .at
            .iter()
            .enumerate()
            .filter_map(|(k, t)| Some((k, (*t)?)))
            .filter(|(_, t)| *t <= now)
            .min_by_key(|(k, t)| (*t, *k))?;
        self.at[k] = None;
        Some(match KINDS[k] {
            Kind::Client => Due::Client,
            Kind::Reannounce => Due::Reannounce,
            _ => Due::Core(self.core[k].take()?),
        })
    }

    /// Disarms everything (a crash).
    pub(crate) fn clear(&mut self) {
        *self = Timers::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_timer_replaces_the_old_one_of_its_kind() {
        let mut t = Timers::default();
        t.set_core(Timer::Round { generation: 1, round: 0 }, Time(50));
        t.set_core(Timer::QuietTip { generation: 1 }, Time(40));
        t.set_core(Timer::Round { generation: 2, round: 0 }, Time(90));
        t.set(Kind::Client, Time(40));
        assert_eq!(t.next(), Some(Time(40)));
        assert_eq!(t.take_due(Time(10)), None);
        assert_eq!(t.take_due(Time(100)), Some(Due::Core(Timer::QuietTip { generation: 1 })));
        assert_eq!(t.take_due(Time(100)), Some(Due::Client));
        // The round timer of generation 1 was cancelled, not left to fire.
        assert_eq!(t.take_due(Time(100)), Some(Due::Core(Timer::Round { generation: 2, round: 0 })));
        assert_eq!(t.take_due(Time(100)), None);
        assert_eq!(t.next(), None);
        t.set(Kind::Reannounce, Time(60));
        t.set(Kind::Reannounce, Time(30));
        assert_eq!(t.next(), Some(Time(30)));
        t.cancel(Kind::Reannounce);
        assert!(!t.is_set(Kind::Reannounce));
    }
}
