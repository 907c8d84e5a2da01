-- Every query the SQLite store runs: pgstore's queries.sql in SQLite's dialect. A job changes
-- state only in the queries of the "Worker" section; each of those that touches a running job
-- is fenced by its lease token, so a worker that lost its lease changes nothing.
--
-- Every write runs on the store's one writer connection inside BEGIN IMMEDIATE, so a
-- transaction holds the database's write lock from its first statement: what it reads cannot
-- change before it writes. That is what FOR UPDATE [SKIP LOCKED] buys on PostgreSQL, and why
-- no query here needs it.
--
-- Times are INTEGER Unix microseconds from the database clock:
--     CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000
-- (SQLite's clock has millisecond resolution; "now" is the same everywhere in one statement).
-- Error-history timestamps are the same clock in Unix milliseconds.
--
-- A missing id bound (a page's cursor, a bulk operation's Through) is '~', which sorts after
-- every UUID's text: the comparison then holds for every row yet still bounds a scan of the
-- id index, so a page deep in a listing starts where it should rather than at the top.
--
-- Lists go in as one JSON array parameter and come apart with json_each, as PostgreSQL's
-- unnest does with array parameters. Parameters are named (:name).

-- ============================================================================================
-- Apps
-- ============================================================================================

-- name: CreateApp
INSERT INTO apps (id, name) VALUES (:id, :name)
RETURNING id, name, created_at, coalesce(max_running, 0), coalesce(rate_per_second, 0), coalesce(rate_burst, 0), disabled_at;

-- name: ListApps
SELECT id, name, created_at, coalesce(max_running, 0), coalesce(rate_per_second, 0), coalesce(rate_burst, 0), disabled_at FROM apps ORDER BY name;

-- name: GetApp
SELECT id, name, created_at, coalesce(max_running, 0), coalesce(rate_per_second, 0), coalesce(rate_burst, 0), disabled_at FROM apps WHERE id = :id;

-- name: GetAppByName
SELECT id, name, created_at, coalesce(max_running, 0), coalesce(rate_per_second, 0), coalesce(rate_burst, 0), disabled_at FROM apps WHERE name = :name;

-- name: SetAppLimits
-- Zero means no limit. A new rate starts with a full bucket.
UPDATE apps
SET max_running = nullif(:max_running, 0),
    rate_per_second = nullif(:rate, 0.0),
    rate_burst = nullif(:burst, 0),
    rate_tokens = NULL,
    rate_updated_at = NULL
WHERE id = :id
RETURNING id, name, created_at, coalesce(max_running, 0), coalesce(rate_per_second, 0), coalesce(rate_burst, 0), disabled_at;

-- name: AppAllowance
-- What an app's limits let a claim take (ClaimJobs, under the write lock): the room
-- max_running leaves (-1: no cap), and its rate bucket refilled to now (NULL: no rate), with now
-- in microseconds to record when it was spent.
SELECT CASE WHEN max_running IS NULL THEN -1
            ELSE max_running - (SELECT count(*) FROM jobs WHERE app_id = :app AND status = 'running') END,
       CASE WHEN rate_per_second IS NOT NULL THEN
           min(rate_burst, coalesce(rate_tokens, rate_burst) +
               (CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000 -
                coalesce(rate_updated_at, CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000))
               / 1e6 * rate_per_second)
       END,
       CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000
FROM apps WHERE id = :app;

-- name: SpendTokens
UPDATE apps SET rate_tokens = :tokens, rate_updated_at = :now WHERE id = :app;

-- ============================================================================================
-- Jobs
-- ============================================================================================

-- name: InsertJobs
-- :jobs is an array of [id, app_id, type, queue, priority, payload (as a JSON string),
-- max_attempts, run_at (µs or null), unique_key ('' for none), replayed_from (or null), tags (an
-- array of strings), traceparent and tracestate (or null)]. A job
-- whose unique key is held by a live job of its app is skipped; the caller then looks that job
-- up. Nothing is inserted when one of the apps is disabled; the caller then finds which
-- (DisabledApps).
INSERT INTO jobs (id, app_id, type, queue, priority, payload, max_attempts, run_at, unique_key, replayed_from,
                  tags, traceparent, tracestate)
SELECT j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4, j.value ->> 5,
       j.value ->> 6, coalesce(j.value ->> 7, CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000),
       nullif(j.value ->> 8, ''), j.value ->> 9, j.value -> 10, j.value ->> 11, j.value ->> 12
FROM json_each(:jobs) AS j
WHERE NOT EXISTS (SELECT 1 FROM apps AS a
                  WHERE a.disabled_at IS NOT NULL AND a.id IN (SELECT k.value ->> 1 FROM json_each(:jobs) AS k))
ON CONFLICT (app_id, unique_key) WHERE unique_key IS NOT NULL AND status IN ('pending', 'running')
DO NOTHING
RETURNING id, app_id, type, queue, priority, payload, status, attempts, max_attempts, last_error,
          error_history, run_at, started_at, completed_at, created_at, unique_key, replayed_from,
          lease_token, lease_expires_at, tags, traceparent, tracestate, cancel_requested_at;

-- name: DisabledApps
-- Which of these apps (:ids, an array) are disabled, by name.
SELECT name FROM apps
WHERE id IN (SELECT d.value FROM json_each(:ids) AS d) AND disabled_at IS NOT NULL
ORDER BY name;

-- name: GetLiveJobsByUniqueKey
-- :keys is an array of [app_id, unique_key].
SELECT id, app_id, type, queue, priority, payload, status, attempts, max_attempts, last_error,
       error_history, run_at, started_at, completed_at, created_at, unique_key, replayed_from,
       lease_token, lease_expires_at, tags, traceparent, tracestate, cancel_requested_at
FROM jobs
WHERE (app_id, unique_key) IN (SELECT k.value ->> 0, k.value ->> 1 FROM json_each(:keys) AS k)
  AND unique_key IS NOT NULL AND status IN ('pending', 'running');

-- name: GetJob
SELECT id, app_id, type, queue, priority, payload, status, attempts, max_attempts, last_error,
       error_history, run_at, started_at, completed_at, created_at, unique_key, replayed_from,
       lease_token, lease_expires_at, tags, traceparent, tracestate, cancel_requested_at
FROM jobs WHERE id = :id;

-- name: ListJobs
-- Keyset paging, newest first. Zero-valued filters match everything; :tag is one tag.
SELECT id, app_id, type, queue, priority, payload, status, attempts, max_attempts, last_error,
       error_history, run_at, started_at, completed_at, created_at, unique_key, replayed_from,
       lease_token, lease_expires_at, tags, traceparent, tracestate, cancel_requested_at
FROM jobs
WHERE (:app_id IS NULL OR app_id = :app_id)
  AND (:type = '' OR type = :type)
  AND (:status = '' OR status = :status)
  AND (:tag = '' OR EXISTS (SELECT 1 FROM json_each(tags) AS t WHERE t.value = :tag))
  AND id < coalesce(:before, '~')
ORDER BY id DESC
LIMIT :limit;

-- ============================================================================================
-- Worker: claim, heartbeat, finish, rescue
-- ============================================================================================

-- name: ReadyApps
-- The apps with pending jobs in one queue, for a claim to share between them: a skip scan of
-- jobs_fair, one index probe per app however many jobs it holds, from the index's end (as on
-- PostgreSQL, where claimed entries crowd each app's start until vacuum). Whether an app has
-- a job due and of the worker's types is left to the claim: an app without gives nothing,
-- and its share goes to the others.
WITH RECURSIVE queued(app_id) AS (
    SELECT (SELECT app_id FROM jobs
            WHERE status = 'pending' AND queue = :queue
            ORDER BY app_id DESC, priority DESC, run_at DESC, id DESC LIMIT 1)
    UNION ALL
    SELECT (SELECT j.app_id FROM jobs AS j
            WHERE j.status = 'pending' AND j.queue = :queue AND j.app_id < q.app_id
            ORDER BY j.app_id DESC, j.priority DESC, j.run_at DESC, j.id DESC LIMIT 1)
    FROM queued AS q
    WHERE q.app_id IS NOT NULL
)
SELECT q.app_id, a.max_running IS NOT NULL OR a.rate_per_second IS NOT NULL AS limited
FROM queued AS q
JOIN apps AS a ON a.id = q.app_id;

-- name: ClaimJobs
-- Take one app's (:app) share of a claim: its due pending jobs of one queue and the worker's
-- types (:types, an array of names) less those a pause covers for this app and queue — none
-- if the app is disabled — in priority order. The write lock the transaction holds is what
-- keeps two workers from taking the same row, and what makes a pause strict.
UPDATE jobs
SET status = 'running',
    attempts = attempts + 1,
    started_at = CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000,
    lease_token = :lease_token,
    lease_expires_at = CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000 + :lease_ms * 1000
WHERE id IN (
    SELECT id FROM jobs
    WHERE status = 'pending' AND queue = :queue AND app_id = :app
      AND run_at <= CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000
      AND type IN (SELECT t.value FROM json_each(:types) AS t
                   WHERE NOT EXISTS (SELECT 1 FROM apps WHERE id = :app AND disabled_at IS NOT NULL)
                     AND NOT EXISTS (SELECT 1 FROM pauses AS p
                                     WHERE (p.app_id IS NULL OR p.app_id = :app)
                                       AND p.queue IN ('', :queue) AND p.type IN ('', t.value)))
    ORDER BY priority, run_at, id
    LIMIT :limit
)
RETURNING id, app_id, type, queue, priority, payload, status, attempts, max_attempts, last_error,
          error_history, run_at, started_at, completed_at, created_at, unique_key, replayed_from,
          lease_token, lease_expires_at, tags, traceparent, tracestate, cancel_requested_at;

-- name: ExtendLeases
-- :leases is an array of [job_id, token].
UPDATE jobs AS j
SET lease_expires_at = CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000 + :lease_ms * 1000
FROM (SELECT l.value ->> 0 AS id, l.value ->> 1 AS token FROM json_each(:leases) AS l) AS l
WHERE j.id = l.id AND j.lease_token = l.token
RETURNING id, cancel_requested_at IS NOT NULL;

-- name: CompleteJobs
-- :finishes is an array of [job_id, token].
UPDATE jobs AS j
SET status = 'completed',
    completed_at = CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000,
    lease_token = NULL,
    lease_expires_at = NULL
FROM (SELECT f.value ->> 0 AS id, f.value ->> 1 AS token FROM json_each(:finishes) AS f) AS f
WHERE j.id = f.id AND j.lease_token = f.token
RETURNING id;

-- name: RetryJobs
-- A failed attempt with attempts left: record the error, wait the backoff. :finishes is an
-- array of [job_id, token, error, delay_ms]. A job an operator asked to cancel ends cancelled.
UPDATE jobs AS j
SET status = CASE WHEN j.cancel_requested_at IS NULL THEN 'pending' ELSE 'cancelled' END,
    completed_at = CASE WHEN j.cancel_requested_at IS NULL THEN NULL
                        ELSE CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000 END,
    lease_token = NULL,
    lease_expires_at = NULL,
    run_at = CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000 + f.delay_ms * 1000,
    last_error = f.error,
    error_history = json_insert(j.error_history, '$[#]', json_object(
        'error', f.error, 'timestamp', CAST(round(unixepoch('subsec') * 1000) AS INTEGER)))
FROM (SELECT f.value ->> 0 AS id, f.value ->> 1 AS token, f.value ->> 2 AS error,
             f.value ->> 3 AS delay_ms
      FROM json_each(:finishes) AS f) AS f
WHERE j.id = f.id AND j.lease_token = f.token
RETURNING id;

-- name: ReleaseJobs
-- Snoozed or interrupted by shutdown: due again after the delay, the attempt given back.
-- :finishes is an array of [job_id, token, error, delay_ms]. A job an operator asked to cancel
-- ends cancelled.
UPDATE jobs AS j
SET status = CASE WHEN j.cancel_requested_at IS NULL THEN 'pending' ELSE 'cancelled' END,
    completed_at = CASE WHEN j.cancel_requested_at IS NULL THEN NULL
                        ELSE CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000 END,
    lease_token = NULL,
    lease_expires_at = NULL,
    attempts = j.attempts - 1,
    run_at = CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000 + f.delay_ms * 1000
FROM (SELECT f.value ->> 0 AS id, f.value ->> 1 AS token, f.value ->> 3 AS delay_ms
      FROM json_each(:finishes) AS f) AS f
WHERE j.id = f.id AND j.lease_token = f.token
RETURNING id;

-- name: CancelJobs
-- :finishes is an array of [job_id, token, error].
UPDATE jobs AS j
SET status = 'cancelled',
    completed_at = CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000,
    lease_token = NULL,
    lease_expires_at = NULL,
    last_error = f.error,
    error_history = json_insert(j.error_history, '$[#]', json_object(
        'error', f.error, 'timestamp', CAST(round(unixepoch('subsec') * 1000) AS INTEGER)))
FROM (SELECT f.value ->> 0 AS id, f.value ->> 1 AS token, f.value ->> 2 AS error
      FROM json_each(:finishes) AS f) AS f
WHERE j.id = f.id AND j.lease_token = f.token
RETURNING id;

-- name: DeadLetterJobs
-- The first half of a move to the dead-letter queue: copy each job whose lease is still held
-- into job_dlq with its last error appended. DeleteDeadLettered, in the same transaction,
-- removes exactly the jobs this returns: both or neither. :finishes is an array of
-- [job_id, token, error, delay_ms, dead_id, signature], one per job; signature is the error's
-- (internal/signature), computed by the caller. A job that was a replay carries its entry into
-- the new one's replay_of (the replay-loop flag). A job an operator asked to cancel is left
-- out: CancelJobs ends it instead, in the same transaction.
INSERT INTO job_dlq (id, original_job_id, app_id, type, payload, attempts, error_history, failed_at,
                     queue, priority, max_attempts, unique_key, error_signature, replay_of,
                     tags, traceparent, tracestate)
SELECT f.value ->> 4, j.id, j.app_id, j.type, j.payload, j.attempts,
       json_insert(j.error_history, '$[#]', json_object(
           'error', f.value ->> 2, 'timestamp', CAST(round(unixepoch('subsec') * 1000) AS INTEGER))),
       CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000,
       j.queue, j.priority, j.max_attempts, j.unique_key, f.value ->> 5, j.replayed_from,
       j.tags, j.traceparent, j.tracestate
FROM json_each(:finishes) AS f
JOIN jobs AS j ON j.id = f.value ->> 0 AND j.lease_token = f.value ->> 1
WHERE j.cancel_requested_at IS NULL
RETURNING original_job_id;

-- name: DeleteDeadLettered
-- The second half: :ids (an array) are the jobs DeadLetterJobs just copied.
DELETE FROM jobs WHERE id IN (SELECT d.value FROM json_each(:ids) AS d);

-- name: ListExpiredLeases
-- The running jobs whose lease has expired: whether their attempts are spent, and whether an
-- operator asked to cancel them.
SELECT id, lease_token, attempts, attempts >= max_attempts AS exhausted,
       cancel_requested_at IS NOT NULL AS cancel
FROM jobs
WHERE status = 'running' AND lease_expires_at < CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000
ORDER BY lease_expires_at
LIMIT :limit;

-- name: ListExpiredLease
-- One lease of ListExpiredLeases, read again to be rescued alone: still held by the same
-- token, still expired.
SELECT id, lease_token, attempts, attempts >= max_attempts AS exhausted,
       cancel_requested_at IS NOT NULL AS cancel
FROM jobs
WHERE id = :id AND lease_token = :lease_token AND status = 'running'
  AND lease_expires_at < CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000;

-- ============================================================================================
-- Dead-letter queue
-- ============================================================================================

-- name: ListDead
-- Keyset paging, newest first. Zero-valued filters match everything; :include_replayed
-- includes replayed entries, :replayed_only keeps only them (with or without
-- :include_replayed, as store.DeadFilter documents). Error text matches a
-- case-sensitive substring of any entry of the history. :group is a failure group's
-- signature, where 'unknown' (signature.Unknown) matches the entries written without one.
SELECT id, original_job_id, app_id, type, payload, attempts, error_history, failed_at,
       replayed_at, queue, priority, max_attempts, unique_key, replay_job_id, error_signature, replay_of,
       tags, traceparent, tracestate
FROM job_dlq
WHERE (:app_id IS NULL OR app_id = :app_id)
  AND (:type = '' OR type = :type)
  AND (:failed_after IS NULL OR failed_at >= :failed_after)
  AND (:failed_before IS NULL OR failed_at < :failed_before)
  AND (:error_contains = '' OR EXISTS (
        SELECT 1 FROM json_each(error_history) AS e WHERE instr(e.value ->> 'error', :error_contains) > 0))
  AND (:group = '' OR error_signature = :group OR (:group = 'unknown' AND error_signature IS NULL))
  AND (:tag = '' OR EXISTS (SELECT 1 FROM json_each(tags) AS t WHERE t.value = :tag))
  AND (:include_replayed OR :replayed_only OR replayed_at IS NULL)
  AND (NOT :replayed_only OR replayed_at IS NOT NULL)
  AND id <= coalesce(:through, '~')
  AND id < coalesce(:before, '~')
ORDER BY id DESC
LIMIT :limit;

-- name: ListDeadByApp
-- ListDead for a filter naming an app, of un-replayed entries only (the store runs ListDead
-- for the others). SQLite plans a statement once, whatever its parameters, so ListDead cannot
-- fold its filter away and walks the id index past every other app's entries; this one walks
-- idx_job_dlq_app (or job_dlq_app_all), both on (app_id, id), backwards from the cursor: no
-- sort, and only the app's entries.
SELECT id, original_job_id, app_id, type, payload, attempts, error_history, failed_at,
       replayed_at, queue, priority, max_attempts, unique_key, replay_job_id, error_signature, replay_of,
       tags, traceparent, tracestate
FROM job_dlq
WHERE app_id = :app_id
  AND replayed_at IS NULL
  AND (:type = '' OR type = :type)
  AND (:failed_after IS NULL OR failed_at >= :failed_after)
  AND (:failed_before IS NULL OR failed_at < :failed_before)
  AND (:error_contains = '' OR EXISTS (
        SELECT 1 FROM json_each(error_history) AS e WHERE instr(e.value ->> 'error', :error_contains) > 0))
  AND (:group = '' OR error_signature = :group OR (:group = 'unknown' AND error_signature IS NULL))
  AND (:tag = '' OR EXISTS (SELECT 1 FROM json_each(tags) AS t WHERE t.value = :tag))
  AND id <= coalesce(:through, '~')
  AND id < coalesce(:before, '~')
ORDER BY id DESC
LIMIT :limit;

-- name: ListDeadByType
-- ListDead for a filter naming a type but no app, of un-replayed entries only: as
-- ListDeadByApp, through idx_job_dlq_type (type, id).
SELECT id, original_job_id, app_id, type, payload, attempts, error_history, failed_at,
       replayed_at, queue, priority, max_attempts, unique_key, replay_job_id, error_signature, replay_of,
       tags, traceparent, tracestate
FROM job_dlq
WHERE type = :type
  AND replayed_at IS NULL
  AND (:failed_after IS NULL OR failed_at >= :failed_after)
  AND (:failed_before IS NULL OR failed_at < :failed_before)
  AND (:error_contains = '' OR EXISTS (
        SELECT 1 FROM json_each(error_history) AS e WHERE instr(e.value ->> 'error', :error_contains) > 0))
  AND (:group = '' OR error_signature = :group OR (:group = 'unknown' AND error_signature IS NULL))
  AND (:tag = '' OR EXISTS (SELECT 1 FROM json_each(tags) AS t WHERE t.value = :tag))
  AND id <= coalesce(:through, '~')
  AND id < coalesce(:before, '~')
ORDER BY id DESC
LIMIT :limit;

-- name: CountDead
-- Counting reads every row anyway: a table scan, so Through is not written as an id bound.
SELECT count(*)
FROM job_dlq
WHERE (:app_id IS NULL OR app_id = :app_id)
  AND (:type = '' OR type = :type)
  AND (:failed_after IS NULL OR failed_at >= :failed_after)
  AND (:failed_before IS NULL OR failed_at < :failed_before)
  AND (:error_contains = '' OR EXISTS (
        SELECT 1 FROM json_each(error_history) AS e WHERE instr(e.value ->> 'error', :error_contains) > 0))
  AND (:group = '' OR error_signature = :group OR (:group = 'unknown' AND error_signature IS NULL))
  AND (:tag = '' OR EXISTS (SELECT 1 FROM json_each(tags) AS t WHERE t.value = :tag))
  AND (:include_replayed OR :replayed_only OR replayed_at IS NULL)
  AND (NOT :replayed_only OR replayed_at IS NOT NULL)
  AND (:through IS NULL OR id <= :through);

-- name: GetDead
SELECT id, original_job_id, app_id, type, payload, attempts, error_history, failed_at,
       replayed_at, queue, priority, max_attempts, unique_key, replay_job_id, error_signature, replay_of,
       tags, traceparent, tracestate
FROM job_dlq WHERE id = :id;

-- name: GetDeadReplayedAt
SELECT replayed_at FROM job_dlq WHERE id = :id;

-- name: MarkDeadReplayed
-- The first half of a replay: mark the entry (only if it was not) and return what its job
-- needs. InsertReplayedJob follows in the same transaction; if it inserts nothing the
-- transaction rolls back, leaving the entry un-replayed.
UPDATE job_dlq
SET replayed_at = CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000,
    replay_job_id = :job_id
WHERE id = :id AND replayed_at IS NULL
RETURNING app_id, type, coalesce(queue, :default_queue), coalesce(priority, 0), payload,
          coalesce(max_attempts, :default_max_attempts), unique_key, tags, traceparent, tracestate;

-- name: InsertReplayedJob
-- The second half: the entry's new job, unless a live job of the app holds its unique key.
INSERT INTO jobs (id, app_id, type, queue, priority, payload, max_attempts, unique_key, replayed_from,
                  tags, traceparent, tracestate)
VALUES (:id, :app_id, :type, :queue, :priority, :payload, :max_attempts, :unique_key, :replayed_from,
        :tags, :traceparent, :tracestate)
ON CONFLICT (app_id, unique_key) WHERE unique_key IS NOT NULL AND status IN ('pending', 'running')
DO NOTHING
RETURNING id, app_id, type, queue, priority, payload, status, attempts, max_attempts, last_error,
          error_history, run_at, started_at, completed_at, created_at, unique_key, replayed_from,
          lease_token, lease_expires_at, tags, traceparent, tracestate, cancel_requested_at;

-- name: SelectDeadForReplay
-- One batch of a bulk replay: un-replayed entries below the cursor, newest first. The
-- transaction's write lock keeps a concurrent single replay from taking one of them meanwhile.
-- Each comes with its new job's payload (:patch, when not null, is a JSON merge patch,
-- RFC 7386, applied with json_patch), whether that payload is valid (at most :max_payload
-- bytes), and whether the entry is a possible replay loop (its job was a replay) to skip.
SELECT id, app_id, type, coalesce(queue, :default_queue), coalesce(priority, 0),
       CASE WHEN :patch IS NULL THEN payload ELSE json_patch(payload, :patch) END AS new_payload,
       CASE WHEN :attempts > 0 THEN :attempts ELSE coalesce(max_attempts, :default_max_attempts) END,
       coalesce(unique_key, ''),
       :patch IS NULL OR length(CAST(json_patch(payload, :patch) AS BLOB)) <= :max_payload,
       :skip_loops AND replay_of IS NOT NULL,
       tags, traceparent, tracestate
