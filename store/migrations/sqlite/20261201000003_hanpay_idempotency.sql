-- hanpay serve: answers of POST requests by Idempotency-Key (SQLite). Times are Unix
-- milliseconds. done = 0: started, held until expires_at (the lease); done = 1: answered,
-- remembered until expires_at (the TTL).
CREATE TABLE hanpay_idempotency (
    idempotency_key TEXT    NOT NULL PRIMARY KEY,
    fingerprint     TEXT    NOT NULL,
    done            INTEGER NOT NULL,
    status          INTEGER,
    body            BLOB,
    expires_at      INTEGER NOT NULL
);
CREATE INDEX hanpay_idempotency_expiry ON hanpay_idempotency (expires_at);
