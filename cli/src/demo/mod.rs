//! `hanpay demo`: the sandbox in-process, the example [`shop`] (facade only), and the lifecycle
//! a Korean merchant runs, once per provider with the same shop code.

pub mod shop;

use std::net::SocketAddr;
use std::time::Duration;

use hanpay::{
    core::Capability, Bank, HanpayConfig, Money, OrderAction, Payment, PaymentEvent, PaymentStatus,
};
use hanpay_fake::sandbox::RunningFake;

use crate::sandbox::{Options, Sandbox};
use shop::Shop;

const WEBHOOK_WAIT: Duration = Duration::from_secs(15);

/// The customer and the PG's back office, played at the PG's fake (whichever PG it is).
struct Customer<'a> {
    fake: &'a dyn RunningFake,
    /// The PG's display name.
    name: &'static str,
}

impl Customer<'_> {
    /// Pays by card in the browser; returns what the success redirect carries (the payment
    /// key).
    async fn pay_by_card(&self, order_id: &str, amount: &Money) -> Result<String, String> {
        self.fake
            .authenticate_card(order_id, amount)
            .await
            .map_err(|e| e.to_string())
    }

    /// Transfers the amount into the virtual account.
    async fn deposit(&self, payment: &Payment) -> Result<(), String> {
        self.fake.deposit(payment).await.map_err(|e| e.to_string())
    }

    /// The PG's next cancel of `payment_key` fails with a transient error; says which.
    async fn break_next_cancel(&self, payment_key: &str) -> Result<&'static str, String> {
        self.fake
            .inject_retryable_fault_on_next_cancel(payment_key)
            .await
            .map_err(|e| e.to_string())?;
        Ok(self.fake.retryable_fault())
    }

    /// How many cancel requests for `payment_key` reached the PG.
    async fn cancel_requests(&self, payment_key: &str) -> Result<usize, String> {
        self.fake
            .pg_cancel_requests(payment_key)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("the {} fake does not count cancel requests", self.name))
    }

    /// The PG's name for the webhook it sent with `dedupe_id`.
    fn event_name(&self, dedupe_id: &str) -> Option<String> {
        self.fake.webhook_event_name(dedupe_id)
    }

    /// How the shop admitted an event, in the PG's terms. `saved_at` says when the shop saved
    /// the payment's secret (for a per-payment secret).
    fn admission(&self, event: &PaymentEvent, saved_at: &str) -> String {
        match event.trust {
            "signed" => "signature over the raw body verified".to_owned(),
            "shared_secret" => format!(
                "unsigned, as {} sends it; sender on the allowlist, shared secret matched the one \
                 saved {saved_at} (compared in constant time)",
                self.name
            ),
            "signed_without_status" => format!(
                "{}'s body signature verified (it covers tid, amount and date, not the status), \
                 sender on the allowlist",
                self.name
            ),
            "source_address" => format!(
                "unsigned, as {} sends it; admitted by its sender address (allowlist)",
                self.name
            ),
            other => other.to_owned(),
        }
    }
}

/// Prints the demo as it runs and remembers whether a step failed.
struct Printer {
    failures: usize,
    out: Box<dyn FnMut(&str) + Send>,
}

impl Printer {
    fn line(&mut self, text: &str) {
        (self.out)(text);
    }

    fn ok(&mut self, text: &str) {
        self.line(&format!("  ✔ {text}"));
    }

    fn detail(&mut self, text: &str) {
        self.line(&format!("      {text}"));
    }

    fn fail(&mut self, text: &str) {
        self.failures += 1;
        self.line(&format!("  ✘ {text}"));
    }

    /// Prints how a webhook was admitted, checked and applied.
    fn webhook(&mut self, name: &str, admission: &str, event: &PaymentEvent) {
        let old = event
            .old_status
            .map(|s| s.to_string())
            .unwrap_or_else(|| "(new)".into());
        self.detail(&format!("webhook {name}: {admission}"));
        let checked = if event.reconciled {
            format!("reconciled with the PG (it reports {}), ", event.new_status)
        } else {
            String::new()
        };
        self.detail(&format!(
            "  {checked}applied {old} → {} — {}",
            event.new_status,
            event.action.describe()
        ));
    }
}

