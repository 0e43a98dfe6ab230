//! What hanpay's fake PG servers share, written once: each fake lives in its PG's folder as a
//! crate of its own (`<pg>/fake`, `hanpay-<pg>-fake`), written from the PG's documentation, and
//! builds on this kit.
//!
//! - [`sandbox`]: the [`FakePlugin`](sandbox::FakePlugin) and
//!   [`RunningFake`](sandbox::RunningFake) traits a fake implements (a running fake plays the
//!   customer for `hanpay_testkit::conformance`), [`SandboxOptions`](sandbox::SandboxOptions)
//!   and the `hanpay webhook send` samples. The list of fakes is the facade's registration list
//!   (`hanpay::sandbox::fakes()`, feature `sandbox`).
//! - [`delivery`]: webhook delivery on a PG's redelivery schedule, scaled in time, with a log
//!   of every attempt.
//! - [`window`]: the payment windows' page frame (amounts, escaping, redirects).
//! - [`storefront`]: a PG's part of the demo storefront (`hanpay demo --browser`): its checkout
//!   page and the returns from its payment window, handed out by a running fake.
#![forbid(unsafe_code)]

pub mod delivery;
pub mod sandbox;
pub mod storefront;
pub mod window;
