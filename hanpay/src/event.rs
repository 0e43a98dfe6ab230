//! [`PaymentEvent`]: what the webhook pipeline hands the application, and [`OrderAction`]: the
//! documented table from PG events to what a shop does with its order.
//!
//! | PG event (after reconciliation) | [`OrderAction`] |
//! | --- | --- |
//! | → `Paid` from `Ready`/`Pending`/unknown (Toss `DONE`, PortOne `PAID`) | [`ConfirmOrder`](OrderAction::ConfirmOrder): order confirmed, payment completed |
//! | → `Paid` from `WaitingForDeposit`, or a deposit event (Toss `DEPOSIT_CALLBACK`, `VIRTUAL_ACCOUNT_DEPOSIT`) | [`ConfirmVirtualAccountOrder`](OrderAction::ConfirmVirtualAccountOrder): virtual-account payment confirmed, order confirmed |
//! | → `Canceled` (Toss `CANCELED`, PortOne `CANCELLED`) | [`CancelOrder`](OrderAction::CancelOrder): order cancelled, refund recorded |
//! | → `PartiallyCanceled` (Toss `PARTIAL_CANCELED`, PortOne `PARTIAL_CANCELLED`) | [`RecordPartialRefund`](OrderAction::RecordPartialRefund): partial refund recorded |
//! | → `WaitingForDeposit` from nothing/`Ready`/`Pending` | [`AwaitDeposit`](OrderAction::AwaitDeposit): show the account, wait |
//! | → `Paid` from `Failed`/`Expired` (a late approval, on the PG's word only) | [`ReviveOrder`](OrderAction::ReviveOrder): the customer was charged after all; ship the order or refund it |
//! | → `WaitingForDeposit` from `Paid` (a reversed deposit, on the PG's word only) | [`HoldOrder`](OrderAction::HoldOrder): the deposit was reversed; stop fulfilment |
//! | → `Failed` / `Expired` (also a waiting virtual account the PG fails) | [`FailOrder`](OrderAction::FailOrder): release stock, let the customer retry |
//! | anything else | [`None`](OrderAction::None) |
//!
//! When the PG's answer shows the payment moved on by more than one legal step since the last
//! event applied (a delivery was late or lost: the store says `Ready`, the PG already says
//! `CANCELED`), the handler gets one event for the whole way, with the states in between in
//! [`PaymentEvent::skipped`] and one action per step in [`PaymentEvent::actions`] (here
//! [`ConfirmOrder`](OrderAction::ConfirmOrder) then [`CancelOrder`](OrderAction::CancelOrder)),
//! so the shop can run the order actions it missed, in order.

use hanpay_core::{Money, Payment, PaymentStatus, ProviderId, WebhookEventKind};
use hanpay_store::NewEvent;
use serde::Serialize;
use time::OffsetDateTime;

/// What a shop should do with its order after a payment event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OrderAction {
    /// Mark the order confirmed and the payment completed.
    ConfirmOrder,
    /// The customer's deposit arrived: the virtual-account payment is confirmed, and so is the
    /// order.
    ConfirmVirtualAccountOrder,
    /// Cancel the order and record the refund.
    CancelOrder,
    /// Record a partial refund; the order stays.
    RecordPartialRefund,
    /// A virtual account was issued: wait for the deposit.
    AwaitDeposit,
    /// A deposit was reversed (Toss sends the payment back to waiting): stop fulfilment.
    HoldOrder,
    /// A payment the shop took as failed or expired was approved late by the PG: the customer
    /// has been charged. The application decides: ship the order after all, or refund it
    /// (cancel the payment). Never applied from a webhook's hint alone, only from the PG's API.
    ReviveOrder,
    /// The payment failed or expired: release the order.
    FailOrder,
    /// Nothing to do.
    None,
}

