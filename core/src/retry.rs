//! [`RetryPolicy`] for outgoing PG calls: bounded attempts, exponential backoff with full
//! jitter, and a cap on the total time spent.

use std::time::Duration;

/// How a provider client retries a call that failed in a way known to be safe to retry.
///
/// Providers retry only transient failures, always with the same idempotency key.
///
/// ```
/// use hanpay_core::RetryPolicy;
/// use std::time::Duration;
/// let policy = RetryPolicy::default();
/// assert_eq!(policy.max_attempts(), 3);
/// assert!(policy.backoff_ceiling(1) <= Duration::from_millis(400));
/// assert!(!RetryPolicy::none().allows_another(1, Duration::ZERO));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_elapsed: Duration,
    jitter: bool,
}

impl Default for RetryPolicy {
    /// 3 attempts, 200 ms doubling up to 5 s, at most 30 s in all, full jitter.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            max_elapsed: Duration::from_secs(30),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retry.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Sets the number of attempts, the first included (at least 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Sets the first backoff (doubled after each attempt).
    pub fn with_initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// Sets the largest single backoff.
    pub fn with_max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// Sets the cap on the time from the first attempt after which no retry starts.
    pub fn with_max_elapsed(mut self, elapsed: Duration) -> Self {
        self.max_elapsed = elapsed;
        self
    }

    /// Turns full jitter on or off (off makes delays deterministic, for tests).
    pub fn with_jitter(mut self, jitter: bool) -> Self {
        self.jitter = jitter;
        self
    }

    /// The number of attempts, the first included.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The cap on elapsed time.
    pub fn max_elapsed(&self) -> Duration {
        self.max_elapsed
    }

    /// Whether another attempt may start after `attempts_made` attempts and `elapsed` time.
    pub fn allows_another(&self, attempts_made: u32, elapsed: Duration) -> bool {
        attempts_made < self.max_attempts && elapsed < self.max_elapsed
    }

    /// The upper bound of the backoff after attempt number `attempt` (1-based):
    /// `initial × 2^(attempt-1)`, capped at the maximum.
    pub fn backoff_ceiling(&self, attempt: u32) -> Duration {
        let shift = attempt.saturating_sub(1).min(20);
        self.initial_backoff
            .saturating_mul(1u32 << shift)
            .min(self.max_backoff)
    }

    /// The backoff to wait after attempt number `attempt`: uniform in `0..=ceiling` with
    /// jitter, the ceiling itself without. `floor` raises it for PGs that ask for a minimum
    /// (Toss `FORBIDDEN_CONSECUTIVE_REQUEST`: at least 1 s).
    pub fn backoff(&self, attempt: u32, floor: Duration) -> Duration {
        let ceiling = self.backoff_ceiling(attempt);
        let delay = if self.jitter {
            let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
            Duration::from_millis(fastrand::u64(0..=millis))
        } else {
            ceiling
        };
        delay.max(floor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_and_capped() {
        let p = RetryPolicy::default().with_jitter(false);
        assert_eq!(p.backoff_ceiling(1), Duration::from_millis(200));
        assert_eq!(p.backoff_ceiling(2), Duration::from_millis(400));
        assert_eq!(p.backoff_ceiling(3), Duration::from_millis(800));
        assert_eq!(p.backoff_ceiling(40), Duration::from_secs(5));
        assert_eq!(p.backoff(1, Duration::from_secs(1)), Duration::from_secs(1));
    }

    #[test]
    fn jitter_stays_below_ceiling() {
        let p = RetryPolicy::default();
        for attempt in 1..6 {
            for _ in 0..50 {
                assert!(p.backoff(attempt, Duration::ZERO) <= p.backoff_ceiling(attempt));
            }
        }
    }

    #[test]
    fn bounded_attempts_and_time() {
        let p = RetryPolicy::default().with_max_attempts(2);
        assert!(p.allows_another(1, Duration::ZERO));
        assert!(!p.allows_another(2, Duration::ZERO));
        assert!(!p.allows_another(1, Duration::from_secs(31)));
        assert_eq!(
            RetryPolicy::default().with_max_attempts(0).max_attempts(),
            1
        );
    }
}