FROM job_dlq
WHERE (:app_id IS NULL OR app_id = :app_id)
  AND (:type = '' OR type = :type)
  AND (:failed_after IS NULL OR failed_at >= :failed_after)
  AND (:failed_before IS NULL OR failed_at < :failed_before)
  AND (:error_contains = '' OR EXISTS (
        SELECT 1 FROM json_each(error_history) AS e WHERE instr(e.value ->> 'error', :error_contains) > 0))
  AND (:group = '' OR error_signature = :group OR (:group = 'unknown' AND error_signature IS NULL))
  AND (:tag = '' OR EXISTS (SELECT 1 FROM json_each(tags) AS t WHERE t.value = :tag))
  AND replayed_at IS NULL
  AND id <= coalesce(:through, '~')
  AND id < coalesce(:before, '~')
ORDER BY id DESC
LIMIT :limit;

-- name: MarkReplayed
-- :replays is an array of [entry_id, job_id].
UPDATE job_dlq AS d
SET replayed_at = CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000,
    replay_job_id = r.job_id
FROM (SELECT r.value ->> 0 AS id, r.value ->> 1 AS job_id FROM json_each(:replays) AS r) AS r
WHERE d.id = r.id AND d.replayed_at IS NULL;

-- name: DeleteDead
DELETE FROM job_dlq WHERE id = :id;

