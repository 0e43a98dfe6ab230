//! [`WebhookPipeline::observe`]: a payment the application learned from the PG itself (the
//! answer to a confirm or a cancel) goes through the same path as a webhook: under the
//! payment's lock, applied as the PG answered it (no second PG call) and only as legal moves,
//! the handler called once per change, and — with
//! [`outbox`](crate::WebhookPipelineBuilder::outbox) on — its events written in the same
//! transaction. A webhook about the same change arriving later finds it applied and changes
//! nothing.
//!
//! [`WebhookPipeline::payment`]: a lookup through the pipeline. The PG's answer is fetched once,
//! under the payment's lock, and applied by the same rule (reachable → applied with its events;
//! behind → ignored), so that what the PG said is never read and thrown away: a refund made in
//! the PG's console reaches the application the first time anyone looks.

use hanpay_core::{Payment, PaymentError, PaymentProvider};

use crate::event::PaymentEvent;
use crate::pipeline::{
    Answer, Applying, Ask, FailedStage, Observation, WebhookOutcome, WebhookPipeline,
};
use crate::registry::Gateway;

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

/// What [`WebhookPipeline::payment`] learned: the PG's answer, and the move it made.
#[derive(Debug)]
#[non_exhaustive]
pub struct LookedUp {
    /// The payment as the PG answered.
    pub payment: Payment,
    /// The move applied (the handler ran, events were written); `None` when the store already
    /// knew, or the answer could not be applied (then `error` says why).
    pub moved: Option<PaymentEvent>,
    /// Why the answer could not be applied (a store or the handler failed): the payment stays
    /// tracked, and the reconciler applies it later.
    pub error: Option<ObserveError>,
}

/// Why [`WebhookPipeline::payment`] has no answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// The PG refused or could not be reached.
    #[error(transparent)]
    Pg(#[from] PaymentError),
    /// The provider is not configured.
    #[error("the payment's provider {0:?} is not configured")]
    UnknownProvider(String),
    /// The payment could not be locked or read from the store.
    #[error("looking the payment up failed at {stage:?}: {message}")]
    Failed {
        /// Which step failed.
        stage: FailedStage,
        /// The error (never a secret).
        message: String,
    },
}

impl WebhookPipeline {
    /// Looks `payment_key` up at `provider` and applies the answer like a reconciled webhook:
    /// one PG call, under the payment's lock. The answer is returned even when applying it
    /// failed (see [`LookedUp::error`]).
    ///
    /// ```no_run
    /// # async fn run(pipeline: hanpay::WebhookPipeline) -> Result<(), Box<dyn std::error::Error>> {
    /// let looked_up = pipeline.payment("nicepay", "nicuntct1m0101211201011234567890").await?;
    /// if let Some(event) = &looked_up.moved {
    ///     println!("{:?} -> {}", event.old_status, event.new_status);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn payment(
        &self,
        provider: &str,
        payment_key: &str,
    ) -> Result<LookedUp, LookupError> {
        let gateway = self
            .hanpay()
            .gateway_for(provider)
            .map_err(|_| LookupError::UnknownProvider(provider.to_owned()))?;
        let ask = Ask::about("lookup", gateway.id(), payment_key, None);
        self.look_up(&gateway, ask).await
    }

    /// Applies the PG's answer about `ask`'s payment, fetched under the lock.
    pub(crate) async fn look_up(
        &self,
        gateway: &Gateway,
        ask: Ask,
    ) -> Result<LookedUp, LookupError> {
        let mut answer = Applying {
            quiet: true,
            ..Applying::default()
        };
        let outcome = self
            .apply_keeping(gateway, &Observation::Ask(ask), None, &mut answer)
            .await;
        let Some(payment) = answer.payment else {
            return Err(match (answer.error, outcome) {
                (Some(e), _) => LookupError::Pg(e),
                (None, WebhookOutcome::Failed { stage, message }) => {
                    LookupError::Failed { stage, message }
                }
                (None, other) => LookupError::Failed {
                    stage: FailedStage::Store,
                    message: format!("the lookup ended without an answer: {}", other.label()),
                },
            });
        };
        let (moved, error) = match outcome {
            WebhookOutcome::Processed(event) => (Some(*event), None),
            WebhookOutcome::Failed { stage, message } => {
                (None, Some(ObserveError::Failed { stage, message }))
            }
            _ => (None, None),
        };
        if error.is_some() {
            // Not applied now: make sure the reconciler finds it.
            let states = &self.hanpay().stores().states;
            if let Err(e) = states
                .track(
                    &payment.provider,
                    &payment.payment_key,
                    Some(&payment.order_id),
                )
                .await
            {
                tracing::warn!(target: hanpay_core::observe::TARGET, error = %e, "could not track the payment");
            }
        }
        Ok(LookedUp {
            payment,
            moved,
            error,
        })
    }

    /// Applies `payment` (as the PG answered a confirm, cancel or lookup) like a reconciled
    /// webhook, under the payment's lock and without asking the PG again: the answer is what
    /// the PG said last. `Some(event)`: the stored status moved (the handler ran, events were
    /// written); `None`: nothing to apply (already known — not recorded — or not a legal move
    /// forward: recorded as ignored, the stored state kept).
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
        let mut answer = Applying {
            quiet: true,
            ..Applying::default()
        };
        let seen = Observation::Answer(Answer::of("observe", payment));
        match self.apply_keeping(&gateway, &seen, None, &mut answer).await {
            WebhookOutcome::Processed(event) => Ok(Some(*event)),
            WebhookOutcome::Failed { stage, message } => {
                Err(ObserveError::Failed { stage, message })
            }
            _ => Ok(None),
        }
    }
}
