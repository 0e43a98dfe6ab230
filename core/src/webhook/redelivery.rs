//! [`RedeliverySchedule`]: how each PG resends a webhook that was not acknowledged.

use std::time::Duration;

/// Which answers end a PG's redelivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedeliveryStop {
    /// Only HTTP 200 counts as received (Toss: "10초 이내로 200 응답"; answer exactly 200).
    Only200,
    /// Any 2xx counts as received (PortOne V2).
    Any2xx,
    /// Only 5xx and network errors are retried; 2xx and 4xx stop it (PortOne V1).
    Below500,
}

impl RedeliveryStop {
    /// `true` when `status` ends the redelivery.
    pub fn stops_on(self, status: u16) -> bool {
        match self {
            RedeliveryStop::Only200 => status == 200,
            RedeliveryStop::Any2xx => (200..300).contains(&status),
            RedeliveryStop::Below500 => status < 500,
        }
    }
}

/// The delays with which a PG resends a failed webhook, after the first attempt. Each PG crate
/// publishes its own (e.g. `hanpay_tosspayments::redelivery_schedule()`).
///
/// ```
/// use hanpay_core::webhook::{RedeliverySchedule, RedeliveryStop};
/// use std::time::Duration;
/// let minutes = |m: u64| Duration::from_secs(m * 60);
/// let s = RedeliverySchedule::new("pg", vec![minutes(1), minutes(4)], false, RedeliveryStop::Only200);
/// assert_eq!(s.resends(), 2);
/// assert_eq!(s.total_span(), minutes(5));
/// assert!(!s.stops_on(204));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedeliverySchedule {
    name: &'static str,
    delays: Vec<Duration>,
    full_jitter: bool,
    stop: RedeliveryStop,
}

#[cfg(test)]
const fn minutes(m: u64) -> Duration {
    Duration::from_secs(m * 60)
}

impl RedeliverySchedule {
    /// A custom schedule.
    pub fn new(
        name: &'static str,
        delays: Vec<Duration>,
        full_jitter: bool,
        stop: RedeliveryStop,
    ) -> Self {
        RedeliverySchedule {
            name,
            delays,
            full_jitter,
            stop,
        }
    }

    /// The schedule's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The nominal delays before each resend (upper bounds when jittered).
    pub fn delays(&self) -> &[Duration] {
        &self.delays
    }

    /// How many resends follow a failed first attempt.
    pub fn resends(&self) -> usize {
        self.delays.len()
    }

    /// Whether delays are drawn uniformly from zero to the nominal delay.
    pub fn full_jitter(&self) -> bool {
        self.full_jitter
    }

    /// Which answers stop the redelivery.
    pub fn stop_rule(&self) -> RedeliveryStop {
        self.stop
    }

    /// `true` when the PG takes `status` as received and stops resending.
    pub fn stops_on(&self, status: u16) -> bool {
        self.stop.stops_on(status)
    }

    /// The longest time from the first attempt to the last resend: keep dedupe entries at least
    /// this long.
    pub fn total_span(&self) -> Duration {
        self.delays.iter().sum()
    }

    /// The delay before resend number `index` (0-based), with jitter drawn from `rng` when the
    /// schedule has it. `None` past the last resend.
    pub fn delay(&self, index: usize, rng: &mut fastrand::Rng) -> Option<Duration> {
        let nominal = *self.delays.get(index)?;
        if !self.full_jitter || nominal.is_zero() {
            return Some(nominal);
        }
        let millis = u64::try_from(nominal.as_millis()).unwrap_or(u64::MAX);
        Some(Duration::from_millis(rng.u64(0..=millis)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_rules_and_span() {
        let s = RedeliverySchedule::new(
            "s",
            vec![minutes(1), minutes(4)],
            false,
            RedeliveryStop::Only200,
        );
        assert_eq!(s.delays()[1], minutes(4));
        assert_eq!(s.total_span(), minutes(5));
        assert!(s.stops_on(200));
        assert!(!s.stops_on(201));
        assert!(RedeliveryStop::Any2xx.stops_on(204));
        assert!(!RedeliveryStop::Any2xx.stops_on(400));
        assert!(RedeliveryStop::Below500.stops_on(404));
        assert!(!RedeliveryStop::Below500.stops_on(503));
    }

    #[test]
    fn full_jitter_stays_within_bounds() {
        let jittered = RedeliverySchedule::new(
            "j",
            [1, 4, 16].into_iter().map(minutes).collect(),
            true,
            RedeliveryStop::Any2xx,
        );
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..200 {
            for (i, bound) in jittered.delays().iter().enumerate() {
                let d = jittered.delay(i, &mut rng).unwrap_or(Duration::MAX);
                assert!(d <= *bound);
            }
        }
        assert_eq!(jittered.delay(3, &mut rng), None);
        let fixed = RedeliverySchedule::new("f", vec![minutes(16)], false, RedeliveryStop::Only200);
        assert_eq!(fixed.delay(0, &mut rng), Some(minutes(16)));
    }
}
