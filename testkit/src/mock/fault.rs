//! Scripted faults, the operations they target, and the record of calls the mock PG received.

use hanpay_core::{ErrorKind, PgError};

/// One [`PaymentProvider`](hanpay_core::PaymentProvider) operation, as recorded and as targeted
/// by a [`Fault`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// [`PaymentProvider::confirm`](hanpay_core::PaymentProvider::confirm).
    Confirm,
    /// [`PaymentProvider::payment`](hanpay_core::PaymentProvider::payment).
    Lookup,
    /// [`PaymentProvider::payment_by_order_id`](hanpay_core::PaymentProvider::payment_by_order_id).
    LookupByOrderId,
    /// [`PaymentProvider::cancel`](hanpay_core::PaymentProvider::cancel).
    Cancel,
    /// [`PaymentProvider::issue_virtual_account`](hanpay_core::PaymentProvider::issue_virtual_account).
    IssueVirtualAccount,
    /// [`PaymentProvider::charge_billing_key`](hanpay_core::PaymentProvider::charge_billing_key).
    ChargeBillingKey,
}

impl Operation {
    /// The trait method's name (`"cancel"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Confirm => "confirm",
            Operation::Lookup => "payment",
            Operation::LookupByOrderId => "payment_by_order_id",
            Operation::Cancel => "cancel",
            Operation::IssueVirtualAccount => "issue_virtual_account",
            Operation::ChargeBillingKey => "charge_billing_key",
        }
    }

    /// `true` for operations that change a payment (and take an idempotency key).
    pub fn is_mutation(self) -> bool {
        !matches!(self, Operation::Lookup | Operation::LookupByOrderId)
    }
}

/// What goes wrong with a scripted call.
///
/// `applied` says whether the mock PG carried the call out before the failure: a cancel that
/// fails with `Retryable { applied: true }` has canceled, and a retry with the same idempotency
/// key returns that result without canceling again. For lookups `applied` changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The PG answers a transient error (HTTP 500 `FAILED_INTERNAL_SYSTEM_PROCESSING`):
    /// [`ErrorKind::Retryable`].
    Retryable {
        /// Whether the effect was applied before the error.
        applied: bool,
    },
    /// The answer never arrives: [`ErrorKind::OutcomeUnknown`].
    Timeout {
        /// Whether the effect was applied before the connection was lost.
        applied: bool,
    },
    /// The PG refuses the call with this error; nothing is applied. A confirm rejected as
    /// [`ErrorKind::Rejected`] leaves the payment `Failed`, as a declined card does.
    Reject {
        /// The classification the provider reports.
        kind: ErrorKind,
        /// The PG's code, message and HTTP status.
        pg: PgError,
    },
}

impl Fault {
    /// A transient failure before anything was applied.
    pub fn retryable() -> Fault {
        Fault::Retryable { applied: false }
    }

    /// A transient failure after the effect was applied (the PG committed, then answered 5xx).
    pub fn retryable_after_apply() -> Fault {
        Fault::Retryable { applied: true }
    }

    /// A timeout; `applied` says whether the effect happened.
    pub fn timeout(applied: bool) -> Fault {
        Fault::Timeout { applied }
    }

    /// A rejection ([`ErrorKind::Rejected`]) with the PG's error.
    pub fn reject(pg: PgError) -> Fault {
        Fault::Reject {
            kind: ErrorKind::Rejected,
            pg,
        }
    }

    /// A rejection classified as `kind`.
    pub fn reject_as(kind: ErrorKind, pg: PgError) -> Fault {
        Fault::Reject { kind, pg }
    }

    /// Whether the effect is applied before the fault is reported.
    pub(crate) fn applies(&self) -> bool {
        match self {
            Fault::Retryable { applied } | Fault::Timeout { applied } => *applied,
            Fault::Reject { .. } => false,
        }
    }
}

/// A fault waiting for the call it targets.
#[derive(Debug, Clone)]
pub(crate) struct FaultRule {
    pub operation: Option<Operation>,
    pub payment_key: Option<String>,
    pub fault: Fault,
}

impl FaultRule {
    pub fn matches(&self, operation: Operation, payment_key: Option<&str>) -> bool {
        let op_matches = match self.operation {
            None => true,
            Some(op) => op == operation,
        };
        op_matches
            && match &self.payment_key {
                None => true,
                Some(key) => payment_key == Some(key.as_str()),
            }
    }
}

/// A call the mock PG received (calls refused by validation before any call are not recorded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The operation.
    pub operation: Operation,
    /// The payment key it named, if any.
    pub payment_key: Option<String>,
    /// The order id it named, if any.
    pub order_id: Option<String>,
    /// The idempotency key it carried (the caller's, or one the mock generated); `None` for
    /// lookups.
    pub idempotency_key: Option<String>,
}
