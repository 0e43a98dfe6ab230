//! The fake's in-memory PortOne: payments, cancellations, billing keys, pre-registrations and
//! the rules PortOne's V2 API enforces. Pure state transitions; HTTP lives in `routes.rs`.
//!
//! Written against the V2 OpenAPI as summarised in `shared/reference/portone.md`, with its own
//! types, so a field-name mistake in the client crate cannot be mirrored here.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The merchant id every fake payment carries.
pub(crate) const MERCHANT_ID: &str = "merchant-fake-portone";

/// The `pgCode` of a `PG_PROVIDER` fault injected by error type alone.
pub(crate) const INJECTED_PG_CODE: &str = "FAKE_PG_ERROR";
/// Its `pgMessage`.
pub(crate) const INJECTED_PG_MESSAGE: &str = "PG사 오류 (가짜 PortOne이 주입한 장애)";
/// The `origin.ipAddress` of every fake payment: the customer is on this machine.
pub(crate) const ORIGIN_IP: &str = "127.0.0.1";

/// An error answered with `{type, message}` and the HTTP status PortOne uses for that type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) error_type: String,
    pub(crate) message: String,
    pub(crate) extra: Option<(String, String)>,
}

impl ApiError {
    pub(crate) fn new(error_type: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            error_type: error_type.to_owned(),
            message: message.into(),
            extra: None,
        }
    }

    /// An error of `error_type` as an injected fault answers it: with the fields the OpenAPI
    /// requires of that type (`pgCode`/`pgMessage` for `PG_PROVIDER`, `failures` and
    /// `succeededChannels` for `CHANNEL_SPECIFIC`), so typed clients can parse it.
    pub(crate) fn injected(error_type: &str) -> ApiError {
        match error_type {
            "PG_PROVIDER" => ApiError::pg(INJECTED_PG_CODE, INJECTED_PG_MESSAGE),
            _ => ApiError::new(error_type, "injected fault"),
        }
    }

    pub(crate) fn pg(pg_code: &str, pg_message: &str) -> ApiError {
        ApiError {
            error_type: "PG_PROVIDER".into(),
            message: "PG사에서 오류를 전달했습니다.".into(),
            extra: Some((pg_code.to_owned(), pg_message.to_owned())),
        }
    }

    pub(crate) fn http_status(&self) -> u16 {
        status_for_error_type(&self.error_type)
    }

    pub(crate) fn body(&self) -> Value {
        let mut body = json!({"type": self.error_type, "message": self.message});
        if self.error_type == "CHANNEL_SPECIFIC" {
            if let Some(obj) = body.as_object_mut() {
                obj.insert("failures".into(), json!([]));
                obj.insert("succeededChannels".into(), json!([]));
            }
        }
        if let (Some((code, message)), Some(obj)) = (&self.extra, body.as_object_mut()) {
            obj.insert("pgCode".into(), Value::String(code.clone()));
            obj.insert("pgMessage".into(), Value::String(message.clone()));
        }
        body
    }
}

/// The HTTP status the V2 OpenAPI gives each error type (unknown types: 400).
pub fn status_for_error_type(error_type: &str) -> u16 {
    match error_type {
        "UNAUTHORIZED" => 401,
        "FORBIDDEN" => 403,
        "PAYMENT_NOT_FOUND"
        | "BILLING_KEY_NOT_FOUND"
        | "BILLING_KEY_NOT_ISSUED"
        | "CHANNEL_NOT_FOUND"
        | "PAYMENT_CANCELLATION_NOT_FOUND"
        | "PAYMENT_SCHEDULE_NOT_FOUND"
        | "PROMOTION_NOT_FOUND"
        | "WEBHOOK_NOT_FOUND" => 404,
        "PAYMENT_NOT_PAID"
        | "PAYMENT_ALREADY_CANCELLED"
        | "CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN"
        | "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT"
        | "CANCEL_TAX_FREE_AMOUNT_EXCEEDS_CANCELLABLE_TAX_FREE_AMOUNT"
        | "CANCEL_TAX_AMOUNT_EXCEEDS_CANCELLABLE_TAX_AMOUNT"
        | "SUM_OF_PARTS_EXCEEDS_CANCEL_AMOUNT"
        | "SUM_OF_PARTS_EXCEEDS_TOTAL_AMOUNT"
        | "MAX_CANCEL_COUNT_REACHED"
        | "ALREADY_PAID"
        | "ALREADY_PAID_OR_WAITING"
        | "INFORMATION_MISMATCH"
        | "BILLING_KEY_ALREADY_DELETED"
        | "BILLING_KEY_ALREADY_ISSUED"
        | "PAYMENT_SCHEDULE_ALREADY_EXISTS"
        | "PAYMENT_NOT_WAITING_FOR_DEPOSIT"
        | "PAYMENT_CANCELLATION_NOT_PENDING"
        | "IDEMPOTENCY_OUTSTANDING_REQUEST" => 409,
        "PG_PROVIDER" | "CHANNEL_SPECIFIC" => 502,
        _ => 400,
    }
}

