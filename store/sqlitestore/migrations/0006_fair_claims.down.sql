CREATE INDEX jobs_fetch ON jobs (queue, priority, run_at, id) WHERE status = 'pending';
DROP INDEX jobs_fair;
