-- The queries of alerting (package alert): the outbox of dead-letter alerts, which a trigger
-- on job_dlq fills (migration 0007_alerts), and the failure groups' threshold crossings. Kept
-- apart from queries.sql; the same conventions hold (database clock in Unix microseconds,
-- every write inside BEGIN IMMEDIATE, lists as JSON arrays).

-- name: ClaimDeadAlerts
-- Lease up to :limit pending alerts (never leased, or their lease expired) to :token for
-- :lease_ms, oldest entry first. Answers the ids leased; the write lock keeps other alerters
-- out until the transaction ends.
UPDATE alert_outbox
SET lease_token = :token,
    lease_expires_at = CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000 + :lease_ms * 1000
WHERE entry_id IN (
    SELECT entry_id FROM alert_outbox
    WHERE lease_expires_at IS NULL
       OR lease_expires_at < CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000
    ORDER BY entry_id
    LIMIT :limit
)
RETURNING entry_id;

-- name: DeadByIDs
SELECT id, original_job_id, app_id, type, payload, attempts, error_history, failed_at,
       replayed_at, queue, priority, max_attempts, unique_key, replay_job_id, error_signature, replay_of
FROM job_dlq
WHERE id IN (SELECT value FROM json_each(:ids))
ORDER BY id;

-- name: AckDeadAlerts
-- Remove the alerts of the entries :done that :token still holds.
DELETE FROM alert_outbox
WHERE lease_token = :token AND entry_id IN (SELECT value FROM json_each(:done));

-- name: RenewDeadAlerts
-- Renew the lease of the alerts :token still holds to :lease_ms from now.
UPDATE alert_outbox
SET lease_expires_at = CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000 + :lease_ms * 1000
WHERE lease_token = :token;

-- name: ClaimGroupAlerts
-- The failure groups (as DeadGroups counts them) with at least :threshold un-replayed
-- entries, the largest :limit first, each claimed for :token for :lease_ms: inserted with a
-- new id from :ids if the group has no crossing yet, or taken over if its crossing was
-- claimed but neither sent nor still leased. Answers the groups claimed.
INSERT INTO alert_groups (app_id, type, signature, id, count, lease_token, lease_expires_at)
SELECT app_id, type, signature, json_extract(:ids, '$[' || (n - 1) || ']'), entries, :token,
       CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000 + :lease_ms * 1000
FROM (
    SELECT app_id, type, signature, entries,
           row_number() OVER (ORDER BY entries DESC, app_id, type, signature) AS n
    FROM (
        SELECT app_id, type, coalesce(error_signature, 'unknown') AS signature, count(*) AS entries
        FROM job_dlq
        WHERE replayed_at IS NULL
        GROUP BY app_id, type, error_signature
        HAVING count(*) >= :threshold
    )
)
WHERE n <= :limit
ON CONFLICT (app_id, type, signature) DO UPDATE
SET count = excluded.count, lease_token = excluded.lease_token, lease_expires_at = excluded.lease_expires_at
WHERE alert_groups.alerted_at IS NULL
  AND alert_groups.lease_expires_at < CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000
RETURNING id, app_id, type, signature, count;

-- name: AckGroupAlert
UPDATE alert_groups
SET alerted_at = CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000,
    lease_token = NULL, lease_expires_at = NULL
WHERE app_id = :app_id AND type = :type AND signature = :signature AND lease_token = :token
  AND alerted_at IS NULL;

-- name: RearmGroupAlerts
-- Forget the crossings (sent, or claimed under an expired lease) of the groups that now hold
-- fewer than :threshold un-replayed entries. The count walks job_dlq_groups.
DELETE FROM alert_groups
WHERE (alerted_at IS NOT NULL
       OR lease_expires_at < CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000)
  AND (SELECT count(*) FROM job_dlq AS d
       WHERE d.replayed_at IS NULL AND d.app_id = alert_groups.app_id AND d.type = alert_groups.type
         AND (d.error_signature = alert_groups.signature
              OR (alert_groups.signature = 'unknown' AND d.error_signature IS NULL))) < :threshold;
