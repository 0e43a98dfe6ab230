//! What the SQL backends share: money and time columns, and the amortised expiry sweep.

use std::sync::atomic::{AtomicU64, Ordering};

use hanpay_core::{Currency, Money};

/// A money value as (amount, currency code) columns.
pub(crate) fn money_columns(money: Option<&Money>) -> (Option<i64>, Option<String>) {
    match money {
        Some(m) => (Some(m.minor_units()), Some(m.currency().code().to_owned())),
        None => (None, None),
    }
}

/// The inverse of [`money_columns`].
pub(crate) fn money_from(amount: Option<i64>, currency: Option<String>) -> Option<Money> {
    Some(Money::new(amount?, Currency::from_code(&currency?)))
}

/// How many claims between two sweeps of expired dedupe rows. Each sweep deletes at most
/// [`SWEEP_BATCH`] rows through the expiry index, so a delivery's cost stays flat however many
/// rows are remembered.
pub(crate) const SWEEP_EVERY: u64 = 256;

/// The most rows one sweep deletes.
pub(crate) const SWEEP_BATCH: i64 = 1_000;

/// Counts calls; `true` every [`SWEEP_EVERY`]th one.
#[derive(Debug, Default)]
pub(crate) struct SweepCounter(AtomicU64);

impl SweepCounter {
    pub(crate) const fn new() -> Self {
        SweepCounter(AtomicU64::new(0))
    }

    pub(crate) fn due(&self) -> bool {
        self.0.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1
    }
}
