//! [`Reconciler`]: convergence even when every webhook is lost. Every payment that can still
//! move at its PG — tracked with no state yet, ready, in progress, waiting for a deposit, and
//! also **paid or partially canceled** (a refund made in the PG's console, a late cancel) and
//! **failed or expired** (a late approval); everything but `Canceled` — is re-fetched from its
//! PG on a schedule that thins out with the payment's age, at a bounded rate per PG, and any
//! change goes through the same apply → handler path as a webhook: one handler call per move,
//! never a regression. One PG call per re-check, under the payment's lock.
//!
//! The schedule ([`RecheckPolicy`]), counted from the payment's last change:
//!
//! | PG | re-checked at the ages | lookups per payment |
//! | --- | --- | --- |
//! | redelivers its webhooks (Toss, PortOne) | 1 min, 6 min, 36 min, 3.6 h, 21.6 h, then daily | 5 in the first day, 11 in the first week, 370 over the default 366-day horizon |
//! | never redelivers, or no webhooks configured (NICEPAY) | 1, 3, 9, 27, 81 min, 4 h, 12 h, 36 h, then daily | 7 in the first day, 13 in the first week, 372 over the horizon |
//!
//! The second row is at least as dense as the redelivery schedules of the PGs that have one
//! (Toss resends after 1, 5, 21, 85, 341, 1365, 5461 min, PortOne V2 after at most 1, 5, 21,
//! 85, 341 min; PortOne V1's five resends one minute apart are within the rounds' own
//! granularity): a PG that sends a webhook once is asked instead. A PG redelivers when the verifier its plugin built says so
//! ([`RedeliverySchedule::resends`](hanpay_core::webhook::RedeliverySchedule::resends)); the
//! reconciler names no PG. The horizon defaults to 366 days, the card cancel window of every
//! PG hanpay has (NICEPAY, Toss and PortOne: one year); past it a payment is not asked again.
//! At the default 5 lookups per second per PG, a PG's steady state (about one lookup per
//! payment per day) covers some 430,000 payments made within the horizon; raise
//! [`per_pg_per_second`](Reconciler::per_pg_per_second) or [`cap`](Reconciler::cap) for more.
//!
//! Several instances on PostgreSQL share the work: each payment is handed to one instance per
//! round (`FOR UPDATE SKIP LOCKED`, its next check time moved in the same statement), and the
//! per-payment lock serialises it with webhooks arriving meanwhile.
//!
//! ```no_run
//! # async fn run(pipeline: hanpay::WebhookPipeline) {
//! use std::time::Duration;
//! let reconciler = hanpay::Reconciler::new(pipeline).unchanged_for(Duration::from_secs(60));
//! tokio::spawn(async move { reconciler.run().await });
//! # }
//! ```

use std::collections::HashMap;
use std::time::Duration;

use hanpay_core::ProviderId;
use tokio::time::Instant;

use crate::observe::LookupError;
use crate::pipeline::Ask;
use crate::pipeline::WebhookPipeline;
use crate::store::{RecheckPolicy, StalePayment, StoreError};

/// How much longer than its age a payment of a PG that redelivers waits for its next re-check.
const STRETCH_REDELIVERING: u32 = 5;
/// The same for a PG that never redelivers: ×3 per check, denser than Toss's ×4 resends.
const STRETCH_ONCE: u32 = 2;

/// Re-fetches stale payments from their PG; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct Reconciler {
    pipeline: WebhookPipeline,
    unchanged_for: Duration,
    cap: Duration,
    horizon: Duration,
    interval: Duration,
    batch: usize,
    per_pg_per_second: u32,
}

/// What one [`Reconciler::run_once`] pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Payments fetched from their PG.
    pub checked: usize,
    /// Payments whose status moved (the handler ran once for each).
    pub moved: usize,
    /// Payments the PG still reports as they were (or with no legal move).
    pub unchanged: usize,
    /// Payments that could not be fetched or applied (retried next round).
    pub failed: usize,
}

