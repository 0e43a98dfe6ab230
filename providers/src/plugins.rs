//! The one list of PGs: each PG crate exports a [`Plugin`] and the `register!` list below names it, one
//! feature-gated line each (sqlx's `install_default_drivers` shape). Configuration, the
//! registry, the CLI and the webhook router all iterate over [`plugins()`].
//!
//! Adding a PG: its crate (`hanpay-<pg>`, exporting `PLUGIN`), a workspace member, an optional
//! dependency and a feature in `providers/Cargo.toml`, and one line in the list below.

use hanpay_core::plugin::Plugin;

/// One line per PG: `"feature" as name => crate, [variables that configure it]`. Each line
/// registers the crate's `PLUGIN` when the feature is on, re-exports the crate as
/// `hanpay::<name>`, and records the variables so that a PG configured but compiled out is
/// named as such.
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

/// The PGs compiled into this build, in registration order.
pub fn plugins() -> &'static [Plugin] {
    PLUGINS
}

/// The registered PG `id`, if compiled in.
pub fn plugin(id: &str) -> Option<&'static Plugin> {
    PLUGINS.iter().find(|p| p.id() == id)
}
