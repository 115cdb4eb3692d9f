//! The node's clock: Unix time when the process started plus the monotonic time since, so that
//! block timestamps stay close to the wall clock (peers check them) while deadlines never jump
//! when the wall clock is adjusted.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use blockchat_core::Time;
use tokio::time::Instant;

/// The process's epoch: (wall clock, monotonic clock) read together once.
fn epoch() -> &'static (Time, Instant) {
    static EPOCH: OnceLock<(Time, Instant)> = OnceLock::new();
    EPOCH.get_or_init(|| {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_nanos();
        (Time(u64::try_from(nanos).unwrap_or(u64::MAX)), Instant::now())
    })
}

/// Now, in Unix nanoseconds, never going backwards.
pub fn now() -> Time {
    let (wall, mono) = epoch();
    *wall + mono.elapsed()
}

/// The monotonic instant at which [`now`] reads `at` (the epoch, if `at` is before it).
pub fn instant_at(at: Time) -> Instant {
    let (wall, mono) = epoch();
    *mono + at.since(*wall)
}
