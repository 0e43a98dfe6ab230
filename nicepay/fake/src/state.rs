//! The fake's back office: authenticated windows, payments, cancels, net cancels, billing keys,
//! and the Payment object as NICEPAY writes it (`shared/reference/nicepay.md` §3–§4).
//!
//! Every business failure is a [`NiceError`] answered as **HTTP 200** with
//! `{resultCode, resultMsg}` (reference §5.1); only `"0000"` is success.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use time::macros::{format_description, offset};
use time::OffsetDateTime;

/// A result code and message NICEPAY answers with (HTTP 200 unless `http_status` says other).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NiceError {
    /// The HTTP status (200 for business failures).
    pub http_status: u16,
    /// `resultCode`.
    pub code: String,
    /// `resultMsg`.
    pub message: String,
}

impl NiceError {
    /// A business failure answered with HTTP 200.
    pub fn new(code: &str, message: &str) -> NiceError {
        NiceError {
            http_status: 200,
            code: code.to_owned(),
            message: message.to_owned(),
        }
    }

    /// The same failure at another HTTP status.
    pub fn at(mut self, status: u16) -> NiceError {
        self.http_status = status;
        self
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        json!({"resultCode": self.code, "resultMsg": self.message})
    }
}

impl std::fmt::Display for NiceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for NiceError {}

/// How the customer pays in the window (`AUTHNICE.requestPay({method})`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowMethod {
    /// `card`: approve makes it `paid`.
    Card,
    /// `vbank`: approve issues a virtual account (`ready`); a deposit makes it `paid`.
    Vbank,
}

impl WindowMethod {
    fn pay_method(self) -> &'static str {
        match self {
            WindowMethod::Card => "card",
            WindowMethod::Vbank => "vbank",
        }
    }
}

/// What the returnUrl POST carries after a successful window authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// `tid` to approve.
    pub tid: String,
    /// `authToken`.
    pub auth_token: String,
    /// `signature = hex(sha256(authToken + clientId + amount + SecretKey))`.
    pub signature: String,
}

#[derive(Debug, Clone)]
struct Window {
    order_id: String,
    amount: i64,
    method: WindowMethod,
    goods_name: String,
    created: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub(crate) struct FakeCancel {
    tid: String,
    amount: i64,
    cancelled_at: OffsetDateTime,
    reason: String,
}

#[derive(Debug, Clone)]
pub(crate) struct FakePayment {
    pub(crate) tid: String,
    pub(crate) order_id: String,
    amount: i64,
    balance: i64,
    pub(crate) status: &'static str,
    method: WindowMethod,
    goods_name: String,
    created: OffsetDateTime,
    paid_at: Option<OffsetDateTime>,
    failed_at: Option<OffsetDateTime>,
    cancelled_at: Option<OffsetDateTime>,
    approved: Instant,
    cancels: Vec<FakeCancel>,
    last_cancelled_tid: Option<String>,
    vbank_number: Option<String>,
    vbank_due: Option<OffsetDateTime>,
}

#[derive(Debug, Clone)]
struct BillingKey {
    deleted: bool,
}

/// KST "now".
pub(crate) fn now_kst() -> OffsetDateTime {
    OffsetDateTime::now_utc().to_offset(offset!(+9))
}

/// `2021-11-05T17:14:35.150+0900`.
pub(crate) fn nice_time(t: OffsetDateTime) -> String {
    let f = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3][offset_hour sign:mandatory][offset_minute]"
    );
    t.format(&f).unwrap_or_else(|_| "0".to_owned())
}

fn time_or_zero(t: Option<OffsetDateTime>) -> String {
    t.map(nice_time).unwrap_or_else(|| "0".to_owned())
}

