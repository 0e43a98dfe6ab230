//! A model-based test of the webhook pipeline against every registered fake PG over HTTP
//! ([`hanpay::sandbox::fakes()`]: a new PG's fake is picked up without an edit here).
//!
//! proptest generates, per PG, random payment lifecycles from PG-neutral acts: a card
//! authenticated and confirmed, or failed or expired by the PG and perhaps approved late; a
//! virtual account issued (by the facade, or chosen in the PG's payment window), deposited,
//! left waiting, expired, failed by the PG (and perhaps approved late), canceled before the
//! deposit, or deposited and then reversed (and deposited again, or failed); partial and full
//! cancels. An act the PG's fake cannot play ([`RunningFake::scenario_support`]) is never
//! generated for it; which acts were skipped, and why, is printed per PG.
//!
//! The test plays the network between the fakes' webhooks and the real [`WebhookPipeline`]:
//! every delivery is kept in a pool and handed to the pipeline in a random order, after random
//! later PG actions, sometimes lost, sometimes sent again after a 200 (a duplicate), sometimes
//! with the handler failing (a 5xx). For a PG that redelivers, a lost or failed delivery comes
//! again later, and a delivery leaves the pool only when the pipeline answered 2xx. For a PG
//! that never redelivers (its verifier's schedule has no resends, e.g. NICEPAY), a lost or
//! failed delivery is gone for good, and nothing is sent twice. After all deliveries, one
//! [`Reconciler`] pass re-checks what it re-checks.
//!
//! For every payment it then asserts: the stored status equals the PG's; the handler's events
//! chain (each starts where the previous ended), every step is a legal move, and the last ends
//! at the PG's status; each order action happens once: the money taken (confirmed, confirmed
//! by deposit, or revived by a late approval) once more than it was held back by a reversed
//! deposit, exactly when the PG took it; canceled once if the PG canceled it; released once
//! more than revived, exactly when it ended failed or expired; a deposit awaited once for a
//! virtual account; a hold at most once per reversal, a revival at most once per late
//! approval, a partial refund at most once per partial cancel.
//!
//! `HANPAY_MODEL_CASES` sets the payments per PG (default 300), `HANPAY_MODEL_SEED` the seed,
//! `HANPAY_MODEL_BACKEND` the store (`memory`, `sqlite`, `postgres`). The figures are printed
//! as one `model:` line with a part per PG (`cargo test -- --nocapture` shows it).
//!
//! [`WebhookPipeline`]: hanpay::WebhookPipeline
//! [`Reconciler`]: hanpay::Reconciler
//! [`RunningFake::scenario_support`]: hanpay::sandbox::kit::sandbox::RunningFake::scenario_support

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::Duration;

use hanpay::core::Capability;
use hanpay::sandbox::kit::sandbox::Scenario;
use hanpay::{
    Bank, CancelRequest, ConfirmRequest, ErrorKind, Money, OrderAction, PaymentProvider,
    PaymentStatus, RefundAccount, VirtualAccountRequest,
};
use hanpay_testkit::inbox::Received;
use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Union, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use crate::live::{event_type, Live};

/// Payments per PG in one generated case (each case gets fresh fakes and a fresh pipeline).
const PER_CASE: usize = 10;
const AMOUNT: i64 = 30_000;

/// One thing the customer, the merchant or the PG does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    /// The customer authenticates a card payment (the fake's `authenticate_card`).
    Authenticate,
    /// The merchant confirms it.
    Confirm,
    /// A virtual account is issued: by the facade, or chosen in the window and confirmed.
    OpenAccount,
    /// The customer deposits.
    Deposit,
    /// The PG fails, expires, approves late or reverses (the fake's `play`).
    Pg(Scenario),
    /// The merchant refunds part of it.
    PartialCancel(i64),
    /// The merchant cancels the rest (or a waiting virtual account).
    FullCancel,
}

/// How a PG's virtual accounts are issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Accounts {
    /// `issue_virtual_account` through the facade.
    Facade,
    /// Chosen in the payment window, then confirmed by the merchant.
    Window,
    /// Not at all.
    None,
}

