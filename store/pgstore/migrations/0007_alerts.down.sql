DROP TABLE alert_groups;
DROP TRIGGER job_dlq_alert ON job_dlq;
DROP FUNCTION sluice_alert_outbox();
DROP TABLE alert_outbox;
