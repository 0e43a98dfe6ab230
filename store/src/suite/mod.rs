//! The store conformance suite (feature `suite`): the same cases against every backend
//! (memory, SQLite, PostgreSQL), object_store style — it ships beside what it tests, and each
//! backend's tests call it. `run_all(&a, &b)` takes two handles on the same state (two pools on
//! one database, standing for two instances; for memory, the same stores twice).
//!
//! Every case uses fresh keys, so a shared database is fine; it is not a stable API and it
//! writes rows it does not delete.
//!
//! - [`backends`]: fresh stores of each backend, and [`each_backend!`](crate::each_backend) to
//!   run a test on each.
//! - `pg_server` (with the `postgres` feature): a PostgreSQL server for tests
//!   (`HANPAY_TEST_DATABASE_URL` or a throwaway one).
//!
//! ```no_run
//! # async fn run() {
//! let stores = hanpay_store::Stores::memory();
//! hanpay_store::suite::run_all(&stores, &stores).await.assert_passed();
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::{
    Claim, ClaimedEvent, DedupeKey, IgnoredEvent, InboxFilter, InboxOutcome, InboxRecord, NewEvent,
    OutboxFilter, OutboxState, PaymentState, RecheckPolicy, SavedSecret, Stores,
};
use futures_util::future::join_all;
use hanpay_core::{Money, PaymentStatus, ProviderId, Secret};
use time::OffsetDateTime;

pub mod backends;
#[cfg(feature = "postgres")]
pub mod pg_server;

/// A case's result: `Err` says what did not hold.
pub type CaseResult = Result<(), String>;

type CaseFn =
    for<'a> fn(&'a Stores, &'a Stores) -> Pin<Box<dyn Future<Output = CaseResult> + Send + 'a>>;

/// Every case, in order.
pub const CASES: &[(&str, CaseFn)] = &[
    ("claim_complete_release", |a, b| {
        Box::pin(claim_complete_release(a, b))
    }),
    ("lease_lapses_and_is_taken_over", |a, b| {
        Box::pin(lease_lapses_and_is_taken_over(a, b))
    }),
    ("ttl_expiry", |a, b| Box::pin(ttl_expiry(a, b))),
    ("concurrent_claims_one_wins", |a, b| {
        Box::pin(concurrent_claims_one_wins(a, b))
    }),
    ("compare_and_set", |a, b| Box::pin(compare_and_set(a, b))),
    ("concurrent_compare_and_set_one_wins", |a, b| {
        Box::pin(concurrent_compare_and_set_one_wins(a, b))
    }),
    ("tracked_payment_has_no_state", |a, b| {
        Box::pin(tracked_payment_has_no_state(a, b))
    }),
    ("secrets_by_key_and_order", |a, b| {
        Box::pin(secrets_by_key_and_order(a, b))
    }),
    ("ignored_events_kept", |a, b| {
        Box::pin(ignored_events_kept(a, b))
    }),
    ("payment_lock_excludes_across_handles", |a, b| {
        Box::pin(payment_lock_excludes_across_handles(a, b))
    }),
    ("stale_payments_handed_out_once", |a, b| {
        Box::pin(stale_payments_handed_out_once(a, b))
    }),
    ("inbox_records_lists_and_prunes", |a, b| {
        Box::pin(inbox_records_lists_and_prunes(a, b))
    }),
    ("outbox_events_commit_with_the_move", |a, b| {
        Box::pin(outbox_events_commit_with_the_move(a, b))
    }),
    ("outbox_claims_in_payment_order", |a, b| {
        Box::pin(outbox_claims_in_payment_order(a, b))
    }),
    ("a_delivery_commits_at_once_or_not_at_all", |a, b| {
        Box::pin(a_delivery_commits_at_once_or_not_at_all(a, b))
    }),
    ("outbox_marks_a_round_at_once", |a, b| {
        Box::pin(outbox_marks_a_round_at_once(a, b))
    }),
    ("outbox_lease_lapses_and_is_taken_over", |a, b| {
        Box::pin(outbox_lease_lapses_and_is_taken_over(a, b))
    }),
    ("outbox_fail_and_redeliver", |a, b| {
        Box::pin(outbox_fail_and_redeliver(a, b))
    }),
    ("outbox_concurrent_claims_hand_out_once", |a, b| {
        Box::pin(outbox_concurrent_claims_hand_out_once(a, b))
    }),
    ("outbox_prunes_delivered_events_only", |a, b| {
        Box::pin(outbox_prunes_delivered_events_only(a, b))
    }),
    // Idempotency keys (`hanpay serve`).
    ("idempotency_replays_and_refuses_another_request", |a, b| {
        Box::pin(idempotency::replays_and_refuses_another_request(a, b))
    }),
    ("idempotency_release_lease_and_ttl", |a, b| {
        Box::pin(idempotency::release_lease_and_ttl(a, b))
    }),
    ("idempotency_concurrent_begins_one_starts", |a, b| {
        Box::pin(idempotency::concurrent_begins_one_starts(a, b))
    }),
];

/// The result of [`run_all`].
#[derive(Debug, Clone)]
pub struct SuiteReport {
    /// The backend tested.
    pub backend: String,
    /// Each case's name and result.
    pub cases: Vec<(&'static str, CaseResult)>,
}

impl SuiteReport {
    /// `true` when every case passed.
    pub fn is_success(&self) -> bool {
        self.cases.iter().all(|(_, r)| r.is_ok())
    }

    /// Panics with the report unless every case passed.
    #[allow(clippy::panic)]
    pub fn assert_passed(&self) {
        if !self.is_success() {
            panic!("store suite failed\n{self}");
        }
    }
}

impl fmt::Display for SuiteReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failed = self.cases.iter().filter(|(_, r)| r.is_err()).count();
        writeln!(
            f,
            "store suite on {}: {} passed, {failed} failed",
            self.backend,
            self.cases.len() - failed
        )?;
        for (name, result) in &self.cases {
            match result {
                Ok(()) => writeln!(f, "  ok   {name}")?,
                Err(e) => writeln!(f, "  FAIL {name}: {e}")?,
            }
        }
        Ok(())
    }
}

/// Runs every case; `a` and `b` are two handles on the same state.
pub async fn run_all(a: &Stores, b: &Stores) -> SuiteReport {
    let mut cases = Vec::new();
    for (name, case) in CASES {
        cases.push((*name, case(a, b).await));
    }
    SuiteReport {
        backend: a.backend().name().to_owned(),
        cases,
    }
}

fn ensure(cond: bool, what: impl FnOnce() -> String) -> CaseResult {
    if cond {
        Ok(())
    } else {
        Err(what())
    }
}

fn fresh(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

fn provider() -> ProviderId {
    ProviderId::from_static("suite")
}

fn key() -> DedupeKey {
    DedupeKey {
        provider: provider(),
        dedupe_id: fresh("evt"),
    }
}

fn state(payment_key: &str, status: PaymentStatus) -> PaymentState {
    PaymentState {
        provider: provider(),
        payment_key: payment_key.to_owned(),
        order_id: Some(format!("order-of-{payment_key}")),
        status,
        total: Some(Money::krw(58_000)),
        balance: Some(Money::krw(50_000)),
        canceled: Some(Money::krw(8_000)),
        updated_at: OffsetDateTime::from_unix_timestamp(1_725_390_022)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH),
    }
}