fn order_id(provider: &str, what: &str) -> String {
    let short = &uuid::Uuid::new_v4().simple().to_string()[..8];
    format!("demo-{provider}-{what}-{short}")
}

/// Waits until the shop applied `action` to `order` and prints the webhook that did it.
/// `saved_at` says when the shop saved the payment's secret.
async fn wait_webhook(
    p: &mut Printer,
    shop: &Shop,
    customer: &Customer<'_>,
    order: &str,
    action: OrderAction,
    saved_at: &str,
) -> Result<PaymentEvent, String> {
    let event = shop.wait_for(order, action, WEBHOOK_WAIT).await?;
    let name = customer
        .event_name(&event.dedupe_id)
        .unwrap_or_else(|| event.dedupe_id.clone());
    p.webhook(&name, &customer.admission(&event, saved_at), &event);
    Ok(event)
}

const AT_CONFIRM: &str = "when the card payment was confirmed";
const AT_ISSUE: &str = "when the virtual account was issued";

/// For a PG that announces a deposit with a second webhook of its own (Toss's
/// `DEPOSIT_CALLBACK`): shows it (for Toss, its per-payment secret is the only proof) and that
/// the deposit reached the handler exactly once, whichever of the PG's webhooks for it arrived
/// first.
async fn second_deposit_webhook(
    p: &mut Printer,
    shop: &Shop,
    customer: &Customer<'_>,
    order: &str,
    applied: &PaymentEvent,
) -> Result<(), String> {
    let Some(second) = customer
        .fake
        .second_deposit_webhook(order, WEBHOOK_WAIT)
        .await
    else {
        return Ok(());
    };
    let second = second?;
    let confirmations: Vec<String> = shop
        .applied(order)
        .iter()
        .filter(|e| e.action == OrderAction::ConfirmVirtualAccountOrder)
        .map(|e| {
            format!(
                "{} {:?} → {}",
                customer
                    .event_name(&e.dedupe_id)
                    .unwrap_or_else(|| e.dedupe_id.clone()),
                e.old_status,
                e.new_status
            )
        })
        .collect();
    if confirmations.len() != 1 {
        return Err(format!(
            "the deposit reached the shop's handler {} times, expected once: {}",
            confirmations.len(),
            confirmations.join("; ")
        ));
    }
    if applied.dedupe_id != second.dedupe_id {
        p.detail(&format!(
            "webhook {}: {}; sender on the allowlist, shared secret matched the one saved \
             {AT_ISSUE} (compared in constant time)",
            second.event, second.proof
        ));
        p.detail(
            "  reconciled with the PG (it reports PAID): already applied, recorded and answered \
             200 — the handler ran once for the deposit",
        );
    } else {
        p.detail(&format!(
            "  {} for the same deposit found nothing left to apply: the handler ran once for the \
             deposit",
            second.other
        ));
    }
    Ok(())
}

/// The customer pays `price` by card for a new order; the shop confirms it (PAID) and its
/// webhook is applied. Returns the order id and the payment key.
async fn card_payment(
    p: &mut Printer,
    shop: &Shop,
    customer: &Customer<'_>,
    label: &str,
    price: Money,
) -> Result<(String, String), String> {
    let order = order_id(&shop.provider(), label);
    let key = customer.pay_by_card(&order, &price).await?;
    let paid = shop
        .confirm(&key, &order, price)
        .await
        .map_err(|e| format!("card confirm failed ({}): {e}", e.code()))?;
    if paid.status != PaymentStatus::Paid {
        return Err(format!("card confirm: expected PAID, got {}", paid.status));
    }
    p.ok(&format!(
        "card payment of {} for {order} confirmed → {}",
        paid.total, paid.status
    ));
    wait_webhook(
        p,
        shop,
        customer,
        &order,
        OrderAction::ConfirmOrder,
        AT_CONFIRM,
    )
    .await?;
    Ok((order, key))
}

