//! The one HTTP send loop of every PG crate (feature `transport`).
//!
//! A PG crate describes a call ([`Call`]: method, path, query, body, idempotency key) and
//! supplies a small [`TransportStrategy`]: the headers it adds, how it decodes an answer into an
//! error, how it classifies a failed attempt (retry, final, replayed) and whether a
//! state-changing call may be re-sent ([`Resend`]). The [`Transport`] sends it: per-call
//! timeouts ([`TransportOptions`]), one `hanpay.pg_call` span per attempt or per call
//! ([`observe::pg_call_span`]), backoff from the
//! [`RetryPolicy`], and the rule that a call whose answer was lost stays
//! [`ErrorKind::OutcomeUnknown`] until an answer for its key settles it.
//!
//! The auth header is the PG's, built by its crate and handed over marked sensitive: the
//! transport's `Debug` never shows it.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Method};
use tracing::{Instrument as _, Span};

use crate::{observe, ErrorKind, PaymentError, ProviderId, RetryPolicy};

/// Timeouts and client settings of a PG's transport: the one options type every PG crate
/// fills from its own documented defaults.
///
/// ```
/// use hanpay_core::transport::TransportOptions;
/// use std::time::Duration;
/// let options = TransportOptions::new(Duration::from_secs(5))
///     .lookup_timeout(Duration::from_secs(15))
///     .payment_timeout(Duration::from_secs(30));
/// assert_eq!(options.timeout_for(&http::Method::GET), Some(Duration::from_secs(15)));
/// assert_eq!(options.timeout_for(&http::Method::POST), Some(Duration::from_secs(30)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportOptions {
    connect: Duration,
    read: Option<Duration>,
    client_timeout: Option<Duration>,
    lookup: Option<Duration>,
    payment: Option<Duration>,
    user_agent: Option<&'static str>,
    follow_redirects: bool,
}

impl TransportOptions {
    /// Options with `connect` as the connect timeout and nothing else set: no read timeout,
    /// no per-call timeout, reqwest's own user agent and redirect policy.
    pub fn new(connect: Duration) -> Self {
        TransportOptions {
            connect,
            read: None,
            client_timeout: None,
            lookup: None,
            payment: None,
            user_agent: None,
            follow_redirects: true,
        }
    }

    /// Sets the read timeout of a client built by [`TransportOptions::build_client`] (it
    /// restarts on every byte received).
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read = Some(timeout);
        self
    }

    /// Sets the overall timeout of a client built by [`TransportOptions::build_client`].
    pub fn client_timeout(mut self, timeout: Duration) -> Self {
        self.client_timeout = Some(timeout);
        self
    }

    /// Sets the timeout of each `GET` (a lookup), set on the request itself so that it bounds
    /// a caller's own client too.
    pub fn lookup_timeout(mut self, timeout: Duration) -> Self {
        self.lookup = Some(timeout);
        self
    }

    /// Sets the timeout of each call other than `GET` (money- or state-moving), set on the
    /// request itself.
    pub fn payment_timeout(mut self, timeout: Duration) -> Self {
        self.payment = Some(timeout);
        self
    }

    /// Sets the user agent of a client built by [`TransportOptions::build_client`].
    pub fn user_agent(mut self, user_agent: &'static str) -> Self {
        self.user_agent = Some(user_agent);
        self
    }

    /// A client built by [`TransportOptions::build_client`] follows no redirect.
    pub fn no_redirects(mut self) -> Self {
        self.follow_redirects = false;
        self
    }

    /// The connect timeout.
    pub fn connect(&self) -> Duration {
        self.connect
    }

    /// The read timeout, if any.
    pub fn read(&self) -> Option<Duration> {
        self.read
    }

    /// The per-request timeout of a call with `method`, if any.
    pub fn timeout_for(&self, method: &Method) -> Option<Duration> {
        if method == Method::GET {
            self.lookup
        } else {
            self.payment
        }
    }

    /// A `reqwest::Client` with these options (for PGs whose caller brings no client).
    pub fn build_client(&self) -> Result<reqwest::Client, reqwest::Error> {
        let mut builder = reqwest::Client::builder().connect_timeout(self.connect);
        if let Some(read) = self.read {
            builder = builder.read_timeout(read);
        }
        if let Some(timeout) = self.client_timeout {
            builder = builder.timeout(timeout);
        }
        if let Some(agent) = self.user_agent {
            builder = builder.user_agent(agent);
        }
        if !self.follow_redirects {
            builder = builder.redirect(reqwest::redirect::Policy::none());
        }
        builder.build()
    }
}

