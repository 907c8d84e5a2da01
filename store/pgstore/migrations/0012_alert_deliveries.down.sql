DROP TABLE alert_log;
ALTER TABLE alert_groups DROP COLUMN created_at, DROP COLUMN next_attempt_at, DROP COLUMN last_error, DROP COLUMN attempts;
ALTER TABLE alert_outbox DROP COLUMN next_attempt_at, DROP COLUMN last_error, DROP COLUMN attempts;
