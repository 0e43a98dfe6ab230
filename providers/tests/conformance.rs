//! The core conformance suite through the facade, against both fake PGs over real HTTP. The
//! test code is the same for both: only `HANPAY_PROVIDER` differs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(all(feature = "tosspayments", feature = "portone"))]

mod common;

use hanpay::{Hanpay, PaymentProvider};
use hanpay_testkit::conformance::run_all;

async fn conformance_selected_by_configuration(provider: &str) {
    let fakes = common::Fakes::start().await;
    let hanpay = Hanpay::from_config(&fakes.config(provider)).unwrap();
    assert_eq!(hanpay.default_name(), provider);
    assert_eq!(hanpay.names(), vec!["portone", "tosspayments"]);

    let gateway = hanpay.gateway();
    assert_eq!(gateway.id().as_str(), provider);
    let driver = common::Driver {
        fakes: &fakes,
        provider: hanpay.default_name().to_owned(),
    };
    let report = run_all(&gateway, &driver).await;
    println!("{report}");
    report.assert_passed();
    assert_eq!(report.skipped().count(), 0, "{report}");
}

#[tokio::test]
async fn conformance_through_the_facade_on_toss() {
    conformance_selected_by_configuration("tosspayments").await;
}

#[tokio::test]
async fn conformance_through_the_facade_on_portone() {
    conformance_selected_by_configuration("portone").await;
}

#[tokio::test]
async fn a_refused_key_names_the_setting() {
    let fakes = common::Fakes::start().await;
    let mut env = fakes.env("tosspayments");
    env.insert(
        "TOSS_SECRET_KEY".into(),
        "test_ck_clientKeyByMistake".into(),
    );
    let config = hanpay::HanpayConfig::from_env_with(|n| env.get(n).cloned()).unwrap();
    let err = Hanpay::from_config(&config).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("TOSS_SECRET_KEY"), "{text}");
    assert!(text.contains("client key"), "{text}");
    assert!(!text.contains("clientKeyByMistake"), "{text}");
}
