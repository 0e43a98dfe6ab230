//! [`NicePay`]: the `hanpay_core::PaymentProvider` for NICEPAY's Start API (Server 승인).

use async_trait::async_trait;
use hanpay_core::{
    validate_order_id, BillingChargeRequest, CancelRequest, CancellationStatus, Capabilities,
    Capability, ConfirmRequest, Currency, ErrorKind, Money, Payment, PaymentError, PaymentProvider,
    PaymentStatus, ProviderId, RetryPolicy, Secret,
};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use time::{Date, OffsetDateTime};

use crate::billing::EncMode;
use crate::client::{Timeouts, Transport};
use crate::errors::{is_duplicate_order_id, ConfigError};
use crate::mapping::cancel::{cancel_body, cancel_order_id, cancel_took_effect, new_cancellations};
use crate::mapping::{PROVIDER, PROVIDER_ID};
use crate::wire::{
    Amount, ApproveBody, BillingChargeBody, BillingRegistAnswer, BillingRegistBody, ExpireBody,
    NetCancelBody,
};

/// NICEPAY's live API.
pub const DEFAULT_BASE_URL: &str = "https://api.nicepay.co.kr";
/// NICEPAY's sandbox API ("요청 파라미터는 운영/샌드박스 모두 동일").
pub const SANDBOX_BASE_URL: &str = "https://sandbox-api.nicepay.co.kr";

/// How many times a cancel is sent at most when its outcome stays unknown (each re-send only
/// after a lookup showed it had not taken effect).
const CANCEL_SENDS: u32 = 3;

/// Characters left as they are in a path segment (RFC 3986 unreserved).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn segment(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

fn to_body<T: serde::Serialize>(body: &T) -> Result<Vec<u8>, PaymentError> {
    serde_json::to_vec(body).map_err(|e| PaymentError::invalid(e.to_string()))
}

/// The largest amount NICEPAY takes: at most 12 digits, in won (reference §7).
pub const MAX_AMOUNT: i64 = 999_999_999_999;

fn krw_amount(what: &str, money: &Money) -> Result<Amount, PaymentError> {
    if money.currency() != &Currency::Krw {
        return Err(PaymentError::invalid(format!(
            "NICEPAY {what} amounts are sent in won, got {}",
            money.currency()
        )));
    }
    if money.minor_units() > MAX_AMOUNT {
        return Err(PaymentError::invalid(format!(
            "NICEPAY takes at most 12 digits for an amount, got {money}"
        )));
    }
    Ok(Amount::new(money.minor_units()))
}

fn charged(p: &Payment) -> bool {
    matches!(
        p.status,
        PaymentStatus::Paid | PaymentStatus::WaitingForDeposit
    )
}

fn kst_today() -> Date {
    OffsetDateTime::now_utc()
        .to_offset(time::macros::offset!(+9))
        .date()
}

fn yyyymmdd(date: Date) -> String {
    format!(
        "{:04}{:02}{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// NICEPAY, through the Start API `/v1` (Server 승인 model).
///
/// ```
/// use hanpay_core::{Capability, PaymentProvider};
/// use hanpay_nicepay::{NicePay, SANDBOX_BASE_URL};
/// let nice = NicePay::builder("S2_af4543a0be4d49a98122e01ec2059a56", "9eb85607103646da9f9c02b128f2e5ee")
///     .base_url(SANDBOX_BASE_URL)
///     .build()
///     .unwrap();
/// assert_eq!(nice.id().as_str(), "nicepay");
/// // No server API issues a virtual account: it comes from the payment window.
/// assert!(!nice.capabilities().contains(Capability::VirtualAccounts));
/// ```
///
/// - Auth: `Authorization: Basic base64("{clientId}:{secretKey}")` — both parts.
/// - **No idempotency key exists.** A payment call is sent once. When its outcome is unknown
///   (timeout, lost answer, 5xx, "API 지연처리"), the payment is looked up before anything
///   else:
///   - **approve / billing charge**: a lookup that shows the order paid for the right amount
///     resolves it; one that shows nothing charged is [`ErrorKind::Retryable`] (a re-sent
///     approve of the same `tid` cannot charge twice: NICEPAY approves a tid once); when the
///     lookup fails too, or shows a charge the merchant cannot use (another order or amount),
///     the order is **net-cancelled** (망취소, `POST /v1/payments/netcancel`, valid 1 hour) so the
///     customer is not charged for an order the merchant did not record
///     ([`NicePayBuilder::net_cancel_on_unknown`]).
///   - **cancel**: never re-sent blindly. The payment's `cancels[]` are compared with those
///     before the call; only when no new cancellation appeared is the *same* body re-sent, with
///     the same cancel `orderId` (which NICEPAY refuses to reuse for a partial cancel), so at
///     most one cancellation can happen.
/// - Before a cancel the payment is looked up and the cancel validated against its balance,
///   status and method (a deposited virtual account needs the customer's own refund account,
///   sent as `refundAccount`/`refundBankCode`/`refundHolder`).
/// - Lookup by order id needs the order's date (`orderDate`, required by NICEPAY):
///   [`PaymentProvider::payment_by_order_id`] tries today and yesterday (KST); use
///   [`NicePay::payment_by_order_id_on`] for older orders.
pub struct NicePay {
    transport: Transport,
    secret_key: Secret,
    net_cancel_on_unknown: bool,
}

impl std::fmt::Debug for NicePay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NicePay")
            .field("transport", &self.transport)
            .field("net_cancel_on_unknown", &self.net_cancel_on_unknown)
            .finish()
    }
}

