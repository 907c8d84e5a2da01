ALTER TABLE job_dlq DROP COLUMN replay_of;
DROP TABLE replay_operations;
