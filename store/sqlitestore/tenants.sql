-- Tenant lifecycle: pgstore's tenants.sql in SQLite's dialect. Every write runs inside
-- BEGIN IMMEDIATE on the one writer, so nothing else writes between a check and a change, and
-- no row lock is needed.

-- name: GetAppName
SELECT name FROM apps WHERE id = :id;

-- name: RenameApp
UPDATE apps SET name = :name WHERE id = :id
RETURNING id, name, created_at, coalesce(max_running, 0), coalesce(rate_per_second, 0), coalesce(rate_burst, 0), disabled_at;

-- name: AppHoldings
-- No row when the app does not exist.
SELECT
    (SELECT count(*) FROM jobs WHERE app_id = a.id AND status = 'pending'),
    (SELECT count(*) FROM jobs WHERE app_id = a.id AND status = 'running'),
    (SELECT count(*) FROM jobs WHERE app_id = a.id AND status IN ('completed', 'cancelled')),
    (SELECT count(*) FROM job_dlq WHERE app_id = a.id AND replayed_at IS NULL),
    (SELECT count(*) FROM job_dlq WHERE app_id = a.id AND replayed_at IS NOT NULL),
    (SELECT count(*) FROM api_tokens WHERE app_id = a.id AND revoked_at IS NULL),
    (SELECT count(*) FROM retention_policies WHERE app_id = a.id),
    (SELECT count(*) FROM periodic_schedules WHERE app_id = a.id),
    (SELECT count(*) FROM pauses WHERE app_id = a.id)
FROM apps AS a WHERE a.id = :id;

-- name: PurgeAppJobs
-- One batch of an app purge: its oldest jobs, whatever their state. A running job deleted
-- here is fenced: its worker's finish and heartbeat name its lease token, which no row holds.
DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE app_id = :id ORDER BY id LIMIT :limit);

-- name: PurgeAppDead
DELETE FROM job_dlq WHERE id IN (SELECT id FROM job_dlq WHERE app_id = :id ORDER BY id LIMIT :limit);

-- name: PurgeAppTokens
DELETE FROM api_tokens WHERE id IN (SELECT id FROM api_tokens WHERE app_id = :id ORDER BY id LIMIT :limit);

-- name: PurgeAppPolicies
DELETE FROM retention_policies WHERE id IN (SELECT id FROM retention_policies WHERE app_id = :id ORDER BY id LIMIT :limit);

-- name: CancelAppReplayOps
UPDATE replay_operations
SET status = 'cancelled', lease_token = NULL, lease_expires_at = NULL,
    updated_at = CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000,
    finished_at = CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000,
    last_error = 'the app was deleted'
WHERE app_id = :id AND status IN ('running', 'paused');

-- name: DeleteAppAlertGroups
DELETE FROM alert_groups WHERE app_id = :id;

-- name: DeleteAppTrimReports
DELETE FROM retention_reports WHERE app_id = :id;

-- name: DeleteApp
DELETE FROM apps WHERE id = :id;

-- name: RotateToken
UPDATE api_tokens
SET previous_secret_hash = CASE WHEN :previous_expires_at IS NULL THEN NULL ELSE secret_hash END,
    secret_hash = :secret_hash,
    previous_expires_at = :previous_expires_at,
    rotated_at = CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000
WHERE id = :id AND revoked_at IS NULL
RETURNING id, name, app_id, read_only, secret_hash, created_at, expires_at, revoked_at,
          rotated_at, previous_secret_hash, previous_expires_at;

-- name: AuditDetails
SELECT details FROM audit_log WHERE id = :id;