const LONG: Duration = Duration::from_secs(3600);

macro_rules! tri {
    ($e:expr) => {
        $e.map_err(|e| format!("{}: {e}", stringify!($e)))?
    };
}

async fn claim_complete_release(a: &Stores, b: &Stores) -> CaseResult {
    let k = key();
    ensure(!tri!(b.dedupe.processed(&k).await), || {
        "an unseen delivery reads as processed".into()
    })?;
    let first = tri!(a.dedupe.claim(&k, LONG).await);
    ensure(first == Claim::New, || format!("first claim: {first:?}"))?;
    ensure(!tri!(b.dedupe.processed(&k).await), || {
        "a claimed delivery reads as processed".into()
    })?;
    let second = tri!(b.dedupe.claim(&k, LONG).await);
    ensure(second == Claim::InProgress, || {
        format!("claim while in flight: {second:?}")
    })?;
    tri!(a.dedupe.release(&k).await);
    let again = tri!(b.dedupe.claim(&k, LONG).await);
    ensure(again == Claim::New, || {
        format!("claim after release: {again:?}")
    })?;
    tri!(b.dedupe.complete(&k, LONG).await);
    ensure(tri!(a.dedupe.processed(&k).await), || {
        "a completed delivery does not read as processed".into()
    })?;
    let dup = tri!(a.dedupe.claim(&k, LONG).await);
    ensure(dup == Claim::Duplicate, || {
        format!("claim after complete: {dup:?}")
    })?;
    tri!(a.dedupe.release(&k).await);
    let still = tri!(b.dedupe.claim(&k, LONG).await);
    ensure(still == Claim::Duplicate, || {
        format!("release forgot a completed entry: {still:?}")
    })
}

async fn lease_lapses_and_is_taken_over(a: &Stores, b: &Stores) -> CaseResult {
    let k = key();
    // An instance claims with a lease that has lapsed (it crashed before completing).
    let first = tri!(a.dedupe.claim(&k, Duration::ZERO).await);
    ensure(first == Claim::New, || format!("first claim: {first:?}"))?;
    let taken = tri!(b.dedupe.claim(&k, LONG).await);
    ensure(taken == Claim::New, || {
        format!("a lapsed lease was not taken over: {taken:?}")
    })?;
    let blocked = tri!(a.dedupe.claim(&k, LONG).await);
    ensure(blocked == Claim::InProgress, || {
        format!("the new lease did not hold: {blocked:?}")
    })?;
    tri!(b.dedupe.complete(&k, LONG).await);
    ensure(tri!(a.dedupe.processed(&k).await), || {
        "a completed delivery does not read as processed".into()
    })?;
    let dup = tri!(a.dedupe.claim(&k, LONG).await);
    ensure(dup == Claim::Duplicate, || {
        format!("after completion: {dup:?}")
    })
}

async fn ttl_expiry(a: &Stores, b: &Stores) -> CaseResult {
    let old = key();
    tri!(a.dedupe.claim(&old, LONG).await);
    tri!(a.dedupe.complete(&old, Duration::ZERO).await);
    let again = tri!(b.dedupe.claim(&old, LONG).await);
    ensure(again == Claim::New, || {
        format!("an expired entry was remembered: {again:?}")
    })?;
    let forever = key();
    tri!(a.dedupe.complete(&forever, Duration::MAX).await);
    let dup = tri!(b.dedupe.claim(&forever, LONG).await);
    ensure(dup == Claim::Duplicate, || {
        format!("Duration::MAX TTL: {dup:?}")
    })
}

async fn concurrent_claims_one_wins(a: &Stores, b: &Stores) -> CaseResult {
    let k = key();
    let claims = (0..16).map(|i| {
        let store = if i % 2 == 0 {
            a.dedupe.clone()
        } else {
            b.dedupe.clone()
        };
        let k = k.clone();
        async move { store.claim(&k, LONG).await }
    });
    let results = join_all(claims).await;
    let mut new = 0;
    for r in results {
        match tri!(r) {
            Claim::New => new += 1,
            Claim::InProgress => {}
            Claim::Duplicate => return Err("a concurrent claim saw a duplicate".into()),
        }
    }
    ensure(new == 1, || {
        format!("{new} concurrent claims won, expected 1")
    })
}

async fn compare_and_set(a: &Stores, b: &Stores) -> CaseResult {
    let pk = fresh("pay");
    let none = tri!(a.states.get(&provider(), &pk).await);
    ensure(none.is_none(), || "a fresh payment has a state".into())?;
    let set = tri!(
        a.states
            .compare_and_set(None, state(&pk, PaymentStatus::Paid))
            .await
    );
    ensure(set, || "CAS from None on a fresh payment failed".into())?;
    let conflict = tri!(
        b.states
            .compare_and_set(None, state(&pk, PaymentStatus::Canceled))
            .await
    );
    ensure(!conflict, || {
        "CAS from None succeeded over an existing state".into()
    })?;
    let wrong = tri!(
        b.states
            .compare_and_set(
                Some(PaymentStatus::WaitingForDeposit),
                state(&pk, PaymentStatus::Canceled)
            )
            .await
    );
    ensure(!wrong, || "CAS from the wrong status succeeded".into())?;
    let got = tri!(b.states.get(&provider(), &pk).await);
    ensure(got == Some(state(&pk, PaymentStatus::Paid)), || {
        format!("round trip: {got:?}")
    })?;
    let mut canceled = state(&pk, PaymentStatus::Canceled);
    canceled.balance = Some(Money::krw(0));
    canceled.canceled = Some(Money::krw(58_000));
    let moved = tri!(
        b.states
            .compare_and_set(Some(PaymentStatus::Paid), canceled.clone())
            .await
    );
    ensure(moved, || "CAS from the expected status failed".into())?;
    let got = tri!(a.states.get(&provider(), &pk).await);
    ensure(got == Some(canceled), || format!("after the move: {got:?}"))
}

async fn concurrent_compare_and_set_one_wins(a: &Stores, b: &Stores) -> CaseResult {
    let pk = fresh("pay");
    tri!(
        a.states
            .compare_and_set(None, state(&pk, PaymentStatus::Paid))
            .await
    );
    let writers = (0..16).map(|i| {
        let store = if i % 2 == 0 {
            a.states.clone()
        } else {
            b.states.clone()
        };
        let next = if i % 3 == 0 {
            PaymentStatus::Canceled
        } else {
            PaymentStatus::PartiallyCanceled
        };
        let s = state(&pk, next);
        async move { store.compare_and_set(Some(PaymentStatus::Paid), s).await }
    });
    let mut won = 0;
    for r in join_all(writers).await {
        if tri!(r) {
            won += 1;
        }
    }
    ensure(won == 1, || {
        format!("{won} concurrent CAS from PAID succeeded, expected 1")
    })
}

