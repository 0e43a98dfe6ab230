//! The fake's in-memory Toss back office: payments, their state machine and Toss's business rules.
//!
//! Pure and synchronous: every operation takes the parsed request and returns either the new
//! payment JSON or a Toss error (`status`, `code`, `message`). Field names follow
//! `shared/reference/tosspayments.md` §3 directly; nothing here is shared with the client crate.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// A Toss error as the fake answers it: HTTP status plus the `{code, message}` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TossError {
    /// HTTP status.
    pub status: u16,
    /// Toss error code.
    pub code: String,
    /// Message (Korean, as Toss sends it).
    pub message: String,
}

impl TossError {
    pub(crate) fn new(status: u16, code: &str, message: &str) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.to_owned(),
        }
    }

    pub(crate) fn body(&self) -> Value {
        json!({ "code": self.code, "message": self.message })
    }
}

/// How the customer paid in a fake payment session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionMethod {
    /// 카드
    Card,
    /// 간편결제 with the given provider name (e.g. `토스페이`).
    EasyPay(String),
    /// 가상계좌 issued at the given Toss bank code (e.g. `"88"`).
    VirtualAccount {
        /// Toss two-digit bank code.
        bank_code: String,
    },
}

impl SessionMethod {
    fn korean(&self) -> &'static str {
        match self {
            Self::Card => "카드",
            Self::EasyPay(_) => "간편결제",
            Self::VirtualAccount { .. } => "가상계좌",
        }
    }
}

#[derive(Debug, Clone)]
struct CancelEntry {
    amount: i64,
    reason: String,
    tax_free: i64,
    refundable_after: i64,
    at: String,
    transaction_key: String,
}

#[derive(Debug, Clone)]
struct VirtualAccountInfo {
    account_number: String,
    bank_code: String,
    customer_name: String,
    due_date: String,
    expired: bool,
    refund_status: &'static str,
    settlement_status: &'static str,
}

#[derive(Debug, Clone)]
pub(crate) struct FakePayment {
    pub(crate) payment_key: String,
    pub(crate) order_id: String,
    order_name: String,
    method: SessionMethod,
    payment_type: &'static str,
    amount: i64,
    balance: i64,
    pub(crate) status: &'static str,
    requested_at: String,
    approved_at: Option<String>,
    last_transaction_key: Option<String>,
    cancels: Vec<CancelEntry>,
    virtual_account: Option<VirtualAccountInfo>,
    pub(crate) secret: String,
    failure: Option<(String, String)>,
    confirmed: bool,
    last_cancel_request: Option<Instant>,
}

impl FakePayment {
    pub(crate) fn is_virtual_account(&self) -> bool {
        matches!(self.method, SessionMethod::VirtualAccount { .. })
    }

    /// The payment as Toss's `Payment` JSON object.
    pub(crate) fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("mId".into(), json!("tvivarepublica"));
        m.insert("version".into(), json!("2022-11-16"));
        m.insert("paymentKey".into(), json!(self.payment_key));
        m.insert("type".into(), json!(self.payment_type));
        m.insert("orderId".into(), json!(self.order_id));
        m.insert("orderName".into(), json!(self.order_name));
        m.insert("currency".into(), json!("KRW"));
        let method = if self.confirmed || self.status == "WAITING_FOR_DEPOSIT" {
            json!(self.method.korean())
        } else {
            Value::Null
        };
        m.insert("method".into(), method);
        m.insert("totalAmount".into(), json!(self.amount));
        m.insert("balanceAmount".into(), json!(self.balance));
        m.insert("status".into(), json!(self.status));
        m.insert("requestedAt".into(), json!(self.requested_at));
        m.insert("approvedAt".into(), json!(self.approved_at));
        m.insert("useEscrow".into(), json!(false));
        m.insert(
            "lastTransactionKey".into(),
            json!(self.last_transaction_key),
        );
        // VAT rounded half up, (amount + 5) / 11, written so it cannot overflow.
        let vat = self.amount / 11 + i64::from(self.amount % 11 >= 6);
        m.insert("suppliedAmount".into(), json!(self.amount - vat));
        m.insert("vat".into(), json!(vat));
        m.insert("cultureExpense".into(), json!(false));
        m.insert("taxFreeAmount".into(), json!(0));
        m.insert("taxExemptionAmount".into(), json!(0));
        let cancels: Vec<Value> = self
            .cancels
            .iter()
            .map(|c| {
                json!({
                    "cancelAmount": c.amount,
                    "cancelReason": c.reason,
                    "taxFreeAmount": c.tax_free,
                    "taxExemptionAmount": 0,
                    "refundableAmount": c.refundable_after,
                    "cardDiscountAmount": 0,
                    "transferDiscountAmount": 0,
                    "easyPayDiscountAmount": 0,
                    "canceledAt": c.at,
                    "transactionKey": c.transaction_key,
                    "receiptKey": null,
                    "cancelStatus": "DONE",
                    "cancelRequestId": null,
                })
            })
            .collect();
        m.insert(
            "cancels".into(),
            if cancels.is_empty() {
                Value::Null
            } else {
                Value::Array(cancels)
            },
        );
        m.insert("isPartialCancelable".into(), json!(true));
        let confirmed = self.confirmed;
        m.insert(
            "card".into(),
            match &self.method {
                SessionMethod::Card if confirmed => json!({
                    "issuerCode": "61", "acquirerCode": "31", "number": "43301234****123*",
                    "installmentPlanMonths": 0, "isInterestFree": false, "interestPayer": null,
                    "approveNo": "00000000", "useCardPoint": false, "cardType": "신용",
                    "ownerType": "개인", "acquireStatus": "READY", "amount": self.amount,
                }),
                _ => Value::Null,
            },
        );
        m.insert(
            "easyPay".into(),
            match &self.method {
                SessionMethod::EasyPay(provider) if confirmed => {
                    json!({ "provider": provider, "amount": self.amount, "discountAmount": 0 })
                }
                _ => Value::Null,
            },
        );
        m.insert(
            "virtualAccount".into(),
            match &self.virtual_account {
                Some(va) => json!({
                    "accountType": "일반",
                    "accountNumber": va.account_number,
                    "bankCode": va.bank_code,
                    "customerName": va.customer_name,
                    "dueDate": va.due_date,
                    "refundStatus": va.refund_status,
                    "expired": va.expired,
                    "settlementStatus": va.settlement_status,
                    "refundReceiveAccount": null,
                }),
                None => Value::Null,
            },
        );
        m.insert("transfer".into(), Value::Null);
        m.insert("mobilePhone".into(), Value::Null);
        m.insert("giftCertificate".into(), Value::Null);
        m.insert("cashReceipt".into(), Value::Null);
        m.insert("cashReceipts".into(), Value::Null);
        m.insert("discount".into(), Value::Null);
        m.insert(
            "secret".into(),
            if self.confirmed || self.virtual_account.is_some() {
                json!(self.secret)
            } else {
                Value::Null
            },
        );
        m.insert("country".into(), json!("KR"));
        m.insert(
            "failure".into(),
            match &self.failure {
                Some((code, message)) => json!({ "code": code, "message": message }),
                None => Value::Null,
            },
        );
        m.insert(
            "receipt".into(),
            if self.confirmed {
                json!({ "url": format!("https://dashboard.tosspayments.com/receipt/redirection?transactionId={}", self.payment_key) })
            } else {
                Value::Null
            },
        );
        m.insert(
            "checkout".into(),
            json!({ "url": format!("https://api.tosspayments.com/v1/payments/{}/checkout", self.payment_key) }),
        );
        m.insert("metadata".into(), Value::Null);
        // Removed in 2022-11-16 but still in Toss's cancel-payment sample response.
        m.insert("foreignEasyPay".into(), Value::Null);
        Value::Object(m)
    }
}

