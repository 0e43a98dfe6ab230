//! Intake: a delivery's body cap, verification, the per-payment secret, dedupe and the inbox
//! record — everything before and after [applying](super::commit) it.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use hanpay_core::observe::webhook_decision;
use hanpay_core::{Payment, Secret, WebhookError, WebhookEvent, WebhookRequest};

use super::commit::{fetch, inbox_record, Applying, Delivery, Observation};
use super::outcome::{failed, store_failed, Endpoint, FailedStage, WebhookOutcome};
use super::{WebhookPipeline, PRUNE_EVERY};
use crate::registry::Gateway;
use crate::store::{Claim, DedupeKey, InboxOutcome};

impl WebhookPipeline {
    /// Processes one delivery to `provider` (the `{provider}` of `POST /webhooks/{provider}`).
    pub async fn process(&self, provider: &str, request: &WebhookRequest<'_>) -> WebhookOutcome {
        match self.endpoint(provider) {
            Some(endpoint) => self.process_at(&endpoint, request).await,
            None => {
                webhook_decision(provider, None, None, Some("unknown_provider"));
                WebhookOutcome::UnknownProvider(provider.to_owned())
            }
        }
    }

    /// Processes one delivery to an endpoint resolved with [`endpoint`](Self::endpoint).
    pub async fn process_at(
        &self,
        endpoint: &Endpoint,
        request: &WebhookRequest<'_>,
    ) -> WebhookOutcome {
        let provider = endpoint.provider.as_str();
        let verifier = &endpoint.verifier;
        let gateway = &endpoint.gateway;
        if let Err(e) = request.check_body_size(endpoint.max_body_bytes) {
            webhook_decision(provider, None, None, Some(e.label()));
            return WebhookOutcome::Rejected(e);
        }
        let event = match verifier.verify(request) {
            Ok(event) => event,
            Err(e) => {
                webhook_decision(provider, None, None, Some(e.label()));
                return WebhookOutcome::Rejected(e);
            }
        };

        // A per-payment secret proves nothing until compared with the one saved at confirm —
        // whatever the trust: a relay's signature (Toss `DEPOSIT_CALLBACK` relayed with
        // `x-tosspayments-signature`) proves who forwarded the body, not that its secret is the
        // payment's.
        let mut fetched = None;
        if let Some(carried) = event.carried_secret() {
            match self.expected_secret(gateway, &event).await {
                Ok((Some(expected), payment)) if carried.ct_eq(expected.expose()) => {
                    fetched = payment;
                }
                Ok(_) => {
                    let e = WebhookError::SecretMismatch;
                    webhook_decision(
                        provider,
                        Some(&event.dedupe_id),
                        Some(event.trust.label()),
                        Some(e.label()),
                    );
                    return WebhookOutcome::Rejected(e);
                }
                Err(outcome) => return outcome,
            }
        }
        webhook_decision(
            provider,
            Some(&event.dedupe_id),
            Some(event.trust.label()),
            None,
        );
        let (outcome, recorded) = self.dedupe_and_apply(endpoint, &event, fetched).await;
        if recorded {
            self.count_record();
            return outcome;
        }
        self.record(&Observation::Webhook(&event), outcome).await
    }

    /// Records a verified delivery's outcome in the inbox before the PG is answered; a failed
    /// write is a 5xx (the redelivery is then a duplicate). A duplicate of a processed delivery
    /// writes nothing: it was answered from one read.
    pub(crate) async fn record(
        &self,
        seen: &Observation<'_>,
        outcome: WebhookOutcome,
    ) -> WebhookOutcome {
        let inbox_outcome = match &outcome {
            WebhookOutcome::Processed(_) => InboxOutcome::Applied,
            // Being processed elsewhere is not this event's failure: count the attempt, keep
            // the outcome the processing records.
            WebhookOutcome::Failed {
                stage: FailedStage::InProgress,
                ..
            } => InboxOutcome::Duplicate,
            WebhookOutcome::Ignored { reason, .. } => InboxOutcome::Ignored {
                reason: reason.clone(),
            },
            WebhookOutcome::Failed { stage, message } => InboxOutcome::Failed {
                stage: stage.as_str().to_owned(),
                error: message.clone(),
            },
            WebhookOutcome::Duplicate { .. }
            | WebhookOutcome::Rejected(_)
            | WebhookOutcome::UnknownProvider(_) => return outcome,
        };
        let payment_key = match &outcome {
            WebhookOutcome::Processed(e) => Some(e.payment_key.clone()),
            _ => None,
        };
        let record = inbox_record(seen, inbox_outcome, payment_key);
        if let Err(e) = self.inner.inbox.record(record).await {
            tracing::warn!(target: hanpay_core::observe::TARGET, error = %e, "inbox write failed");
            if matches!(outcome, WebhookOutcome::Failed { .. }) {
                return outcome;
            }
            return store_failed(e);
        }
        self.count_record();
        outcome
    }

