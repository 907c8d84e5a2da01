-- Control of live work: pgstore's control.sql in SQLite's dialect. The write lock each
-- change holds is what makes a pause strict: no claim runs while it is taken.

-- name: CancelPendingJob
UPDATE jobs
SET status = 'cancelled',
    completed_at = CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000,
    last_error = :reason,
    error_history = json_insert(error_history, '$[#]', json_object(
        'error', :reason, 'timestamp', CAST(round(unixepoch('subsec') * 1000) AS INTEGER)))
WHERE id = :id AND status = 'pending'
RETURNING id, app_id, type, queue, priority, payload, status, attempts, max_attempts, last_error,
          error_history, run_at, started_at, completed_at, created_at, unique_key, replayed_from,
          lease_token, lease_expires_at, tags, traceparent, tracestate, cancel_requested_at;

-- name: RequestCancel
UPDATE jobs
SET cancel_requested_at = coalesce(cancel_requested_at, CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000)
WHERE id = :id AND status = 'running'
RETURNING id, app_id, type, queue, priority, payload, status, attempts, max_attempts, last_error,
          error_history, run_at, started_at, completed_at, created_at, unique_key, replayed_from,
          lease_token, lease_expires_at, tags, traceparent, tracestate, cancel_requested_at;

-- name: RetryJobNow
UPDATE jobs
SET run_at = min(run_at, CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000)
WHERE id = :id AND status = 'pending'
RETURNING id, app_id, type, queue, priority, payload, status, attempts, max_attempts, last_error,
          error_history, run_at, started_at, completed_at, created_at, unique_key, replayed_from,
          lease_token, lease_expires_at, tags, traceparent, tracestate, cancel_requested_at;

-- name: DeleteJob
DELETE FROM jobs
WHERE id = :id AND status <> 'running'
RETURNING id, app_id, type, queue, priority, payload, status, attempts, max_attempts, last_error,
          error_history, run_at, started_at, completed_at, created_at, unique_key, replayed_from,
          lease_token, lease_expires_at, tags, traceparent, tracestate, cancel_requested_at;

-- name: JobStatus
SELECT status FROM jobs WHERE id = :id;

-- name: InsertPause
INSERT INTO pauses (id, app_id, queue, type, paused_by)
VALUES (:id, :app_id, :queue, :type, :paused_by)
ON CONFLICT DO NOTHING;

-- name: GetPause
SELECT id, app_id, queue, type, paused_at, paused_by
FROM pauses
WHERE app_id IS :app_id AND queue = :queue AND type = :type;

-- name: DeletePause
DELETE FROM pauses
WHERE app_id IS :app_id AND queue = :queue AND type = :type
RETURNING id, app_id, queue, type, paused_at, paused_by;

-- name: ListPauses
SELECT id, app_id, queue, type, paused_at, paused_by FROM pauses ORDER BY id;

-- name: SetAppDisabled
UPDATE apps
SET disabled_at = CASE WHEN :disabled THEN coalesce(disabled_at, CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000) END
WHERE id = :id
RETURNING id, name, created_at, coalesce(max_running, 0), coalesce(rate_per_second, 0), coalesce(rate_burst, 0), disabled_at;
