//! What the pipeline did with a delivery and what to answer the PG: [`WebhookOutcome`],
//! [`WebhookAnswer`], [`FailedStage`], and each provider's resolved [`Endpoint`].

use std::sync::Arc;
use std::time::Duration;

use hanpay_core::webhook::WebhookAck;
use hanpay_core::{WebhookError, WebhookVerifier};
use serde_json::json;

use crate::event::PaymentEvent;
use crate::registry::Gateway;
use crate::store::StoreError;

/// Which step of the pipeline failed with a 5xx.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailedStage {
    /// The dedupe, secret or state store.
    Store,
    /// Fetching the payment from the PG.
    Reconcile,
    /// The application's handler.
    Handler,
    /// Another delivery of the same event is being processed.
    InProgress,
}

impl FailedStage {
    /// The stage's name (`"reconcile"`), as serialised and recorded in the inbox.
    pub fn as_str(self) -> &'static str {
        match self {
            FailedStage::Store => "store",
            FailedStage::Reconcile => "reconcile",
            FailedStage::Handler => "handler",
            FailedStage::InProgress => "in_progress",
        }
    }
}

/// What the pipeline did with one delivery, and what to answer.
#[derive(Debug)]
#[non_exhaustive]
pub enum WebhookOutcome {
    /// A status move was applied and the handler succeeded.
    Processed(Box<PaymentEvent>),
    /// Verified, but nothing to apply (late, out of order, or no change); recorded.
    Ignored {
        /// The event's dedupe id.
        dedupe_id: String,
        /// Why.
        reason: String,
    },
    /// This delivery was already processed.
    Duplicate {
        /// The event's dedupe id.
        dedupe_id: String,
    },
    /// Refused as not authentic (or too large, or malformed).
    Rejected(WebhookError),
    /// No provider of that name is configured with webhooks.
    UnknownProvider(String),
    /// Processing failed; the PG must redeliver.
    Failed {
        /// Where.
        stage: FailedStage,
        /// Why (never a secret).
        message: String,
    },
}

impl WebhookOutcome {
    /// The HTTP status to answer the PG with.
    pub fn http_status(&self) -> u16 {
        match self {
            WebhookOutcome::Processed(_)
            | WebhookOutcome::Ignored { .. }
            | WebhookOutcome::Duplicate { .. } => 200,
            WebhookOutcome::Rejected(e) => e.http_status(),
            WebhookOutcome::UnknownProvider(_) => 404,
            WebhookOutcome::Failed { stage, .. } => match stage {
                FailedStage::Reconcile | FailedStage::InProgress => 503,
                FailedStage::Store | FailedStage::Handler => 500,
            },
        }
    }

    /// A short label: `processed`, `ignored`, `duplicate`, `rejected`, `unknown_provider`,
    /// `failed`.
    pub fn label(&self) -> &'static str {
        match self {
            WebhookOutcome::Processed(_) => "processed",
            WebhookOutcome::Ignored { .. } => "ignored",
            WebhookOutcome::Duplicate { .. } => "duplicate",
            WebhookOutcome::Rejected(_) => "rejected",
            WebhookOutcome::UnknownProvider(_) => "unknown_provider",
            WebhookOutcome::Failed { .. } => "failed",
        }
    }

    /// The JSON body to answer with (never a secret).
    pub fn body(&self) -> serde_json::Value {
        match self {
            WebhookOutcome::Processed(event) => json!({
                "result": "processed",
                "dedupe_id": event.dedupe_id,
                "payment_key": event.payment_key,
                "old_status": event.old_status,
                "new_status": event.new_status,
                "skipped": event.skipped,
                "action": event.action,
                "actions": event.actions,
            }),
            WebhookOutcome::Ignored { dedupe_id, reason } => {
                json!({"result": "ignored", "dedupe_id": dedupe_id, "reason": reason})
            }
            WebhookOutcome::Duplicate { dedupe_id } => {
                json!({"result": "duplicate", "dedupe_id": dedupe_id})
            }
            WebhookOutcome::Rejected(e) => {
                json!({"result": "rejected", "error": e.label(), "message": e.to_string()})
            }
            WebhookOutcome::UnknownProvider(name) => {
                json!({"result": "unknown_provider", "provider": name})
            }
            WebhookOutcome::Failed { stage, message } => {
                json!({"result": "failed", "stage": stage, "message": message})
            }
        }
    }
}