/// A whole `Payment` object in `status`, as the fake serves it, made by playing the real
/// operations (a card payment confirmed, then cancelled; a virtual account issued; a session
/// expired), then renamed to `payment_key`.
pub(crate) fn sample_payment(
    payment_key: &str,
    order_id: &str,
    amount: i64,
    status: &str,
) -> Result<Value, TossError> {
    let mut office = Backoffice::new(Duration::ZERO);
    let method = if status == "WAITING_FOR_DEPOSIT" {
        SessionMethod::VirtualAccount {
            bank_code: "88".into(),
        }
    } else {
        SessionMethod::Card
    };
    let key = office.create_session(order_id, amount, method, "테스트 주문")?;
    let confirm = json!({"paymentKey": key, "orderId": order_id, "amount": amount});
    let now = Instant::now();
    match status {
        "IN_PROGRESS" | "READY" | "ABORTED" => {}
        "EXPIRED" => {
            office.expire(&key)?;
        }
        "DONE" | "WAITING_FOR_DEPOSIT" => {
            office.confirm(&confirm)?;
        }
        "CANCELED" => {
            office.confirm(&confirm)?;
            office.cancel(&key, &json!({"cancelReason": "고객 요청"}), now)?;
        }
        "PARTIAL_CANCELED" => {
            office.confirm(&confirm)?;
            let part = (amount / 2).max(1);
            let body = json!({"cancelReason": "고객 요청", "cancelAmount": part});
            office.cancel(&key, &body, now)?;
        }
        other => {
            return Err(bad(
                "INVALID_REQUEST",
                &format!(
                    "unknown status {other:?}: READY, IN_PROGRESS, WAITING_FOR_DEPOSIT, DONE, \
                     CANCELED, PARTIAL_CANCELED, ABORTED or EXPIRED"
                ),
            ))
        }
    }
    let mut p = office
        .payments
        .remove(&key)
        .ok_or_else(|| bad("INVALID_REQUEST", "the sample payment was not stored"))?;
    match status {
        "READY" => p.status = "READY",
        "ABORTED" => {
            p.status = "ABORTED";
            p.failure = Some((
                "REJECT_CARD_COMPANY".into(),
                "카드사에서 결제를 거절했습니다.".into(),
            ));
        }
        _ => {}
    }
    p.payment_key = payment_key.to_owned();
    Ok(p.to_json())
}

/// A status change the fake must announce with webhooks.
#[derive(Debug, Clone)]
pub(crate) struct StatusChange {
    pub(crate) payment: Value,
    pub(crate) virtual_account: bool,
    pub(crate) secret: String,
    pub(crate) status: &'static str,
    pub(crate) order_id: String,
    pub(crate) transaction_key: String,
}

/// Result of a state operation: the JSON answer and any status changes to announce.
pub(crate) type OpResult = Result<(Value, Vec<StatusChange>), TossError>;

#[derive(Debug)]
pub(crate) struct Backoffice {
    payments: HashMap<String, FakePayment>,
    orders: HashMap<String, String>,
    billing_auths: HashMap<String, String>,
    billing_keys: HashMap<String, String>,
    seq: u64,
    pub(crate) consecutive_cancel_window: Duration,
}

