//! [`PortOne`]: the V2 API as a [`PaymentProvider`].

use hanpay_core::{
    validate_order_id, validate_payment_key, BillingChargeRequest, CancelRequest, Capabilities,
    Capability, ConfirmRequest, ErrorKind, Money, Payment, PaymentError, PaymentProvider,
    PaymentStatus, ProviderId, RawJson, RetryPolicy, Secret, VirtualAccountRequest,
};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::client::{payment_path, Client, Timeouts, DEFAULT_BASE_URL};
use crate::wire::{self, CancelPaymentResponse, CancellationStatus};
use crate::{mapping, PROVIDER_ID};

/// A PortOne V2 client (`https://api.portone.io`), authenticated with
/// `Authorization: PortOne <API secret>`.
///
/// PortOne identifies a payment by the merchant-chosen `paymentId`, so in hanpay terms the
/// payment key **and** the order id are both that `paymentId`.
///
/// `confirm` automates the check PortOne's guide asks of every merchant: it fetches the
/// payment and compares amount and currency with the order (and the status with `PAID` or
/// `VIRTUAL_ACCOUNT_ISSUED`). On a channel set to manual confirm (수동 승인) give the
/// request the browser's `paymentToken` and it calls `POST /payments/{id}/confirm` with the
/// verification fields instead.
///
/// ```
/// use hanpay_portone::{PortOne, Timeouts};
/// use std::time::Duration;
///
/// let portone = PortOne::builder("my-api-secret")
///     .store_id("store-ae356798-3d20-4969-b739-14c6b0e1a667")
///     .timeouts(Timeouts { connect: Duration::from_secs(5), read: Duration::from_secs(60) })
///     .build()
///     .unwrap();
/// # let _ = portone;
/// ```
#[derive(Debug, Clone)]
pub struct PortOne {
    client: Client,
    store_id: Option<String>,
    channel_key: Option<String>,
    cancel_on_amount_mismatch: bool,
}

/// Builds a [`PortOne`].
#[derive(Clone)]
pub struct PortOneBuilder {
    api_secret: Secret,
    store_id: Option<String>,
    channel_key: Option<String>,
    base_url: String,
    timeouts: Timeouts,
    retry: RetryPolicy,
    cancel_on_amount_mismatch: bool,
    http: Option<reqwest::Client>,
}

impl std::fmt::Debug for PortOneBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortOneBuilder")
            .field("api_secret", &self.api_secret)
            .field("store_id", &self.store_id)
            .field("channel_key", &self.channel_key)
            .field("base_url", &self.base_url)
            .field("timeouts", &self.timeouts)
            .field("retry", &self.retry)
            .field("cancel_on_amount_mismatch", &self.cancel_on_amount_mismatch)
            .field("own_http_client", &self.http.is_some())
            .finish()
    }
}

impl PortOneBuilder {
    /// The store id (상점 아이디), needed for sub-stores; PortOne uses the secret's store
    /// otherwise.
    pub fn store_id(mut self, store_id: impl Into<String>) -> Self {
        self.store_id = Some(store_id.into());
        self
    }

    /// The channel key used for API-issued virtual accounts (`/instant`) and billing-key
    /// payments. Without it, [`PaymentProvider::issue_virtual_account`] is unsupported.
    pub fn channel_key(mut self, channel_key: impl Into<String>) -> Self {
        self.channel_key = Some(channel_key.into());
        self
    }

