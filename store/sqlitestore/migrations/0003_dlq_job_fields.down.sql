DROP INDEX job_dlq_app_all;
ALTER TABLE job_dlq DROP COLUMN replay_job_id;
ALTER TABLE job_dlq DROP COLUMN unique_key;
ALTER TABLE job_dlq DROP COLUMN max_attempts;
ALTER TABLE job_dlq DROP COLUMN priority;
ALTER TABLE job_dlq DROP COLUMN queue;
