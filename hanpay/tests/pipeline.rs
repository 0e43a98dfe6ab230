//! The webhook pipeline against `MockProvider` (and the Toss verifier for `DEPOSIT_CALLBACK`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hanpay::core::webhook::{RedeliverySchedule, RedeliveryStop};
use hanpay::core::{Trust, WebhookError, WebhookEventKind};
use hanpay::store::{Claim, DedupeKey};
use hanpay::{
    handler_fn, ConfirmRequest, DedupeStore, HandlerError, Hanpay, Money, PaymentEvent,
    PaymentProvider, PaymentStatus, StoreError, WebhookEvent, WebhookOutcome, WebhookPipeline,
    WebhookRequest, WebhookVerifier,
};
use hanpay_core::{Bank, ProviderId, VirtualAccountRequest};
use hanpay_store::each_backend;
use hanpay_store::suite::backends::{fresh, Backend, TestStores};
use hanpay_testkit::mock::{MockProvider, MockWebhook, Operation};

type Seen = Arc<Mutex<Vec<PaymentEvent>>>;

fn recording() -> (Seen, impl hanpay::WebhookHandler + 'static) {
    let seen: Seen = Arc::default();
    let sink = Arc::clone(&seen);
    let handler = handler_fn(move |event: PaymentEvent| {
        let sink = Arc::clone(&sink);
        async move {
            sink.lock().unwrap().push(event);
            Ok(())
        }
    });
    (seen, handler)
}

fn mock_hanpay(mock: &MockProvider, db: &TestStores) -> Hanpay {
    Hanpay::builder()
        .stores(db.stores.clone())
        .provider_with_webhooks(Arc::new(mock.clone()), Arc::new(mock.clone()))
        .build()
        .unwrap()
}

async fn paid_card(hanpay: &Hanpay, mock: &MockProvider, order: &str, won: i64) -> String {
    let key = mock.authenticate_card(order, &Money::krw(won)).unwrap();
    let paid = hanpay
        .gateway()
        .confirm(&ConfirmRequest::new(&key, order, Money::krw(won)))
        .await
        .unwrap();
    assert_eq!(paid.status, PaymentStatus::Paid);
    key
}

async fn deliver(pipeline: &WebhookPipeline, webhook: &MockWebhook) -> WebhookOutcome {
    pipeline.process("mock", &webhook.request()).await
}

async fn the_same_delivery_twice_calls_the_handler_once(backend: Backend) {
    let db = fresh(backend).await;
    let mock = MockProvider::new();
    let hanpay = mock_hanpay(&mock, &db);
    let (seen, handler) = recording();
    let pipeline = WebhookPipeline::builder(hanpay.clone(), handler).build();
    let key = paid_card(&hanpay, &mock, "order-dup-1", 58_000).await;
    let webhooks = mock.take_webhooks();
    assert_eq!(webhooks.len(), 1);

    let first = deliver(&pipeline, &webhooks[0]).await;
    assert_eq!(first.http_status(), 200, "{:?}", first.body());
    assert_eq!(first.label(), "processed");
    let second = deliver(&pipeline, &webhooks[0]).await;
    assert_eq!(second.http_status(), 200);
    assert_eq!(second.label(), "duplicate");

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    let event = &seen[0];
    assert_eq!(event.payment_key, key);
    assert_eq!(event.old_status, None);
    assert_eq!(event.new_status, PaymentStatus::Paid);
    assert_eq!(event.total, Some(Money::krw(58_000)));
    assert_eq!(event.action, hanpay::OrderAction::ConfirmOrder);
    // A paid event moves money: it was reconciled with the PG even though it was signed.
    assert!(event.reconciled);
}

