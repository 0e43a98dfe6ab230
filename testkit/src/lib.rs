//! Test support for hanpay: a mock provider, wire-faithful fake Toss Payments and PortOne
//! servers on loopback, signed webhook delivery with each PG's real redelivery schedule, and the
//! conformance suite every provider crate must pass.
//!
//! - [`mock::MockProvider`]: an in-memory `PaymentProvider` + `WebhookVerifier` with realistic
//!   state and scriptable faults.
//! - [`fake_toss::FakeToss`], [`fake_portone::FakePortOne`]: axum servers on `127.0.0.1:0`
//!   speaking each PG's wire format, written from the PGs' documentation (this crate depends on
//!   `hanpay-core` only, so a client's field-name mistake cannot be mirrored here).
//! - [`delivery`]: webhook delivery on a PG's redelivery schedule, scaled in time.
//! - [`inbox::WebhookInbox`]: a loopback receiver that keeps every delivery, so a test can
//!   replay them late, reordered or twice.
//! - [`conformance`]: the shared suite (`run_all(provider, driver)`), object_store style.
//! - [`sandbox`]: the fakes as plugins ([`sandbox::fakes()`], one entry per fake in the
//!   `fakes!` list of this file).
//! - [`mutate`]: deterministic payload mutations for "no input ever panics" tests.
//! - [`window`]: what the fakes' payment windows share, and the browser SDK stand-ins.
//!
//! The store conformance suite, fresh stores of each backend and the PostgreSQL server for tests
//! live beside the stores, in `hanpay_store::suite` (feature `suite`).
#![forbid(unsafe_code)]

pub mod conformance;
pub mod delivery;
pub mod inbox;
pub mod mock;
pub mod mutate;
pub mod sandbox;
pub mod window;

/// One line per fake PG: its module (`fake_<pg>`, with a `plugin::FAKE`). Each line declares
/// the module and lists its fake in [`sandbox::fakes()`].
macro_rules! fakes {
    ($($module:ident),+ $(,)?) => {
        $(pub mod $module;)+

        pub(crate) static FAKES: &[&dyn sandbox::FakePlugin] = &[$(&$module::plugin::FAKE),+];
    };
}

fakes![fake_toss, fake_portone, fake_nicepay];
