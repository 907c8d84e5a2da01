-- Tenant lifecycle: renaming, emptying and deleting apps; rotating tokens.

-- name: LockApp
-- Taken first by RenameApp and DeleteApp: while it is held, no job, entry or token of the app
-- can be inserted (their foreign-key checks wait for it), and no one else renames or deletes it.
SELECT name FROM apps WHERE id = $1 FOR UPDATE;

-- name: RenameApp
UPDATE apps SET name = $2 WHERE id = $1
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
FROM apps AS a WHERE a.id = $1;

-- name: PurgeAppJobs
-- One batch of an app purge: its oldest jobs, whatever their state, by the jobs_app index.
-- Rows a claim, a finish or a rescue holds are skipped (a later batch takes them), so a purge
-- never waits on a worker and never deadlocks with one. A running job deleted here is fenced:
-- its worker's finish and heartbeat name its lease token, which no row holds any more.
DELETE FROM jobs WHERE id IN (
    SELECT id FROM jobs WHERE app_id = $1 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED
);

-- name: PurgeAppDead
-- Their alert_outbox rows go with them (ON DELETE CASCADE).
DELETE FROM job_dlq WHERE id IN (
    SELECT id FROM job_dlq WHERE app_id = $1 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED
);

-- name: PurgeAppTokens
DELETE FROM api_tokens WHERE id IN (
    SELECT id FROM api_tokens WHERE app_id = $1 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED
);

-- name: PurgeAppPolicies
DELETE FROM retention_policies WHERE id IN (
    SELECT id FROM retention_policies WHERE app_id = $1 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED
);

-- name: CancelAppReplayOps
-- The app's live replay operations end with it; the ones that ended stay as history.
UPDATE replay_operations
SET status = 'cancelled', lease_token = NULL, lease_expires_at = NULL, updated_at = now(),
    finished_at = now(), last_error = 'the app was deleted'
WHERE app_id = $1 AND status IN ('running', 'paused');

-- name: DeleteAppAlertGroups
DELETE FROM alert_groups WHERE app_id = $1;

-- name: DeleteAppTrimReports
DELETE FROM retention_reports WHERE app_id = $1;

-- name: DeleteApp
-- Its revoked tokens go with it (ON DELETE CASCADE); jobs and entries would refuse it
-- (ON DELETE RESTRICT), but DeleteApp has counted none under the app's lock.
DELETE FROM apps WHERE id = $1;

-- name: RotateToken
-- $3 NULL: the replaced secret stops at once (and so does any earlier one still in its grace).
UPDATE api_tokens
SET secret_hash = $2,
    previous_secret_hash = CASE WHEN $3::timestamptz IS NULL THEN NULL ELSE secret_hash END,
    previous_expires_at = $3,
    rotated_at = now()
WHERE id = $1 AND revoked_at IS NULL
RETURNING id, name, app_id, read_only, secret_hash, created_at, expires_at, revoked_at,
          rotated_at, previous_secret_hash, previous_expires_at;

-- name: AuditDetails
SELECT details FROM audit_log WHERE id = $1;