/// Runs every step for the shop's provider. Returns `Err` on the first failed step.
async fn lifecycle(p: &mut Printer, shop: &Shop, customer: &Customer<'_>) -> Result<(), String> {
    // 1. Card payment.
    let (order, key) = card_payment(p, shop, customer, "card", Money::krw(58_000)).await?;

    // 2. Partial cancel.
    let part = Money::krw(8_000);
    let after = shop
        .refund_part(&key, part.clone(), "사이즈 교환: 차액 환불")
        .await
        .map_err(|e| format!("partial cancel failed: {e}"))?;
    let expected = Money::krw(50_000);
    if after.status != PaymentStatus::PartiallyCanceled || after.balance != expected {
        return Err(format!(
            "partial cancel: expected PARTIALLY_CANCELED with {expected} left, got {} with {}",
            after.status, after.balance
        ));
    }
    p.ok(&format!(
        "partial cancel of {part} → {}, balance {} (of {})",
        after.status, after.balance, after.total
    ));
    wait_webhook(
        p,
        shop,
        customer,
        &order,
        OrderAction::RecordPartialRefund,
        AT_CONFIRM,
    )
    .await?;

    // 3.–5. Virtual accounts, where the PG issues them through its server API.
    if shop.supports(Capability::VirtualAccounts) {
        virtual_account(p, shop, customer).await?;
    } else {
        p.ok(&format!(
            "virtual accounts skipped: {} issues them only in its payment window, not by server API",
            customer.name
        ));
    }

    // 6. A transient PG failure during cancel: retried, one cancellation.
    retried_cancel(p, shop, customer).await
}

/// A virtual account is issued, deposited into and confirmed by webhook; a refund to its own
/// number is refused before any call; a refund to the customer's account goes through.
async fn virtual_account(
    p: &mut Printer,
    shop: &Shop,
    customer: &Customer<'_>,
) -> Result<(), String> {
    let provider = shop.provider();
    let va_order = order_id(&provider, "va");
    let coat = Money::krw(39_000);
    let issued = shop
        .issue_virtual_account(&va_order, coat.clone(), "김토스")
        .await
        .map_err(|e| format!("virtual account issue failed: {e}"))?;
    let account = issued
        .virtual_account()
        .map(|va| va.account_number.clone())
        .ok_or("the issued payment has no virtual account")?;
    if issued.status != PaymentStatus::WaitingForDeposit {
        return Err(format!(
            "virtual account: expected WAITING_FOR_DEPOSIT, got {}",
            issued.status
        ));
    }
    p.ok(&format!(
        "virtual account {account} ({}) issued for {coat} → {}",
        issued
            .virtual_account()
            .and_then(|va| va.bank.as_ref().map(|b| b.korean_name().to_owned()))
            .unwrap_or_default(),
        issued.status
    ));
    wait_webhook(
        p,
        shop,
        customer,
        &va_order,
        OrderAction::AwaitDeposit,
        AT_ISSUE,
    )
    .await?;
    customer.deposit(&issued).await?;
    p.ok(&format!("the customer deposited {coat} into {account}"));
    let applied = wait_webhook(
        p,
        shop,
        customer,
        &va_order,
        OrderAction::ConfirmVirtualAccountOrder,
        AT_ISSUE,
    )
    .await?;
    second_deposit_webhook(p, shop, customer, &va_order, &applied).await?;
    let deposited = shop
        .payment(&issued.payment_key)
        .await
        .map_err(|e| format!("lookup failed: {e}"))?;
    if deposited.status != PaymentStatus::Paid {
        return Err(format!(
            "after the deposit: expected PAID, got {}",
            deposited.status
        ));
    }

    // 4. A refund to the virtual account's own number is refused before any call.
    let before = customer.cancel_requests(&issued.payment_key).await?;
    match shop
        .refund_to_account(&issued.payment_key, Bank::Shinhan, &account, "김토스")
        .await
    {
        Ok(_) => return Err("a refund to the virtual account itself was accepted".into()),
        Err(e) => {
            if customer.cancel_requests(&issued.payment_key).await? != before {
                return Err("the refused refund reached the PG".into());
            }
            p.ok(&format!(
                "refund to the virtual account's own number {account} refused before any PG call:"
            ));
            p.detail(e.message());
        }
    }

    // 5. Refund to the customer's own account.
    let refunded = shop
        .refund_to_account(&issued.payment_key, Bank::Kookmin, "1102147270", "김토스")
        .await
        .map_err(|e| format!("refund to the customer's account failed: {e}"))?;
    if refunded.status != PaymentStatus::Canceled {
        return Err(format!(
            "refund: expected CANCELED, got {}",
            refunded.status
        ));
    }
    p.ok(&format!(
        "{} refunded to the customer's own account (KB국민은행 ******7270) → {}",
        refunded.canceled, refunded.status
    ));
    wait_webhook(
        p,
        shop,
        customer,
        &va_order,
        OrderAction::CancelOrder,
        AT_ISSUE,
    )
    .await?;

    Ok(())
}