async fn tracked_payment_has_no_state(a: &Stores, b: &Stores) -> CaseResult {
    let pk = fresh("pay");
    tri!(
        a.states
            .track(&provider(), &pk, Some("order-tracked"))
            .await
    );
    tri!(
        b.states
            .track(&provider(), &pk, Some("order-tracked"))
            .await
    );
    let got = tri!(b.states.get(&provider(), &pk).await);
    ensure(got.is_none(), || {
        format!("a tracked payment has a state: {got:?}")
    })?;
    let mut paid = state(&pk, PaymentStatus::Paid);
    paid.order_id = None;
    let set = tri!(b.states.compare_and_set(None, paid).await);
    ensure(set, || "CAS from None on a tracked payment failed".into())?;
    let got = tri!(a.states.get(&provider(), &pk).await);
    ensure(
        got.as_ref().and_then(|s| s.order_id.as_deref()) == Some("order-tracked"),
        || format!("the tracked order id was lost: {got:?}"),
    )?;
    // Tracking again does not reset a state.
    tri!(a.states.track(&provider(), &pk, None).await);
    let got = tri!(a.states.get(&provider(), &pk).await);
    ensure(got.map(|s| s.status) == Some(PaymentStatus::Paid), || {
        "track reset a state".into()
    })
}

async fn secrets_by_key_and_order(a: &Stores, b: &Stores) -> CaseResult {
    let pk = fresh("pay");
    let order = fresh("order");
    tri!(
        a.secrets
            .save(SavedSecret {
                provider: provider(),
                payment_key: pk.clone(),
                order_id: order.clone(),
                secret: Secret::new("ps_first"),
            })
            .await
    );
    let by_key = tri!(b.secrets.find(&provider(), Some(&pk), None).await);
    ensure(by_key.is_some_and(|s| s.ct_eq("ps_first")), || {
        "not found by payment key".into()
    })?;
    let by_order = tri!(b.secrets.find(&provider(), None, Some(&order)).await);
    ensure(by_order.is_some_and(|s| s.ct_eq("ps_first")), || {
        "not found by order id".into()
    })?;
    let unknown_key = tri!(
        b.secrets
            .find(&provider(), Some("no-such-key"), Some(&order))
            .await
    );
    ensure(unknown_key.is_some_and(|s| s.ct_eq("ps_first")), || {
        "an unknown key did not fall back to the order id".into()
    })?;
    let other = tri!(
        b.secrets
            .find(&ProviderId::from_static("other"), Some(&pk), Some(&order))
            .await
    );
    ensure(other.is_none(), || "found under another provider".into())?;
    tri!(
        b.secrets
            .save(SavedSecret {
                provider: provider(),
                payment_key: pk.clone(),
                order_id: order.clone(),
                secret: Secret::new("ps_second"),
            })
            .await
    );
    let replaced = tri!(a.secrets.find(&provider(), Some(&pk), None).await);
    ensure(replaced.is_some_and(|s| s.ct_eq("ps_second")), || {
        "save did not replace".into()
    })
}

async fn ignored_events_kept(a: &Stores, b: &Stores) -> CaseResult {
    let pk = fresh("pay");
    let events = [
        IgnoredEvent {
            dedupe_id: fresh("evt"),
            reported: PaymentStatus::WaitingForDeposit,
            kept: PaymentStatus::Paid,
            reason: "illegal move PAID -> WAITING_FOR_DEPOSIT".into(),
        },
        IgnoredEvent {
            dedupe_id: fresh("evt"),
            reported: PaymentStatus::Paid,
            kept: PaymentStatus::Paid,
            reason: "no change: already PAID".into(),
        },
    ];
    for e in &events {
        tri!(a.states.record_ignored(&provider(), &pk, e.clone()).await);
    }
    let got = tri!(b.states.ignored(&provider(), &pk).await);
    ensure(got == events, || format!("ignored events: {got:?}"))
}

async fn payment_lock_excludes_across_handles(a: &Stores, b: &Stores) -> CaseResult {
    let pk = fresh("pay");
    let held = tri!(a.locks.lock(&provider(), &pk).await);
    // Another payment is not blocked.
    let other = tri!(b.locks.lock(&provider(), &fresh("pay")).await);
    tri!(other.release().await);
    let acquired = Arc::new(AtomicBool::new(false));
    let waiter = {
        let locks = b.locks.clone();
        let acquired = acquired.clone();
        let pk = pk.clone();
        tokio::spawn(async move {
            let guard = locks.lock(&provider(), &pk).await?;
            acquired.store(true, Ordering::SeqCst);
            guard.release().await
        })
    };
    // A bounded wait can only let a broken lock pass, never fail a good one.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let early = acquired.load(Ordering::SeqCst);
    tri!(held.release().await);
    let joined = waiter.await.map_err(|e| format!("waiter: {e}"))?;
    tri!(joined);
    ensure(!early, || "the payment was locked twice at once".into())?;
    ensure(acquired.load(Ordering::SeqCst), || {
        "the waiter never got the lock".into()
    })
}

/// A re-check policy that makes a payment due once it is `first` old, within `horizon`.
fn recheck(first: Duration, horizon: Duration) -> RecheckPolicy {
    RecheckPolicy {
        first,
        stretch: 5,
        cap: LONG,
        horizon,
    }
}

