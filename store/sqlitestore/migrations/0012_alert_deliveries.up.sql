-- Alert deliveries an operator can see: pgstore's 0011_alert_deliveries in SQLite's dialect
-- (times in Unix microseconds). SQLite cannot add a column whose default is the clock, so
-- alert_groups.created_at is set by the claim that inserts a crossing (NULL for crossings
-- claimed before this migration).
ALTER TABLE alert_outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alert_outbox ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
ALTER TABLE alert_outbox ADD COLUMN next_attempt_at INTEGER;
ALTER TABLE alert_groups ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alert_groups ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
ALTER TABLE alert_groups ADD COLUMN next_attempt_at INTEGER;
ALTER TABLE alert_groups ADD COLUMN created_at INTEGER;

CREATE TABLE alert_log (
    id TEXT PRIMARY KEY,
    event TEXT NOT NULL,
    app_id TEXT NOT NULL,
    type TEXT NOT NULL,
    signature TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    CONSTRAINT alert_log_status CHECK (status IN ('delivered', 'failed'))
) WITHOUT ROWID;
CREATE INDEX alert_log_finished ON alert_log (finished_at);
