-- Who holds a started key: the process that started it (a token drawn once per process). One
-- process serves a SQLite file, so a key held by another process is from one that died: it is
-- taken over at once, not after its lease.
ALTER TABLE hanpay_idempotency ADD COLUMN holder TEXT;
