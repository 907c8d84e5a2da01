-- What a replay needs to recreate the job faithfully, and the link to the job it created. All
-- nullable: an entry written with only the nine contract columns replays into its type's
-- default queue and attempt budget.

ALTER TABLE job_dlq
    ADD COLUMN queue TEXT,
    ADD COLUMN priority SMALLINT,
    ADD COLUMN max_attempts INTEGER,
    ADD COLUMN unique_key TEXT,
    ADD COLUMN replay_job_id UUID;

-- Listings with replayed entries included, purges by app, and the apps foreign key.
CREATE INDEX job_dlq_app_all ON job_dlq (app_id, id);