/// The Toss bank codes the fake accepts (reference §6).
const BANK_CODES: &[&str] = &[
    "39", "34", "12", "32", "45", "64", "88", "48", "27", "20", "71", "50", "37", "35", "90", "89",
    "92", "81", "54", "03", "06", "31", "02", "11", "23", "07",
];

pub(crate) fn kst_now() -> OffsetDateTime {
    let kst = UtcOffset::from_hms(9, 0, 0).unwrap_or(UtcOffset::UTC);
    OffsetDateTime::now_utc().to_offset(kst)
}

pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_default()
}

/// The largest amount the fake takes (`EXCEED_MAX_AMOUNT` above it). Toss documents no upper
/// limit; its amounts are JSON numbers (floating since v1.4), which carry whole won exactly up
/// to 2^53 − 1, the same limit `hanpay-tosspayments` checks before sending.
pub(crate) const MAX_AMOUNT: i64 = 9_007_199_254_740_991;

fn bad(code: &str, message: &str) -> TossError {
    TossError::new(400, code, message)
}

/// Reads a KRW amount from a request field: a JSON integer (or a number whose fraction is all
/// zeros). A fractional amount or a string is `INVALID_REQUEST`.
pub(crate) fn krw_amount(v: &Value) -> Result<i64, TossError> {
    let invalid = || {
        bad(
            "INVALID_REQUEST",
            "잘못된 요청입니다. 금액은 정수여야 합니다.",
        )
    };
    let Value::Number(n) = v else {
        return Err(invalid());
    };
    if let Some(i) = n.as_i64() {
        return Ok(i);
    }
    // Decimal text such as "374000.0": accept only an all-zero fraction.
    let text = n.to_string();
    let (int, frac) = text.split_once('.').ok_or_else(invalid)?;
    if frac.bytes().all(|b| b == b'0') && !frac.is_empty() {
        int.parse::<i64>().map_err(|_| invalid())
    } else {
        Err(invalid())
    }
}

fn str_field<'a>(body: &'a Value, name: &str) -> Option<&'a str> {
    body.get(name).and_then(Value::as_str)
}

fn valid_order_id(id: &str) -> bool {
    (6..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'='))
}

impl Backoffice {
    pub(crate) fn new(consecutive_cancel_window: Duration) -> Self {
        Self {
            payments: HashMap::new(),
            orders: HashMap::new(),
            billing_auths: HashMap::new(),
            billing_keys: HashMap::new(),
            seq: 0,
            consecutive_cancel_window,
        }
    }

    fn next(&mut self, prefix: &str) -> String {
        self.seq += 1;
        let salt = fastrand::u32(..);
        format!("{prefix}{:08}{salt:08x}", self.seq)
    }

    fn tx_key(&mut self) -> String {
        self.seq += 1;
        format!("txrd_fake{:010}{:08X}", self.seq, fastrand::u32(..))
    }

    fn change(&self, p: &FakePayment) -> StatusChange {
        StatusChange {
            payment: p.to_json(),
            virtual_account: p.is_virtual_account(),
            secret: p.secret.clone(),
            status: p.status,
            order_id: p.order_id.clone(),
            transaction_key: p.last_transaction_key.clone().unwrap_or_default(),
        }
    }

    pub(crate) fn payment(&self, payment_key: &str) -> Option<&FakePayment> {
        self.payments.get(payment_key)
    }

    pub(crate) fn payments(&self) -> impl Iterator<Item = &FakePayment> {
        self.payments.values()
    }

    /// Control: the customer authenticated a payment in the widget (status `IN_PROGRESS`).
    pub(crate) fn create_session(
        &mut self,
        order_id: &str,
        amount: i64,
        method: SessionMethod,
        order_name: &str,
    ) -> Result<String, TossError> {
        if !valid_order_id(order_id) {
            return Err(bad(
                "INVALID_ORDER_ID",
                "orderId는 6자 이상 64자 이하여야 합니다.",
            ));
        }
        if amount < 1 {
            return Err(bad("BELOW_MINIMUM_AMOUNT", "최소 결제 금액보다 작습니다."));
        }
        if amount > MAX_AMOUNT {
            return Err(bad("EXCEED_MAX_AMOUNT", "최대 결제 금액을 초과했습니다."));
        }
        if self.orders.contains_key(order_id) {
            return Err(bad(
                "DUPLICATED_ORDER_ID",
                "이미 승인 및 취소가 진행된 중복된 주문번호 입니다.",
            ));
        }
        if let SessionMethod::VirtualAccount { bank_code } = &method {
            if !BANK_CODES.contains(&bank_code.as_str()) {
                return Err(bad("INVALID_BANK", "유효하지 않은 은행입니다."));
            }
        }
        let payment_key = self.next("tfake");
        let secret = format!("ps_{}", self.next("fake"));
        let p = FakePayment {
            payment_key: payment_key.clone(),
            order_id: order_id.to_owned(),
            order_name: order_name.to_owned(),
            method,
            payment_type: "NORMAL",
            amount,
            balance: amount,
            status: "IN_PROGRESS",
            requested_at: rfc3339(kst_now()),
            approved_at: None,
            last_transaction_key: None,
            cancels: Vec::new(),
            virtual_account: None,
            secret,
            failure: None,
            confirmed: false,
            last_cancel_request: None,
        };
        self.orders.insert(order_id.to_owned(), payment_key.clone());
        self.payments.insert(payment_key.clone(), p);
        Ok(payment_key)
    }

