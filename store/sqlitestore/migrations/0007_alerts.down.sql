DROP TABLE alert_groups;
DROP TRIGGER job_dlq_alert;
DROP TABLE alert_outbox;