/// Builds a [`NicePay`].
pub struct NicePayBuilder {
    client_id: String,
    secret_key: Secret,
    base_url: String,
    timeouts: Timeouts,
    retry: RetryPolicy,
    net_cancel_on_unknown: bool,
}

impl std::fmt::Debug for NicePayBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NicePayBuilder")
            .field("client_id", &self.client_id)
            .field("secret_key", &self.secret_key)
            .field("base_url", &self.base_url)
            .field("timeouts", &self.timeouts)
            .field("retry", &self.retry)
            .finish()
    }
}

fn check_key(what: &str, key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err(format!("the {what} is empty"));
    }
    if key.starts_with('\u{feff}') || key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "the {what} contains whitespace, a control character or a BOM"
        ));
    }
    Ok(())
}

impl NicePayBuilder {
    /// Sets the base URL (default the live API; [`SANDBOX_BASE_URL`], or a `FakeNicePay`'s URL
    /// in tests).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Sets the timeouts (default 5 s connect, 30 s read).
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Sets the retry policy of lookups (and of calls refused before anything was sent).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Whether an approve or billing charge whose outcome stays unknown after a lookup (or
    /// shows a charge the merchant cannot use) is net-cancelled by `orderId` (default `true`).
    pub fn net_cancel_on_unknown(mut self, enabled: bool) -> Self {
        self.net_cancel_on_unknown = enabled;
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<NicePay, ConfigError> {
        check_key("client id", &self.client_id).map_err(ConfigError::InvalidClientId)?;
        if self.client_id.contains(':') || self.client_id.len() > 50 {
            return Err(ConfigError::InvalidClientId(
                "a NICEPAY client id is at most 50 characters without ':' (개발정보 > KEY정보)"
                    .into(),
            ));
        }
        check_key("secret key", self.secret_key.expose()).map_err(ConfigError::InvalidSecretKey)?;
        let url = self.base_url.trim();
        if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() < 10 {
            return Err(ConfigError::InvalidBaseUrl(format!(
                "{url:?} is not an http(s) URL"
            )));
        }
        let transport = Transport::new(
            &self.client_id,
            self.secret_key.expose(),
            url.to_owned(),
            self.timeouts,
            self.retry,
        )
        .map_err(ConfigError::HttpClient)?;
        Ok(NicePay {
            transport,
            secret_key: self.secret_key,
            net_cancel_on_unknown: self.net_cancel_on_unknown,
        })
    }
}

/// A billing key registered with `POST /v1/subscribe/regist`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RegisteredBillingKey {
    /// The billing key (`bid`): whoever holds it can charge the customer.
    pub bid: Secret,
    /// The registration's tid.
    pub tid: Option<String>,
    /// The card issuer's code.
    pub card_code: Option<String>,
    /// The card issuer's name.
    pub card_name: Option<String>,
}

impl NicePay {
    /// A builder for the client key (`clientId`) and secret key of 개발정보 > KEY정보.
    pub fn builder(client_id: impl Into<String>, secret_key: impl Into<Secret>) -> NicePayBuilder {
        NicePayBuilder {
            client_id: client_id.into(),
            secret_key: secret_key.into(),
            base_url: DEFAULT_BASE_URL.to_owned(),
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
            net_cancel_on_unknown: true,
        }
    }

