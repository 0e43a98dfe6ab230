//! `hanpay sandbox`: every registered fake PG (`hanpay::sandbox::fakes()`) as a local PG
//! for app developers, on fixed loopback addresses, delivering webhooks to local URLs as the
//! PGs send them (no tunnel needed).
//!
//! Each fake binds its own address and serves its PG's API and its control API under
//! `/__fake/…` there. Nothing here names a PG: a fake says how it starts, which variables point
//! an app at it, and what its banner section says.

use std::net::SocketAddr;

use hanpay::sandbox::{fake_ids, fakes};
use hanpay_fake::sandbox::{FakePlugin, SandboxFake, SandboxOptions};

/// How to run the sandbox.
#[derive(Clone, Default)]
pub struct Options {
    /// `(provider, address)`; `provider = None` applies to every fake (`127.0.0.1:0`).
    pub addrs: Vec<(Option<String>, SocketAddr)>,
    /// `(provider, url)` webhook targets.
    pub webhook_urls: Vec<(String, String)>,
    /// Redelivery speed-up: every PG delay divided by this.
    pub time_scale: u32,
    /// `(provider, name, value)`: a fake's own options (`--option tosspayments.relay_secret=S`).
    pub options: Vec<(String, String, String)>,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Option values may be secrets: names only.
        f.debug_struct("Options")
            .field("addrs", &self.addrs)
            .field("webhook_urls", &self.webhook_urls)
            .field("time_scale", &self.time_scale)
            .field(
                "options",
                &self
                    .options
                    .iter()
                    .map(|(p, n, _)| format!("{p}.{n}"))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// One started fake and its PG's display name.
pub struct Running {
    /// The PG's display name (`Toss Payments`).
    pub name: &'static str,
    /// The fake, its variables and its banner section.
    pub sandbox: SandboxFake,
}

/// A running sandbox. Stops when dropped.
pub struct Sandbox {
    /// Every started fake, in registration order.
    pub running: Vec<Running>,
}

fn invalid(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, message)
}

/// The fakes whose PG is compiled into this `hanpay`.
fn available() -> Vec<(&'static dyn FakePlugin, &'static str)> {
    fakes()
        .iter()
        .filter_map(|f| {
            hanpay::plugins()
                .iter()
                .find(|p| p.id() == f.id())
                .map(|p| (*f, p.name()))
        })
        .collect()
}

/// Checks that `provider` names a fake, or lists them.
pub fn check_provider(provider: &str, flag: &str) -> Result<(), String> {
    if available().iter().any(|(f, _)| f.id() == provider) {
        Ok(())
    } else {
        Err(format!(
            "unknown provider {provider:?} in {flag}: the sandbox has {}",
            fake_ids()
        ))
    }
}

impl Options {
    /// Checks every provider and option name before anything starts.
    pub fn check(&self) -> Result<(), String> {
        for (provider, _) in &self.addrs {
            if let Some(p) = provider {
                check_provider(p, "--addr")?;
            }
        }
        for (provider, _) in &self.webhook_urls {
            check_provider(provider, "--webhook-url")?;
        }
        for (provider, name, _) in &self.options {
            check_provider(provider, "--option")?;
            let Some((fake, _)) = available().into_iter().find(|(f, _)| f.id() == *provider) else {
                continue;
            };
            if !fake.options().iter().any(|(n, _)| n == name) {
                let known: Vec<&str> = fake.options().iter().map(|(n, _)| *n).collect();
                return Err(format!(
                    "unknown option {provider}.{name}: {provider} takes {}",
                    if known.is_empty() {
                        "no option".to_owned()
                    } else {
                        known.join(", ")
                    }
                ));
            }
        }
        Ok(())
    }

    fn for_fake(&self, fake: &dyn FakePlugin) -> SandboxOptions {
        let id = fake.id();
        let addr = self
            .addrs
            .iter()
            .rev()
            .find(|(p, _)| p.as_deref() == Some(id))
            .or_else(|| self.addrs.iter().rev().find(|(p, _)| p.is_none()))
            .map(|(_, a)| *a)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], fake.default_port())));
        SandboxOptions {
            addr,
            webhook_urls: self
                .webhook_urls
                .iter()
                .filter(|(p, _)| p == id)
                .map(|(_, u)| u.clone())
                .collect(),
            time_scale: self.time_scale.max(1),
            options: self
                .options
                .iter()
                .filter(|(p, _, _)| p == id)
                .map(|(_, n, v)| (n.clone(), v.clone()))
                .collect(),
        }
    }

    /// The help text listing every fake's options.
    pub fn help() -> String {
        let mut out = String::new();
        for (fake, name) in available() {
            out.push_str(&format!(
                "  {name}: --addr {}=127.0.0.1:{}\n",
                fake.id(),
                fake.default_port()
            ));
            for (option, help) in fake.options() {
                out.push_str(&format!("    --option {}.{option}=…  {help}\n", fake.id()));
            }
        }
        out
    }
}