-- name: PurgeDead
DELETE FROM job_dlq
WHERE id IN (
    SELECT id FROM job_dlq
    WHERE (:app_id IS NULL OR app_id = :app_id)
      AND (:type = '' OR type = :type)
      AND (:failed_after IS NULL OR failed_at >= :failed_after)
      AND (:failed_before IS NULL OR failed_at < :failed_before)
      AND (:error_contains = '' OR EXISTS (
            SELECT 1 FROM json_each(error_history) AS e WHERE instr(e.value ->> 'error', :error_contains) > 0))
      AND (:group = '' OR error_signature = :group OR (:group = 'unknown' AND error_signature IS NULL))
      AND (:tag = '' OR EXISTS (SELECT 1 FROM json_each(tags) AS t WHERE t.value = :tag))
      AND (:include_replayed OR :replayed_only OR replayed_at IS NULL)
      AND (NOT :replayed_only OR replayed_at IS NOT NULL)
      AND id <= coalesce(:through, '~')
    ORDER BY id
    LIMIT :limit
);

-- ============================================================================================
-- Connection and migration bookkeeping
-- ============================================================================================

-- name: JournalMode
PRAGMA journal_mode;

-- name: ForeignKeys
PRAGMA foreign_keys;

-- name: CreateMigrationsTable
CREATE TABLE IF NOT EXISTS sluice_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL DEFAULT (CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000)
) STRICT;

