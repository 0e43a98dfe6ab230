//! [`TossPayments`]: the `hanpay_core::PaymentProvider` for Toss Payments.

use async_trait::async_trait;
use hanpay_core::{
    BillingChargeRequest, CancelRequest, Capabilities, Capability, ConfirmRequest, ErrorKind,
    Payment, PaymentError, PaymentProvider, PaymentStatus, ProviderId, RetryPolicy, Secret,
    VirtualAccountRequest,
};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::client::{PostError, Timeouts, Transport};
use crate::errors::ConfigError;
use crate::mapping::{self, cancel::cancel_body, payment_from_bytes, PROVIDER_ID};
use crate::wire::{Billing, BillingIssueBody};

/// The Toss API's base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.tosspayments.com";

/// Characters left as they are in a path segment (RFC 3986 unreserved).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn segment(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

fn new_idempotency_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Toss Payments, through the `/v1` server API.
///
/// ```
/// use hanpay_tosspayments::{TossPayments, Timeouts};
/// use std::time::Duration;
/// let toss = TossPayments::builder("test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R")
///     .timeouts(Timeouts::default().payment(Duration::from_secs(60)))
///     .build()
///     .unwrap();
/// assert!(toss.is_test());
/// // A client key is refused with a message saying which key is needed.
/// let err = TossPayments::builder("test_ck_D5GePWvyJnrK0W0k6q8gLzN97Eoq").build().unwrap_err();
/// assert!(err.to_string().contains("secret key"));
/// ```
///
/// - Auth: `Authorization: Basic base64("{secretKey}:")`, padded, with the trailing colon.
/// - Every POST carries an `Idempotency-Key` (the request's, or a fresh UUID per operation,
///   reused on its retries). Only transient failures are retried (see [`crate::errors`]).
/// - A confirm or cancel that times out or loses its connection is retried with the same key
///   (Toss answers it with the first request's result, never repeating the operation); only
///   when the retries run out without an answer does it fail with
///   [`ErrorKind::OutcomeUnknown`]: look the payment up before anything else.
/// - Because Toss replays a completed error for the same key for 15 days, after the same error
///   came back twice for one key the payment is looked up, and only if nothing happened is a
///   new key tried.
/// - A confirm is one call: Toss checks the amount itself. A refused confirm is looked up once to
///   tell an amount mismatch ([`ErrorKind::AmountMismatch`]) apart; a lookup before every
///   confirm is an option ([`TossPaymentsBuilder::verify_amount_before_confirm`], off by
///   default). Before a cancel, the
///   payment is looked up so the cancel is validated against its balance, status and method
///   (a deposited virtual account needs the customer's own refund account).
pub struct TossPayments {
    transport: Transport,
    test: bool,
    verify_amount: bool,
}

impl std::fmt::Debug for TossPayments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TossPayments")
            .field("test", &self.test)
            .field("transport", &self.transport)
            .finish()
    }
}

/// Builds a [`TossPayments`].
pub struct TossPaymentsBuilder {
    secret_key: Secret,
    base_url: String,
    timeouts: Timeouts,
    retry: RetryPolicy,
    verify_amount: bool,
    http: Option<reqwest::Client>,
}

impl std::fmt::Debug for TossPaymentsBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TossPaymentsBuilder")
            .field("secret_key", &self.secret_key)
            .field("base_url", &self.base_url)
            .field("timeouts", &self.timeouts)
            .field("retry", &self.retry)
            .field("own_http_client", &self.http.is_some())
            .finish()
    }
}

/// Checks that `key` is a Toss **secret** key and says which key is needed otherwise.
fn check_secret_key(key: &str) -> Result<bool, ConfigError> {
    const SECRET: [&str; 4] = ["test_sk_", "live_sk_", "test_gsk_", "live_gsk_"];
    const CLIENT: [&str; 4] = ["test_ck_", "live_ck_", "test_gck_", "live_gck_"];
    let need = "Toss needs a secret key (test_sk_…/live_sk_… for the API individual keys, \
                test_gsk_…/live_gsk_… for payment-widget keys), from 개발자센터 > API 키";
    if key.is_empty() {
        return Err(ConfigError::InvalidSecretKey(format!(
            "the secret key is empty; {need}"
        )));
    }
    if key.starts_with('\u{feff}') || key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ConfigError::InvalidSecretKey(format!(
            "the secret key contains whitespace, a control character or a BOM; {need}"
        )));
    }
    if let Some(prefix) = CLIENT.iter().find(|p| key.starts_with(*p)) {
        return Err(ConfigError::InvalidSecretKey(format!(
            "that is a client key ({prefix}…), meant for the browser SDK; {need}"
        )));
    }
    match SECRET.iter().find(|p| key.starts_with(*p)) {
        Some(prefix) if key.len() > prefix.len() => Ok(prefix.starts_with("test_")),
        _ => Err(ConfigError::InvalidSecretKey(format!(
            "the key does not look like a Toss secret key; {need}"
        ))),
    }
}

