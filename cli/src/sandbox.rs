//! `hanpay sandbox`: FakeToss and FakePortOne as a local PG for app developers, on fixed
//! loopback addresses, delivering webhooks to local URLs as the PGs send them (no tunnel
//! needed).
//!
//! Each fake binds its own address and serves its PG's API and its control API under
//! `/__fake/…` there.
//!
//! Webhook trust is the PGs' own: PortOne signs with Standard Webhooks; Toss signs no payment
//! webhook (`PAYMENT_STATUS_CHANGED`, `DEPOSIT_CALLBACK`: reference §5.1/§5.4), so a Toss event
//! is admitted by its sender address and the per-payment `secret`, then checked against the
//! API. A platform that relays Toss events signed with `x-tosspayments-signature` (seed 001) is
//! imitated with [`Options::toss_relay_secret`] (`--toss-relay-secret`).

use std::net::SocketAddr;

use hanpay_testkit::delivery::TimeScale;
use hanpay_testkit::fake_portone::FakePortOne;
use hanpay_testkit::fake_toss::FakeToss;

/// Default address of the Toss sandbox.
pub const DEFAULT_TOSS_ADDR: &str = "127.0.0.1:8701";
/// Default address of the PortOne sandbox.
pub const DEFAULT_PORTONE_ADDR: &str = "127.0.0.1:8702";
/// The PortOne Standard Webhooks secret the sandbox signs with.
pub const PORTONE_WEBHOOK_SECRET: &str = "whsec_aGFucGF5LXNhbmRib3gtcG9ydG9uZS13aCE=";
/// The sender addresses the sandbox's webhooks come from, for the apps' allowlists.
pub const LOOPBACK_ALLOWLIST: &str = "127.0.0.1,::1";

/// How to run the sandbox.
#[derive(Clone)]
pub struct Options {
    /// Where FakeToss listens.
    pub toss_addr: SocketAddr,
    /// Where FakePortOne listens.
    pub portone_addr: SocketAddr,
    /// `(provider, url)` webhook targets.
    pub webhook_urls: Vec<(String, String)>,
    /// Redelivery speed-up: every PG delay divided by this.
    pub time_scale: u32,
    /// Sign Toss events with `x-tosspayments-signature` using this secret, as a relaying
    /// platform does. `None` (the default): Toss events go out as Toss sends them, unsigned.
    pub toss_relay_secret: Option<String>,
    /// Accept any `test_sk_…` key at the Toss sandbox. `false` (the default): only the key
    /// the sandbox prints (`TOSS_SECRET_KEY`); any other gets Toss's `401 UNAUTHORIZED_KEY`,
    /// so an app with a wrong key fails here as it would at Toss.
    pub toss_accept_any_key: bool,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("toss_addr", &self.toss_addr)
            .field("portone_addr", &self.portone_addr)
            .field("webhook_urls", &self.webhook_urls)
            .field("time_scale", &self.time_scale)
            .field(
                "toss_relay_secret",
                &self.toss_relay_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("toss_accept_any_key", &self.toss_accept_any_key)
            .finish()
    }
}

/// A running sandbox. Stops when dropped.
pub struct Sandbox {
    /// The fake Toss server.
    pub toss: FakeToss,
    /// The fake PortOne server.
    pub portone: FakePortOne,
    toss_relay_secret: Option<String>,
}

fn bind_error(what: &str, addr: SocketAddr, e: std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{what} sandbox on {addr}: {e}"))
}