impl OrderAction {
    /// The table in this module's documentation.
    pub fn for_transition(
        old: Option<PaymentStatus>,
        new: PaymentStatus,
        kind: &WebhookEventKind,
    ) -> OrderAction {
        use PaymentStatus::*;
        match (old, new) {
            (Some(Failed | Expired), Paid) => OrderAction::ReviveOrder,
            (Some(WaitingForDeposit), Paid) => OrderAction::ConfirmVirtualAccountOrder,
            (_, Paid) if matches!(kind, WebhookEventKind::DepositReceived) => {
                OrderAction::ConfirmVirtualAccountOrder
            }
            (_, Paid) => OrderAction::ConfirmOrder,
            (_, Canceled) => OrderAction::CancelOrder,
            (_, PartiallyCanceled) => OrderAction::RecordPartialRefund,
            (Some(Paid), WaitingForDeposit) => OrderAction::HoldOrder,
            (_, WaitingForDeposit) => OrderAction::AwaitDeposit,
            (_, Failed | Expired) => OrderAction::FailOrder,
            _ => OrderAction::None,
        }
    }

    /// One action per step of the path `old` → `skipped`… → `new`, in order, leaving out the
    /// steps with nothing to do ([`for_transition`](Self::for_transition) of each step).
    ///
    /// ```
    /// use hanpay::core::WebhookEventKind;
    /// use hanpay::{OrderAction, PaymentStatus::*};
    /// let kind = WebhookEventKind::PaymentStatusChanged;
    /// assert_eq!(
    ///     OrderAction::for_path(Some(Ready), &[Paid], Canceled, &kind),
    ///     [OrderAction::ConfirmOrder, OrderAction::CancelOrder]
    /// );
    /// ```
    pub fn for_path(
        old: Option<PaymentStatus>,
        skipped: &[PaymentStatus],
        new: PaymentStatus,
        kind: &WebhookEventKind,
    ) -> Vec<OrderAction> {
        let mut from = old;
        let mut actions = Vec::new();
        for &to in skipped.iter().chain([&new]) {
            let action = OrderAction::for_transition(from, to, kind);
            if action != OrderAction::None {
                actions.push(action);
            }
            from = Some(to);
        }
        actions
    }

    /// A short description for logs and the demo.
    pub fn describe(self) -> &'static str {
        match self {
            OrderAction::ConfirmOrder => "order confirmed",
            OrderAction::ConfirmVirtualAccountOrder => {
                "virtual-account payment confirmed, order confirmed"
            }
            OrderAction::CancelOrder => "order cancelled, refund recorded",
            OrderAction::RecordPartialRefund => "partial refund recorded",
            OrderAction::AwaitDeposit => "waiting for the deposit",
            OrderAction::HoldOrder => "deposit reversed, order on hold",
            OrderAction::ReviveOrder => "approved late after failing: ship the order or refund it",
            OrderAction::FailOrder => "order released",
            OrderAction::None => "nothing to do",
        }
    }
}

/// A verified, reconciled, applied payment event: what the application's
/// [`WebhookHandler`](crate::WebhookHandler) receives.
#[derive(Debug, Clone, Serialize)]
pub struct PaymentEvent {
    /// The provider.
    pub provider: ProviderId,
    /// The delivery's dedupe id.
    pub dedupe_id: String,
    /// What the PG said happened.
    pub kind: WebhookEventKind,
    /// The PG's payment key.
    pub payment_key: String,
    /// The merchant's order id, when known.
    pub order_id: Option<String>,
    /// The status before this event (`None`: first event seen for the payment).
    pub old_status: Option<PaymentStatus>,
    /// The status now.
    pub new_status: PaymentStatus,
    /// The states the payment passed through between `old_status` and `new_status` that no
    /// event reported before, in order (empty for a single move). Only a reconciled event
    /// skips states: the PG's answer is the truth, and these are the legal steps that lead to
    /// it, told apart by what the answer shows (approved, virtual account, several
    /// cancellations). With `old_status` `None`, the states the answer shows it passed.
    pub skipped: Vec<PaymentStatus>,
    /// Total paid, when known (always after reconciliation).
    pub total: Option<Money>,
    /// The cancelable balance, when known.
    pub balance: Option<Money>,
    /// Canceled so far, when known.
    pub canceled: Option<Money>,
    /// `true` when the payment was fetched from the PG and that answer used.
    pub reconciled: bool,
    /// The trust label of the delivery (`"signed"`, `"shared_secret"`, …).
    pub trust: &'static str,
    /// What the shop should do about the last step, the one into `new_status`.
    pub action: OrderAction,
    /// What the shop should do about every step, in order: `old_status` → `skipped`… →
    /// `new_status` ([`OrderAction::for_path`]). Run all of them: after a late delivery this is
    /// e.g. confirm, then cancel.
    pub actions: Vec<OrderAction>,
    /// The payment as fetched from the PG, when reconciled.
    #[serde(skip)]
    pub payment: Option<Payment>,
}

