-- The queries of retention: pgstore's retention.sql in SQLite's dialect. A trim batch runs
-- inside the writer's BEGIN IMMEDIATE, so no other transaction can take its rows meanwhile.
-- A policy's scope is an app (:app_id, NULL: every app) and a type (:type, '': every type),
-- less the scopes of more specific policies (:exclude, a JSON array of {app, type}, either
-- null for any).

-- name: GetRetentionPolicyByScope
SELECT id, kind, app_id, type, max_age_ms, max_count, created_at, updated_at
FROM retention_policies
WHERE kind = :kind AND app_id IS :app_id AND type = :type;

-- name: UpdateRetentionPolicy
UPDATE retention_policies
SET max_age_ms = :max_age_ms, max_count = :max_count,
    updated_at = CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000
WHERE kind = :kind AND app_id IS :app_id AND type = :type
RETURNING id, kind, app_id, type, max_age_ms, max_count, created_at, updated_at;

-- name: InsertRetentionPolicy
INSERT INTO retention_policies (id, kind, app_id, type, max_age_ms, max_count)
VALUES (:id, :kind, :app_id, :type, :max_age_ms, :max_count)
RETURNING id, kind, app_id, type, max_age_ms, max_count, created_at, updated_at;

-- name: ListRetentionPolicies
SELECT id, kind, app_id, type, max_age_ms, max_count, created_at, updated_at
FROM retention_policies
ORDER BY kind, app_id IS NOT NULL, app_id, type;

-- name: DeleteRetentionPolicy
DELETE FROM retention_policies WHERE id = :id
RETURNING id, kind, app_id, type, max_age_ms, max_count, created_at, updated_at;

-- name: TrimJobsBound
SELECT id FROM jobs AS j
WHERE status = :kind
  AND (:app_id IS NULL OR app_id = :app_id)
  AND (:type = '' OR type = :type)
  AND NOT EXISTS (SELECT 1 FROM json_each(:exclude) AS e
                  WHERE (e.value ->> 'app' IS NULL OR e.value ->> 'app' = j.app_id)
                    AND (e.value ->> 'type' IS NULL OR e.value ->> 'type' = j.type))
ORDER BY id DESC
LIMIT 1 OFFSET :max_count;

-- name: TrimJobs
SELECT id, app_id, type, coalesce(completed_at, created_at) FROM jobs AS j
WHERE status = :kind
  AND (:app_id IS NULL OR app_id = :app_id)
  AND (:type = '' OR type = :type)
  AND NOT EXISTS (SELECT 1 FROM json_each(:exclude) AS e
                  WHERE (e.value ->> 'app' IS NULL OR e.value ->> 'app' = j.app_id)
                    AND (e.value ->> 'type' IS NULL OR e.value ->> 'type' = j.type))
  AND ((:max_age_ms > 0 AND coalesce(completed_at, created_at)
          < CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000 - :max_age_ms * 1000)
       OR (:bound IS NOT NULL AND id <= :bound))
ORDER BY id
LIMIT :limit;

-- name: DeleteJobs
DELETE FROM jobs WHERE id IN (SELECT value FROM json_each(:ids));

-- name: TrimDeadBound
SELECT id FROM job_dlq AS d
WHERE (replayed_at IS NOT NULL) = :replayed
  AND (:app_id IS NULL OR app_id = :app_id)
  AND (:type = '' OR type = :type)
  AND NOT EXISTS (SELECT 1 FROM json_each(:exclude) AS e
                  WHERE (e.value ->> 'app' IS NULL OR e.value ->> 'app' = d.app_id)
                    AND (e.value ->> 'type' IS NULL OR e.value ->> 'type' = d.type))
ORDER BY id DESC
LIMIT 1 OFFSET :max_count;

-- name: TrimDead
SELECT id, original_job_id, app_id, type, payload, attempts, error_history, failed_at,
       replayed_at, queue, priority, max_attempts, unique_key, replay_job_id, error_signature, replay_of,
       tags, traceparent, tracestate
FROM job_dlq AS d
WHERE (replayed_at IS NOT NULL) = :replayed
  AND (:app_id IS NULL OR app_id = :app_id)
  AND (:type = '' OR type = :type)
  AND NOT EXISTS (SELECT 1 FROM json_each(:exclude) AS e
                  WHERE (e.value ->> 'app' IS NULL OR e.value ->> 'app' = d.app_id)
                    AND (e.value ->> 'type' IS NULL OR e.value ->> 'type' = d.type))
  AND ((:max_age_ms > 0 AND failed_at
          < CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000 - :max_age_ms * 1000)
       OR (:bound IS NOT NULL AND id <= :bound))
ORDER BY id
LIMIT :limit;

-- name: DeleteDeadIDs
DELETE FROM job_dlq WHERE id IN (SELECT value FROM json_each(:ids));

-- name: RecordTrimReport
INSERT INTO retention_reports (id, policy_id, policy, app_id, type, count, oldest_failed_at,
                               newest_failed_at, min_id, max_id, export_file)
VALUES (:id, :policy_id, :policy, :app_id, :type, :count, :oldest, :newest, :min_id, :max_id, :export_file)
ON CONFLICT (app_id, type, policy) WHERE dismissed_at IS NULL
DO UPDATE SET count = retention_reports.count + excluded.count,
              oldest_failed_at = min(retention_reports.oldest_failed_at, excluded.oldest_failed_at),
              newest_failed_at = max(retention_reports.newest_failed_at, excluded.newest_failed_at),
              min_id = min(retention_reports.min_id, excluded.min_id),
              max_id = max(retention_reports.max_id, excluded.max_id),
              export_file = CASE WHEN excluded.export_file = '' THEN retention_reports.export_file
                                 ELSE excluded.export_file END;

-- name: ListTrimReports
SELECT id, policy_id, policy, app_id, type, count, oldest_failed_at, newest_failed_at, min_id,
       max_id, export_file, created_at, dismissed_at, dismissed_by
FROM retention_reports
WHERE (NOT :undismissed OR dismissed_at IS NULL)
  AND id < coalesce(:before, '~')
ORDER BY id DESC
LIMIT :limit;

-- name: GetTrimReport
SELECT id, policy_id, policy, app_id, type, count, oldest_failed_at, newest_failed_at, min_id,
       max_id, export_file, created_at, dismissed_at, dismissed_by
FROM retention_reports WHERE id = :id;

-- name: DismissTrimReport
UPDATE retention_reports
SET dismissed_at = coalesce(dismissed_at, CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000),
    dismissed_by = CASE WHEN dismissed_at IS NULL THEN :by ELSE dismissed_by END
WHERE id = :id
RETURNING id, policy_id, policy, app_id, type, count, oldest_failed_at, newest_failed_at, min_id,
          max_id, export_file, created_at, dismissed_at, dismissed_by;

-- name: CountTrimReports
SELECT count(*) FROM retention_reports WHERE dismissed_at IS NULL;
