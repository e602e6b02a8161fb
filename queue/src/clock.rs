//! "Now" for the coordinator and the workers: passed in, so tests can set it, and read as the
//! Unix milliseconds the queue's records carry.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of "now"; production passes [`SystemTime::now`].
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// Unix milliseconds of a clock reading (0 before 1970).
pub fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
