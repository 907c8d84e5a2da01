-- Control of live work: cancel, retry now and delete one job; pause and resume scopes;
-- disable and enable apps. Each runs in a transaction that also writes its audit row.

-- name: CancelPendingJob
-- A pending job ends cancelled at once, the reason appended to its history.
UPDATE jobs AS j
SET status = 'cancelled',
    completed_at = now(),
    last_error = $2,
    error_history = j.error_history || jsonb_build_array(jsonb_build_object(
        'error', $2::text, 'timestamp', floor(extract(epoch FROM now()) * 1000)::bigint))
WHERE j.id = $1 AND j.status = 'pending'
RETURNING id, app_id, type, queue, priority, payload, status, attempts, max_attempts, last_error,
          error_history, run_at, started_at, completed_at, created_at, unique_key, replayed_from,
          lease_token, lease_expires_at, tags, traceparent, tracestate, cancel_requested_at;

-- name: RequestCancel
-- A running job is marked; its worker ends it (the worker section of queries.sql). Asking
-- again keeps the first request's time.
UPDATE jobs
SET cancel_requested_at = coalesce(cancel_requested_at, now())
WHERE id = $1 AND status = 'running'
RETURNING id, app_id, type, queue, priority, payload, status, attempts, max_attempts, last_error,
          error_history, run_at, started_at, completed_at, created_at, unique_key, replayed_from,
          lease_token, lease_expires_at, tags, traceparent, tracestate, cancel_requested_at;

-- name: NotifyCancel
-- Tells the listening workers to renew their leases now, where they learn of the request.
SELECT pg_notify($1, 'cancel');

-- name: RetryJobNow
-- A pending job becomes due now; one due already is unchanged.
UPDATE jobs
SET run_at = least(run_at, now())
WHERE id = $1 AND status = 'pending'
RETURNING id, app_id, type, queue, priority, payload, status, attempts, max_attempts, last_error,
          error_history, run_at, started_at, completed_at, created_at, unique_key, replayed_from,
          lease_token, lease_expires_at, tags, traceparent, tracestate, cancel_requested_at;

-- name: DeleteJob
DELETE FROM jobs
WHERE id = $1 AND status <> 'running'
RETURNING id, app_id, type, queue, priority, payload, status, attempts, max_attempts, last_error,
          error_history, run_at, started_at, completed_at, created_at, unique_key, replayed_from,
          lease_token, lease_expires_at, tags, traceparent, tracestate, cancel_requested_at;

-- name: JobStatus
-- Why a change above changed nothing: no row, or the job's state.
SELECT status FROM jobs WHERE id = $1;

-- name: LockPauses
-- Taken by every pause, resume, disable and enable: it waits for the claims under way (each
-- claim statement reads pauses, holding it against this lock until its transaction ends) and
-- holds off new ones until the change commits. So once the change returns, no claim that
-- missed it is still running.
LOCK TABLE pauses IN ACCESS EXCLUSIVE MODE;

-- name: InsertPause
-- Stamped when it is made, after LockPauses was granted (now() is when the transaction began,
-- before the wait): every claim that ran without seeing it started before it.
INSERT INTO pauses (id, app_id, queue, type, paused_by, paused_at)
VALUES ($1, $2, $3, $4, $5, clock_timestamp())
ON CONFLICT ON CONSTRAINT pauses_scope DO NOTHING;

-- name: GetPause
SELECT id, app_id, queue, type, paused_at, paused_by
FROM pauses
WHERE app_id IS NOT DISTINCT FROM $1 AND queue = $2 AND type = $3;

-- name: DeletePause
DELETE FROM pauses
WHERE app_id IS NOT DISTINCT FROM $1 AND queue = $2 AND type = $3
RETURNING id, app_id, queue, type, paused_at, paused_by;

-- name: ListPauses
SELECT id, app_id, queue, type, paused_at, paused_by FROM pauses ORDER BY id;

-- name: SetAppDisabled
-- Disabling keeps the time the app was first disabled.
UPDATE apps
SET disabled_at = CASE WHEN $2 THEN coalesce(disabled_at, now()) END
WHERE id = $1
RETURNING id, name, created_at, coalesce(max_running, 0), coalesce(rate_per_second, 0), coalesce(rate_burst, 0), disabled_at;