impl PaymentEvent {
    /// Every step of the event as (from, to): `old_status` → `skipped`… → `new_status`.
    pub fn steps(&self) -> Vec<(Option<PaymentStatus>, PaymentStatus)> {
        let mut from = self.old_status;
        let mut steps = Vec::with_capacity(self.skipped.len() + 1);
        for &to in self.skipped.iter().chain([&self.new_status]) {
            steps.push((from, to));
            from = Some(to);
        }
        steps
    }
}

/// The type of an event written to the outbox, one per applied step (see
/// [`PaymentEvent::outbox_events`]):
///
/// | Step | Type |
/// | --- | --- |
/// | → `Paid` from `WaitingForDeposit`, or a deposit event | `virtual_account.deposited` |
/// | → `Paid` otherwise | `payment.paid` |
/// | → `PartiallyCanceled` | `payment.partially_canceled` |
/// | → `Canceled` | `payment.canceled` |
/// | → `Failed` | `payment.failed` |
/// | → `Expired` | `payment.expired` |
/// | → `Paid` from `Failed`/`Expired` (a late approval) | `payment.revived` |
/// | → `WaitingForDeposit` from `Paid` (a reversed deposit) | `virtual_account.deposit_reversed` |
/// | → `WaitingForDeposit` (otherwise) | `virtual_account.issued` |
/// | anything else (e.g. `Ready` → `Pending`) | `payment.status_changed` |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum EventType {
    /// `payment.paid`.
    #[serde(rename = "payment.paid")]
    PaymentPaid,
    /// `payment.partially_canceled`.
    #[serde(rename = "payment.partially_canceled")]
    PaymentPartiallyCanceled,
    /// `payment.canceled`.
    #[serde(rename = "payment.canceled")]
    PaymentCanceled,
    /// `payment.failed`.
    #[serde(rename = "payment.failed")]
    PaymentFailed,
    /// `payment.expired`.
    #[serde(rename = "payment.expired")]
    PaymentExpired,
    /// `virtual_account.issued`.
    #[serde(rename = "virtual_account.issued")]
    VirtualAccountIssued,
    /// `virtual_account.deposited`.
    #[serde(rename = "virtual_account.deposited")]
    VirtualAccountDeposited,
    /// `payment.revived`: approved late after `Failed`/`Expired`.
    #[serde(rename = "payment.revived")]
    PaymentRevived,
    /// `virtual_account.deposit_reversed`: a deposit was reversed, the payment waits again.
    #[serde(rename = "virtual_account.deposit_reversed")]
    VirtualAccountDepositReversed,
    /// `payment.status_changed`.
    #[serde(rename = "payment.status_changed")]
    PaymentStatusChanged,
}