/// One call, as a PG crate describes it; the [`Transport`] sends it.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    /// The operation's name (`"confirm"`, `"payment"`, …), in spans and errors.
    pub operation: &'static str,
    /// The HTTP method. `GET` is a lookup; anything else may change state at the PG.
    pub method: Method,
    /// The path, appended to the base URL (already escaped).
    pub path: &'a str,
    /// Query pairs, encoded by the transport.
    pub query: &'a [(&'a str, &'a str)],
    /// The request body, if any.
    pub body: Option<Bytes>,
    /// The idempotency key, in spans and on every error; the strategy decides how it is sent.
    pub idempotency_key: Option<&'a str>,
}

impl<'a> Call<'a> {
    /// A `GET path`.
    pub fn get(operation: &'static str, path: &'a str) -> Self {
        Call {
            operation,
            method: Method::GET,
            path,
            query: &[],
            body: None,
            idempotency_key: None,
        }
    }

    /// A `POST path` with `body`.
    pub fn post(operation: &'static str, path: &'a str, body: Bytes) -> Self {
        Call {
            operation,
            method: Method::POST,
            path,
            query: &[],
            body: Some(body),
            idempotency_key: None,
        }
    }

    /// Adds query pairs.
    pub fn with_query(mut self, query: &'a [(&'a str, &'a str)]) -> Self {
        self.query = query;
        self
    }

    /// Sets the idempotency key.
    pub fn with_idempotency_key(mut self, key: &'a str) -> Self {
        self.idempotency_key = Some(key);
        self
    }

    /// `true` for a `GET`: it changes nothing at the PG and may always be re-sent.
    pub fn is_lookup(&self) -> bool {
        self.method == Method::GET
    }

    /// Attaches the call's idempotency key (if any) to `error`.
    pub fn keyed(&self, error: PaymentError) -> PaymentError {
        match self.idempotency_key {
            Some(key) => error.with_idempotency_key(key),
            None => error,
        }
    }
}

/// Whether a call that may change state (anything but `GET`) may be sent again once it may
/// have reached the PG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resend {
    /// Yes, with the same idempotency key: the PG answers a repeated key with the first
    /// request's result (Toss, PortOne).
    SameKey,
    /// Never: only a connection refused before anything was sent is retried; a lost answer or
    /// a 5xx is [`ErrorKind::OutcomeUnknown`] and the caller looks the payment up (NICEPAY,
    /// which has no idempotency key).
    Never,
}

/// Whether a PG's `hanpay.pg_call` span covers one attempt or the whole call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanScope {
    /// One span per attempt, its latency that attempt's.
    PerAttempt,
    /// One span per call, recording the last attempt's outcome and the latency since the
    /// call started.
    PerCall,
}

/// How an attempt failed.
#[derive(Debug)]
pub enum AttemptFailure<'a> {
    /// The PG answered, and [`TransportStrategy::decode`] read an error (not keyed yet: the
    /// transport keys the error it finally returns).
    Answer {
        /// The HTTP status.
        status: u16,
        /// The body.
        body: &'a Bytes,
        /// The decoded error.
        error: PaymentError,
    },
    /// Nothing was sent: the connection could not be made.
    NotSent(reqwest::Error),
    /// The request was sent (or may have been) and its answer was lost: a timeout, a
    /// connection lost, a body that could not be read.
    Lost(reqwest::Error),
}

