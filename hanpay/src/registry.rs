//! [`Hanpay`]: the configured providers by name, with a default, and [`Gateway`]: one
//! provider seen through the facade (confirm and virtual-account issue save the payment's
//! secret for webhook checks).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use hanpay_core::{
    async_trait, BillingChargeRequest, CancelRequest, Capabilities, ConfirmRequest, Payment,
    PaymentError, PaymentProvider, ProviderId, VirtualAccountRequest, WebhookVerifier,
};

use crate::checkout::CheckoutError;
use crate::config::{ConfigError, HanpayConfig};
use crate::secrets::{PaymentSecrets, SavedSecret};
use crate::store::{PaymentStateStore, Stores};

#[derive(Clone)]
struct Entry {
    provider: Arc<dyn PaymentProvider>,
    verifier: Option<Arc<dyn WebhookVerifier>>,
}

struct Inner {
    entries: BTreeMap<String, Entry>,
    default: String,
    default_provider: Arc<dyn PaymentProvider>,
    stores: Stores,
    max_webhook_body_bytes: Option<usize>,
}

/// The payment gateways an application uses, by name, with a default.
///
/// Built from configuration ([`Hanpay::from_env`], [`Hanpay::from_config`]) or by hand
/// ([`Hanpay::builder`]). Cheap to clone. Switching the PG is a configuration change: code
/// that uses [`Hanpay::gateway`] does not name one.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use hanpay::{ConfirmRequest, Hanpay, Money, PaymentProvider};
/// // HANPAY_PROVIDER=tosspayments TOSS_SECRET_KEY=test_sk_… (or PORTONE_API_SECRET=…)
/// let hanpay = Hanpay::from_env()?;
/// let payment = hanpay
///     .gateway()
///     .confirm(&ConfirmRequest::new("tgen_20240903", "order-1001", Money::krw(58_000)))
///     .await?;
/// println!("{} {}", payment.status, payment.total); // PAID 58,000원
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Hanpay {
    inner: Arc<Inner>,
}

