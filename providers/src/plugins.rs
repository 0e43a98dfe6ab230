//! The one list of PGs: each PG crate exports a [`Plugin`] and this list names it, one
//! feature-gated line each (sqlx's `install_default_drivers` shape). Configuration, the
//! registry, the CLI and the webhook router all iterate over [`plugins()`].
//!
//! Adding a PG: its crate (`hanpay-<pg>`, exporting `PLUGIN`), a workspace member, an optional
//! dependency and a feature in `providers/Cargo.toml`, and one line below.

use hanpay_core::plugin::Plugin;

const PLUGINS: &[Plugin] = &[
    #[cfg(feature = "tosspayments")]
    hanpay_tosspayments::PLUGIN,
    #[cfg(feature = "portone")]
    hanpay_portone::PLUGIN,
    #[cfg(feature = "nicepay")]
    hanpay_nicepay::PLUGIN,
];

/// The PGs compiled into this build, in registration order.
pub fn plugins() -> &'static [Plugin] {
    PLUGINS
}

/// The registered PG `id`, if compiled in.
pub fn plugin(id: &str) -> Option<&'static Plugin> {
    PLUGINS.iter().find(|p| p.id() == id)
}

/// The PGs hanpay knows, compiled in or not, with the variables that configure each: a
/// `[<id>]` table or one of those variables for a PG left out by its feature is
/// [`ConfigError::NotCompiled`](crate::ConfigError::NotCompiled), not an unknown setting or a
/// silently ignored key.
pub const KNOWN_PGS: &[(&str, &[&str])] = &[
    ("tosspayments", &["TOSS_SECRET_KEY"]),
    ("portone", &["PORTONE_API_SECRET"]),
    ("nicepay", &["NICEPAY_CLIENT_ID", "NICEPAY_SECRET_KEY"]),
];