impl TossPaymentsBuilder {
    /// Sets the base URL (default `https://api.tosspayments.com`; a `FakeToss`'s URL in tests).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Sets the timeouts.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Sets the retry policy for transient failures.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Sends every call through `client`, your own `reqwest::Client`: share one connection
    /// pool across your services, go through a proxy, or add middleware-like behaviour
    /// configured on the client (default headers, TLS roots, local address, …).
    ///
    /// The client is used as it is: its own connect timeout, user agent, proxies and redirect
    /// policy apply instead of hanpay's defaults (give it a connect timeout). The per-call
    /// timeouts of [`TossPaymentsBuilder::timeouts`] (payment and lookup) are still set on every
    /// request, and the retry policy and `Idempotency-Key` handling are unchanged.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hanpay_tosspayments::TossPayments;
    /// let shared = reqwest::Client::builder()
    ///     .connect_timeout(Duration::from_secs(5))
    ///     .pool_max_idle_per_host(16)
    ///     .build()
    ///     .unwrap();
    /// let toss = TossPayments::builder("test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R")
    ///     .http_client(shared.clone())
    ///     .build()
    ///     .unwrap();
    /// # let _ = toss;
    /// ```
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Whether a confirm first looks the session up and refuses a different amount with
    /// [`ErrorKind::AmountMismatch`] before the confirm is sent (default `false`). Toss refuses
    /// a different amount at confirm itself, and a refused confirm is then looked up to say
    /// [`ErrorKind::AmountMismatch`]; turning this on costs one more PG call on every confirm
    /// (the shopper waits for it at checkout) and buys a refusal before the confirm reaches
    /// Toss.
    pub fn verify_amount_before_confirm(mut self, verify: bool) -> Self {
        self.verify_amount = verify;
        self
    }

    /// Builds the client; refuses anything but a Toss secret key.
    pub fn build(self) -> Result<TossPayments, ConfigError> {
        let test = check_secret_key(self.secret_key.expose())?;
        let url = self.base_url.trim();
        if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() < 10 {
            return Err(ConfigError::InvalidBaseUrl(format!(
                "{url:?} is not an http(s) URL"
            )));
        }
        let transport = Transport::new(
            self.secret_key.expose(),
            url.to_owned(),
            self.timeouts,
            self.retry,
            self.http,
        )
        .map_err(ConfigError::HttpClient)?;
        Ok(TossPayments {
            transport,
            test,
            verify_amount: self.verify_amount,
        })
    }
}

/// A billing key issued from an `authKey` (`POST /v1/billing/authorizations/issue`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IssuedBillingKey {
    /// The billing key (a secret: whoever holds it can charge the customer).
    pub billing_key: Secret,
    /// The customer key it is bound to.
    pub customer_key: String,
    /// The masked card number, for a card billing key.
    pub masked_card_number: Option<String>,
}

impl TossPayments {
    /// A builder for `secret_key` (`test_sk_…`, `live_sk_…`, `test_gsk_…`, `live_gsk_…`).
    pub fn builder(secret_key: impl Into<Secret>) -> TossPaymentsBuilder {
        TossPaymentsBuilder {
            secret_key: secret_key.into(),
            base_url: DEFAULT_BASE_URL.to_owned(),
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
            verify_amount: false,
            http: None,
        }
    }

    /// `true` for a test key (`test_…`).
    pub fn is_test(&self) -> bool {
        self.test
    }

    /// Issues a billing key from the one-time `authKey` of the billing successUrl.
    pub async fn issue_billing_key(
        &self,
        auth_key: &str,
        customer_key: &str,
    ) -> Result<IssuedBillingKey, PaymentError> {
        if auth_key.is_empty() || auth_key.len() > 300 {
            return Err(PaymentError::invalid("authKey must be 1 to 300 characters"));
        }
        if customer_key.chars().count() < 2 || customer_key.chars().count() > 300 {
            return Err(PaymentError::invalid(
                "customerKey must be 2 to 300 characters",
            ));
        }
        let body = serde_json::to_vec(&BillingIssueBody {
            auth_key,
            customer_key,
        })
        .map_err(|e| PaymentError::invalid(e.to_string()))?;
        let key = new_idempotency_key();
        let bytes = self
            .transport
            .post(
                "issue_billing_key",
                "/v1/billing/authorizations/issue",
                &body,
                &key,
            )
            .await
            .map_err(|e| match e {
                PostError::Failed(e) | PostError::Replayed(e) => e,
            })?;
        let billing: Billing = serde_json::from_slice(&bytes).map_err(|e| {
            PaymentError::new(
                ErrorKind::Decode,
                format!("Toss sent an unreadable Billing: {e}"),
            )
            .with_provider(PROVIDER_ID)
        })?;
        Ok(IssuedBillingKey {
            billing_key: Secret::new(billing.billing_key),
            customer_key: billing
                .customer_key
                .unwrap_or_else(|| customer_key.to_owned()),
            masked_card_number: billing.card.and_then(|c| c.number),
        })
    }

