DROP INDEX job_dlq_groups;
ALTER TABLE job_dlq DROP COLUMN error_signature;
