-- The outbox claim walks due pending events in (next_attempt_at, position) order, with no sort,
-- and checks each one's payment for an earlier pending event through the second index: a
-- claim costs its own size, not the backlog's (it joined the backlog against itself before).
DROP INDEX IF EXISTS hanpay_outbox_due;
CREATE INDEX hanpay_outbox_due ON hanpay_outbox (next_attempt_at, position) WHERE state = 'pending';
CREATE INDEX hanpay_outbox_pending ON hanpay_outbox (provider, payment_key, sequence)
    WHERE state = 'pending';
-- Indexes led by `state` looked cheapest to the planner for any `state = 'pending'` probe
-- while the statistics saw nothing pending, and walked the whole table: gone. Pruning has its
-- own partial index; `depth` counts through `hanpay_outbox_due`.
DROP INDEX IF EXISTS hanpay_outbox_state;
DROP INDEX IF EXISTS hanpay_outbox_created;
CREATE INDEX hanpay_outbox_delivered ON hanpay_outbox (created_at) WHERE state = 'delivered';
-- Room on each page for the claim's and the delivery's updates (lease, attempts, state) to stay
-- on the page (HOT: no new entry in every index) while the columns they change are not indexed.
ALTER TABLE hanpay_outbox SET (fillfactor = 70);
