//! The one list of PGs: each PG crate exports its identity (`ID`), a [`Plugin`] (`PLUGIN`) and,
//! with its `fake` feature, its fake server (`fake::FAKE`); the `register!` list below names
//! it, one feature-gated line each (sqlx's `install_default_drivers` shape). Configuration, the
//! registry, the CLI, the webhook router and (feature `sandbox`) the sandbox's fakes all
//! iterate over it. The line's literal is the feature's name; a compile-time check holds it,
//! the plugin's id and the fake's id equal.
//!
//! Adding a PG: its folder (`<pg>/`, the crate `hanpay-<pg>`, and `<pg>/fake`,
//! `hanpay-<pg>-fake`), an optional dependency and a feature in `hanpay/Cargo.toml` (and the
//! crate's `fake` in the `sandbox` feature), and one line in the list below.

use hanpay_core::plugin::Plugin;

/// One line per PG: `"feature" as name => crate, [variables that configure it]`. Each line
/// registers the crate's `PLUGIN` when the feature is on (and its `fake::FAKE` with the
/// `sandbox` feature), re-exports the crate as `hanpay::<name>`, and records the variables so
/// that a PG configured but compiled out is named as such.
macro_rules! register {
    ($($feature:literal as $name:ident => $krate:ident, [$($var:literal),+];)+) => {
        const PLUGINS: &[Plugin] = &[$(
            #[cfg(feature = $feature)]
            $krate::PLUGIN,
        )+];

        /// The PGs hanpay knows, compiled in or not, with the variables that configure each:
        /// a `[<id>]` table or one of those variables for a PG left out by its feature is
        /// [`ConfigError::NotCompiled`](crate::ConfigError::NotCompiled), not an unknown
        /// setting or a silently ignored key.
        pub const KNOWN_PGS: &[(&str, &[&str])] = &[$(($feature, &[$($var),+]),)+];

        #[cfg(feature = "sandbox")]
        pub(crate) static FAKES: &[&dyn hanpay_fake::sandbox::FakePlugin] = &[$(
            #[cfg(feature = $feature)]
            &$krate::fake::FAKE,
        )+];

        // The registration literal, the plugin's id and the fake's id are one name.
        $(
            #[cfg(feature = $feature)]
            const _: () = assert!(same($feature, $krate::ID), "a PG's feature is not its id");
            #[cfg(all(feature = $feature, feature = "sandbox"))]
            const _: () = assert!(same($krate::ID, $krate::fake::ID), "a fake's id is not its PG's");
        )+

        /// The PG crates compiled in, each under its feature's name (`hanpay::nicepay`).
        pub mod crates {
            $(
                #[cfg(feature = $feature)]
                #[doc(inline)]
                pub use $krate as $name;
            )+
        }
    };
}

register! {
    "tosspayments" as tosspayments => hanpay_tosspayments, ["TOSS_SECRET_KEY"];
    "portone" as portone => hanpay_portone, ["PORTONE_API_SECRET"];
    "nicepay" as nicepay => hanpay_nicepay, ["NICEPAY_CLIENT_ID", "NICEPAY_SECRET_KEY"];
}

/// Whether two names are the same (at compile time).
#[allow(dead_code)] // used by the registration checks, which a build without PGs has none of
const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The PGs compiled into this build, in registration order.
pub fn plugins() -> &'static [Plugin] {
    PLUGINS
}

/// The registered PG `id`, if compiled in.
pub fn plugin(id: &str) -> Option<&'static Plugin> {
    PLUGINS.iter().find(|p| p.id() == id)
}