async fn stale_payments_handed_out_once(a: &Stores, b: &Stores) -> CaseResult {
    let tracked = fresh("pay");
    let waiting = fresh("pay");
    let paid = fresh("pay");
    let canceled = fresh("pay");
    tri!(a.states.track(&provider(), &tracked, Some("order-t")).await);
    for (key, status) in [
        (&waiting, PaymentStatus::WaitingForDeposit),
        (&paid, PaymentStatus::Paid),
        (&canceled, PaymentStatus::Canceled),
    ] {
        tri!(a.states.compare_and_set(None, state(key, status)).await);
    }
    let ours = |list: &[crate::StalePayment]| -> Vec<String> {
        let mut keys: Vec<String> = list
            .iter()
            .filter(|p| [&tracked, &waiting, &paid, &canceled].contains(&&p.payment_key))
            .map(|p| p.payment_key.clone())
            .collect();
        keys.sort();
        keys
    };
    let p = provider();
    let young = tri!(
        a.states
            .claim_stale(&p, &recheck(LONG, LONG), LONG, 10_000)
            .await
    );
    ensure(ours(&young).is_empty(), || {
        "payments changed just now were handed out".into()
    })?;
    let due = recheck(Duration::ZERO, LONG);
    let (first, second) = tokio::join!(
        a.states.claim_stale(&p, &due, LONG, 10_000),
        b.states.claim_stale(&p, &due, LONG, 10_000),
    );
    let (first, second) = (tri!(first), tri!(second));
    // Paid is not final (a refund in the PG's console, a late cancel); only Canceled is.
    let mut expected = vec![tracked.clone(), waiting.clone(), paid.clone()];
    expected.sort();
    let mut all = ours(&first);
    all.extend(ours(&second));
    all.sort();
    ensure(all == expected, || {
        format!("handed out {all:?}, expected {expected:?} (each once, canceled never)")
    })?;
    let t = first
        .iter()
        .chain(&second)
        .find(|p| p.payment_key == tracked);
    ensure(
        t.is_some_and(|p| p.status.is_none() && p.order_id.as_deref() == Some("order-t")),
        || format!("tracked payment: {t:?}"),
    )?;
    let again = tri!(a.states.claim_stale(&p, &due, LONG, 10_000).await);
    ensure(ours(&again).is_empty(), || {
        "a held payment was handed out again".into()
    })?;
    // Other providers' payments are not handed out.
    let elsewhere = tri!(
        a.states
            .claim_stale(
                &ProviderId::new(fresh("other")),
                &due,
                Duration::ZERO,
                10_000
            )
            .await
    );
    ensure(ours(&elsewhere).is_empty(), || {
        "another provider's claim got these payments".into()
    })?;
    // Past the horizon: checked one last time, then never again.
    let old = fresh("pay");
    tri!(
        a.states
            .compare_and_set(None, state(&old, PaymentStatus::Paid))
            .await
    );
    // A zero horizon: even a payment changed this very millisecond is at it.
    let last = recheck(Duration::ZERO, Duration::ZERO);
    let once = tri!(
        a.states
            .claim_stale(&p, &last, Duration::ZERO, 10_000)
            .await
    );
    ensure(once.iter().any(|s| s.payment_key == old), || {
        "a due payment past its horizon was not checked a last time".into()
    })?;
    let never = tri!(a.states.claim_stale(&p, &due, Duration::ZERO, 10_000).await);
    ensure(!never.iter().any(|s| s.payment_key == old), || {
        "a payment past its horizon was handed out again".into()
    })?;
    // A status change makes it due again.
    tri!(
        a.states
            .compare_and_set(
                Some(PaymentStatus::Paid),
                state(&old, PaymentStatus::Canceled)
            )
            .await
    );
    let reopened = fresh("pay");
    tri!(
        a.states
            .compare_and_set(None, state(&reopened, PaymentStatus::Paid))
            .await
    );
    tri!(
        a.states
            .claim_stale(&p, &last, Duration::ZERO, 10_000)
            .await
    );
    tri!(
        a.states
            .compare_and_set(
                Some(PaymentStatus::Paid),
                state(&reopened, PaymentStatus::PartiallyCanceled)
            )
            .await
    );
    let after_change = tri!(a.states.claim_stale(&p, &due, Duration::ZERO, 10_000).await);
    ensure(
        after_change.iter().any(|s| s.payment_key == reopened)
            && !after_change.iter().any(|s| s.payment_key == old),
        || "a changed payment was not due again (or a canceled one was)".into(),
    )
}

async fn inbox_records_lists_and_prunes(a: &Stores, b: &Stores) -> CaseResult {
    let p = ProviderId::new(fresh("prov"));
    let record = |dedupe_id: &str, outcome: InboxOutcome| InboxRecord {
        provider: p.clone(),
        dedupe_id: dedupe_id.to_owned(),
        kind: "payment_status_changed".into(),
        payment_key: Some(format!("pay-{dedupe_id}")),
        order_id: Some(format!("order-{dedupe_id}")),
        trust: "signed".into(),
        outcome,
    };
    let before = OffsetDateTime::now_utc() - time::Duration::seconds(1);
    let applied = tri!(a.inbox.record(record("e1", InboxOutcome::Applied)).await);
    let dup = tri!(b.inbox.record(record("e1", InboxOutcome::Duplicate)).await);
    ensure(applied == dup, || "a redelivery got a new row".into())?;
    let failed = InboxOutcome::Failed {
        stage: "handler".into(),
        error: "order database unavailable".into(),
    };
    let failed_id = tri!(a.inbox.record(record("e2", failed.clone())).await);
    tri!(
        a.inbox
            .record(record(
                "e3",
                InboxOutcome::Ignored {
                    reason: "no change: already PAID".into()
                }
            ))
            .await
    );
    let e1 = tri!(b.inbox.entry(applied).await).ok_or("entry e1 missing")?;
    ensure(
        e1.attempts == 2 && e1.outcome == InboxOutcome::Applied && e1.provider == p,
        || format!("e1 after a duplicate: {e1:?}"),
    )?;
    ensure(
        e1.payment_key.as_deref() == Some("pay-e1")
            && e1.order_id.as_deref() == Some("order-e1")
            && e1.kind == "payment_status_changed"
            && e1.trust == "signed"
            && e1.first_seen <= e1.last_seen
            && e1.first_seen >= before,
        || format!("e1 fields: {e1:?}"),
    )?;
    let mine = InboxFilter {
        provider: Some(p.clone()),
        ..InboxFilter::default()
    };
    let all = tri!(b.inbox.list(&mine).await);
    ensure(all.len() == 3, || {
        format!("listed {} entries, expected 3", all.len())
    })?;
    let only_failed = tri!(
        b.inbox
            .list(&InboxFilter {
                failed_only: true,
                ..mine.clone()
            })
            .await
    );
    ensure(
        only_failed.len() == 1
            && only_failed[0].id == failed_id
            && only_failed[0].outcome == failed,
        || format!("failed only: {only_failed:?}"),
    )?;
    let future = tri!(
        b.inbox
            .list(&InboxFilter {
                since: Some(OffsetDateTime::now_utc() + time::Duration::hours(1)),
                ..mine.clone()
            })
            .await
    );
    ensure(future.is_empty(), || "since did not filter".into())?;
    let limited = tri!(
        b.inbox
            .list(&InboxFilter {
                limit: 2,
                ..mine.clone()
            })
            .await
    );
    ensure(limited.len() == 2, || "limit did not apply".into())?;
    // A retention far in the past keeps everything; zero deletes what did not fail.
    tri!(a.inbox.prune(Duration::from_secs(86_400)).await);
    ensure(tri!(b.inbox.list(&mine).await).len() == 3, || {
        "pruned young rows".into()
    })?;
    tri!(a.inbox.prune(Duration::ZERO).await);
    let left = tri!(b.inbox.list(&mine).await);
    ensure(left.len() == 1 && left[0].id == failed_id, || {
        format!("after pruning, left: {left:?}")
    })?;
    // A later success of the failed event makes it prunable.
    tri!(a.inbox.record(record("e2", InboxOutcome::Applied)).await);
    let e2 = tri!(b.inbox.entry(failed_id).await).ok_or("entry e2 missing")?;
    ensure(
        e2.outcome == InboxOutcome::Applied && e2.attempts == 2,
        || format!("e2: {e2:?}"),
    )
}

// ----- the outbox -----
//
// Every case leaves none of its events pending (they are delivered or failed), so the claims
// of a later case see only its own; claims use a large limit and keep the case's own events.

const MANY: usize = 10_000;

fn new_event(
    pk: &str,
    event_type: &str,
    old: Option<PaymentStatus>,
    new: PaymentStatus,
) -> NewEvent {
    NewEvent {
        id: fresh("evt"),
        event_type: event_type.to_owned(),
        provider: provider(),
        payment_key: pk.to_owned(),
        order_id: Some(format!("order-of-{pk}")),
        old_status: old,
        new_status: new,
        amount: Some(Money::krw(58_000)),
        balance: Some(Money::krw(50_000)),
        occurred_at: OffsetDateTime::from_unix_timestamp(1_725_390_022)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH),
    }
}

