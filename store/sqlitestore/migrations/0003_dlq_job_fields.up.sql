-- What a replay needs to recreate the job faithfully, and the link to the job it created. All
-- nullable: an entry written with only the nine contract columns replays into its type's
-- default queue and attempt budget.

ALTER TABLE job_dlq ADD COLUMN queue TEXT;
ALTER TABLE job_dlq ADD COLUMN priority INTEGER;
ALTER TABLE job_dlq ADD COLUMN max_attempts INTEGER;
ALTER TABLE job_dlq ADD COLUMN unique_key TEXT;
ALTER TABLE job_dlq ADD COLUMN replay_job_id TEXT
    CONSTRAINT job_dlq_replay_job_id_uuid CHECK (replay_job_id GLOB '????????-????-????-????-????????????'
        AND length(replace(replay_job_id, '-', '')) = 32 AND NOT replace(replay_job_id, '-', '') GLOB '*[^0-9a-f]*');

-- Listings with replayed entries included, purges by app, and the apps foreign key.
CREATE INDEX job_dlq_app_all ON job_dlq (app_id, id);