-- name: ListMigrations
SELECT version, applied_at FROM sluice_migrations;

-- name: RecordMigration
INSERT INTO sluice_migrations (version, name) VALUES (:version, :name);

-- name: ForgetMigration
DELETE FROM sluice_migrations WHERE version = :version;

-- name: MigrationSavepoint
SAVEPOINT sluice_migration;

-- name: MigrationRelease
RELEASE sluice_migration;

-- name: MigrationRollback
ROLLBACK TO sluice_migration;

-- name: JobStats
-- Per app and type. A pending job with a last error is waiting for a retry.
SELECT app_id, type,
       count(*) FILTER (WHERE status = 'pending' AND last_error IS NULL),
       count(*) FILTER (WHERE status = 'pending' AND last_error IS NOT NULL),
       count(*) FILTER (WHERE status = 'running'),
       count(*) FILTER (WHERE status = 'completed'),
       count(*) FILTER (WHERE status = 'cancelled'),
       min(run_at) FILTER (WHERE status = 'pending')
FROM jobs
GROUP BY app_id, type;

-- name: DeadStats
-- Un-replayed entries, the oldest failure and the failure groups per app and type (entries
-- without a signature are one group, as DeadGroups counts them).
SELECT app_id, type, count(*), min(failed_at), count(DISTINCT coalesce(error_signature, 'unknown'))
FROM job_dlq
WHERE replayed_at IS NULL
GROUP BY app_id, type;