/// A payment moved None → Paid → PartiallyCanceled → Canceled, one event per move.
async fn three_moves(stores: &Stores, pk: &str) -> Result<Vec<NewEvent>, String> {
    use PaymentStatus::*;
    let moves = [
        (None, Paid, "payment.paid"),
        (Some(Paid), PartiallyCanceled, "payment.partially_canceled"),
        (Some(PartiallyCanceled), Canceled, "payment.canceled"),
    ];
    let mut events = Vec::new();
    for (old, new, kind) in moves {
        let event = new_event(pk, kind, old, new);
        let set = tri!(
            stores
                .states
                .compare_and_set_with_events(old, state(pk, new), vec![event.clone()])
                .await
        );
        ensure(set, || format!("the move {old:?} -> {new} failed"))?;
        events.push(event);
    }
    Ok(events)
}

fn ours<'c>(claimed: &'c [ClaimedEvent], keys: &[&str]) -> Vec<&'c ClaimedEvent> {
    claimed
        .iter()
        .filter(|c| keys.contains(&c.event.event.payment_key.as_str()))
        .collect()
}

fn ids(claimed: &[&ClaimedEvent]) -> Vec<String> {
    claimed.iter().map(|c| c.event.event.id.clone()).collect()
}

/// Claims and delivers the pending events of `keys` until none is left.
async fn deliver_all(stores: &Stores, keys: &[&str]) -> CaseResult {
    for _ in 0..64 {
        let claimed = tri!(stores.outbox.claim("suite-drain", LONG, MANY).await);
        let mine = ours(&claimed, keys);
        for c in &claimed {
            tri!(stores.outbox.mark_delivered(&c.lease).await);
        }
        if mine.is_empty() {
            let left = tri!(
                stores
                    .outbox
                    .list(&OutboxFilter {
                        state: Some(OutboxState::Pending),
                        ..OutboxFilter::default()
                    })
                    .await
            );
            let left = left
                .iter()
                .filter(|e| keys.contains(&e.event.payment_key.as_str()))
                .count();
            return ensure(left == 0, || format!("{left} events stuck pending"));
        }
    }
    Err("the outbox did not drain".into())
}

async fn outbox_events_commit_with_the_move(a: &Stores, b: &Stores) -> CaseResult {
    use PaymentStatus::*;
    let pk = fresh("pay");
    let before = tri!(a.outbox.depth().await);
    let first = new_event(&pk, "virtual_account.issued", None, WaitingForDeposit);
    let second = new_event(
        &pk,
        "virtual_account.deposited",
        Some(WaitingForDeposit),
        Paid,
    );
    let set = tri!(
        a.states
            .compare_and_set_with_events(
                None,
                state(&pk, Paid),
                vec![first.clone(), second.clone()]
            )
            .await
    );
    ensure(set, || "the move with events failed".into())?;
    // A move that does not happen writes no event.
    let lost = new_event(&pk, "payment.canceled", None, Canceled);
    let set = tri!(
        b.states
            .compare_and_set_with_events(None, state(&pk, Canceled), vec![lost.clone()])
            .await
    );
    ensure(!set, || "CAS from None succeeded over a state".into())?;
    let wrong = new_event(&pk, "payment.canceled", Some(WaitingForDeposit), Canceled);
    let set = tri!(
        b.states
            .compare_and_set_with_events(
                Some(WaitingForDeposit),
                state(&pk, Canceled),
                vec![wrong.clone()]
            )
            .await
    );
    ensure(!set, || "CAS from the wrong status succeeded".into())?;
    for id in [&lost.id, &wrong.id] {
        let got = tri!(b.outbox.event(id).await);
        ensure(got.is_none(), || {
            format!("a failed CAS wrote an event: {got:?}")
        })?;
    }
    let got = tri!(b.states.get(&provider(), &pk).await);
    ensure(got.map(|s| s.status) == Some(Paid), || {
        "the state is wrong".into()
    })?;
    let listed = tri!(
        b.outbox
            .list(&OutboxFilter {
                payment_key: Some(pk.clone()),
                ..OutboxFilter::default()
            })
            .await
    );
    let seen: Vec<(String, i64)> = listed
        .iter()
        .map(|e| (e.event.id.clone(), e.sequence))
        .collect();
    ensure(
        seen == [(second.id.clone(), 2), (first.id.clone(), 1)],
        || format!("listed newest first with sequences: {seen:?}"),
    )?;
    let stored = &listed[1];
    ensure(stored.event == first, || {
        format!("round trip: {:?}", stored.event)
    })?;
    ensure(
        stored.state == OutboxState::Pending && stored.attempts == 0 && stored.last_error.is_none(),
        || format!("a new event: {stored:?}"),
    )?;
    let depth = tri!(b.outbox.depth().await);
    ensure(depth == before + 2, || {
        format!("depth {depth}, expected {}", before + 2)
    })?;
    // The next move continues the payment's sequence.
    let third = new_event(&pk, "payment.canceled", Some(Paid), Canceled);
    let set = tri!(
        b.states
            .compare_and_set_with_events(Some(Paid), state(&pk, Canceled), vec![third.clone()])
            .await
    );
    ensure(set, || "the third move failed".into())?;
    let got = tri!(a.outbox.event(&third.id).await);
    ensure(got.as_ref().map(|e| e.sequence) == Some(3), || {
        format!("the third event: {got:?}")
    })?;
    deliver_all(a, &[&pk]).await?;
    let depth = tri!(b.outbox.depth().await);
    ensure(depth == before, || {
        format!("depth after delivery {depth}, expected {before}")
    })
}

