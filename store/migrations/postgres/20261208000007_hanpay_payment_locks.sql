-- The payment lock across instances: a row per payment being applied right now, held by an
-- instance's liveness connection (see hanpay_idempotency.holder_pid) for at most a lease. No
-- connection is held while the PG is asked and the application's handler runs (a
-- transaction-scoped advisory lock held a pooled connection for that long).
CREATE TABLE hanpay_payment_locks (
    provider       TEXT        NOT NULL,
    payment_key    TEXT        NOT NULL,
    token          TEXT        NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL,
    holder_pid     INTEGER,
    holder_started TIMESTAMPTZ,
    PRIMARY KEY (provider, payment_key)
);
