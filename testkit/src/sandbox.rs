//! The fakes as plugins: each fake PG implements [`FakePlugin`] next to its server, and
//! [`fakes()`] lists them, one line each, so the facade's conformance run (and tools such as
//! `hanpay sandbox`) pick up a new PG's fake without edits.

use hanpay_core::async_trait;

use crate::conformance::ConformanceDriver;

/// A fake PG that can be started without knowing which one it is.
#[async_trait]
pub trait FakePlugin: Send + Sync {
    /// The PG's id, as its hanpay plugin names it (`tosspayments`).
    fn id(&self) -> &'static str;

    /// Starts the fake on `127.0.0.1:0`.
    async fn start(&self) -> std::io::Result<Box<dyn RunningFake>>;
}

/// A started fake: it plays the customer for the conformance suite, and says which variables
/// point an application at it.
pub trait RunningFake: ConformanceDriver {
    /// The PG's id.
    fn id(&self) -> &'static str;

    /// The fake's base URL.
    fn base_url(&self) -> String;

    /// The variables an application sets to use this fake (what the PG's plugin reads).
    fn env(&self) -> Vec<(&'static str, String)>;
}

static FAKES: &[&dyn FakePlugin] = &[
    &crate::fake_toss::plugin::FAKE,
    &crate::fake_portone::plugin::FAKE,
    &crate::fake_nicepay::plugin::FAKE,
];

/// Every fake PG, one line each.
pub fn fakes() -> &'static [&'static dyn FakePlugin] {
    FAKES
}

/// The fake of `id`, if there is one.
pub fn fake(id: &str) -> Option<&'static dyn FakePlugin> {
    fakes().iter().copied().find(|f| f.id() == id)
}
