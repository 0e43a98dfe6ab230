//! Small helpers for tests that talk to a fake PG over real HTTP: send a request and read its
//! answer as JSON.

use serde_json::Value;

/// Sends `request` and returns the status and the body as JSON (`Value::Null` when the body is
/// not JSON). A dropped connection fails the calling test: a fake must always answer.
#[allow(clippy::expect_used)]
pub async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request
        .send()
        .await
        .expect("the fake answers (it did not drop the connection)");
    let status = response.status().as_u16();
    let text = response
        .text()
        .await
        .expect("the fake's answer is read whole");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// `POST url` with no body, through [`send`].
pub async fn post(url: impl reqwest::IntoUrl) -> (u16, Value) {
    send(reqwest::Client::new().post(url)).await
}
