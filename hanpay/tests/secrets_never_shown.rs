//! Every public configuration, builder, client, verifier and error type, built with known
//! secrets, formatted with `{:?}` (and `{}` where it has one): no secret ever appears.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use hanpay::core::webhook::{HmacKeys, StandardWebhooks};
use hanpay::core::{
    BillingChargeRequest, ConfirmRequest, PaymentProvider, ProviderId, RetryPolicy, Secret, Trust,
    WebhookEvent, WebhookEventKind, WebhookRequest, WebhookVerifier,
};
use hanpay::portone::{PortOne, PortOneWebhookVerifier};
use hanpay::secrets::SavedSecret;
use hanpay::tosspayments::{TossPayments, TossWebhookVerifier};
use hanpay::{
    handler_fn, Hanpay, HanpayConfig, InMemoryPaymentSecrets, Money, PaymentEvent, PaymentSecrets,
    WebhookOutcome, WebhookPipeline,
};

const TOSS_SECRET_KEY: &str = "test_sk_KnownTossSecretKey0001";
const TOSS_WEBHOOK_SECRET: &str = "known-toss-relay-secret-0002";
const TOSS_SECURITY_KEY: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f0aa03";
const PORTONE_API_SECRET: &str = "KnownPortOneApiSecret0004";
const PORTONE_WEBHOOK_SECRET: &str = "whsec_S25vd25Qb3J0T25lV2ViaG9va1NlY3JldDA1";
/// Its base64 part, which must not appear either.
const PORTONE_WEBHOOK_B64: &str = "S25vd25Qb3J0T25lV2ViaG9va1NlY3JldDA1";
const PAYMENT_SECRET: &str = "ps_KnownPerPaymentSecret0006";
const BILLING_KEY: &str = "bk_KnownBillingKey0007";
const PAYMENT_TOKEN: &str = "KnownPaymentToken0008";
const CLIENT_KEY: &str = "test_ck_KnownClientKeyByMistake0009";

const ALL: [&str; 10] = [
    TOSS_SECRET_KEY,
    TOSS_WEBHOOK_SECRET,
    TOSS_SECURITY_KEY,
    PORTONE_API_SECRET,
    PORTONE_WEBHOOK_SECRET,
    PORTONE_WEBHOOK_B64,
    PAYMENT_SECRET,
    BILLING_KEY,
    PAYMENT_TOKEN,
    CLIENT_KEY,
];