    async fn lookup(&self, tid: &str) -> Result<Payment, PaymentError> {
        hanpay_core::validate_payment_key(tid)?;
        self.transport
            .get_payment("payment", &format!("/v1/payments/{}", segment(tid)))
            .await?
    }

    /// Looks a payment up by the merchant's order id and the day (KST) it was ordered
    /// (`GET /v1/payments/find/{orderId}?orderDate=YYYYMMDD`).
    pub async fn payment_by_order_id_on(
        &self,
        order_id: &str,
        order_date: Date,
    ) -> Result<Payment, PaymentError> {
        if order_id.is_empty() || order_id.len() > 64 {
            return Err(PaymentError::invalid("order id must be 1 to 64 bytes"));
        }
        self.transport
            .get_payment(
                "payment_by_order_id",
                &format!(
                    "/v1/payments/find/{}?orderDate={}",
                    segment(order_id),
                    yyyymmdd(order_date)
                ),
            )
            .await?
    }

    /// Net-cancels (망취소) the approval of `order_id`: for an approve or billing charge whose
    /// result the merchant cannot use (read timeout, lost answer, its own failure right after).
    /// NICEPAY accepts it within 1 hour of the approval; afterwards use a cancel.
    pub async fn net_cancel(&self, order_id: &str) -> Result<Payment, PaymentError> {
        if order_id.is_empty() || order_id.len() > 64 {
            return Err(PaymentError::invalid("order id must be 1 to 64 bytes"));
        }
        let body = to_body(&NetCancelBody { order_id })?;
        self.transport
            .post_payment("net_cancel", "/v1/payments/netcancel", &body)
            .await?
    }

    /// Issues a billing key (빌키) for `card`: encrypts it as `encData` with the secret key
    /// ([`EncMode`]) and registers it for `order_id`.
    pub async fn issue_billing_key(
        &self,
        card: &crate::BillingCard,
        mode: EncMode,
        order_id: &str,
    ) -> Result<RegisteredBillingKey, PaymentError> {
        validate_order_id(order_id)?;
        let enc = crate::billing::enc_data(card, self.secret_key.expose(), mode)?;
        self.register_billing_key(&enc, mode, order_id).await
    }

    /// Registers a billing key from card data the merchant already encrypted (`encData`,
    /// hex, as [`EncMode`] says) for `order_id`.
    pub async fn register_billing_key(
        &self,
        enc_data: &Secret,
        mode: EncMode,
        order_id: &str,
    ) -> Result<RegisteredBillingKey, PaymentError> {
        validate_order_id(order_id)?;
        let enc = enc_data.expose();
        if enc.is_empty() || enc.len() > 512 || !enc.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(PaymentError::invalid(
                "encData must be 1 to 512 hex characters",
            ));
        }
        let body = to_body(&BillingRegistBody {
            enc_data: enc,
            order_id,
            enc_mode: (mode == EncMode::A2Aes256Cbc).then_some("A2"),
        })?;
        let bytes = self
            .transport
            .post("register_billing_key", "/v1/subscribe/regist", &body)
            .await?;
        let answer: BillingRegistAnswer = serde_json::from_slice(&bytes).map_err(|e| {
            PaymentError::new(
                ErrorKind::Decode,
                format!("NICEPAY sent an unreadable billing answer: {e}"),
            )
            .with_provider(PROVIDER_ID)
        })?;
        let bid = answer.bid.filter(|b| !b.is_empty()).ok_or_else(|| {
            PaymentError::new(ErrorKind::Decode, "NICEPAY sent no bid").with_provider(PROVIDER_ID)
        })?;
        Ok(RegisteredBillingKey {
            bid: Secret::new(bid),
            tid: answer.tid,
            card_code: answer.card_code,
            card_name: answer.card_name,
        })
    }