/// `lowercase hex(sha256(parts…))`.
pub(crate) fn sha256_hex(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

/// A cancel request as NICEPAY documents its body (§3.4).
#[derive(Debug, Clone, Default)]
pub(crate) struct CancelInput {
    pub(crate) reason: Option<String>,
    pub(crate) order_id: Option<String>,
    pub(crate) cancel_amt: Option<i64>,
    pub(crate) refund_account: Option<String>,
    pub(crate) refund_bank_code: Option<String>,
    pub(crate) refund_holder: Option<String>,
}

/// The back office.
pub(crate) struct Office {
    pub(crate) secret_key: String,
    net_cancel_window: Duration,
    counter: u64,
    windows: HashMap<String, Window>,
    payments: HashMap<String, FakePayment>,
    /// orderId → tid of approved payments and billing charges ("결제된 orderId로 재호출 불가").
    orders: HashMap<String, String>,
    /// orderIds already used by a partial cancel.
    cancel_order_ids: HashSet<String>,
    billing: HashMap<String, BillingKey>,
}

/// The largest amount NICEPAY takes: at most 12 digits (reference §7); above it, `P009`.
pub(crate) const MAX_AMOUNT: i64 = 999_999_999_999;

fn missing(field: &str) -> NiceError {
    NiceError::new("U100", &format!("필수 파라미터 누락 ({field})"))
}

impl Office {
    pub(crate) fn new(secret_key: String, net_cancel_window: Duration) -> Office {
        Office {
            secret_key,
            net_cancel_window,
            counter: 0,
            windows: HashMap::new(),
            payments: HashMap::new(),
            orders: HashMap::new(),
            cancel_order_ids: HashSet::new(),
            billing: HashMap::new(),
        }
    }

    fn next_tid(&mut self, kind: &str) -> String {
        self.counter += 1;
        let stamp = now_kst();
        // 30 characters like `UT0000113m01012111051714341073`.
        format!(
            "UT0000113{kind}{:02}{:02}{:02}{:02}{:02}{:02}{:05}",
            stamp.year() % 100,
            u8::from(stamp.month()),
            stamp.day(),
            stamp.hour(),
            stamp.minute(),
            stamp.second(),
            self.counter % 100_000
        )
    }

    /// Plays the window: the customer authenticated `amount` for `order_id`.
    pub(crate) fn authenticate(
        &mut self,
        client_id: &str,
        order_id: &str,
        amount: i64,
        method: WindowMethod,
    ) -> Result<Authenticated, NiceError> {
        if order_id.is_empty() || order_id.len() > 64 {
            return Err(NiceError::new("U105", "orderId 길이 오류"));
        }
        if amount <= 0 {
            return Err(NiceError::new("P017", "0원 결제 불가"));
        }
        if amount > MAX_AMOUNT {
            return Err(NiceError::new("P009", "amount 길이 오류"));
        }
        let tid = self.next_tid("m01");
        let auth_token = format!("NICEUNTT{}", &sha256_hex(&[&tid])[..32]).to_uppercase();
        let amount_text = amount.to_string();
        let signature = sha256_hex(&[&auth_token, client_id, &amount_text, &self.secret_key]);
        self.windows.insert(
            tid.clone(),
            Window {
                order_id: order_id.to_owned(),
                amount,
                method,
                goods_name: "나이스페이-상품".to_owned(),
                created: now_kst(),
            },
        );
        Ok(Authenticated {
            tid,
            auth_token,
            signature,
        })
    }

    /// `POST /v1/payments/{tid}`.
    pub(crate) fn approve(
        &mut self,
        tid: &str,
        amount: Option<i64>,
    ) -> Result<&FakePayment, NiceError> {
        let Some(amount) = amount else {
            return Err(missing("amount"));
        };
        if self.payments.contains_key(tid) {
            return Err(NiceError::new("U114", "이미 사용된 TID 입니다."));
        }
        let Some(window) = self.windows.get(tid) else {
            return Err(NiceError::new("U121", "인증 요청내역이 존재하지 않습니다."));
        };
        if window.amount != amount {
            return Err(NiceError::new(
                "A123",
                "거래금액 불일치(인증된 금액과 승인요청 금액 불일치)",
            ));
        }
        if self.orders.contains_key(&window.order_id) {
            return Err(NiceError::new("U112", "이미 사용된 OrderId 입니다."));
        }
        let window = self.windows.remove(tid).ok_or_else(|| missing("tid"))?;
        let now = now_kst();
        let (status, paid_at, vbank_number, vbank_due) = match window.method {
            WindowMethod::Card => ("paid", Some(now), None, None),
            WindowMethod::Vbank => {
                let number = format!("5649{:08}", self.counter % 100_000_000);
                (
                    "ready",
                    None,
                    Some(number),
                    Some(now + time::Duration::days(1)),
                )
            }
        };
        let payment = FakePayment {
            tid: tid.to_owned(),
            order_id: window.order_id.clone(),
            amount,
            balance: amount,
            status,
            method: window.method,
            goods_name: window.goods_name,
            created: window.created,
            paid_at,
            failed_at: None,
            cancelled_at: None,
            approved: Instant::now(),
            cancels: Vec::new(),
            last_cancelled_tid: None,
            vbank_number,
            vbank_due,
        };
        self.orders.insert(window.order_id, tid.to_owned());
        self.payments.insert(tid.to_owned(), payment);
        self.payments
            .get(tid)
            .ok_or_else(|| NiceError::new("U107", "거래내역이 존재 하지 않습니다."))
    }

    pub(crate) fn payment(&self, tid: &str) -> Option<&FakePayment> {
        self.payments.get(tid)
    }

    pub(crate) fn payments(&self) -> impl Iterator<Item = &FakePayment> {
        self.payments.values()
    }

    /// `GET /v1/payments/{tid}`.
    pub(crate) fn lookup(&self, tid: &str) -> Result<&FakePayment, NiceError> {
        self.payments
            .get(tid)
            .ok_or_else(|| NiceError::new("U107", "거래내역이 존재 하지 않습니다."))
    }

    /// `GET /v1/payments/find/{orderId}?orderDate=YYYYMMDD`: the order's date must match
    /// (the day, in KST, the payment was started) [inferred from "orderDate 필수"].
    pub(crate) fn find(
        &self,
        order_id: &str,
        order_date: Option<&str>,
    ) -> Result<&FakePayment, NiceError> {
        let Some(date) = order_date else {
            return Err(missing("orderDate"));
        };
        if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
            return Err(NiceError::new(
                "P024",
                "날짜형식이 아닙니다 (orderDate YYYYMMDD)",
            ));
        }
        let found = self
            .orders
            .get(order_id)
            .and_then(|tid| self.payments.get(tid))
            .filter(|p| {
                let d = p.created.date();
                format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day()) == date
            });
        found.ok_or_else(|| NiceError::new("U126", "orderId가 존재 하지 않습니다."))
    }

    /// `POST /v1/payments/{tid}/cancel` (§3.4).
    pub(crate) fn cancel(
        &mut self,
        tid: &str,
        input: CancelInput,
    ) -> Result<&FakePayment, NiceError> {
        let reason = input
            .reason
            .filter(|r| !r.is_empty())
            .ok_or_else(|| missing("reason"))?;
        let order_id = input
            .order_id
            .filter(|o| !o.is_empty())
            .ok_or_else(|| missing("orderId"))?;
        if reason.chars().count() > 100 {
            return Err(NiceError::new("U105", "reason 길이 초과"));
        }
        let cancel_tid = self.next_tid("c01");
        let Some(p) = self.payments.get_mut(tid) else {
            return Err(NiceError::new("U122", "취소 해당거래 없음"));
        };
        if p.status == "cancelled" || p.balance == 0 {
            return Err(NiceError::new("2013", "취소 완료 거래"));
        }
        if matches!(p.status, "failed" | "expired") {
            return Err(NiceError::new("2012", "취소 해당거래 없음"));
        }
        let amount = input.cancel_amt.unwrap_or(p.balance);
        let partial = amount != p.balance || input.cancel_amt.is_some_and(|a| a < p.amount);
        if amount <= 0 {
            return Err(NiceError::new("P017", "0원 취소 불가"));
        }
        if amount > p.balance {
            return Err(NiceError::new(
                "2032",
                "취소금액이 취소가능금액보다 큽니다.",
            ));
        }
        if partial && self.cancel_order_ids.contains(&order_id) {
            return Err(NiceError::new("U112", "이미 사용된 OrderId 입니다."));
        }
        let deposited_vbank = p.method == WindowMethod::Vbank && p.status != "ready";
        if p.method == WindowMethod::Vbank && p.status == "ready" && amount != p.balance {
            return Err(NiceError::new("2028", "입금 전 가상계좌는 부분취소 불가"));
        }
        if deposited_vbank {
            let account = input
                .refund_account
                .filter(|a| !a.is_empty())
                .ok_or_else(|| missing("refundAccount"))?;
            let bank = input
                .refund_bank_code
                .filter(|b| !b.is_empty())
                .ok_or_else(|| missing("refundBankCode"))?;
            let holder = input
                .refund_holder
                .filter(|h| !h.is_empty())
                .ok_or_else(|| missing("refundHolder"))?;
            if !account.bytes().all(|b| b.is_ascii_digit()) || account.len() > 16 {
                return Err(NiceError::new("P010", "refundAccount 숫자가 아닙니다."));
            }
            if bank.len() != 3 || !bank.bytes().all(|b| b.is_ascii_digit()) {
                return Err(NiceError::new("P010", "refundBankCode 형식 오류"));
            }
            if holder.chars().count() > 10 {
                return Err(NiceError::new("U105", "refundHolder 길이 초과"));
            }
        }
        let now = now_kst();
        p.balance -= amount;
        p.cancels.push(FakeCancel {
            tid: cancel_tid.clone(),
            amount,
            cancelled_at: now,
            reason,
        });
        p.cancelled_at = Some(now);
        p.last_cancelled_tid = Some(cancel_tid);
        p.status = if p.balance == 0 {
            "cancelled"
        } else {
            "partialCancelled"
        };
        if partial {
            self.cancel_order_ids.insert(order_id);
        }
        Ok(p)
    }

    /// `POST /v1/payments/netcancel`: cancels the approval of `orderId` in full, within the
    /// window after approval (1 h; §3.5).
    pub(crate) fn net_cancel(&mut self, order_id: Option<&str>) -> Result<&FakePayment, NiceError> {
        let order_id = order_id
            .filter(|o| !o.is_empty())
            .ok_or_else(|| missing("orderId"))?;
        let tid = self
            .orders
            .get(order_id)
            .cloned()
            .ok_or_else(|| NiceError::new("U126", "orderId가 존재 하지 않습니다."))?;
        let cancel_tid = self.next_tid("n01");
        let window = self.net_cancel_window;
        let p = self
            .payments
            .get_mut(&tid)
            .ok_or_else(|| NiceError::new("U126", "orderId가 존재 하지 않습니다."))?;
        if p.status == "cancelled" {
            return Err(NiceError::new("2013", "취소 완료 거래"));
        }
        if p.approved.elapsed() > window {
            return Err(NiceError::new("2020", "망상 취소 허용시간 초과"));
        }
        let now = now_kst();
        let amount = p.balance;
        p.balance = 0;
        p.cancels.push(FakeCancel {
            tid: cancel_tid.clone(),
            amount,
            cancelled_at: now,
            reason: "망취소".to_owned(),
        });
        p.cancelled_at = Some(now);
        p.last_cancelled_tid = Some(cancel_tid);
        p.status = "cancelled";
        Ok(p)
    }

    /// Plays the customer's bank transfer into a waiting virtual account.
    pub(crate) fn deposit(&mut self, tid: &str) -> Result<&FakePayment, NiceError> {
        let p = self
            .payments
            .get_mut(tid)
            .ok_or_else(|| NiceError::new("U107", "거래내역이 존재 하지 않습니다."))?;
        if p.method != WindowMethod::Vbank || p.status != "ready" {
            return Err(NiceError::new(
                "4122",
                "입금 대기 중인 가상계좌가 아닙니다.",
            ));
        }
        p.status = "paid";
        p.paid_at = Some(now_kst());
        Ok(p)
    }

    /// Lets a waiting virtual account expire.
    pub(crate) fn expire(&mut self, tid: &str) -> Result<&FakePayment, NiceError> {
        let p = self
            .payments
            .get_mut(tid)
            .ok_or_else(|| NiceError::new("U107", "거래내역이 존재 하지 않습니다."))?;
        if p.status != "ready" {
            return Err(NiceError::new(
                "4122",
                "입금 대기 중인 가상계좌가 아닙니다.",
            ));
        }
        p.status = "expired";
        Ok(p)
    }

    /// Sandbox scenario (NICEPAY documents no such move): the PG fails a waiting virtual
    /// account (`ready` → `failed`, `failedAt` set).
    pub(crate) fn fail(&mut self, tid: &str) -> Result<&FakePayment, NiceError> {
        let p = self.waiting_vbank(tid)?;
        p.status = "failed";
        p.failed_at = Some(now_kst());
        Ok(p)
    }

    /// Sandbox scenario (NICEPAY documents no late approval): a `failed` or `expired` payment
    /// is approved after all (`paid`, `paidAt` set), as a deposit that arrived late.
    pub(crate) fn approve_late(&mut self, tid: &str) -> Result<&FakePayment, NiceError> {
        let p = self
            .payments
            .get_mut(tid)
            .ok_or_else(|| NiceError::new("U107", "거래내역이 존재 하지 않습니다."))?;
        if !matches!(p.status, "failed" | "expired") {
            return Err(NiceError::new("4123", "실패하거나 만료된 거래가 아닙니다."));
        }
        p.status = "paid";
        p.paid_at = Some(now_kst());
        Ok(p)
    }

    /// Sandbox scenario (NICEPAY documents no reversed deposit): the deposit into a virtual
    /// account is reversed (`paid` → `ready`, `paidAt` cleared); it can be deposited into
    /// again. Only a deposited virtual account with nothing cancelled.
    pub(crate) fn reverse_deposit(&mut self, tid: &str) -> Result<&FakePayment, NiceError> {
        let p = self
            .payments
            .get_mut(tid)
            .ok_or_else(|| NiceError::new("U107", "거래내역이 존재 하지 않습니다."))?;
        if p.method != WindowMethod::Vbank || p.status != "paid" || !p.cancels.is_empty() {
            return Err(NiceError::new(
                "4124",
                "입금을 되돌릴 수 있는 가상계좌 거래가 아닙니다.",
            ));
        }
        p.status = "ready";
        p.paid_at = None;
        Ok(p)
    }

    fn waiting_vbank(&mut self, tid: &str) -> Result<&mut FakePayment, NiceError> {
        let p = self
            .payments
            .get_mut(tid)
            .ok_or_else(|| NiceError::new("U107", "거래내역이 존재 하지 않습니다."))?;
        if p.method != WindowMethod::Vbank || p.status != "ready" {
            return Err(NiceError::new(
                "4122",
                "입금 대기 중인 가상계좌가 아닙니다.",
            ));
        }
        Ok(p)
    }

    /// `POST /v1/subscribe/regist`: `encData` must be hex (the fake does not decrypt it).
    pub(crate) fn billing_regist(
        &mut self,
        enc_data: Option<&str>,
        order_id: Option<&str>,
    ) -> Result<(String, String), NiceError> {
        let enc = enc_data
            .filter(|e| !e.is_empty())
            .ok_or_else(|| missing("encData"))?;
        let order_id = order_id
            .filter(|o| !o.is_empty())
            .ok_or_else(|| missing("orderId"))?;
        if enc.len() > 512 || enc.len() % 32 != 0 || !enc.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(NiceError::new("A211", "해쉬값 검증 실패 (encData)"));
        }
        self.counter += 1;
        let bid = format!("BIKYnictest00m{:016}", self.counter);
        self.billing
            .insert(bid.clone(), BillingKey { deleted: false });
        let tid = self.next_tid("b01");
        let _ = order_id;
        Ok((bid, tid))
    }

    /// `POST /v1/subscribe/{bid}/payments`.
    pub(crate) fn billing_charge(
        &mut self,
        bid: &str,
        order_id: Option<&str>,
        amount: Option<i64>,
        goods_name: Option<&str>,
    ) -> Result<&FakePayment, NiceError> {
        let order_id = order_id
            .filter(|o| !o.is_empty())
            .ok_or_else(|| missing("orderId"))?;
        let amount = amount.ok_or_else(|| missing("amount"))?;
        let goods_name = goods_name
            .filter(|g| !g.is_empty())
            .ok_or_else(|| missing("goodsName"))?;
        match self.billing.get(bid) {
            None => return Err(NiceError::new("U309", "발급되지 않은 BID 입니다.")),
            Some(b) if b.deleted => return Err(NiceError::new("U115", "삭제 처리된 BID 입니다.")),
            Some(_) => {}
        }
        if amount <= 0 {
            return Err(NiceError::new("P017", "0원 결제 불가"));
        }
        if self.orders.contains_key(order_id) {
            return Err(NiceError::new("U112", "이미 사용된 OrderId 입니다."));
        }
        let tid = self.next_tid("b01");
        let now = now_kst();
        self.payments.insert(
            tid.clone(),
            FakePayment {
                tid: tid.clone(),
                order_id: order_id.to_owned(),
                amount,
                balance: amount,
                status: "paid",
                method: WindowMethod::Card,
                goods_name: goods_name.to_owned(),
                created: now,
                paid_at: Some(now),
                failed_at: None,
                cancelled_at: None,
                approved: Instant::now(),
                cancels: Vec::new(),
                last_cancelled_tid: None,
                vbank_number: None,
                vbank_due: None,
            },
        );
        self.orders.insert(order_id.to_owned(), tid.clone());
        self.lookup(&tid)
    }

    /// `POST /v1/subscribe/{bid}/expire`.
    pub(crate) fn billing_expire(
        &mut self,
        bid: &str,
        order_id: Option<&str>,
    ) -> Result<Value, NiceError> {
        let order_id = order_id
            .filter(|o| !o.is_empty())
            .ok_or_else(|| missing("orderId"))?;
        let tid = self.next_tid("e01");
        match self.billing.get_mut(bid) {
            None => Err(NiceError::new("U309", "발급되지 않은 BID 입니다.")),
            Some(b) if b.deleted => Err(NiceError::new("U115", "삭제 처리된 BID 입니다.")),
            Some(b) => {
                b.deleted = true;
                Ok(json!({
                    "resultCode": "0000",
                    "resultMsg": "정상 처리되었습니다.",
                    "tid": tid,
                    "orderId": order_id,
                    "bid": bid,
                    "authDate": nice_time(now_kst()),
                }))
            }
        }
    }
}

