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
       replayed_at, queue, priority, max_attempts, unique_key, replay_job_id, error_signature, replay_of,
       tags, traceparent, tracestate
FROM job_dlq
WHERE id IN (SELECT value FROM json_each(:ids))
ORDER BY id;

-- name: LogDeadAlert
-- Record the alert of entry :id that :token holds in alert_log (failed when :gave_up; :delivered
-- successful attempts added to those noted), before AckDeadAlert removes it.
INSERT INTO alert_log (id, event, app_id, type, signature, status, attempts, last_error, created_at, finished_at)
SELECT o.entry_id, 'job.dead_lettered', d.app_id, d.type, '',
       CASE WHEN :gave_up THEN 'failed' ELSE 'delivered' END, o.attempts + :delivered, o.last_error,
       d.failed_at, CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000
FROM alert_outbox AS o
JOIN job_dlq AS d ON d.id = o.entry_id
WHERE o.entry_id = :id AND o.lease_token = :token
ON CONFLICT (id) DO UPDATE
SET status = excluded.status, attempts = excluded.attempts, last_error = excluded.last_error,
    finished_at = excluded.finished_at;

-- name: AckDeadAlert
-- Remove the alert of entry :id that :token still holds.
DELETE FROM alert_outbox WHERE entry_id = :id AND lease_token = :token;

-- name: NoteDeadAlertAttempt
-- One more failed attempt (:error) of the alert of entry :id that :token holds; the next in
-- :retry_ms (none when 0).
UPDATE alert_outbox
SET attempts = attempts + 1, last_error = :error,
    next_attempt_at = CASE WHEN :retry_ms > 0 THEN CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000 + :retry_ms * 1000 END
WHERE entry_id = :id AND lease_token = :token;

-- name: NoteGroupAlertAttempt
-- The same for the crossing :id.
UPDATE alert_groups
SET attempts = attempts + 1, last_error = :error,
    next_attempt_at = CASE WHEN :retry_ms > 0 THEN CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000 + :retry_ms * 1000 END
WHERE id = :id AND lease_token = :token AND alerted_at IS NULL;

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
INSERT INTO alert_groups (app_id, type, signature, id, count, lease_token, lease_expires_at, created_at)
SELECT app_id, type, signature, json_extract(:ids, '$[' || (n - 1) || ']'), entries, :token,
       CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000 + :lease_ms * 1000, CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000
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

-- name: LogGroupAlert
-- Record the crossing of group (:app_id, :type, :signature) that :token holds in alert_log
-- (failed when :gave_up; :delivered successful attempts added to those noted), before
-- AckGroupAlert marks it sent.
INSERT INTO alert_log (id, event, app_id, type, signature, status, attempts, last_error, created_at, finished_at)
SELECT id, 'group.threshold', app_id, type, signature, CASE WHEN :gave_up THEN 'failed' ELSE 'delivered' END,
       attempts + :delivered, last_error, coalesce(created_at, CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000), CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000
FROM alert_groups
WHERE app_id = :app_id AND type = :type AND signature = :signature AND lease_token = :token
  AND alerted_at IS NULL
ON CONFLICT (id) DO UPDATE
SET status = excluded.status, attempts = excluded.attempts, last_error = excluded.last_error,
    finished_at = excluded.finished_at;

-- name: AckGroupAlert
UPDATE alert_groups
SET alerted_at = CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000,
    lease_token = NULL, lease_expires_at = NULL, next_attempt_at = NULL, attempts = attempts + :delivered
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

-- name: ListAlerts
-- Alerts newest first below :before (when not null), at most :limit: the pending dead-letter
-- alerts and crossings, and the alert log, of :app_id (when not null) with :status (every
-- status when '').
SELECT id, event, app_id, type, signature, status, attempts, last_error, next_attempt_at, created_at, finished_at
FROM (
    SELECT o.entry_id AS id, 'job.dead_lettered' AS event, d.app_id, d.type, '' AS signature,
           'pending' AS status, o.attempts, o.last_error, o.next_attempt_at, d.failed_at AS created_at,
           NULL AS finished_at
    FROM alert_outbox AS o
    JOIN job_dlq AS d ON d.id = o.entry_id
    WHERE :status IN ('', 'pending') AND (:app_id IS NULL OR d.app_id = :app_id)
      AND (:before IS NULL OR o.entry_id < :before)
    UNION ALL
    SELECT id, 'group.threshold', app_id, type, signature, 'pending', attempts, last_error, next_attempt_at,
           coalesce(created_at, lease_expires_at, CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000), NULL
    FROM alert_groups
    WHERE alerted_at IS NULL AND :status IN ('', 'pending') AND (:app_id IS NULL OR app_id = :app_id)
      AND (:before IS NULL OR id < :before)
    UNION ALL
    SELECT id, event, app_id, type, signature, status, attempts, last_error, NULL, created_at, finished_at
    FROM alert_log
    WHERE (:status = '' OR status = :status) AND (:app_id IS NULL OR app_id = :app_id)
      AND (:before IS NULL OR id < :before)
)
ORDER BY id DESC
LIMIT :limit;

-- name: AlertBacklog
SELECT (SELECT count(*) FROM alert_outbox) + (SELECT count(*) FROM alert_groups WHERE alerted_at IS NULL),
       (SELECT d.failed_at FROM alert_outbox AS o JOIN job_dlq AS d ON d.id = o.entry_id
        ORDER BY o.entry_id LIMIT 1),
       (SELECT min(coalesce(created_at, lease_expires_at, CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000)) FROM alert_groups WHERE alerted_at IS NULL);

-- name: PruneAlertLog
-- Delete up to :limit records of alerts finished more than :older_ms ago.
DELETE FROM alert_log
WHERE id IN (SELECT id FROM alert_log
             WHERE finished_at < CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000 - :older_ms * 1000
             ORDER BY finished_at
             LIMIT :limit);