impl Sandbox {
    /// Starts every fake.
    pub async fn start(options: &Options) -> std::io::Result<Sandbox> {
        options.check().map_err(invalid)?;
        let mut running = Vec::new();
        for (fake, name) in available() {
            let opts = options.for_fake(fake);
            let sandbox = fake.start_sandbox(&opts).await.map_err(|e| {
                std::io::Error::new(e.kind(), format!("{name} sandbox on {}: {e}", opts.addr))
            })?;
            running.push(Running { name, sandbox });
        }
        Ok(Sandbox { running })
    }

    /// The fake of `provider`.
    pub fn get(&self, provider: &str) -> Option<&Running> {
        self.running
            .iter()
            .find(|r| r.sandbox.fake.id() == provider)
    }

    /// The environment an application sets to use the sandbox (what `hanpay::Hanpay::from_env`
    /// reads), with `provider` as the default.
    pub fn env(&self, provider: &str) -> Vec<(&'static str, String)> {
        let mut env = vec![("HANPAY_PROVIDER", provider.to_owned())];
        for r in &self.running {
            env.extend(r.sandbox.env.iter().cloned());
        }
        env
    }

    /// The banner `hanpay sandbox` prints.
    pub fn banner(&self, options: &Options) -> String {
        let names: Vec<&str> = self.running.iter().map(|r| r.name).collect();
        let mut out = format!(
            "hanpay sandbox: a local {} for your app\n\n",
            names.join(", ")
        );
        for r in &self.running {
            out.push_str(&format!("  {:<14} {}\n", r.name, r.sandbox.fake.base_url()));
        }
        out.push_str("\nPoint your app at it (these are what hanpay::Hanpay::from_env reads):\n\n");
        let first = self
            .running
            .first()
            .map(|r| r.sandbox.fake.id())
            .unwrap_or_default();
        for (name, value) in self.env(first) {
            out.push_str(&format!("  export {name}={value}\n"));
        }
        // Durable webhook state by default: one SQLite file, created by the app at start-up.
        let db = std::env::temp_dir().join("hanpay-sandbox.db");
        out.push_str(&format!(
            "  export HANPAY_DATABASE_URL=sqlite://{}   # webhook state (Hanpay::open)\n",
            db.display()
        ));
        let others: Vec<&str> = self
            .running
            .iter()
            .skip(1)
            .map(|r| r.sandbox.fake.id())
            .collect();
        if !others.is_empty() {
            out.push_str(&format!(
                "  # switch the app to another PG with: export HANPAY_PROVIDER={}\n",
                others.join("|")
            ));
        }
        out.push_str(&format!(
            "\nWebhooks are sent as the PGs send them and redelivered on their schedules ({}x faster):\n",
            options.time_scale.max(1)
        ));
        if options.webhook_urls.is_empty() {
            out.push_str(&format!(
                "  none configured: add --webhook-url {first}=http://127.0.0.1:3000/webhooks/{first}\n"
            ));
        }
        for (provider, url) in &options.webhook_urls {
            out.push_str(&format!("  {provider:<13} -> {url}\n"));
        }
        for r in &self.running {
            out.push_str(&format!("\n── {} ──\n", r.name));
            out.push_str(&r.sandbox.guide);
        }
        out.push_str("\nEvery fake's options: hanpay sandbox --help\n");
        out.push_str("Debug a webhook your app refused: hanpay webhook verify --help\n");
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
        let mut options = Options {
            addrs: vec![(None, SocketAddr::from(([127, 0, 0, 1], 0)))],
            time_scale: 60,
            ..Options::default()
        };
        if toss_accept_any_key {
            options.options.push((
                "tosspayments".into(),
                "accept_any_key".into(),
                "true".into(),
            ));
        }
        options
    }

    async fn toss_status(sandbox: &Sandbox, key: &str) -> u16 {
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{key}:"));
        let url = sandbox.get("tosspayments").unwrap().sandbox.fake.base_url();
        reqwest::Client::new()
            .get(format!("{url}/v1/payments/tgen_unknown"))
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

    #[tokio::test]
    async fn every_registered_fake_is_started_and_unknown_names_list_them() {
        let sandbox = Sandbox::start(&options(false)).await.unwrap();
        let started: Vec<&str> = sandbox
            .running
            .iter()
            .map(|r| r.sandbox.fake.id())
            .collect();
        let registered: Vec<&str> = hanpay::plugins()
            .iter()
            .map(|p| p.id())
            .filter(|id| hanpay::sandbox::fake(id).is_some())
            .collect();
        assert_eq!(started, registered);
        assert!(started.contains(&"nicepay"), "{started:?}");

        let mut bad = options(false);
        bad.webhook_urls
            .push(("paypal".into(), "http://127.0.0.1:1/".into()));
        let err = Sandbox::start(&bad).await.err().unwrap().to_string();
        assert!(err.contains("paypal") && err.contains("nicepay"), "{err}");

        let mut bad = options(false);
        bad.options
            .push(("portone".into(), "relay_secret".into(), "s".into()));
        let err = Sandbox::start(&bad).await.err().unwrap().to_string();
        assert!(err.contains("portone takes no option"), "{err}");
    }
}