/// What one PG's fake and facade can do, found once.
#[derive(Debug, Clone)]
struct Profile {
    id: &'static str,
    supported: Vec<Scenario>,
    /// `act: why not`, for the acts never generated for this PG.
    skipped: Vec<String>,
    accounts: Accounts,
    /// The PG redelivers a webhook that was not answered 2xx.
    resends: bool,
}

impl Profile {
    fn can(&self, scenario: Scenario) -> bool {
        self.supported.contains(&scenario)
    }
}

fn profiles(live: &Live) -> Vec<Profile> {
    live.fakes
        .iter()
        .map(|fake| {
            let id = fake.id();
            let mut supported = Vec::new();
            let mut skipped = Vec::new();
            for scenario in Scenario::ALL {
                match fake.scenario_support(scenario) {
                    Ok(()) => supported.push(scenario),
                    Err(why) => skipped.push(format!("{scenario:?}: {why}")),
                }
            }
            let gateway = live.hanpay.gateway_for(id).unwrap();
            let accounts = if gateway
                .provider()
                .capabilities()
                .contains(Capability::VirtualAccounts)
            {
                Accounts::Facade
            } else {
                match fake.virtual_account_in_window() {
                    Ok(()) => Accounts::Window,
                    Err(why) => {
                        skipped.push(format!("virtual accounts: {why}"));
                        Accounts::None
                    }
                }
            };
            let resends = live
                .hanpay
                .verifier(id)
                .map(|v| v.redelivery().resends() > 0)
                .unwrap_or(false);
            Profile {
                id,
                supported,
                skipped,
                accounts,
                resends,
            }
        })
        .collect()
}

fn cancels() -> BoxedStrategy<Vec<Act>> {
    (prop::collection::vec(1i64..=5, 0..=2), any::<bool>())
        .prop_map(|(parts, full)| {
            let mut acts: Vec<Act> = parts
                .into_iter()
                .map(|k| Act::PartialCancel(k * 1_000))
                .collect();
            if full {
                acts.push(Act::FullCancel);
            }
            acts
        })
        .boxed()
}

/// After a failure or expiry: nothing more, or (where the PG can) a late approval, perhaps
/// canceled after.
fn after_failure(profile: &Profile) -> BoxedStrategy<Vec<Act>> {
    if !profile.can(Scenario::ApproveLate) {
        return Just(Vec::new()).boxed();
    }
    prop_oneof![
        1 => Just(Vec::new()),
        2 => cancels().prop_map(|c| [vec![Act::Pg(Scenario::ApproveLate)], c].concat()),
    ]
    .boxed()
}

/// After a reversed deposit: waiting again; deposited again (perhaps canceled after); or
/// failed by the PG.
fn after_reversal(profile: &Profile) -> BoxedStrategy<Vec<Act>> {
    let mut options: Vec<(u32, BoxedStrategy<Vec<Act>>)> = vec![
        (1, Just(Vec::new()).boxed()),
        (
            2,
            cancels()
                .prop_map(|c| [vec![Act::Deposit], c].concat())
                .boxed(),
        ),
    ];
    if profile.can(Scenario::FailWaitingAccount) {
        options.push((1, Just(vec![Act::Pg(Scenario::FailWaitingAccount)]).boxed()));
    }
    Union::new_weighted(options).boxed()
}

/// One payment's whole life at the PG, from the acts `profile` can play.
fn life(profile: &Profile) -> BoxedStrategy<Vec<Act>> {
    use Act::*;
    let prefixed = |prefix: Vec<Act>, tail: BoxedStrategy<Vec<Act>>| {
        tail.prop_map(move |t| [prefix.clone(), t].concat()).boxed()
    };
    let mut options: Vec<(u32, BoxedStrategy<Vec<Act>>)> =
        vec![(6, prefixed(vec![Authenticate, Confirm], cancels()))];
    for failure in [Scenario::FailPayment, Scenario::ExpirePayment] {
        if profile.can(failure) {
            options.push((
                1,
                prefixed(vec![Authenticate, Pg(failure)], after_failure(profile)),
            ));
        }
    }
    if profile.accounts != Accounts::None {
        options.push((1, Just(vec![OpenAccount]).boxed()));
        options.push((1, Just(vec![OpenAccount, FullCancel]).boxed()));
        options.push((3, prefixed(vec![OpenAccount, Deposit], cancels())));
        if profile.can(Scenario::ExpireWaitingAccount) {
            let expire = vec![OpenAccount, Pg(Scenario::ExpireWaitingAccount)];
            options.push((1, Just(expire).boxed()));
        }
        if profile.can(Scenario::FailWaitingAccount) {
            options.push((
                1,
                prefixed(
                    vec![OpenAccount, Pg(Scenario::FailWaitingAccount)],
                    after_failure(profile),
                ),
            ));
        }
        if profile.can(Scenario::ReverseDeposit) {
            options.push((
                2,
                prefixed(
                    vec![OpenAccount, Deposit, Pg(Scenario::ReverseDeposit)],
                    after_reversal(profile),
                ),
            ));
        }
    }
    Union::new_weighted(options).boxed()
}