async fn a_late_waiting_for_deposit_after_paid_is_recorded_and_ignored(backend: Backend) {
    let db = fresh(backend).await;
    let mock = MockProvider::new();
    let hanpay = mock_hanpay(&mock, &db);
    let states = db.stores.states.clone();
    let (seen, handler) = recording();
    let pipeline = WebhookPipeline::builder(hanpay.clone(), handler).build();
    let va = hanpay
        .gateway()
        .issue_virtual_account(&VirtualAccountRequest::new(
            Money::krw(39_000),
            "order-late-1",
            "티셔츠",
            "김토스",
            Bank::Shinhan,
        ))
        .await
        .unwrap();
    mock.deposit(&va.payment_key).unwrap();
    let webhooks = mock.take_webhooks();
    let waiting = webhooks
        .iter()
        .find(|w| w.status == PaymentStatus::WaitingForDeposit)
        .unwrap();
    let paid = webhooks
        .iter()
        .find(|w| w.status == PaymentStatus::Paid)
        .unwrap();

    // Out of order: the deposit arrives first, then the issue.
    let outcome = deliver(&pipeline, paid).await;
    assert_eq!(outcome.label(), "processed", "{:?}", outcome.body());
    let outcome = deliver(&pipeline, waiting).await;
    assert_eq!(outcome.http_status(), 200);
    assert_eq!(outcome.label(), "ignored", "{:?}", outcome.body());

    let provider = ProviderId::from_static("mock");
    let state = hanpay::PaymentStateStore::get(states.as_ref(), &provider, &va.payment_key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.status, PaymentStatus::Paid);
    let ignored = states.ignored(&provider, &va.payment_key).await.unwrap();
    assert_eq!(ignored.len(), 1);
    assert_eq!(ignored[0].kept, PaymentStatus::Paid);
    assert_eq!(ignored[0].dedupe_id, waiting.id);

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].action,
        hanpay::OrderAction::ConfirmVirtualAccountOrder
    );
}

/// A verifier that believes nothing was proven (like an allowlist-only PortOne setup) and
/// reports whatever status the body claims.
struct UnsignedVerifier {
    provider: ProviderId,
}

impl WebhookVerifier for UnsignedVerifier {
    fn provider(&self) -> &ProviderId {
        &self.provider
    }

    fn verify(&self, request: &WebhookRequest<'_>) -> Result<WebhookEvent, WebhookError> {
        let body: serde_json::Value = serde_json::from_slice(&request.body)
            .map_err(|e| WebhookError::MalformedPayload(e.to_string()))?;
        Ok(WebhookEvent {
            provider: self.provider.clone(),
            dedupe_id: hanpay::core::webhook::body_digest(&request.body),
            kind: WebhookEventKind::PaymentStatusChanged,
            payment_key: body["paymentKey"].as_str().map(str::to_owned),
            order_id: None,
            status_hint: Some(PaymentStatus::Canceled),
            raw_status: Some("CANCELED".into()),
            occurred_at: None,
            trust: Trust::SourceAddress("52.78.5.241".parse().unwrap()),
            payment_secret: None,
            body: request.body.clone(),
        })
    }

    fn redelivery(&self) -> RedeliverySchedule {
        RedeliverySchedule::new("test", Vec::new(), false, RedeliveryStop::Any2xx)
    }
}

async fn an_unsigned_event_is_reconciled_with_the_pg(backend: Backend) {
    let db = fresh(backend).await;
    let mock = MockProvider::new();
    let hanpay = Hanpay::builder()
        .stores(db.stores.clone())
        .provider_with_webhooks(
            Arc::new(mock.clone()),
            Arc::new(UnsignedVerifier {
                provider: ProviderId::from_static("mock"),
            }),
        )
        .build()
        .unwrap();
    let (seen, handler) = recording();
    let pipeline = WebhookPipeline::builder(hanpay.clone(), handler).build();
    let key = paid_card(&hanpay, &mock, "order-unsigned-1", 12_000).await;
    let lookups_before = mock.calls_of(Operation::Lookup).len();

    let headers = http::HeaderMap::new();
    let body = serde_json::json!({ "paymentKey": key, "status": "CANCELED" }).to_string();
    let outcome = pipeline
        .process("mock", &WebhookRequest::new(&headers, body))
        .await;
    assert_eq!(outcome.label(), "processed", "{:?}", outcome.body());

    assert!(mock.calls_of(Operation::Lookup).len() > lookups_before);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    // The event claimed CANCELED; the PG says PAID, and that is what the handler sees.
    assert_eq!(seen[0].new_status, PaymentStatus::Paid);
    assert!(seen[0].reconciled);
    assert_eq!(seen[0].trust, "source_address");
}