    /// Deletes a billing key (`POST /v1/subscribe/{bid}/expire`).
    pub async fn expire_billing_key(
        &self,
        bid: &Secret,
        order_id: &str,
    ) -> Result<(), PaymentError> {
        validate_order_id(order_id)?;
        hanpay_core::validate_payment_key(bid.expose())?;
        let body = to_body(&ExpireBody { order_id })?;
        self.transport
            .post(
                "expire_billing_key",
                &format!("/v1/subscribe/{}/expire", segment(bid.expose())),
                &body,
            )
            .await
            .map(|_| ())
    }

    /// Settles a charge (approve or billing) whose outcome is unknown: `looked_up` is what a
    /// lookup said.
    async fn settle_unknown_charge(
        &self,
        original: PaymentError,
        order_id: &str,
        amount: &Money,
        looked_up: Result<Payment, PaymentError>,
    ) -> Result<Payment, PaymentError> {
        let operation = original.operation().unwrap_or("confirm");
        let fail = |kind: ErrorKind, message: String| {
            PaymentError::new(kind, message)
                .with_provider(PROVIDER_ID)
                .with_operation(operation)
        };
        match looked_up {
            Ok(p) if charged(&p) && p.order_id == order_id && &p.total == amount => {
                tracing::info!(
                    target: hanpay_core::observe::TARGET,
                    operation,
                    "unknown outcome resolved by a lookup: the charge went through"
                );
                Ok(p)
            }
            Ok(p) if charged(&p) => {
                let unusable = format!(
                    "NICEPAY charged order {} for {}, not order {order_id} for {amount}",
                    p.order_id, p.total
                );
                self.undo(&p.order_id, fail(ErrorKind::AmountMismatch, unusable), original)
                    .await
            }
            Ok(p) => Err(fail(
                ErrorKind::Retryable,
                format!(
                    "the call did not take effect (the payment is {}); nothing was charged and it may be sent again",
                    p.status
                ),
            )
            .with_source(original)),
            Err(e) if e.kind() == ErrorKind::NotFound => Err(fail(
                ErrorKind::Retryable,
                "the call did not take effect (no payment found); nothing was charged and it may be sent again"
                    .into(),
            )
            .with_source(original)),
            Err(lookup) => {
                let unknown = fail(
                    ErrorKind::Rejected,
                    format!("the outcome is unknown and the lookup failed ({lookup})"),
                );
                self.undo(order_id, unknown, original).await
            }
        }
    }

    /// Net-cancels `order_id` when enabled; `why` says what the merchant is told on success.
    async fn undo(
        &self,
        order_id: &str,
        why: PaymentError,
        original: PaymentError,
    ) -> Result<Payment, PaymentError> {
        if !self.net_cancel_on_unknown {
            return Err(original);
        }
        let kind = why.kind();
        let operation = original.operation().unwrap_or("confirm");
        let told = |message: String| {
            PaymentError::new(kind, message)
                .with_provider(PROVIDER_ID)
                .with_operation(operation)
        };
        match self.net_cancel(order_id).await {
            Ok(_) => Err(told(format!(
                "{}: net-cancelled (망취소); the customer is not charged",
                why.message()
            ))
            .with_source(original)),
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::AlreadyProcessed) => {
                Err(told(format!(
                    "{}: nothing to net-cancel ({}); the customer is not charged",
                    why.message(),
                    e.kind()
                ))
                .with_source(original))
            }
            Err(e) => Err(PaymentError::new(
                ErrorKind::OutcomeUnknown,
                format!(
                    "{}; the net cancel failed too ({e}): look the order up before anything else",
                    why.message()
                ),
            )
            .with_provider(PROVIDER_ID)
            .with_operation(operation)
            .with_source(original)),
        }
    }

    async fn lookup_order_recent(&self, order_id: &str) -> Result<Payment, PaymentError> {
        let today = kst_today();
        match self.payment_by_order_id_on(order_id, today).await {
            Err(e) if e.kind() == ErrorKind::NotFound => match today.previous_day() {
                Some(yesterday) => self.payment_by_order_id_on(order_id, yesterday).await,
                None => Err(e),
            },
            other => other,
        }
    }
}

fn unknown_or_retryable(e: &PaymentError) -> bool {
    matches!(e.kind(), ErrorKind::OutcomeUnknown | ErrorKind::Retryable)
}