    /// Control: the payment session (or the 10-minute confirm window) expired.
    pub(crate) fn expire(&mut self, payment_key: &str) -> OpResult {
        let p = self.payments.get_mut(payment_key).ok_or_else(|| {
            TossError::new(404, "NOT_FOUND_PAYMENT", "존재하지 않는 결제 정보 입니다.")
        })?;
        match p.status {
            "READY" | "IN_PROGRESS" => {
                p.status = "EXPIRED";
                p.failure = Some((
                    "EXPIRED_PAYMENT".into(),
                    "결제가 만료되었습니다. 다시 시도해주세요.".into(),
                ));
                let p = p.clone();
                Ok((p.to_json(), vec![self.change(&p)]))
            }
            "WAITING_FOR_DEPOSIT" => {
                // Due-date expiry: the status stays, `expired` flips, and no webhook is sent.
                if let Some(va) = p.virtual_account.as_mut() {
                    va.expired = true;
                }
                Ok((p.to_json(), Vec::new()))
            }
            _ => Err(bad(
                "NOT_SUPPORTED_PROCESS",
                "만료시킬 수 없는 결제 상태입니다.",
            )),
        }
    }

    /// Control: the customer deposited into the virtual account.
    pub(crate) fn deposit(&mut self, payment_key: &str) -> OpResult {
        let tx = self.tx_key();
        let p = self.payments.get_mut(payment_key).ok_or_else(|| {
            TossError::new(404, "NOT_FOUND_PAYMENT", "존재하지 않는 결제 정보 입니다.")
        })?;
        let Some(va) = p.virtual_account.as_mut() else {
            return Err(bad("NOT_SUPPORTED_METHOD", "가상계좌 결제가 아닙니다."));
        };
        if p.status != "WAITING_FOR_DEPOSIT" || va.expired {
            return Err(bad("NOT_SUPPORTED_PROCESS", "입금할 수 없는 상태입니다."));
        }
        va.settlement_status = "COMPLETED";
        p.status = "DONE";
        p.confirmed = true;
        p.approved_at = Some(rfc3339(kst_now()));
        p.last_transaction_key = Some(tx);
        let p = p.clone();
        Ok((p.to_json(), vec![self.change(&p)]))
    }

    /// Control (sandbox scenario; Toss documents `ABORTED` but no way to provoke it): the PG
    /// fails the payment. An authenticated payment (`READY`/`IN_PROGRESS`) is aborted as a
    /// declined approval; a waiting virtual account is aborted as one the PG gave up on. A
    /// `PAYMENT_STATUS_CHANGED` is sent (and `DEPOSIT_CALLBACK` for a virtual account).
    pub(crate) fn fail(&mut self, payment_key: &str) -> OpResult {
        let p = self.payments.get_mut(payment_key).ok_or_else(|| {
            TossError::new(404, "NOT_FOUND_PAYMENT", "존재하지 않는 결제 정보 입니다.")
        })?;
        if !matches!(p.status, "READY" | "IN_PROGRESS" | "WAITING_FOR_DEPOSIT") {
            return Err(bad(
                "NOT_SUPPORTED_PROCESS",
                "실패 처리할 수 없는 결제 상태입니다.",
            ));
        }
        p.status = "ABORTED";
        p.failure = Some((
            "REJECT_CARD_COMPANY".into(),
            "카드사에서 결제를 거절했습니다.".into(),
        ));
        let p = p.clone();
        Ok((p.to_json(), vec![self.change(&p)]))
    }

    /// Control (sandbox scenario; Toss documents no late approval): a payment that ended
    /// `ABORTED` or `EXPIRED` is approved after all, as a card network reporting a decline later
    /// turned into a success. It becomes `DONE` with `approvedAt` set and a new
    /// `lastTransactionKey`, and `PAYMENT_STATUS_CHANGED` is sent as for a normal approval.
    pub(crate) fn approve_late(&mut self, payment_key: &str) -> OpResult {
        let tx = self.tx_key();
        let p = self.payments.get_mut(payment_key).ok_or_else(|| {
            TossError::new(404, "NOT_FOUND_PAYMENT", "존재하지 않는 결제 정보 입니다.")
        })?;
        if !matches!(p.status, "ABORTED" | "EXPIRED") {
            return Err(bad(
                "NOT_SUPPORTED_PROCESS",
                "실패하거나 만료된 결제만 뒤늦게 승인할 수 있습니다.",
            ));
        }
        if let Some(va) = p.virtual_account.as_mut() {
            va.settlement_status = "COMPLETED";
        }
        p.status = "DONE";
        p.failure = None;
        p.confirmed = true;
        p.approved_at = Some(rfc3339(kst_now()));
        p.last_transaction_key = Some(tx);
        let p = p.clone();
        Ok((p.to_json(), vec![self.change(&p)]))
    }

    /// Control: a deposit into a virtual account is reversed (입금 오류). Toss documents
    /// `DONE → WAITING_FOR_DEPOSIT` on a deposit error (reference: tosspayments.md, status
    /// transitions): the payment waits again, `approvedAt` is cleared (the fake's reading: the
    /// money is no longer received) and `PAYMENT_STATUS_CHANGED` and `DEPOSIT_CALLBACK` are
    /// sent with status `WAITING_FOR_DEPOSIT`. Only a deposited virtual account with nothing
    /// refunded can be reversed; it can be deposited into again.
    pub(crate) fn reverse_deposit(&mut self, payment_key: &str) -> OpResult {
        let tx = self.tx_key();
        let p = self.payments.get_mut(payment_key).ok_or_else(|| {
            TossError::new(404, "NOT_FOUND_PAYMENT", "존재하지 않는 결제 정보 입니다.")
        })?;
        let Some(va) = p.virtual_account.as_mut() else {
            return Err(bad("NOT_SUPPORTED_METHOD", "가상계좌 결제가 아닙니다."));
        };
        if p.status != "DONE" || !p.cancels.is_empty() {
            return Err(bad(
                "NOT_SUPPORTED_PROCESS",
                "입금을 되돌릴 수 없는 결제 상태입니다.",
            ));
        }
        va.settlement_status = "INCOMPLETED";
        va.expired = false;
        p.status = "WAITING_FOR_DEPOSIT";
        p.approved_at = None;
        p.last_transaction_key = Some(tx);
        let p = p.clone();
        Ok((p.to_json(), vec![self.change(&p)]))
    }

