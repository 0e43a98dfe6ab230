//! Test support for hanpay: a mock provider, a webhook inbox, payload mutations and the
//! conformance suite every provider crate must pass. It depends on `hanpay-core` only.
//!
//! - [`mock::MockProvider`]: an in-memory `PaymentProvider` + `WebhookVerifier` with realistic
//!   state and scriptable faults.
//! - [`inbox::WebhookInbox`]: a loopback receiver that keeps every delivery, so a test can
//!   replay them late, reordered or twice.
//! - [`conformance`]: the shared suite (`run_all(provider, driver)`), object_store style.
//! - [`mutate`]: deterministic payload mutations for "no input ever panics" tests.
//!
//! The wire-faithful fake PG servers are products of their own, one crate in each PG's folder
//! (`<pg>/fake`), built on the shared kit `hanpay-fake`; a running fake is a
//! [`conformance::ConformanceDriver`]. The store conformance suite, fresh stores of each backend
//! and the PostgreSQL server for tests live beside the stores, in `hanpay_store::suite`
//! (feature `suite`).
#![forbid(unsafe_code)]

pub mod conformance;
pub mod http;
pub mod inbox;
pub mod mock;
pub mod mutate;
