//! Listing and replaying the inbox ([`WebhookPipeline::events`], [`WebhookPipeline::replay`]):
//! an event whose handler kept failing past the PG's redelivery span is processed again from
//! the PG's current state.

use crate::pipeline::{Ask, Observation, WebhookOutcome, WebhookPipeline};
use crate::store::{DedupeKey, InboxEntry, InboxFilter, StoreError};

/// Why a replay could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// No inbox entry has this id.
    #[error("no event with id {0} in the inbox")]
    NotFound(i64),
    /// The entry's provider is not configured.
    #[error("the event's provider {0:?} is not configured")]
    UnknownProvider(String),
    /// The inbox could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl WebhookPipeline {
    /// The inbox entries passing `filter`, newest first.
    pub async fn events(&self, filter: &InboxFilter) -> Result<Vec<InboxEntry>, StoreError> {
        self.inbox().list(filter).await
    }

    /// Processes the inbox entry `id` again: the payment is re-fetched from the PG (the
    /// original signature has long expired, so the event counts as unverified and is
    /// reconciled) and any legal move runs apply → handler once. On success the delivery is
    /// marked processed, so a later redelivery is a duplicate; the entry records the outcome.
    pub async fn replay(&self, id: i64) -> Result<WebhookOutcome, ReplayError> {
        let entry = self
            .inbox()
            .entry(id)
            .await?
            .ok_or(ReplayError::NotFound(id))?;
        let gateway = self
            .hanpay()
            .gateway_for(entry.provider.as_str())
            .map_err(|_| ReplayError::UnknownProvider(entry.provider.as_str().to_owned()))?;
        // The original signature has long expired: the PG's answer decides.
        let seen = Observation::Ask(Ask {
            provider: entry.provider.clone(),
            payment_key: entry.payment_key.clone(),
            order_id: entry.order_id.clone(),
            id: entry.dedupe_id.clone(),
            kind: entry.kind.parse().unwrap_or_else(|never| match never {}),
        });
        let outcome = self.apply(&gateway, &seen, None).await;
        if !matches!(outcome, WebhookOutcome::Failed { .. }) {
            let key = DedupeKey {
                provider: entry.provider.clone(),
                dedupe_id: entry.dedupe_id.clone(),
            };
            let ttl = self.dedupe_ttl(entry.provider.as_str());
            if let Err(e) = self.dedupe_store().complete(&key, ttl).await {
                tracing::warn!(target: hanpay_core::observe::TARGET, error = %e, "dedupe complete failed after a replay");
            }
        }
        Ok(self.record(&seen, outcome).await)
    }

    /// Replays every entry whose last outcome is a failure, oldest first.
    pub async fn replay_failed(&self) -> Result<Vec<(i64, WebhookOutcome)>, ReplayError> {
        let mut failed = self
            .events(&InboxFilter {
                failed_only: true,
                ..InboxFilter::default()
            })
            .await?;
        failed.reverse();
        let mut outcomes = Vec::with_capacity(failed.len());
        for entry in failed {
            outcomes.push((entry.id, self.replay(entry.id).await?));
        }
        Ok(outcomes)
    }
}
