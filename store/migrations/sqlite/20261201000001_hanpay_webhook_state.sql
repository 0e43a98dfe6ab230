-- hanpay webhook state (SQLite). Times are Unix milliseconds.

-- Which deliveries were claimed (done = 0, until the lease lapses) or processed (done = 1,
-- until the TTL lapses).
CREATE TABLE hanpay_dedupe (
    provider   TEXT    NOT NULL,
    dedupe_id  TEXT    NOT NULL,
    done       INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (provider, dedupe_id)
);
CREATE INDEX hanpay_dedupe_expiry ON hanpay_dedupe (expires_at);

-- The last status applied per payment (NULL: tracked, nothing applied yet).
CREATE TABLE hanpay_payments (
    provider          TEXT    NOT NULL,
    payment_key       TEXT    NOT NULL,
    order_id          TEXT,
    status            TEXT,
    total_amount      INTEGER,
    total_currency    TEXT,
    balance_amount    INTEGER,
    balance_currency  TEXT,
    canceled_amount   INTEGER,
    canceled_currency TEXT,
    updated_at        INTEGER NOT NULL,
    changed_at        INTEGER NOT NULL,
    next_check_at     INTEGER NOT NULL,
    PRIMARY KEY (provider, payment_key)
);
CREATE INDEX hanpay_payments_reconcile ON hanpay_payments (next_check_at)
    WHERE status IS NULL OR status IN ('READY', 'PENDING', 'WAITING_FOR_DEPOSIT');

-- Verified events that were not applied, and why.
CREATE TABLE hanpay_ignored (
    id          INTEGER PRIMARY KEY,
    provider    TEXT    NOT NULL,
    payment_key TEXT    NOT NULL,
    dedupe_id   TEXT    NOT NULL,
    reported    TEXT    NOT NULL,
    kept        TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    recorded_at INTEGER NOT NULL
);
CREATE INDEX hanpay_ignored_payment ON hanpay_ignored (provider, payment_key);
CREATE INDEX hanpay_ignored_recorded ON hanpay_ignored (recorded_at);

-- Per-payment secrets returned at confirm or virtual-account issue.
CREATE TABLE hanpay_secrets (
    provider    TEXT    NOT NULL,
    payment_key TEXT    NOT NULL,
    order_id    TEXT    NOT NULL,
    secret      TEXT    NOT NULL,
    saved_at    INTEGER NOT NULL,
    PRIMARY KEY (provider, payment_key)
);
CREATE INDEX hanpay_secrets_order ON hanpay_secrets (provider, order_id);

-- Every verified delivery and what the pipeline did with it.
CREATE TABLE hanpay_inbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    provider    TEXT    NOT NULL,
    dedupe_id   TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    payment_key TEXT,
    order_id    TEXT,
    trust       TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,
    stage       TEXT,
    detail      TEXT,
    attempts    INTEGER NOT NULL,
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    UNIQUE (provider, dedupe_id)
);
CREATE INDEX hanpay_inbox_seen ON hanpay_inbox (last_seen);
CREATE INDEX hanpay_inbox_failed ON hanpay_inbox (last_seen) WHERE outcome = 'failed';