    /// Counts an inbox record; every [`PRUNE_EVERY`]th prunes the inbox in the background.
    fn count_record(&self) {
        if self.inner.recorded.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            let inbox = Arc::clone(&self.inner.inbox);
            let retention = self.inner.inbox_retention;
            tokio::spawn(async move {
                if let Err(e) = inbox.prune(retention).await {
                    tracing::warn!(target: hanpay_core::observe::TARGET, error = %e, "inbox prune failed");
                }
            });
        }
    }

    /// Dedupe, then apply: everything after verification. `true` with the outcome when the
    /// delivery's dedupe entry and inbox record were committed with its change.
    async fn dedupe_and_apply(
        &self,
        endpoint: &Endpoint,
        event: &WebhookEvent,
        fetched: Option<Payment>,
    ) -> (WebhookOutcome, bool) {
        let inner = &self.inner;
        let key = DedupeKey {
            provider: event.provider.clone(),
            dedupe_id: event.dedupe_id.clone(),
        };
        // With stores of one backend, nothing is claimed: a processed delivery is found with
        // one read, and the delivery's dedupe entry commits with its change under the
        // payment's lock (which also serialises two deliveries of the same event).
        let claimed = if inner.combined {
            match inner.dedupe.processed(&key).await {
                Ok(true) => Ok(Claim::Duplicate),
                Ok(false) => Ok(Claim::New),
                Err(e) => Err(e),
            }
        } else {
            inner.dedupe.claim(&key, inner.lease).await
        };
        match claimed {
            Ok(Claim::New) => {}
            Ok(Claim::Duplicate) => {
                let duplicate = WebhookOutcome::Duplicate {
                    dedupe_id: event.dedupe_id.clone(),
                };
                return (duplicate, false);
            }
            Ok(Claim::InProgress) => {
                let outcome = failed(
                    FailedStage::InProgress,
                    "the same event is being processed; redeliver later",
                );
                return (outcome, false);
            }
            Err(e) => return (store_failed(e), false),
        }

        let mut applying = Applying {
            delivery: Some(Delivery {
                key,
                ttl: endpoint.dedupe_ttl,
                committed: false,
            }),
            ..Applying::default()
        };
        let outcome = self
            .apply_keeping(
                &endpoint.gateway,
                &Observation::Webhook(event),
                fetched,
                &mut applying,
            )
            .await;
        let Some(delivery) = applying.delivery else {
            return (outcome, false);
        };
        if delivery.committed {
            return (outcome, true);
        }
        if matches!(outcome, WebhookOutcome::Duplicate { .. }) {
            return (outcome, false);
        }
        if matches!(outcome, WebhookOutcome::Failed { .. }) {
            if !inner.combined {
                if let Err(e) = inner.dedupe.release(&delivery.key).await {
                    tracing::warn!(target: hanpay_core::observe::TARGET, error = %e, "dedupe release failed");
                }
            }
            return (outcome, false);
        }
        if let Err(e) = inner
            .dedupe
            .complete(&delivery.key, endpoint.dedupe_ttl)
            .await
        {
            // The move is committed: the redelivery will find nothing to apply.
            return (store_failed(e), false);
        }
        (outcome, false)
    }

    /// The secret to compare with: the saved one, else the one the PG returns for the payment.
    async fn expected_secret(
        &self,
        gateway: &Gateway,
        event: &WebhookEvent,
    ) -> Result<(Option<Secret>, Option<Payment>), WebhookOutcome> {
        let saved = self
            .inner
            .hanpay
            .secrets()
            .find(
                &event.provider,
                event.payment_key.as_deref(),
                event.order_id.as_deref(),
            )
            .await
            .map_err(store_failed)?;
        if saved.is_some() {
            return Ok((saved, None));
        }
        let payment = fetch(
            gateway,
            &event.dedupe_id,
            event.payment_key.as_deref(),
            event.order_id.as_deref(),
        )
        .await?;
        Ok((payment.secret.clone(), Some(payment)))
    }
}
