-- The queries of durable bulk replays (store.ReplayOps). An operation is advanced only under
-- its lease: LockReplayOp, the first statement of every batch's transaction, locks the row if
-- and only if the caller's token holds an unexpired lease on a running operation, so a
-- pause, a cancel or another runner's claim waits for the batch to commit, and a batch whose
-- lease is gone finds nothing and changes nothing.

-- name: CreateReplayOp
INSERT INTO replay_operations (id, app_id, type, failed_after, failed_before, error_contains,
                               error_group, through_id, attempts, payload_patch, include_loops,
                               rate, created_by, tag)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
RETURNING id, app_id, type, failed_after, failed_before, error_contains, error_group, through_id,
          attempts, payload_patch, include_loops, rate, status, matched, replayed, failed, skipped,
          cursor_id, last_error, created_by, created_at, updated_at, finished_at, lease_token,
          lease_expires_at, tag;

-- name: GetReplayOp
SELECT id, app_id, type, failed_after, failed_before, error_contains, error_group, through_id,
       attempts, payload_patch, include_loops, rate, status, matched, replayed, failed, skipped,
       cursor_id, last_error, created_by, created_at, updated_at, finished_at, lease_token,
       lease_expires_at, tag
FROM replay_operations WHERE id = $1;

-- name: ListReplayOps
SELECT id, app_id, type, failed_after, failed_before, error_contains, error_group, through_id,
       attempts, payload_patch, include_loops, rate, status, matched, replayed, failed, skipped,
       cursor_id, last_error, created_by, created_at, updated_at, finished_at, lease_token,
       lease_expires_at, tag
FROM replay_operations
WHERE ($1::uuid IS NULL OR app_id = $1)
  AND ($2::uuid IS NULL OR id < $2)
ORDER BY id DESC
LIMIT $3;

-- name: SetReplayOpStatus
-- Moves the operation from one of $2 to $3 and gives up its lease. The row lock waits for a
-- batch in flight, whose lease this then ends.
UPDATE replay_operations
SET status = $3, lease_token = NULL, lease_expires_at = NULL, updated_at = now(),
    finished_at = CASE WHEN $3 IN ('cancelled', 'done', 'failed') THEN now() ELSE finished_at END
WHERE id = $1 AND status = ANY($2::text[])
RETURNING id, app_id, type, failed_after, failed_before, error_contains, error_group, through_id,
          attempts, payload_patch, include_loops, rate, status, matched, replayed, failed, skipped,
          cursor_id, last_error, created_by, created_at, updated_at, finished_at, lease_token,
          lease_expires_at, tag;

-- name: ClaimReplayOp
-- A running operation whose lease is free or expired (the one named by $1, else the oldest),
-- leased to $2 for $3 ms. Rows other claimers hold are skipped.
UPDATE replay_operations AS o
SET lease_token = $2, lease_expires_at = clock_timestamp() + $3 * interval '1 millisecond'
WHERE o.id = (
    SELECT id FROM replay_operations
    WHERE status = 'running'
      AND (lease_expires_at IS NULL OR lease_expires_at < clock_timestamp())
      AND ($1::uuid IS NULL OR id = $1)
    ORDER BY id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
RETURNING id, app_id, type, failed_after, failed_before, error_contains, error_group, through_id,
          attempts, payload_patch, include_loops, rate, status, matched, replayed, failed, skipped,
          cursor_id, last_error, created_by, created_at, updated_at, finished_at, lease_token,
          lease_expires_at, tag;

-- name: ReleaseReplayOp
UPDATE replay_operations SET lease_token = NULL, lease_expires_at = NULL
WHERE id = $1 AND lease_token = $2;

-- name: LockReplayOp
-- The fence of a batch: the operation's cursor, if $2 holds its unexpired lease and it is
-- running; no row otherwise.
SELECT cursor_id FROM replay_operations
WHERE id = $1 AND lease_token = $2 AND status = 'running' AND lease_expires_at > clock_timestamp()
FOR UPDATE;

-- name: AdvanceReplayOp
-- After a batch, in its transaction: move the cursor, add the counts, renew the lease for $9
-- ms, or finish the operation when the batch was its last ($8).
UPDATE replay_operations
SET cursor_id = coalesce($2, cursor_id),
    matched = matched + $3, replayed = replayed + $4, failed = failed + $5, skipped = skipped + $6,
    last_error = CASE WHEN $7::text = '' THEN last_error ELSE $7 END,
    status = CASE WHEN $8::boolean THEN 'done' ELSE status END,
    finished_at = CASE WHEN $8::boolean THEN now() ELSE finished_at END,
    lease_token = CASE WHEN $8::boolean THEN NULL ELSE lease_token END,
    lease_expires_at = CASE WHEN $8::boolean THEN NULL
                            ELSE clock_timestamp() + $9 * interval '1 millisecond' END,
    updated_at = now()
WHERE id = $1
RETURNING id, app_id, type, failed_after, failed_before, error_contains, error_group, through_id,
          attempts, payload_patch, include_loops, rate, status, matched, replayed, failed, skipped,
          cursor_id, last_error, created_by, created_at, updated_at, finished_at, lease_token,
          lease_expires_at, tag;

-- name: CountReplayOps
SELECT status, count(*) FROM replay_operations GROUP BY status;