    /// Control: a one-time billing auth key for a customer (what the billing successUrl carries).
    pub(crate) fn billing_auth(&mut self, customer_key: &str) -> String {
        let auth_key = self.next("bln_auth_");
        self.billing_auths
            .insert(auth_key.clone(), customer_key.to_owned());
        auth_key
    }

    /// `POST /v1/payments/confirm`
    pub(crate) fn confirm(&mut self, body: &Value) -> OpResult {
        let (Some(payment_key), Some(order_id), Some(amount)) = (
            str_field(body, "paymentKey"),
            str_field(body, "orderId"),
            body.get("amount"),
        ) else {
            return Err(bad("INVALID_REQUEST", "필수 파라미터가 누락되었습니다."));
        };
        let amount = krw_amount(amount)?;
        let tx = self.tx_key();
        let due = rfc3339(kst_now() + time::Duration::days(7));
        let account = format!("X{:012}", fastrand::u64(..1_000_000_000_000));
        let p = self.payments.get_mut(payment_key).ok_or_else(|| {
            TossError::new(404, "NOT_FOUND_PAYMENT", "존재하지 않는 결제 정보 입니다.")
        })?;
        if p.order_id != order_id {
            return Err(bad(
                "INVALID_REQUEST",
                "주문번호가 결제 정보와 일치하지 않습니다.",
            ));
        }
        match p.status {
            "IN_PROGRESS" => {}
            "EXPIRED" => {
                return Err(TossError::new(
                    404,
                    "NOT_FOUND_PAYMENT_SESSION",
                    "결제 시간이 만료되어 결제 진행 데이터가 존재하지 않습니다.",
                ))
            }
            _ => return Err(bad("ALREADY_PROCESSED_PAYMENT", "이미 처리된 결제 입니다.")),
        }
        if amount != p.amount {
            return Err(bad("INVALID_REQUEST", "결제 금액이 일치하지 않습니다."));
        }
        p.last_transaction_key = Some(tx);
        match &p.method {
            SessionMethod::VirtualAccount { bank_code } => {
                p.status = "WAITING_FOR_DEPOSIT";
                p.virtual_account = Some(VirtualAccountInfo {
                    account_number: account,
                    bank_code: bank_code.clone(),
                    customer_name: "홍길동".into(),
                    due_date: due,
                    expired: false,
                    refund_status: "NONE",
                    settlement_status: "INCOMPLETED",
                });
            }
            _ => {
                p.status = "DONE";
                p.confirmed = true;
                p.approved_at = Some(rfc3339(kst_now()));
            }
        }
        let p = p.clone();
        Ok((p.to_json(), vec![self.change(&p)]))
    }

    /// `GET /v1/payments/{paymentKey}`
    pub(crate) fn get(&self, payment_key: &str) -> Result<Value, TossError> {
        self.payments
            .get(payment_key)
            .map(FakePayment::to_json)
            .ok_or_else(|| {
                TossError::new(404, "NOT_FOUND_PAYMENT", "존재하지 않는 결제 정보 입니다.")
            })
    }

    /// `GET /v1/payments/orders/{orderId}`
    pub(crate) fn get_by_order(&self, order_id: &str) -> Result<Value, TossError> {
        match self.orders.get(order_id) {
            Some(key) => self.get(key),
            None => Err(TossError::new(
                404,
                "NOT_FOUND_PAYMENT",
                "존재하지 않는 결제 정보 입니다.",
            )),
        }
    }