impl WebhookOutcome {
    /// The whole answer: for a delivery that was taken (processed, ignored, a duplicate), the
    /// PG's own [`WebhookAck`] (NICEPAY: `200 OK` as text); otherwise the status of
    /// [`http_status`](Self::http_status) with the JSON [`body`](Self::body).
    pub fn answer(&self, ack: Option<&WebhookAck>) -> WebhookAnswer {
        let taken = matches!(
            self,
            WebhookOutcome::Processed(_)
                | WebhookOutcome::Ignored { .. }
                | WebhookOutcome::Duplicate { .. }
        );
        match ack {
            Some(ack) if taken => WebhookAnswer {
                status: ack.status,
                content_type: ack.content_type,
                body: match ack.body {
                    Some(fixed) => fixed.as_bytes().to_vec(),
                    None => self.body().to_string().into_bytes(),
                },
            },
            _ => WebhookAnswer {
                status: self.http_status(),
                content_type: "application/json",
                body: self.body().to_string().into_bytes(),
            },
        }
    }
}

/// What a receiver sends back to the PG ([`WebhookOutcome::answer`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookAnswer {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type` of the body.
    pub content_type: &'static str,
    /// The body.
    pub body: Vec<u8>,
}

/// One provider's webhook endpoint, resolved once per delivery: its verifier, gateway, body
/// cap, dedupe window and the answer its PG expects ([`WebhookPipeline::endpoint`](super::WebhookPipeline::endpoint)).
#[derive(Clone)]
pub struct Endpoint {
    pub(crate) provider: String,
    pub(crate) verifier: Arc<dyn WebhookVerifier>,
    pub(crate) gateway: Gateway,
    pub(crate) max_body_bytes: usize,
    pub(crate) dedupe_ttl: Duration,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("provider", &self.provider)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("dedupe_ttl", &self.dedupe_ttl)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// The provider's name.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The body cap: the verifier's, lowered by the configured one.
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// How long processed deliveries are remembered.
    pub fn dedupe_ttl(&self) -> Duration {
        self.dedupe_ttl
    }

    /// The answer the PG expects for a delivery that was taken.
    pub fn ack(&self) -> WebhookAck {
        self.verifier.ack()
    }

    /// The answer to send for `outcome`.
    pub fn answer(&self, outcome: &WebhookOutcome) -> WebhookAnswer {
        outcome.answer(Some(&self.ack()))
    }
}

/// A 5xx outcome at `stage`.
pub(crate) fn failed(stage: FailedStage, message: impl Into<String>) -> WebhookOutcome {
    WebhookOutcome::Failed {
        stage,
        message: message.into(),
    }
}

/// A 5xx outcome for a store error.
pub(crate) fn store_failed(e: StoreError) -> WebhookOutcome {
    failed(FailedStage::Store, e.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn stage_names_are_the_serde_names() {
        for stage in [
            FailedStage::Store,
            FailedStage::Reconcile,
            FailedStage::Handler,
            FailedStage::InProgress,
        ] {
            assert_eq!(
                serde_json::to_value(stage).unwrap(),
                serde_json::Value::String(stage.as_str().into())
            );
        }
    }

    #[test]
    fn a_taken_delivery_gets_the_pgs_own_answer() {
        let ok = WebhookAck::fixed(200, "OK", "text/plain; charset=utf-8");
        let duplicate = WebhookOutcome::Duplicate {
            dedupe_id: "d".into(),
        };
        let answer = duplicate.answer(Some(&ok));
        assert_eq!((answer.status, answer.body.as_slice()), (200, &b"OK"[..]));
        assert_eq!(answer.content_type, "text/plain; charset=utf-8");
        // A refusal keeps its status and JSON body whatever the PG's ack.
        let refused = WebhookOutcome::Rejected(WebhookError::SecretMismatch).answer(Some(&ok));
        assert_eq!(refused.status, 401);
        assert_eq!(refused.content_type, "application/json");
        // The default ack is the JSON summary.
        let summary = duplicate.answer(Some(&WebhookAck::JSON_SUMMARY));
        assert_eq!(summary.body, duplicate.body().to_string().into_bytes());
    }
}