/// A processed delivery's move, events, dedupe entry and inbox record commit together; a lost
/// compare-and-set writes none of them; an ignored event commits with its dedupe entry and
/// record. (Skipped where the backend writes the parts one by one.)
async fn a_delivery_commits_at_once_or_not_at_all(a: &Stores, b: &Stores) -> CaseResult {
    use crate::{Change, DeliveryCommit};
    use PaymentStatus::*;
    let pk = fresh("pay");
    let record = |dedupe_id: &str, outcome: InboxOutcome| InboxRecord {
        provider: provider(),
        dedupe_id: dedupe_id.to_owned(),
        kind: "payment_status_changed".into(),
        payment_key: Some(pk.clone()),
        order_id: None,
        trust: "signed".into(),
        outcome,
    };
    let recorded = |dedupe_id: String| async move {
        let entries = a
            .inbox
            .list(&InboxFilter {
                provider: Some(provider()),
                ..InboxFilter::default()
            })
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(entries.into_iter().find(|e| e.dedupe_id == dedupe_id))
    };
    // The move: written with its event, the delivery processed and recorded.
    let first = key();
    let event = new_event(&pk, "payment.paid", None, Paid);
    let commit = DeliveryCommit {
        change: Change::Move {
            expected: None,
            state: state(&pk, Paid),
            events: vec![event.clone()],
        },
        dedupe: Some((first.clone(), LONG)),
        record: Some(record(&first.dedupe_id, InboxOutcome::Applied)),
    };
    let Some(written) = tri!(a.states.commit_delivery(&commit).await) else {
        return Ok(());
    };
    ensure(written, || "the first move was not written".into())?;
    let got = tri!(b.states.get(&provider(), &pk).await);
    ensure(got.is_some_and(|s| s.status == Paid), || {
        "the move is not visible".into()
    })?;
    ensure(
        tri!(b.dedupe.claim(&first, LONG).await) == Claim::Duplicate,
        || "the delivery is not remembered as processed".into(),
    )?;
    ensure(tri!(b.outbox.event(&event.id).await).is_some(), || {
        "the move's event was not written".into()
    })?;
    ensure(
        recorded(first.dedupe_id.clone())
            .await?
            .is_some_and(|e| e.outcome == InboxOutcome::Applied),
        || "the delivery was not recorded".into(),
    )?;
    // A lost compare-and-set: nothing of it is written.
    let second = key();
    let lost_event = new_event(&pk, "payment.canceled", Some(Ready), Canceled);
    let lost = DeliveryCommit {
        change: Change::Move {
            expected: Some(Ready),
            state: state(&pk, Canceled),
            events: vec![lost_event.clone()],
        },
        dedupe: Some((second.clone(), LONG)),
        record: Some(record(&second.dedupe_id, InboxOutcome::Applied)),
    };
    let written = tri!(b.states.commit_delivery(&lost).await);
    ensure(written == Some(false), || {
        format!("a stale compare-and-set answered {written:?}")
    })?;
    ensure(tri!(a.outbox.event(&lost_event.id).await).is_none(), || {
        "a lost move wrote its event".into()
    })?;
    ensure(recorded(second.dedupe_id.clone()).await?.is_none(), || {
        "a lost move recorded its delivery".into()
    })?;
    ensure(
        tri!(a.dedupe.claim(&second, LONG).await) == Claim::New,
        || "a lost move marked its delivery processed".into(),
    )?;
    // An ignored event: recorded on the payment, with the delivery.
    let third = key();
    let ignored = DeliveryCommit {
        change: Change::Ignored {
            provider: provider(),
            payment_key: pk.clone(),
            event: IgnoredEvent {
                dedupe_id: third.dedupe_id.clone(),
                reported: Ready,
                kept: Paid,
                reason: "late".into(),
            },
        },
        dedupe: Some((third.clone(), LONG)),
        record: Some(record(
            &third.dedupe_id,
            InboxOutcome::Ignored {
                reason: "late".into(),
            },
        )),
    };
    ensure(
        tri!(a.states.commit_delivery(&ignored).await) == Some(true),
        || "the ignored event was not committed".into(),
    )?;
    let kept = tri!(b.states.ignored(&provider(), &pk).await);
    ensure(kept.iter().any(|e| e.dedupe_id == third.dedupe_id), || {
        format!("ignored events: {kept:?}")
    })?;
    ensure(
        tri!(b.dedupe.claim(&third, LONG).await) == Claim::Duplicate,
        || "the ignored delivery is not remembered as processed".into(),
    )
}

/// A round's deliveries are recorded at once: each lease still held is marked, a forged one
/// is not, and each payment's next event is due.
async fn outbox_marks_a_round_at_once(a: &Stores, b: &Stores) -> CaseResult {
    let p = fresh("pay");
    let q = fresh("pay");
    let pe = three_moves(a, &p).await?;
    let qe = three_moves(b, &q).await?;
    let keys = [p.as_str(), q.as_str()];
    let claimed = tri!(a.outbox.claim("instance-a", LONG, MANY).await);
    let mine = ours(&claimed, &keys);
    ensure(mine.len() == 2, || format!("first claim: {:?}", ids(&mine)))?;
    let mut forged = mine[0].lease.clone();
    forged.owner = "instance-b".into();
    let leases = [forged, mine[0].lease.clone(), mine[1].lease.clone()];
    let held = tri!(b.outbox.mark_all_delivered(&leases).await);
    ensure(held == [false, true, true], || {
        format!("marked {held:?}, expected [false, true, true]")
    })?;
    let again = tri!(a.outbox.mark_all_delivered(&leases[1..]).await);
    ensure(again == [false, false], || {
        format!("marked twice: {again:?}")
    })?;
    let next = tri!(b.outbox.claim("instance-b", LONG, MANY).await);
    let mut got = ids(&ours(&next, &keys));
    got.sort();
    let mut want = vec![pe[1].id.clone(), qe[1].id.clone()];
    want.sort();
    ensure(got == want, || {
        format!("after the round: {got:?}, expected {want:?}")
    })
}

async fn outbox_claims_in_payment_order(a: &Stores, b: &Stores) -> CaseResult {
    let p = fresh("pay");
    let q = fresh("pay");
    let pe = three_moves(a, &p).await?;
    let qe = three_moves(b, &q).await?;
    let keys = [p.as_str(), q.as_str()];
    let claimed = tri!(a.outbox.claim("instance-a", LONG, MANY).await);
    let mine = ours(&claimed, &keys);
    let mut got = ids(&mine);
    got.sort();
    let mut want = vec![pe[0].id.clone(), qe[0].id.clone()];
    want.sort();
    ensure(got == want, || {
        format!("first claim handed out {got:?}, expected only the first of each payment")
    })?;
    ensure(
        mine.iter().all(|c| {
            c.lease.attempt == 1
                && c.event.attempts == 1
                && c.event.lease_owner.as_deref() == Some("instance-a")
        }),
        || format!("leases: {mine:?}"),
    )?;
    let again = tri!(b.outbox.claim("instance-b", LONG, MANY).await);
    ensure(ours(&again, &keys).is_empty(), || {
        format!(
            "a leased event (or a later one) was handed out again: {:?}",
            ids(&ours(&again, &keys))
        )
    })?;
    let Some(p1) = mine.iter().find(|c| c.event.event.payment_key == p) else {
        return Err("no claim for the first payment".into());
    };
    let mut forged = p1.lease.clone();
    forged.owner = "instance-b".into();
    let stolen = tri!(b.outbox.mark_delivered(&forged).await);
    ensure(!stolen, || "a non-holder marked an event delivered".into())?;
    let done = tri!(b.outbox.mark_delivered(&p1.lease).await);
    ensure(done, || "the holder could not mark it delivered".into())?;
    let twice = tri!(a.outbox.mark_delivered(&p1.lease).await);
    ensure(!twice, || "an event was marked delivered twice".into())?;
    let next = tri!(b.outbox.claim("instance-b", LONG, MANY).await);
    let next_mine = ours(&next, &keys);
    ensure(ids(&next_mine) == [pe[1].id.clone()], || {
        format!("after the first was delivered: {:?}", ids(&next_mine))
    })?;
    // A retry waiting for its time still blocks the payment's later events.
    let retried = tri!(
        b.outbox
            .schedule_retry(&next_mine[0].lease, LONG, "HTTP 503")
            .await
    );
    ensure(retried, || "the holder could not schedule a retry".into())?;
    let blocked = tri!(a.outbox.claim("instance-a", LONG, MANY).await);
    ensure(ours(&blocked, &keys).is_empty(), || {
        format!(
            "handed out past a waiting retry: {:?}",
            ids(&ours(&blocked, &keys))
        )
    })?;
    let waiting = tri!(a.outbox.event(&pe[1].id).await);
    ensure(
        waiting.as_ref().is_some_and(|e| {
            e.state == OutboxState::Pending
                && e.last_error.as_deref() == Some("HTTP 503")
                && e.next_attempt_at > OffsetDateTime::now_utc()
        }),
        || format!("the retried event: {waiting:?}"),
    )?;
    // Done with the case: deliver everything (the waiting retry is failed and redelivered
    // to make it due now).
    let q1 = mine.iter().find(|c| c.event.event.payment_key == q);
    if let Some(q1) = q1 {
        tri!(a.outbox.mark_delivered(&q1.lease).await);
    }
    finish_waiting(a, &pe[1].id).await?;
    deliver_all(a, &keys).await
}