    /// `POST /v1/payments/{paymentKey}/cancel`
    pub(crate) fn cancel(&mut self, payment_key: &str, body: &Value, now: Instant) -> OpResult {
        let tx = self.tx_key();
        let window = self.consecutive_cancel_window;
        let p = self.payments.get_mut(payment_key).ok_or_else(|| {
            TossError::new(404, "NOT_FOUND_PAYMENT", "존재하지 않는 결제 정보 입니다.")
        })?;
        if let Some(last) = p.last_cancel_request {
            if now.duration_since(last) < window {
                return Err(TossError::new(
                    403,
                    "FORBIDDEN_CONSECUTIVE_REQUEST",
                    "반복적인 요청은 허용되지 않습니다. 잠시 후 다시 시도해주세요.",
                ));
            }
        }
        p.last_cancel_request = Some(now);
        let Some(reason) = str_field(body, "cancelReason").filter(|r| !r.is_empty()) else {
            return Err(bad(
                "INVALID_REQUEST",
                "취소 사유(cancelReason)는 필수입니다.",
            ));
        };
        if reason.chars().count() > 200 {
            return Err(bad("INVALID_REQUEST", "취소 사유는 200자 이하여야 합니다."));
        }
        let requested = match body.get("cancelAmount") {
            None | Some(Value::Null) => None,
            Some(v) => Some(krw_amount(v)?),
        };
        let tax_free = match body.get("taxFreeAmount") {
            None | Some(Value::Null) => 0,
            Some(v) => krw_amount(v)?,
        };
        if let Some(cur) = str_field(body, "currency") {
            if cur != "KRW" {
                return Err(bad("INVALID_CURRENCY", "통화가 결제 통화와 다릅니다."));
            }
        }
        match p.status {
            "CANCELED" => {
                return Err(bad("ALREADY_CANCELED_PAYMENT", "이미 취소된 결제 입니다."));
            }
            "DONE" | "PARTIAL_CANCELED" | "WAITING_FOR_DEPOSIT" => {}
            _ => {
                return Err(TossError::new(
                    403,
                    "NOT_CANCELABLE_PAYMENT",
                    "취소 할 수 없는 결제 입니다.",
                ))
            }
        }
        let amount = requested.unwrap_or(p.balance);
        if requested.is_some_and(|a| a < 1) {
            return Err(bad("INVALID_REQUEST", "취소 금액은 1원 이상이어야 합니다."));
        }
        if amount > p.balance || p.balance == 0 {
            return Err(TossError::new(
                403,
                "NOT_CANCELABLE_AMOUNT",
                "취소 할 수 없는 금액 입니다.",
            ));
        }
        let waiting = p.status == "WAITING_FOR_DEPOSIT";
        if waiting && amount < p.balance {
            return Err(TossError::new(
                403,
                "NOT_ALLOWED_PARTIAL_REFUND_WAITING_DEPOSIT",
                "입금 대기중인 결제는 부분 환불이 불가합니다.",
            ));
        }
        if p.is_virtual_account() && !waiting {
            check_refund_account(body.get("refundReceiveAccount"))?;
        }
        p.balance -= amount;
        p.cancels.push(CancelEntry {
            amount,
            reason: reason.to_owned(),
            tax_free,
            refundable_after: p.balance,
            at: rfc3339(kst_now()),
            transaction_key: tx.clone(),
        });
        p.last_transaction_key = Some(tx);
        p.status = if requested.is_some() {
            "PARTIAL_CANCELED"
        } else {
            "CANCELED"
        };
        if let Some(va) = p.virtual_account.as_mut() {
            if !waiting {
                va.refund_status = "PENDING";
            }
        }
        let p = p.clone();
        Ok((p.to_json(), vec![self.change(&p)]))
    }

    /// `POST /v1/virtual-accounts`
    pub(crate) fn issue_virtual_account(&mut self, body: &Value) -> OpResult {
        let (Some(amount), Some(order_id), Some(order_name), Some(customer), Some(bank)) = (
            body.get("amount"),
            str_field(body, "orderId"),
            str_field(body, "orderName"),
            str_field(body, "customerName"),
            str_field(body, "bank"),
        ) else {
            return Err(bad("INVALID_REQUEST", "필수 파라미터가 누락되었습니다."));
        };
        let amount = krw_amount(amount)?;
        let valid_hours = body.get("validHours").and_then(Value::as_i64);
        let due_date = str_field(body, "dueDate");
        if valid_hours.is_some() && due_date.is_some() {
            return Err(bad(
                "INVALID_VALID_HOURS_WITH_DUE_DATE_AND_SINGLE",
                "validHours와 dueDate는 함께 사용할 수 없습니다.",
            ));
        }
        if valid_hours.is_some_and(|h| !(1..=720).contains(&h)) {
            return Err(bad(
                "EXCEED_MAX_VALID_HOURS",
                "최대 유효 시간(720시간)을 초과했습니다.",
            ));
        }
        if !BANK_CODES.contains(&bank) {
            return Err(bad("INVALID_BANK", "유효하지 않은 은행입니다."));
        }
        let key = self.create_session(
            order_id,
            amount,
            SessionMethod::VirtualAccount {
                bank_code: bank.to_owned(),
            },
            order_name,
        )?;
        let due = match due_date {
            Some(d) => d.to_owned(),
            None => rfc3339(kst_now() + time::Duration::hours(valid_hours.unwrap_or(168))),
        };
        let tx = self.tx_key();
        let account = format!("X{:012}", fastrand::u64(..1_000_000_000_000));
        let Some(p) = self.payments.get_mut(&key) else {
            return Err(TossError::new(
                500,
                "FAILED_INTERNAL_SYSTEM_PROCESSING",
                "내부 시스템 처리 작업이 실패했습니다.",
            ));
        };
        p.status = "WAITING_FOR_DEPOSIT";
        p.last_transaction_key = Some(tx);
        p.virtual_account = Some(VirtualAccountInfo {
            account_number: account,
            bank_code: bank.to_owned(),
            customer_name: customer.to_owned(),
            due_date: due,
            expired: false,
            refund_status: "NONE",
            settlement_status: "INCOMPLETED",
        });
        let p = p.clone();
        Ok((p.to_json(), vec![self.change(&p)]))
    }

