//! The pipeline converges to the PG's truth against the registered fake PGs over HTTP: a
//! reconciled status is applied whenever it is reachable through legal moves, with the skipped
//! states named; never backwards. `model` drives random lifecycles through it, on every fake.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(all(feature = "tosspayments", feature = "portone"))]

mod live;
mod model;

use hanpay::portone::fake::{FakePortOne, PayMethod};
use hanpay::{CancelRequest, OrderAction, PaymentProvider, PaymentStatus, PaymentStatus::*};
use hanpay_testkit::inbox::Received;

use live::{event_type, Live};

/// PortOne's deliveries since the last call, in the order the fake sent them.
async fn portone_deliveries(live: &mut Live) -> Vec<Received> {
    let mut sent = live.new_deliveries().await;
    let order: Vec<String> = live
        .concrete::<FakePortOne>("portone")
        .webhooks_sent()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    sent.sort_by_key(|d| {
        let id = d
            .headers
            .get("webhook-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        order.iter().position(|s| s == id)
    });
    sent
}

/// The reproduction: a signed `Transaction.Ready` is applied without a lookup and
/// stores `READY`; by the time `Transaction.Paid` is reconciled the PG says `CANCELLED`.
/// `Ready → Canceled` is no single legal move, but it is reachable: it must be applied, with
/// `Paid` named as skipped, and the shop told to confirm, then cancel.
#[tokio::test]
async fn a_payment_stored_ready_reaches_the_pgs_cancelled() {
    let mut live = Live::start().await;
    let key = "order-stuck-0001";
    live.concrete::<FakePortOne>("portone")
        .pay(key, 30_000, "KRW", "셔츠", PayMethod::Card)
        .unwrap();
    let sent = portone_deliveries(&mut live).await;
    let kinds: Vec<String> = sent.iter().map(event_type).collect();
    assert_eq!(kinds, ["Transaction.Ready", "Transaction.Paid"]);
    let (ready, paid) = (&sent[0], &sent[1]);

    let outcome = live.deliver(ready).await;
    assert_eq!(outcome.label(), "processed", "{:?}", outcome.body());
    assert_eq!(live.stored("portone", key).await, Some(Ready));

    live.hanpay
        .gateway_for("portone")
        .unwrap()
        .cancel(&CancelRequest::full(key, "고객 변심"))
        .await
        .unwrap();
    let sent = portone_deliveries(&mut live).await;
    assert_eq!(
        sent.iter().map(event_type).collect::<Vec<_>>(),
        ["Transaction.Cancelled"]
    );
    let cancelled = &sent[0];

    let outcome = live.deliver(paid).await;
    assert_eq!(outcome.http_status(), 200);
    assert_eq!(outcome.label(), "processed", "{:?}", outcome.body());
    let outcome = live.deliver(cancelled).await;
    assert_eq!(outcome.label(), "ignored", "{:?}", outcome.body());

    assert_eq!(live.pg("portone", key).await.status, Canceled);
    assert_eq!(live.stored("portone", key).await, Some(Canceled));
    let events = live.events();
    assert_eq!(events.len(), 2);
    let last = &events[1];
    assert_eq!(
        (last.old_status, last.skipped.as_slice(), last.new_status),
        (Some(Ready), &[Paid][..], Canceled)
    );
    assert!(last.reconciled);
    assert_eq!(
        last.actions,
        [OrderAction::ConfirmOrder, OrderAction::CancelOrder]
    );
    assert_eq!(last.action, OrderAction::CancelOrder);
    assert_eq!(last.steps(), [(Some(Ready), Paid), (Some(Paid), Canceled)]);
}

/// The same with a partial cancel first: the PG says `PARTIAL_CANCELLED`, and a stale
/// redelivery of `Transaction.Ready` afterwards changes nothing.
#[tokio::test]
async fn a_payment_stored_ready_reaches_partial_cancelled_and_never_goes_back() {
    let mut live = Live::start().await;
    let key = "order-stuck-0002";
    live.concrete::<FakePortOne>("portone")
        .pay(key, 30_000, "KRW", "셔츠", PayMethod::Card)
        .unwrap();
    let sent = portone_deliveries(&mut live).await;
    let (ready, paid) = (&sent[0], &sent[1]);
    assert_eq!(live.deliver(ready).await.label(), "processed");
    live.hanpay
        .gateway_for("portone")
        .unwrap()
        .cancel(&CancelRequest::partial(
            key,
            "사이즈 교환",
            hanpay::Money::krw(5_000),
        ))
        .await
        .unwrap();
    let partial = portone_deliveries(&mut live).await.remove(0);

    let outcome = live.deliver(paid).await;
    assert_eq!(outcome.label(), "processed", "{:?}", outcome.body());
    assert_eq!(live.deliver(&partial).await.label(), "ignored");
    // The early Transaction.Ready delivered again is a duplicate; nothing moves back.
    assert_eq!(live.deliver(ready).await.label(), "duplicate");

    assert_eq!(
        live.stored("portone", key).await,
        Some(PaymentStatus::PartiallyCanceled)
    );
    let events = live.events();
    let last = events.last().unwrap();
    assert_eq!(last.skipped, [Paid]);
    assert_eq!(
        last.actions,
        [OrderAction::ConfirmOrder, OrderAction::RecordPartialRefund]
    );
    assert_eq!(last.canceled, Some(hanpay::Money::krw(5_000)));
}
