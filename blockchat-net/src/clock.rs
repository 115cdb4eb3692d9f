//! The real clock, as the core's `Time` (Unix nanoseconds), and back to tokio instants.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use blockchat_core::Time;
use tokio::time::Instant;

/// Now, in Unix nanoseconds.
pub fn now() -> Time {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_nanos();
    Time(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// The tokio instant at which the wall clock reads `at` (now, if `at` has passed).
pub fn instant_at(at: Time) -> Instant {
    Instant::now() + at.since(now())
}
