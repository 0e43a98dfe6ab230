//! [`PaymentSecrets`]: the per-payment secrets the PG returned at confirm or virtual-account
//! issue, kept so that a webhook carrying one (Toss `DEPOSIT_CALLBACK`) can be checked.
//!
//! The facade's [`Gateway::confirm`](crate::Gateway) and
//! [`Gateway::issue_virtual_account`](crate::Gateway) save them automatically, into the
//! configured [`Stores`](crate::store::Stores).

pub use hanpay_store::{InMemoryPaymentSecrets, PaymentSecrets, SavedSecret};
