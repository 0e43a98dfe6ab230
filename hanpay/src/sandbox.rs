//! The compiled-in PGs' fakes (feature `sandbox`), in registration order: the one list of
//! [`plugins`](mod@crate::plugins) joins each PG's plugin to its fake, so `hanpay sandbox`,
//! `hanpay demo`, `hanpay webhook send` and the conformance runs pick up a new PG's fake
//! without edits. The fakes' shared kit is re-exported as [`kit`].

use hanpay_fake::sandbox::FakePlugin;

/// The shared fake kit (`hanpay-fake`): the traits, options, delivery and window frame.
#[doc(inline)]
pub use hanpay_fake as kit;

/// Every compiled-in PG's fake, in registration order (one entry per `register!` line).
pub fn fakes() -> &'static [&'static dyn FakePlugin] {
    crate::plugins::FAKES
}

/// The fake of `id`, if there is one.
pub fn fake(id: &str) -> Option<&'static dyn FakePlugin> {
    fakes().iter().copied().find(|f| f.id() == id)
}

/// The ids of every fake, for error messages (`tosspayments, portone, nicepay`).
pub fn fake_ids() -> String {
    fakes()
        .iter()
        .map(|f| f.id())
        .collect::<Vec<_>>()
        .join(", ")
}