    /// The API base URL (default `https://api.portone.io`; tests point it at a fake).
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Connect and read timeouts (default 10 s and 60 s).
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// How failed calls are retried (always with the same idempotency key).
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sends every call through `client`, your own `reqwest::Client`: share one connection
    /// pool across your services, go through a proxy, or add behaviour configured on the
    /// client (default headers, TLS roots, local address, …).
    ///
    /// The client is used as it is: its own connect and read timeouts, user agent, proxies and
    /// redirect policy apply instead of hanpay's (which follows no redirects: consider
    /// `redirect(Policy::none())` on yours). The overall per-call bound of
    /// [`PortOneBuilder::timeouts`] (connect + read) is still set on every request, and the
    /// retry policy and `Idempotency-Key` handling are unchanged.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hanpay_portone::PortOne;
    /// let shared = reqwest::Client::builder()
    ///     .connect_timeout(Duration::from_secs(10))
    ///     .redirect(reqwest::redirect::Policy::none())
    ///     .build()
    ///     .unwrap();
    /// let portone = PortOne::builder("my-api-secret").http_client(shared).build().unwrap();
    /// # let _ = portone;
    /// ```
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// When `confirm` finds a paid payment whose amount or currency differs from the order
    /// (tampering, per PortOne's guide), cancel it in full before reporting
    /// `AmountMismatch`, so the customer is not charged for an order that will not ship.
    /// On by default.
    pub fn cancel_on_amount_mismatch(mut self, enabled: bool) -> Self {
        self.cancel_on_amount_mismatch = enabled;
        self
    }

    /// Builds the client. Fails on an empty API secret or one that cannot go in a header.
    pub fn build(self) -> Result<PortOne, PaymentError> {
        if self.api_secret.expose().trim().is_empty() {
            return Err(
                PaymentError::invalid("the PortOne API secret is empty").with_provider(PROVIDER_ID)
            );
        }
        let client = Client::new(
            &self.api_secret,
            &self.base_url,
            self.timeouts,
            self.retry,
            self.http,
        )?;
        Ok(PortOne {
            client,
            store_id: self.store_id,
            channel_key: self.channel_key,
            cancel_on_amount_mismatch: self.cancel_on_amount_mismatch,
        })
    }
}

/// An idempotency key for a POST: the caller's, or a fresh one. PortOne accepts 16–256
/// characters, recommended `[A-Za-z0-9_-]`.
fn idempotency_key(given: Option<&str>, operation: &str) -> Result<String, PaymentError> {
    match given {
        Some(key) => {
            let ok = (16..=256).contains(&key.len())
                && key
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\');
            if ok {
                Ok(key.to_owned())
            } else {
                Err(PaymentError::invalid(
                    "PortOne idempotency keys are 16 to 256 visible ASCII characters without quotes",
                )
                .with_provider(PROVIDER_ID))
            }
        }
        None => Ok(format!(
            "hanpay-{operation}-{}",
            uuid::Uuid::new_v4().simple()
        )),
    }
}

fn decode<'a, T: Deserialize<'a>>(
    operation: &'static str,
    bytes: &'a [u8],
) -> Result<T, PaymentError> {
    serde_json::from_slice(bytes).map_err(|e| {
        PaymentError::new(
            ErrorKind::Decode,
            format!("unexpected PortOne {operation} response"),
        )
        .with_provider(PROVIDER_ID)
        .with_operation(operation)
        .with_source(e)
    })
}

impl PortOne {
    /// A builder for a client authenticated with `api_secret` (the V2 API secret, not a
    /// webhook secret nor a PG's key).
    pub fn builder(api_secret: impl Into<Secret>) -> PortOneBuilder {
        PortOneBuilder {
            api_secret: api_secret.into(),
            store_id: None,
            channel_key: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
            cancel_on_amount_mismatch: true,
            http: None,
        }
    }

    /// `POST /payments/{paymentId}/pre-register`: registers the amount the customer must pay
    /// before the payment window opens, so PortOne refuses a tampered amount in the browser.
    pub async fn pre_register(&self, payment_id: &str, amount: &Money) -> Result<(), PaymentError> {
        validate_order_id(payment_id)?;
        if !amount.is_positive() {
            return Err(
                PaymentError::invalid("the pre-registered amount must be positive")
                    .with_provider(PROVIDER_ID),
            );
        }
        let body = mapping::pre_register_body(amount, self.store_id.as_deref());
        let key = idempotency_key(None, "pre-register")?;
        self.client
            .post(
                "pre_register",
                &payment_path(payment_id, "/pre-register"),
                &body,
                &key,
            )
            .await
            .map(|_| ())
    }