-- name: DeadGroups
-- Failure groups: the un-replayed entries matching the filter per app, type and error
-- signature, where entries written without a signature are the group 'unknown'. The most
-- entries first, then the latest failure, then app, type and signature (byte order), at most
-- :limit groups; each with its newest entry (the highest id) and that entry's last error, as
-- a sample.
WITH g AS (
    SELECT app_id, type, coalesce(error_signature, 'unknown') AS signature, count(*) AS entries,
           min(failed_at) AS first_failed, max(failed_at) AS last_failed, max(id) AS newest
    FROM job_dlq
    WHERE replayed_at IS NULL
      AND (:app_id IS NULL OR app_id = :app_id)
      AND (:type = '' OR type = :type)
      AND (:failed_after IS NULL OR failed_at >= :failed_after)
      AND (:failed_before IS NULL OR failed_at < :failed_before)
      AND (:error_contains = '' OR EXISTS (
            SELECT 1 FROM json_each(error_history) AS e WHERE instr(e.value ->> 'error', :error_contains) > 0))
      AND (:group = '' OR error_signature = :group OR (:group = 'unknown' AND error_signature IS NULL))
      AND (:tag = '' OR EXISTS (SELECT 1 FROM json_each(tags) AS t WHERE t.value = :tag))
    GROUP BY app_id, type, error_signature
    ORDER BY entries DESC, last_failed DESC, app_id, type, signature
    LIMIT :limit
)
SELECT g.app_id, g.type, g.signature, g.entries, g.first_failed, g.last_failed, d.id,
       coalesce(d.error_history ->> '$[#-1].error', '')