impl FakePayment {
    /// The Payment object (§4), signed with `secret_key`; `cancelledTid` only on cancel answers.
    pub(crate) fn to_json(&self, secret_key: &str, with_cancelled_tid: bool) -> Value {
        let edi_date = nice_time(now_kst());
        let amount = self.amount.to_string();
        let signature = sha256_hex(&[&self.tid, &amount, &edi_date, secret_key]);
        let cancels: Value = if self.cancels.is_empty() {
            Value::Null
        } else {
            self.cancels
                .iter()
                .map(|c| {
                    json!({
                        "tid": c.tid,
                        "amount": c.amount,
                        "cancelledAt": nice_time(c.cancelled_at),
                        "reason": c.reason,
                        "receiptUrl": format!("https://npg.nicepay.co.kr/issue/IssueLoader.do?type=0&innerWin=Y&TID={}", c.tid),
                        "couponAmt": 0,
                    })
                })
                .collect()
        };
        let card = match self.method {
            WindowMethod::Card => json!({
                "cardCode": "04", "cardName": "삼성", "cardNum": "123412******1234",
                "cardQuota": 0, "isInterestFree": false, "cardType": "credit",
                "canPartCancel": true, "acquCardCode": "04", "acquCardName": "삼성"
            }),
            WindowMethod::Vbank => Value::Null,
        };
        let vbank = match (&self.vbank_number, self.method) {
            (Some(number), WindowMethod::Vbank) => json!({
                "vbankCode": "088", "vbankName": "신한", "vbankNumber": number,
                "vbankExpDate": time_or_zero(self.vbank_due), "vbankHolder": "홍길동"
            }),
            _ => Value::Null,
        };
        json!({
            "resultCode": "0000",
            "resultMsg": "정상 처리되었습니다.",
            "tid": self.tid,
            "cancelledTid": if with_cancelled_tid { json!(self.last_cancelled_tid) } else { Value::Null },
            "orderId": self.order_id,
            "ediDate": edi_date,
            "signature": signature,
            "status": self.status,
            "paidAt": time_or_zero(self.paid_at),
            "failedAt": time_or_zero(self.failed_at),
            "cancelledAt": time_or_zero(self.cancelled_at),
            "payMethod": self.method.pay_method(),
            "amount": self.amount,
            "balanceAmt": self.balance,
            "goodsName": self.goods_name,
            "mallReserved": null,
            "useEscrow": false,
            "currency": "KRW",
            "channel": "pc",
            "approveNo": if self.method == WindowMethod::Card { json!("000000") } else { Value::Null },
            "buyerName": null,
            "buyerTel": null,
            "buyerEmail": null,
            "receiptUrl": format!("https://npg.nicepay.co.kr/issue/IssueLoader.do?type=0&innerWin=Y&TID={}", self.tid),
            "mallUserId": null,
            "issuedCashReceipt": false,
            "coupon": null,
            "card": card,
            "vbank": vbank,
            "cancels": cancels,
            "cashReceipts": null,
        })
    }
}