/// What the attempts of one call so far have shown.
#[derive(Debug, Default, Clone)]
pub struct History {
    /// Attempts made, the failed one being classified included.
    pub attempts: u32,
    /// Whether a state-changing attempt's answer was lost (it may have been processed).
    pub answer_lost: bool,
    /// The body of the previous error answer, if any (before the one being classified).
    pub previous_answer: Option<Bytes>,
}

/// What to do after a failed attempt.
#[derive(Debug)]
pub enum Action {
    /// Try again (if the [`RetryPolicy`] allows) after a backoff of at least `floor`; `error`
    /// is the one returned when no attempt is left.
    Retry {
        /// The error if this was the last attempt.
        error: PaymentError,
        /// The least backoff the PG asks for.
        floor: Duration,
    },
    /// Stop with this error.
    Fail(PaymentError),
    /// Stop: the PG replays a completed error for this key ([`SendError::Replayed`]).
    Replayed(PaymentError),
}

/// A strategy's verdict on a failed attempt: the span's outcome label and the action.
#[derive(Debug)]
pub struct Verdict {
    /// The `outcome` recorded on the span (`"retryable"`, `"transport"`, `"outcome_unknown"`,
    /// …).
    pub outcome: &'static str,
    /// What the transport does next.
    pub action: Action,
}

impl Verdict {
    /// Retry, returning `error` if no attempt is left.
    pub fn retry(outcome: &'static str, error: PaymentError, floor: Duration) -> Self {
        Verdict {
            outcome,
            action: Action::Retry { error, floor },
        }
    }

    /// Stop with `error`.
    pub fn fail(outcome: &'static str, error: PaymentError) -> Self {
        Verdict {
            outcome,
            action: Action::Fail(error),
        }
    }

    /// Stop: the PG replays `error` for the key.
    pub fn replayed(outcome: &'static str, error: PaymentError) -> Self {
        Verdict {
            outcome,
            action: Action::Replayed(error),
        }
    }
}

/// Why a call failed.
#[derive(Debug)]
pub enum SendError {
    /// A final error.
    Failed(PaymentError),
    /// The same key got the same transient error twice: the PG may be replaying a completed
    /// error for this key. Query the payment before any attempt with a new key.
    Replayed(PaymentError),
}

impl SendError {
    /// The error, whichever the variant.
    pub fn into_error(self) -> PaymentError {
        match self {
            SendError::Failed(e) | SendError::Replayed(e) => e,
        }
    }
}

/// What a PG tells the [`Transport`] (reqwest-retry's `RetryableStrategy`, widened to the
/// PG's headers and error decoder). The provided methods are the common rules; a PG overrides
/// one only where it differs, and may call [`default_classify`] or [`default_exhausted`] for
/// the rest.
pub trait TransportStrategy: Send + Sync {
    /// The PG's provider id, on spans and errors.
    fn provider(&self) -> ProviderId;

    /// The PG's name in messages (`"Toss"`).
    fn pg_name(&self) -> &'static str;

    /// Whether a state-changing call may be re-sent once it may have reached the PG.
    fn resend(&self) -> Resend;

    /// Whether the span covers an attempt or the call.
    fn span_scope(&self) -> SpanScope {
        SpanScope::PerAttempt
    }

