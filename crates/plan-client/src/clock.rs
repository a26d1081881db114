//! The client's sense of time: a monotonic instant for cache ages and a wall-clock timestamp for "today", behind a
//! trait so that tests (and simulations) move time by hand instead of sleeping.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use core_model::jiff::Timestamp;

/// Where the client reads the time.
///
/// [`SystemClock`] is the default. [`ManualClock`] only moves when told to, so that cache expiry can be tested
/// without sleeping. Implementations MUST be monotonic: `now()` never goes backwards.
pub trait Clock: Send + Sync + 'static {
    /// Monotonic time, used for the age of cache entries.
    fn now(&self) -> Instant;

    /// Wall-clock time in UTC, used to compute "today" in the market time zone.
    fn timestamp(&self) -> Timestamp;
}

/// The operating system's clocks.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn timestamp(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that stands still until [`advance`](ManualClock::advance) moves it. Share it with the client through an
/// `Arc` and keep a handle to move it.
#[derive(Debug)]
pub struct ManualClock {
    start_instant: Instant,
    start_timestamp: Timestamp,
    elapsed: Mutex<Duration>,
}

impl ManualClock {
    /// A clock whose wall time starts at `start`.
    pub fn starting_at(start: Timestamp) -> Self {
        Self { start_instant: Instant::now(), start_timestamp: start, elapsed: Mutex::new(Duration::ZERO) }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut elapsed = self.elapsed.lock().unwrap_or_else(PoisonError::into_inner);
        *elapsed = elapsed.saturating_add(by);
    }

    fn elapsed(&self) -> Duration {
        *self.elapsed.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for ManualClock {
    /// A clock whose wall time starts at the real current time.
    fn default() -> Self {
        Self::starting_at(Timestamp::now())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.start_instant + self.elapsed()
    }

    fn timestamp(&self) -> Timestamp {
        self.start_timestamp.saturating_add(self.elapsed()).unwrap_or(Timestamp::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::starting_at("2025-11-10T03:30:00Z".parse().unwrap());
        let (t0, w0) = (clock.now(), clock.timestamp());
        assert_eq!(clock.now(), t0);
        clock.advance(Duration::from_secs(90));
        assert_eq!(clock.now() - t0, Duration::from_secs(90));
        assert_eq!(clock.timestamp().to_string(), "2025-11-10T03:31:30Z");
        assert_eq!(w0.to_string(), "2025-11-10T03:30:00Z");
    }
}