    /// `POST /v1/billing/authorizations/issue`
    pub(crate) fn issue_billing_key(&mut self, body: &Value) -> Result<Value, TossError> {
        let (Some(auth_key), Some(customer_key)) =
            (str_field(body, "authKey"), str_field(body, "customerKey"))
        else {
            return Err(bad("INVALID_REQUEST", "필수 파라미터가 누락되었습니다."));
        };
        let Some(owner) = self.billing_auths.remove(auth_key) else {
            return Err(bad(
                "INVALID_BILLING_AUTH",
                "유효하지 않은 인증 정보입니다.",
            ));
        };
        if owner != customer_key {
            self.billing_auths.insert(auth_key.to_owned(), owner);
            return Err(bad(
                "NOT_MATCHES_CUSTOMER_KEY",
                "빌링 인증 고객키와 결제 요청 고객키가 일치하지 않습니다.",
            ));
        }
        let billing_key = format!("{}=", self.next("bk"));
        self.billing_keys
            .insert(billing_key.clone(), customer_key.to_owned());
        Ok(json!({
            "mId": "tvivarepublica",
            "customerKey": customer_key,
            "authenticatedAt": rfc3339(kst_now()),
            "method": "카드",
            "billingKey": billing_key,
            "card": { "issuerCode": "61", "acquirerCode": "31", "number": "43301234****123*",
                      "cardType": "신용", "ownerType": "개인" }
        }))
    }

    /// `POST /v1/billing/{billingKey}` — no webhook is sent for billing approvals.
    pub(crate) fn charge_billing_key(&mut self, billing_key: &str, body: &Value) -> OpResult {
        let (Some(amount), Some(customer_key), Some(order_id), Some(order_name)) = (
            body.get("amount"),
            str_field(body, "customerKey"),
            str_field(body, "orderId"),
            str_field(body, "orderName"),
        ) else {
            return Err(bad("INVALID_REQUEST", "필수 파라미터가 누락되었습니다."));
        };
        let amount = krw_amount(amount)?;
        match self.billing_keys.get(billing_key) {
            None => {
                return Err(TossError::new(
                    404,
                    "NOT_FOUND_BILLING",
                    "존재하지 않는 빌링 정보입니다.",
                ))
            }
            Some(owner) if owner != customer_key => {
                return Err(bad(
                    "NOT_MATCHES_CUSTOMER_KEY",
                    "빌링 인증 고객키와 결제 요청 고객키가 일치하지 않습니다.",
                ))
            }
            Some(_) => {}
        }
        let key = self.create_session(order_id, amount, SessionMethod::Card, order_name)?;
        let tx = self.tx_key();
        let Some(p) = self.payments.get_mut(&key) else {
            return Err(TossError::new(
                500,
                "FAILED_INTERNAL_SYSTEM_PROCESSING",
                "내부 시스템 처리 작업이 실패했습니다.",
            ));
        };
        p.payment_type = "BILLING";
        p.status = "DONE";
        p.confirmed = true;
        p.approved_at = Some(rfc3339(kst_now()));
        p.last_transaction_key = Some(tx);
        Ok((p.to_json(), Vec::new()))
    }
}