/// Two different deliveries about one payment arrive at once (as Toss sends
/// `PAYMENT_STATUS_CHANGED` and `DEPOSIT_CALLBACK` for the same change). The first stays inside
/// the handler, yielding, while the second runs: without a per-payment lock the second reads the
/// same old state and calls the handler for the same move. Single-threaded and the mock answers
/// at once, so the second event gets every chance to interleave — no clock involved.
async fn two_events_for_one_payment_at_once_reach_the_handler_once(backend: Backend) {
    let db = fresh(backend).await;
    let mock = MockProvider::new();
    let hanpay = Hanpay::builder()
        .stores(db.stores.clone())
        .provider_with_webhooks(
            Arc::new(mock.clone()),
            Arc::new(UnsignedVerifier {
                provider: ProviderId::from_static("mock"),
            }),
        )
        .build()
        .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let most_at_once = Arc::new(AtomicUsize::new(0));
    let inside = Arc::new(AtomicUsize::new(0));
    let seen: Seen = Arc::default();
    let (c, m, i, sink) = (
        calls.clone(),
        most_at_once.clone(),
        inside.clone(),
        seen.clone(),
    );
    let handler = handler_fn(move |event: PaymentEvent| {
        let (c, m, i, sink) = (c.clone(), m.clone(), i.clone(), sink.clone());
        async move {
            let now_inside = i.fetch_add(1, Ordering::SeqCst) + 1;
            m.fetch_max(now_inside, Ordering::SeqCst);
            if c.fetch_add(1, Ordering::SeqCst) == 0 {
                // Hold the first call open while the other delivery runs.
                for _ in 0..1_000 {
                    if c.load(Ordering::SeqCst) > 1 {
                        break;
                    }
                    tokio::task::yield_now().await;
                }
            }
            sink.lock().unwrap().push(event);
            i.fetch_sub(1, Ordering::SeqCst);
            Ok::<(), HandlerError>(())
        }
    });
    let pipeline = WebhookPipeline::builder(hanpay.clone(), handler).build();
    let key = paid_card(&hanpay, &mock, "order-concurrent-1", 39_000).await;

    let headers = http::HeaderMap::new();
    let status_changed =
        serde_json::json!({ "paymentKey": key, "eventType": "PAYMENT_STATUS_CHANGED" }).to_string();
    let deposit =
        serde_json::json!({ "paymentKey": key, "eventType": "DEPOSIT_CALLBACK" }).to_string();
    let first_request = WebhookRequest::new(&headers, status_changed);
    let second_request = WebhookRequest::new(&headers, deposit);
    let (first, second) = tokio::join!(
        pipeline.process("mock", &first_request),
        pipeline.process("mock", &second_request),
    );

    let mut labels = [first.label(), second.label()];
    labels.sort_unstable();
    assert_eq!(
        labels,
        ["ignored", "processed"],
        "{:?} {:?}",
        first.body(),
        second.body()
    );
    assert_eq!(first.http_status(), 200);
    assert_eq!(second.http_status(), 200);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "one move, one handler call"
    );
    assert_eq!(most_at_once.load(Ordering::SeqCst), 1);
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].old_status, None);
    assert_eq!(seen[0].new_status, PaymentStatus::Paid);
    assert!(seen[0].reconciled);
}

async fn a_bad_signature_is_401_and_the_handler_is_not_called(backend: Backend) {
    let db = fresh(backend).await;
    let mock = MockProvider::new();
    let hanpay = mock_hanpay(&mock, &db);
    let (seen, handler) = recording();
    let pipeline = WebhookPipeline::builder(hanpay.clone(), handler).build();
    paid_card(&hanpay, &mock, "order-badsig-1", 10_000).await;
    let mut webhook = mock.take_webhooks().remove(0);
    let mut body = webhook.body.to_vec();
    let pos = body.iter().position(|b| *b == b'0').unwrap();
    body[pos] = b'9';
    webhook.body = body.into();

    let outcome = deliver(&pipeline, &webhook).await;
    assert_eq!(outcome.http_status(), 401, "{:?}", outcome.body());
    assert!(matches!(
        outcome,
        WebhookOutcome::Rejected(WebhookError::NoMatchingSignature { .. })
    ));
    assert!(seen.lock().unwrap().is_empty());

    let outcome = pipeline.process("kakaopay", &webhook.request()).await;
    assert_eq!(outcome.http_status(), 404);
}

