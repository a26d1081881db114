//! Retrying REST calls: exponential backoff with jitter on network errors and 5xx, Discord's `retry_after` on 429,
//! never on other 4xx; bounded in attempts.

use std::time::Duration;

/// How failed REST calls are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub retries: u32,
    /// Delay before the first retry; doubled after each.
    pub base_delay: Duration,
    /// Longest delay between two attempts (a 429's `retry_after` is honoured up to this too).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { retries: 5, base_delay: Duration::from_millis(500), max_delay: Duration::from_secs(30) }
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// A transient failure (network, timeout, 5xx): back off and retry.
    Transient,
    /// Rate limited: wait this many seconds (Discord's `retry_after`), then retry.
    RateLimited(f64),
    /// The request itself is wrong (4xx): retrying cannot help.
    Permanent,
}

impl RetryPolicy {
    /// The delay before retry number `retry` (0 for the first retry) after `verdict`, or `None` when the call must
    /// not be retried (a permanent failure, or no retries left).
    pub fn delay(&self, retry: u32, verdict: Verdict) -> Option<Duration> {
        if retry >= self.retries {
            return None;
        }
        match verdict {
            Verdict::Permanent => None,
            Verdict::RateLimited(seconds) => {
                let wait = Duration::try_from_secs_f64(seconds.max(0.0)).unwrap_or(self.max_delay);
                Some(wait.min(self.max_delay))
            }
            Verdict::Transient => {
                let exponential = self.base_delay.saturating_mul(2u32.saturating_pow(retry)).min(self.max_delay);
                // "Equal jitter": half fixed, half random, so that many clients retrying at once spread out.
                let half = exponential / 2;
                let jitter = half.mul_f64(fastrand::f64());
                Some(half + jitter)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_stops() {
        let policy =
            RetryPolicy { retries: 4, base_delay: Duration::from_millis(100), max_delay: Duration::from_millis(500) };
        for (retry, full) in [(0, 100), (1, 200), (2, 400), (3, 500)] {
            let delay = policy.delay(retry, Verdict::Transient).unwrap();
            let full = Duration::from_millis(full);
            assert!(delay >= full / 2 && delay <= full, "retry {retry}: {delay:?} not in [{:?}, {full:?}]", full / 2);
        }
        assert_eq!(policy.delay(4, Verdict::Transient), None, "no retries left");
    }

    #[test]
    fn rate_limits_wait_as_told_and_client_errors_never_retry() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay(0, Verdict::RateLimited(0.25)), Some(Duration::from_millis(250)));
        assert_eq!(policy.delay(0, Verdict::RateLimited(3600.0)), Some(policy.max_delay), "bounded");
        assert_eq!(policy.delay(0, Verdict::Permanent), None);
    }
}
