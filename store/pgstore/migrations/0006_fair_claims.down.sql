DROP INDEX jobs_running_app;
ALTER TABLE apps DROP CONSTRAINT apps_rate_has_burst;
ALTER TABLE apps DROP COLUMN rate_updated_at;
ALTER TABLE apps DROP COLUMN rate_tokens;
ALTER TABLE apps DROP COLUMN rate_burst;
ALTER TABLE apps DROP COLUMN rate_per_second;
ALTER TABLE apps DROP COLUMN max_running;
CREATE INDEX jobs_fetch ON jobs (queue, priority, run_at, id) WHERE status = 'pending';
DROP INDEX jobs_fair;
