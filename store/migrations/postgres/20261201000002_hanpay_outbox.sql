-- hanpay outbox (PostgreSQL): the events applied status changes produced, written in the same
-- transaction as the change, delivered by the outbox workers of every instance (claimed with
-- FOR UPDATE SKIP LOCKED and a lease computed with the server's now()).
CREATE TABLE hanpay_outbox (
    position         BIGSERIAL   PRIMARY KEY,
    id               TEXT        NOT NULL UNIQUE,
    event_type       TEXT        NOT NULL,
    provider         TEXT        NOT NULL,
    payment_key      TEXT        NOT NULL,
    order_id         TEXT,
    old_status       TEXT,
    new_status       TEXT        NOT NULL,
    amount           BIGINT,
    balance          BIGINT,
    currency         TEXT,
    occurred_at      TIMESTAMPTZ NOT NULL,
    sequence         BIGINT      NOT NULL,
    attempts         INTEGER     NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    state            TEXT        NOT NULL DEFAULT 'pending',
    last_error       TEXT,
    lease_owner      TEXT,
    lease_expires_at TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (provider, payment_key, sequence)
);
-- Due events (the claim), and the pending ones per payment (the order check, through the
-- unique index above).
CREATE INDEX hanpay_outbox_due ON hanpay_outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX hanpay_outbox_state ON hanpay_outbox (state, position);
-- Pruning delivered events.
CREATE INDEX hanpay_outbox_created ON hanpay_outbox (state, created_at);
