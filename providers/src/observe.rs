//! [`WebhookPipeline::observe`]: a payment the application learned from the PG itself (the
//! answer to a confirm or a cancel) goes through the same path as a webhook: under the
//! payment's lock, re-fetched from the PG, applied only as legal moves, the handler called once
//! per change, and — with [`outbox`](crate::WebhookPipelineBuilder::outbox) on — its events
//! written in the same transaction. A webhook about the same change arriving later finds it
//! applied and changes nothing.

use hanpay_core::{Payment, Trust, WebhookEvent, WebhookEventKind};
use time::OffsetDateTime;

use crate::event::PaymentEvent;
use crate::pipeline::{FailedStage, WebhookOutcome, WebhookPipeline};

/// Why [`WebhookPipeline::observe`] could not apply a payment.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ObserveError {
    /// The payment's provider is not configured.
    #[error("the payment's provider {0:?} is not configured")]
    UnknownProvider(String),
    /// A store, the PG lookup or the handler failed (nothing was applied; try again).
    #[error("observing the payment failed at {stage:?}: {message}")]
    Failed {
        /// Which step failed.
        stage: FailedStage,
        /// The error (never a secret).
        message: String,
    },
}

impl WebhookPipeline {
    /// Applies `payment` (as the PG answered a confirm, cancel or lookup) like a reconciled
    /// webhook. `Some(event)`: the stored status moved (the handler ran, events were written);
    /// `None`: nothing to apply (already known, or not a legal move forward).
    ///
    /// ```no_run
    /// # async fn run(pipeline: hanpay::WebhookPipeline, request: hanpay::ConfirmRequest)
    /// # -> Result<(), Box<dyn std::error::Error>> {
    /// use hanpay::PaymentProvider;
    /// let payment = pipeline.hanpay().gateway().confirm(&request).await?;
    /// if let Some(event) = pipeline.observe(&payment).await? {
    ///     println!("{:?} -> {}", event.old_status, event.new_status);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn observe(&self, payment: &Payment) -> Result<Option<PaymentEvent>, ObserveError> {
        let gateway = self
            .hanpay()
            .gateway_for(payment.provider.as_str())
            .map_err(|_| ObserveError::UnknownProvider(payment.provider.as_str().to_owned()))?;
        let event = WebhookEvent {
            provider: payment.provider.clone(),
            dedupe_id: format!(
                "observe:{}:{}",
                payment.payment_key,
                OffsetDateTime::now_utc().unix_timestamp_nanos()
            ),
            kind: WebhookEventKind::PaymentStatusChanged,
            payment_key: Some(payment.payment_key.clone()),
            order_id: Some(payment.order_id.clone()),
            status_hint: None,
            raw_status: None,
            occurred_at: None,
            trust: Trust::Unverified,
            payment_secret: None,
            body: bytes::Bytes::new(),
        };
        // Applied under the payment's lock with a fresh fetch, like the reconciler's.
        match self.apply(&gateway, &event, Some(payment.clone())).await {
            WebhookOutcome::Processed(event) => Ok(Some(*event)),
            WebhookOutcome::Failed { stage, message } => {
                Err(ObserveError::Failed { stage, message })
            }
            _ => Ok(None),
        }
    }
}
