-- hanpay serve: answers of POST requests by Idempotency-Key (PostgreSQL). Expiry uses the
-- server's now(). done = false: started, held until expires_at (the lease); done = true:
-- answered, remembered until expires_at (the TTL).
CREATE TABLE hanpay_idempotency (
    idempotency_key TEXT        NOT NULL PRIMARY KEY,
    fingerprint     TEXT        NOT NULL,
    done            BOOLEAN     NOT NULL,
    status          INTEGER,
    body            BYTEA,
    expires_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX hanpay_idempotency_expiry ON hanpay_idempotency (expires_at);
