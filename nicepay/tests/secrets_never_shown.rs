//! Every public NICEPAY settings, builder, client, verifier, billing and error type, built with
//! known secrets and formatted with `{:?}` (and `{}` where it has one): no secret appears.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hanpay_core::{PaymentError, Secret, WebhookRequest, WebhookVerifier};
use hanpay_nicepay::{
    BillingCard, NicePay, NicePaySettings, NicePayWebhookVerifier, NICEPAY_CLIENT_ID,
    NICEPAY_SECRET_KEY,
};

const SECRET_KEY: &str = "KnownNicePaySecretKey00000000001";
const CARD_NUMBER: &str = "4111111111111111";
/// All but the last 4 digits, which a masked card number may show.
const CARD_PREFIX: &str = "411111111111";
const ID_NO: &str = "800101";
const CARD_PASSWORD: &str = "42";
const BID: &str = "BIKYnicepay0000000001";

fn assert_clean(what: &str, shown: &str) {
    for secret in [SECRET_KEY, CARD_PREFIX, ID_NO, BID] {
        assert!(
            !shown.contains(secret),
            "{what} shows a secret ({secret}): {shown}"
        );
    }
    // The 2-digit card password is too short to search for in free text; it must be masked
    // where it is a field.
    assert!(
        !shown.contains(&format!("\"{CARD_PASSWORD}\"")),
        "{what} shows the card password: {shown}"
    );
}

fn debug(what: &str, value: &dyn std::fmt::Debug) {
    assert_clean(what, &format!("{value:?}"));
    assert_clean(what, &format!("{value:#?}"));
}

#[test]
fn no_public_nicepay_type_shows_a_secret() {
    let env = |name: &str| match name {
        NICEPAY_CLIENT_ID => Some("S2_af4543a0be4d49a98122e01ec2059a56".to_owned()),
        NICEPAY_SECRET_KEY => Some(SECRET_KEY.to_owned()),
        _ => None,
    };
    let settings = NicePaySettings::from_env_with(env).unwrap().unwrap();
    debug("NicePaySettings", &settings);

    let builder = NicePay::builder("S2_af4543a0be4d49a98122e01ec2059a56", SECRET_KEY);
    debug("NicePayBuilder", &builder);
    let client = builder.build().unwrap();
    debug("NicePay", &client);
    debug(
        "NicePay (from settings)",
        &settings.build_provider().unwrap(),
    );

    let verifier_builder = NicePayWebhookVerifier::builder(SECRET_KEY);
    debug("NicePayWebhookVerifierBuilder", &verifier_builder);
    let verifier = verifier_builder.without_allowlist().build().unwrap();
    debug("NicePayWebhookVerifier", &verifier);

    let card = BillingCard::new(CARD_NUMBER, "30", "12", ID_NO, CARD_PASSWORD).unwrap();
    debug("BillingCard", &card);

    // A registered billing key keeps its `bid` as a `Secret`.
    debug("Secret (bid)", &Secret::new(BID));

    // A refused card and a settings error name the problem, never the value.
    let refused: PaymentError =
        BillingCard::new(format!("{CARD_NUMBER}x"), "30", "12", ID_NO, CARD_PASSWORD).unwrap_err();
    debug("PaymentError (card)", &refused);
    assert_clean("PaymentError (card)", &refused.to_string());
    let only_key = |name: &str| (name == NICEPAY_SECRET_KEY).then(|| SECRET_KEY.to_owned());
    let error = NicePaySettings::from_env_with(only_key).unwrap_err();
    debug("ConfigError", &error);
    assert_clean("ConfigError", &error.to_string());

    // A rejected webhook (wrong signature) explains itself without the key.
    let body = format!(
        r#"{{"resultCode":"0000","resultMsg":"ok","tid":"UT0000113m01012111051714341073","orderId":"o-1","amount":1004,"ediDate":"2021-11-05T17:14:35.150+0900","signature":"{}","status":"paid","payMethod":"card"}}"#,
        "0".repeat(64)
    );
    let headers = http::HeaderMap::new();
    let request = WebhookRequest::new(&headers, bytes::Bytes::from(body));
    let rejected = verifier.verify(&request).unwrap_err();
    debug("WebhookError", &rejected);
    assert_clean("WebhookError", &rejected.to_string());
}
