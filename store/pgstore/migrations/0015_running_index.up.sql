-- One index for the running state instead of two. A claim of an app with max_running counts
-- the app's running jobs by its leading column; the rescue's look for expired leases reads the
-- whole running set by it (bounded by the workers' concurrency, and off the hot path). Every
-- claim and every lease renewal (non-HOT updates: status and lease_expires_at are indexed)
-- then writes one index entry for the running state, not two.
CREATE INDEX jobs_running ON jobs (app_id, lease_expires_at) WHERE status = 'running';
DROP INDEX jobs_lease;
DROP INDEX jobs_running_app;
