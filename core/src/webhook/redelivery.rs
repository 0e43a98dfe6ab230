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

/// The delays with which a PG resends a failed webhook, after the first attempt.
///
/// ```
/// use hanpay_core::webhook::RedeliverySchedule;
/// use std::time::Duration;
/// let toss = RedeliverySchedule::toss();
/// assert_eq!(toss.resends(), 7);
/// assert_eq!(toss.total_span(), Duration::from_secs(5461 * 60));
/// assert!(!toss.stops_on(204));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedeliverySchedule {
    name: &'static str,
    delays: Vec<Duration>,
    full_jitter: bool,
    stop: RedeliveryStop,
}

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

    /// Toss Payments: up to 7 resends after 1, 4, 16, 64, 256, 1024 and 4096 minutes (about
    /// 3 days 19 hours in all); anything but 200 is a failure.
    pub fn toss() -> Self {
        RedeliverySchedule::new(
            "tosspayments",
            [1, 4, 16, 64, 256, 1024, 4096]
                .into_iter()
                .map(minutes)
                .collect(),
            false,
            RedeliveryStop::Only200,
        )
    }

    /// PortOne V2: PortOne publishes the attempt delays 0 → 1 → 4 → 16 → 64 → 256 minutes and
    /// "최대 5회까지 재전송": the 0 is the first delivery, so up to 5 resends follow after 1, 4,
    /// 16, 64 and 256 minutes, each drawn uniformly from zero to that bound (full jitter).
    /// Any 2xx stops it.
    pub fn portone_v2() -> Self {
        RedeliverySchedule::new(
            "portone-v2",
            [1, 4, 16, 64, 256].into_iter().map(minutes).collect(),
            true,
            RedeliveryStop::Any2xx,
        )
    }

    /// PortOne V1 (iamport), when retries are enabled for the merchant: up to 5 resends one
    /// minute apart, only after a 5xx answer or a network error.
    pub fn portone_v1() -> Self {
        RedeliverySchedule::new(
            "portone-v1",
            vec![minutes(1); 5],
            false,
            RedeliveryStop::Below500,
        )
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
    fn published_schedules() {
        let toss = RedeliverySchedule::toss();
        assert_eq!(toss.delays()[0], minutes(1));
        assert_eq!(toss.delays()[6], minutes(4096));
        assert!(toss.stops_on(200));
        assert!(!toss.stops_on(201));
        assert!(!toss.stops_on(500));

        let v2 = RedeliverySchedule::portone_v2();
        assert_eq!(v2.resends(), 5);
        assert_eq!(v2.total_span(), minutes(341));
        assert!(v2.stops_on(204));
        assert!(!v2.stops_on(400));

        let v1 = RedeliverySchedule::portone_v1();
        assert_eq!(v1.resends(), 5);
        assert!(v1.stops_on(404));
        assert!(!v1.stops_on(503));
        assert_eq!(v1.total_span(), minutes(5));
    }

    #[test]
    fn full_jitter_stays_within_bounds() {
        let v2 = RedeliverySchedule::portone_v2();
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..200 {
            for (i, bound) in v2.delays().iter().enumerate() {
                let d = v2.delay(i, &mut rng).unwrap_or(Duration::MAX);
                assert!(d <= *bound);
            }
        }
        assert_eq!(v2.delay(5, &mut rng), None);
        let toss = RedeliverySchedule::toss();
        assert_eq!(toss.delay(2, &mut rng), Some(minutes(16)));
    }
}
