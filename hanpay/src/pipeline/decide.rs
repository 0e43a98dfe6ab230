//! The decision at the heart of the pipeline, pure and tested without stores: given what is
//! stored, what the PG (or a webhook's hint) says, decide whether to apply, ask the PG, or
//! ignore — and which states a move skipped.
//!
//! The rule: a status from the PG's API is the truth, applied whenever it is reachable from the
//! stored status through legal moves; only one that would go backwards is ignored. A webhook's
//! hint is applied only as one ordinary legal move that is not older than the stored state;
//! any other hint makes the pipeline ask the PG.

use hanpay_core::{CancellationStatus, Payment, PaymentStatus};
use time::OffsetDateTime;

use crate::store::PaymentState;

/// What a webhook claimed besides its status: when it happened and the PG's raw status.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Claimed<'a> {
    /// When the PG says it happened.
    pub(crate) occurred_at: Option<OffsetDateTime>,
    /// The PG's own status string.
    pub(crate) raw_status: Option<&'a str>,
}

/// What to do with an event on top of the stored state.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Apply the move; `skipped` are the states passed on the way (reconciled events only).
    Apply { skipped: Vec<PaymentStatus> },
    /// An unreconciled hint that is not one legal move forward from the stored state: fetch
    /// the payment and decide on the PG's answer instead.
    Reconcile,
    /// Record the event and answer 200 without calling the handler.
    Ignore(String),
}

/// The rule: a status from the PG's API (`fetched`) is the truth, applied whenever it is
/// reachable from the stored status through legal moves (naming the states skipped); only one
/// that would go backwards is ignored. An unreconciled hint is applied only as one legal move,
/// never skipping states, and never when it is older than the stored state.
pub(crate) fn decide(
    current: Option<&PaymentState>,
    new_status: PaymentStatus,
    fetched: Option<&Payment>,
    claimed: Claimed<'_>,
) -> Decision {
    if new_status == PaymentStatus::Unknown {
        if fetched.is_none() {
            return Decision::Reconcile;
        }
        return Decision::Ignore(format!(
            "status {:?} is unknown to hanpay",
            fetched
                .map(|p| p.raw_status.clone())
                .or_else(|| claimed.raw_status.map(str::to_owned))
                .unwrap_or_default()
        ));
    }
    let Some(current) = current else {
        return Decision::Apply {
            skipped: fetched
                .and_then(|p| skipped_states(None, new_status, p))
                .unwrap_or_default(),
        };
    };
    if current.status == new_status {
        let more_canceled = new_status == PaymentStatus::PartiallyCanceled
            && fetched.is_some_and(|p| Some(&p.canceled) != current.canceled.as_ref());
        if !more_canceled {
            return Decision::Ignore(format!("no change: already {new_status}"));
        }
        return Decision::Apply {
            skipped: Vec::new(),
        };
    }
    let Some(payment) = fetched else {
        let late = claimed
            .occurred_at
            .is_some_and(|at| at < current.updated_at);
        // The rare moves (a late approval, a reversed deposit, a failed waiting account) are
        // applied on the PG's word only: a hint of one is reconciled.
        let ordinary =
            current.status.can_move_to(new_status) && !current.status.needs_pg_word(new_status);
        if ordinary && !late {
            return Decision::Apply {
                skipped: Vec::new(),
            };
        }
        return Decision::Reconcile;
    };
    match skipped_states(Some(current.status), new_status, payment) {
        Some(skipped) => Decision::Apply { skipped },
        None => Decision::Ignore(format!(
            "the PG says {new_status}, which cannot follow {} through legal moves (a stale \
             answer or a late event); never applied backwards",
            current.status
        )),
    }
}

/// The states a payment passed from `from` to `to` (the PG's answer `payment`), or `None`
/// when `to` is not reachable. Where several legal ways lead there, the answer tells them
/// apart: a virtual account passed `WaitingForDeposit`, an approved payment passed `Paid`,
/// one canceled in several parts passed `PartiallyCanceled`. From `None` (no state stored),
/// only the states the answer shows.
fn skipped_states(
    from: Option<PaymentStatus>,
    to: PaymentStatus,
    payment: &Payment,
) -> Option<Vec<PaymentStatus>> {
    use PaymentStatus::*;
    // The lifecycle's order, for "strictly between `from` and `to`".
    let rank = |s: PaymentStatus| match s {
        Ready => Some(0),
        Pending => Some(1),
        WaitingForDeposit => Some(2),
        Paid => Some(3),
        PartiallyCanceled => Some(4),
        Canceled => Some(5),
        Failed | Expired | Unknown => None,
    };
    let low = match from {
        None => -1,
        Some(s) => rank(s).unwrap_or(i32::MAX),
    };
    let high = rank(to).unwrap_or(i32::MIN);
    let done_cancellations = payment
        .cancellations
        .iter()
        .filter(|c| c.status == CancellationStatus::Done)
        .count();
    let via: Vec<PaymentStatus> = [
        (WaitingForDeposit, payment.virtual_account().is_some()),
        (Paid, payment.approved_at.is_some()),
        (PartiallyCanceled, done_cancellations >= 2),
    ]
    .into_iter()
    .filter(|&(state, shown)| shown && rank(state).is_some_and(|r| low < r && r < high))
    .map(|(state, _)| state)
    .collect();
    match from {
        Some(from) => from
            .path_via(&via, to)
            .or_else(|| from.path_to(to))
            .or_else(|| shown_rare_path(from, to, payment)),
        None => {
            let Some((&first, rest)) = via.split_first() else {
                return Some(Vec::new());
            };
            let Some(mut skipped) = first.path_via(rest, to) else {
                return Some(Vec::new());
            };
            skipped.insert(0, first);
            Some(skipped)
        }
    }
}