impl fmt::Debug for Hanpay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hanpay")
            .field("providers", &self.names())
            .field("default", &self.inner.default)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Hanpay`] from provider instances.
pub struct HanpayBuilder {
    entries: BTreeMap<String, Entry>,
    order: Vec<String>,
    default: Option<String>,
    stores: Option<Stores>,
    secrets: Option<Arc<dyn PaymentSecrets>>,
    max_webhook_body_bytes: Option<usize>,
}

impl fmt::Debug for HanpayBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HanpayBuilder")
            .field("providers", &self.order)
            .field("default", &self.default)
            .finish_non_exhaustive()
    }
}

impl HanpayBuilder {
    /// Registers a provider under its [`id`](PaymentProvider::id), without webhooks.
    pub fn provider(mut self, provider: Arc<dyn PaymentProvider>) -> Self {
        self.insert(provider, None);
        self
    }

    /// Registers a provider and the verifier of its webhooks.
    pub fn provider_with_webhooks(
        mut self,
        provider: Arc<dyn PaymentProvider>,
        verifier: Arc<dyn WebhookVerifier>,
    ) -> Self {
        self.insert(provider, Some(verifier));
        self
    }

    fn insert(
        &mut self,
        provider: Arc<dyn PaymentProvider>,
        verifier: Option<Arc<dyn WebhookVerifier>>,
    ) {
        let name = provider.id().as_str().to_owned();
        if !self.order.contains(&name) {
            self.order.push(name.clone());
        }
        self.entries.insert(name, Entry { provider, verifier });
    }

    /// The provider used when none is named (default: the first registered).
    pub fn default_provider(mut self, name: impl Into<String>) -> Self {
        self.default = Some(name.into());
        self
    }

    /// The webhook state: dedupe, payment states, secrets, locks, inbox (default:
    /// [`Stores::memory`], lost on restart; see [`Hanpay::open`] for a database).
    pub fn stores(mut self, stores: Stores) -> Self {
        self.stores = Some(stores);
        self
    }

    /// Where per-payment secrets are kept (default: those of [`stores`](Self::stores)).
    pub fn secrets(mut self, store: Arc<dyn PaymentSecrets>) -> Self {
        self.secrets = Some(store);
        self
    }

    /// Caps webhook bodies below each verifier's own limit.
    pub fn max_webhook_body_bytes(mut self, limit: usize) -> Self {
        self.max_webhook_body_bytes = Some(limit);
        self
    }

    /// Builds, checking that the default provider is registered.
    pub fn build(self) -> Result<Hanpay, ConfigError> {
        let default = match self.default.or_else(|| self.order.first().cloned()) {
            Some(d) => d,
            None => {
                return Err(ConfigError::Missing {
                    setting: "providers".into(),
                    hint: "register at least one provider".into(),
                })
            }
        };
        let Some(default_provider) = self.entries.get(&default).map(|e| Arc::clone(&e.provider))
        else {
            return Err(ConfigError::invalid(
                "default (HANPAY_PROVIDER)",
                format!(
                    "{default:?} is not a registered provider (registered: {})",
                    self.order.join(", ")
                ),
            ));
        };
        Ok(Hanpay {
            inner: Arc::new(Inner {
                entries: self.entries,
                default,
                default_provider,
                stores: {
                    let mut stores = self.stores.unwrap_or_else(Stores::memory);
                    if let Some(secrets) = self.secrets {
                        stores.secrets = secrets;
                    }
                    stores
                },
                max_webhook_body_bytes: self.max_webhook_body_bytes,
            }),
        })
    }
}

/// A provider name that is not registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("provider {name:?} is not configured (configured: {configured})")]
pub struct UnknownProvider {
    /// The name asked for.
    pub name: String,
    /// The configured names, comma-separated.
    pub configured: String,
}

impl Hanpay {
    /// Starts an empty [`HanpayBuilder`].
    pub fn builder() -> HanpayBuilder {
        HanpayBuilder {
            entries: BTreeMap::new(),
            order: Vec::new(),
            default: None,
            stores: None,
            secrets: None,
            max_webhook_body_bytes: None,
        }
    }

    /// Builds every provider of `config`, on in-memory stores. Fails naming the setting when
    /// a key is refused, and when `database_url` names a database: open it with
    /// [`Hanpay::open`].
    pub fn from_config(config: &HanpayConfig) -> Result<Hanpay, ConfigError> {
        if let Some(url) = &config.database_url {
            if url.backend() != crate::store::Backend::Memory {
                return Err(ConfigError::invalid(
                    crate::config::DATABASE_URL_SETTING,
                    format!("{url} is a database: build with `Hanpay::open(&config).await`"),
                ));
            }
        }
        Hanpay::builder_for(config)?.build()
    }

    /// Builds every provider of `config` on the stores `database_url` names (memory when
    /// unset), applying migrations. A bad URL or an unreachable database fails here, naming
    /// the setting, without the password.
    pub async fn open(config: &HanpayConfig) -> Result<Hanpay, ConfigError> {
        let builder = Hanpay::builder_for(config)?;
        let url = config
            .database_url
            .clone()
            .unwrap_or_else(crate::store::DatabaseUrl::memory);
        let stores = Stores::open(&url, &crate::store::OpenOptions::default())
            .await
            .map_err(|e| {
                ConfigError::invalid(
                    crate::config::DATABASE_URL_SETTING,
                    format!("cannot open {url}: {}", e.message()),
                )
            })?;
        builder.stores(stores).build()
    }

    /// [`HanpayConfig::from_env`] then [`Hanpay::open`].
    pub async fn open_env() -> Result<Hanpay, ConfigError> {
        Hanpay::open(&HanpayConfig::from_env()?).await
    }

    fn builder_for(config: &HanpayConfig) -> Result<HanpayBuilder, ConfigError> {
        let mut builder = Hanpay::builder().default_provider(config.resolved_default()?);
        for configured in config.providers() {
            let built = configured.settings().build()?;
            builder = builder.provider_with_webhooks(built.provider, built.verifier);
        }
        if let Some(limit) = config.max_webhook_body_bytes {
            builder = builder.max_webhook_body_bytes(limit);
        }
        Ok(builder)
    }

    /// [`HanpayConfig::from_env`] then [`Hanpay::from_config`].
    pub fn from_env() -> Result<Hanpay, ConfigError> {
        Hanpay::from_config(&HanpayConfig::from_env()?)
    }

    /// The default provider's name.
    pub fn default_name(&self) -> &str {
        &self.inner.default
    }

    /// The registered names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.inner.entries.keys().map(String::as_str).collect()
    }

    /// The provider registered as `name`.
    pub fn provider(&self, name: &str) -> Option<Arc<dyn PaymentProvider>> {
        self.inner
            .entries
            .get(name)
            .map(|e| Arc::clone(&e.provider))
    }

    /// The default provider.
    pub fn default_provider(&self) -> Arc<dyn PaymentProvider> {
        self.gateway().provider
    }

    /// The webhook verifier of `name`, if it has one.
    pub fn verifier(&self, name: &str) -> Option<Arc<dyn WebhookVerifier>> {
        self.inner
            .entries
            .get(name)
            .and_then(|e| e.verifier.clone())
    }

    /// The per-payment secret store.
    pub fn secrets(&self) -> Arc<dyn PaymentSecrets> {
        Arc::clone(&self.inner.stores.secrets)
    }

    /// The webhook state stores.
    pub fn stores(&self) -> &Stores {
        &self.inner.stores
    }

    /// The configured cap on webhook bodies, if any.
    pub fn max_webhook_body_bytes(&self) -> Option<usize> {
        self.inner.max_webhook_body_bytes
    }

    /// The default provider through the facade.
    pub fn gateway(&self) -> Gateway {
        Gateway {
            provider: Arc::clone(&self.inner.default_provider),
            secrets: self.secrets(),
            states: Arc::clone(&self.inner.stores.states),
        }
    }

    /// The provider `name` through the facade.
    pub fn gateway_for(&self, name: &str) -> Result<Gateway, UnknownProvider> {
        self.provider(name)
            .map(|provider| Gateway {
                provider,
                secrets: self.secrets(),
                states: Arc::clone(&self.inner.stores.states),
            })
            .ok_or_else(|| UnknownProvider {
                name: name.to_owned(),
                configured: self.names().join(", "),
            })
    }
}

/// One provider seen through the facade. Implements [`PaymentProvider`] by delegation, and
/// saves the per-payment secret returned by [`confirm`](PaymentProvider::confirm) and
/// [`issue_virtual_account`](PaymentProvider::issue_virtual_account) into the
/// [`PaymentSecrets`] store, so webhooks that carry it can be checked. It also starts
/// tracking each payment it confirms, issues or charges
/// ([`PaymentStateStore::track`]), so that the reconciler converges it even if every webhook
/// about it is lost.
#[derive(Clone)]
pub struct Gateway {
    provider: Arc<dyn PaymentProvider>,
    secrets: Arc<dyn PaymentSecrets>,
    states: Arc<dyn PaymentStateStore>,
}

impl fmt::Debug for Gateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gateway")
            .field("provider", self.provider.id())
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// The underlying provider.
    pub fn provider(&self) -> &Arc<dyn PaymentProvider> {
        &self.provider
    }

    async fn save_secret(&self, payment: &Payment) {
        if let Err(e) = self
            .states
            .track(
                &payment.provider,
                &payment.payment_key,
                Some(&payment.order_id),
            )
            .await
        {
            tracing::warn!(
                target: hanpay_core::observe::TARGET,
                provider = %payment.provider,
                error = %e,
                "could not track the payment for reconciliation"
            );
        }
        if let Some(secret) = &payment.secret {
            let saved = SavedSecret {
                provider: payment.provider.clone(),
                payment_key: payment.payment_key.clone(),
                order_id: payment.order_id.clone(),
                secret: secret.clone(),
            };
            // The payment itself succeeded; a webhook without a saved secret is still checked
            // against the secret of the payment fetched from the PG.
            if let Err(e) = self.secrets.save(saved).await {
                tracing::warn!(
                    target: hanpay_core::observe::TARGET,
                    provider = %payment.provider,
                    error = %e,
                    "could not save the payment secret"
                );
            }
        }
    }

    /// Confirms like [`PaymentProvider::confirm`] but tells the storefront's cases apart:
    /// amount mismatch, already confirmed, expired session, failed at the PG, outcome unknown
    /// (see [`crate::checkout`]). On a refusal it looks the payment up to classify it.
    pub async fn checkout_confirm(
        &self,
        request: &ConfirmRequest,
    ) -> Result<Payment, CheckoutError> {
        match self.confirm(request).await {
            Ok(payment) => {
                if payment.total != request.amount {
                    let requested = request.amount.clone();
                    let actual = payment.total.clone();
                    return Err(CheckoutError::AmountMismatch {
                        requested: requested.clone(),
                        actual: crate::checkout::MaybeMoney(Some(actual.clone())),
                        error: PaymentError::new(
                            hanpay_core::ErrorKind::AmountMismatch,
                            format!("the PG confirmed {actual}, the order says {requested}"),
                        )
                        .with_provider(payment.provider.clone())
                        .with_operation("confirm"),
                    });
                }
                Ok(payment)
            }
            Err(error) => {
                // A refusal by the PG, or an amount mismatch the provider found itself (Toss's
                // pre-confirm check, NICEPAY's approve answer): look the payment up, so the
                // answer names the PG's amount, not "an unknown amount".
                let mismatch = error.kind() == hanpay_core::ErrorKind::AmountMismatch;
                let looked_up = if error.is_outcome_unknown() || (error.pg().is_none() && !mismatch)
                {
                    None
                } else {
                    self.provider.payment(&request.payment_key).await.ok()
                };
                Err(CheckoutError::classify(error, &request.amount, looked_up))
            }
        }
    }
}

#[async_trait]
impl PaymentProvider for Gateway {
    fn id(&self) -> &ProviderId {
        self.provider.id()
    }

    fn capabilities(&self) -> Capabilities {
        self.provider.capabilities()
    }

    async fn confirm(&self, request: &ConfirmRequest) -> Result<Payment, PaymentError> {
        let payment = self.provider.confirm(request).await?;
        self.save_secret(&payment).await;
        Ok(payment)
    }

    async fn payment(&self, payment_key: &str) -> Result<Payment, PaymentError> {
        self.provider.payment(payment_key).await
    }

    async fn payment_by_order_id(&self, order_id: &str) -> Result<Payment, PaymentError> {
        self.provider.payment_by_order_id(order_id).await
    }

    async fn cancel(&self, request: &CancelRequest) -> Result<Payment, PaymentError> {
        self.provider.cancel(request).await
    }

    async fn issue_virtual_account(
        &self,
        request: &VirtualAccountRequest,
    ) -> Result<Payment, PaymentError> {
        let payment = self.provider.issue_virtual_account(request).await?;
        self.save_secret(&payment).await;
        Ok(payment)
    }

    async fn charge_billing_key(
        &self,
        request: &BillingChargeRequest,
    ) -> Result<Payment, PaymentError> {
        let payment = self.provider.charge_billing_key(request).await?;
        self.save_secret(&payment).await;
        Ok(payment)
    }
}