fn check_refund_account(account: Option<&Value>) -> Result<(), TossError> {
    let Some(acc) = account.filter(|v| !v.is_null()) else {
        return Err(bad(
            "INVALID_REQUIRED_PARAM",
            "입금 완료된 가상계좌 결제를 취소하려면 환불 계좌(refundReceiveAccount)가 필요합니다.",
        ));
    };
    let number = str_field(acc, "accountNumber").unwrap_or("");
    if number.is_empty() || number.len() > 20 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(
            "INVALID_REFUND_ACCOUNT_NUMBER",
            "잘못된 환불 계좌번호입니다.",
        ));
    }
    let bank = str_field(acc, "bank").unwrap_or("");
    if !BANK_CODES.contains(&bank) {
        return Err(bad("INVALID_BANK", "유효하지 않은 은행입니다."));
    }
    let holder = str_field(acc, "holderName").unwrap_or("");
    if holder.is_empty() || holder.chars().count() > 60 {
        return Err(bad(
            "INVALID_REFUND_ACCOUNT_INFO",
            "환불 계좌번호와 예금주명이 일치하지 않습니다.",
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn office() -> Backoffice {
        Backoffice::new(Duration::from_secs(1))
    }

    #[test]
    fn krw_amounts() {
        assert_eq!(krw_amount(&json!(374000)).unwrap(), 374000);
        assert_eq!(krw_amount(&json!(374000.0)).unwrap(), 374000);
        assert_eq!(
            krw_amount(&json!(374000.5)).unwrap_err().code,
            "INVALID_REQUEST"
        );
        assert_eq!(
            krw_amount(&json!("374000.00")).unwrap_err().code,
            "INVALID_REQUEST"
        );
    }

    #[test]
    fn card_flow_and_cancel_rules() {
        let mut o = office();
        let key = o
            .create_session("order-0001", 10000, SessionMethod::Card, "x")
            .unwrap();
        let e = o
            .confirm(&json!({"paymentKey": key, "orderId": "order-0001", "amount": 9000}))
            .unwrap_err();
        assert_eq!(e.code, "INVALID_REQUEST");
        let (p, changes) = o
            .confirm(&json!({"paymentKey": key, "orderId": "order-0001", "amount": 10000}))
            .unwrap();
        assert_eq!(p["status"], "DONE");
        assert_eq!(p["method"], "카드");
        assert_eq!(changes.len(), 1);
        let e = o
            .confirm(&json!({"paymentKey": key, "orderId": "order-0001", "amount": 10000}))
            .unwrap_err();
        assert_eq!(e.code, "ALREADY_PROCESSED_PAYMENT");
        let t0 = Instant::now();
        let (p, _) = o
            .cancel(
                &key,
                &json!({"cancelReason": "r", "cancelAmount": 3000}),
                t0,
            )
            .unwrap();
        assert_eq!(p["status"], "PARTIAL_CANCELED");
        assert_eq!(p["balanceAmount"], 7000);
        let e = o
            .cancel(
                &key,
                &json!({"cancelReason": "r"}),
                t0 + Duration::from_millis(10),
            )
            .unwrap_err();
        assert_eq!(
            (e.status, e.code.as_str()),
            (403, "FORBIDDEN_CONSECUTIVE_REQUEST")
        );
        let t1 = t0 + Duration::from_secs(2);
        let e = o
            .cancel(
                &key,
                &json!({"cancelReason": "r", "cancelAmount": 8000}),
                t1,
            )
            .unwrap_err();
        assert_eq!(e.code, "NOT_CANCELABLE_AMOUNT");
        let t2 = t1 + Duration::from_secs(2);
        let (p, _) = o.cancel(&key, &json!({"cancelReason": "r"}), t2).unwrap();
        assert_eq!(p["status"], "CANCELED");
        assert_eq!(p["cancels"].as_array().unwrap().len(), 2);
        let t3 = t2 + Duration::from_secs(2);
        let e = o
            .cancel(&key, &json!({"cancelReason": "r"}), t3)
            .unwrap_err();
        assert_eq!(e.code, "ALREADY_CANCELED_PAYMENT");
    }

    #[test]
    fn virtual_account_rules() {
        let mut o = office();
        let key = o
            .create_session(
                "order-va-1",
                390000,
                SessionMethod::VirtualAccount {
                    bank_code: "31".into(),
                },
                "x",
            )
            .unwrap();
        let (p, _) = o
            .confirm(&json!({"paymentKey": key, "orderId": "order-va-1", "amount": 390000}))
            .unwrap();
        assert_eq!(p["status"], "WAITING_FOR_DEPOSIT");
        assert!(p["virtualAccount"]["accountNumber"]
            .as_str()
            .unwrap()
            .starts_with('X'));
        let t = Instant::now();
        let e = o
            .cancel(&key, &json!({"cancelReason": "r", "cancelAmount": 1000}), t)
            .unwrap_err();
        assert_eq!(e.code, "NOT_ALLOWED_PARTIAL_REFUND_WAITING_DEPOSIT");
        o.deposit(&key).unwrap();
        let t = t + Duration::from_secs(2);
        let e = o
            .cancel(&key, &json!({"cancelReason": "r"}), t)
            .unwrap_err();
        assert_eq!(e.code, "INVALID_REQUIRED_PARAM");
        let t = t + Duration::from_secs(2);
        let bad_acc = json!({"cancelReason": "r", "refundReceiveAccount":
            {"bank": "31", "accountNumber": "X600802567548", "holderName": "Pankaj"}});
        assert_eq!(
            o.cancel(&key, &bad_acc, t).unwrap_err().code,
            "INVALID_REFUND_ACCOUNT_NUMBER"
        );
        let t = t + Duration::from_secs(2);
        let ok = json!({"cancelReason": "r", "refundReceiveAccount":
            {"bank": "31", "accountNumber": "1600802567580", "holderName": "Pankaj"}});
        let (p, _) = o.cancel(&key, &ok, t).unwrap();
        assert_eq!(p["status"], "CANCELED");
        assert_eq!(p["virtualAccount"]["refundStatus"], "PENDING");
    }

    #[test]
    fn expiry() {
        let mut o = office();
        let key = o
            .create_session("order-exp-1", 1000, SessionMethod::Card, "x")
            .unwrap();
        o.expire(&key).unwrap();
        let e = o
            .confirm(&json!({"paymentKey": key, "orderId": "order-exp-1", "amount": 1000}))
            .unwrap_err();
        assert_eq!(
            (e.status, e.code.as_str()),
            (404, "NOT_FOUND_PAYMENT_SESSION")
        );
        let p = o.get(&key).unwrap();
        assert_eq!(p["status"], "EXPIRED");
        assert_eq!(p["failure"]["code"], "EXPIRED_PAYMENT");
        assert_eq!(p["method"], Value::Null);
    }

    #[test]
    fn payments_carry_foreign_easy_pay_as_in_the_cancel_sample() {
        let mut o = office();
        let key = o
            .create_session("order-fep-1", 1_000, SessionMethod::Card, "n")
            .unwrap();
        let (p, _) = o
            .confirm(&json!({"paymentKey": key, "orderId": "order-fep-1", "amount": 1000}))
            .unwrap();
        assert!(p.as_object().unwrap().contains_key("foreignEasyPay"));
        assert!(p["foreignEasyPay"].is_null());
    }

    #[test]
    fn sample_payments_are_made_by_the_real_operations() {
        let done = sample_payment("tgen_1", "order-sample-1", 10_000, "DONE").unwrap();
        assert_eq!(done["paymentKey"], "tgen_1");
        assert_eq!(done["status"], "DONE");
        assert_eq!(done["type"], "NORMAL");
        assert!(done["card"].is_object() && done["lastTransactionKey"].is_string());
        let part = sample_payment("tgen_2", "order-sample-2", 10_000, "PARTIAL_CANCELED").unwrap();
        assert_eq!(part["balanceAmount"], 5_000);
        let aborted = sample_payment("tgen_3", "order-sample-3", 10_000, "ABORTED").unwrap();
        assert_eq!(aborted["failure"]["code"], "REJECT_CARD_COMPANY");
        let expired = sample_payment("tgen_4", "order-sample-4", 10_000, "EXPIRED").unwrap();
        assert_eq!(expired["status"], "EXPIRED");
        assert!(sample_payment("tgen_5", "order-sample-5", 10_000, "PAID").is_err());
        assert!(sample_payment("tgen_6", "short", 10_000, "DONE").is_err());
    }
}