/// A path with several moves that [need the PG's word](PaymentStatus::needs_pg_word) (a
/// reversed deposit, then a failed waiting account), taken only when the answer shows every
/// state it passes: a virtual account for `WaitingForDeposit`, an approval for `Paid`, two
/// cancellations for `PartiallyCanceled`; never one through `Failed`, `Expired` or earlier.
fn shown_rare_path(
    from: PaymentStatus,
    to: PaymentStatus,
    payment: &Payment,
) -> Option<Vec<PaymentStatus>> {
    let skipped = from.path_on_pg_word(to)?;
    let done = payment
        .cancellations
        .iter()
        .filter(|c| c.status == CancellationStatus::Done)
        .count();
    let shown = |state: &PaymentStatus| match state {
        PaymentStatus::WaitingForDeposit => payment.virtual_account().is_some(),
        PaymentStatus::Paid => payment.approved_at.is_some(),
        PaymentStatus::PartiallyCanceled => done >= 2,
        _ => false,
    };
    skipped.iter().all(shown).then_some(skipped)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    use hanpay_core::{
        Bank, Cancellation, ConfirmRequest, Money, PaymentProvider, ProviderId,
        VirtualAccountRequest,
    };
    use hanpay_testkit::mock::MockProvider;
    use PaymentStatus::*;

    fn state(status: PaymentStatus, updated_at: OffsetDateTime) -> PaymentState {
        PaymentState {
            provider: ProviderId::from_static("mock"),
            payment_key: "pay-1".into(),
            order_id: None,
            status,
            total: None,
            balance: None,
            canceled: None,
            updated_at,
        }
    }

    fn hint(_status: PaymentStatus, occurred_at: Option<OffsetDateTime>) -> Claimed<'static> {
        Claimed {
            occurred_at,
            raw_status: None,
        }
    }

    /// A card payment as the PG returns it once approved, and a virtual account one.
    async fn answers() -> (Payment, Payment) {
        let mock = MockProvider::new();
        let key = mock
            .authenticate_card("order-card-1", &Money::krw(10_000))
            .unwrap();
        let card = mock
            .confirm(&ConfirmRequest::new(
                &key,
                "order-card-1",
                Money::krw(10_000),
            ))
            .await
            .unwrap();
        let va = mock
            .issue_virtual_account(&VirtualAccountRequest::new(
                Money::krw(10_000),
                "order-va-1",
                "셔츠",
                "김토스",
                Bank::Shinhan,
            ))
            .await
            .unwrap();
        let va = mock.deposit(&va.payment_key).unwrap();
        assert!(card.approved_at.is_some() && va.virtual_account().is_some());
        (card, va)
    }

    fn with_status(payment: &Payment, status: PaymentStatus) -> Payment {
        let mut p = payment.clone();
        p.status = status;
        p
    }

    #[tokio::test]
    async fn a_reachable_answer_is_applied_with_the_states_the_answer_shows() {
        let (card, va) = answers().await;
        let now = OffsetDateTime::now_utc();
        let event = hint(Paid, None);
        let decide_on = |stored: Option<PaymentStatus>, answer: &Payment| {
            let current = stored.map(|s| state(s, now));
            decide(current.as_ref(), answer.status, Some(answer), event)
        };
        let apply = |skipped: &[PaymentStatus]| Decision::Apply {
            skipped: skipped.to_vec(),
        };
        let canceled = with_status(&card, Canceled);
        assert_eq!(decide_on(Some(Ready), &canceled), apply(&[Paid]));
        assert_eq!(decide_on(Some(Pending), &canceled), apply(&[Paid]));
        assert_eq!(decide_on(Some(Paid), &canceled), apply(&[]));
        // Approved late after failing or expiring: the PG's answer revives it.
        assert_eq!(decide_on(Some(Failed), &card), apply(&[]));
        assert_eq!(decide_on(Some(Expired), &canceled), apply(&[Paid]));
        // A deposit reversed, then the waiting account failed: two rare moves, taken because
        // the answer shows the virtual account; a card payment shows no such way.
        let va_failed = with_status(&va, Failed);
        assert_eq!(
            decide_on(Some(Paid), &va_failed),
            apply(&[WaitingForDeposit])
        );
        assert!(matches!(
            decide_on(Some(Paid), &with_status(&card, Failed)),
            Decision::Ignore(_)
        ));
        // Expired, then a virtual account waiting again: revival and reversal would both be
        // needed, and the answer shows no approval.
        let mut waiting_again = with_status(&va, WaitingForDeposit);
        waiting_again.approved_at = None;
        assert!(matches!(
            decide_on(Some(Expired), &waiting_again),
            Decision::Ignore(_)
        ));
        assert_eq!(decide_on(None, &canceled), apply(&[Paid]));
        // Refunded in two parts: it passed PartiallyCanceled.
        let mut twice = canceled.clone();
        let part = Cancellation {
            amount: Money::krw(5_000),
            tax_free_amount: None,
            reason: None,
            canceled_at: None,
            transaction_key: None,
            status: CancellationStatus::Done,
        };
        twice.cancellations = vec![part.clone(), part];
        assert_eq!(
            decide_on(Some(Ready), &twice),
            apply(&[Paid, PartiallyCanceled])
        );
        // A virtual account deposited, then refunded; one canceled before the deposit.
        let va_canceled = with_status(&va, Canceled);
        assert_eq!(
            decide_on(Some(Ready), &va_canceled),
            apply(&[WaitingForDeposit, Paid])
        );
        assert_eq!(
            decide_on(Some(WaitingForDeposit), &va_canceled),
            apply(&[Paid])
        );
        assert_eq!(decide_on(None, &va), apply(&[WaitingForDeposit]));
        let mut never_paid = va_canceled.clone();
        never_paid.approved_at = None;
        assert_eq!(decide_on(Some(WaitingForDeposit), &never_paid), apply(&[]));
    }

    #[tokio::test]
    async fn a_stale_answer_behind_the_store_is_never_applied() {
        let (card, _) = answers().await;
        let now = OffsetDateTime::now_utc();
        let event = hint(Paid, None);
        for (stored, answer) in [
            (Canceled, Paid),
            (PartiallyCanceled, Paid),
            (Paid, Ready),
            (WaitingForDeposit, Ready),
            (Failed, Ready),
        ] {
            let current = state(stored, now);
            let answer = with_status(&card, answer);
            let decision = decide(Some(&current), answer.status, Some(&answer), event);
            assert!(
                matches!(&decision, Decision::Ignore(reason) if reason.contains("never applied backwards")),
                "{stored} then {}: {decision:?}",
                answer.status
            );
        }
        let current = state(Canceled, now);
        let answer = with_status(&card, Canceled);
        assert!(matches!(
            decide(Some(&current), Canceled, Some(&answer), event),
            Decision::Ignore(_)
        ));
    }

    #[test]
    fn a_hint_is_one_legal_move_or_it_is_reconciled() {
        let now = OffsetDateTime::now_utc();
        let earlier = now - time::Duration::seconds(5);
        let apply = Decision::Apply {
            skipped: Vec::new(),
        };
        let ready = state(Ready, now);
        assert_eq!(decide(None, Ready, None, hint(Ready, None)), apply);
        assert_eq!(
            decide(Some(&ready), Failed, None, hint(Failed, None)),
            apply
        );
        // Not one legal move: never skipped, never simply ignored.
        let waiting = state(WaitingForDeposit, now);
        assert_eq!(
            decide(Some(&waiting), Ready, None, hint(Ready, None)),
            Decision::Reconcile
        );
        assert_eq!(
            decide(Some(&ready), Canceled, None, hint(Canceled, None)),
            Decision::Reconcile
        );
        // Legal, but older than what is stored.
        assert_eq!(
            decide(Some(&ready), Failed, None, hint(Failed, Some(earlier))),
            Decision::Reconcile
        );
        assert_eq!(
            decide(Some(&ready), Unknown, None, hint(Unknown, None)),
            Decision::Reconcile
        );
        // A late approval, a reversed deposit, a failed waiting account: legal, but only on
        // the PG's word, never on a hint.
        for (stored, hinted) in [
            (Failed, Paid),
            (Expired, Paid),
            (Paid, WaitingForDeposit),
            (WaitingForDeposit, Failed),
        ] {
            assert_eq!(
                decide(Some(&state(stored, now)), hinted, None, hint(hinted, None)),
                Decision::Reconcile,
                "{stored} -> {hinted}"
            );
        }
        assert!(matches!(
            decide(Some(&ready), Ready, None, hint(Ready, None)),
            Decision::Ignore(_)
        ));
    }
}
