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
//! | → `WaitingForDeposit` from `Paid` (Toss deposit error) | [`HoldOrder`](OrderAction::HoldOrder): the deposit was reversed; stop fulfilment |
//! | → `Failed` / `Expired` | [`FailOrder`](OrderAction::FailOrder): release stock, let the customer retry |
//! | anything else | [`None`](OrderAction::None) |
//!
//! When the PG's answer shows the payment moved on by more than one legal step since the last
//! event applied (a delivery was late or lost: the store says `Ready`, the PG already says
//! `CANCELED`), the handler gets one event for the whole way, with the states in between in
//! [`PaymentEvent::skipped`] and one action per step in [`PaymentEvent::actions`] (here
//! [`ConfirmOrder`](OrderAction::ConfirmOrder) then [`CancelOrder`](OrderAction::CancelOrder)),
//! so the shop can run the order actions it missed, in order.

use hanpay_core::{Money, Payment, PaymentStatus, ProviderId, WebhookEventKind};
use serde::Serialize;

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

#[cfg(test)]
mod tests {
    use super::*;
    use PaymentStatus::*;

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
