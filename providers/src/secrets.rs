//! [`PaymentSecrets`]: the per-payment secrets the PG returned at confirm or virtual-account
//! issue, kept so that a webhook carrying one (Toss `DEPOSIT_CALLBACK`) can be checked.
//!
//! The facade's [`Gateway::confirm`](crate::Gateway) and
//! [`Gateway::issue_virtual_account`](crate::Gateway) save them automatically.

use std::collections::HashMap;
use std::sync::Mutex;

use hanpay_core::{async_trait, ProviderId, Secret};

use crate::store::StoreError;

/// A saved per-payment secret and what it belongs to.
#[derive(Debug, Clone)]
pub struct SavedSecret {
    /// The provider.
    pub provider: ProviderId,
    /// The PG's payment key.
    pub payment_key: String,
    /// The merchant's order id.
    pub order_id: String,
    /// The secret (prints `***`).
    pub secret: Secret,
}

/// Where per-payment secrets are kept. Implement it over your database for several
/// application instances; [`InMemoryPaymentSecrets`] is the default.
#[async_trait]
pub trait PaymentSecrets: Send + Sync {
    /// Saves (or replaces) the secret of a payment.
    async fn save(&self, saved: SavedSecret) -> Result<(), StoreError>;

    /// The secret of the payment with this key, or else of the payment for this order.
    async fn find(
        &self,
        provider: &ProviderId,
        payment_key: Option<&str>,
        order_id: Option<&str>,
    ) -> Result<Option<Secret>, StoreError>;
}

/// An in-process [`PaymentSecrets`] (lost on restart: fine for one instance and for tests).
#[derive(Debug, Default)]
pub struct InMemoryPaymentSecrets {
    inner: Mutex<Secrets>,
}

#[derive(Debug, Default)]
struct Secrets {
    by_key: HashMap<(ProviderId, String), Secret>,
    by_order: HashMap<(ProviderId, String), Secret>,
}

impl InMemoryPaymentSecrets {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl PaymentSecrets for InMemoryPaymentSecrets {
    async fn save(&self, saved: SavedSecret) -> Result<(), StoreError> {
        let mut inner = self.inner.lock().map_err(|_| StoreError::poisoned())?;
        inner.by_key.insert(
            (saved.provider.clone(), saved.payment_key),
            saved.secret.clone(),
        );
        inner
            .by_order
            .insert((saved.provider, saved.order_id), saved.secret);
        Ok(())
    }

    async fn find(
        &self,
        provider: &ProviderId,
        payment_key: Option<&str>,
        order_id: Option<&str>,
    ) -> Result<Option<Secret>, StoreError> {
        let inner = self.inner.lock().map_err(|_| StoreError::poisoned())?;
        let by_key = payment_key.and_then(|k| inner.by_key.get(&(provider.clone(), k.to_owned())));
        let by_order =
            || order_id.and_then(|o| inner.by_order.get(&(provider.clone(), o.to_owned())));
        Ok(by_key.or_else(by_order).cloned())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn finds_by_key_or_order() {
        let store = InMemoryPaymentSecrets::new();
        let toss = ProviderId::from_static("tosspayments");
        store
            .save(SavedSecret {
                provider: toss.clone(),
                payment_key: "pk1".into(),
                order_id: "order-1".into(),
                secret: Secret::new("ps_1"),
            })
            .await
            .unwrap();
        let by_key = store.find(&toss, Some("pk1"), None).await.unwrap();
        assert!(by_key.unwrap().ct_eq("ps_1"));
        let by_order = store.find(&toss, None, Some("order-1")).await.unwrap();
        assert!(by_order.unwrap().ct_eq("ps_1"));
        let other = ProviderId::from_static("portone");
        assert!(store
            .find(&other, Some("pk1"), None)
            .await
            .unwrap()
            .is_none());
        assert!(!format!("{store:?}").contains("ps_1"));
    }
}
