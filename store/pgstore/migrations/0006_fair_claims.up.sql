-- Claims are shared fairly between apps (tenants): a claim finds the apps with due jobs in a
-- queue by a skip scan over (queue, app_id), then takes each app's share in priority order.
-- jobs_fair serves both; it replaces jobs_fetch, whose global priority order no claim uses.
CREATE INDEX jobs_fair ON jobs (queue, app_id, priority, run_at, id) WHERE status = 'pending';
DROP INDEX jobs_fetch;

-- Per-app limits, enforced by every claim across all worker processes: max_running caps the
-- app's jobs running (or claimed ahead) at once; rate_per_second and rate_burst make a token
-- bucket of job starts, whose level (rate_tokens, as of rate_updated_at) lives here so that
-- every process draws from the same bucket. NULL: no limit.
ALTER TABLE apps ADD COLUMN max_running INTEGER CONSTRAINT apps_max_running_valid CHECK (max_running > 0);
ALTER TABLE apps ADD COLUMN rate_per_second DOUBLE PRECISION CONSTRAINT apps_rate_valid CHECK (rate_per_second > 0);
ALTER TABLE apps ADD COLUMN rate_burst INTEGER CONSTRAINT apps_rate_burst_valid CHECK (rate_burst > 0);
ALTER TABLE apps ADD COLUMN rate_tokens DOUBLE PRECISION;
ALTER TABLE apps ADD COLUMN rate_updated_at TIMESTAMPTZ;
ALTER TABLE apps ADD CONSTRAINT apps_rate_has_burst CHECK ((rate_per_second IS NULL) = (rate_burst IS NULL));
-- What a claim of an app with max_running counts: its running jobs.
CREATE INDEX jobs_running_app ON jobs (app_id) WHERE status = 'running';