FROM g
JOIN job_dlq AS d ON d.id = g.newest
ORDER BY g.entries DESC, g.last_failed DESC, g.app_id, g.type, g.signature;

-- name: DeadGroupsByKey
-- The groups of DeadGroups in key order: app id, type and signature, each in byte order (ids
-- are canonical lowercase text; 'unknown' sorts after every hex signature), only those above
-- the key (:after_app, :after_type, :after_signature) when :after_app is set; at most :limit
-- groups.
WITH g AS (
    SELECT app_id, type, coalesce(error_signature, 'unknown') AS signature, count(*) AS entries,
           min(failed_at) AS first_failed, max(failed_at) AS last_failed, max(id) AS newest
    FROM job_dlq
    WHERE replayed_at IS NULL
      AND (:app_id IS NULL OR app_id = :app_id)
      AND (:type = '' OR type = :type)
      AND (:failed_after IS NULL OR failed_at >= :failed_after)
      AND (:failed_before IS NULL OR failed_at < :failed_before)
      AND (:error_contains = '' OR EXISTS (
            SELECT 1 FROM json_each(error_history) AS e WHERE instr(e.value ->> 'error', :error_contains) > 0))
      AND (:group = '' OR error_signature = :group OR (:group = 'unknown' AND error_signature IS NULL))
      AND (:tag = '' OR EXISTS (SELECT 1 FROM json_each(tags) AS t WHERE t.value = :tag))
      AND (:after_app IS NULL OR (app_id, type, coalesce(error_signature, 'unknown'))
                                 > (:after_app, :after_type, :after_signature))
    GROUP BY app_id, type, error_signature
    ORDER BY app_id, type, signature
    LIMIT :limit
)
SELECT g.app_id, g.type, g.signature, g.entries, g.first_failed, g.last_failed, d.id,
       coalesce(d.error_history ->> '$[#-1].error', '')