/// A transient PG failure during cancel: retried safely (the same idempotency key, or where the
/// PG has none a lookup first), exactly one cancellation.
async fn retried_cancel(
    p: &mut Printer,
    shop: &Shop,
    customer: &Customer<'_>,
) -> Result<(), String> {
    let (order, key) = card_payment(p, shop, customer, "retry", Money::krw(15_000)).await?;
    let fault = customer.break_next_cancel(&key).await?;
    let canceled = shop
        .cancel(&key, "품절로 주문 취소")
        .await
        .map_err(|e| format!("cancel with a transient failure was not retried: {e}"))?;
    let requests = customer.cancel_requests(&key).await?;
    if canceled.status != PaymentStatus::Canceled || canceled.cancellations.len() != 1 {
        return Err(format!(
            "retried cancel: expected CANCELED with one cancellation, got {} with {}",
            canceled.status,
            canceled.cancellations.len()
        ));
    }
    if requests < 2 {
        return Err(format!(
            "the PG saw {requests} cancel request(s): the fault was not exercised"
        ));
    }
    let how = match customer.fake.cancel_idempotency_keys(&key) {
        Some(keys) => {
            if !keys.first().is_some_and(Option::is_some) || keys.iter().any(|k| *k != keys[0]) {
                return Err(format!(
                    "the retried cancel did not reuse its idempotency key: {keys:?}"
                ));
            }
            "retried with the same idempotency key"
        }
        None => "looked the payment up, saw no cancellation, then retried (the PG has no idempotency key)",
    };
    p.ok(&format!(
        "cancel of {} hit a transient {fault}, {how} → {}, exactly one cancellation \
         ({requests} requests reached the PG)",
        canceled.canceled, canceled.status
    ));
    wait_webhook(
        p,
        shop,
        customer,
        &order,
        OrderAction::CancelOrder,
        AT_CONFIRM,
    )
    .await?;
    Ok(())
}

/// The shop restarts (a deploy): a new facade and pipeline over the same database. The PG
/// redelivers an event the old process already answered: a duplicate, handler not called.
async fn restart(p: &mut Printer, old: Shop, config: &HanpayConfig) -> Result<(), String> {
    let delivery = old
        .last_answered()
        .ok_or("the shop answered no webhook to redeliver")?;
    drop(old);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot bind the restarted shop: {e}"))?;
    let shop = Shop::start(config, listener).await?;
    let mut request = reqwest::Client::new()
        .post(format!("http://{}{}", shop.addr(), delivery.path))
        .body(delivery.body.clone());
    for (name, value) in &delivery.headers {
        if name != http::header::HOST && name != http::header::CONTENT_LENGTH {
            request = request.header(name, value);
        }
    }
    let response = request
        .send()
        .await
        .map_err(|e| format!("redelivery to the restarted shop: {e}"))?;
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    // A duplicate is answered from one read: the inbox keeps the processed delivery, and the
    // redelivery writes nothing.
    let attempts = shop.last_attempts().await.unwrap_or(0);
    if status != 200 || attempts != 1 || shop.handled() != 0 {
        return Err(format!(
            "after the restart the redelivery was answered {status} {body} ({attempts} \
             deliveries recorded for it), handler calls {}",
            shop.handled()
        ));
    }
    p.ok(&format!(
        "shop restarted on the same database ({}): the PG's redelivery of an event already \
         processed is answered 200 as a duplicate from one read (nothing written), handler not called",
        config
            .database_url
            .as_ref()
            .map(|u| u.backend().name())
            .unwrap_or("memory")
    ));
    Ok(())
}

/// The PG's display name.
fn title(provider: &str) -> &'static str {
    hanpay::plugin(provider).map(|p| p.name()).unwrap_or("?")
}

