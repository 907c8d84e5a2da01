-- The queries of alerting (package alert): the outbox of dead-letter alerts, which a trigger
-- on job_dlq fills (migration 0007_alerts), and the failure groups' threshold crossings. Kept
-- apart from queries.sql; the same conventions hold (database clock, lease tokens).

-- name: ClaimDeadAlerts
-- Lease up to $2 pending alerts (never leased, or their lease expired) to $1 for $3 ms,
-- oldest entry first, skipping rows another alerter is claiming right now; answer their
-- entries.
WITH picked AS (
    SELECT entry_id FROM alert_outbox
    WHERE lease_expires_at IS NULL OR lease_expires_at < now()
    ORDER BY entry_id
    LIMIT $2
    FOR UPDATE SKIP LOCKED
), leased AS (
    UPDATE alert_outbox AS o
    SET lease_token = $1, lease_expires_at = now() + $3 * interval '1 millisecond'
    FROM picked
    WHERE o.entry_id = picked.entry_id
    RETURNING o.entry_id
)
SELECT d.id, d.original_job_id, d.app_id, d.type, d.payload, d.attempts, d.error_history,
       d.failed_at, d.replayed_at, d.queue, d.priority, d.max_attempts, d.unique_key, d.replay_job_id,
       d.error_signature, d.replay_of
FROM leased
JOIN job_dlq AS d ON d.id = leased.entry_id
ORDER BY d.id;

-- name: AckDeadAlerts
-- Remove the alerts of the entries $2 that $1 still holds; renew the lease of the others $1
-- holds to $3 ms from now. Answers how many it removed.
WITH acked AS (
    DELETE FROM alert_outbox
    WHERE lease_token = $1 AND entry_id = ANY($2::uuid[])
    RETURNING entry_id
), renewed AS (
    UPDATE alert_outbox
    SET lease_expires_at = now() + $3 * interval '1 millisecond'
    WHERE lease_token = $1 AND NOT (entry_id = ANY($2::uuid[]))
)
SELECT count(*) FROM acked;

-- name: ClaimGroupAlerts
-- The failure groups (as DeadGroups counts them) with at least $1 un-replayed entries, the
-- largest $4 first, each claimed for $2 for $3 ms: inserted with a new id from $5 if the group
-- has no crossing yet, or taken over if its crossing was claimed but neither sent nor still
-- leased. A concurrent claim of the same group waits for this one and then finds it leased;
-- rows are written in key order, so two claims cannot deadlock.
-- Answers the groups claimed.
WITH due AS (
    SELECT app_id, type, coalesce(error_signature, 'unknown') AS signature, count(*) AS entries
    FROM job_dlq
    WHERE replayed_at IS NULL
    GROUP BY app_id, type, error_signature
    HAVING count(*) >= $1
    ORDER BY entries DESC, app_id, type COLLATE "C", coalesce(error_signature, 'unknown') COLLATE "C"
    LIMIT $4
), numbered AS (
    SELECT due.*, row_number() OVER () AS n FROM due
)
INSERT INTO alert_groups AS a (app_id, type, signature, id, count, lease_token, lease_expires_at)
SELECT app_id, type, signature, ($5::uuid[])[n], entries, $2, now() + $3 * interval '1 millisecond'
FROM numbered
ORDER BY app_id, type COLLATE "C", signature COLLATE "C" -- one lock order for every claimer
ON CONFLICT (app_id, type, signature) DO UPDATE
SET count = EXCLUDED.count, lease_token = EXCLUDED.lease_token, lease_expires_at = EXCLUDED.lease_expires_at
WHERE a.alerted_at IS NULL AND a.lease_expires_at < now()
RETURNING a.id, a.app_id, a.type, a.signature, a.count;

-- name: AckGroupAlert
UPDATE alert_groups
SET alerted_at = now(), lease_token = NULL, lease_expires_at = NULL
WHERE app_id = $1 AND type = $2 AND signature = $3 AND lease_token = $4 AND alerted_at IS NULL;

-- name: RearmGroupAlerts
-- Forget the crossings (sent, or claimed under an expired lease) of the groups that now hold
-- fewer than $1 un-replayed entries. The count walks job_dlq_groups.
DELETE FROM alert_groups AS a
WHERE (a.alerted_at IS NOT NULL OR a.lease_expires_at < now())
  AND (SELECT count(*) FROM job_dlq AS d
       WHERE d.replayed_at IS NULL AND d.app_id = a.app_id AND d.type = a.type
         AND (d.error_signature = a.signature OR (a.signature = 'unknown' AND d.error_signature IS NULL))) < $1;