    /// Adds the PG's headers (content type, idempotency key, accept…) to one attempt's
    /// request. The transport has set the method, URL, `Authorization`, timeout and query;
    /// it sets the body after this.
    fn prepare(&self, request: reqwest::RequestBuilder, call: &Call<'_>)
        -> reqwest::RequestBuilder;

    /// The error an answer carries, or `None` when it is a success.
    fn decode(&self, operation: &'static str, status: u16, body: &[u8]) -> Option<PaymentError>;

    /// The HTTP status recorded on the span of a successful answer with `status`. The default
    /// records it as it is; a PG whose spans have always said `200` for any success keeps
    /// doing so.
    fn success_status(&self, status: u16) -> u16 {
        status
    }

    /// The least backoff before retrying after `error` (a PG asking for a pause).
    fn retry_floor(&self, _error: &PaymentError) -> Duration {
        Duration::ZERO
    }

    /// Classifies a failed attempt. The default is [`default_classify`].
    fn classify(&self, call: &Call<'_>, failure: AttemptFailure<'_>, history: &History) -> Verdict {
        default_classify(self, call, failure, history)
    }

    /// The error returned when the retries ran out after `last`. The default is
    /// [`default_exhausted`].
    fn exhausted(&self, call: &Call<'_>, last: PaymentError, history: &History) -> PaymentError {
        default_exhausted(self, call, last, history)
    }
}

/// The common classification.
///
/// - An error answer: final unless [`ErrorKind::Retryable`]. A retryable one is retried after
///   [`TransportStrategy::retry_floor`], except on a state-changing call that must not be
///   re-sent ([`Resend::Never`]): there a 5xx is [`ErrorKind::OutcomeUnknown`] and anything
///   else final.
/// - Nothing sent: retried, as [`ErrorKind::Transport`].
/// - Answer lost: a lookup is retried as [`ErrorKind::Transport`]; a state-changing call is
///   [`ErrorKind::OutcomeUnknown`], retried with the same key ([`Resend::SameKey`]) or final
///   ([`Resend::Never`]).
pub fn default_classify<S: TransportStrategy + ?Sized>(
    strategy: &S,
    call: &Call<'_>,
    failure: AttemptFailure<'_>,
    _history: &History,
) -> Verdict {
    match failure {
        AttemptFailure::Answer { status, error, .. } => {
            let error = call.keyed(error);
            let outcome = error.kind().as_str();
            if error.kind() != ErrorKind::Retryable {
                return Verdict::fail(outcome, error);
            }
            if !call.is_lookup() && strategy.resend() == Resend::Never {
                if status >= 500 {
                    let unknown = PaymentError::new(
                        ErrorKind::OutcomeUnknown,
                        format!(
                            "{} answered HTTP {status}; whether the call took effect is unknown: \
                             look the payment up before retrying",
                            strategy.pg_name()
                        ),
                    )
                    .with_provider(strategy.provider())
                    .with_operation(call.operation)
                    .with_source(error);
                    return Verdict::fail(ErrorKind::OutcomeUnknown.as_str(), call.keyed(unknown));
                }
                return Verdict::fail(outcome, error);
            }
            let floor = strategy.retry_floor(&error);
            Verdict::retry(outcome, error, floor)
        }
        AttemptFailure::NotSent(e) => Verdict::retry(
            "transport",
            transport_error(strategy, call, ErrorKind::Transport, e),
            Duration::ZERO,
        ),
        AttemptFailure::Lost(e) if call.is_lookup() => Verdict::retry(
            "transport",
            transport_error(strategy, call, ErrorKind::Transport, e),
            Duration::ZERO,
        ),
        AttemptFailure::Lost(e) => {
            let error = transport_error(strategy, call, ErrorKind::OutcomeUnknown, e);
            match strategy.resend() {
                Resend::SameKey => Verdict::retry("outcome_unknown", error, Duration::ZERO),
                Resend::Never => Verdict::fail("outcome_unknown", error),
            }
        }
    }
}

/// The common error when the retries ran out: `last`, unless an earlier attempt's answer was
/// lost and `last` does not say the outcome is unknown (a gateway error or a refused
/// connection after a lost answer says nothing about the request whose answer was lost: it
/// may have been processed). Then [`ErrorKind::OutcomeUnknown`], with `last` as its source.
pub fn default_exhausted<S: TransportStrategy + ?Sized>(
    strategy: &S,
    call: &Call<'_>,
    last: PaymentError,
    history: &History,
) -> PaymentError {
    if !history.answer_lost || last.kind() == ErrorKind::OutcomeUnknown {
        return last;
    }
    let unknown = PaymentError::new(
        ErrorKind::OutcomeUnknown,
        format!(
            "an answer from {} was lost and none of {} attempts with the same idempotency key \
             settled it (the last: {last}); the outcome is unknown: look the payment up before \
             retrying",
            strategy.pg_name(),
            history.attempts
        ),
    )
    .with_provider(strategy.provider())
    .with_operation(call.operation)
    .with_source(last);
    call.keyed(unknown)
}

/// What went wrong with a connection, in words: `"timed out"`, `"could not connect"` or
/// `"lost the connection"`.
pub fn describe(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "lost the connection"
    }
}

/// The common error for a failed connection: `the call to <PG> <what>`, and for
/// [`ErrorKind::OutcomeUnknown`] the advice to look the payment up; the source is the reqwest
/// error without its URL; keyed.
pub fn transport_error<S: TransportStrategy + ?Sized>(
    strategy: &S,
    call: &Call<'_>,
    kind: ErrorKind,
    e: reqwest::Error,
) -> PaymentError {
    let what = describe(&e);
    let message = if kind == ErrorKind::OutcomeUnknown {
        format!(
            "the call to {} {what}; the outcome is unknown: look the payment up before retrying",
            strategy.pg_name()
        )
    } else {
        format!("the call to {} {what}", strategy.pg_name())
    };
    call.keyed(
        PaymentError::new(kind, message)
            .with_provider(strategy.provider())
            .with_operation(call.operation)
            .with_source(e.without_url()),
    )
}

/// One attempt's raw result.
enum Attempt {
    Answer { status: u16, body: Bytes },
    NotSent(reqwest::Error),
    Lost(reqwest::Error),
}

/// The send loop: one `reqwest::Client`, a base URL, the PG's auth header and strategy, the
/// options and the retry policy.
#[derive(Clone)]
pub struct Transport<S> {
    strategy: S,
    http: reqwest::Client,
    base_url: String,
    auth: HeaderValue,
    options: TransportOptions,
    retry: RetryPolicy,
}

impl<S> std::fmt::Debug for Transport<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("base_url", &self.base_url)
            .field("auth", &"***")
            .field("options", &self.options)
            .field("retry", &self.retry)
            .finish()
    }
}

