-- The queries of durable bulk replays (store.ReplayOps): pgstore's replayops.sql in SQLite's
-- dialect. Every write holds the database's write lock from its first statement, so the lease
-- checked by LockReplayOp holds until the batch commits, as the row lock does on PostgreSQL.

-- name: CreateReplayOp
INSERT INTO replay_operations (id, app_id, type, failed_after, failed_before, error_contains,
                               error_group, through_id, attempts, payload_patch, include_loops,
                               rate, created_by, tag)
VALUES (:id, :app_id, :type, :failed_after, :failed_before, :error_contains, :group, :through,
        :attempts, :patch, :include_loops, :rate, :created_by, :tag)
RETURNING id, app_id, type, failed_after, failed_before, error_contains, error_group, through_id,
          attempts, payload_patch, include_loops, rate, status, matched, replayed, failed, skipped,
          cursor_id, last_error, created_by, created_at, updated_at, finished_at, lease_token,
          lease_expires_at, tag;

-- name: GetReplayOp
SELECT id, app_id, type, failed_after, failed_before, error_contains, error_group, through_id,
       attempts, payload_patch, include_loops, rate, status, matched, replayed, failed, skipped,
       cursor_id, last_error, created_by, created_at, updated_at, finished_at, lease_token,
       lease_expires_at, tag
FROM replay_operations WHERE id = :id;

-- name: ListReplayOps
SELECT id, app_id, type, failed_after, failed_before, error_contains, error_group, through_id,
       attempts, payload_patch, include_loops, rate, status, matched, replayed, failed, skipped,
       cursor_id, last_error, created_by, created_at, updated_at, finished_at, lease_token,
       lease_expires_at, tag
FROM replay_operations
WHERE (:app_id IS NULL OR app_id = :app_id)
  AND id < coalesce(:before, '~')
ORDER BY id DESC
LIMIT :limit;

-- name: SetReplayOpStatus
-- :from is a JSON array of states.
UPDATE replay_operations
SET status = :to, lease_token = NULL, lease_expires_at = NULL,
    updated_at = CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000,
    finished_at = CASE WHEN :to IN ('cancelled', 'done', 'failed')
                       THEN CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000 ELSE finished_at END
WHERE id = :id AND status IN (SELECT value FROM json_each(:from))
RETURNING id, app_id, type, failed_after, failed_before, error_contains, error_group, through_id,
          attempts, payload_patch, include_loops, rate, status, matched, replayed, failed, skipped,
          cursor_id, last_error, created_by, created_at, updated_at, finished_at, lease_token,
          lease_expires_at, tag;

-- name: ClaimReplayOp
UPDATE replay_operations
SET lease_token = :token,
    lease_expires_at = CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000 + :lease_ms * 1000
WHERE id = (
    SELECT id FROM replay_operations
    WHERE status = 'running'
      AND (lease_expires_at IS NULL
           OR lease_expires_at < CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000)
      AND (:id IS NULL OR id = :id)
    ORDER BY id
    LIMIT 1
)
RETURNING id, app_id, type, failed_after, failed_before, error_contains, error_group, through_id,
          attempts, payload_patch, include_loops, rate, status, matched, replayed, failed, skipped,
          cursor_id, last_error, created_by, created_at, updated_at, finished_at, lease_token,
          lease_expires_at, tag;

-- name: ReleaseReplayOp
UPDATE replay_operations SET lease_token = NULL, lease_expires_at = NULL
WHERE id = :id AND lease_token = :token;

-- name: LockReplayOp
SELECT cursor_id FROM replay_operations
WHERE id = :id AND lease_token = :token AND status = 'running'
  AND lease_expires_at > CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000;

-- name: AdvanceReplayOp
UPDATE replay_operations
SET cursor_id = coalesce(:cursor, cursor_id),
    matched = matched + :matched, replayed = replayed + :replayed, failed = failed + :failed,
    skipped = skipped + :skipped,
    last_error = CASE WHEN :note = '' THEN last_error ELSE :note END,
    status = CASE WHEN :last THEN 'done' ELSE status END,
    finished_at = CASE WHEN :last THEN CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000
                       ELSE finished_at END,
    lease_token = CASE WHEN :last THEN NULL ELSE lease_token END,
    lease_expires_at = CASE WHEN :last THEN NULL
                            ELSE CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000 + :lease_ms * 1000 END,
    updated_at = CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000
WHERE id = :id
RETURNING id, app_id, type, failed_after, failed_before, error_contains, error_group, through_id,
          attempts, payload_patch, include_loops, rate, status, matched, replayed, failed, skipped,
          cursor_id, last_error, created_by, created_at, updated_at, finished_at, lease_token,
          lease_expires_at, tag;

-- name: ReplayOpExists
SELECT count(*) FROM replay_operations WHERE id = :id;

-- name: CountReplayOps
SELECT status, count(*) FROM replay_operations GROUP BY status;

-- name: ClaimableReplayOp
-- Whether ClaimReplayOp would find an operation: asked on the readers first, so that the
-- upkeep's polling takes the write lock only when there is one to take.
SELECT EXISTS (
    SELECT 1 FROM replay_operations
    WHERE status = 'running'
      AND (lease_expires_at IS NULL
           OR lease_expires_at < CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000)
      AND (:id IS NULL OR id = :id)
);
