//! A model-based test of the webhook pipeline against both fake PGs over HTTP.
//!
//! proptest generates, per PG, random payment lifecycles (card or easy-pay approvals, manual
//! confirms, virtual accounts issued, deposited, expired or canceled before the deposit,
//! partial and full cancels, failures and session expiries), drives them at the fakes, and
//! plays the network between the fakes' webhooks and the real [`WebhookPipeline`]: every
//! delivery is kept in a pool and handed to the pipeline in a random order, after random later
//! PG actions, sometimes lost (the PG got no answer and sends it again later), sometimes sent
//! again after a 200 (a duplicate), sometimes with the handler failing (a 5xx, so the PG sends
//! it again). A delivery leaves the pool only when the pipeline answered 2xx, as the PGs stop
//! redelivering then.
//!
//! For every payment it asserts: the stored status equals the PG's; the handler's events
//! chain (each starts where the previous ended), every step is a legal move, and the last ends
//! at the PG's status; each order action happens once (confirmed once if the PG took the money,
//! canceled once if the PG canceled it, released once if it failed or expired, a deposit
//! awaited once for a virtual account, a partial refund at most once per partial cancel).
//!
//! `HANPAY_MODEL_CASES` sets the payments per PG (default 300), `HANPAY_MODEL_SEED` the seed.
//! The figures are printed as one `model:` line (`cargo test -- --nocapture` shows it).
//!
//! [`WebhookPipeline`]: hanpay::WebhookPipeline

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use hanpay::{
    Bank, CancelRequest, ConfirmRequest, Money, OrderAction, PaymentProvider, PaymentStatus,
    RefundAccount, VirtualAccountRequest,
};
use hanpay_testkit::fake_portone::PayMethod;
use hanpay_testkit::fake_toss::SessionMethod;
use hanpay_testkit::inbox::Received;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use crate::live::{event_type, Live};

/// Payments per PG in one generated case (each case gets fresh fakes and a fresh pipeline).
const PER_CASE: usize = 10;
const AMOUNT: i64 = 30_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pg {
    Toss,
    PortOne,
}

impl Pg {
    fn provider(self) -> &'static str {
        match self {
            Pg::Toss => "tosspayments",
            Pg::PortOne => "portone",
        }
    }
}

/// One thing the customer, the merchant or the PG does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    /// PortOne: paid in the browser, approved at once (`Transaction.Ready`, `.Paid`).
    PortOnePay,
    /// PortOne: authenticated on a manual-confirm channel (`Transaction.Ready`).
    PortOneAuthenticate,
    /// PortOne: the merchant confirms the authenticated payment (`Transaction.Paid`).
    PortOneConfirm,
    /// PortOne: the PG fails the payment (`Transaction.Failed`).
    PortOneFail,
    /// Toss: the customer authenticated a card (`IN_PROGRESS`, no webhook).
    TossSession,
    /// Toss: the merchant confirms (`DONE`).
    TossConfirm,
    /// Toss: the confirm window passes (`EXPIRED`).
    TossExpire,
    /// A virtual account is issued.
    IssueVirtualAccount,
    /// Toss: the deposit deadline passes (the status stays, no webhook).
    TossDepositDeadline,
    /// The customer deposits.
    Deposit,
    /// The merchant refunds part of it.
    PartialCancel(i64),
    /// The merchant cancels the rest (or a waiting virtual account).
    FullCancel,
}

/// A payment's whole life at the PG.
#[derive(Debug, Clone)]
struct Life {
    pg: Pg,
    acts: Vec<Act>,
}

fn cancels() -> impl Strategy<Value = Vec<Act>> {
    (prop::collection::vec(1i64..=5, 0..=2), any::<bool>()).prop_map(|(parts, full)| {
        let mut acts: Vec<Act> = parts
            .into_iter()
            .map(|k| Act::PartialCancel(k * 1_000))
            .collect();
        if full {
            acts.push(Act::FullCancel);
        }
        acts
    })
}

