-- Claims are shared fairly between apps (tenants): a claim finds the apps with due jobs in a
-- queue by a skip scan over (queue, app_id), then takes each app's share in priority order.
-- jobs_fair serves both; it replaces jobs_fetch, whose global priority order no claim uses.
CREATE INDEX jobs_fair ON jobs (queue, app_id, priority, run_at, id) WHERE status = 'pending';
DROP INDEX jobs_fetch;
