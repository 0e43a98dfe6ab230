//! Logs and metrics wiring: JSON log lines on standard output (`RUST_LOG`, default `info`),
//! each request's inside a span carrying its `request_id` (the `x-request-id` header, made
//! when absent or unacceptable and echoed in the answer), and the PG-call metrics layer.

use std::sync::OnceLock;

use axum::http::Request;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Span;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::filter::{filter_fn, EnvFilter};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::{FormatFields, FormattedFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use super::metrics::PgCallMetrics;

/// Installs the process's subscriber once: JSON logs (when `logs`) and the metrics layer,
/// each with its own filter, so that `RUST_LOG=warn` does not switch the metrics off.
pub fn init(logs: bool) {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let _ = super::metrics::handle();
        let pg_calls = PgCallMetrics.with_filter(filter_fn(|m| m.name() == "hanpay.pg_call"));
        let json = logs.then(|| {
            tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(true)
                .with_span_list(false)
                .fmt_fields(SpanFields)
                .with_writer(std::io::stdout)
                .with_filter(
                    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
                )
        });
        let _ = tracing_subscriber::registry()
            .with(pg_calls)
            .with(json)
            .try_init();
    });
}

/// How the JSON logs keep a span's fields: [`JsonFields`], except that fields recorded after
/// the span's creation are appended to its JSON object, where `JsonFields` parses the object
/// and writes it again for every `record` (three times per PG call, for the `hanpay.pg_call`
/// span's outcome). A line written inside the span reads the object into a map (the JSON
/// formatter parses it), so a field recorded twice shows its last value, as before, and the
/// keys come out in the same (sorted) order.
#[derive(Debug, Default, Clone, Copy)]
pub struct SpanFields;

impl<'writer> FormatFields<'writer> for SpanFields {
    fn format_fields<R: RecordFields>(
        &self,
        writer: Writer<'writer>,
        fields: R,
    ) -> std::fmt::Result {
        JsonFields::new().format_fields(writer, fields)
    }

    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> std::fmt::Result {
        let mut more = String::new();
        JsonFields::new().format_fields(Writer::new(&mut more), fields)?;
        let (Some(head), Some(tail)) = (current.fields.strip_suffix('}'), more.strip_prefix('{'))
        else {
            current.fields = more;
            return Ok(());
        };
        match (head, tail) {
            (_, "}") => {}
            ("{", _) => current.fields = more,
            (head, tail) => {
                let keep = head.len();
                current.fields.truncate(keep);
                current.fields.push(',');
                current.fields.push_str(tail);
            }
        }
        Ok(())
    }
}

/// The longest caller-sent `x-request-id` kept, in characters.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// Whether a caller's `x-request-id` may be echoed and logged as it is: 1 to
/// [`MAX_REQUEST_ID_LEN`] visible ASCII characters (0x21–0x7E), so no space, control byte,
/// non-ASCII byte or unbounded text reaches a log line or an answer.
pub fn acceptable_request_id(id: &[u8]) -> bool {
    !id.is_empty() && id.len() <= MAX_REQUEST_ID_LEN && id.iter().all(|b| b.is_ascii_graphic())
}

/// Drops the caller's `x-request-id` unless exactly one acceptable id was sent
/// ([`acceptable_request_id`]); the request-id layer inside then makes a new one. Runs
/// outermost, so the span, the logs and the answer only ever see an acceptable id.
///
/// [`app`](crate::app) applies [`sanitize_request_ids`] as a plain `map_request` layer (no
/// boxed future per request); this is the same as an axum `from_fn` middleware.
pub async fn sanitize_request_id(mut request: axum::extract::Request, next: Next) -> Response {
    sanitize_request_ids(request.headers_mut());
    next.run(request).await
}

/// [`sanitize_request_id`]'s work on a request's headers: removes every `x-request-id` unless
/// exactly one acceptable id is there.
pub fn sanitize_request_ids(headers: &mut axum::http::HeaderMap) {
    let mut ids = headers.get_all(REQUEST_ID).iter();
    let keep = match (ids.next(), ids.next()) {
        (None, _) => true,
        (Some(id), None) => acceptable_request_id(id.as_bytes()),
        (Some(_), Some(_)) => false,
    };
    if !keep {
        headers.remove(REQUEST_ID);
    }
}

/// [`sanitize_request_ids`] on a request, for `tower::util::MapRequestLayer`.
pub fn sanitized<B>(mut request: Request<B>) -> Request<B> {
    sanitize_request_ids(request.headers_mut());
    request
}

const REQUEST_ID: &str = "x-request-id";

/// The span of one request: method, route path and request id.
pub fn request_span<B>(request: &Request<B>) -> Span {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "request",
        method = request.method().as_str(),
        path = request.uri().path(),
        request_id
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt;

    use super::SpanFields;

    /// The lines a JSON layer with [`SpanFields`] (`append`) or plain `JsonFields` writes for
    /// the same spans and events.
    fn lines(append: bool) -> Vec<serde_json::Value> {
        let out = Arc::new(Mutex::new(Vec::<u8>::new()));
        let writer = {
            let out = Arc::clone(&out);
            move || Writer(Arc::clone(&out))
        };
        let layer = tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .without_time()
            .with_writer(writer);
        let emit = || {
            let span = tracing::info_span!(
                "hanpay.pg_call",
                provider = "tosspayments",
                operation = "lookup",
                outcome = tracing::field::Empty,
                latency_ms = tracing::field::Empty,
            );
            let _in = span.enter();
            tracing::info!("before");
            span.record("outcome", "retryable");
            span.record("latency_ms", 3_u64);
            tracing::info!("between");
            span.record("outcome", "ok");
            tracing::info!(answer = 200, "after");
            let empty = tracing::info_span!("empty");
            empty.in_scope(|| tracing::info!("in an empty span"));
        };
        if append {
            tracing::subscriber::with_default(
                tracing_subscriber::registry().with(layer.fmt_fields(SpanFields)),
                emit,
            );
        } else {
            tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), emit);
        }
        let text = String::from_utf8(out.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    struct Writer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Writer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn span_fields_read_as_with_json_fields() {
        let appended = lines(true);
        assert_eq!(appended, lines(false));
        assert_eq!(appended.len(), 4);
        assert_eq!(appended[2]["span"]["outcome"], "ok", "{:?}", appended[2]);
        assert_eq!(appended[2]["span"]["latency_ms"], 3);
        assert_eq!(appended[2]["span"]["provider"], "tosspayments");
        assert_eq!(appended[0]["span"].get("outcome"), None);
    }
}