#[async_trait]
impl PaymentProvider for NicePay {
    fn id(&self) -> &ProviderId {
        &PROVIDER
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::of(&[
            Capability::Confirm,
            Capability::LookupByKey,
            Capability::LookupByOrderId,
            Capability::Cancel,
            Capability::PartialCancel,
            Capability::BillingKeys,
            Capability::Webhooks,
        ])
    }

    /// Approves `payment_key` (the `tid` of the returnUrl POST) for the amount the merchant's
    /// order says: `POST /v1/payments/{tid}` `{amount}`.
    async fn confirm(&self, request: &ConfirmRequest) -> Result<Payment, PaymentError> {
        request.validate()?;
        let body = to_body(&ApproveBody {
            amount: krw_amount("approve", &request.amount)?,
        })?;
        let path = format!("/v1/payments/{}", segment(&request.payment_key));
        match self.transport.post_payment("confirm", &path, &body).await {
            Ok(answer) => {
                let p = answer?;
                if p.order_id != request.order_id || p.total != request.amount {
                    let why = PaymentError::new(
                        ErrorKind::AmountMismatch,
                        format!(
                            "NICEPAY approved order {} for {}, the merchant's order is {} for {}",
                            p.order_id, p.total, request.order_id, request.amount
                        ),
                    );
                    let original = PaymentError::new(
                        ErrorKind::AmountMismatch,
                        "approve answer does not match the order",
                    )
                    .with_operation("confirm");
                    return self.undo(&p.order_id, why, original).await;
                }
                Ok(p)
            }
            Err(e) if unknown_or_retryable(&e) => {
                let looked_up = self.lookup(&request.payment_key).await;
                self.settle_unknown_charge(e, &request.order_id, &request.amount, looked_up)
                    .await
            }
            Err(e) => Err(e),
        }
    }

    async fn payment(&self, payment_key: &str) -> Result<Payment, PaymentError> {
        self.lookup(payment_key).await
    }

    async fn payment_by_order_id(&self, order_id: &str) -> Result<Payment, PaymentError> {
        self.lookup_order_recent(order_id).await
    }

    async fn cancel(&self, request: &CancelRequest) -> Result<Payment, PaymentError> {
        request.validate()?;
        // NICEPAY's amount rules (won, at most 12 digits) before any call, the lookup included.
        if let Some(amount) = &request.amount {
            krw_amount("cancel", amount)?;
        }
        if let Some(tax_free) = &request.tax_free_amount {
            krw_amount("tax-free cancel", tax_free)?;
        }
        let before = self.lookup(&request.payment_key).await?;
        let order_id = cancel_order_id(request);
        let body = to_body(&cancel_body(request, &before, &order_id)?)?;
        let path = format!("/v1/payments/{}/cancel", segment(&request.payment_key));
        let mut sends = 0u32;
        loop {
            sends += 1;
            let error = match self.transport.post_payment("cancel", &path, &body).await {
                Ok(answer) => return answer,
                Err(e) if unknown_or_retryable(&e) => e,
                // Our own earlier send may have taken effect — in this call, or in an earlier
                // one with the same idempotency key whose answer was lost: look before saying so.
                Err(e)
                    if (sends > 1 && e.kind() == ErrorKind::AlreadyProcessed)
                        || e.pg().is_some_and(|p| is_duplicate_order_id(&p.code))
                        || retried_request(request, &e) =>
                {
                    e
                }
                Err(e) => return Err(e),
            };
            let after = match self.lookup(&request.payment_key).await {
                Ok(p) => p,
                Err(lookup) => {
                    return Err(PaymentError::new(
                        ErrorKind::OutcomeUnknown,
                        format!("the cancel's outcome is unknown and the lookup failed ({lookup}): look the payment up before retrying"),
                    )
                    .with_provider(PROVIDER_ID)
                    .with_operation("cancel")
                    .with_source(error))
                }
            };
            // NICEPAY replays nothing per key and its `cancels[]` do not carry the cancel's
            // orderId: a retry with the same key is recognised by the effect it asked for
            // being there already (canceled in full, or a cancellation of that amount).
            let replayed = retried_request(request, &error) && shows_effect(request, &after);
            if cancel_took_effect(request, &before, &after) || replayed {
                tracing::info!(
                    target: hanpay_core::observe::TARGET,
                    sends,
                    "cancel outcome resolved by a lookup: it took effect once"
                );
                return Ok(after);
            }
            if !new_cancellations(&before, &after).is_empty() {
                return Err(PaymentError::new(
                    ErrorKind::OutcomeUnknown,
                    "the payment was cancelled by another request meanwhile; look it up before retrying",
                )
                .with_provider(PROVIDER_ID)
                .with_operation("cancel")
                .with_source(error));
            }
            if error.kind() == ErrorKind::AlreadyProcessed || sends >= CANCEL_SENDS {
                return Err(error);
            }
            // Nothing happened: the same body, with the same cancel orderId, once more.
            tokio::time::sleep(
                self.transport
                    .retry()
                    .backoff(sends, std::time::Duration::ZERO),
            )
            .await;
        }
    }