    /// `GET /payments/{paymentId}`, decoded and mapped.
    async fn fetch(
        &self,
        operation: &'static str,
        payment_id: &str,
    ) -> Result<Payment, PaymentError> {
        let bytes = self
            .client
            .get(
                operation,
                &payment_path(payment_id, ""),
                self.store_id.as_deref(),
            )
            .await?;
        // One parse, straight into the wire types; the body is kept (not copied) as `raw`.
        let wire: wire::Payment = decode(operation, &bytes)?;
        mapping::payment(&wire, RawJson::new(bytes), OffsetDateTime::now_utc())
    }

    /// Checks a fetched payment against the order: amount and currency equal, status paid (or
    /// a virtual account waiting for its deposit).
    async fn verify_confirmed(
        &self,
        payment: Payment,
        request: &ConfirmRequest,
    ) -> Result<Payment, PaymentError> {
        if payment.total != request.amount {
            let mut message = format!(
                "PortOne reports {} for payment {}, the order says {}: possible tampering",
                payment.total, payment.payment_key, request.amount
            );
            if self.cancel_on_amount_mismatch && payment.status.is_paid() {
                let cancel = CancelRequest::full(
                    payment.payment_key.clone(),
                    "결제 금액 불일치 (위변조 의심)",
                )
                .expected_balance(payment.balance.clone());
                match self.cancel(&cancel).await {
                    Ok(_) => message.push_str("; the payment was cancelled in full"),
                    Err(e) => message.push_str(&format!(
                        "; cancelling it failed ({}), cancel it manually",
                        e.kind()
                    )),
                }
            }
            return Err(PaymentError::new(ErrorKind::AmountMismatch, message)
                .with_provider(PROVIDER_ID)
                .with_operation("confirm"));
        }
        match payment.status {
            PaymentStatus::Paid | PaymentStatus::WaitingForDeposit => Ok(payment),
            PaymentStatus::PartiallyCanceled | PaymentStatus::Canceled => Err(PaymentError::new(
                ErrorKind::AlreadyProcessed,
                format!(
                    "payment {} is already {}",
                    payment.payment_key, payment.status
                ),
            )
            .with_provider(PROVIDER_ID)
            .with_operation("confirm")),
            other => {
                let detail = payment
                    .failure
                    .as_ref()
                    .map(|f| format!(" ({}: {})", f.code, f.message))
                    .unwrap_or_default();
                Err(PaymentError::new(
                    ErrorKind::Rejected,
                    format!(
                        "payment {} is {} (raw {}){detail}, not paid; on a manual-confirm channel pass the paymentToken",
                        payment.payment_key, other, payment.raw_status
                    ),
                )
                .with_provider(PROVIDER_ID)
                .with_operation("confirm"))
            }
        }
    }
}

#[hanpay_core::async_trait]
impl PaymentProvider for PortOne {
    fn id(&self) -> &ProviderId {
        static ID: ProviderId = PROVIDER_ID;
        &ID
    }

    fn capabilities(&self) -> Capabilities {
        let all = Capabilities::all();
        if self.channel_key.is_some() {
            all
        } else {
            all.without(Capability::VirtualAccounts)
        }
    }

    async fn confirm(&self, request: &ConfirmRequest) -> Result<Payment, PaymentError> {
        request.validate()?;
        if request.payment_key != request.order_id {
            return Err(PaymentError::invalid(
                "for PortOne the payment key is the paymentId, which is the order id: they must be equal",
            )
            .with_provider(PROVIDER_ID)
            .with_operation("confirm"));
        }
        if let Some(token) = &request.payment_token {
            let key = idempotency_key(request.idempotency_key.as_deref(), "confirm")?;
            let body = mapping::confirm_body(request, token.expose(), self.store_id.as_deref());
            self.client
                .post(
                    "confirm",
                    &payment_path(&request.payment_key, "/confirm"),
                    &body,
                    &key,
                )
                .await?;
        }
        let payment = self.fetch("confirm", &request.payment_key).await?;
        self.verify_confirmed(payment, request).await
    }

    async fn payment(&self, payment_key: &str) -> Result<Payment, PaymentError> {
        validate_payment_key(payment_key)?;
        self.fetch("payment", payment_key).await
    }