    async fn lookup(&self, payment_key: &str) -> Result<Payment, PaymentError> {
        hanpay_core::validate_payment_key(payment_key)?;
        let bytes = self
            .transport
            .get("payment", &format!("/v1/payments/{}", segment(payment_key)))
            .await?;
        payment_from_bytes(bytes)
    }

    async fn lookup_order(&self, order_id: &str) -> Result<Payment, PaymentError> {
        hanpay_core::validate_order_id(order_id)?;
        let bytes = self
            .transport
            .get(
                "payment_by_order_id",
                &format!("/v1/payments/orders/{}", segment(order_id)),
            )
            .await?;
        payment_from_bytes(bytes)
    }

    /// POSTs, and after a replayed error runs `settled` on a fresh lookup: `Some(payment)` if the
    /// operation already took effect, `None` to try once more with a new key.
    async fn post_reconciled<F, Fut>(
        &self,
        operation: &'static str,
        path: &str,
        body: &[u8],
        key: String,
        settled: F,
    ) -> Result<Payment, PaymentError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Option<Payment>, PaymentError>>,
    {
        match self.transport.post(operation, path, body, &key).await {
            Ok(bytes) => payment_from_bytes(bytes),
            Err(PostError::Failed(e)) => Err(e),
            Err(PostError::Replayed(e)) => {
                tracing::warn!(
                    target: hanpay_core::observe::TARGET,
                    operation,
                    idempotency_key = %key,
                    "same error twice for one idempotency key; querying before a new key"
                );
                if let Some(done) = settled().await? {
                    return Ok(done);
                }
                let fresh = new_idempotency_key();
                match self.transport.post(operation, path, body, &fresh).await {
                    Ok(bytes) => payment_from_bytes(bytes),
                    Err(PostError::Failed(e2)) | Err(PostError::Replayed(e2)) => {
                        Err(if e2.kind() == ErrorKind::Retryable {
                            e2
                        } else {
                            e2.with_source(e)
                        })
                    }
                }
            }
        }
    }
}

#[async_trait]
impl PaymentProvider for TossPayments {
    fn id(&self) -> &ProviderId {
        &crate::mapping::PROVIDER
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::of(&Capability::ALL)
    }

    async fn confirm(&self, request: &ConfirmRequest) -> Result<Payment, PaymentError> {
        let body = mapping::confirm_body(request)?;
        if self.verify_amount {
            if let Ok(session) = self.lookup(&request.payment_key).await {
                session_mismatch(&session, request)?;
            }
        }
        let bytes = serde_json::to_vec(&body).map_err(|e| PaymentError::invalid(e.to_string()))?;
        let key = request
            .idempotency_key
            .clone()
            .unwrap_or_else(new_idempotency_key);
        let confirmed = self
            .post_reconciled("confirm", "/v1/payments/confirm", &bytes, key, || async {
                let p = self.lookup(&request.payment_key).await?;
                let approved = matches!(
                    p.status,
                    PaymentStatus::Paid | PaymentStatus::WaitingForDeposit
                );
                Ok(
                    (approved && p.order_id == request.order_id && p.total == request.amount)
                        .then_some(p),
                )
            })
            .await;
        match confirmed {
            // Toss refuses a different amount itself (`INVALID_REQUEST`, "결제 금액이 일치하지
            // 않습니다"): only then is the session looked up, to say which amount it holds.
            Err(e) if e.kind() == ErrorKind::InvalidRequest && e.pg().is_some() => {
                match self.lookup(&request.payment_key).await {
                    Ok(session) => session_mismatch(&session, request).and(Err(e)),
                    Err(_) => Err(e),
                }
            }
            other => other,
        }
    }

    async fn payment(&self, payment_key: &str) -> Result<Payment, PaymentError> {
        self.lookup(payment_key).await
    }

    async fn payment_by_order_id(&self, order_id: &str) -> Result<Payment, PaymentError> {
        self.lookup_order(order_id).await
    }