FROM g
JOIN job_dlq AS d ON d.id = g.newest
ORDER BY g.app_id, g.type, g.signature;

-- ============================================================================================
-- API tokens and the audit log
-- ============================================================================================

-- name: CreateToken
INSERT INTO api_tokens (id, name, app_id, read_only, secret_hash, expires_at)
VALUES (:id, :name, :app_id, :read_only, :secret_hash, :expires_at)
RETURNING id, name, app_id, read_only, secret_hash, created_at, expires_at, revoked_at,
          rotated_at, previous_secret_hash, previous_expires_at;

-- name: GetToken
SELECT id, name, app_id, read_only, secret_hash, created_at, expires_at, revoked_at,
       rotated_at, previous_secret_hash, previous_expires_at
FROM api_tokens WHERE id = :id;

-- name: ListTokens
SELECT id, name, app_id, read_only, secret_hash, created_at, expires_at, revoked_at,
       rotated_at, previous_secret_hash, previous_expires_at
FROM api_tokens ORDER BY id DESC;

-- name: RevokeToken
UPDATE api_tokens
SET revoked_at = coalesce(revoked_at, CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000)
WHERE id = :id;

-- name: RecordAudit
-- Adds one transaction's count to its operation's row, creating the row on the first. The
-- details are the latest transaction's: an operation that reports its progress in them (an
-- app purge's counts by table) passes its running totals; the others pass the same each time.
INSERT INTO audit_log (id, actor, action, app_id, details, count)
VALUES (:id, :actor, :action, :app_id, :details, :count)
ON CONFLICT (id) DO UPDATE SET count = audit_log.count + excluded.count, details = excluded.details;