/// How the customer paid in the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PayMethod {
    /// A card (일시불).
    Card,
    /// An easy-pay wallet, e.g. `KAKAOPAY`, `NAVERPAY`, `TOSSPAY`.
    EasyPay(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Method {
    Card {
        approval_number: String,
    },
    EasyPay {
        provider: String,
    },
    VirtualAccount {
        bank: String,
        account_number: String,
        expired_at: OffsetDateTime,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Ready,
    VirtualAccountIssued,
    Paid,
    Failed,
    PartialCancelled,
    Cancelled,
}

impl Status {
    fn wire(self) -> &'static str {
        match self {
            Status::Ready => "READY",
            Status::VirtualAccountIssued => "VIRTUAL_ACCOUNT_ISSUED",
            Status::Paid => "PAID",
            Status::Failed => "FAILED",
            Status::PartialCancelled => "PARTIAL_CANCELLED",
            Status::Cancelled => "CANCELLED",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Cancellation {
    pub(crate) id: String,
    pub(crate) status: &'static str,
    pub(crate) total_amount: i64,
    pub(crate) tax_free_amount: i64,
    pub(crate) reason: String,
    pub(crate) requested_at: OffsetDateTime,
    pub(crate) cancelled_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone)]
pub(crate) struct FakePayment {
    pub(crate) id: String,
    pub(crate) transaction_id: String,
    pub(crate) status: Status,
    pub(crate) order_name: String,
    pub(crate) currency: String,
    pub(crate) total: i64,
    pub(crate) tax_free: i64,
    pub(crate) cancelled: i64,
    pub(crate) cancelled_tax_free: i64,
    pub(crate) method: Option<Method>,
    pub(crate) payment_token: Option<String>,
    pub(crate) billing_key: Option<String>,
    /// `origin.platformType`: `PC` for a browser payment, `API` for a server-side one.
    pub(crate) platform_type: &'static str,
    pub(crate) requested_at: OffsetDateTime,
    pub(crate) status_changed_at: OffsetDateTime,
    pub(crate) paid_at: Option<OffsetDateTime>,
    pub(crate) failed_at: Option<OffsetDateTime>,
    pub(crate) failure: Option<(String, String, String)>,
    pub(crate) cancellations: Vec<Cancellation>,
}

impl FakePayment {
    fn new(
        id: &str,
        tx: String,
        order_name: &str,
        currency: &str,
        total: i64,
        status: Status,
    ) -> Self {
        let now = OffsetDateTime::now_utc();
        FakePayment {
            id: id.to_owned(),
            transaction_id: tx,
            status,
            order_name: order_name.to_owned(),
            currency: currency.to_owned(),
            total,
            tax_free: 0,
            cancelled: 0,
            cancelled_tax_free: 0,
            method: None,
            payment_token: None,
            billing_key: None,
            platform_type: "PC",
            requested_at: now,
            status_changed_at: now,
            paid_at: None,
            failed_at: None,
            failure: None,
            cancellations: Vec::new(),
        }
    }

    /// What can still be cancelled.
    pub(crate) fn cancellable(&self) -> i64 {
        self.total - self.cancelled
    }

    fn set_status(&mut self, status: Status) {
        self.status = status;
        self.status_changed_at = OffsetDateTime::now_utc();
    }

    /// The V2 `Payment` JSON (camelCase, discriminated by `status`).
    pub(crate) fn to_json(&self, store_id: &str, channel_key: &str) -> Value {
        let paid = match self.status {
            Status::Paid | Status::PartialCancelled | Status::Cancelled => self.total,
            _ => 0,
        };
        let mut o = Map::new();
        o.insert("status".into(), json!(self.status.wire()));
        o.insert("id".into(), json!(self.id));
        o.insert("transactionId".into(), json!(self.transaction_id));
        o.insert("merchantId".into(), json!(MERCHANT_ID));
        o.insert("storeId".into(), json!(store_id));
        if self.status != Status::Ready && self.status != Status::Failed || self.method.is_some() {
            o.insert(
                "channel".into(),
                json!({"type": "TEST", "id": "channel-id-fake", "key": channel_key,
                       "name": "fake channel", "pgProvider": "TOSSPAYMENTS",
                       "pgMerchantId": "tosstest"}),
            );
        }
        if let Some(method) = &self.method {
            o.insert("method".into(), method_json(method));
        }
        o.insert("version".into(), json!("V2"));
        if let Some(key) = &self.billing_key {
            o.insert("billingKey".into(), json!(key));
        }
        o.insert("requestedAt".into(), json!(rfc3339(self.requested_at)));
        o.insert("updatedAt".into(), json!(rfc3339(self.status_changed_at)));
        o.insert(
            "statusChangedAt".into(),
            json!(rfc3339(self.status_changed_at)),
        );
        o.insert("orderName".into(), json!(self.order_name));
        o.insert(
            "amount".into(),
            json!({"total": self.total, "taxFree": self.tax_free, "discount": 0,
                   "paid": paid, "cancelled": self.cancelled,
                   "cancelledTaxFree": self.cancelled_tax_free}),
        );
        o.insert("currency".into(), json!(self.currency));
        o.insert("customer".into(), json!({}));
        o.insert(
            "origin".into(),
            json!({"platformType": self.platform_type, "ipAddress": ORIGIN_IP}),
        );
        o.insert("isCulturalExpense".into(), json!(false));
        if matches!(
            self.status,
            Status::Paid
                | Status::PartialCancelled
                | Status::Cancelled
                | Status::VirtualAccountIssued
        ) {
            o.insert(
                "pgTxId".into(),
                json!(format!("pg-{}", self.transaction_id)),
            );
        }
        if let Some(at) = self.paid_at {
            o.insert("paidAt".into(), json!(rfc3339(at)));
            o.insert(
                "receiptUrl".into(),
                json!(format!(
                    "https://receipt.fake-portone.invalid/{}",
                    self.transaction_id
                )),
            );
        }
        if self.status == Status::Paid {
            o.insert("disputes".into(), json!([]));
        }
        if !self.cancellations.is_empty()
            || matches!(self.status, Status::PartialCancelled | Status::Cancelled)
        {
            let list: Vec<Value> = self.cancellations.iter().map(cancellation_json).collect();
            o.insert("cancellations".into(), Value::Array(list));
        }
        if matches!(self.status, Status::PartialCancelled | Status::Cancelled) {
            let last = self
                .cancellations
                .iter()
                .rev()
                .find_map(|c| c.cancelled_at)
                .unwrap_or(self.status_changed_at);
            o.insert("cancelledAt".into(), json!(rfc3339(last)));
        }
        if let (Some(at), Some((reason, code, message))) = (self.failed_at, &self.failure) {
            o.insert("failedAt".into(), json!(rfc3339(at)));
            o.insert(
                "failure".into(),
                json!({"reason": reason, "pgCode": code, "pgMessage": message}),
            );
        }
        Value::Object(o)
    }
}

fn method_json(method: &Method) -> Value {
    match method {
        Method::Card { approval_number } => json!({
            "type": "PaymentMethodCard",
            "card": {"publisher": "SHINHAN", "issuer": "SHINHAN", "brand": "LOCAL",
                     "type": "CREDIT", "ownerType": "PERSONAL", "bin": "53657400",
                     "name": "신한카드", "number": "53657400****123*"},
            "approvalNumber": approval_number,
            "installment": {"month": 0, "isInterestFree": false}
        }),
        Method::EasyPay { provider } => json!({
            "type": "PaymentMethodEasyPay",
            "provider": provider,
            "easyPayMethod": {"type": "PaymentMethodEasyPayMethodCharge"}
        }),
        Method::VirtualAccount {
            bank,
            account_number,
            expired_at,
        } => json!({
            "type": "PaymentMethodVirtualAccount",
            "bank": bank,
            "accountNumber": account_number,
            "accountType": "NORMAL",
            "remitteeName": "페이크상점",
            "expiredAt": rfc3339(*expired_at),
            "issuedAt": rfc3339(OffsetDateTime::now_utc()),
        }),
    }
}

pub(crate) fn cancellation_json(c: &Cancellation) -> Value {
    let mut o = Map::new();
    o.insert("status".into(), json!(c.status));
    o.insert("id".into(), json!(c.id));
    o.insert("pgCancellationId".into(), json!(format!("pg-{}", c.id)));
    o.insert("totalAmount".into(), json!(c.total_amount));
    o.insert("taxFreeAmount".into(), json!(c.tax_free_amount));
    o.insert(
        "vatAmount".into(),
        json!((c.total_amount - c.tax_free_amount) / 11),
    );
    o.insert("reason".into(), json!(c.reason));
    o.insert("requestedAt".into(), json!(rfc3339(c.requested_at)));
    o.insert("trigger".into(), json!("API"));
    if let Some(at) = c.cancelled_at {
        o.insert("cancelledAt".into(), json!(rfc3339(at)));
    }
    Value::Object(o)
}

/// RFC 3339 in UTC; never fails for times the fake produces.
pub(crate) fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// A webhook the fake must send after a state change (2024-04-25 `type` and `data`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PendingWebhook {
    pub(crate) kind: &'static str,
    pub(crate) payment_id: String,
    pub(crate) transaction_id: String,
    pub(crate) cancellation_id: Option<String>,
}

impl PendingWebhook {
    fn for_payment(kind: &'static str, p: &FakePayment) -> PendingWebhook {
        PendingWebhook {
            kind,
            payment_id: p.id.clone(),
            transaction_id: p.transaction_id.clone(),
            cancellation_id: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RefundAccountIn {
    pub(crate) bank: Option<String>,
    pub(crate) number: Option<String>,
    pub(crate) holder_name: Option<String>,
}

/// `CancelPaymentBody` as the fake reads it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CancelIn {
    pub(crate) store_id: Option<String>,
    pub(crate) amount: Option<i64>,
    pub(crate) tax_free_amount: Option<i64>,
    pub(crate) reason: Option<String>,
    pub(crate) requester: Option<String>,
    pub(crate) current_cancellable_amount: Option<i64>,
    pub(crate) refund_account: Option<RefundAccountIn>,
}

/// `PreRegisterPaymentBody`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PreRegisterIn {
    pub(crate) store_id: Option<String>,
    pub(crate) total_amount: Option<i64>,
    pub(crate) currency: Option<String>,
}

/// `ConfirmPaymentBody`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConfirmIn {
    pub(crate) store_id: Option<String>,
    pub(crate) payment_token: Option<String>,
    pub(crate) tx_id: Option<String>,
    pub(crate) currency: Option<String>,
    pub(crate) total_amount: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct AmountIn {
    pub(crate) total: Option<i64>,
}

/// `BillingKeyPaymentInput`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BillingKeyPayIn {
    pub(crate) store_id: Option<String>,
    pub(crate) billing_key: Option<String>,
    pub(crate) order_name: Option<String>,
    pub(crate) amount: Option<AmountIn>,
    pub(crate) currency: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExpiryIn {
    pub(crate) valid_hours: Option<i64>,
    pub(crate) due_date: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct OptionIn {
    #[serde(rename = "type")]
    pub(crate) kind: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CashReceiptIn {
    #[serde(rename = "type")]
    pub(crate) kind: Option<String>,
    pub(crate) customer_identity_number: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VirtualAccountIn {
    pub(crate) bank: Option<String>,
    pub(crate) expiry: Option<ExpiryIn>,
    pub(crate) option: Option<OptionIn>,
    pub(crate) cash_receipt: Option<CashReceiptIn>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InstantMethodIn {
    pub(crate) virtual_account: Option<VirtualAccountIn>,
    pub(crate) card: Option<Value>,
}

/// `InstantPaymentInput`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InstantIn {
    pub(crate) store_id: Option<String>,
    pub(crate) channel_key: Option<String>,
    pub(crate) channel_group_id: Option<String>,
    pub(crate) method: Option<InstantMethodIn>,
    pub(crate) order_name: Option<String>,
    pub(crate) amount: Option<AmountIn>,
    pub(crate) currency: Option<String>,
}

/// The whole fake PortOne.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) payments: HashMap<String, FakePayment>,
    pub(crate) pre_registered: HashMap<String, (Option<i64>, Option<String>)>,
    pub(crate) billing_keys: Vec<String>,
    pub(crate) async_cancel: bool,
    pub(crate) counter: u64,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new("INVALID_REQUEST", message)
}

impl State {
    pub(crate) fn next_id(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!(
            "{prefix}-{:08}-{}",
            self.counter,
            uuid::Uuid::new_v4().simple()
        )
    }

    fn check_pre_registered(&self, id: &str, total: i64, currency: &str) -> Result<(), ApiError> {
        if let Some((amount, cur)) = self.pre_registered.get(id) {
            if amount.is_some_and(|a| a != total) || cur.as_deref().is_some_and(|c| c != currency) {
                return Err(ApiError::new(
                    "INFORMATION_MISMATCH",
                    "사전 등록된 결제 정보와 일치하지 않습니다.",
                ));
            }
        }
        Ok(())
    }

    fn ensure_new(&self, id: &str) -> Result<(), ApiError> {
        match self.payments.get(id).map(|p| p.status) {
            None | Some(Status::Ready) | Some(Status::Failed) => Ok(()),
            Some(_) => Err(ApiError::new("ALREADY_PAID", "이미 결제가 완료되었습니다.")),
        }
    }

    /// The customer paid in the browser. With `manual_confirm`, the payment stays `READY` until
    /// the merchant calls `/confirm` with the returned token.
    pub(crate) fn browser_pay(
        &mut self,
        id: &str,
        total: i64,
        currency: &str,
        order_name: &str,
        method: &PayMethod,
        manual_confirm: bool,
    ) -> Result<(Option<String>, Vec<PendingWebhook>), ApiError> {
        self.ensure_new(id)?;
        self.check_pre_registered(id, total, currency)?;
        let tx = self.next_id("tx");
        let mut p = FakePayment::new(id, tx, order_name, currency, total, Status::Ready);
        p.method = Some(match method {
            PayMethod::Card => Method::Card {
                approval_number: format!("{:08}", self.counter),
            },
            PayMethod::EasyPay(provider) => Method::EasyPay {
                provider: provider.clone(),
            },
        });
        let mut hooks = vec![PendingWebhook::for_payment("Transaction.Ready", &p)];
        let token = if manual_confirm {
            let token = format!("payment-token-{}", uuid::Uuid::new_v4().simple());
            p.payment_token = Some(token.clone());
            Some(token)
        } else {
            p.set_status(Status::Paid);
            p.paid_at = Some(OffsetDateTime::now_utc());
            hooks.push(PendingWebhook::for_payment("Transaction.Paid", &p));
            None
        };
        self.payments.insert(id.to_owned(), p);
        Ok((token, hooks))
    }

    /// The customer chose a virtual account in the browser; it is issued.
    pub(crate) fn browser_virtual_account(
        &mut self,
        id: &str,
        total: i64,
        currency: &str,
        order_name: &str,
        bank: &str,
        valid_hours: i64,
    ) -> Result<(String, Vec<PendingWebhook>), ApiError> {
        self.ensure_new(id)?;
        self.check_pre_registered(id, total, currency)?;
        let tx = self.next_id("tx");
        let mut p = FakePayment::new(id, tx, order_name, currency, total, Status::Ready);
        let account_number = format!("{:014}", 56_211_100_000_000u64 + self.counter);
        p.method = Some(Method::VirtualAccount {
            bank: bank.to_owned(),
            account_number: account_number.clone(),
            expired_at: OffsetDateTime::now_utc() + time::Duration::hours(valid_hours),
        });
        p.set_status(Status::VirtualAccountIssued);
        let hooks = vec![PendingWebhook::for_payment(
            "Transaction.VirtualAccountIssued",
            &p,
        )];
        self.payments.insert(id.to_owned(), p);
        Ok((account_number, hooks))
    }

    /// The customer deposited the full amount into the virtual account.
    pub(crate) fn deposit(&mut self, id: &str) -> Result<Vec<PendingWebhook>, ApiError> {
        let p = self.payment_mut(id)?;
        if p.status != Status::VirtualAccountIssued {
            return Err(ApiError::new(
                "PAYMENT_NOT_WAITING_FOR_DEPOSIT",
                "입금 대기 중인 결제가 아닙니다.",
            ));
        }
        p.set_status(Status::Paid);
        p.paid_at = Some(OffsetDateTime::now_utc());
        Ok(vec![PendingWebhook::for_payment("Transaction.Paid", p)])
    }

    /// The payment failed at the PG.
    pub(crate) fn fail(
        &mut self,
        id: &str,
        reason: &str,
        pg_code: &str,
    ) -> Result<Vec<PendingWebhook>, ApiError> {
        let p = self.payment_mut(id)?;
        if !matches!(p.status, Status::Ready | Status::VirtualAccountIssued) {
            return Err(ApiError::new("ALREADY_PAID", "이미 결제가 완료되었습니다."));
        }
        p.set_status(Status::Failed);
        p.failed_at = Some(OffsetDateTime::now_utc());
        p.failure = Some((reason.to_owned(), pg_code.to_owned(), reason.to_owned()));
        Ok(vec![PendingWebhook::for_payment("Transaction.Failed", p)])
    }

    /// A failed payment is approved late: PortOne documents a payment first reported failed
    /// and later approved, with a second paid webhook (portone.md, V1 webhook triggers). `PAID`
    /// with `paidAt` set, the failure cleared, `Transaction.Paid` sent.
    pub(crate) fn approve_late(&mut self, id: &str) -> Result<Vec<PendingWebhook>, ApiError> {
        let p = self.payment_mut(id)?;
        if p.status != Status::Failed {
            return Err(ApiError::new(
                "INVALID_PAYMENT_STATUS",
                "실패한 결제만 뒤늦게 승인할 수 있습니다.",
            ));
        }
        p.set_status(Status::Paid);
        p.paid_at = Some(OffsetDateTime::now_utc());
        p.failed_at = None;
        p.failure = None;
        Ok(vec![PendingWebhook::for_payment("Transaction.Paid", p)])
    }

    /// Sandbox scenario (PortOne documents no reversed deposit): the deposit into a virtual
    /// account is reversed, the payment is `VIRTUAL_ACCOUNT_ISSUED` again (no `paidAt`) and
    /// `Transaction.VirtualAccountIssued` is sent. Only a deposited virtual account with no
    /// cancellation can be reversed; it can be deposited into again.
    pub(crate) fn reverse_deposit(&mut self, id: &str) -> Result<Vec<PendingWebhook>, ApiError> {
        let p = self.payment_mut(id)?;
        let is_va = matches!(p.method, Some(Method::VirtualAccount { .. }));
        if !is_va || p.status != Status::Paid || !p.cancellations.is_empty() {
            return Err(ApiError::new(
                "INVALID_PAYMENT_STATUS",
                "입금을 되돌릴 수 있는 가상계좌 결제가 아닙니다.",
            ));
        }
        p.set_status(Status::VirtualAccountIssued);
        p.paid_at = None;
        Ok(vec![PendingWebhook::for_payment(
            "Transaction.VirtualAccountIssued",
            p,
        )])
    }

    fn payment_mut(&mut self, id: &str) -> Result<&mut FakePayment, ApiError> {
        self.payments
            .get_mut(id)
            .ok_or_else(|| ApiError::new("PAYMENT_NOT_FOUND", "결제 건이 존재하지 않습니다."))
    }

    pub(crate) fn pre_register(
        &mut self,
        id: &str,
        body: PreRegisterIn,
    ) -> Result<Value, ApiError> {
        self.ensure_new(id)?;
        if body.total_amount.is_some_and(|a| a < 0) {
            return Err(invalid("totalAmount must not be negative"));
        }
        self.pre_registered
            .insert(id.to_owned(), (body.total_amount, body.currency));
        Ok(json!({}))
    }

    pub(crate) fn confirm(
        &mut self,
        id: &str,
        body: ConfirmIn,
    ) -> Result<(Value, Vec<PendingWebhook>), ApiError> {
        let Some(token) = body.payment_token else {
            return Err(invalid("paymentToken is required"));
        };
        let p = self.payment_mut(id)?;
        if p.status != Status::Ready {
            return Err(ApiError::new("ALREADY_PAID", "이미 결제가 완료되었습니다."));
        }
        if p.payment_token.as_deref() != Some(token.as_str()) {
            return Err(ApiError::new(
                "INVALID_PAYMENT_TOKEN",
                "유효하지 않은 결제 토큰입니다.",
            ));
        }
        let mismatch = body.total_amount.is_some_and(|a| a != p.total)
            || body.currency.as_deref().is_some_and(|c| c != p.currency)
            || body.tx_id.as_deref().is_some_and(|t| t != p.transaction_id);
        if mismatch {
            return Err(ApiError::new(
                "INFORMATION_MISMATCH",
                "결제 정보가 일치하지 않습니다.",
            ));
        }
        p.set_status(Status::Paid);
        let now = OffsetDateTime::now_utc();
        p.paid_at = Some(now);
        p.payment_token = None;
        let hooks = vec![PendingWebhook::for_payment("Transaction.Paid", p)];
        Ok((
            json!({"pgTxId": format!("pg-{}", p.transaction_id), "paidAt": rfc3339(now)}),
            hooks,
        ))
    }

    pub(crate) fn cancel(
        &mut self,
        id: &str,
        body: CancelIn,
    ) -> Result<(Value, Vec<PendingWebhook>), ApiError> {
        let reason = match body.reason {
            Some(r) if !r.trim().is_empty() => r,
            _ => return Err(invalid("reason is required")),
        };
        if let Some(requester) = &body.requester {
            if requester != "CUSTOMER" && requester != "ADMIN" {
                return Err(invalid(format!("unknown requester {requester}")));
            }
        }
        if body.amount.is_some_and(|a| a <= 0) {
            return Err(invalid("amount must be positive"));
        }
        if let Some(account) = &body.refund_account {
            let ok = account.bank.as_deref().is_some_and(|b| !b.is_empty())
                && account
                    .number
                    .as_deref()
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                && account
                    .holder_name
                    .as_deref()
                    .is_some_and(|h| !h.is_empty());
            if !ok {
                return Err(invalid(
                    "refundAccount needs bank, a digits-only number and holderName",
                ));
            }
        }
        let async_cancel = self.async_cancel;
        let cancellation_id = self.next_id("cancellation");
        let p = self.payment_mut(id)?;
        match p.status {
            Status::Cancelled => {
                return Err(ApiError::new(
                    "PAYMENT_ALREADY_CANCELLED",
                    "이미 취소된 결제입니다.",
                ))
            }
            Status::Paid | Status::PartialCancelled => {}
            _ => {
                return Err(ApiError::new(
                    "PAYMENT_NOT_PAID",
                    "결제가 완료되지 않았습니다.",
                ))
            }
        }
        let pending: i64 = p
            .cancellations
            .iter()
            .filter(|c| c.status == "REQUESTED")
            .map(|c| c.total_amount)
            .sum();
        let cancellable = p.cancellable() - pending;
        if let Some(expected) = body.current_cancellable_amount {
            if expected != cancellable {
                return Err(ApiError::new(
                    "CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN",
                    "취소 가능 잔액 검증에 실패했습니다.",
                ));
            }
        }
        let amount = body.amount.unwrap_or(cancellable);
        if amount > cancellable || amount <= 0 {
            return Err(ApiError::new(
                "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT",
                "결제 취소 금액이 취소 가능 금액을 초과합니다.",
            ));
        }
        let tax_free = body.tax_free_amount.unwrap_or(0);
        if tax_free > amount || tax_free < 0 {
            return Err(ApiError::new(
                "SUM_OF_PARTS_EXCEEDS_CANCEL_AMOUNT",
                "면세 금액 등 하위 항목들의 합이 전체 취소 금액을 초과했습니다.",
            ));
        }
        if tax_free > p.tax_free - p.cancelled_tax_free {
            return Err(ApiError::new(
                "CANCEL_TAX_FREE_AMOUNT_EXCEEDS_CANCELLABLE_TAX_FREE_AMOUNT",
                "취소 면세 금액이 취소 가능한 면세 금액을 초과합니다.",
            ));
        }
        let is_virtual_account = matches!(p.method, Some(Method::VirtualAccount { .. }));
        if is_virtual_account && body.refund_account.is_none() {
            return Err(invalid(
                "가상계좌 환불에는 환불 받을 고객 계좌(refundAccount)가 필요합니다.",
            ));
        }
        let now = OffsetDateTime::now_utc();
        let mut c = Cancellation {
            id: cancellation_id,
            status: "SUCCEEDED",
            total_amount: amount,
            tax_free_amount: tax_free,
            reason,
            requested_at: now,
            cancelled_at: Some(now),
        };
        let mut hooks = Vec::new();
        if async_cancel {
            c.status = "REQUESTED";
            c.cancelled_at = None;
            let mut hook = PendingWebhook::for_payment("Transaction.CancelPending", p);
            hook.cancellation_id = Some(c.id.clone());
            hooks.push(hook);
        } else {
            hooks.push(apply_cancellation(p, &c));
        }
        let body = json!({"cancellation": cancellation_json(&c)});
        p.cancellations.push(c);
        Ok((body, hooks))
    }

    /// Completes every `REQUESTED` cancellation of a payment (PortOne's async cancel finishing).
    pub(crate) fn complete_pending_cancellations(
        &mut self,
        id: &str,
    ) -> Result<Vec<PendingWebhook>, ApiError> {
        let p = self.payment_mut(id)?;
        let mut hooks = Vec::new();
        let now = OffsetDateTime::now_utc();
        for i in 0..p.cancellations.len() {
            if p.cancellations[i].status == "REQUESTED" {
                p.cancellations[i].status = "SUCCEEDED";
                p.cancellations[i].cancelled_at = Some(now);
                let c = p.cancellations[i].clone();
                hooks.push(apply_cancellation(p, &c));
            }
        }
        Ok(hooks)
    }

    pub(crate) fn billing_key_pay(
        &mut self,
        id: &str,
        body: BillingKeyPayIn,
    ) -> Result<(Value, Vec<PendingWebhook>), ApiError> {
        let (Some(key), Some(order_name), Some(total), Some(currency)) = (
            body.billing_key,
            body.order_name,
            body.amount.and_then(|a| a.total),
            body.currency,
        ) else {
            return Err(invalid(
                "billingKey, orderName, amount.total and currency are required",
            ));
        };
        if total <= 0 {
            return Err(invalid("amount.total must be positive"));
        }
        if !self.billing_keys.contains(&key) {
            return Err(ApiError::new(
                "BILLING_KEY_NOT_FOUND",
                "빌링키가 존재하지 않습니다.",
            ));
        }
        self.ensure_new(id)?;
        let tx = self.next_id("tx");
        let mut p = FakePayment::new(id, tx, &order_name, &currency, total, Status::Paid);
        let now = OffsetDateTime::now_utc();
        p.paid_at = Some(now);
        p.billing_key = Some(key);
        p.platform_type = "API";
        p.method = Some(Method::Card {
            approval_number: format!("{:08}", self.counter),
        });
        let hooks = vec![PendingWebhook::for_payment("Transaction.Paid", &p)];
        let out = json!({"payment": {"pgTxId": format!("pg-{}", p.transaction_id),
                                      "paidAt": rfc3339(now)}});
        self.payments.insert(id.to_owned(), p);
        Ok((out, hooks))
    }

    pub(crate) fn instant(
        &mut self,
        id: &str,
        body: InstantIn,
    ) -> Result<(Value, Vec<PendingWebhook>), ApiError> {
        if body.channel_key.is_none() && body.channel_group_id.is_none() {
            return Err(invalid("채널 키 또는 채널 그룹 ID 필수"));
        }
        let (Some(method), Some(order_name), Some(total), Some(currency)) = (
            body.method,
            body.order_name,
            body.amount.and_then(|a| a.total),
            body.currency,
        ) else {
            return Err(invalid(
                "method, orderName, amount.total and currency are required",
            ));
        };
        if method.card.is_some() {
            return Err(ApiError::new(
                "FORBIDDEN",
                "이 채널은 수기 카드 결제를 허용하지 않습니다.",
            ));
        }
        let Some(va) = method.virtual_account else {
            return Err(invalid("method.virtualAccount or method.card is required"));
        };
        let (Some(bank), Some(expiry), Some(option), Some(receipt)) =
            (va.bank, va.expiry, va.option, va.cash_receipt)
        else {
            return Err(invalid(
                "virtualAccount needs bank, expiry, option and cashReceipt",
            ));
        };
        if option.kind.is_none()
            || receipt.kind.is_none()
            || receipt.customer_identity_number.is_none()
        {
            return Err(invalid(
                "option.type, cashReceipt.type and cashReceipt.customerIdentityNumber are required",
            ));
        }
        let hours = match (expiry.valid_hours, expiry.due_date) {
            (Some(h), None) if h > 0 => h,
            (None, Some(due)) => {
                let due = OffsetDateTime::parse(&due, &Rfc3339)
                    .map_err(|_| invalid("expiry.dueDate must be RFC 3339"))?;
                let hours = (due - OffsetDateTime::now_utc()).whole_hours();
                if hours <= 0 {
                    return Err(invalid("expiry.dueDate is in the past"));
                }
                hours
            }
            _ => {
                return Err(invalid(
                    "give exactly one of expiry.validHours and expiry.dueDate",
                ))
            }
        };
        if total <= 0 {
            return Err(invalid("amount.total must be positive"));
        }
        let (_, hooks) =
            self.browser_virtual_account(id, total, &currency, &order_name, &bank, hours)?;
        let Some(p) = self.payments.get_mut(id) else {
            return Err(invalid("the instant payment was not stored"));
        };
        p.platform_type = "API";
        // `InstantPaymentSummary` requires `paidAt`: PortOne reports when the instant payment
        // was accepted (for a virtual account, when it was issued).
        let out = json!({"payment": {"pgTxId": format!("pg-{}", p.transaction_id),
                                      "paidAt": rfc3339(p.status_changed_at)}});
        Ok((out, hooks))
    }
}

fn apply_cancellation(p: &mut FakePayment, c: &Cancellation) -> PendingWebhook {
    p.cancelled += c.total_amount;
    p.cancelled_tax_free += c.tax_free_amount;
    let kind = if p.cancellable() == 0 {
        p.set_status(Status::Cancelled);
        "Transaction.Cancelled"
    } else {
        p.set_status(Status::PartialCancelled);
        "Transaction.PartialCancelled"
    };
    let mut hook = PendingWebhook::for_payment(kind, p);
    hook.cancellation_id = Some(c.id.clone());
    hook
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn cancel_in(amount: Option<i64>, expected: Option<i64>) -> CancelIn {
        CancelIn {
            store_id: None,
            amount,
            tax_free_amount: None,
            reason: Some("고객 요청".into()),
            requester: None,
            current_cancellable_amount: expected,
            refund_account: None,
        }
    }

    #[test]
    fn partial_then_full_cancel_tracks_balance_and_status() {
        let mut s = State::default();
        s.browser_pay("order-1", 10_000, "KRW", "셔츠", &PayMethod::Card, false)
            .unwrap();
        let (body, hooks) = s
            .cancel("order-1", cancel_in(Some(3_000), Some(10_000)))
            .unwrap();
        assert_eq!(body["cancellation"]["status"], "SUCCEEDED");
        assert_eq!(hooks[0].kind, "Transaction.PartialCancelled");
        let p = &s.payments["order-1"];
        assert_eq!(p.status, Status::PartialCancelled);
        let json = p.to_json("store", "key");
        assert_eq!(json["amount"]["cancelled"], 3_000);
        assert_eq!(json["status"], "PARTIAL_CANCELLED");
        let err = s
            .cancel("order-1", cancel_in(None, Some(10_000)))
            .unwrap_err();
        assert_eq!(err.error_type, "CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN");
        assert_eq!(err.http_status(), 409);
        let err = s
            .cancel("order-1", cancel_in(Some(7_001), None))
            .unwrap_err();
        assert_eq!(err.error_type, "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT");
        let (_, hooks) = s.cancel("order-1", cancel_in(None, Some(7_000))).unwrap();
        assert_eq!(hooks[0].kind, "Transaction.Cancelled");
        let err = s.cancel("order-1", cancel_in(None, None)).unwrap_err();
        assert_eq!(err.error_type, "PAYMENT_ALREADY_CANCELLED");
    }

    #[test]
    fn async_cancel_is_requested_then_completed() {
        let mut s = State {
            async_cancel: true,
            ..State::default()
        };
        s.browser_pay(
            "order-2",
            5_000,
            "KRW",
            "n",
            &PayMethod::EasyPay("KAKAOPAY".into()),
            false,
        )
        .unwrap();
        let (body, hooks) = s.cancel("order-2", cancel_in(None, None)).unwrap();
        assert_eq!(body["cancellation"]["status"], "REQUESTED");
        assert_eq!(hooks[0].kind, "Transaction.CancelPending");
        assert_eq!(s.payments["order-2"].status, Status::Paid);
        let hooks = s.complete_pending_cancellations("order-2").unwrap();
        assert_eq!(hooks[0].kind, "Transaction.Cancelled");
        assert_eq!(s.payments["order-2"].status, Status::Cancelled);
    }

    #[test]
    fn manual_confirm_checks_token_and_amount() {
        let mut s = State::default();
        let (token, _) = s
            .browser_pay("order-3", 1_000, "KRW", "n", &PayMethod::Card, true)
            .unwrap();
        let token = token.unwrap();
        let confirm = |token: &str, amount| ConfirmIn {
            store_id: None,
            payment_token: Some(token.into()),
            tx_id: None,
            currency: Some("KRW".into()),
            total_amount: Some(amount),
        };
        assert_eq!(
            s.confirm("order-3", confirm("wrong", 1_000))
                .unwrap_err()
                .error_type,
            "INVALID_PAYMENT_TOKEN"
        );
        assert_eq!(
            s.confirm("order-3", confirm(&token, 999))
                .unwrap_err()
                .error_type,
            "INFORMATION_MISMATCH"
        );
        assert_eq!(s.payments["order-3"].status, Status::Ready);
        s.confirm("order-3", confirm(&token, 1_000)).unwrap();
        assert_eq!(s.payments["order-3"].status, Status::Paid);
        assert_eq!(
            s.confirm("order-3", confirm(&token, 1_000))
                .unwrap_err()
                .error_type,
            "ALREADY_PAID"
        );
    }

    #[test]
    fn virtual_account_refund_needs_customer_account() {
        let mut s = State::default();
        s.browser_virtual_account("order-4", 15_000, "KRW", "n", "SHINHAN", 72)
            .unwrap();
        assert_eq!(
            s.cancel("order-4", cancel_in(None, None))
                .unwrap_err()
                .error_type,
            "PAYMENT_NOT_PAID"
        );
        s.deposit("order-4").unwrap();
        assert_eq!(
            s.cancel("order-4", cancel_in(None, None))
                .unwrap_err()
                .error_type,
            "INVALID_REQUEST"
        );
        let mut body = cancel_in(None, None);
        body.refund_account = Some(RefundAccountIn {
            bank: Some("KOOKMIN".into()),
            number: Some("X600802567548".into()),
            holder_name: Some("홍길동".into()),
        });
        assert_eq!(
            s.cancel("order-4", body).unwrap_err().error_type,
            "INVALID_REQUEST"
        );
    }

    #[test]
    fn pre_registered_amount_is_enforced() {
        let mut s = State::default();
        s.pre_register(
            "order-5",
            PreRegisterIn {
                store_id: None,
                total_amount: Some(1_000),
                currency: Some("KRW".into()),
            },
        )
        .unwrap();
        let err = s
            .browser_pay("order-5", 100, "KRW", "n", &PayMethod::Card, false)
            .unwrap_err();
        assert_eq!(err.error_type, "INFORMATION_MISMATCH");
        assert!(s
            .browser_pay("order-5", 1_000, "KRW", "n", &PayMethod::Card, false)
            .is_ok());
    }

    #[test]
    fn error_statuses_follow_the_openapi() {
        assert_eq!(status_for_error_type("PAYMENT_NOT_FOUND"), 404);
        assert_eq!(status_for_error_type("PG_PROVIDER"), 502);
        assert_eq!(status_for_error_type("UNAUTHORIZED"), 401);
        assert_eq!(
            status_for_error_type("IDEMPOTENCY_OUTSTANDING_REQUEST"),
            409
        );
        assert_eq!(status_for_error_type("INVALID_REQUEST"), 400);
        let body = ApiError::pg("E01", "거절").body();
        assert_eq!(body["pgCode"], "E01");
        assert_eq!(body["type"], "PG_PROVIDER");
    }
}
