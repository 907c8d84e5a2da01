DROP TABLE alert_log;
ALTER TABLE alert_groups DROP COLUMN created_at;
ALTER TABLE alert_groups DROP COLUMN next_attempt_at;
ALTER TABLE alert_groups DROP COLUMN last_error;
ALTER TABLE alert_groups DROP COLUMN attempts;
ALTER TABLE alert_outbox DROP COLUMN next_attempt_at;
ALTER TABLE alert_outbox DROP COLUMN last_error;
ALTER TABLE alert_outbox DROP COLUMN attempts;