/// Makes a pending event waiting for a retry due again: it is redelivered after being marked
/// failed by whoever holds it next (for cleaning up a case).
async fn finish_waiting(stores: &Stores, id: &str) -> CaseResult {
    // A redelivery applies to failed events only; a waiting retry is failed through a fresh
    // claim once due. Here it is not due (LONG): fail it via the store's view of the lease.
    let event = tri!(stores.outbox.event(id).await);
    let Some(event) = event else {
        return Err(format!("no event {id}"));
    };
    let lease = crate::Lease {
        event_id: id.to_owned(),
        owner: event.lease_owner.clone().unwrap_or_default(),
        attempt: event.attempts,
    };
    let failed = tri!(stores.outbox.mark_failed(&lease, "suite cleanup").await);
    ensure(failed, || "could not fail the waiting event".into())?;
    let again = tri!(stores.outbox.redeliver(id).await);
    ensure(again, || "could not redeliver it".into())
}

async fn outbox_lease_lapses_and_is_taken_over(a: &Stores, b: &Stores) -> CaseResult {
    let pk = fresh("pay");
    let event = new_event(&pk, "payment.paid", None, PaymentStatus::Paid);
    tri!(
        a.states
            .compare_and_set_with_events(None, state(&pk, PaymentStatus::Paid), vec![event.clone()])
            .await
    );
    let keys = [pk.as_str()];
    // An instance claims and crashes: its lease lapses.
    let first = tri!(a.outbox.claim("crashed", Duration::ZERO, MANY).await);
    let first = ours(&first, &keys);
    ensure(ids(&first) == [event.id.clone()], || {
        format!("first claim: {:?}", ids(&first))
    })?;
    let taken = tri!(b.outbox.claim("survivor", LONG, MANY).await);
    let taken = ours(&taken, &keys);
    ensure(ids(&taken) == [event.id.clone()], || {
        format!("a lapsed lease was not taken over: {:?}", ids(&taken))
    })?;
    ensure(taken[0].lease.attempt == 2, || {
        format!("attempt {}", taken[0].lease.attempt)
    })?;
    let late = tri!(a.outbox.mark_delivered(&first[0].lease).await);
    ensure(!late, || {
        "the crashed claimer's lease still marked the event".into()
    })?;
    let late = tri!(a.outbox.mark_failed(&first[0].lease, "late").await);
    ensure(!late, || {
        "the crashed claimer's lease still failed the event".into()
    })?;
    let done = tri!(b.outbox.mark_delivered(&taken[0].lease).await);
    ensure(done, || "the new holder could not mark it delivered".into())?;
    let got = tri!(a.outbox.event(&event.id).await);
    ensure(
        got.as_ref()
            .is_some_and(|e| e.state == OutboxState::Delivered && e.attempts == 2),
        || format!("after the takeover: {got:?}"),
    )
}

async fn outbox_fail_and_redeliver(a: &Stores, b: &Stores) -> CaseResult {
    let pk = fresh("pay");
    let events = three_moves(a, &pk).await?;
    let keys = [pk.as_str()];
    let claimed = tri!(a.outbox.claim("worker", LONG, MANY).await);
    let claimed = ours(&claimed, &keys);
    ensure(ids(&claimed) == [events[0].id.clone()], || {
        format!("claim: {:?}", ids(&claimed))
    })?;
    let failed = tri!(
        a.outbox
            .mark_failed(&claimed[0].lease, "gave up after 1 attempt")
            .await
    );
    ensure(failed, || "could not mark it failed".into())?;
    let listed = tri!(
        b.outbox
            .list(&OutboxFilter {
                state: Some(OutboxState::Failed),
                payment_key: Some(pk.clone()),
                ..OutboxFilter::default()
            })
            .await
    );
    ensure(
        listed.len() == 1
            && listed[0].event.id == events[0].id
            && listed[0].last_error.as_deref() == Some("gave up after 1 attempt"),
        || format!("failed events: {listed:?}"),
    )?;
    // A failed event does not block the payment's later ones.
    let next = tri!(b.outbox.claim("worker", LONG, MANY).await);
    let next = ours(&next, &keys);
    ensure(ids(&next) == [events[1].id.clone()], || {
        format!("after a give-up: {:?}", ids(&next))
    })?;
    tri!(b.outbox.mark_delivered(&next[0].lease).await);
    let depth_before = tri!(a.outbox.depth().await);
    let again = tri!(b.outbox.redeliver(&events[0].id).await);
    ensure(again, || "redeliver of a failed event refused".into())?;
    let twice = tri!(b.outbox.redeliver(&events[0].id).await);
    ensure(!twice, || "redeliver of a pending event accepted".into())?;
    let missing = tri!(b.outbox.redeliver("evt_no_such_event").await);
    ensure(!missing, || "redeliver of an unknown id accepted".into())?;
    let depth = tri!(a.outbox.depth().await);
    ensure(depth == depth_before + 1, || {
        format!("depth {depth} after a redeliver")
    })?;
    // The redelivered event (same id, attempts reset) comes before the payment's third.
    let resent = tri!(a.outbox.claim("worker", LONG, MANY).await);
    let resent = ours(&resent, &keys);
    ensure(ids(&resent) == [events[0].id.clone()], || {
        format!("after the redeliver: {:?}", ids(&resent))
    })?;
    ensure(resent[0].lease.attempt == 1, || {
        format!("attempt {}", resent[0].lease.attempt)
    })?;
    tri!(a.outbox.mark_delivered(&resent[0].lease).await);
    deliver_all(b, &keys).await?;
    let last = tri!(a.outbox.event(&events[2].id).await);
    ensure(
        last.is_some_and(|e| e.state == OutboxState::Delivered),
        || "the third event was not delivered".into(),
    )
}