    /// Charges a billing key (`POST /v1/subscribe/{bid}/payments`), lump sum. An unknown outcome
    /// is settled like an approve's, by looking the order up (and net-cancelling when needed).
    async fn charge_billing_key(
        &self,
        request: &BillingChargeRequest,
    ) -> Result<Payment, PaymentError> {
        request.validate()?;
        if request.order_name.chars().count() > 40 {
            return Err(PaymentError::invalid(
                "NICEPAY takes a goods name of at most 40 characters",
            ));
        }
        hanpay_core::validate_payment_key(request.billing_key.expose())?;
        let body = to_body(&BillingChargeBody {
            order_id: &request.order_id,
            amount: krw_amount("billing", &request.amount)?,
            goods_name: &request.order_name,
            card_quota: "0",
            use_shop_interest: false,
        })?;
        let path = format!(
            "/v1/subscribe/{}/payments",
            segment(request.billing_key.expose())
        );
        match self
            .transport
            .post_payment("charge_billing_key", &path, &body)
            .await
        {
            Ok(answer) => answer,
            Err(e) if unknown_or_retryable(&e) => {
                let looked_up = self.lookup_order_recent(&request.order_id).await;
                self.settle_unknown_charge(e, &request.order_id, &request.amount, looked_up)
                    .await
            }
            Err(e) => Err(e),
        }
    }
}

/// Whether `refusal` of the first send may mean that an earlier request with the same
/// idempotency key (and so the same cancel orderId) already canceled: NICEPAY refuses the
/// repeat as already canceled, as a used orderId, or as more than the balance.
fn retried_request(request: &CancelRequest, refusal: &PaymentError) -> bool {
    request.idempotency_key.is_some()
        && matches!(
            refusal.kind(),
            ErrorKind::AlreadyProcessed | ErrorKind::NotCancelable
        )
}

/// Whether `after` shows what `request` asked for: canceled in full, or a completed
/// cancellation of the requested amount.
fn shows_effect(request: &CancelRequest, after: &Payment) -> bool {
    match &request.amount {
        None => after.status == PaymentStatus::Canceled,
        Some(amount) => after
            .cancellations
            .iter()
            .any(|c| c.status == CancellationStatus::Done && &c.amount == amount),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn builder_checks_and_debug_hides_the_secret() {
        assert!(NicePay::builder("", "k").build().is_err());
        assert!(NicePay::builder("a:b", "k").build().is_err());
        assert!(NicePay::builder("S2_x", "").build().is_err());
        assert!(NicePay::builder("S2_x", "key with space").build().is_err());
        assert!(NicePay::builder("S2_x", "k")
            .base_url("ftp://x")
            .build()
            .is_err());
        let b = NicePay::builder("S2_x", "verysecretkey");
        assert!(!format!("{b:?}").contains("verysecretkey"));
        let n = b.build().unwrap();
        assert!(!format!("{n:?}").contains("verysecretkey"));
        let caps = n.capabilities();
        assert!(caps.contains(Capability::PartialCancel));
        assert!(!caps.contains(Capability::VirtualAccounts));
    }

    #[test]
    fn segments_and_dates() {
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
        assert_eq!(
            yyyymmdd(Date::from_calendar_date(2021, time::Month::November, 5).unwrap()),
            "20211105"
        );
    }

    #[test]
    fn amounts_in_won_with_at_most_12_digits() {
        assert!(krw_amount("x", &Money::krw(999_999_999_999)).is_ok());
        assert!(krw_amount("x", &Money::krw(1_000_000_000_000)).is_err());
        assert!(krw_amount("x", &Money::new(100, Currency::Usd)).is_err());
    }
}
