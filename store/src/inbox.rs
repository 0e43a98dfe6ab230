//! The inbox: one row per verified delivery (provider, dedupe id), with what the pipeline did
//! with it, so that an event whose handler kept failing past the PG's whole redelivery span is
//! still there to list and replay.

use std::fmt;

use hanpay_core::ProviderId;
use time::OffsetDateTime;

/// What the pipeline did with a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboxOutcome {
    /// A status move was applied and the handler succeeded.
    Applied,
    /// The delivery was a duplicate of one already processed.
    Duplicate,
    /// Verified, but nothing to apply.
    Ignored {
        /// Why.
        reason: String,
    },
    /// Processing failed; the PG was answered 5xx.
    Failed {
        /// The pipeline stage (`handler`, `store`, `reconcile`, `in_progress`).
        stage: String,
        /// The error (never a secret).
        error: String,
    },
}

impl InboxOutcome {
    /// `applied`, `duplicate`, `ignored` or `failed`.
    pub fn label(&self) -> &'static str {
        match self {
            InboxOutcome::Applied => "applied",
            InboxOutcome::Duplicate => "duplicate",
            InboxOutcome::Ignored { .. } => "ignored",
            InboxOutcome::Failed { .. } => "failed",
        }
    }

    /// `true` for [`InboxOutcome::Failed`].
    pub fn is_failed(&self) -> bool {
        matches!(self, InboxOutcome::Failed { .. })
    }

    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    /// (stage, detail) as stored: the reason of an ignored event, the stage and error of a
    /// failed one.
    pub(crate) fn columns(&self) -> (Option<&str>, Option<&str>) {
        match self {
            InboxOutcome::Applied | InboxOutcome::Duplicate => (None, None),
            InboxOutcome::Ignored { reason } => (None, Some(reason)),
            InboxOutcome::Failed { stage, error } => (Some(stage), Some(error)),
        }
    }

    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    /// The inverse of [`columns`](Self::columns).
    pub(crate) fn from_columns(
        label: &str,
        stage: Option<String>,
        detail: Option<String>,
    ) -> InboxOutcome {
        match label {
            "applied" => InboxOutcome::Applied,
            "duplicate" => InboxOutcome::Duplicate,
            "ignored" => InboxOutcome::Ignored {
                reason: detail.unwrap_or_default(),
            },
            _ => InboxOutcome::Failed {
                stage: stage.unwrap_or_default(),
                error: detail.unwrap_or_default(),
            },
        }
    }
}

impl fmt::Display for InboxOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InboxOutcome::Applied | InboxOutcome::Duplicate => f.write_str(self.label()),
            InboxOutcome::Ignored { reason } => write!(f, "ignored: {reason}"),
            InboxOutcome::Failed { stage, error } => write!(f, "failed at {stage}: {error}"),
        }
    }
}

/// One delivery to record with [`Inbox::record`](crate::Inbox::record). The body is not kept:
/// it can carry a per-payment secret, and a replay re-fetches the payment from the PG anyway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxRecord {
    /// The provider.
    pub provider: ProviderId,
    /// The event's dedupe id.
    pub dedupe_id: String,
    /// The event kind (`payment_status_changed`, `deposit_received`, …).
    pub kind: String,
    /// The PG's payment key, when known.
    pub payment_key: Option<String>,
    /// The merchant's order id, when known.
    pub order_id: Option<String>,
    /// How the delivery was authenticated (`signed`, `shared_secret`, …).
    pub trust: String,
    /// What the pipeline did. A [`InboxOutcome::Duplicate`] keeps the outcome already recorded
    /// and only counts the attempt.
    pub outcome: InboxOutcome,
}

/// One recorded delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxEntry {
    /// The row's id (for `hanpay events replay ID`).
    pub id: i64,
    /// The provider.
    pub provider: ProviderId,
    /// The event's dedupe id.
    pub dedupe_id: String,
    /// The event kind.
    pub kind: String,
    /// The PG's payment key, when known.
    pub payment_key: Option<String>,
    /// The merchant's order id, when known.
    pub order_id: Option<String>,
    /// How the last delivery was authenticated.
    pub trust: String,
    /// The outcome of the last processing.
    pub outcome: InboxOutcome,
    /// How many deliveries (and replays) were seen.
    pub attempts: u32,
    /// When the first delivery was recorded.
    pub first_seen: OffsetDateTime,
    /// When the last delivery was recorded.
    pub last_seen: OffsetDateTime,
}

/// Which entries [`Inbox::list`](crate::Inbox::list) returns (newest first).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InboxFilter {
    /// Only entries whose last outcome is a failure.
    pub failed_only: bool,
    /// Only this provider's.
    pub provider: Option<ProviderId>,
    /// Only entries seen at or after this time.
    pub since: Option<OffsetDateTime>,
    /// At most this many (0: no limit).
    pub limit: usize,
}

impl InboxFilter {
    /// Whether `entry` passes the filter (limit aside).
    pub(crate) fn accepts(&self, entry: &InboxEntry) -> bool {
        (!self.failed_only || entry.outcome.is_failed())
            && self
                .provider
                .as_ref()
                .map_or(true, |p| *p == entry.provider)
            && self.since.map_or(true, |t| entry.last_seen >= t)
    }

    /// The limit as SQL wants it.
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn sql_limit(&self) -> i64 {
        match self.limit {
            0 => i64::MAX,
            n => i64::try_from(n).unwrap_or(i64::MAX),
        }
    }
}
