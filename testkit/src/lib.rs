//! Test support for hanpay: a mock provider, wire-faithful fake Toss Payments and PortOne
//! servers on loopback, signed webhook delivery with each PG's real redelivery schedule, and the
//! conformance suite every provider crate must pass.
#![forbid(unsafe_code)]
pub mod fake_toss;
pub mod delivery;
pub mod fake_portone;
pub mod conformance;
pub mod mock;