impl Reconciler {
    /// A reconciler over the pipeline's stores and handler. Defaults: the first re-check one
    /// minute after a change, then the schedule of the [module docs](self) (at most a day
    /// apart, for 366 days), rounds every minute, 100 payments per PG per round, at most 5
    /// fetches per second per PG.
    pub fn new(pipeline: WebhookPipeline) -> Reconciler {
        Reconciler {
            pipeline,
            unchanged_for: Duration::from_secs(60),
            cap: Duration::from_secs(86_400),
            horizon: Duration::from_secs(366 * 86_400),
            interval: Duration::from_secs(60),
            batch: 100,
            per_pg_per_second: 5,
        }
    }

    /// The first re-check once a payment's last change is this old (default 1 minute).
    pub fn unchanged_for(mut self, age: Duration) -> Self {
        self.unchanged_for = age;
        self
    }

    /// The longest wait between two re-checks of a payment (default 1 day).
    pub fn cap(mut self, cap: Duration) -> Self {
        self.cap = cap;
        self
    }

    /// No re-check once a payment's last change is this old (default 366 days: the card
    /// cancel window of the PGs).
    pub fn horizon(mut self, horizon: Duration) -> Self {
        self.horizon = horizon;
        self
    }

    /// The schedule for `provider`: denser when its PG never redelivers a webhook (or no
    /// webhooks are configured for it), so that asking replaces the redeliveries.
    pub fn policy(&self, provider: &str) -> RecheckPolicy {
        let redelivers = self
            .pipeline
            .hanpay()
            .verifier(provider)
            .is_some_and(|v| v.redelivery().resends() > 0);
        RecheckPolicy {
            first: self.unchanged_for,
            stretch: if redelivers {
                STRETCH_REDELIVERING
            } else {
                STRETCH_ONCE
            },
            cap: self.cap,
            horizon: self.horizon,
        }
    }

    /// Time between rounds of [`run`](Self::run); also how long a payment handed to this
    /// instance is held from the others.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// At most this many payments per PG per round.
    pub fn batch(mut self, batch: usize) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// At most this many fetches per second to one PG.
    pub fn per_pg_per_second(mut self, rate: u32) -> Self {
        self.per_pg_per_second = rate.max(1);
        self
    }

    /// One round: for each PG, claims the payments due for a re-check, fetches each from its
    /// PG and applies any move.
    pub async fn run_once(&self) -> Result<ReconcileReport, StoreError> {
        let hold = self.interval.max(Duration::from_secs(1));
        let mut stale = Vec::new();
        for provider in self.pipeline.hanpay().names() {
            let policy = self.policy(provider);
            stale.extend(
                self.pipeline
                    .state_store()
                    .claim_stale(&ProviderId::new(provider), &policy, hold, self.batch)
                    .await?,
            );
        }
        let spacing = Duration::from_secs(1) / self.per_pg_per_second;
        let mut next_slot: HashMap<ProviderId, Instant> = HashMap::new();
        let mut report = ReconcileReport::default();
        for payment in stale {
            let slot = next_slot
                .entry(payment.provider.clone())
                .or_insert_with(Instant::now);
            tokio::time::sleep_until(*slot).await;
            *slot = Instant::now() + spacing;
            report.checked += 1;
            match self.check(&payment).await {
                Some(true) => report.moved += 1,
                Some(false) => report.unchanged += 1,
                None => report.failed += 1,
            }
        }
        Ok(report)
    }