async fn outbox_concurrent_claims_hand_out_once(a: &Stores, b: &Stores) -> CaseResult {
    let mut keys = Vec::new();
    for _ in 0..24 {
        let pk = fresh("pay");
        let event = new_event(&pk, "payment.paid", None, PaymentStatus::Paid);
        tri!(
            a.states
                .compare_and_set_with_events(None, state(&pk, PaymentStatus::Paid), vec![event])
                .await
        );
        keys.push(pk);
    }
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let claims = (0..8).map(|i| {
        let outbox = if i % 2 == 0 {
            a.outbox.clone()
        } else {
            b.outbox.clone()
        };
        async move { outbox.claim(&format!("claimer-{i}"), LONG, 4).await }
    });
    let mut handed = Vec::new();
    for r in join_all(claims).await {
        let claimed = tri!(r);
        for c in claimed {
            if key_refs.contains(&c.event.event.payment_key.as_str()) {
                handed.push(c);
            }
        }
    }
    let mut seen: Vec<String> = handed.iter().map(|c| c.event.event.id.clone()).collect();
    seen.sort();
    let before = seen.len();
    seen.dedup();
    ensure(seen.len() == before, || {
        format!(
            "{} events handed out twice by concurrent claims",
            before - seen.len()
        )
    })?;
    ensure(before == 24, || {
        format!("{before} of 24 due events handed out by 8 claims of 4")
    })?;
    for c in &handed {
        let done = tri!(a.outbox.mark_delivered(&c.lease).await);
        ensure(done, || "a holder could not mark its event".into())?;
    }
    deliver_all(b, &key_refs).await
}

async fn outbox_prunes_delivered_events_only(a: &Stores, b: &Stores) -> CaseResult {
    let pk = fresh("pay");
    let events = three_moves(a, &pk).await?;
    let keys = [pk.as_str()];
    // First delivered, second given up, third pending.
    let first = tri!(a.outbox.claim("pruner", LONG, MANY).await);
    let first = ours(&first, &keys);
    ensure(first.len() == 1, || format!("claim: {:?}", ids(&first)))?;
    tri!(a.outbox.mark_delivered(&first[0].lease).await);
    let second = tri!(a.outbox.claim("pruner", LONG, MANY).await);
    let second = ours(&second, &keys);
    ensure(second.len() == 1, || format!("claim: {:?}", ids(&second)))?;
    tri!(a.outbox.mark_failed(&second[0].lease, "gave up").await);
    tri!(b.outbox.prune(LONG).await);
    let still = tri!(b.outbox.event(&events[0].id).await);
    ensure(still.is_some(), || {
        "a recent delivered event was pruned".into()
    })?;
    tri!(b.outbox.prune(Duration::ZERO).await);
    let gone = tri!(a.outbox.event(&events[0].id).await);
    ensure(gone.is_none(), || "an old delivered event was kept".into())?;
    for id in [&events[1].id, &events[2].id] {
        let kept = tri!(a.outbox.event(id).await);
        ensure(kept.is_some(), || {
            format!("a failed or pending event {id} was pruned")
        })?;
    }
    deliver_all(a, &keys).await
}

/// The idempotency-key cases.
mod idempotency {
    use super::*;
    use crate::{Begin, StoredResponse};

    fn answer() -> StoredResponse {
        StoredResponse {
            status: 201,
            body: "{\"status\":\"PAID\",\"amount\":58000}".as_bytes().to_vec(),
        }
    }

    pub(super) async fn replays_and_refuses_another_request(a: &Stores, b: &Stores) -> CaseResult {
        let k = fresh("idem");
        let first = tri!(a.idempotency.begin(&k, "fp-1", LONG).await);
        ensure(first == Begin::Started, || {
            format!("first begin: {first:?}")
        })?;
        let running = tri!(b.idempotency.begin(&k, "fp-1", LONG).await);
        ensure(running == Begin::InProgress, || {
            format!("begin while running: {running:?}")
        })?;
        let other = tri!(b.idempotency.begin(&k, "fp-2", LONG).await);
        ensure(other == Begin::Mismatch, || {
            format!("another request while running: {other:?}")
        })?;
        tri!(a.idempotency.complete(&k, "fp-1", &answer(), LONG).await);
        let replay = tri!(b.idempotency.begin(&k, "fp-1", LONG).await);
        ensure(replay == Begin::Completed(answer()), || {
            format!("begin after complete: {replay:?}")
        })?;
        let other = tri!(a.idempotency.begin(&k, "fp-2", LONG).await);
        ensure(other == Begin::Mismatch, || {
            format!("another request after complete: {other:?}")
        })?;
        tri!(b.idempotency.release(&k, "fp-1").await);
        let kept = tri!(a.idempotency.begin(&k, "fp-1", LONG).await);
        ensure(kept == Begin::Completed(answer()), || {
            format!("release forgot a completed answer: {kept:?}")
        })
    }

    pub(super) async fn release_lease_and_ttl(a: &Stores, b: &Stores) -> CaseResult {
        let k = fresh("idem");
        tri!(a.idempotency.begin(&k, "fp", LONG).await);
        tri!(a.idempotency.release(&k, "fp").await);
        let again = tri!(b.idempotency.begin(&k, "fp", LONG).await);
        ensure(again == Begin::Started, || {
            format!("begin after release: {again:?}")
        })?;

        // A lapsed lease (the instance crashed) is taken over, by another request too.
        let crashed = fresh("idem");
        tri!(a.idempotency.begin(&crashed, "fp", Duration::ZERO).await);
        let taken = tri!(b.idempotency.begin(&crashed, "fp-other", LONG).await);
        ensure(taken == Begin::Started, || {
            format!("a lapsed lease was not taken over: {taken:?}")
        })?;
        // The crashed holder's late completion does not overwrite the new request's.
        tri!(
            a.idempotency
                .complete(&crashed, "fp", &answer(), LONG)
                .await
        );
        let held = tri!(a.idempotency.begin(&crashed, "fp-other", LONG).await);
        ensure(held == Begin::InProgress, || {
            format!("a stale holder completed another request's key: {held:?}")
        })?;

        // An answer is forgotten after its TTL.
        let old = fresh("idem");
        tri!(a.idempotency.begin(&old, "fp", LONG).await);
        tri!(
            a.idempotency
                .complete(&old, "fp", &answer(), Duration::ZERO)
                .await
        );
        let expired = tri!(b.idempotency.begin(&old, "fp-new", LONG).await);
        ensure(expired == Begin::Started, || {
            format!("an expired answer was remembered: {expired:?}")
        })
    }

    pub(super) async fn concurrent_begins_one_starts(a: &Stores, b: &Stores) -> CaseResult {
        let k = fresh("idem");
        let begins = (0..16).map(|i| {
            let store = if i % 2 == 0 {
                a.idempotency.clone()
            } else {
                b.idempotency.clone()
            };
            let k = k.clone();
            async move { store.begin(&k, "fp", LONG).await }
        });
        let mut started = 0;
        for r in join_all(begins).await {
            match tri!(r) {
                Begin::Started => started += 1,
                Begin::InProgress => {}
                other => return Err(format!("a concurrent begin saw {other:?}")),
            }
        }
        ensure(started == 1, || {
            format!("{started} concurrent begins started, expected 1")
        })
    }
}