async fn a_handler_error_is_5xx_and_the_redelivery_is_processed_once(backend: Backend) {
    let db = fresh(backend).await;
    let mock = MockProvider::new();
    let hanpay = mock_hanpay(&mock, &db);
    let attempts = Arc::new(AtomicUsize::new(0));
    let successes = Arc::new(AtomicUsize::new(0));
    let (a, s) = (attempts.clone(), successes.clone());
    let handler = handler_fn(move |_event: PaymentEvent| {
        let (a, s) = (a.clone(), s.clone());
        async move {
            if a.fetch_add(1, Ordering::SeqCst) == 0 {
                return Err::<(), HandlerError>("order database unavailable".into());
            }
            s.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    });
    let pipeline = WebhookPipeline::builder(hanpay.clone(), handler).build();
    paid_card(&hanpay, &mock, "order-handler-1", 20_000).await;
    let webhook = mock.take_webhooks().remove(0);

    let first = deliver(&pipeline, &webhook).await;
    assert_eq!(first.http_status(), 500, "{:?}", first.body());
    assert!(first.body()["message"]
        .as_str()
        .unwrap()
        .contains("order database unavailable"));
    let redelivery = deliver(&pipeline, &webhook).await;
    assert_eq!(redelivery.label(), "processed", "{:?}", redelivery.body());
    let third = deliver(&pipeline, &webhook).await;
    assert_eq!(third.label(), "duplicate");
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    assert_eq!(successes.load(Ordering::SeqCst), 1);
}

/// A dedupe store that fails its first claim.
struct FlakyDedupe {
    inner: hanpay::InMemoryDedupeStore,
    fail: AtomicUsize,
}

#[hanpay::core::async_trait]
impl DedupeStore for FlakyDedupe {
    async fn claim(&self, key: &DedupeKey, lease: Duration) -> Result<Claim, StoreError> {
        if self.fail.fetch_sub(1, Ordering::SeqCst) > 0 {
            return Err(StoreError::new("redis timed out"));
        }
        self.inner.claim(key, lease).await
    }
    async fn complete(&self, key: &DedupeKey, ttl: Duration) -> Result<(), StoreError> {
        self.inner.complete(key, ttl).await
    }
    async fn release(&self, key: &DedupeKey) -> Result<(), StoreError> {
        self.inner.release(key).await
    }
}

async fn a_store_failure_is_5xx_then_processed(backend: Backend) {
    let db = fresh(backend).await;
    let mock = MockProvider::new();
    let hanpay = mock_hanpay(&mock, &db);
    let (seen, handler) = recording();
    let pipeline = WebhookPipeline::builder(hanpay.clone(), handler)
        .dedupe_store(Arc::new(FlakyDedupe {
            inner: hanpay::InMemoryDedupeStore::new(),
            fail: AtomicUsize::new(1),
        }))
        .build();
    paid_card(&hanpay, &mock, "order-store-1", 5_000).await;
    let webhook = mock.take_webhooks().remove(0);
    assert_eq!(deliver(&pipeline, &webhook).await.http_status(), 500);
    assert_eq!(deliver(&pipeline, &webhook).await.label(), "processed");
    assert_eq!(seen.lock().unwrap().len(), 1);
}

async fn partial_then_full_cancel_move_along_the_table(backend: Backend) {
    let db = fresh(backend).await;
    let mock = MockProvider::new();
    let hanpay = mock_hanpay(&mock, &db);
    let (seen, handler) = recording();
    let pipeline = WebhookPipeline::builder(hanpay.clone(), handler).build();
    let key = paid_card(&hanpay, &mock, "order-cancel-1", 58_000).await;
    let gateway = hanpay.gateway();
    gateway
        .cancel(&hanpay::CancelRequest::partial(
            &key,
            "사이즈 교환",
            Money::krw(8_000),
        ))
        .await
        .unwrap();
    gateway
        .cancel(&hanpay::CancelRequest::full(&key, "고객 변심"))
        .await
        .unwrap();
    let webhooks = mock.take_webhooks();
    assert_eq!(webhooks.len(), 3);
    // The first one (PAID) arrives, then the later ones: but the PG already says CANCELED for
    // each lookup, so the partial refund is skipped over — never applied after the cancel.
    for webhook in &webhooks {
        let outcome = deliver(&pipeline, webhook).await;
        assert_eq!(outcome.http_status(), 200, "{:?}", outcome.body());
    }
    let seen = seen.lock().unwrap();
    let last = seen.last().unwrap();
    assert_eq!(last.new_status, PaymentStatus::Canceled);
    assert_eq!(last.action, hanpay::OrderAction::CancelOrder);
    assert_eq!(last.balance, Some(Money::krw(0)));
    assert!(seen
        .iter()
        .all(|e| e.old_status != Some(PaymentStatus::Canceled)));
}

async fn dedupe_window_covers_the_redelivery_span(backend: Backend) {
    let db = fresh(backend).await;
    let mock = MockProvider::new();
    let hanpay = mock_hanpay(&mock, &db);
    let (_seen, handler) = recording();
    let pipeline = WebhookPipeline::builder(hanpay, handler)
        .dedupe_margin(Duration::from_secs(3600))
        .build();
    assert_eq!(pipeline.dedupe_ttl("mock"), Duration::from_secs(3600));
}

#[cfg(feature = "tosspayments")]
mod deposit_callback {
    use super::*;
    use hanpay::tosspayments::TossWebhookVerifier;

    fn deposit_callback(secret: &str, order_id: &str) -> String {
        serde_json::json!({
            "createdAt": "2024-09-03T19:40:22.000000",
            "secret": secret,
            "status": "DONE",
            "transactionKey": "9FF15E1A29D0E77C218F57262BFA4986",
            "orderId": order_id,
        })
        .to_string()
    }

    pub(super) async fn a_deposit_callback_with_a_wrong_secret_is_rejected(backend: Backend) {
        let db = fresh(backend).await;
        let mock = MockProvider::builder().id("tosspayments").build();
        let verifier = TossWebhookVerifier::builder()
            .without_allowlist()
            .build()
            .unwrap();
        let hanpay = Hanpay::builder()
            .stores(db.stores.clone())
            .provider_with_webhooks(Arc::new(mock.clone()), Arc::new(verifier))
            .build()
            .unwrap();
        let (seen, handler) = recording();
        let pipeline = WebhookPipeline::builder(hanpay.clone(), handler).build();
        let va = hanpay
            .gateway()
            .issue_virtual_account(&VirtualAccountRequest::new(
                Money::krw(390_000),
                "00001503",
                "지갑",
                "Pankaj",
                Bank::Daegu,
            ))
            .await
            .unwrap();
        // The facade saved the secret the PG returned at issue.
        let saved = hanpay
            .secrets()
            .find(&va.provider, Some(&va.payment_key), None)
            .await
            .unwrap()
            .unwrap();
        mock.deposit(&va.payment_key).unwrap();

        let headers = http::HeaderMap::new();
        let forged = deposit_callback("ps_forged_secret", "00001503");
        let outcome = pipeline
            .process("tosspayments", &WebhookRequest::new(&headers, forged))
            .await;
        assert_eq!(outcome.http_status(), 401, "{:?}", outcome.body());
        assert!(matches!(
            outcome,
            WebhookOutcome::Rejected(WebhookError::SecretMismatch)
        ));
        assert!(seen.lock().unwrap().is_empty());

        let genuine = deposit_callback(saved.expose(), "00001503");
        let outcome = pipeline
            .process("tosspayments", &WebhookRequest::new(&headers, genuine))
            .await;
        assert_eq!(outcome.label(), "processed", "{:?}", outcome.body());
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0].new_status, PaymentStatus::Paid);
        assert!(seen[0].reconciled);
        assert_eq!(seen[0].trust, "shared_secret");
    }

    /// A Toss pipeline whose verifier expects the relay's `x-tosspayments-signature`, with a
    /// deposited virtual account for order `00001503`; returns the secret saved at issue.
    async fn relayed() -> (WebhookPipeline, Seen, hanpay::Secret) {
        let mock = MockProvider::builder().id("tosspayments").build();
        let verifier = TossWebhookVerifier::builder()
            .webhook_secret("relay-secret")
            .without_allowlist()
            .build()
            .unwrap();
        let hanpay = Hanpay::builder()
            .provider_with_webhooks(Arc::new(mock.clone()), Arc::new(verifier))
            .build()
            .unwrap();
        let (seen, handler) = recording();
        let pipeline = WebhookPipeline::builder(hanpay.clone(), handler).build();
        let va = hanpay
            .gateway()
            .issue_virtual_account(&VirtualAccountRequest::new(
                Money::krw(390_000),
                "00001503",
                "지갑",
                "Pankaj",
                Bank::Daegu,
            ))
            .await
            .unwrap();
        let saved = hanpay
            .secrets()
            .find(&va.provider, Some(&va.payment_key), None)
            .await
            .unwrap()
            .unwrap();
        mock.deposit(&va.payment_key).unwrap();
        (pipeline, seen, saved)
    }

    /// Headers as the relay sends them: its signature over the body and a transmission id.
    fn relay_headers(body: &str, transmission_id: &str) -> http::HeaderMap {
        use base64::Engine as _;
        let signature = base64::engine::general_purpose::STANDARD.encode(
            hanpay::core::webhook::hmac_sha256(b"relay-secret", &[body.as_bytes()]),
        );
        let mut headers = http::HeaderMap::new();
        headers.insert("x-tosspayments-signature", signature.parse().unwrap());
        headers.insert(
            "tosspayments-webhook-transmission-id",
            transmission_id.parse().unwrap(),
        );
        headers
    }

    #[tokio::test]
    async fn a_relay_signed_deposit_callback_with_a_changed_secret_is_rejected() {
        let (pipeline, seen, saved) = relayed().await;
        // The relay signs whatever it forwards: its signature is valid, the secret is not.
        let forged = deposit_callback("ps_forged_secret", "00001503");
        let headers = relay_headers(&forged, "whtrans_forged");
        let outcome = pipeline
            .process(
                "tosspayments",
                &WebhookRequest::new(&headers, forged.clone()),
            )
            .await;
        assert!(
            matches!(
                outcome,
                WebhookOutcome::Rejected(WebhookError::SecretMismatch)
            ),
            "{:?}",
            outcome.body()
        );
        assert_eq!(outcome.http_status(), 401);
        assert!(seen.lock().unwrap().is_empty());

        let genuine = deposit_callback(saved.expose(), "00001503");
        let headers = relay_headers(&genuine, "whtrans_genuine");
        let outcome = pipeline
            .process(
                "tosspayments",
                &WebhookRequest::new(&headers, genuine.clone()),
            )
            .await;
        assert_eq!(outcome.label(), "processed", "{:?}", outcome.body());
        assert_eq!(seen.lock().unwrap()[0].trust, "signed");
    }

    #[tokio::test]
    async fn a_replayed_relay_signed_body_under_a_fresh_transmission_id_is_a_duplicate() {
        let (pipeline, seen, saved) = relayed().await;
        let genuine = deposit_callback(saved.expose(), "00001503");
        let deliver = |transmission_id: &'static str| {
            let pipeline = pipeline.clone();
            let body = genuine.clone();
            async move {
                let headers = relay_headers(&body, transmission_id);
                pipeline
                    .process("tosspayments", &WebhookRequest::new(&headers, body))
                    .await
            }
        };
        assert_eq!(deliver("whtrans_1").await.label(), "processed");
        // Toss's own redelivery (same id, retried-count bumped) and a replay under a new id.
        for id in ["whtrans_1", "whtrans_replayed"] {
            let outcome = deliver(id).await;
            assert!(
                matches!(outcome, WebhookOutcome::Duplicate { .. }),
                "{id}: {:?}",
                outcome.body()
            );
        }
        assert_eq!(seen.lock().unwrap().len(), 1);
        // A different event for the same payment is not a duplicate.
        let canceled = genuine.replace("\"DONE\"", "\"CANCELED\"");
        let headers = relay_headers(&canceled, "whtrans_2");
        let outcome = pipeline
            .process("tosspayments", &WebhookRequest::new(&headers, canceled))
            .await;
        assert!(
            !matches!(outcome, WebhookOutcome::Duplicate { .. }),
            "{:?}",
            outcome.body()
        );
    }

    thread_local! {
        /// Where this thread's log lines go, while a test captures them.
        static CAPTURE: std::cell::RefCell<Option<Arc<Mutex<Vec<u8>>>>> =
            const { std::cell::RefCell::new(None) };
    }

    /// Writes a log line into the capturing thread's buffer; other threads' lines are dropped.
    struct ThreadWriter;

    impl std::io::Write for ThreadWriter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            CAPTURE.with(|c| {
                if let Some(out) = &*c.borrow() {
                    out.lock().unwrap().extend_from_slice(buf);
                }
            });
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Captures the log lines written on this thread.
    ///
    /// One global DEBUG subscriber for the whole test binary: a scoped one (`set_default`) races
    /// with other tests registering the same callsites at the same time, and tracing then caches
    /// "never interested" for them, so an event goes missing now and then.
    fn capture_this_thread() -> Arc<Mutex<Vec<u8>>> {
        static INSTALL: std::sync::Once = std::sync::Once::new();
        INSTALL.call_once(|| {
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::DEBUG)
                .with_ansi(false)
                .with_writer(|| ThreadWriter)
                .finish();
            tracing::subscriber::set_global_default(subscriber).unwrap();
        });
        // Callsites first registered by another thread while the subscriber was being installed.
        tracing::callsite::rebuild_interest_cache();
        let out = Arc::new(Mutex::new(Vec::new()));
        CAPTURE.with(|c| *c.borrow_mut() = Some(Arc::clone(&out)));
        out
    }

    #[tokio::test]
    async fn one_delivery_is_logged_as_accepted_once() {
        let (pipeline, _seen, saved) = relayed().await;
        let genuine = deposit_callback(saved.expose(), "00001503");
        let headers = relay_headers(&genuine, "whtrans_log");
        let captured = capture_this_thread();
        let outcome = pipeline
            .process("tosspayments", &WebhookRequest::new(&headers, genuine))
            .await;
        assert_eq!(outcome.label(), "processed", "{:?}", outcome.body());
        let log = String::from_utf8(captured.lock().unwrap().clone()).unwrap();
        assert_eq!(log.matches("webhook accepted").count(), 1, "{log}");
        // The verifier's own record stays at debug, under another name.
        assert_eq!(log.matches("webhook verified").count(), 1, "{log}");
        assert!(!log.contains(saved.expose()), "{log}");
    }
}

