//! When to try again: exponential backoff with jitter, a bounded number of attempts and a bounded total time.
//! Which failures are worth retrying is decided by the caller (connect errors, timeouts and 5xx only).

use std::time::Duration;

/// How failed requests are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryPolicy {
    /// Retries after the first attempt (so at most `max_retries + 1` attempts).
    pub(crate) max_retries: u32,
    /// The delay before the first retry; doubled for each further retry.
    pub(crate) base_delay: Duration,
    /// No delay is longer than this.
    pub(crate) max_delay: Duration,
    /// No retry starts once this much time has passed since the first attempt started, nor when its delay would
    /// end past it.
    pub(crate) budget: Duration,
}

impl RetryPolicy {
    /// The delay's upper bound before retry number `retry` (1 for the first retry): `base * 2^(retry-1)`, capped.
    pub(crate) fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.saturating_sub(1)).unwrap_or(u32::MAX);
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// The delay before retry number `retry`: uniformly random in the upper half of [`ceiling`](Self::ceiling)
    /// ("equal jitter"), so that clients failing together do not retry together, yet each waits at least half
    /// the exponential delay.
    pub(crate) fn delay(&self, retry: u32) -> Duration {
        let ceiling = self.ceiling(retry);
        let half = ceiling / 2;
        let spread = u64::try_from((ceiling - half).as_nanos()).unwrap_or(u64::MAX);
        half + Duration::from_nanos(fastrand::u64(0..=spread))
    }

    /// The delay before retry number `retry`, or `None` when no retry may be made: the attempts are used up, or
    /// the retry would start past the budget (`elapsed` is the time since the first attempt started).
    pub(crate) fn next_delay(&self, retry: u32, elapsed: Duration) -> Option<Duration> {
        if retry > self.max_retries {
            return None;
        }
        let delay = self.delay(retry);
        (elapsed.saturating_add(delay) < self.budget).then_some(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_retries: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            budget: Duration::from_secs(10),
        }
    }

    #[test]
    fn delays_double_up_to_the_cap() {
        let p = policy();
        let ceilings: Vec<u128> = (1..=6).map(|r| p.ceiling(r).as_millis()).collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(p.ceiling(200), Duration::from_millis(1000), "no overflow on many retries");
    }

    #[test]
    fn jitter_stays_in_the_upper_half_of_the_ceiling() {
        let p = policy();
        for retry in 1..=6 {
            for _ in 0..200 {
                let delay = p.delay(retry);
                assert!(delay >= p.ceiling(retry) / 2 && delay <= p.ceiling(retry), "{delay:?} for retry {retry}");
            }
        }
        let distinct: std::collections::HashSet<Duration> = (0..50).map(|_| p.delay(3)).collect();
        assert!(distinct.len() > 1, "the delays are jittered");
    }

    #[test]
    fn attempts_and_total_time_are_bounded() {
        let p = policy();
        assert!(p.next_delay(5, Duration::ZERO).is_some());
        assert!(p.next_delay(6, Duration::ZERO).is_none(), "five retries at most");
        assert!(p.next_delay(1, Duration::from_secs(10)).is_none(), "budget spent");
        assert!(p.next_delay(4, Duration::from_millis(9_700)).is_none(), "the delay would end past the budget");
        let none = RetryPolicy { max_retries: 0, ..p };
        assert!(none.next_delay(1, Duration::ZERO).is_none());
    }
}