    async fn cancel(&self, request: &CancelRequest) -> Result<Payment, PaymentError> {
        request.validate()?;
        mapping::cancel::check_cancel_amounts(request)?;
        let before = self.lookup(&request.payment_key).await?;
        let body = cancel_body(request, &before)?;
        let bytes = serde_json::to_vec(&body).map_err(|e| PaymentError::invalid(e.to_string()))?;
        let key = request
            .idempotency_key
            .clone()
            .unwrap_or_else(new_idempotency_key);
        let path = format!("/v1/payments/{}/cancel", segment(&request.payment_key));
        let known = before.cancellations.len();
        self.post_reconciled("cancel", &path, &bytes, key, || async {
            let after = self.lookup(&request.payment_key).await?;
            Ok((after.cancellations.len() > known).then_some(after))
        })
        .await
    }

    async fn issue_virtual_account(
        &self,
        request: &VirtualAccountRequest,
    ) -> Result<Payment, PaymentError> {
        let body = mapping::virtual_account_body(request)?;
        let bytes = serde_json::to_vec(&body).map_err(|e| PaymentError::invalid(e.to_string()))?;
        let key = request
            .idempotency_key
            .clone()
            .unwrap_or_else(new_idempotency_key);
        self.post_reconciled(
            "issue_virtual_account",
            "/v1/virtual-accounts",
            &bytes,
            key,
            || async {
                match self.lookup_order(&request.order_id).await {
                    Ok(p) => Ok(Some(p)),
                    Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e),
                }
            },
        )
        .await
    }

    async fn charge_billing_key(
        &self,
        request: &BillingChargeRequest,
    ) -> Result<Payment, PaymentError> {
        let body = mapping::billing_charge_body(request)?;
        let bytes = serde_json::to_vec(&body).map_err(|e| PaymentError::invalid(e.to_string()))?;
        let key = request
            .idempotency_key
            .clone()
            .unwrap_or_else(new_idempotency_key);
        let path = format!("/v1/billing/{}", segment(request.billing_key.expose()));
        self.post_reconciled("charge_billing_key", &path, &bytes, key, || async {
            match self.lookup_order(&request.order_id).await {
                Ok(p) if p.status == PaymentStatus::Paid => Ok(Some(p)),
                Ok(_) => Ok(None),
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            }
        })
        .await
    }
}

/// Refuses a confirm whose order or amount differs from the customer's authenticated session
/// (`Pending` at Toss), saying which: nothing was charged.
fn session_mismatch(session: &Payment, request: &ConfirmRequest) -> Result<(), PaymentError> {
    if session.status != PaymentStatus::Pending {
        return Ok(());
    }
    if session.order_id != request.order_id {
        return Err(PaymentError::invalid(format!(
            "payment key belongs to order {}, not {}",
            session.order_id, request.order_id
        ))
        .with_provider(PROVIDER_ID)
        .with_operation("confirm"));
    }
    if session.total != request.amount {
        return Err(PaymentError::new(
            ErrorKind::AmountMismatch,
            format!(
                "the customer authenticated {}, the confirm asks for {}; nothing was charged",
                session.total, request.amount
            ),
        )
        .with_provider(PROVIDER_ID)
        .with_operation("confirm"));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn key_prefixes() {
        for ok in ["test_sk_a", "live_sk_a", "test_gsk_a", "live_gsk_a"] {
            assert!(check_secret_key(ok).is_ok(), "{ok}");
        }
        assert!(check_secret_key("test_sk_a").unwrap());
        assert!(!check_secret_key("live_gsk_a").unwrap());
        for (bad, says) in [
            ("", "empty"),
            ("test_ck_abc", "client key"),
            ("live_gck_abc", "client key"),
            ("sk_abc", "does not look like"),
            ("test_sk_", "does not look like"),
            ("test_sk_abc\n", "whitespace"),
            ("\u{feff}test_sk_abc", "BOM"),
        ] {
            let err = check_secret_key(bad).unwrap_err().to_string();
            assert!(err.contains(says), "{bad:?}: {err}");
            assert!(err.contains("test_sk_"), "{err}");
            if bad.len() > 9 {
                assert!(!err.contains(bad.trim()), "leaks the key: {err}");
            }
        }
    }

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(segment("bk_abc=/x"), "bk_abc%3D%2Fx");
        assert_eq!(segment("order-1_a.b~"), "order-1_a.b~");
        assert_eq!(segment("주문"), "%EC%A3%BC%EB%AC%B8");
    }

    #[test]
    fn builder_refuses_bad_url_and_debug_hides_key() {
        let err = TossPayments::builder("test_sk_abc")
            .base_url("ftp://x")
            .build()
            .unwrap_err();
        assert!(matches!(err, ConfigError::InvalidBaseUrl(_)));
        let b = TossPayments::builder("test_sk_verysecret");
        assert!(!format!("{b:?}").contains("verysecret"));
        let t = b.build().unwrap();
        assert!(!format!("{t:?}").contains("verysecret"));
        assert_eq!(t.id().as_str(), "tosspayments");
        assert!(t.capabilities().contains(Capability::BillingKeys));
    }
}