impl EventType {
    /// The type's name (`payment.paid`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::PaymentPaid => "payment.paid",
            EventType::PaymentPartiallyCanceled => "payment.partially_canceled",
            EventType::PaymentCanceled => "payment.canceled",
            EventType::PaymentFailed => "payment.failed",
            EventType::PaymentExpired => "payment.expired",
            EventType::VirtualAccountIssued => "virtual_account.issued",
            EventType::VirtualAccountDeposited => "virtual_account.deposited",
            EventType::PaymentRevived => "payment.revived",
            EventType::VirtualAccountDepositReversed => "virtual_account.deposit_reversed",
            EventType::PaymentStatusChanged => "payment.status_changed",
        }
    }

    /// The table in [`EventType`]'s documentation.
    pub fn for_step(
        from: Option<PaymentStatus>,
        to: PaymentStatus,
        kind: &WebhookEventKind,
    ) -> EventType {
        use PaymentStatus::*;
        match (from, to) {
            (Some(Failed | Expired), Paid) => EventType::PaymentRevived,
            (Some(WaitingForDeposit), Paid) => EventType::VirtualAccountDeposited,
            (_, Paid) if matches!(kind, WebhookEventKind::DepositReceived) => {
                EventType::VirtualAccountDeposited
            }
            (_, Paid) => EventType::PaymentPaid,
            (_, PartiallyCanceled) => EventType::PaymentPartiallyCanceled,
            (_, Canceled) => EventType::PaymentCanceled,
            (_, Failed) => EventType::PaymentFailed,
            (_, Expired) => EventType::PaymentExpired,
            (Some(Paid), WaitingForDeposit) => EventType::VirtualAccountDepositReversed,
            (_, WaitingForDeposit) => EventType::VirtualAccountIssued,
            _ => EventType::PaymentStatusChanged,
        }
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A new event id: `evt_` and 32 random hex digits (the same on every delivery attempt).
pub fn new_event_id() -> String {
    format!("evt_{}", uuid::Uuid::new_v4().simple())
}

impl PaymentEvent {
    /// The outbox events of this change, one per step ([`steps`](Self::steps)), typed by
    /// [`EventType::for_step`], each with a new id. `amount` is the payment's total; the
    /// `balance` of the last step is the PG's, that of a step into `Paid` passed on the way
    /// is the total (nothing was canceled yet), and other passed steps carry none.
    pub fn outbox_events(&self, occurred_at: OffsetDateTime) -> Vec<NewEvent> {
        let steps = self.steps();
        let last = steps.len().saturating_sub(1);
        steps
            .into_iter()
            .enumerate()
            .map(|(i, (from, to))| {
                // Only the last step is what the event's kind reported.
                let kind = if i == last {
                    self.kind.clone()
                } else {
                    WebhookEventKind::PaymentStatusChanged
                };
                let balance = if i == last {
                    self.balance.clone()
                } else if to == PaymentStatus::Paid {
                    self.total.clone()
                } else {
                    None
                };
                NewEvent {
                    id: new_event_id(),
                    event_type: EventType::for_step(from, to, &kind).as_str().to_owned(),
                    provider: self.provider.clone(),
                    payment_key: self.payment_key.clone(),
                    order_id: self.order_id.clone(),
                    old_status: from,
                    new_status: to,
                    amount: self.total.clone(),
                    balance,
                    occurred_at,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PaymentStatus::*;

    #[test]
    fn event_types_per_step() {
        let change = WebhookEventKind::PaymentStatusChanged;
        let deposit = WebhookEventKind::DepositReceived;
        let cases = [
            (None, Paid, &change, "payment.paid"),
            (Some(Pending), Paid, &change, "payment.paid"),
            (
                Some(WaitingForDeposit),
                Paid,
                &change,
                "virtual_account.deposited",
            ),
            (None, Paid, &deposit, "virtual_account.deposited"),
            (None, WaitingForDeposit, &change, "virtual_account.issued"),
            (
                Some(Pending),
                WaitingForDeposit,
                &change,
                "virtual_account.issued",
            ),
            (
                Some(Paid),
                WaitingForDeposit,
                &deposit,
                "virtual_account.deposit_reversed",
            ),
            (Some(Failed), Paid, &change, "payment.revived"),
            (Some(Expired), Paid, &deposit, "payment.revived"),
            (Some(WaitingForDeposit), Failed, &change, "payment.failed"),
            (
                Some(Paid),
                PartiallyCanceled,
                &change,
                "payment.partially_canceled",
            ),
            (
                Some(PartiallyCanceled),
                PartiallyCanceled,
                &change,
                "payment.partially_canceled",
            ),
            (Some(Paid), Canceled, &change, "payment.canceled"),
            (Some(Ready), Failed, &change, "payment.failed"),
            (Some(WaitingForDeposit), Expired, &change, "payment.expired"),
            (Some(Ready), Pending, &change, "payment.status_changed"),
        ];
        for (old, new, kind, name) in cases {
            let t = EventType::for_step(old, new, kind);
            assert_eq!(t.as_str(), name, "{old:?} -> {new}");
            assert_eq!(
                serde_json::to_value(t).ok(),
                Some(serde_json::Value::String(name.into()))
            );
        }
    }

    #[test]
    fn one_outbox_event_per_step() {
        let event = PaymentEvent {
            provider: ProviderId::from_static("tosspayments"),
            dedupe_id: "d".into(),
            kind: WebhookEventKind::PaymentStatusChanged,
            payment_key: "pk".into(),
            order_id: Some("order-1".into()),
            old_status: None,
            new_status: Canceled,
            skipped: vec![WaitingForDeposit, Paid],
            total: Some(Money::krw(10_000)),
            balance: Some(Money::krw(0)),
            canceled: Some(Money::krw(10_000)),
            reconciled: true,
            trust: "signed",
            action: OrderAction::CancelOrder,
            actions: vec![],
            payment: None,
        };
        let at = OffsetDateTime::UNIX_EPOCH;
        let events = event.outbox_events(at);
        let got: Vec<(&str, Option<PaymentStatus>, PaymentStatus, Option<i64>)> = events
            .iter()
            .map(|e| {
                (
                    e.event_type.as_str(),
                    e.old_status,
                    e.new_status,
                    e.balance.as_ref().map(Money::minor_units),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("virtual_account.issued", None, WaitingForDeposit, None),
                (
                    "virtual_account.deposited",
                    Some(WaitingForDeposit),
                    Paid,
                    Some(10_000)
                ),
                ("payment.canceled", Some(Paid), Canceled, Some(0)),
            ]
        );
        let mut ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
        assert!(ids
            .iter()
            .all(|id| id.starts_with("evt_") && id.len() == 36));
        ids.dedup();
        assert_eq!(ids.len(), 3);
        assert!(events.iter().all(|e| e.amount == Some(Money::krw(10_000))
            && e.occurred_at == at
            && e.order_id.as_deref() == Some("order-1")));
    }

    #[test]
    fn the_documented_table() {
        let change = WebhookEventKind::PaymentStatusChanged;
        let deposit = WebhookEventKind::DepositReceived;
        let cases = [
            (None, Paid, &change, OrderAction::ConfirmOrder),
            (Some(Pending), Paid, &change, OrderAction::ConfirmOrder),
            (
                Some(WaitingForDeposit),
                Paid,
                &change,
                OrderAction::ConfirmVirtualAccountOrder,
            ),
            (
                None,
                Paid,
                &deposit,
                OrderAction::ConfirmVirtualAccountOrder,
            ),
            (Some(Paid), Canceled, &change, OrderAction::CancelOrder),
            (
                Some(Paid),
                PartiallyCanceled,
                &change,
                OrderAction::RecordPartialRefund,
            ),
            (None, WaitingForDeposit, &change, OrderAction::AwaitDeposit),
            (
                Some(Paid),
                WaitingForDeposit,
                &deposit,
                OrderAction::HoldOrder,
            ),
            (Some(Ready), Expired, &change, OrderAction::FailOrder),
            (Some(Failed), Paid, &change, OrderAction::ReviveOrder),
            (Some(Expired), Paid, &change, OrderAction::ReviveOrder),
            (
                Some(WaitingForDeposit),
                Failed,
                &change,
                OrderAction::FailOrder,
            ),
            (Some(Ready), Pending, &change, OrderAction::None),
        ];
        for (old, new, kind, action) in cases {
            assert_eq!(
                OrderAction::for_transition(old, new, kind),
                action,
                "{old:?} -> {new}"
            );
        }
    }

    type PathCase = (
        Option<PaymentStatus>,
        &'static [PaymentStatus],
        PaymentStatus,
        &'static [OrderAction],
    );

    #[test]
    fn a_path_gets_one_action_per_step() {
        let change = WebhookEventKind::PaymentStatusChanged;
        let cases: [PathCase; 5] = [
            (Some(Ready), &[], Pending, &[]),
            (
                Some(Ready),
                &[Paid],
                Canceled,
                &[OrderAction::ConfirmOrder, OrderAction::CancelOrder],
            ),
            (
                None,
                &[WaitingForDeposit, Paid, PartiallyCanceled],
                Canceled,
                &[
                    OrderAction::AwaitDeposit,
                    OrderAction::ConfirmVirtualAccountOrder,
                    OrderAction::RecordPartialRefund,
                    OrderAction::CancelOrder,
                ],
            ),
            (
                Some(WaitingForDeposit),
                &[Paid],
                PartiallyCanceled,
                &[
                    OrderAction::ConfirmVirtualAccountOrder,
                    OrderAction::RecordPartialRefund,
                ],
            ),
            (Some(Paid), &[], Canceled, &[OrderAction::CancelOrder]),
        ];
        for (old, skipped, new, actions) in cases {
            assert_eq!(
                OrderAction::for_path(old, skipped, new, &change),
                actions,
                "{old:?} -> {skipped:?} -> {new}"
            );
        }
    }
}
