//! Request bodies, well-formed or not, never give a 5xx.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::Harness;

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[-0-9.eE]{1,24}".prop_map(|s| serde_json::from_str(&s).unwrap_or(Value::String(s))),
        ".{0,40}".prop_map(Value::String),
    ]
}

fn field(name: &'static str) -> impl Strategy<Value = Option<(String, Value)>> {
    proptest::option::of(scalar().prop_map(move |v| (name.to_owned(), v)))
}

/// An object with some of the API's field names holding arbitrary values.
fn body() -> impl Strategy<Value = String> {
    let fields = (
        field("provider"),
        field("payment_key"),
        field("order_id"),
        field("amount"),
        field("currency"),
        field("reason"),
        field("tax_free_amount"),
        field("bank"),
        field("order_name"),
        field("customer_name"),
        field("valid_hours"),
    );
    prop_oneof![
        4 => fields.prop_map(|f| {
            let mut map = serde_json::Map::new();
            let all = [f.0, f.1, f.2, f.3, f.4, f.5, f.6, f.7, f.8, f.9, f.10];
            for (k, v) in all.into_iter().flatten() {
                map.insert(k, v);
            }
            Value::Object(map).to_string()
        }),
        1 => ".{0,64}".prop_map(|s| s),
    ]
}

#[test]
fn fuzzed_bodies_never_give_a_5xx() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let h = runtime.block_on(Harness::start());
    let paths = [
        "/v1/payments/confirm".to_owned(),
        "/v1/virtual-accounts".to_owned(),
        "/v1/payments/tosspayments/tgen_fuzz_0001/cancel".to_owned(),
        "/v1/payments/portone/fuzz-0001/cancel".to_owned(),
    ];
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 96,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    runner
        .run(
            &(0..paths.len(), body(), proptest::option::of("[ -~]{0,40}")),
            |(p, body, key)| {
                let (status, answer) =
                    runtime.block_on(h.post_raw(&paths[p], body.clone(), key.as_deref()));
                prop_assert!(status < 500, "{} {body} → {status} {answer}", paths[p]);
                Ok(())
            },
        )
        .unwrap();
    drop(h);
    runtime.shutdown_background();
}