    async fn payment_by_order_id(&self, order_id: &str) -> Result<Payment, PaymentError> {
        validate_order_id(order_id)?;
        self.fetch("payment_by_order_id", order_id).await
    }

    async fn cancel(&self, request: &CancelRequest) -> Result<Payment, PaymentError> {
        request.validate()?;
        mapping::check_refund_bank(request)?;
        let key = idempotency_key(request.idempotency_key.as_deref(), "cancel")?;
        let current = self.fetch("cancel", &request.payment_key).await?;
        request.validate_before_send(&current)?;
        let body = mapping::cancel_body(request, self.store_id.as_deref());
        let bytes = self
            .client
            .post(
                "cancel",
                &payment_path(&request.payment_key, "/cancel"),
                &body,
                &key,
            )
            .await?;
        let answer: CancelPaymentResponse = decode("cancel", &bytes)?;
        if answer.cancellation.status == CancellationStatus::Failed {
            return Err(PaymentError::new(
                ErrorKind::Rejected,
                format!(
                    "PortOne reports cancellation {} as FAILED",
                    answer.cancellation.id
                ),
            )
            .with_provider(PROVIDER_ID)
            .with_operation("cancel")
            .with_idempotency_key(key));
        }
        // SUCCEEDED, or REQUESTED (asynchronous: the payment lists it as a pending
        // cancellation until PortOne's `Transaction.(Partial)Cancelled` webhook). The answer
        // is applied to the payment looked up before: two calls per cancel, not three.
        mapping::after_cancel(current, &answer.cancellation)
    }

    async fn issue_virtual_account(
        &self,
        request: &VirtualAccountRequest,
    ) -> Result<Payment, PaymentError> {
        request.validate()?;
        if self.channel_key.is_none() {
            return Err(PaymentError::unsupported(
                &PROVIDER_ID,
                "issue_virtual_account",
            ));
        }
        let body = mapping::virtual_account_body(
            request,
            self.store_id.as_deref(),
            self.channel_key.as_deref(),
        )?;
        let key = idempotency_key(request.idempotency_key.as_deref(), "virtual-account")?;
        self.client
            .post(
                "issue_virtual_account",
                &payment_path(&request.order_id, "/instant"),
                &body,
                &key,
            )
            .await?;
        self.fetch("issue_virtual_account", &request.order_id).await
    }

    async fn charge_billing_key(
        &self,
        request: &BillingChargeRequest,
    ) -> Result<Payment, PaymentError> {
        request.validate()?;
        let body = mapping::billing_key_body(
            request,
            self.store_id.as_deref(),
            self.channel_key.as_deref(),
        );
        let key = idempotency_key(request.idempotency_key.as_deref(), "billing-key")?;
        self.client
            .post(
                "charge_billing_key",
                &payment_path(&request.order_id, "/billing-key"),
                &body,
                &key,
            )
            .await?;
        self.fetch("charge_billing_key", &request.order_id).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn idempotency_keys_are_checked_or_generated() {
        let k = idempotency_key(None, "cancel").unwrap();
        assert!(k.starts_with("hanpay-cancel-") && k.len() >= 16);
        assert!(idempotency_key(Some("short"), "cancel").is_err());
        assert!(idempotency_key(Some("has \"quotes\" inside-xxxxxxxx"), "cancel").is_err());
        assert_eq!(
            idempotency_key(Some("cancel-order-0001-abc"), "cancel").unwrap(),
            "cancel-order-0001-abc"
        );
    }

    #[test]
    fn builder_refuses_an_empty_secret_and_hides_it() {
        assert!(PortOne::builder("  ").build().is_err());
        let p = PortOne::builder("secret-value-123").build().unwrap();
        assert!(!format!("{p:?}").contains("secret-value-123"));
        assert!(!p.capabilities().contains(Capability::VirtualAccounts));
        let p = PortOne::builder("s").channel_key("ck").build().unwrap();
        assert!(p.capabilities().contains(Capability::VirtualAccounts));
        assert_eq!(p.id().as_str(), "portone");
    }
}
