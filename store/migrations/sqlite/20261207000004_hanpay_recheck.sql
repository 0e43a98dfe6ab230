-- The reconciler re-checks every payment that is not canceled (paid ones too: a refund in the
-- PG's console, a late cancel, a late approval), per provider, on a schedule kept in
-- next_check_at (i64::MAX: never again, past the horizon).
DROP INDEX IF EXISTS hanpay_payments_reconcile;
CREATE INDEX hanpay_payments_recheck ON hanpay_payments (provider, next_check_at)
    WHERE status IS NULL OR status <> 'CANCELED';