fn portone_life() -> impl Strategy<Value = Life> {
    let card = cancels().prop_map(|c| [vec![Act::PortOnePay], c].concat());
    let manual = prop_oneof![
        1 => Just(vec![Act::PortOneAuthenticate]),
        1 => Just(vec![Act::PortOneAuthenticate, Act::PortOneFail]),
        2 => cancels()
            .prop_map(|c| [vec![Act::PortOneAuthenticate, Act::PortOneConfirm], c].concat()),
    ];
    let va = (any::<bool>(), cancels()).prop_map(|(deposit, c)| {
        let mut acts = vec![Act::IssueVirtualAccount];
        if deposit {
            acts.push(Act::Deposit);
            acts.extend(c);
        }
        acts
    });
    prop_oneof![3 => card, 1 => manual, 2 => va].prop_map(|acts| Life {
        pg: Pg::PortOne,
        acts,
    })
}

fn toss_life() -> impl Strategy<Value = Life> {
    let card = prop_oneof![
        1 => Just(vec![Act::TossSession, Act::TossExpire]),
        4 => cancels().prop_map(|c| [vec![Act::TossSession, Act::TossConfirm], c].concat()),
    ];
    let va = prop_oneof![
        1 => Just(vec![Act::IssueVirtualAccount]),
        1 => Just(vec![Act::IssueVirtualAccount, Act::TossDepositDeadline]),
        1 => Just(vec![Act::IssueVirtualAccount, Act::FullCancel]),
        3 => cancels().prop_map(|c| [vec![Act::IssueVirtualAccount, Act::Deposit], c].concat()),
    ];
    prop_oneof![3 => card, 2 => va].prop_map(|acts| Life { pg: Pg::Toss, acts })
}

/// One generated case: `PER_CASE` lives per PG and the dice that play the network.
#[derive(Debug, Clone)]
struct Case {
    lives: Vec<Life>,
    dice: Vec<u16>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(toss_life(), PER_CASE),
        prop::collection::vec(portone_life(), PER_CASE),
        prop::collection::vec(any::<u16>(), 256),
    )
        .prop_map(|(toss, portone, dice)| Case {
            lives: toss.into_iter().chain(portone).collect(),
            dice,
        })
}

/// What the network and the test counted.
#[derive(Debug, Default)]
struct Figures {
    payments: usize,
    pg_actions: usize,
    webhooks: usize,
    deliveries: usize,
    reorders: usize,
    late: usize,
    duplicates: usize,
    lost: usize,
    handler_failures: usize,
    skipping_events: usize,
    wrong_final_states: usize,
    wrong_toss: usize,
    wrong_portone: usize,
    failed_payments: usize,
}

/// A webhook on its way: kept until the pipeline answers 2xx.
struct InFlight {
    delivery: Received,
    /// Sent before this payment's latest PG action.
    sent_before: usize,
    seq: usize,
    lost: u8,
    handler_failed: u8,
    /// Already answered 2xx once: this is the PG sending it again.
    duplicate: bool,
}

struct Payment {
    life: Life,
    order_id: String,
    key: Option<String>,
    /// PortOne's `paymentToken` for a manual confirm.
    token: Option<String>,
    acts: VecDeque<Act>,
    done_acts: usize,
    in_flight: Vec<InFlight>,
    trace: Vec<String>,
}

struct Dice<'a> {
    dice: &'a [u16],
    at: usize,
}

impl Dice<'_> {
    fn roll(&mut self, sides: usize) -> usize {
        let value =
            self.dice[self.at % self.dice.len()].wrapping_add((self.at / self.dice.len()) as u16);
        self.at += 1;
        usize::from(value) % sides.max(1)
    }
}

fn refund_account() -> RefundAccount {
    RefundAccount::new(Bank::Shinhan, "1102147270", "윤한빈").unwrap()
}