/// The PGs `--provider` names (`all`: every registered PG with a fake), or an error listing
/// them.
pub fn providers(arg: &str) -> Result<Vec<String>, String> {
    let available: Vec<String> = hanpay::plugins()
        .iter()
        .map(|p| p.id().to_owned())
        .filter(|id| hanpay::sandbox::fake(id).is_some())
        .collect();
    let arg = arg.trim().to_ascii_lowercase();
    if arg == "all" {
        return Ok(available);
    }
    if available.contains(&arg) {
        Ok(vec![arg])
    } else {
        Err(format!(
            "unknown provider {arg:?}: the demo runs {} or all",
            available.join(", ")
        ))
    }
}

/// Runs the demo for `providers`, printing through `out`. Returns the exit status.
pub async fn run(providers: &[String], out: Box<dyn FnMut(&str) + Send>) -> i32 {
    let mut p = Printer { failures: 0, out };
    p.line("hanpay demo: one shop, every PG, switched by configuration");
    p.line("");

    // Each provider's shop gets its own endpoint, bound before the sandbox is told where to
    // deliver.
    let mut listeners = Vec::new();
    for provider in providers {
        match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => match l.local_addr() {
                Ok(addr) => listeners.push((provider.as_str(), addr, Some(l))),
                Err(e) => {
                    p.fail(&format!("cannot bind the shop: {e}"));
                    return 1;
                }
            },
            Err(e) => {
                p.fail(&format!("cannot bind the shop: {e}"));
                return 1;
            }
        }
    }
    let options = Options {
        addrs: vec![(None, SocketAddr::from(([127, 0, 0, 1], 0)))],
        webhook_urls: listeners
            .iter()
            .map(|(name, addr, _)| ((*name).to_owned(), format!("http://{addr}/webhooks/{name}")))
            .collect(),
        time_scale: 60_000,
        options: Vec::new(),
    };
    let sandbox = match Sandbox::start(&options).await {
        Ok(s) => s,
        Err(e) => {
            p.fail(&format!("cannot start the sandbox: {e}"));
            return 1;
        }
    };
    p.line(&format!(
        "sandbox: {}",
        sandbox
            .running
            .iter()
            .map(|r| format!("{} at {}", r.name, r.sandbox.fake.base_url()))
            .collect::<Vec<_>>()
            .join(", ")
    ));

    for (provider, addr, listener) in &mut listeners {
        let provider: &str = provider;
        p.line("");
        p.line(&format!(
            "── {} ── HANPAY_PROVIDER={provider}, shop webhooks at http://{addr}/webhooks/{provider}",
            title(provider)
        ));
        let Some(running) = sandbox.get(provider) else {
            p.fail(&format!("the sandbox has no {provider} fake"));
            continue;
        };
        let env: Vec<(&str, String)> = sandbox.env(provider);
        let config = match HanpayConfig::from_env_with(|name| {
            env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())
        }) {
            Ok(c) => c,
            Err(e) => {
                p.fail(&format!("configuration: {e}"));
                continue;
            }
        };
        let mut config = config;
        if config.database_url.is_none() {
            // The durable path by default: SQLite in a temporary file.
            let file = std::env::temp_dir()
                .join(format!("hanpay-demo-{}-{provider}.db", std::process::id()));
            let _ = std::fs::remove_file(&file);
            match format!("sqlite://{}", file.display()).parse() {
                Ok(url) => config.database_url = Some(url),
                Err(e) => {
                    p.fail(&format!("database: {e}"));
                    continue;
                }
            }
        }
        let Some(l) = listener.take() else { continue };
        let shop = match Shop::start(&config, l).await {
            Ok(s) => s,
            Err(e) => {
                p.fail(&format!("shop start-up: {e}"));
                continue;
            }
        };
        let customer = Customer {
            fake: running.sandbox.fake.as_ref(),
            name: running.name,
        };
        if let Err(e) = lifecycle(&mut p, &shop, &customer).await {
            p.fail(&e);
        }
        if let Err(e) = restart(&mut p, shop, &config).await {
            p.fail(&e);
        }
        if let Some(url) = &config.database_url {
            if let Some(file) = url.expose().strip_prefix("sqlite://") {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{file}{suffix}"));
                }
            }
        }
    }

    p.line("");
    if p.failures == 0 {
        p.line(&format!(
            "all steps passed for {}",
            providers
                .iter()
                .map(|p| title(p))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        0
    } else {
        p.line(&format!("{} step(s) failed", p.failures));
        1
    }
}
