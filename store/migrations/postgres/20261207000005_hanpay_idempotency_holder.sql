-- Who holds a started key: the server process of the holder's liveness connection. A key whose
-- holder is gone from pg_stat_activity (the instance died) is taken over at once, not after its
-- lease.
ALTER TABLE hanpay_idempotency ADD COLUMN holder_pid INTEGER;
ALTER TABLE hanpay_idempotency ADD COLUMN holder_started TIMESTAMPTZ;