/// One generated case: `PER_CASE` lives per PG (in the order of the profiles) and the dice
/// that play the network.
#[derive(Debug, Clone)]
struct Case {
    lives: Vec<Vec<Vec<Act>>>,
    dice: Vec<u16>,
}

fn case(profiles: &[Profile]) -> impl Strategy<Value = Case> {
    let per_pg: Vec<_> = profiles
        .iter()
        .map(|p| prop::collection::vec(life(p), PER_CASE))
        .collect();
    (per_pg, prop::collection::vec(any::<u16>(), 256))
        .prop_map(|(lives, dice)| Case { lives, dice })
}

/// What the network and the test counted for one PG.
#[derive(Debug, Default)]
struct Figures {
    payments: usize,
    pg_actions: usize,
    webhooks: usize,
    deliveries: usize,
    reorders: usize,
    late: usize,
    duplicates: usize,
    lost_redelivered: usize,
    lost_for_good: usize,
    handler_failures: usize,
    late_approvals: usize,
    reversals: usize,
    skipping_events: usize,
    reconciler_checked: usize,
    reconciler_moved: usize,
    /// Each payment whose stored status (or, last seen by the handler, canceled amount) differs
    /// from the PG's after the reconciler, by what differs.
    stranded: BTreeMap<String, usize>,
    /// Stranded where the stored status is one today's reconciler does not re-check.
    stranded_awaiting_reconciler: usize,
    /// Stranded where the PG's status is not reachable from the stored one.
    unreachable: usize,
    failed_payments: usize,
    /// Acts the PG refused as a rule, by why.
    refused: BTreeMap<String, usize>,
}

impl Figures {
    fn stranded(&self) -> usize {
        self.stranded.values().sum()
    }
}

/// A webhook on its way: kept until the pipeline answers 2xx (or lost for good).
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
    pg: usize,
    life: Vec<Act>,
    order_id: String,
    key: Option<String>,
    acts: VecDeque<Act>,
    done_acts: usize,
    in_flight: Vec<InFlight>,
    trace: Vec<String>,
}

impl Payment {
    fn key(&self) -> String {
        self.key.clone().unwrap_or_else(|| self.order_id.clone())
    }

