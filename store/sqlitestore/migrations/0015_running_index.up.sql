-- pgstore's 0015_running_index: one index for the running state, read by the rescue (by
-- lease_expires_at) and by a limited claim's count of an app's running jobs.
CREATE INDEX jobs_running ON jobs (app_id, lease_expires_at) WHERE status = 'running';
DROP INDEX jobs_lease;
DROP INDEX jobs_running_app;