/// Collects formatted values and checks them all at the end, naming the offender.
#[derive(Default)]
struct Shown(Vec<(&'static str, String)>);

impl Shown {
    fn debug(&mut self, what: &'static str, value: &dyn std::fmt::Debug) {
        self.0.push((what, format!("{value:?}")));
        self.0.push((what, format!("{value:#?}")));
    }

    fn display(&mut self, what: &'static str, value: &dyn std::fmt::Display) {
        self.0.push((what, value.to_string()));
    }

    fn both<T: std::fmt::Debug + std::fmt::Display>(&mut self, what: &'static str, value: &T) {
        self.debug(what, value);
        self.display(what, value);
    }

    fn assert_clean(&self) {
        assert!(self.0.len() > 40, "only {} values formatted", self.0.len());
        for (what, text) in &self.0 {
            for secret in ALL {
                assert!(!text.contains(secret), "{what} shows {secret}: {text}");
            }
        }
    }
}

fn env(name: &str) -> Option<String> {
    let value = match name {
        "HANPAY_PROVIDER" => "tosspayments",
        "TOSS_SECRET_KEY" => TOSS_SECRET_KEY,
        "TOSS_WEBHOOK_SECRET" => TOSS_WEBHOOK_SECRET,
        "TOSS_SECURITY_KEY" => TOSS_SECURITY_KEY,
        "TOSS_API_BASE_URL" => "http://127.0.0.1:9",
        "PORTONE_API_SECRET" => PORTONE_API_SECRET,
        "PORTONE_WEBHOOK_SECRET" => PORTONE_WEBHOOK_SECRET,
        "PORTONE_API_BASE_URL" => "http://127.0.0.1:9",
        _ => return None,
    };
    Some(value.to_owned())
}

#[tokio::test]
async fn no_public_type_shows_a_secret() {
    let mut shown = Shown::default();

    // Configuration.
    let config = HanpayConfig::from_env_with(env).unwrap();
    shown.both("HanpayConfig", &config);
    let toss_config = config
        .settings::<hanpay::tosspayments::TossSettings>(hanpay::tosspayments::ID)
        .unwrap();
    let portone_config = config
        .settings::<hanpay::portone::PortOneSettings>(hanpay::portone::ID)
        .unwrap();
    shown.debug("TossSettings", toss_config);
    shown.debug("PortOneSettings", portone_config);
    for provider in config.providers() {
        shown.debug("ProviderSettings", provider);
    }

    // Facade: registry, builder, gateway, pipeline, the facade's verifier construction.
    let hanpay = Hanpay::from_config(&config).unwrap();
    shown.debug("Hanpay", &hanpay);
    shown.debug("Gateway", &hanpay.gateway());
    shown.debug(
        "HanpayBuilder",
        &Hanpay::builder().provider(Arc::new(
            TossPayments::builder(TOSS_SECRET_KEY).build().unwrap(),
        )),
    );
    let pipeline = WebhookPipeline::builder(
        hanpay.clone(),
        handler_fn(|_: PaymentEvent| async { Ok(()) }),
    )
    .build();
    shown.debug("WebhookPipeline", &pipeline);
    shown.debug(
        "facade TossWebhookVerifierBuilder",
        &toss_config.webhook_verifier_builder(),
    );
    shown.debug(
        "facade TossWebhookVerifier",
        &hanpay::tosspayments::TossSettings::build_verifier(toss_config.webhook_verifier_builder())
            .unwrap(),
    );
    shown.debug(
        "facade PortOneWebhookVerifierBuilder",
        &portone_config.webhook_verifier_builder(),
    );

    // PG clients and their builders.
    let toss_builder = TossPayments::builder(TOSS_SECRET_KEY);
    shown.debug("TossPaymentsBuilder", &toss_builder);
    shown.debug("TossPayments", &toss_builder.build().unwrap());
    let portone_builder = PortOne::builder(PORTONE_API_SECRET);
    shown.debug("PortOneBuilder", &portone_builder);
    shown.debug("PortOne", &portone_builder.build().unwrap());

    // Webhook verifiers and their builders.
    let toss_verifier = TossWebhookVerifier::builder()
        .security_key(TOSS_SECURITY_KEY)
        .webhook_secret(TOSS_WEBHOOK_SECRET);
    shown.debug("TossWebhookVerifierBuilder", &toss_verifier);
    let toss_verifier = toss_verifier.build().unwrap();
    shown.debug("TossWebhookVerifier", &toss_verifier);
    let portone_verifier = PortOneWebhookVerifier::builder().secret(PORTONE_WEBHOOK_SECRET);
    shown.debug("PortOneWebhookVerifierBuilder", &portone_verifier);
    shown.debug("PortOneWebhookVerifier", &portone_verifier.build().unwrap());
    shown.debug(
        "StandardWebhooks",
        &StandardWebhooks::new([PORTONE_WEBHOOK_SECRET]).unwrap(),
    );
    shown.debug(
        "HmacKeys",
        &HmacKeys::new([TOSS_WEBHOOK_SECRET.as_bytes()]).unwrap(),
    );

    // Errors, each provoked with a secret in reach.
    shown.both(
        "tosspayments::ConfigError",
        &TossPayments::builder(CLIENT_KEY).build().unwrap_err(),
    );
    let bad_key = format!("{TOSS_SECRET_KEY} \n");
    shown.both(
        "tosspayments::ConfigError (whitespace)",
        &TossPayments::builder(bad_key).build().unwrap_err(),
    );
    shown.both(
        "hanpay::ConfigError",
        &HanpayConfig::from_env_with(|name| match name {
            "TOSS_SECRET_KEY" => Some(CLIENT_KEY.to_owned()),
            _ => None,
        })
        .and_then(|c| Hanpay::from_config(&c))
        .unwrap_err(),
    );
    shown.both(
        "portone VerifierConfigError",
        &PortOneWebhookVerifier::builder()
            .secret(format!("whsec_{PORTONE_WEBHOOK_B64}*"))
            .build()
            .unwrap_err(),
    );
    // A call that cannot connect (port 9 on loopback), from clients holding their secrets.
    let toss = TossPayments::builder(TOSS_SECRET_KEY)
        .base_url("http://127.0.0.1:9")
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    shown.both(
        "PaymentError (Toss)",
        &toss.payment("tgen_pk").await.unwrap_err(),
    );
    let portone = PortOne::builder(PORTONE_API_SECRET)
        .base_url("http://127.0.0.1:9")
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    shown.both(
        "PaymentError (PortOne)",
        &portone.payment("payment-1").await.unwrap_err(),
    );
    let headers = {
        let mut h = http::HeaderMap::new();
        h.insert(
            "x-tosspayments-signature",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
                .parse()
                .unwrap(),
        );
        h
    };
    let body = format!(
        r#"{{"createdAt":"2022-01-01T00:00:00.000000","secret":"{PAYMENT_SECRET}","status":"DONE","transactionKey":"t","orderId":"o"}}"#
    );
    let request = WebhookRequest::new(&headers, body.clone());
    let rejected = toss_verifier.verify(&request).unwrap_err();
    shown.both("WebhookError", &rejected);
    shown.debug(
        "WebhookOutcome",
        &WebhookOutcome::Rejected(rejected.clone()),
    );
    shown.display(
        "WebhookOutcome body",
        &WebhookOutcome::Rejected(rejected).body(),
    );

    // Requests, events and stores carrying per-payment secrets.
    shown.debug(
        "ConfirmRequest",
        &ConfirmRequest::new("pk", "order", Money::krw(1_000))
            .payment_token(Secret::new(PAYMENT_TOKEN)),
    );
    shown.debug(
        "BillingChargeRequest",
        &BillingChargeRequest::new(BILLING_KEY, "customer", Money::krw(1_000), "order", "name"),
    );
    let event = WebhookEvent {
        provider: ProviderId::from_static("tosspayments"),
        dedupe_id: "d".into(),
        kind: WebhookEventKind::DepositReceived,
        payment_key: None,
        order_id: Some("o".into()),
        status_hint: None,
        raw_status: None,
        occurred_at: None,
        trust: Trust::SharedSecret(Secret::new(PAYMENT_SECRET)),
        payment_secret: Some(Secret::new(PAYMENT_SECRET)),
        body: body.into(),
    };
    shown.debug("WebhookEvent", &event);
    shown.display(
        "WebhookEvent as JSON",
        &serde_json::to_string(&event).unwrap(),
    );
    shown.debug("Trust", &event.trust);
    let secrets = InMemoryPaymentSecrets::default();
    let saved = SavedSecret {
        provider: ProviderId::from_static("tosspayments"),
        payment_key: "pk".into(),
        order_id: "o".into(),
        secret: Secret::new(PAYMENT_SECRET),
    };
    shown.debug("SavedSecret", &saved);
    secrets.save(saved).await.unwrap();
    shown.debug("InMemoryPaymentSecrets", &secrets);
    shown.both("Secret", &Secret::new(TOSS_SECRET_KEY));

    shown.assert_clean();
}
