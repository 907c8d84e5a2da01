DROP INDEX job_dlq_app_all;
ALTER TABLE job_dlq
    DROP COLUMN queue,
    DROP COLUMN priority,
    DROP COLUMN max_attempts,
    DROP COLUMN unique_key,
    DROP COLUMN replay_job_id;
