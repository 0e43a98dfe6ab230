//! The core conformance suite through the facade, against every registered PG's fake over real
//! HTTP. The test code is the same for every PG: only `HANPAY_PROVIDER` differs, and a new PG
//! is covered once its plugin and its fake are listed (`hanpay::plugins()`,
//! `hanpay::sandbox::fakes()`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use hanpay::sandbox::fake;
use hanpay::sandbox::kit::sandbox::RunningFake;
use hanpay::{Hanpay, HanpayConfig, PaymentProvider};
use hanpay_testkit::conformance::run_all;

/// Every registered PG's fake, started.
async fn start_fakes() -> Vec<Box<dyn RunningFake>> {
    let mut running = Vec::new();
    for plugin in hanpay::plugins() {
        let fake = fake(plugin.id()).unwrap_or_else(|| panic!("no fake for {}", plugin.id()));
        running.push(fake.start().await.unwrap());
    }
    running
}

/// The environment an operator would set, pointing at the fakes.
fn env(fakes: &[Box<dyn RunningFake>], provider: &str) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = fakes
        .iter()
        .flat_map(|f| f.env())
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    env.insert("HANPAY_PROVIDER".into(), provider.to_owned());
    env
}

#[tokio::test]
async fn conformance_through_the_facade_on_every_registered_pg() {
    let fakes = start_fakes().await;
    let mut registered: Vec<&str> = hanpay::plugins().iter().map(|p| p.id()).collect();
    registered.sort_unstable();
    for driver in &fakes {
        let provider = driver.id();
        let env = env(&fakes, provider);
        let config = HanpayConfig::from_env_with(|name| env.get(name).cloned()).unwrap();
        let hanpay = Hanpay::from_config(&config).unwrap();
        assert_eq!(hanpay.default_name(), provider);
        assert_eq!(hanpay.names(), registered);

        let gateway = hanpay.gateway();
        assert_eq!(gateway.id().as_str(), provider);
        let report = run_all(&gateway, driver.as_ref()).await;
        println!("{provider}:\n{report}");
        report.assert_passed();
        assert!(report.passed().count() >= 9, "{provider}: {report}");
    }
}

#[cfg(feature = "tosspayments")]
#[tokio::test]
async fn a_refused_key_names_the_setting() {
    let fakes = start_fakes().await;
    let mut env = env(&fakes, "tosspayments");
    env.insert(
        "TOSS_SECRET_KEY".into(),
        "test_ck_clientKeyByMistake".into(),
    );
    let config = HanpayConfig::from_env_with(|n| env.get(n).cloned()).unwrap();
    let err = Hanpay::from_config(&config).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("TOSS_SECRET_KEY"), "{text}");
    assert!(text.contains("client key"), "{text}");
    assert!(!text.contains("clientKeyByMistake"), "{text}");
}
