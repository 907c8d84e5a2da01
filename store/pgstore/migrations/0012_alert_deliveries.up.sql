-- Alert deliveries an operator can see (GET /v1/alerts, `sluice alerts list`, the web UI's
-- Alerts view). A pending alert (a row of alert_outbox, or a crossing of alert_groups not yet
-- alerted) counts its delivery attempts, keeps the error of the last one that failed and, while
-- its alerter waits to retry, when it tries next. An alert delivered or given up on is
-- recorded in alert_log, in the statement that acknowledges it; alerters delete the records
-- older than their history (7 days by default) in bounded batches. Additive: an alerter that
-- predates these columns still works (its alerts are just not recorded).
ALTER TABLE alert_outbox
    ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN last_error TEXT NOT NULL DEFAULT '',
    ADD COLUMN next_attempt_at TIMESTAMPTZ;
ALTER TABLE alert_groups
    ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN last_error TEXT NOT NULL DEFAULT '',
    ADD COLUMN next_attempt_at TIMESTAMPTZ,
    ADD COLUMN created_at TIMESTAMPTZ DEFAULT now();

-- One row per alert delivered or given up on: id is the alert's event id (the entry's id for
-- job.dead_lettered, the crossing's id for group.threshold). app_id has no foreign key, so
-- that deleting an app never waits on its alert history.
CREATE TABLE alert_log (
    id UUID PRIMARY KEY,
    event TEXT NOT NULL,
    app_id UUID NOT NULL,
    type TEXT NOT NULL,
    signature TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT alert_log_status CHECK (status IN ('delivered', 'failed'))
);
CREATE INDEX alert_log_finished ON alert_log (finished_at);
