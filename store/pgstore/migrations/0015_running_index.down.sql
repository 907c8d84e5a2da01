CREATE INDEX jobs_lease ON jobs (lease_expires_at) WHERE status = 'running';
CREATE INDEX jobs_running_app ON jobs (app_id) WHERE status = 'running';
DROP INDEX jobs_running;