    /// Rounds forever, every [`interval`](Self::interval). Store errors are logged and the
    /// next round tries again.
    pub async fn run(&self) {
        let mut ticks = tokio::time::interval(self.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match self.run_once().await {
                Ok(report) if report.checked > 0 => tracing::info!(
                    target: hanpay_core::observe::TARGET,
                    checked = report.checked,
                    moved = report.moved,
                    failed = report.failed,
                    "reconciled stale payments"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(
                    target: hanpay_core::observe::TARGET,
                    error = %e,
                    "reconciliation round failed"
                ),
            }
        }
    }

    /// `Some(true)`: moved; `Some(false)`: nothing to apply; `None`: failed.
    async fn check(&self, stale: &StalePayment) -> Option<bool> {
        let gateway = self
            .pipeline
            .hanpay()
            .gateway_for(stale.provider.as_str())
            .ok()?;
        let ask = Ask::about(
            "reconcile",
            &stale.provider,
            &stale.payment_key,
            stale.order_id.clone(),
        );
        // One fetch, under the payment's lock, applied like a reconciled webhook.
        match self.pipeline.look_up(&gateway, ask).await {
            Ok(looked_up) if looked_up.error.is_none() => Some(looked_up.moved.is_some()),
            Ok(looked_up) => {
                tracing::warn!(
                    target: hanpay_core::observe::TARGET,
                    provider = %stale.provider,
                    error = ?looked_up.error,
                    "reconciliation could not apply the PG's answer"
                );
                None
            }
            Err(e) => {
                let what = match &e {
                    LookupError::Pg(_) => "reconciliation fetch failed",
                    _ => "reconciliation failed",
                };
                tracing::warn!(
                    target: hanpay_core::observe::TARGET,
                    provider = %stale.provider,
                    error = %e,
                    "{what}"
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60;

    fn policy(stretch: u32) -> RecheckPolicy {
        RecheckPolicy {
            first: Duration::from_secs(MIN),
            stretch,
            cap: Duration::from_secs(86_400),
            horizon: Duration::from_secs(366 * 86_400),
        }
    }

    fn minutes(ages: &[Duration]) -> Vec<u64> {
        ages.iter().map(|a| a.as_secs() / MIN).collect()
    }

    #[test]
    fn the_documented_schedules_and_their_cost() {
        let day = Duration::from_secs(86_400);
        let redelivering = policy(STRETCH_REDELIVERING);
        assert_eq!(minutes(&redelivering.ages(day)), [1, 6, 36, 216, 1296]);
        assert_eq!(redelivering.ages(7 * day).len(), 11);
        assert_eq!(redelivering.ages(366 * day).len(), 370);
        let once = policy(STRETCH_ONCE);
        assert_eq!(minutes(&once.ages(day)), [1, 3, 9, 27, 81, 243, 729]);
        assert_eq!(once.ages(7 * day).len(), 13);
        assert_eq!(once.ages(366 * day).len(), 372);
        // Never past the horizon.
        assert!(once.ages(400 * day).iter().all(|a| *a <= 366 * day));
        assert_eq!(once.next_wait(366 * day, Duration::from_secs(1)), None);
    }

    #[test]
    fn a_pg_that_never_redelivers_is_asked_at_least_as_often_as_the_others_resend() {
        use hanpay_core::webhook::{RedeliverySchedule, RedeliveryStop};
        let minutes = |m: u64| Duration::from_secs(m * 60);
        // Toss's and PortOne V2's published schedules (their crates' `redelivery_schedule()`
        // and `webhook::redelivery_v2()`), written out so the test runs without either PG.
        let toss = RedeliverySchedule::new(
            "tosspayments",
            [1, 4, 16, 64, 256, 1024, 4096]
                .into_iter()
                .map(minutes)
                .collect(),
            false,
            RedeliveryStop::Only200,
        );
        let portone_v2 = RedeliverySchedule::new(
            "portone-v2",
            [1, 4, 16, 64, 256].into_iter().map(minutes).collect(),
            true,
            RedeliveryStop::Any2xx,
        );
        #[cfg(feature = "tosspayments")]
        assert_eq!(toss, hanpay_tosspayments::redelivery_schedule());
        #[cfg(feature = "portone")]
        assert_eq!(portone_v2, hanpay_portone::webhook::redelivery_v2());
        let once = policy(STRETCH_ONCE);
        for schedule in [toss, portone_v2] {
            // The first attempt at 0, each resend after its delay.
            let mut at = Duration::ZERO;
            let resends: Vec<Duration> = schedule
                .delays()
                .iter()
                .map(|d| {
                    at += *d;
                    at
                })
                .collect();
            let checks = once.ages(at);
            for (i, resend) in resends.iter().enumerate() {
                let asked = checks.iter().filter(|c| *c <= resend).count();
                assert!(
                    asked > i,
                    "{}: by resend {} at {resend:?} only {asked} re-checks",
                    schedule.name(),
                    i + 1
                );
            }
        }
    }
}