-- name: ListAudit
SELECT id, at, actor, action, app_id, details, count
FROM audit_log
WHERE id < coalesce(:before, '~')
ORDER BY id DESC
LIMIT :limit;

-- ============================================================================================
-- Database health
-- ============================================================================================

-- name: TableHealth
-- Sluice's tables in a fixed order: exact row counts, and each table's size with its indexes
-- from dbstat. Both read the tables' pages, a cost that grows with the tables.
WITH sizes AS (
    SELECT m.tbl_name AS name, sum(d.pgsize) AS bytes
    FROM sqlite_schema AS m
    JOIN dbstat AS d ON d.name = m.name AND d.aggregate = TRUE
    GROUP BY m.tbl_name
)
SELECT t.name, t.row_count, coalesce(s.bytes, 0)
FROM (
    SELECT 1 AS ord, 'jobs' AS name, (SELECT count(*) FROM jobs) AS row_count
    UNION ALL SELECT 2, 'job_dlq', (SELECT count(*) FROM job_dlq)
    UNION ALL SELECT 3, 'apps', (SELECT count(*) FROM apps)
    UNION ALL SELECT 4, 'api_tokens', (SELECT count(*) FROM api_tokens)
    UNION ALL SELECT 5, 'audit_log', (SELECT count(*) FROM audit_log)
    UNION ALL SELECT 6, 'sluice_migrations', (SELECT count(*) FROM sluice_migrations)
) AS t
LEFT JOIN sizes AS s ON s.name = t.name
ORDER BY t.ord;

-- name: DatabaseHealth
-- The file's size, and the synchronous setting (0 is OFF).
SELECT p.page_count * s.page_size, y.synchronous
FROM pragma_page_count() AS p, pragma_page_size() AS s, pragma_synchronous() AS y;
