-- The queries of retention (store.Retention). A trim batch selects the oldest rows its policy
-- no longer keeps, locking them and skipping rows other transactions hold (so runners in
-- several processes take disjoint batches), and deletes them by id in the same transaction.
-- A policy's scope is an app ($2, NULL: every app) and a type ($3, '': every type), less the
-- scopes of more specific policies ($4, a JSON array of {app, type}, either null for any).

-- name: LockRetentionPolicy
-- The policy of the kind and scope, if any, locked until the transaction ends.
SELECT id, kind, app_id, type, max_age_ms, max_count, created_at, updated_at
FROM retention_policies
WHERE kind = $1 AND app_id IS NOT DISTINCT FROM $2 AND type = $3
FOR UPDATE;

-- name: PutRetentionPolicy
INSERT INTO retention_policies (id, kind, app_id, type, max_age_ms, max_count)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (kind, app_id, type)
DO UPDATE SET max_age_ms = excluded.max_age_ms, max_count = excluded.max_count, updated_at = now()
RETURNING id, kind, app_id, type, max_age_ms, max_count, created_at, updated_at;

-- name: ListRetentionPolicies
SELECT id, kind, app_id, type, max_age_ms, max_count, created_at, updated_at
FROM retention_policies
ORDER BY kind, app_id NULLS FIRST, type;

-- name: DeleteRetentionPolicy
DELETE FROM retention_policies WHERE id = $1
RETURNING id, kind, app_id, type, max_age_ms, max_count, created_at, updated_at;

-- name: TrimJobsBound
-- The newest row beyond the newest $5 of the scope ($1: the status), if any.
SELECT id FROM jobs AS j
WHERE status = $1
  AND ($2::uuid IS NULL OR app_id = $2)
  AND ($3::text = '' OR type = $3)
  AND NOT EXISTS (SELECT 1 FROM jsonb_to_recordset($4::jsonb) AS e(app uuid, type text)
                  WHERE (e.app IS NULL OR e.app = j.app_id) AND (e.type IS NULL OR e.type = j.type))
ORDER BY id DESC
OFFSET $5 LIMIT 1;

-- name: TrimJobs
-- The oldest $7 rows of the scope older than $5 ms (when > 0) or at or below the bound $6.
SELECT id, app_id, type, coalesce(completed_at, created_at) FROM jobs AS j
WHERE status = $1
  AND ($2::uuid IS NULL OR app_id = $2)
  AND ($3::text = '' OR type = $3)
  AND NOT EXISTS (SELECT 1 FROM jsonb_to_recordset($4::jsonb) AS e(app uuid, type text)
                  WHERE (e.app IS NULL OR e.app = j.app_id) AND (e.type IS NULL OR e.type = j.type))
  AND (($5::bigint > 0 AND coalesce(completed_at, created_at) < now() - $5 * interval '1 millisecond')
       OR ($6::uuid IS NOT NULL AND id <= $6))
ORDER BY id
LIMIT $7
FOR UPDATE SKIP LOCKED;

-- name: DeleteJobs
DELETE FROM jobs WHERE id = ANY($1::uuid[]);

-- name: TrimDeadBound
-- As TrimJobsBound, for entries replayed ($1 true) or not.
SELECT id FROM job_dlq AS d
WHERE (replayed_at IS NOT NULL) = $1
  AND ($2::uuid IS NULL OR app_id = $2)
  AND ($3::text = '' OR type = $3)
  AND NOT EXISTS (SELECT 1 FROM jsonb_to_recordset($4::jsonb) AS e(app uuid, type text)
                  WHERE (e.app IS NULL OR e.app = d.app_id) AND (e.type IS NULL OR e.type = d.type))
ORDER BY id DESC
OFFSET $5 LIMIT 1;

-- name: TrimDead
SELECT id, original_job_id, app_id, type, payload, attempts, error_history, failed_at,
       replayed_at, queue, priority, max_attempts, unique_key, replay_job_id, error_signature, replay_of,
       tags, traceparent, tracestate
FROM job_dlq AS d
WHERE (replayed_at IS NOT NULL) = $1
  AND ($2::uuid IS NULL OR app_id = $2)
  AND ($3::text = '' OR type = $3)
  AND NOT EXISTS (SELECT 1 FROM jsonb_to_recordset($4::jsonb) AS e(app uuid, type text)
                  WHERE (e.app IS NULL OR e.app = d.app_id) AND (e.type IS NULL OR e.type = d.type))
  AND (($5::bigint > 0 AND failed_at < now() - $5 * interval '1 millisecond')
       OR ($6::uuid IS NOT NULL AND id <= $6))
ORDER BY id
LIMIT $7
FOR UPDATE SKIP LOCKED;

-- name: DeleteDeadIDs
DELETE FROM job_dlq WHERE id = ANY($1::uuid[]);

-- name: RecordTrimReport
-- Adds to the undismissed report of the same app, type and policy, or starts one.
INSERT INTO retention_reports (id, policy_id, policy, app_id, type, count, oldest_failed_at,
                               newest_failed_at, min_id, max_id, export_file)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (app_id, type, policy) WHERE dismissed_at IS NULL
DO UPDATE SET count = retention_reports.count + excluded.count,
              oldest_failed_at = least(retention_reports.oldest_failed_at, excluded.oldest_failed_at),
              newest_failed_at = greatest(retention_reports.newest_failed_at, excluded.newest_failed_at),
              min_id = least(retention_reports.min_id, excluded.min_id),
              max_id = greatest(retention_reports.max_id, excluded.max_id),
              export_file = CASE WHEN excluded.export_file = '' THEN retention_reports.export_file
                                 ELSE excluded.export_file END;

-- name: ListTrimReports
SELECT id, policy_id, policy, app_id, type, count, oldest_failed_at, newest_failed_at, min_id,
       max_id, export_file, created_at, dismissed_at, dismissed_by
FROM retention_reports
WHERE (NOT $1::boolean OR dismissed_at IS NULL)
  AND ($2::uuid IS NULL OR id < $2)
ORDER BY id DESC
LIMIT $3;

-- name: GetTrimReport
SELECT id, policy_id, policy, app_id, type, count, oldest_failed_at, newest_failed_at, min_id,
       max_id, export_file, created_at, dismissed_at, dismissed_by
FROM retention_reports WHERE id = $1;

-- name: DismissTrimReport
UPDATE retention_reports
SET dismissed_at = coalesce(dismissed_at, now()),
    dismissed_by = CASE WHEN dismissed_at IS NULL THEN $2 ELSE dismissed_by END
WHERE id = $1
RETURNING id, policy_id, policy, app_id, type, count, oldest_failed_at, newest_failed_at, min_id,
          max_id, export_file, created_at, dismissed_at, dismissed_by;

-- name: CountTrimReports
SELECT count(*) FROM retention_reports WHERE dismissed_at IS NULL;