async fn act(live: &Live, payment: &mut Payment, act: Act) {
    let provider = payment.life.pg.provider();
    let gateway = live.hanpay.gateway_for(provider).unwrap();
    let order = payment.order_id.clone();
    let key = payment.key.clone().unwrap_or_else(|| order.clone());
    let is_va = payment.life.acts.contains(&Act::IssueVirtualAccount);
    let deposited = payment.life.acts.contains(&Act::Deposit);
    let refund = |request: CancelRequest| {
        if is_va && deposited {
            request.refund_to(refund_account())
        } else {
            request
        }
    };
    match (payment.life.pg, act) {
        (Pg::PortOne, Act::PortOnePay) => live
            .portone
            .pay(&order, AMOUNT, "KRW", "셔츠", PayMethod::Card)
            .unwrap(),
        (Pg::PortOne, Act::PortOneAuthenticate) => {
            payment.token = Some(
                live.portone
                    .authenticate(
                        &order,
                        AMOUNT,
                        "KRW",
                        "셔츠",
                        PayMethod::EasyPay("KAKAOPAY".into()),
                    )
                    .unwrap(),
            );
        }
        (Pg::PortOne, Act::PortOneConfirm) => {
            let token = payment.token.clone().unwrap_or_default();
            gateway
                .confirm(
                    &ConfirmRequest::new(&key, &order, Money::krw(AMOUNT)).payment_token(token),
                )
                .await
                .unwrap();
        }
        (Pg::PortOne, Act::PortOneFail) => live
            .portone
            .fail_payment(&order, "한도 초과", "LIMIT_EXCEEDED")
            .unwrap(),
        (Pg::PortOne, Act::IssueVirtualAccount) => {
            live.portone
                .issue_virtual_account(&order, AMOUNT, "KRW", "셔츠", "SHINHAN")
                .unwrap();
        }
        (Pg::PortOne, Act::Deposit) => live.portone.deposit(&order).unwrap(),
        (Pg::Toss, Act::TossSession) => {
            payment.key = Some(
                live.toss
                    .create_session(&order, AMOUNT, SessionMethod::Card)
                    .unwrap(),
            );
        }
        (Pg::Toss, Act::TossConfirm) => {
            gateway
                .confirm(&ConfirmRequest::new(&key, &order, Money::krw(AMOUNT)))
                .await
                .unwrap();
        }
        (Pg::Toss, Act::TossExpire | Act::TossDepositDeadline) => {
            live.toss.expire_session(&key).unwrap();
        }
        (Pg::Toss, Act::IssueVirtualAccount) => {
            let va = gateway
                .issue_virtual_account(&VirtualAccountRequest::new(
                    Money::krw(AMOUNT),
                    &order,
                    "셔츠",
                    "김토스",
                    Bank::Shinhan,
                ))
                .await
                .unwrap();
            payment.key = Some(va.payment_key);
        }
        (Pg::Toss, Act::Deposit) => live.toss.deposit(&key).unwrap(),
        (_, Act::PartialCancel(amount)) => {
            gateway
                .cancel(&refund(CancelRequest::partial(
                    &key,
                    "부분 환불",
                    Money::krw(amount),
                )))
                .await
                .unwrap();
        }
        (_, Act::FullCancel) => {
            gateway
                .cancel(&refund(CancelRequest::full(&key, "고객 변심")))
                .await
                .unwrap();
        }
        (pg, other) => panic!("{other:?} is not generated for {pg:?}"),
    }
}