impl Sandbox {
    /// Starts both fakes.
    pub async fn start(options: &Options) -> std::io::Result<Sandbox> {
        let scale = options.time_scale.max(1);
        let mut toss = FakeToss::builder().time_scale(TimeScale::speedup(scale));
        if !options.toss_accept_any_key {
            toss = toss.secret_key(FakeToss::SECRET_KEY);
        }
        if let Some(secret) = &options.toss_relay_secret {
            if secret.trim().is_empty() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "--toss-relay-secret is empty",
                ));
            }
            toss = toss.relay_secret(secret.clone());
        }
        let mut portone = FakePortOne::builder()
            .webhook_secret(PORTONE_WEBHOOK_SECRET)
            .time_scale(TimeScale::speedup(scale));
        for (provider, url) in &options.webhook_urls {
            match provider.as_str() {
                hanpay::TOSSPAYMENTS => toss = toss.webhook_url(url.clone()),
                hanpay::PORTONE => portone = portone.webhook_url(url.clone()),
                other => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        format!(
                            "unknown provider {other:?} in --webhook-url (tosspayments or portone)"
                        ),
                    ))
                }
            }
        }
        let toss = toss
            .bind(options.toss_addr)
            .await
            .map_err(|e| bind_error("Toss", options.toss_addr, e))?;
        let portone = portone
            .bind(options.portone_addr)
            .await
            .map_err(|e| bind_error("PortOne", options.portone_addr, e))?;
        Ok(Sandbox {
            toss,
            portone,
            toss_relay_secret: options.toss_relay_secret.clone(),
        })
    }

    /// Toss base URL.
    pub fn toss_url(&self) -> String {
        self.toss.base_url()
    }

    /// PortOne base URL.
    pub fn portone_url(&self) -> String {
        self.portone.base_url()
    }

    /// The environment an application sets to use the sandbox (what `hanpay::Hanpay::from_env`
    /// reads), with `provider` as the default. `TOSS_WEBHOOK_SECRET` only when Toss events are
    /// relay-signed: with it set, hanpay refuses a Toss event without `x-tosspayments-signature`.
    pub fn env(&self, provider: &str) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("HANPAY_PROVIDER", provider.to_owned()),
            ("TOSS_SECRET_KEY", FakeToss::SECRET_KEY.to_owned()),
            ("TOSS_API_BASE_URL", self.toss_url()),
            ("TOSS_WEBHOOK_ALLOWLIST", LOOPBACK_ALLOWLIST.to_owned()),
        ];
        if let Some(secret) = &self.toss_relay_secret {
            env.push(("TOSS_WEBHOOK_SECRET", secret.clone()));
        }
        env.extend([
            ("PORTONE_API_SECRET", self.portone.api_secret().to_owned()),
            ("PORTONE_API_BASE_URL", self.portone_url()),
            ("PORTONE_STORE_ID", self.portone.store_id().to_owned()),
            ("PORTONE_CHANNEL_KEY", self.portone.channel_key().to_owned()),
            ("PORTONE_WEBHOOK_SECRET", PORTONE_WEBHOOK_SECRET.to_owned()),
            ("PORTONE_WEBHOOK_ALLOWLIST", LOOPBACK_ALLOWLIST.to_owned()),
        ]);
        env
    }

    /// Whether Toss events are signed as a relaying platform signs them.
    pub fn toss_relay_signed(&self) -> bool {
        self.toss_relay_secret.is_some()
    }

    /// The banner `hanpay sandbox` prints.
    pub fn banner(&self, options: &Options) -> String {
        let toss = self.toss_url();
        let portone = self.portone_url();
        let mut out = String::new();
        out.push_str("hanpay sandbox: a local Toss Payments and PortOne for your app\n\n");
        out.push_str(&format!(
            "  Toss Payments  {toss}\n  PortOne        {portone}\n\n"
        ));
        out.push_str("Point your app at it (these are what hanpay::Hanpay::from_env reads):\n\n");
        for (name, value) in self.env("tosspayments") {
            out.push_str(&format!("  export {name}={value}\n"));
        }
        // Durable webhook state by default: one SQLite file, created by the app at start-up.
        let db = std::env::temp_dir().join("hanpay-sandbox.db");
        out.push_str(&format!(
            "  export HANPAY_DATABASE_URL=sqlite://{}   # webhook state (Hanpay::open)\n",
            db.display()
        ));
        out.push_str("  # switch the app to PortOne with: export HANPAY_PROVIDER=portone\n");
        if options.toss_accept_any_key {
            out.push_str("  # Toss accepts any test_sk_ key (--toss-accept-any-key)\n");
        } else {
            out.push_str(
                "  # Toss accepts only TOSS_SECRET_KEY above: another key gets 401 UNAUTHORIZED_KEY,\n  \
                 # as at Toss (--toss-accept-any-key to accept any test_sk_ key)\n",
            );
        }
        out.push_str(&format!(
            "\nWebhooks, sent as the PGs send them and redelivered on their schedules ({}x faster):\n",
            options.time_scale.max(1)
        ));
        if options.webhook_urls.is_empty() {
            out.push_str(
                "  none configured: add --webhook-url tosspayments=http://127.0.0.1:3000/webhooks/tosspayments\n",
            );
        }
        for (provider, url) in &options.webhook_urls {
            out.push_str(&format!("  {provider:<13} -> {url}\n"));
        }
        if self.toss_relay_signed() {
            out.push_str(
                "  Toss Payments: relay-signed with x-tosspayments-signature (--toss-relay-secret), as a\n  \
                 platform relaying Toss events signs them; TOSS_WEBHOOK_SECRET above verifies them.\n",
            );
        } else {
            out.push_str(
                "  Toss Payments: unsigned, as Toss sends PAYMENT_STATUS_CHANGED and DEPOSIT_CALLBACK. Your\n  \
                 app admits them by sender address (TOSS_WEBHOOK_ALLOWLIST) and the per-payment secret\n  \
                 saved at confirm / virtual-account issue, then checks the payment with the API.\n  \
                 (Behind a platform that relays them signed? Restart with --toss-relay-secret SECRET.)\n",
            );
        }
        out.push_str("  PortOne: signed with Standard Webhooks (PORTONE_WEBHOOK_SECRET above).\n");
        out.push_str("\nPlay the customer with the control API:\n\n");
        out.push_str(&format!(
            "  # Toss: the customer authenticates a card payment (the widget's successUrl carries paymentKey)\n  \
             curl -s -XPOST {toss}/__fake/sessions -H 'content-type: application/json' \\\n    \
             -d '{{\"orderId\":\"order-0001\",\"amount\":58000,\"method\":\"card\"}}'\n  \
             # then confirm it from your app; for a virtual account issued by your app, deposit:\n  \
             curl -s -XPOST {toss}/__fake/payments/PAYMENT_KEY/deposit\n  \
             # the next cancel fails once with a transient error:\n  \
             curl -s -XPOST {toss}/__fake/faults -H 'content-type: application/json' \\\n    \
             -d '{{\"status\":500,\"code\":\"FAILED_INTERNAL_SYSTEM_PROCESSING\",\"pathContains\":\"/cancel\"}}'\n\n"
        ));
        out.push_str(&format!(
            "  # PortOne: the customer pays payment-0001 in the browser (approved at once)\n  \
             curl -s -XPOST {portone}/__fake/payments/payment-0001/pay -H 'content-type: application/json' \\\n    \
             -d '{{\"amount\":58000,\"orderName\":\"티셔츠\"}}'\n  \
             # on a manual-confirm (수동 승인) channel: authenticate, then confirm the paymentToken from your app\n  \
             curl -s -XPOST {portone}/__fake/payments/payment-0002/authenticate -H 'content-type: application/json' \\\n    \
             -d '{{\"amount\":58000}}'\n  \
             # deposit into a virtual account your app issued:\n  \
             curl -s -XPOST {portone}/__fake/payments/PAYMENT_ID/deposit\n  \
             # the next cancel fails once with a 503:\n  \
             curl -s -XPOST {portone}/__fake/faults -H 'content-type: application/json' \\\n    \
             -d '{{\"operation\":\"cancel\",\"errorType\":\"SERVICE_UNAVAILABLE\",\"httpStatus\":503}}'\n  \
             # what the fake holds:\n  \
             curl -s {portone}/__fake/payments/PAYMENT_ID\n"
        ));
        out.push_str("\nDebug a webhook your app refused: hanpay webhook verify --help\n");
        out.push_str("Ctrl-C stops the sandbox.\n");
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use base64::Engine as _;

    fn options(toss_accept_any_key: bool) -> Options {
        Options {
            toss_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            portone_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            webhook_urls: Vec::new(),
            time_scale: 60,
            toss_relay_secret: None,
            toss_accept_any_key,
        }
    }

    async fn toss_status(sandbox: &Sandbox, key: &str) -> u16 {
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{key}:"));
        reqwest::Client::new()
            .get(format!("{}/v1/payments/tgen_unknown", sandbox.toss_url()))
            .header("authorization", format!("Basic {auth}"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    #[tokio::test]
    async fn the_toss_sandbox_accepts_only_its_printed_key_by_default() {
        let strict = options(false);
        let sandbox = Sandbox::start(&strict).await.unwrap();
        let printed = sandbox
            .env("tosspayments")
            .into_iter()
            .find(|(name, _)| *name == "TOSS_SECRET_KEY")
            .unwrap()
            .1;
        assert!(sandbox.banner(&strict).contains(&printed));
        assert_eq!(toss_status(&sandbox, &printed).await, 404);
        assert_eq!(
            toss_status(&sandbox, "test_sk_wrongKey00000000000000").await,
            401
        );

        let lenient = Sandbox::start(&options(true)).await.unwrap();
        assert_eq!(
            toss_status(&lenient, "test_sk_wrongKey00000000000000").await,
            404
        );
    }
}
