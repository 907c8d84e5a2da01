-- Alerts (package alert). Every dead-letter entry is queued for its alert by a trigger, in the
-- transaction that inserts it, whichever path wrote it (including a writer that knows only the
-- nine contract columns): alert_outbox holds an entry until an alerter has delivered its alert
-- (or given up) and deleted the row. An alerter takes rows under a lease (token and expiry, in
-- Unix microseconds) so that several processes share the work without delivering one alert
-- twice while a lease holds, and a crashed alerter's rows are taken again once its lease
-- expires. Deleting an entry deletes its pending alert.
CREATE TABLE alert_outbox (
    entry_id TEXT PRIMARY KEY REFERENCES job_dlq(id) ON DELETE CASCADE,
    lease_token TEXT,
    lease_expires_at INTEGER
);
CREATE INDEX alert_outbox_lease ON alert_outbox (lease_token) WHERE lease_token IS NOT NULL;

CREATE TRIGGER job_dlq_alert AFTER INSERT ON job_dlq
BEGIN
    INSERT INTO alert_outbox (entry_id) VALUES (NEW.id);
END;

-- The failure groups whose un-replayed count reached the alert threshold: one row per group
-- and crossing. A row is claimed under a lease before its alert is sent and marked alerted_at
-- once it was (or the alerter gave up); it is deleted when the group falls below the threshold
-- again, so the next crossing alerts anew with a new id (the alert's stable event id).
CREATE TABLE alert_groups (
    app_id TEXT NOT NULL,
    type TEXT NOT NULL,
    signature TEXT NOT NULL,
    id TEXT NOT NULL,
    count INTEGER NOT NULL,
    lease_token TEXT,
    lease_expires_at INTEGER,
    alerted_at INTEGER,
    PRIMARY KEY (app_id, type, signature)
) WITHOUT ROWID;
