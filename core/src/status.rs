//! The unified [`PaymentStatus`] and its legal transitions.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where a payment stands, the same for every PG.
///
/// Each provider crate maps its PG's status strings in its own mapping module; the table
/// below is the contract they follow.
///
/// | hanpay | Toss Payments | PortOne V2 | PortOne V1 (iamport) |
/// | --- | --- | --- | --- |
/// | `Ready` | `READY` | `READY` | `ready` (no virtual account) |
/// | `Pending` | `IN_PROGRESS` (authenticated, awaiting confirm) | `PAY_PENDING` | — |
/// | `WaitingForDeposit` | `WAITING_FOR_DEPOSIT` | `VIRTUAL_ACCOUNT_ISSUED` | `ready` with a virtual account |
/// | `Paid` | `DONE` | `PAID` | `paid` |
/// | `PartiallyCanceled` | `PARTIAL_CANCELED` (but `Canceled` once `balanceAmount` is 0) | `PARTIAL_CANCELLED` | `cancelled` with a balance left |
/// | `Canceled` | `CANCELED` | `CANCELLED` | `cancelled` |
/// | `Failed` | `ABORTED` | `FAILED` | `failed` |
/// | `Expired` | `EXPIRED` | — | — |
/// | `Unknown` | anything else (raw kept in `Payment::raw_status`) | anything else | anything else |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentStatus {
    /// Created; the customer has not authenticated yet.
    Ready,
    /// Authenticated or in progress; waiting for the merchant's confirm or the PG.
    Pending,
    /// A virtual account was issued; waiting for the customer's bank transfer.
    WaitingForDeposit,
    /// Money was taken (card approved, deposit received, …).
    Paid,
    /// Part of the amount was refunded; a balance remains.
    PartiallyCanceled,
    /// Fully canceled or refunded.
    Canceled,
    /// Approval failed or was aborted.
    Failed,
    /// The payment session or the virtual account's deposit window expired.
    Expired,
    /// A status the PG sent that hanpay does not know. The raw string is kept in
    /// [`Payment::raw_status`](crate::Payment::raw_status); no transition to or from it is
    /// considered legal, so it is never applied automatically.
    Unknown,
}

impl PaymentStatus {
    /// All known statuses (without `Unknown`).
    pub const ALL: [PaymentStatus; 8] = [
        PaymentStatus::Ready,
        PaymentStatus::Pending,
        PaymentStatus::WaitingForDeposit,
        PaymentStatus::Paid,
        PaymentStatus::PartiallyCanceled,
        PaymentStatus::Canceled,
        PaymentStatus::Failed,
        PaymentStatus::Expired,
    ];

    /// `true` when nothing can follow: `Canceled`, `Failed`, `Expired`.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            PaymentStatus::Canceled | PaymentStatus::Failed | PaymentStatus::Expired
        )
    }

    /// `true` when money has been received and not fully returned.
    pub fn is_paid(self) -> bool {
        matches!(self, PaymentStatus::Paid | PaymentStatus::PartiallyCanceled)
    }

    /// Whether a payment may move from `self` to `next`, following the PGs' real behaviour.
    ///
    /// - `Ready`/`Pending` → `Pending`, `Paid`, `Failed`, `Expired`, `WaitingForDeposit`
    ///   (and `Ready` → `Pending`)
    /// - `WaitingForDeposit` → `Paid` (deposit), `Canceled`, `Expired`
    /// - `Paid` → `PartiallyCanceled`, `Canceled`, `WaitingForDeposit` (Toss: a deposit error
    ///   sends a virtual-account payment back to waiting)
    /// - `PartiallyCanceled` → `PartiallyCanceled` (another partial refund), `Canceled`
    /// - nothing leaves `Canceled`, `Failed` or `Expired`; nothing enters or leaves `Unknown`.
    ///
    /// Staying in the same state is not a move, except `PartiallyCanceled` → `PartiallyCanceled`.
    /// The webhook pipeline uses this to ignore late, out-of-order events.
    pub fn can_move_to(self, next: PaymentStatus) -> bool {
        use PaymentStatus::*;
        matches!(
            (self, next),
            (Ready, Pending)
                | (Ready | Pending, Paid | Failed | Expired | WaitingForDeposit)
                | (WaitingForDeposit, Paid | Canceled | Expired)
                | (Paid, PartiallyCanceled | Canceled | WaitingForDeposit)
                | (PartiallyCanceled, PartiallyCanceled | Canceled)
        )
    }

    /// The SCREAMING_SNAKE name used in serialisation (`"WAITING_FOR_DEPOSIT"`).
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Ready => "READY",
            PaymentStatus::Pending => "PENDING",
            PaymentStatus::WaitingForDeposit => "WAITING_FOR_DEPOSIT",
            PaymentStatus::Paid => "PAID",
            PaymentStatus::PartiallyCanceled => "PARTIALLY_CANCELED",
            PaymentStatus::Canceled => "CANCELED",
            PaymentStatus::Failed => "FAILED",
            PaymentStatus::Expired => "EXPIRED",
            PaymentStatus::Unknown => "UNKNOWN",
        }
    }
}

impl fmt::Display for PaymentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::PaymentStatus::{self, *};

    #[test]
    fn terminal_states_have_no_exit() {
        for from in [Canceled, Failed, Expired, Unknown] {
            for to in PaymentStatus::ALL {
                assert!(!from.can_move_to(to), "{from} -> {to} must be illegal");
            }
        }
        assert!(Canceled.is_terminal() && Failed.is_terminal() && Expired.is_terminal());
        assert!(!Paid.is_terminal() && !WaitingForDeposit.is_terminal());
    }

    #[test]
    fn transition_table_matches_the_pgs() {
        let legal = [
            (Ready, Pending),
            (Ready, Paid),
            (Ready, Failed),
            (Ready, Expired),
            (Ready, WaitingForDeposit),
            (Pending, Paid),
            (Pending, Failed),
            (Pending, Expired),
            (Pending, WaitingForDeposit),
            (WaitingForDeposit, Paid),
            (WaitingForDeposit, Canceled),
            (WaitingForDeposit, Expired),
            (Paid, PartiallyCanceled),
            (Paid, Canceled),
            (Paid, WaitingForDeposit),
            (PartiallyCanceled, PartiallyCanceled),
            (PartiallyCanceled, Canceled),
        ];
        for from in PaymentStatus::ALL {
            for to in PaymentStatus::ALL {
                let expected = legal.contains(&(from, to));
                assert_eq!(from.can_move_to(to), expected, "{from} -> {to}");
            }
        }
        // Late events that must be ignored.
        assert!(!Paid.can_move_to(Pending));
        assert!(!Paid.can_move_to(Paid));
        assert!(!PartiallyCanceled.can_move_to(Paid));
        assert!(!Canceled.can_move_to(PartiallyCanceled));
    }

    #[test]
    fn serde_names() {
        assert_eq!(
            serde_json::to_string(&WaitingForDeposit).ok().as_deref(),
            Some("\"WAITING_FOR_DEPOSIT\"")
        );
        for s in PaymentStatus::ALL {
            let json = serde_json::to_string(&s).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
        }
    }
}
