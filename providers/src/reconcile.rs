//! [`Reconciler`]: convergence even when every webhook is lost. Payments whose status still
//! waits on the PG (tracked with no state yet, ready, in progress, waiting for deposit — see
//! [`RECONCILED_STATUSES`](crate::store::RECONCILED_STATUSES)) and that have not changed for
//! a while are re-fetched from their PG, at a bounded rate per PG, and any change goes through
//! the same apply → handler path as a webhook: one handler call per move, never a regression.
//!
//! Several instances on PostgreSQL share the work: each payment is handed to one instance per
//! round (`FOR UPDATE SKIP LOCKED` with a hold time), and the per-payment lock serialises it
//! with webhooks arriving meanwhile.
//!
//! ```no_run
//! # async fn run(pipeline: hanpay::WebhookPipeline) {
//! use std::time::Duration;
//! let reconciler = hanpay::Reconciler::new(pipeline).unchanged_for(Duration::from_secs(600));
//! tokio::spawn(async move { reconciler.run().await });
//! # }
//! ```

use std::collections::HashMap;
use std::time::Duration;

use hanpay_core::{PaymentProvider, ProviderId, Trust, WebhookEvent, WebhookEventKind};
use time::OffsetDateTime;
use tokio::time::Instant;

use crate::pipeline::{WebhookOutcome, WebhookPipeline};
use crate::store::{StalePayment, StoreError};

/// Re-fetches stale payments from their PG; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct Reconciler {
    pipeline: WebhookPipeline,
    unchanged_for: Duration,
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
    /// A reconciler over the pipeline's stores and handler. Defaults: payments unchanged for
    /// 10 minutes, checked every minute, 100 per round, at most 5 fetches per second per PG.
    pub fn new(pipeline: WebhookPipeline) -> Reconciler {
        Reconciler {
            pipeline,
            unchanged_for: Duration::from_secs(600),
            interval: Duration::from_secs(60),
            batch: 100,
            per_pg_per_second: 5,
        }
    }

    /// Only payments whose last change is at least this old.
    pub fn unchanged_for(mut self, age: Duration) -> Self {
        self.unchanged_for = age;
        self
    }

    /// Time between rounds of [`run`](Self::run); also how long a payment handed to this
    /// instance is held from the others.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// At most this many payments per round.
    pub fn batch(mut self, batch: usize) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// At most this many fetches per second to one PG.
    pub fn per_pg_per_second(mut self, rate: u32) -> Self {
        self.per_pg_per_second = rate.max(1);
        self
    }

    /// One round: claims the stale payments, fetches each from its PG and applies any move.
    pub async fn run_once(&self) -> Result<ReconcileReport, StoreError> {
        let hold = self.interval.max(Duration::from_secs(1));
        let stale = self
            .pipeline
            .state_store()
            .claim_stale(self.unchanged_for, hold, self.batch)
            .await?;
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
        let payment = match gateway.payment(&stale.payment_key).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(
                    target: hanpay_core::observe::TARGET,
                    provider = %stale.provider,
                    error = %e,
                    "reconciliation fetch failed"
                );
                return None;
            }
        };
        if Some(payment.status) == stale.status {
            return Some(false);
        }
        let event = WebhookEvent {
            provider: stale.provider.clone(),
            dedupe_id: format!(
                "reconcile:{}:{}",
                stale.payment_key,
                OffsetDateTime::now_utc().unix_timestamp_nanos()
            ),
            kind: WebhookEventKind::PaymentStatusChanged,
            payment_key: Some(stale.payment_key.clone()),
            order_id: stale.order_id.clone(),
            status_hint: None,
            raw_status: None,
            occurred_at: None,
            trust: Trust::Unverified,
            payment_secret: None,
            body: bytes::Bytes::new(),
        };
        // Applied under the payment's lock with a fresh fetch, like an unverified webhook.
        match self.pipeline.apply(&gateway, &event, Some(payment)).await {
            WebhookOutcome::Processed(_) => Some(true),
            WebhookOutcome::Failed { .. } => None,
            _ => Some(false),
        }
    }
}
