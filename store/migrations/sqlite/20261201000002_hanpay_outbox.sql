-- hanpay outbox (SQLite): the events applied status changes produced, written in the same
-- transaction as the change, delivered by the outbox worker. Times are Unix milliseconds.
CREATE TABLE hanpay_outbox (
    position         INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT    NOT NULL UNIQUE,
    event_type       TEXT    NOT NULL,
    provider         TEXT    NOT NULL,
    payment_key      TEXT    NOT NULL,
    order_id         TEXT,
    old_status       TEXT,
    new_status       TEXT    NOT NULL,
    amount           INTEGER,
    balance          INTEGER,
    currency         TEXT,
    occurred_at      INTEGER NOT NULL,
    sequence         INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    state            TEXT    NOT NULL DEFAULT 'pending',
    last_error       TEXT,
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    created_at       INTEGER NOT NULL,
    UNIQUE (provider, payment_key, sequence)
);
-- Due events (the claim), and the pending ones per payment (the order check, through the
-- unique index above).
CREATE INDEX hanpay_outbox_due ON hanpay_outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX hanpay_outbox_state ON hanpay_outbox (state, position);
-- Pruning delivered events.
CREATE INDEX hanpay_outbox_created ON hanpay_outbox (state, created_at);
