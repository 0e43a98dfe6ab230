//! The [`PaymentProvider`] trait every PG crate implements, and its declared [`Capabilities`].

use std::fmt;

use async_trait::async_trait;

use crate::error::PaymentError;
use crate::payment::{Payment, ProviderId};
use crate::request::{BillingChargeRequest, CancelRequest, ConfirmRequest, VirtualAccountRequest};

/// One thing a provider can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Capability {
    /// [`PaymentProvider::confirm`].
    Confirm,
    /// [`PaymentProvider::payment`].
    LookupByKey,
    /// [`PaymentProvider::payment_by_order_id`].
    LookupByOrderId,
    /// [`PaymentProvider::cancel`] in full.
    Cancel,
    /// [`PaymentProvider::cancel`] with an amount.
    PartialCancel,
    /// [`PaymentProvider::issue_virtual_account`].
    VirtualAccounts,
    /// [`PaymentProvider::charge_billing_key`].
    BillingKeys,
    /// The provider has a [`WebhookVerifier`](crate::WebhookVerifier).
    Webhooks,
}

impl Capability {
    /// Every capability.
    pub const ALL: [Capability; 8] = [
        Capability::Confirm,
        Capability::LookupByKey,
        Capability::LookupByOrderId,
        Capability::Cancel,
        Capability::PartialCancel,
        Capability::VirtualAccounts,
        Capability::BillingKeys,
        Capability::Webhooks,
    ];

    const fn bit(self) -> u16 {
        1 << (self as u16)
    }

    /// The capability's name (`"partial_cancel"`), as the server's API and the CLI show it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Capability::Confirm => "confirm",
            Capability::LookupByKey => "lookup_by_key",
            Capability::LookupByOrderId => "lookup_by_order_id",
            Capability::Cancel => "cancel",
            Capability::PartialCancel => "partial_cancel",
            Capability::VirtualAccounts => "virtual_accounts",
            Capability::BillingKeys => "billing_keys",
            Capability::Webhooks => "webhooks",
        }
    }
}

impl std::str::FromStr for Capability {
    type Err = UnknownName;

    /// The inverse of [`as_str`](Capability::as_str).
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Capability::ALL
            .into_iter()
            .find(|c| c.as_str() == name)
            .ok_or_else(|| UnknownName(name.chars().take(64).collect()))
    }
}

impl std::fmt::Display for Capability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is none of an enum's (at most its first 64 characters are kept).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown name {0:?}")]
pub struct UnknownName(pub String);

/// A set of [`Capability`] values.
///
/// ```
/// use hanpay_core::{Capabilities, Capability};
/// let caps = Capabilities::of(&[Capability::Confirm, Capability::Cancel]);
/// assert!(caps.contains(Capability::Cancel));
/// assert!(!caps.contains(Capability::BillingKeys));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Capabilities(u16);

impl Capabilities {
    /// The empty set.
    pub const fn none() -> Capabilities {
        Capabilities(0)
    }

    /// Every capability.
    pub const fn all() -> Capabilities {
        Capabilities::of(&Capability::ALL)
    }

    /// The set of the listed capabilities.
    pub const fn of(list: &[Capability]) -> Capabilities {
        let mut bits = 0u16;
        let mut i = 0;
        while i < list.len() {
            bits |= list[i].bit();
            i += 1;
        }
        Capabilities(bits)
    }

    /// Adds one.
    pub const fn with(self, capability: Capability) -> Capabilities {
        Capabilities(self.0 | capability.bit())
    }

    /// Removes one.
    pub const fn without(self, capability: Capability) -> Capabilities {
        Capabilities(self.0 & !capability.bit())
    }

    /// Whether `capability` is in the set.
    pub const fn contains(self, capability: Capability) -> bool {
        self.0 & capability.bit() != 0
    }

    /// The capabilities in the set.
    pub fn iter(self) -> impl Iterator<Item = Capability> {
        Capability::ALL
            .into_iter()
            .filter(move |c| self.contains(*c))
    }
}

impl fmt::Debug for Capabilities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// A payment gateway, seen through one API.
///
/// Every call validates its request before any network call and returns the payment as the
/// PG reports it afterwards. An operation the provider does not offer returns
/// [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) (the default bodies below) and is
/// absent from [`capabilities`](PaymentProvider::capabilities).
///
/// A confirm or cancel whose outcome is unknown (timeout, connection lost) returns
/// [`ErrorKind::OutcomeUnknown`](crate::ErrorKind::OutcomeUnknown): look the payment up before
/// doing anything else.
#[async_trait]
pub trait PaymentProvider: Send + Sync {
    /// The provider's id (`"tosspayments"`).
    fn id(&self) -> &ProviderId;

    /// What this provider can do.
    fn capabilities(&self) -> Capabilities;

    /// Approves a payment the customer authenticated, checking the amount.
    async fn confirm(&self, request: &ConfirmRequest) -> Result<Payment, PaymentError>;

    /// Looks a payment up by the PG's key.
    async fn payment(&self, payment_key: &str) -> Result<Payment, PaymentError>;

    /// Looks a payment up by the merchant's order id.
    async fn payment_by_order_id(&self, order_id: &str) -> Result<Payment, PaymentError> {
        let _ = order_id;
        Err(PaymentError::unsupported(self.id(), "payment_by_order_id"))
    }

    /// Cancels a payment in full or in part, refunding a deposited virtual account to the
    /// customer's own account.
    async fn cancel(&self, request: &CancelRequest) -> Result<Payment, PaymentError>;

    /// Issues a virtual account for an order.
    async fn issue_virtual_account(
        &self,
        request: &VirtualAccountRequest,
    ) -> Result<Payment, PaymentError> {
        let _ = request;
        Err(PaymentError::unsupported(
            self.id(),
            "issue_virtual_account",
        ))
    }

    /// Charges a stored billing key.
    async fn charge_billing_key(
        &self,
        request: &BillingChargeRequest,
    ) -> Result<Payment, PaymentError> {
        let _ = request;
        Err(PaymentError::unsupported(self.id(), "charge_billing_key"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_names_round_trip() {
        for c in Capability::ALL {
            assert_eq!(c.as_str().parse::<Capability>(), Ok(c));
        }
        assert!("refund".parse::<Capability>().is_err());
    }

    #[test]
    fn capability_sets() {
        let all = Capabilities::all();
        assert_eq!(all.iter().count(), Capability::ALL.len());
        let some = Capabilities::none()
            .with(Capability::Confirm)
            .with(Capability::Webhooks)
            .without(Capability::Confirm);
        assert_eq!(some.iter().collect::<Vec<_>>(), vec![Capability::Webhooks]);
        assert_eq!(format!("{some:?}"), "{Webhooks}");
    }
}