/// Runs one case; returns a report of each payment that broke the model.
async fn run_case(case_no: usize, case: &Case, figures: &mut Figures) -> Vec<String> {
    let mut live = Live::start().await;
    let mut dice = Dice {
        dice: &case.dice,
        at: 0,
    };
    let mut payments: Vec<Payment> = case
        .lives
        .iter()
        .enumerate()
        .map(|(i, life)| Payment {
            life: life.clone(),
            order_id: format!("model-{case_no:05}-{i:02}"),
            key: None,
            token: None,
            acts: life.acts.iter().copied().collect(),
            done_acts: 0,
            in_flight: Vec::new(),
            trace: Vec::new(),
        })
        .collect();
    figures.payments += payments.len();
    let mut seq = 0;
    let mut steps = 0;
    loop {
        let busy: Vec<usize> = (0..payments.len())
            .filter(|&i| !payments[i].acts.is_empty() || !payments[i].in_flight.is_empty())
            .collect();
        if busy.is_empty() {
            break;
        }
        steps += 1;
        assert!(steps < 20_000, "the model does not terminate");
        let p = &mut payments[busy[dice.roll(busy.len())]];
        let do_act = !p.acts.is_empty() && (p.in_flight.is_empty() || dice.roll(3) == 0);
        if do_act {
            let next = p.acts.pop_front().unwrap_or(Act::FullCancel);
            act(&live, p, next).await;
            let new = live.new_deliveries().await;
            p.trace.push(format!("pg {next:?}"));
            p.done_acts += 1;
            figures.pg_actions += 1;
            for delivery in new {
                p.trace.push(format!("sent {}", event_type(&delivery)));
                figures.webhooks += 1;
                seq += 1;
                p.in_flight.push(InFlight {
                    delivery,
                    sent_before: p.done_acts,
                    seq,
                    lost: 0,
                    handler_failed: 0,
                    duplicate: false,
                });
            }
            continue;
        }
        let i = dice.roll(p.in_flight.len());
        let fate = dice.roll(10);
        let flight = &mut p.in_flight[i];
        let name = event_type(&flight.delivery);
        if fate == 0 && flight.lost < 2 {
            flight.lost += 1;
            figures.lost += 1;
            p.trace.push(format!("lost {name}"));
            continue;
        }
        let fail_handler = fate == 1 && flight.handler_failed < 2;
        live.recorder
            .fail_next
            .store(fail_handler, Ordering::SeqCst);
        let failures_before = live.recorder.failures.load(Ordering::SeqCst);
        let outcome = live.deliver(&flight.delivery).await;
        live.recorder.fail_next.store(false, Ordering::SeqCst);
        let handler_failed = live.recorder.failures.load(Ordering::SeqCst) > failures_before;
        figures.deliveries += 1;
        if flight.duplicate {
            figures.duplicates += 1;
        }
        let oldest = p.in_flight.iter().map(|f| f.seq).min().unwrap_or(0);
        let flight = &mut p.in_flight[i];
        if flight.seq > oldest {
            figures.reorders += 1;
        }
        if flight.sent_before < p.done_acts {
            figures.late += 1;
        }
        p.trace.push(format!(
            "deliver {name}{} -> {} {}",
            if flight.duplicate { " (again)" } else { "" },
            outcome.http_status(),
            outcome.body()
        ));
        if handler_failed {
            figures.handler_failures += 1;
            flight.handler_failed += 1;
            assert_eq!(outcome.http_status(), 500);
            continue;
        }
        if !(200..300).contains(&outcome.http_status()) {
            continue;
        }
        // Answered: the PG stops, but sometimes sends it once more anyway.
        if !flight.duplicate && fate == 2 {
            flight.duplicate = true;
        } else {
            p.in_flight.remove(i);
        }
    }

    let events = live.events();
    let mut reports = Vec::new();
    for p in &payments {
        let provider = p.life.pg.provider();
        let key = p.key.clone().unwrap_or_else(|| p.order_id.clone());
        let pg = live.pg(provider, &key).await;
        let stored = live.stored(provider, &key).await;
        let mine: Vec<_> = events
            .iter()
            .filter(|e| e.provider.as_str() == provider && e.payment_key == key)
            .collect();
        figures.skipping_events += mine.iter().filter(|e| !e.skipped.is_empty()).count();
        let mut problems = Vec::new();
        if stored != Some(pg.status) {
            figures.wrong_final_states += 1;
            match p.life.pg {
                Pg::Toss => figures.wrong_toss += 1,
                Pg::PortOne => figures.wrong_portone += 1,
            }
            problems.push(format!("stored {stored:?}, the PG says {}", pg.status));
        }
        let mut at: Option<PaymentStatus> = None;
        for event in &mine {
            if event.old_status != at {
                problems.push(format!(
                    "an event starts at {:?}, the previous one ended at {at:?}",
                    event.old_status
                ));
            }
            for (from, to) in event.steps() {
                if from.is_some_and(|f| !f.can_move_to(to)) {
                    problems.push(format!("step {from:?} -> {to} is no legal move"));
                }
            }
            at = Some(event.new_status);
        }
        if at != Some(pg.status) {
            problems.push(format!(
                "the handler's last status is {at:?}, the PG's {}",
                pg.status
            ));
        }
        let count = |wanted: &[OrderAction]| {
            mine.iter()
                .flat_map(|e| e.actions.iter())
                .filter(|a| wanted.contains(a))
                .count()
        };
        let confirms = count(&[
            OrderAction::ConfirmOrder,
            OrderAction::ConfirmVirtualAccountOrder,
        ]);
        let expected = [
            ("confirm", confirms, usize::from(pg.approved_at.is_some())),
            (
                "cancel",
                count(&[OrderAction::CancelOrder]),
                usize::from(pg.status == PaymentStatus::Canceled),
            ),
            (
                "release",
                count(&[OrderAction::FailOrder]),
                usize::from(matches!(
                    pg.status,
                    PaymentStatus::Failed | PaymentStatus::Expired
                )),
            ),
            (
                "await deposit",
                count(&[OrderAction::AwaitDeposit]),
                usize::from(pg.virtual_account().is_some()),
            ),
            ("hold", count(&[OrderAction::HoldOrder]), 0),
        ];
        for (what, got, want) in expected {
            if got != want {
                problems.push(format!("{what}: {got} times, expected {want}"));
            }
        }
        let partials = p
            .life
            .acts
            .iter()
            .filter(|a| matches!(a, Act::PartialCancel(_)))
            .count();
        let refunds = count(&[OrderAction::RecordPartialRefund]);
        if refunds > partials {
            problems.push(format!(
                "partial refund recorded {refunds} times for {partials} partial cancels"
            ));
        }
        if let Some(last) = mine.last().filter(|e| e.reconciled) {
            if last.canceled.as_ref() != Some(&pg.canceled) {
                problems.push(format!(
                    "the handler last saw {:?} canceled, the PG says {:?}",
                    last.canceled, pg.canceled
                ));
            }
        }
        if !problems.is_empty() {
            figures.failed_payments += 1;
            let mut report = format!(
                "{} {} {:?}\n  problems: {}\n  events:",
                provider,
                p.order_id,
                p.life.acts,
                problems.join("; ")
            );
            for e in &mine {
                let _ = write!(
                    report,
                    "\n    {:?} -> {:?} -> {} {:?}",
                    e.old_status, e.skipped, e.new_status, e.actions
                );
            }
            let _ = write!(report, "\n  trace:\n    {}", p.trace.join("\n    "));
            reports.push(report);
        }
    }
    reports
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_lifecycles_converge_to_the_pgs_truth() {
    let per_pg = env_number("HANPAY_MODEL_CASES", 300) as usize;
    let seed = env_number("HANPAY_MODEL_SEED", 0x6861_6e70_6179);
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let strategy = case();
    let mut figures = Figures::default();
    let mut reports = Vec::new();
    for case_no in 0..per_pg.div_ceil(PER_CASE) {
        let case = strategy.new_tree(&mut runner).unwrap().current();
        reports.extend(run_case(case_no, &case, &mut figures).await);
    }
    println!(
        "model: seed {seed}; {} payments ({per_pg}+ per PG), {} PG actions, {} webhooks sent, \
         {} deliveries: {} reordered, {} after a later PG action, {} duplicates, {} lost then \
         redelivered, {} handler failures; {} events skipped states; {} wrong final states \
         (Toss {}, PortOne {}), {} payments broke the model",
        figures.payments,
        figures.pg_actions,
        figures.webhooks,
        figures.deliveries,
        figures.reorders,
        figures.late,
        figures.duplicates,
        figures.lost,
        figures.handler_failures,
        figures.skipping_events,
        figures.wrong_final_states,
        figures.wrong_toss,
        figures.wrong_portone,
        figures.failed_payments,
    );
    assert!(
        reports.is_empty(),
        "{} of {} payments broke the model ({} wrong final states); the first:\n{}",
        reports.len(),
        figures.payments,
        figures.wrong_final_states,
        reports
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
