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
       d.error_signature, d.replay_of, d.tags, d.traceparent, d.tracestate
FROM leased
JOIN job_dlq AS d ON d.id = leased.entry_id
ORDER BY d.id;

-- name: AckDeadAlerts
-- Remove the alerts of the entries $2 that $1 still holds, recording each in alert_log
-- (failed where $4 says it gave up; $5 successful attempts added to those noted); renew the
-- lease of the others $1 holds to $3 ms from now. Answers how many it removed.
WITH acks AS (
    SELECT * FROM unnest($2::uuid[], $4::boolean[], $5::int[]) AS a(entry_id, gave_up, delivered)
), acked AS (
    DELETE FROM alert_outbox AS o
    USING acks
    WHERE o.lease_token = $1 AND o.entry_id = acks.entry_id
    RETURNING o.entry_id, o.attempts + acks.delivered AS attempts, o.last_error, acks.gave_up
), logged AS (
    INSERT INTO alert_log (id, event, app_id, type, status, attempts, last_error, created_at)
    SELECT acked.entry_id, 'job.dead_lettered', d.app_id, d.type,
           CASE WHEN acked.gave_up THEN 'failed' ELSE 'delivered' END, acked.attempts, acked.last_error, d.failed_at
    FROM acked
    JOIN job_dlq AS d ON d.id = acked.entry_id
    ON CONFLICT (id) DO UPDATE
    SET status = EXCLUDED.status, attempts = EXCLUDED.attempts, last_error = EXCLUDED.last_error,
        finished_at = EXCLUDED.finished_at
), renewed AS (
    UPDATE alert_outbox
    SET lease_expires_at = now() + $3 * interval '1 millisecond'
    WHERE lease_token = $1 AND NOT (entry_id = ANY($2::uuid[]))
)
SELECT count(*) FROM acked;

-- name: NoteDeadAlertAttempt
-- One more failed attempt ($3: its error) of the alert of entry $2 that $1 holds; the next
-- in $4 ms (none when 0).
UPDATE alert_outbox
SET attempts = attempts + 1, last_error = $3,
    next_attempt_at = CASE WHEN $4::bigint > 0 THEN now() + $4 * interval '1 millisecond' END
WHERE entry_id = $2 AND lease_token = $1;

-- name: NoteGroupAlertAttempt
-- The same for the crossing $2.
UPDATE alert_groups
SET attempts = attempts + 1, last_error = $3,
    next_attempt_at = CASE WHEN $4::bigint > 0 THEN now() + $4 * interval '1 millisecond' END
WHERE id = $2 AND lease_token = $1 AND alerted_at IS NULL;

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
-- Mark the crossing of group ($1, $2, $3) that $4 holds sent, recording it in alert_log
-- (failed when $5; $6 successful attempts added to those noted). Answers how many it marked.
WITH acked AS (
    UPDATE alert_groups
    SET alerted_at = now(), lease_token = NULL, lease_expires_at = NULL, next_attempt_at = NULL,
        attempts = attempts + $6
    WHERE app_id = $1 AND type = $2 AND signature = $3 AND lease_token = $4 AND alerted_at IS NULL
    RETURNING id, app_id, type, signature, attempts, last_error, coalesce(created_at, now()) AS created_at
), logged AS (
    INSERT INTO alert_log (id, event, app_id, type, signature, status, attempts, last_error, created_at)
    SELECT id, 'group.threshold', app_id, type, signature, CASE WHEN $5 THEN 'failed' ELSE 'delivered' END,
           attempts, last_error, created_at
    FROM acked
    ON CONFLICT (id) DO UPDATE
    SET status = EXCLUDED.status, attempts = EXCLUDED.attempts, last_error = EXCLUDED.last_error,
        finished_at = EXCLUDED.finished_at
)
SELECT count(*) FROM acked;

-- name: RearmGroupAlerts
-- Forget the crossings (sent, or claimed under an expired lease) of the groups that now hold
-- fewer than $1 un-replayed entries. The count walks job_dlq_groups.
DELETE FROM alert_groups AS a
WHERE (a.alerted_at IS NOT NULL OR a.lease_expires_at < now())
  AND (SELECT count(*) FROM job_dlq AS d
       WHERE d.replayed_at IS NULL AND d.app_id = a.app_id AND d.type = a.type
         AND (d.error_signature = a.signature OR (a.signature = 'unknown' AND d.error_signature IS NULL))) < $1;

-- name: ListAlerts
-- Alerts newest first below the cursor $3 (when not null), at most $4: the pending dead-letter
-- alerts and crossings, and the alert log, of app $1 (when not null) with status $2 (every
-- status when ''). Each branch walks an index in id order, so the merge stops early.
SELECT id, event, app_id, type, signature, status, attempts, last_error, next_attempt_at, created_at, finished_at
FROM (
    (SELECT o.entry_id AS id, 'job.dead_lettered' AS event, d.app_id, d.type, '' AS signature,
            'pending' AS status, o.attempts, o.last_error, o.next_attempt_at, d.failed_at AS created_at,
            NULL::timestamptz AS finished_at
     FROM alert_outbox AS o
     JOIN job_dlq AS d ON d.id = o.entry_id
     WHERE $2::text IN ('', 'pending') AND ($1::uuid IS NULL OR d.app_id = $1)
       AND ($3::uuid IS NULL OR o.entry_id < $3)
     ORDER BY o.entry_id DESC
     LIMIT $4)
    UNION ALL
    (SELECT id, 'group.threshold', app_id, type, signature, 'pending', attempts, last_error, next_attempt_at,
            coalesce(created_at, now()), NULL
     FROM alert_groups
     WHERE alerted_at IS NULL AND $2::text IN ('', 'pending') AND ($1::uuid IS NULL OR app_id = $1)
       AND ($3::uuid IS NULL OR id < $3)
     ORDER BY id DESC
     LIMIT $4)
    UNION ALL
    (SELECT id, event, app_id, type, signature, status, attempts, last_error, NULL, created_at, finished_at
     FROM alert_log
     WHERE ($2::text = '' OR status = $2) AND ($1::uuid IS NULL OR app_id = $1)
       AND ($3::uuid IS NULL OR id < $3)
     ORDER BY id DESC
     LIMIT $4)
) AS a
ORDER BY id DESC
LIMIT $4;

-- name: AlertBacklog
-- The pending alerts, and when the oldest was queued (the oldest entry of the outbox by id,
-- or the oldest pending crossing).
SELECT (SELECT count(*) FROM alert_outbox) + (SELECT count(*) FROM alert_groups WHERE alerted_at IS NULL),
       least((SELECT d.failed_at FROM alert_outbox AS o JOIN job_dlq AS d ON d.id = o.entry_id
              ORDER BY o.entry_id LIMIT 1),
             (SELECT min(coalesce(created_at, now())) FROM alert_groups WHERE alerted_at IS NULL));

-- name: PruneAlertLog
-- Delete up to $2 records of alerts finished more than $1 ms ago.
DELETE FROM alert_log
WHERE id IN (SELECT id FROM alert_log
             WHERE finished_at < now() - $1 * interval '1 millisecond'
             ORDER BY finished_at
             LIMIT $2);
