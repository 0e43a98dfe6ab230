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

    /// `true` for `Canceled`, `Failed` and `Expired`: nothing the merchant or the customer
    /// does moves it on. `Canceled` is final; only the PG's own answer may still revive a
    /// `Failed` or `Expired` payment (a late approval, see
    /// [`needs_pg_word`](Self::needs_pg_word)).
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
    /// - `WaitingForDeposit` → `Paid` (deposit), `Canceled`, `Expired`, `Failed` (the PG
    ///   fails a waiting virtual account)
    /// - `Paid` → `PartiallyCanceled`, `Canceled`, `WaitingForDeposit` (Toss: a reversed
    ///   deposit sends a virtual-account payment back to waiting)
    /// - `PartiallyCanceled` → `PartiallyCanceled` (another partial refund), `Canceled`
    /// - `Failed`/`Expired` → `Paid`: a late approval (PortOne documents a payment first
    ///   failed, then approved with a second `paid` webhook; card networks report declines
    ///   later turned into successes)
    /// - nothing leaves `Canceled`; nothing enters or leaves `Unknown`.
    ///
    /// The rare moves among these — a late approval, a reversed deposit, a waiting virtual
    /// account that fails — are legal only on the PG's word ([`needs_pg_word`](Self::needs_pg_word)):
    /// the webhook pipeline never applies them from a webhook's hint, only from the PG's API.
    ///
    /// Staying in the same state is not a move, except `PartiallyCanceled` → `PartiallyCanceled`.
    /// A status from the PG's API is applied whenever it is [reachable](Self::reaches).
    pub fn can_move_to(self, next: PaymentStatus) -> bool {
        use PaymentStatus::*;
        matches!(
            (self, next),
            (Ready, Pending)
                | (Ready | Pending, Paid | Failed | Expired | WaitingForDeposit)
                | (WaitingForDeposit, Paid | Canceled | Expired | Failed)
                | (Paid, PartiallyCanceled | Canceled | WaitingForDeposit)
                | (PartiallyCanceled, PartiallyCanceled | Canceled)
                | (Failed | Expired, Paid)
        )
    }

    /// `true` for the legal moves that only the PG's API may assert, never a webhook's hint
    /// alone: a late approval (`Failed`/`Expired` → `Paid`), a reversed deposit (`Paid` →
    /// `WaitingForDeposit`) and a waiting virtual account that fails (`WaitingForDeposit` →
    /// `Failed`). Each has its own [order action](https://docs.rs/hanpay) in the facade, so
    /// that the application decides what to do.
    ///
    /// ```
    /// use hanpay_core::PaymentStatus::*;
    /// assert!(Failed.needs_pg_word(Paid) && Failed.can_move_to(Paid));
    /// assert!(!Ready.needs_pg_word(Paid));
    /// ```
    pub fn needs_pg_word(self, next: PaymentStatus) -> bool {
        use PaymentStatus::*;
        matches!(
            (self, next),
            (Failed | Expired, Paid) | (Paid, WaitingForDeposit) | (WaitingForDeposit, Failed)
        )
    }

    /// Whether `target` can be reached from `self` through one or more legal moves, of which
    /// only the first may be one that [needs the PG's word](Self::needs_pg_word): one rare
    /// event (a late approval, a reversed deposit) followed by the ordinary lifecycle.
    ///
    /// A status the PG's API reports is the truth; the webhook pipeline moves the stored status
    /// to it whenever it is reachable, and ignores it only when it is not (a real regression,
    /// e.g. a stale answer saying `Paid` after `Canceled`). `Paid` reaches itself (through a
    /// reversed deposit, `WaitingForDeposit`), `Canceled` reaches nothing.
    ///
    /// ```
    /// use hanpay_core::PaymentStatus::*;
    /// assert!(Ready.reaches(Canceled)); // paid, then canceled
    /// assert!(Failed.reaches(Canceled)); // approved late, then canceled
    /// assert!(!Canceled.reaches(Paid));
    /// assert!(!Expired.reaches(WaitingForDeposit)); // two rare events in a row: never
    /// ```
    pub fn reaches(self, target: PaymentStatus) -> bool {
        self.path_to(target).is_some()
    }

    /// The states skipped on the shortest way from `self` to `target` through legal moves
    /// (only the first of which may [need the PG's word](Self::needs_pg_word)): `Some(vec![])`
    /// for a single legal move, `None` when `target` is not reachable.
    ///
    /// Among paths of the same length, the one following the lifecycle's usual order (the
    /// order of [`ALL`](Self::ALL)) is chosen, so the answer is deterministic. When the PG's
    /// answer tells more (the payment was approved, or was canceled in several parts), name
    /// the states it passed with [`path_via`](Self::path_via).
    ///
    /// ```
    /// use hanpay_core::PaymentStatus::*;
    /// assert_eq!(Ready.path_to(Paid), Some(vec![]));
    /// assert_eq!(Pending.path_to(PartiallyCanceled), Some(vec![Paid]));
    /// assert_eq!(Paid.path_to(Ready), None);
    /// ```
    pub fn path_to(self, target: PaymentStatus) -> Option<Vec<PaymentStatus>> {
        self.search(target, false)
    }

    /// Like [`path_to`](Self::path_to), but any number of the moves may
    /// [need the PG's word](Self::needs_pg_word): a reversed deposit and then a failed waiting
    /// account (`Paid` → `WaitingForDeposit` → `Failed`). Only for a path whose every state the
    /// PG's answer shows (the webhook pipeline checks that).
    ///
    /// ```
    /// use hanpay_core::PaymentStatus::*;
    /// assert_eq!(Paid.path_to(Failed), None);
    /// assert_eq!(Paid.path_on_pg_word(Failed), Some(vec![WaitingForDeposit]));
    /// ```
    pub fn path_on_pg_word(self, target: PaymentStatus) -> Option<Vec<PaymentStatus>> {
        self.search(target, true)
    }

    /// Breadth-first over the known states; `previous[i]` is the state `ALL[i]` was reached
    /// from. The start is not entered again unless it is the target (a cycle). Unless
    /// `rare_anywhere`, only the first move may need the PG's word.
    fn search(self, target: PaymentStatus, rare_anywhere: bool) -> Option<Vec<PaymentStatus>> {
        if target == PaymentStatus::Unknown {
            return None;
        }
        let index = |s: PaymentStatus| PaymentStatus::ALL.iter().position(|&x| x == s);
        let mut previous: [Option<PaymentStatus>; 8] = [None; 8];
        let mut seen = [false; 8];
        if target != self {
            if let Some(i) = index(self) {
                seen[i] = true;
            }
        }
        let mut queue = std::collections::VecDeque::from([self]);
        let mut first = true;
        while let Some(at) = queue.pop_front() {
            for next in PaymentStatus::ALL {
                let Some(i) = index(next) else { continue };
                let allowed =
                    at.can_move_to(next) && (first || rare_anywhere || !at.needs_pg_word(next));
                if seen[i] || !allowed {
                    continue;
                }
                if next == target {
                    let mut skipped = Vec::new();
                    let mut step = at;
                    while step != self {
                        skipped.push(step);
                        step = index(step).and_then(|j| previous[j]).unwrap_or(self);
                    }
                    skipped.reverse();
                    return Some(skipped);
                }
                seen[i] = true;
                previous[i] = Some(at);
                queue.push_back(next);
            }
            first = false;
        }
        None
    }

    /// The states skipped on the way from `self` to `target` when the payment is known to
    /// have passed through each of `via`, in that order (each waypoint is part of the answer);
    /// `None` when some leg is not reachable.
    ///
    /// ```
    /// use hanpay_core::PaymentStatus::*;
    /// // Deposited into a virtual account, refunded in two parts.
    /// assert_eq!(
    ///     Ready.path_via(&[WaitingForDeposit, Paid, PartiallyCanceled], Canceled),
    ///     Some(vec![WaitingForDeposit, Paid, PartiallyCanceled])
    /// );
    /// assert_eq!(WaitingForDeposit.path_via(&[Paid], Canceled), Some(vec![Paid]));
    /// assert_eq!(Paid.path_via(&[Pending], Canceled), None);
    /// ```
    pub fn path_via(
        self,
        via: &[PaymentStatus],
        target: PaymentStatus,
    ) -> Option<Vec<PaymentStatus>> {
        let mut skipped = Vec::new();
        let mut at = self;
        for &waypoint in via {
            skipped.extend(at.path_to(waypoint)?);
            skipped.push(waypoint);
            at = waypoint;
        }
        skipped.extend(at.path_to(target)?);
        Some(skipped)
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

impl std::str::FromStr for PaymentStatus {
    type Err = crate::UnknownName;

    /// The inverse of [`as_str`](PaymentStatus::as_str) (`"UNKNOWN"` is `Unknown`).
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        PaymentStatus::ALL
            .into_iter()
            .chain([PaymentStatus::Unknown])
            .find(|s| s.as_str() == name)
            .ok_or_else(|| crate::UnknownName(name.chars().take(64).collect()))
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
        for from in [Canceled, Unknown] {
            for to in PaymentStatus::ALL {
                assert!(!from.can_move_to(to), "{from} -> {to} must be illegal");
            }
        }
        // Failed and Expired leave only through a late approval, on the PG's word.
        for from in [Failed, Expired] {
            for to in PaymentStatus::ALL {
                assert_eq!(from.can_move_to(to), to == Paid, "{from} -> {to}");
                assert_eq!(from.needs_pg_word(to), to == Paid, "{from} -> {to}");
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
            (WaitingForDeposit, Failed),
            (Paid, PartiallyCanceled),
            (Paid, Canceled),
            (Paid, WaitingForDeposit),
            (PartiallyCanceled, PartiallyCanceled),
            (PartiallyCanceled, Canceled),
            (Failed, Paid),
            (Expired, Paid),
        ];
        let on_pg_word = [
            (Failed, Paid),
            (Expired, Paid),
            (Paid, WaitingForDeposit),
            (WaitingForDeposit, Failed),
        ];
        for from in PaymentStatus::ALL {
            for to in PaymentStatus::ALL {
                let expected = legal.contains(&(from, to));
                assert_eq!(from.can_move_to(to), expected, "{from} -> {to}");
                let rare = on_pg_word.contains(&(from, to));
                assert_eq!(from.needs_pg_word(to), rare, "{from} -> {to}");
            }
        }
        // Late events that must be ignored.
        assert!(!Paid.can_move_to(Pending));
        assert!(!Paid.can_move_to(Paid));
        assert!(!PartiallyCanceled.can_move_to(Paid));
        assert!(!Canceled.can_move_to(PartiallyCanceled));
    }

    #[test]
    fn reachability_is_the_closure_of_the_table() {
        // Brute force: a state reaches a target iff some chain of legal moves leads there,
        // only the first of which may need the PG's word.
        for from in PaymentStatus::ALL {
            let mut reached: Vec<PaymentStatus> = PaymentStatus::ALL
                .into_iter()
                .filter(|&to| from.can_move_to(to))
                .collect();
            let mut closure: Vec<PaymentStatus> = reached.clone();
            while let Some(at) = reached.pop() {
                for next in PaymentStatus::ALL {
                    if at.can_move_to(next) && !at.needs_pg_word(next) && !closure.contains(&next) {
                        closure.push(next);
                        reached.push(next);
                    }
                }
            }
            for to in PaymentStatus::ALL {
                assert_eq!(from.reaches(to), closure.contains(&to), "{from} -> {to}");
                if let Some(skipped) = from.path_to(to) {
                    // Every step of the answer is a legal move.
                    let mut at = from;
                    for next in skipped.iter().copied().chain([to]) {
                        assert!(at.can_move_to(next), "{from} -> {to}: {at} -> {next}");
                        at = next;
                    }
                    assert_eq!(skipped.is_empty(), from.can_move_to(to), "{from} -> {to}");
                }
            }
            assert!(!from.reaches(Unknown) && !Unknown.reaches(from));
        }
    }

    #[test]
    fn paths_name_the_skipped_states() {
        assert_eq!(Ready.path_to(Canceled), Some(vec![WaitingForDeposit]));
        assert_eq!(Ready.path_via(&[Paid], Canceled), Some(vec![Paid]));
        assert_eq!(Pending.path_to(PartiallyCanceled), Some(vec![Paid]));
        assert_eq!(
            WaitingForDeposit.path_to(PartiallyCanceled),
            Some(vec![Paid])
        );
        assert_eq!(Paid.path_to(Paid), Some(vec![WaitingForDeposit]));
        assert_eq!(PartiallyCanceled.path_to(PartiallyCanceled), Some(vec![]));
        assert_eq!(
            Ready.path_via(&[WaitingForDeposit, Paid, PartiallyCanceled], Canceled),
            Some(vec![WaitingForDeposit, Paid, PartiallyCanceled])
        );
        // Going backwards is never a path.
        for (from, to) in [
            (Paid, Ready),
            (Paid, Pending),
            (Canceled, Paid),
            (PartiallyCanceled, Paid),
            (WaitingForDeposit, Ready),
            (Failed, Ready),
            (Expired, WaitingForDeposit),
        ] {
            assert_eq!(from.path_to(to), None, "{from} -> {to}");
        }
        assert_eq!(Canceled.path_via(&[Paid], Canceled), None);
        // A late approval, then the ordinary lifecycle.
        assert_eq!(Failed.path_to(Paid), Some(vec![]));
        assert_eq!(Expired.path_to(Canceled), Some(vec![Paid]));
        assert_eq!(WaitingForDeposit.path_to(Failed), Some(vec![]));
    }

    #[test]
    fn names_round_trip() {
        for s in PaymentStatus::ALL.into_iter().chain([Unknown]) {
            assert_eq!(s.as_str().parse::<PaymentStatus>(), Ok(s));
        }
        assert!("DONE".parse::<PaymentStatus>().is_err());
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
