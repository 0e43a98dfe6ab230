//! The committed `openapi.json` (at the repository root) is the code's document.

#[test]
fn openapi_json_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.json");
    let generated = hanpay_server::openapi::document();
    if std::env::var_os("HANPAY_UPDATE_OPENAPI").is_some() {
        std::fs::write(path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    if committed != generated {
        panic!(
            "openapi.json differs from the code: regenerate it with \
             `HANPAY_UPDATE_OPENAPI=1 cargo test -p hanpay-server openapi` \
             (or `hanpay serve --print-openapi > openapi.json`)"
        );
    }
    let doc: serde_json::Value = serde_json::from_str(&generated).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
}