#[cfg(not(feature = "tosspayments"))]
#[test]
fn a_toss_configuration_without_the_feature_says_so() {
    // Said when the configuration is read (each PG's settings are its plugin's to parse).
    let err = hanpay::HanpayConfig::from_env_with(|n| {
        (n == "TOSS_SECRET_KEY").then(|| "test_sk_x".into())
    })
    .unwrap_err();
    assert!(
        matches!(err, hanpay::ConfigError::NotCompiled { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("`tosspayments` feature"));
}

each_backend!(
    the_same_delivery_twice_calls_the_handler_once,
    a_late_waiting_for_deposit_after_paid_is_recorded_and_ignored,
    an_unsigned_event_is_reconciled_with_the_pg,
    two_events_for_one_payment_at_once_reach_the_handler_once,
    a_bad_signature_is_401_and_the_handler_is_not_called,
    a_handler_error_is_5xx_and_the_redelivery_is_processed_once,
    a_store_failure_is_5xx_then_processed,
    partial_then_full_cancel_move_along_the_table,
    dedupe_window_covers_the_redelivery_span,
);

#[cfg(feature = "tosspayments")]
use deposit_callback::a_deposit_callback_with_a_wrong_secret_is_rejected;
#[cfg(feature = "tosspayments")]
each_backend!(a_deposit_callback_with_a_wrong_secret_is_rejected);
