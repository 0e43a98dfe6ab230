-- hanpay webhook state (PostgreSQL). Expiry is computed with the server's now(), so the
-- instances' clocks do not matter.

-- Which deliveries were claimed (done = false, until the lease lapses) or processed
-- (done = true, until the TTL lapses).
CREATE TABLE hanpay_dedupe (
    provider   TEXT        NOT NULL,
    dedupe_id  TEXT        NOT NULL,
    done       BOOLEAN     NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (provider, dedupe_id)
);
CREATE INDEX hanpay_dedupe_expiry ON hanpay_dedupe (expires_at);

-- The last status applied per payment (NULL: tracked, nothing applied yet).
CREATE TABLE hanpay_payments (
    provider          TEXT        NOT NULL,
    payment_key       TEXT        NOT NULL,
    order_id          TEXT,
    status            TEXT,
    total_amount      BIGINT,
    total_currency    TEXT,
    balance_amount    BIGINT,
    balance_currency  TEXT,
    canceled_amount   BIGINT,
    canceled_currency TEXT,
    updated_at        TIMESTAMPTZ NOT NULL,
    changed_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    next_check_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, payment_key)
);
CREATE INDEX hanpay_payments_reconcile ON hanpay_payments (next_check_at)
    WHERE status IS NULL OR status IN ('READY', 'PENDING', 'WAITING_FOR_DEPOSIT');

-- Verified events that were not applied, and why.
CREATE TABLE hanpay_ignored (
    id          BIGSERIAL   PRIMARY KEY,
    provider    TEXT        NOT NULL,
    payment_key TEXT        NOT NULL,
    dedupe_id   TEXT        NOT NULL,
    reported    TEXT        NOT NULL,
    kept        TEXT        NOT NULL,
    reason      TEXT        NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX hanpay_ignored_payment ON hanpay_ignored (provider, payment_key);
CREATE INDEX hanpay_ignored_recorded ON hanpay_ignored (recorded_at);

-- Per-payment secrets returned at confirm or virtual-account issue.
CREATE TABLE hanpay_secrets (
    provider    TEXT        NOT NULL,
    payment_key TEXT        NOT NULL,
    order_id    TEXT        NOT NULL,
    secret      TEXT        NOT NULL,
    saved_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, payment_key)
);
CREATE INDEX hanpay_secrets_order ON hanpay_secrets (provider, order_id);

-- Every verified delivery and what the pipeline did with it.
CREATE TABLE hanpay_inbox (
    id          BIGSERIAL   PRIMARY KEY,
    provider    TEXT        NOT NULL,
    dedupe_id   TEXT        NOT NULL,
    kind        TEXT        NOT NULL,
    payment_key TEXT,
    order_id    TEXT,
    trust       TEXT        NOT NULL,
    outcome     TEXT        NOT NULL,
    stage       TEXT,
    detail      TEXT,
    attempts    INTEGER     NOT NULL,
    first_seen  TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen   TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (provider, dedupe_id)
);
CREATE INDEX hanpay_inbox_seen ON hanpay_inbox (last_seen);
CREATE INDEX hanpay_inbox_failed ON hanpay_inbox (last_seen) WHERE outcome = 'failed';