    fn count(&self, wanted: Act) -> usize {
        self.life.iter().filter(|a| **a == wanted).count()
    }
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

/// Plays `act`; returns why the PG refused it when it refuses an act as a rule (not a bug).
async fn act(live: &Live, profile: &Profile, payment: &mut Payment, act: Act) -> Option<String> {
    let gateway = live.hanpay.gateway_for(profile.id).unwrap();
    let fake = live.fake(profile.id);
    let amount = Money::krw(AMOUNT);
    let order = payment.order_id.clone();
    let key = payment.key();
    // A virtual account the money went into needs a refund account to be canceled.
    let deposited = payment.life.contains(&Act::OpenAccount)
        && (payment.life.contains(&Act::Deposit)
            || payment.life.contains(&Act::Pg(Scenario::ApproveLate)));
    let refund = |request: CancelRequest| {
        if deposited {
            request.refund_to(refund_account())
        } else {
            request
        }
    };
    match act {
        Act::Authenticate => {
            payment.key = Some(fake.authenticate_card(&order, &amount).await.unwrap());
        }
        Act::Confirm => {
            gateway
                .confirm(&ConfirmRequest::new(&key, &order, amount))
                .await
                .unwrap();
        }
        Act::OpenAccount => match profile.accounts {
            Accounts::Facade => {
                let va = gateway
                    .issue_virtual_account(&VirtualAccountRequest::new(
                        amount,
                        &order,
                        "셔츠",
                        "김토스",
                        Bank::Shinhan,
                    ))
                    .await
                    .unwrap();
                payment.key = Some(va.payment_key);
            }
            Accounts::Window => {
                let key = fake.authenticate_virtual_account(&order, &amount).unwrap();
                let issued = gateway
                    .confirm(&ConfirmRequest::new(&key, &order, amount))
                    .await
                    .unwrap();
                assert_eq!(issued.status, PaymentStatus::WaitingForDeposit);
                payment.key = Some(key);
            }
            Accounts::None => panic!("no virtual account is generated for {}", profile.id),
        },
        Act::Deposit => {
            let current = gateway.payment(&key).await.unwrap();
            fake.deposit(&current).await.unwrap();
        }
        Act::Pg(scenario) => fake
            .play(scenario, &key)
            .unwrap_or_else(|e| panic!("{} {scenario:?} on {key}: {e}", profile.id)),
        Act::PartialCancel(part) => {
            gateway
                .cancel(&refund(CancelRequest::partial(
                    &key,
                    "부분 환불",
                    Money::krw(part),
                )))
                .await
                .unwrap();
        }
        Act::FullCancel => {
            let canceled = gateway
                .cancel(&refund(CancelRequest::full(&key, "고객 변심")))
                .await;
            match canceled {
                // Some PGs do not cancel a waiting virtual account (PortOne closes it
                // instead): the PG's refusal is the act's outcome; nothing changes.
                Err(e) if !deposited && e.kind() == ErrorKind::NotCancelable => {
                    return Some(format!("FullCancel of a waiting virtual account: {e}"));
                }
                other => {
                    other.unwrap();
                }
            }
        }
    }
    None
}

/// The reports of the payments that broke the model, by why.
#[derive(Default)]
struct Broken {
    /// Stranded at a stored status today's reconciler does not re-check, from which the PG's
    /// status is reachable: the reconciler change of issue 18 converges them.
    awaiting_reconciler: Vec<String>,
    /// Stranded at a stored status from which the PG's is not reachable through legal moves
    /// (e.g. `Paid` → `Failed`: a reversed deposit, then a failed account, two moves on the
    /// PG's word in a row): no reconciler pass can apply it.
    unreachable: Vec<String>,
    /// Anything else.
    other: Vec<String>,
}

/// Runs one case; returns the reports of the payments that broke the model.
async fn run_case(
    case_no: usize,
    case: &Case,
    profiles: &[Profile],
    figures: &mut [Figures],
) -> Broken {
    let mut live = Live::start().await;
    let mut dice = Dice {
        dice: &case.dice,
        at: 0,
    };
    let mut payments: Vec<Payment> = Vec::new();
    for (pg, lives) in case.lives.iter().enumerate() {
        for (i, life) in lives.iter().enumerate() {
            payments.push(Payment {
                pg,
                life: life.clone(),
                order_id: format!("model-{case_no:05}-{pg}-{i:02}"),
                key: None,
                acts: life.iter().copied().collect(),
                done_acts: 0,
                in_flight: Vec::new(),
                trace: Vec::new(),
            });
            figures[pg].payments += 1;
        }
    }
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
        assert!(steps < 40_000, "the model does not terminate");
        let p = &mut payments[busy[dice.roll(busy.len())]];
        let profile = &profiles[p.pg];
        let fig = &mut figures[p.pg];
        let do_act = !p.acts.is_empty() && (p.in_flight.is_empty() || dice.roll(3) == 0);
        if do_act {
            let next = p.acts.pop_front().unwrap_or(Act::FullCancel);
            let refused = act(&live, profile, p, next).await;
            let mut new = live.new_deliveries().await;
            // The inbox receives an act's webhooks in any order: sorted, a seed replays.
            new.sort_by_cached_key(|d| (event_type(d), d.body.clone()));
            p.trace.push(format!("pg {next:?}"));
            if let Some(why) = refused {
                p.trace.push(format!("refused: {why}"));
                let why = why.split(": ").take(4).collect::<Vec<_>>().join(": ");
                *fig.refused.entry(why).or_default() += 1;
            }
            p.done_acts += 1;
            fig.pg_actions += 1;
            match next {
                Act::Pg(Scenario::ApproveLate) => fig.late_approvals += 1,
                Act::Pg(Scenario::ReverseDeposit) => fig.reversals += 1,
                _ => {}
            }
            for delivery in new {
                assert_eq!(delivery.name, profile.id, "a webhook of another PG");
                p.trace.push(format!("sent {}", event_type(&delivery)));
                fig.webhooks += 1;
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
        if fate == 0 && (flight.lost < 2 || !profile.resends) {
            if profile.resends {
                flight.lost += 1;
                fig.lost_redelivered += 1;
                p.trace.push(format!("lost {name} (sent again later)"));
            } else {
                fig.lost_for_good += 1;
                p.trace.push(format!("lost {name} for good"));
                p.in_flight.remove(i);
            }
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
        fig.deliveries += 1;
        if flight.duplicate {
            fig.duplicates += 1;
        }
        let oldest = p.in_flight.iter().map(|f| f.seq).min().unwrap_or(0);
        let flight = &mut p.in_flight[i];
        if flight.seq > oldest {
            fig.reorders += 1;
        }
        if flight.sent_before < p.done_acts {
            fig.late += 1;
        }
        p.trace.push(format!(
            "deliver {name}{} -> {} {}",
            if flight.duplicate { " (again)" } else { "" },
            outcome.http_status(),
            outcome.body()
        ));
        if handler_failed {
            fig.handler_failures += 1;
            flight.handler_failed += 1;
            assert_eq!(outcome.http_status(), 500);
        }
        if !(200..300).contains(&outcome.http_status()) {
            if !profile.resends {
                // Not answered 2xx, and the PG never sends it again.
                fig.lost_for_good += 1;
                p.trace.push(format!("{name} not redelivered"));
                p.in_flight.remove(i);
            }
            continue;
        }
        // Answered: the PG stops, but one that redelivers sometimes sends it once more anyway.
        if profile.resends && !flight.duplicate && fate == 2 {
            flight.duplicate = true;
        } else {
            p.in_flight.remove(i);
        }
    }

    let report = hanpay::Reconciler::new(live.pipeline.clone())
        .unchanged_for(Duration::ZERO)
        .per_pg_per_second(1000)
        .batch(10_000)
        .run_once()
        .await
        .unwrap();
    // The report is not per PG: counted on the first PG's figures only.
    figures[0].reconciler_checked += report.checked;
    figures[0].reconciler_moved += report.moved;

    let events = live.events();
    let mut broken = Vec::new();
    let mut awaiting = Vec::new();
    let mut unreachable_reports = Vec::new();
    for p in &payments {
        let provider = profiles[p.pg].id;
        let fig = &mut figures[p.pg];
        let key = p.key();
        let pg = live.pg(provider, &key).await;
        let stored = live.stored(provider, &key).await;
        let mine: Vec<_> = events
            .iter()
            .filter(|e| e.provider.as_str() == provider && e.payment_key == key)
            .collect();
        fig.skipping_events += mine.iter().filter(|e| !e.skipped.is_empty()).count();
        // Problems of the handler's own story, whatever the final state.
        let mut chain = Vec::new();
        // Problems of not having converged to the PG's truth.
        let mut convergence = Vec::new();
        if stored != Some(pg.status) {
            *fig.stranded
                .entry(format!("{stored:?} at the PG's {}", pg.status))
                .or_default() += 1;
            convergence.push(format!("stored {stored:?}, the PG says {}", pg.status));
        }
        let mut at: Option<PaymentStatus> = None;
        for event in &mine {
            if event.old_status != at {
                chain.push(format!(
                    "an event starts at {:?}, the previous one ended at {at:?}",
                    event.old_status
                ));
            }
            for (from, to) in event.steps() {
                if from.is_some_and(|f| !f.can_move_to(to)) {
                    chain.push(format!("step {from:?} -> {to} is no legal move"));
                }
            }
            at = Some(event.new_status);
        }
        if at != Some(pg.status) {
            convergence.push(format!(
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
        let takes = count(&[
            OrderAction::ConfirmOrder,
            OrderAction::ConfirmVirtualAccountOrder,
            OrderAction::ReviveOrder,
        ]);
        let revives = count(&[OrderAction::ReviveOrder]);
        let holds = count(&[OrderAction::HoldOrder]);
        let releases = count(&[OrderAction::FailOrder]);
        let cancels = count(&[OrderAction::CancelOrder]);
        let awaits = count(&[OrderAction::AwaitDeposit]);
        let refunds = count(&[OrderAction::RecordPartialRefund]);
        let reversals = p.count(Act::Pg(Scenario::ReverseDeposit));
        let late = p.count(Act::Pg(Scenario::ApproveLate));
        let partials = p
            .life
            .iter()
            .filter(|a| matches!(a, Act::PartialCancel(_)))
            .count();
        let is_account = p.life.contains(&Act::OpenAccount);
        let ended_failed = matches!(pg.status, PaymentStatus::Failed | PaymentStatus::Expired);
        let net = |plus: usize, minus: usize| plus as i64 - minus as i64;
        for (what, got, want) in [
            (
                "taken (confirmed or revived) minus held",
                net(takes, holds),
                i64::from(pg.approved_at.is_some()),
            ),
            (
                "canceled",
                cancels as i64,
                i64::from(pg.status == PaymentStatus::Canceled),
            ),
            (
                "released minus revived",
                net(releases, revives),
                i64::from(ended_failed),
            ),
            // A virtual account whose first event the handler saw is already its failure or
            // expiry is not shown as awaiting a deposit (the pipeline's shortest path from no
            // state to `Failed`/`Expired` names no skipped state).
            (
                "awaiting a deposit",
                awaits as i64,
                i64::from(
                    is_account
                        && !mine.first().is_some_and(|e| {
                            e.old_status.is_none()
                                && e.skipped.is_empty()
                                && matches!(
                                    e.new_status,
                                    PaymentStatus::Failed | PaymentStatus::Expired
                                )
                        }),
                ),
            ),
        ] {
            if got != want {
                convergence.push(format!("{what}: {got}, expected {want}"));
            }
        }
        for (what, got, most) in [
            ("taken", takes, 1 + reversals),
            ("held", holds, reversals),
            ("revived", revives, late),
            ("released", releases, 1),
            ("canceled", cancels, 1),
            ("awaiting a deposit", awaits, 1),
            ("partial refund recorded", refunds, partials),
        ] {
            if got > most {
                chain.push(format!("{what} {got} times, at most {most}"));
            }
        }
        if revives > releases {
            chain.push(format!("revived {revives} times, released {releases}"));
        }
        let mut stale_amount = false;
        if let Some(last) = mine.last().filter(|e| e.reconciled) {
            if stored == Some(pg.status) && last.canceled.as_ref() != Some(&pg.canceled) {
                stale_amount = true;
                *fig.stranded
                    .entry(format!("{} with a stale canceled amount", pg.status))
                    .or_default() += 1;
                convergence.push(format!(
                    "the handler last saw {:?} canceled, the PG says {:?}",
                    last.canceled, pg.canceled
                ));
            }
        }
        if chain.is_empty() && convergence.is_empty() {
            continue;
        }
        fig.failed_payments += 1;
        // Today's reconciler re-checks only Ready, Pending and WaitingForDeposit (issue 18
        // widens it to every status but Canceled): a payment stranded at another stored status
        // (after a delivery lost for good) cannot converge yet. Still a failure.
        let unreachable =
            chain.is_empty() && stored.is_some_and(|s| s != pg.status && !s.reaches(pg.status));
        let awaiting_reconciler = chain.is_empty()
            && (stored != Some(pg.status) || stale_amount)
            && stored.is_some_and(|s| s.reaches(pg.status))
            && stored.is_some_and(|s| {
                matches!(
                    s,
                    PaymentStatus::Paid
                        | PaymentStatus::PartiallyCanceled
                        | PaymentStatus::Failed
                        | PaymentStatus::Expired
                )
            });
        let mut report = format!(
            "{} {} {:?}\n  problems: {}\n  events:",
            provider,
            p.order_id,
            p.life,
            chain
                .iter()
                .chain(convergence.iter())
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        );
        for e in &mine {
            let _ = write!(
                report,
                "\n    {:?} -> {:?} -> {} {:?}",
                e.old_status, e.skipped, e.new_status, e.actions
            );
        }
        let _ = write!(report, "\n  trace:\n    {}", p.trace.join("\n    "));
        if awaiting_reconciler {
            fig.stranded_awaiting_reconciler += 1;
            awaiting.push(report);
        } else if unreachable {
            fig.unreachable += 1;
            unreachable_reports.push(report);
        } else {
            broken.push(report);
        }
    }
    Broken {
        other: broken,
        awaiting_reconciler: awaiting,
        unreachable: unreachable_reports,
    }
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
    let backend = std::env::var("HANPAY_MODEL_BACKEND").unwrap_or_else(|_| "memory".into());
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let profiles = profiles(&Live::start().await);
    for p in &profiles {
        let redelivery = if p.resends {
            "redelivers"
        } else {
            "never redelivers: a lost delivery is gone for good"
        };
        println!(
            "model: {} ({redelivery}) skips {}",
            p.id,
            if p.skipped.is_empty() {
                "no act".to_owned()
            } else {
                p.skipped.join("; ")
            }
        );
    }
    let strategy = case(&profiles);
    let mut figures: Vec<Figures> = profiles.iter().map(|_| Figures::default()).collect();
    let mut broken = Broken::default();
    for case_no in 0..per_pg.div_ceil(PER_CASE) {
        let case = strategy.new_tree(&mut runner).unwrap().current();
        let b = run_case(case_no, &case, &profiles, &mut figures).await;
        broken.other.extend(b.other);
        broken.awaiting_reconciler.extend(b.awaiting_reconciler);
        broken.unreachable.extend(b.unreachable);
    }
    let parts: Vec<String> = profiles
        .iter()
        .zip(&figures)
        .map(|(p, f)| {
            format!(
                "{}: {} payments, {} PG actions ({} late approvals, {} reversals), {} webhooks, \
                 {} deliveries ({} reordered, {} after a later PG action, {} duplicates, {} lost \
                 then redelivered, {} lost without redelivery, {} handler failures), {} events \
                 skipped states, {} stranded after the reconciler{}{}, {} broke the model",
                p.id,
                f.payments,
                f.pg_actions,
                f.late_approvals,
                f.reversals,
                f.webhooks,
                f.deliveries,
                f.reorders,
                f.late,
                f.duplicates,
                f.lost_redelivered,
                f.lost_for_good,
                f.handler_failures,
                f.skipping_events,
                f.stranded(),
                if f.stranded.is_empty() {
                    String::new()
                } else {
                    format!(
                        " ({})",
                        f.stranded
                            .iter()
                            .map(|(k, n)| format!("{n}× {k}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
                if f.stranded() > 0 {
                    format!(
                        " [{} at a stored status today's reconciler skips, {} unreachable]",
                        f.stranded_awaiting_reconciler, f.unreachable
                    )
                } else {
                    String::new()
                },
                f.failed_payments,
            )
        })
        .collect();
    for (p, f) in profiles.iter().zip(&figures) {
        for (why, n) in &f.refused {
            println!("model: {} refused {n}× {why}", p.id);
        }
    }
    let checked: usize = figures.iter().map(|f| f.reconciler_checked).sum();
    let moved: usize = figures.iter().map(|f| f.reconciler_moved).sum();
    println!(
        "model: seed {seed}, backend {backend}, {per_pg}+ payments per PG; reconciler passes \
         checked {checked}, moved {moved} | {}",
        parts.join(" | ")
    );
    let total: usize = figures.iter().map(|f| f.payments).sum();
    let count = broken.other.len() + broken.awaiting_reconciler.len() + broken.unreachable.len();
    assert!(
        count == 0,
        "{count} of {total} payments broke the model: {} otherwise, {} stranded at a status the \
         PG's is not reachable from, {} stranded only at a stored status today's reconciler does \
         not re-check (issue 18's reconciler change); the first:\n{}",
        broken.other.len(),
        broken.unreachable.len(),
        broken.awaiting_reconciler.len(),
        broken
            .other
            .iter()
            .chain(&broken.unreachable)
            .chain(&broken.awaiting_reconciler)
            .take(4)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