impl<S: TransportStrategy> Transport<S> {
    /// A transport sending with `http` (the caller's own client, or
    /// [`TransportOptions::build_client`]) to `base_url` (a trailing `/` is dropped), with
    /// `auth` as the `Authorization` header (marked sensitive here).
    pub fn new(
        strategy: S,
        mut auth: HeaderValue,
        base_url: &str,
        options: TransportOptions,
        retry: RetryPolicy,
        http: reqwest::Client,
    ) -> Self {
        auth.set_sensitive(true);
        Transport {
            strategy,
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            auth,
            options,
            retry,
        }
    }

    /// The retry policy.
    pub fn retry(&self) -> &RetryPolicy {
        &self.retry
    }

    /// The options.
    pub fn options(&self) -> &TransportOptions {
        &self.options
    }

    /// The base URL, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The strategy.
    pub fn strategy(&self) -> &S {
        &self.strategy
    }

    async fn attempt(&self, call: &Call<'_>) -> Attempt {
        let mut request = self
            .http
            .request(
                call.method.clone(),
                format!("{}{}", self.base_url, call.path),
            )
            .header(http::header::AUTHORIZATION, self.auth.clone());
        if let Some(timeout) = self.options.timeout_for(&call.method) {
            request = request.timeout(timeout);
        }
        if !call.query.is_empty() {
            request = request.query(call.query);
        }
        request = self.strategy.prepare(request, call);
        if let Some(body) = &call.body {
            request = request.body(body.clone());
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) if e.is_connect() => return Attempt::NotSent(e),
            Err(e) => return Attempt::Lost(e),
        };
        let status = response.status().as_u16();
        match response.bytes().await {
            Ok(body) => Attempt::Answer { status, body },
            Err(e) => Attempt::Lost(e),
        }
    }

    /// Sends `call`, retrying as the strategy and the policy allow; the body of a success.
    pub async fn send(&self, call: &Call<'_>) -> Result<Bytes, SendError> {
        self.send_with(call, |operation, status, body| {
            match self.strategy.decode(operation, status, body) {
                None => Ok(body.clone()),
                Some(error) => Err(error),
            }
        })
        .await
    }

    /// [`Transport::send`], with each answer read by `read` instead of the strategy's
    /// [`TransportStrategy::decode`]: `Ok(value)` is a success, returned as it is; `Err(error)`
    /// is an error answer, classified, retried and returned exactly as a decoded one. For a PG
    /// whose success and error answers share one shape (NICEPAY's result code on HTTP 200), so
    /// that deciding which it is and reading it is one parse.
    pub async fn send_with<T>(
        &self,
        call: &Call<'_>,
        mut read: impl FnMut(&'static str, u16, &Bytes) -> Result<T, PaymentError>,
    ) -> Result<T, SendError> {
        let provider = self.strategy.provider();
        let scope = self.strategy.span_scope();
        let new_span =
            || observe::pg_call_span(provider.as_str(), call.operation, call.idempotency_key);
        let call_span = match scope {
            SpanScope::PerCall => Some(new_span()),
            SpanScope::PerAttempt => None,
        };
        let started = Instant::now();
        let mut history = History::default();
        loop {
            history.attempts = history.attempts.saturating_add(1);
            let span: Span = call_span.clone().unwrap_or_else(new_span);
            let t0 = match scope {
                SpanScope::PerCall => started,
                SpanScope::PerAttempt => Instant::now(),
            };
            let outcome = self.attempt(call).instrument(span.clone()).await;
            let (verdict, status, answer) = match outcome {
                Attempt::Answer { status, body } => {
                    let error = match read(call.operation, status, &body) {
                        Ok(value) => {
                            let recorded = self.strategy.success_status(status);
                            observe::record_pg_outcome(&span, Some(recorded), "ok", t0.elapsed());
                            return Ok(value);
                        }
                        Err(error) => error,
                    };
                    let failure = AttemptFailure::Answer {
                        status,
                        body: &body,
                        error,
                    };
                    let verdict = self.strategy.classify(call, failure, &history);
                    (verdict, Some(status), Some(body))
                }
                Attempt::NotSent(e) => (
                    self.strategy
                        .classify(call, AttemptFailure::NotSent(e), &history),
                    None,
                    None,
                ),
                Attempt::Lost(e) => {
                    if !call.is_lookup() {
                        history.answer_lost = true;
                    }
                    let verdict = self
                        .strategy
                        .classify(call, AttemptFailure::Lost(e), &history);
                    (verdict, None, None)
                }
            };
            observe::record_pg_outcome(&span, status, verdict.outcome, t0.elapsed());
            if answer.is_some() {
                history.previous_answer = answer;
            }
            if let Some(err) = self.next(call, verdict, &history, started).await {
                return Err(err);
            }
        }
    }

    /// Acts on a verdict: `Some(error)` to stop, `None` after the backoff to try again.
    async fn next(
        &self,
        call: &Call<'_>,
        verdict: Verdict,
        history: &History,
        started: Instant,
    ) -> Option<SendError> {
        match verdict.action {
            Action::Fail(error) => Some(SendError::Failed(call.keyed(error))),
            Action::Replayed(error) => Some(SendError::Replayed(call.keyed(error))),
            Action::Retry { error, floor } => {
                if !self
                    .retry
                    .allows_another(history.attempts, started.elapsed())
                {
                    let error = self.strategy.exhausted(call, error, history);
                    return Some(SendError::Failed(call.keyed(error)));
                }
                tokio::time::sleep(self.retry.backoff(history.attempts, floor)).await;
                None
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::PgError;

    #[derive(Debug, Clone, Copy)]
    struct Test(Resend);

    impl TransportStrategy for Test {
        fn provider(&self) -> ProviderId {
            ProviderId::from_static("test")
        }
        fn pg_name(&self) -> &'static str {
            "Test"
        }
        fn resend(&self) -> Resend {
            self.0
        }
        fn prepare(&self, r: reqwest::RequestBuilder, _: &Call<'_>) -> reqwest::RequestBuilder {
            r
        }
        fn decode(&self, _: &'static str, status: u16, _: &[u8]) -> Option<PaymentError> {
            (status != 200).then(|| {
                let kind = if status >= 500 || status == 429 {
                    ErrorKind::Retryable
                } else {
                    ErrorKind::Rejected
                };
                PaymentError::new(kind, "answer").with_pg(PgError::new("C", "m", Some(status)))
            })
        }
    }

    fn answer(strategy: Test, call: &Call<'_>, status: u16, history: &History) -> Verdict {
        let body = Bytes::new();
        let error = strategy.decode(call.operation, status, &body).unwrap();
        strategy.classify(
            call,
            AttemptFailure::Answer {
                status,
                body: &body,
                error,
            },
            history,
        )
    }

    #[test]
    fn timeouts_by_method() {
        let o = TransportOptions::new(Duration::from_secs(1))
            .lookup_timeout(Duration::from_secs(2))
            .payment_timeout(Duration::from_secs(3));
        assert_eq!(o.timeout_for(&Method::GET), Some(Duration::from_secs(2)));
        assert_eq!(o.timeout_for(&Method::POST), Some(Duration::from_secs(3)));
        assert_eq!(
            TransportOptions::new(Duration::ZERO).timeout_for(&Method::GET),
            None
        );
    }

    #[test]
    fn a_transient_answer_is_retried_unless_a_post_may_not_be_resent() {
        let h = History::default();
        let post = Call::post("confirm", "/p", Bytes::new()).with_idempotency_key("k");
        let v = answer(Test(Resend::SameKey), &post, 503, &h);
        assert_eq!(v.outcome, "retryable");
        assert!(matches!(v.action, Action::Retry { .. }));

        let never = Call::post("confirm", "/p", Bytes::new());
        let v = answer(Test(Resend::Never), &never, 503, &h);
        assert_eq!(v.outcome, "outcome_unknown");
        let Action::Fail(e) = v.action else {
            panic!("not final")
        };
        assert_eq!(e.kind(), ErrorKind::OutcomeUnknown);
        let v = answer(Test(Resend::Never), &never, 429, &h);
        assert_eq!(v.outcome, "retryable");
        assert!(matches!(v.action, Action::Fail(_)));

        let get = Call::get("payment", "/p");
        let v = answer(Test(Resend::Never), &get, 503, &h);
        assert!(matches!(v.action, Action::Retry { .. }));
        let v = answer(Test(Resend::SameKey), &get, 400, &h);
        assert_eq!(v.outcome, "rejected");
        assert!(matches!(v.action, Action::Fail(_)));
    }

    #[test]
    fn a_lost_answer_stays_unknown_when_the_retries_run_out() {
        let s = Test(Resend::SameKey);
        let post = Call::post("confirm", "/p", Bytes::new()).with_idempotency_key("k");
        let last = PaymentError::new(ErrorKind::Retryable, "bad gateway");
        let lost = History {
            attempts: 3,
            answer_lost: true,
            previous_answer: None,
        };
        let e = s.exhausted(&post, last, &lost);
        assert_eq!(e.kind(), ErrorKind::OutcomeUnknown);
        assert_eq!(e.idempotency_key(), Some("k"));
        let last = PaymentError::new(ErrorKind::Retryable, "bad gateway");
        let e = s.exhausted(&post, last, &History::default());
        assert_eq!(e.kind(), ErrorKind::Retryable);
    }

    #[tokio::test]
    async fn a_refused_connection_is_retried_then_fails_as_transport() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let options = TransportOptions::new(Duration::from_secs(1));
        let transport = Transport::new(
            Test(Resend::Never),
            HeaderValue::from_static("Basic c2VjcmV0"),
            &url,
            options.clone(),
            RetryPolicy::default()
                .with_max_attempts(2)
                .with_initial_backoff(Duration::from_millis(1)),
            options.build_client().unwrap(),
        );
        assert!(!format!("{transport:?}").contains("c2VjcmV0"));
        let call = Call::post("confirm", "/p", Bytes::from_static(b"{}"));
        let Err(SendError::Failed(e)) = transport.send(&call).await else {
            panic!("a refused connection succeeded")
        };
        assert_eq!(e.kind(), ErrorKind::Transport);
        assert!(e.to_string().contains("the call to Test could not connect"));
    }
}
