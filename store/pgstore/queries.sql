-- Every query the PostgreSQL store runs. A job changes state only in the queries of the
-- "Worker" section; each of those that touches a running job is fenced by its lease token, so
-- a worker that lost its lease changes nothing.
--
-- Times come from the database clock (now()). Error-history timestamps are Unix milliseconds.

-- ============================================================================================
-- Apps
-- ============================================================================================

-- name: CreateApp
INSERT INTO apps (id, name) VALUES ($1, $2)
RETURNING id, name, created_at, coalesce(max_running, 0), coalesce(rate_per_second, 0), coalesce(rate_burst, 0), disabled_at;

-- name: ListApps
-- Byte order, as on SQLite, whatever the database's default collation.
SELECT id, name, created_at, coalesce(max_running, 0), coalesce(rate_per_second, 0), coalesce(rate_burst, 0), disabled_at FROM apps ORDER BY name COLLATE "C";

-- name: GetApp
SELECT id, name, created_at, coalesce(max_running, 0), coalesce(rate_per_second, 0), coalesce(rate_burst, 0), disabled_at FROM apps WHERE id = $1;

-- name: GetAppByName
SELECT id, name, created_at, coalesce(max_running, 0), coalesce(rate_per_second, 0), coalesce(rate_burst, 0), disabled_at FROM apps WHERE name = $1;

-- name: SetAppLimits
-- Zero means no limit. A new rate starts with a full bucket.
UPDATE apps
SET max_running = nullif($2, 0),
    rate_per_second = nullif($3::float8, 0),
    rate_burst = nullif($4, 0),
    rate_tokens = NULL,
    rate_updated_at = NULL
WHERE id = $1
RETURNING id, name, created_at, coalesce(max_running, 0), coalesce(rate_per_second, 0), coalesce(rate_burst, 0), disabled_at;

-- ============================================================================================
-- Jobs
-- ============================================================================================

-- name: InsertJobs
-- One row per array element. A job whose unique key is held by a live job of its app is
-- skipped; the caller then looks that job up. Only what the database decided comes back: the
-- caller has the rest. $11 holds each job's tags as the text of a JSON array (NULL for none),
-- $12 and $13 its trace context (NULL for none). Nothing is inserted when one of the apps is
-- disabled; the caller then finds which (DisabledApps).
INSERT INTO jobs (id, app_id, type, queue, priority, payload, max_attempts, run_at, unique_key, replayed_from,
                  tags, traceparent, tracestate)
SELECT t.id, t.app_id, t.type, t.queue, t.priority, t.payload::jsonb, t.max_attempts,
       coalesce(t.run_at, now()), nullif(t.unique_key, ''), t.replayed_from,
       coalesce(t.tags::jsonb, '[]'), t.traceparent, t.tracestate
FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::smallint[], $6::text[],
            $7::integer[], $8::timestamptz[], $9::text[], $10::uuid[], $11::text[], $12::text[], $13::text[])
     AS t(id, app_id, type, queue, priority, payload, max_attempts, run_at, unique_key, replayed_from,
          tags, traceparent, tracestate)
WHERE NOT EXISTS (SELECT 1 FROM apps WHERE id = ANY($2::uuid[]) AND disabled_at IS NOT NULL)
ON CONFLICT (app_id, unique_key) WHERE unique_key IS NOT NULL AND status IN ('pending', 'running')
DO NOTHING
RETURNING id, run_at, created_at;

-- name: GetLiveJobsByUniqueKey
SELECT id, app_id, type, queue, priority, payload, status, attempts, max_attempts, last_error,
       error_history, run_at, started_at, completed_at, created_at, unique_key, replayed_from,
       lease_token, lease_expires_at, tags, traceparent, tracestate, cancel_requested_at
FROM jobs
WHERE (app_id, unique_key) IN (SELECT * FROM unnest($1::uuid[], $2::text[]))
  AND unique_key IS NOT NULL AND status IN ('pending', 'running');

-- name: DisabledApps
-- Which of these apps are disabled, by name.
SELECT name FROM apps WHERE id = ANY($1::uuid[]) AND disabled_at IS NOT NULL ORDER BY name;

-- name: NotifyJobs
-- A payload-free wake-up for workers; PostgreSQL folds repeats within a transaction into one.
SELECT pg_notify($1, '');

-- name: GetJob
SELECT id, app_id, type, queue, priority, payload, status, attempts, max_attempts, last_error,
       error_history, run_at, started_at, completed_at, created_at, unique_key, replayed_from,
       lease_token, lease_expires_at, tags, traceparent, tracestate, cancel_requested_at
FROM jobs WHERE id = $1;

-- name: ListJobs
-- Keyset paging, newest first. Zero-valued filters match everything; $6 is a tag.
SELECT id, app_id, type, queue, priority, payload, status, attempts, max_attempts, last_error,
       error_history, run_at, started_at, completed_at, created_at, unique_key, replayed_from,
       lease_token, lease_expires_at, tags, traceparent, tracestate, cancel_requested_at
FROM jobs
WHERE ($1::uuid IS NULL OR app_id = $1)
  AND ($2::text = '' OR type = $2)
  AND ($3::text = '' OR status = $3)
  AND ($4::uuid IS NULL OR id < $4)
  AND ($6::text = '' OR tags ? $6)
ORDER BY id DESC
LIMIT $5;

-- ============================================================================================
-- Worker: claim, heartbeat, finish, rescue
-- ============================================================================================

-- name: ReadyApps
-- The apps with pending jobs in one queue, for a claim to share between them: a skip scan of
-- jobs_fair, one index probe per app however many jobs it holds. It walks the index from its
-- end — each app's newest jobs, which are still pending — because claims take the oldest
-- first, and the entries they leave behind (claimed, completed) crowd the start of each app's
-- range until vacuum clears them. Whether an app has a job due and of the worker's types is
-- left to the claim: an app without gives nothing, and its share goes to the others.
WITH RECURSIVE queued AS (
    (SELECT app_id FROM jobs
     WHERE status = 'pending' AND queue = $1
     ORDER BY app_id DESC, priority DESC, run_at DESC, id DESC LIMIT 1)
    UNION ALL
    SELECT (SELECT j.app_id FROM jobs AS j
            WHERE j.status = 'pending' AND j.queue = $1 AND j.app_id < q.app_id
            ORDER BY j.app_id DESC, j.priority DESC, j.run_at DESC, j.id DESC LIMIT 1)
    FROM queued AS q
    WHERE q.app_id IS NOT NULL
)
SELECT q.app_id, a.max_running IS NOT NULL OR a.rate_per_second IS NOT NULL AS limited
FROM queued AS q
JOIN apps AS a ON a.id = q.app_id;

-- name: LockApps
-- Serialises the claims of apps with limits: a claim locks them (in id order, so that two
-- claims never wait on each other in a cycle) before ClaimJobsLimited counts what they run.
SELECT id FROM apps WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE;

-- name: ClaimJobsLimited
-- ClaimJobs for an app with limits, locked by LockApps earlier in the claim's transaction (so
-- this statement's snapshot sees every claim that held the lock before): its share is cut to
-- what max_running leaves free and to the whole tokens its bucket holds once refilled at
-- rate_per_second up to rate_burst; the tokens taken are spent. claimable is as in ClaimJobs.
WITH claimable AS (
    SELECT array_agg(t.type) AS types
    FROM unnest($2::text[]) AS t(type)
    WHERE NOT EXISTS (SELECT 1 FROM apps WHERE id = $6 AND disabled_at IS NOT NULL)
      AND NOT EXISTS (SELECT 1 FROM pauses AS p
                      WHERE (p.app_id IS NULL OR p.app_id = $6) AND p.queue IN ('', $1) AND p.type IN ('', t.type))
), app AS (
    SELECT max_running,
           CASE WHEN rate_per_second IS NOT NULL THEN
               least(rate_burst::float8, coalesce(rate_tokens, rate_burst) +
                     extract(epoch FROM now() - coalesce(rate_updated_at, now())) * rate_per_second)
           END AS tokens
    FROM apps WHERE id = $6
), allowed AS (
    SELECT least($3::bigint,
                 coalesce(max_running - (SELECT count(*) FROM jobs
                                         WHERE app_id = $6 AND status = 'running'), $3),
                 coalesce(floor(tokens)::bigint, $3)) AS n,
           tokens
    FROM app
), picked AS (
    SELECT id FROM jobs
    WHERE status = 'pending' AND queue = $1 AND app_id = $6 AND run_at <= now()
      AND type = ANY((SELECT types FROM claimable)::text[])
    ORDER BY priority, run_at, id
    LIMIT greatest(0, (SELECT n FROM allowed))
    FOR UPDATE SKIP LOCKED
), spent AS (
    UPDATE apps
    SET rate_tokens = (SELECT tokens FROM allowed) - (SELECT count(*) FROM picked),
        rate_updated_at = now()
    WHERE id = $6 AND rate_per_second IS NOT NULL
)
UPDATE jobs AS j
SET status = 'running',
    attempts = j.attempts + 1,
    started_at = now(),
    lease_token = $4,
    lease_expires_at = now() + $5 * interval '1 millisecond'
-- By an array of ids, not a join: the planner cannot know how few the computed LIMIT lets
-- through, and would hash-join against a scan of every job.
WHERE j.id = ANY(ARRAY(SELECT id FROM picked))
RETURNING j.id, j.app_id, j.type, j.queue, j.priority, j.payload, j.status, j.attempts,
          j.max_attempts, j.last_error, j.error_history, j.run_at, j.started_at, j.completed_at,
          j.created_at, j.unique_key, j.replayed_from, j.lease_token, j.lease_expires_at, j.tags,
          j.traceparent, j.tracestate, j.cancel_requested_at;

-- name: ClaimJobs
-- Take one app's share of a claim: its due pending jobs of one queue and the worker's types,
-- in priority order, skipping rows others hold (jobs_fair). claimable is the worker's types
-- less those a pause covers for this app and queue — none if the app is disabled — worked out
-- once per statement, so a paused type's backlog is never walked. Reading pauses here is
-- what makes Pause strict: it locks the table against this statement (SetPaused).
WITH claimable AS (
    SELECT array_agg(t.type) AS types
    FROM unnest($2::text[]) AS t(type)
    WHERE NOT EXISTS (SELECT 1 FROM apps WHERE id = $6 AND disabled_at IS NOT NULL)
      AND NOT EXISTS (SELECT 1 FROM pauses AS p
                      WHERE (p.app_id IS NULL OR p.app_id = $6) AND p.queue IN ('', $1) AND p.type IN ('', t.type))
), picked AS (
    SELECT id FROM jobs
    WHERE status = 'pending' AND queue = $1 AND app_id = $6 AND run_at <= now()
      AND type = ANY((SELECT types FROM claimable)::text[])
    ORDER BY priority, run_at, id
    LIMIT $3
    FOR UPDATE SKIP LOCKED
)
UPDATE jobs AS j
SET status = 'running',
    attempts = j.attempts + 1,
    started_at = now(),
    lease_token = $4,
    lease_expires_at = now() + $5 * interval '1 millisecond'
FROM picked
WHERE j.id = picked.id
RETURNING j.id, j.app_id, j.type, j.queue, j.priority, j.payload, j.status, j.attempts,
          j.max_attempts, j.last_error, j.error_history, j.run_at, j.started_at, j.completed_at,
          j.created_at, j.unique_key, j.replayed_from, j.lease_token, j.lease_expires_at, j.tags,
          j.traceparent, j.tracestate, j.cancel_requested_at;

-- name: ExtendLeases
-- Renews the leases still held, and tells which of those jobs an operator asked to cancel.
UPDATE jobs AS j
SET lease_expires_at = now() + $3 * interval '1 millisecond'
FROM unnest($1::uuid[], $2::uuid[]) AS l(id, token)
WHERE j.id = l.id AND j.lease_token = l.token
RETURNING j.id, j.cancel_requested_at IS NOT NULL;

-- name: CompleteJobs
UPDATE jobs AS j
SET status = 'completed', completed_at = now(), lease_token = NULL, lease_expires_at = NULL
FROM unnest($1::uuid[], $2::uuid[]) AS f(id, token)
WHERE j.id = f.id AND j.lease_token = f.token
RETURNING j.id;

-- name: RetryJobs
-- A failed attempt with attempts left: record the error, wait the backoff — or, when an
-- operator asked to cancel the job, end it cancelled.
UPDATE jobs AS j
SET status = CASE WHEN j.cancel_requested_at IS NULL THEN 'pending' ELSE 'cancelled' END,
    completed_at = CASE WHEN j.cancel_requested_at IS NULL THEN NULL ELSE now() END,
    lease_token = NULL,
    lease_expires_at = NULL,
    run_at = now() + f.delay_ms * interval '1 millisecond',
    last_error = f.error,
    error_history = j.error_history || jsonb_build_array(jsonb_build_object(
        'error', f.error, 'timestamp', floor(extract(epoch FROM now()) * 1000)::bigint))
FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::bigint[]) AS f(id, token, error, delay_ms)
WHERE j.id = f.id AND j.lease_token = f.token
RETURNING j.id;

-- name: ReleaseJobs
-- Snoozed or interrupted by shutdown: due again after the delay, the attempt given back — or,
-- when an operator asked to cancel the job, ended cancelled.
UPDATE jobs AS j
SET status = CASE WHEN j.cancel_requested_at IS NULL THEN 'pending' ELSE 'cancelled' END,
    completed_at = CASE WHEN j.cancel_requested_at IS NULL THEN NULL ELSE now() END,
    lease_token = NULL,
    lease_expires_at = NULL,
    attempts = j.attempts - 1,
    run_at = now() + f.delay_ms * interval '1 millisecond'
FROM unnest($1::uuid[], $2::uuid[], $3::bigint[]) AS f(id, token, delay_ms)
WHERE j.id = f.id AND j.lease_token = f.token
RETURNING j.id;

-- name: CancelJobs
UPDATE jobs AS j
SET status = 'cancelled',
    completed_at = now(),
    lease_token = NULL,
    lease_expires_at = NULL,
    last_error = f.error,
    error_history = j.error_history || jsonb_build_array(jsonb_build_object(
        'error', f.error, 'timestamp', floor(extract(epoch FROM now()) * 1000)::bigint))
FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS f(id, token, error)
WHERE j.id = f.id AND j.lease_token = f.token
RETURNING j.id;

-- name: DeadLetterJobs
-- The job leaves jobs and its entry enters job_dlq in this one statement: both or neither.
-- $5 are the signatures of the errors (internal/signature), computed by the caller. A job that
-- was a replay carries its entry into the new one's replay_of (the replay-loop flag). A job an
-- operator asked to cancel ends cancelled instead, with the error recorded.
WITH f AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::text[]) AS f(id, token, error, dead_id, signature)
), cancelled AS (
    UPDATE jobs AS j
    SET status = 'cancelled', completed_at = now(), lease_token = NULL, lease_expires_at = NULL,
        last_error = f.error,
        error_history = j.error_history || jsonb_build_array(jsonb_build_object(
            'error', f.error, 'timestamp', floor(extract(epoch FROM now()) * 1000)::bigint))
    FROM f
    WHERE j.id = f.id AND j.lease_token = f.token AND j.cancel_requested_at IS NOT NULL
    RETURNING j.id
), moved AS (
    DELETE FROM jobs AS j
    USING f
    WHERE j.id = f.id AND j.lease_token = f.token AND j.cancel_requested_at IS NULL
    RETURNING j.id, j.app_id, j.type, j.queue, j.priority, j.payload, j.attempts, j.max_attempts,
              j.unique_key, j.error_history, f.error, f.dead_id, f.signature, j.replayed_from,
              j.tags, j.traceparent, j.tracestate
), dead AS (
    INSERT INTO job_dlq (id, original_job_id, app_id, type, payload, attempts, error_history, failed_at,
                         queue, priority, max_attempts, unique_key, error_signature, replay_of,
                         tags, traceparent, tracestate)
    SELECT dead_id, id, app_id, type, payload, attempts,
           error_history || jsonb_build_array(jsonb_build_object(
               'error', error, 'timestamp', floor(extract(epoch FROM now()) * 1000)::bigint)),
           now(), queue, priority, max_attempts, unique_key, signature, replayed_from,
           tags, traceparent, tracestate
    FROM moved
    RETURNING original_job_id
)
SELECT original_job_id FROM dead
UNION ALL
SELECT id FROM cancelled;

-- name: LockExpiredLeases
-- The running jobs whose lease has expired, locked for rescue: whether their attempts are
-- spent, and whether an operator asked to cancel them.
SELECT id, lease_token, attempts, attempts >= max_attempts AS exhausted,
       cancel_requested_at IS NOT NULL AS cancel
FROM jobs
WHERE status = 'running' AND lease_expires_at < now()
ORDER BY lease_expires_at
LIMIT $1
FOR UPDATE SKIP LOCKED;

-- name: LockExpiredLease
-- One lease of LockExpiredLeases, locked again to be rescued alone: still held by the same
-- token, still expired.
SELECT id, lease_token, attempts, attempts >= max_attempts AS exhausted,
       cancel_requested_at IS NOT NULL AS cancel
FROM jobs
WHERE id = $1 AND lease_token = $2 AND status = 'running' AND lease_expires_at < now()
FOR UPDATE SKIP LOCKED;

-- ============================================================================================
-- Dead-letter queue
-- ============================================================================================

-- name: ListDead
-- Keyset paging, newest first. Zero-valued filters match everything; $6 includes replayed
-- entries, $7 keeps only them (so it includes them too, with or without $6); $9 is a failure
-- group's signature, where 'unknown' (signature.Unknown) matches the entries written without
-- one; $12 is a tag. Run with custom plans so the folded filter can use the partial indexes.
SELECT id, original_job_id, app_id, type, payload, attempts, error_history, failed_at,
       replayed_at, queue, priority, max_attempts, unique_key, replay_job_id, error_signature, replay_of,
       tags, traceparent, tracestate
FROM job_dlq
WHERE ($1::uuid IS NULL OR app_id = $1)
  AND ($2::text = '' OR type = $2)
  AND ($3::timestamptz IS NULL OR failed_at >= $3)
  AND ($4::timestamptz IS NULL OR failed_at < $4)
  AND ($5::text = '' OR EXISTS (
        SELECT 1 FROM jsonb_array_elements(error_history) AS e WHERE strpos(e ->> 'error', $5) > 0))
  AND ($9::text = '' OR error_signature = $9 OR ($9 = 'unknown' AND error_signature IS NULL))
  AND ($12::text = '' OR tags ? $12)
  AND ($6::boolean OR $7::boolean OR replayed_at IS NULL)
  AND (NOT $7::boolean OR replayed_at IS NOT NULL)
  AND ($8::uuid IS NULL OR id <= $8)
  AND ($10::uuid IS NULL OR id < $10)
ORDER BY id DESC
LIMIT $11;

-- name: ListDeadByApp
-- ListDead for a filter naming an app. The page's ids come from idx_job_dlq_app (or
-- job_dlq_app_all, replayed included) walked backwards from the cursor — ordered by
-- (app_id, id), the same order as app_id is fixed, and index-only when the app is the whole
-- filter — then their rows by primary key: no sort, and no scan of other apps' entries.
SELECT d.id, d.original_job_id, d.app_id, d.type, d.payload, d.attempts, d.error_history,
       d.failed_at, d.replayed_at, d.queue, d.priority, d.max_attempts, d.unique_key, d.replay_job_id,
       d.error_signature, d.replay_of, d.tags, d.traceparent, d.tracestate
FROM (
    SELECT id FROM job_dlq
    WHERE app_id = $1
      AND ($2::text = '' OR type = $2)
      AND ($3::timestamptz IS NULL OR failed_at >= $3)
      AND ($4::timestamptz IS NULL OR failed_at < $4)
      AND ($5::text = '' OR EXISTS (
            SELECT 1 FROM jsonb_array_elements(error_history) AS e WHERE strpos(e ->> 'error', $5) > 0))
      AND ($9::text = '' OR error_signature = $9 OR ($9 = 'unknown' AND error_signature IS NULL))
      AND ($12::text = '' OR tags ? $12)
      AND ($6::boolean OR $7::boolean OR replayed_at IS NULL)
      AND (NOT $7::boolean OR replayed_at IS NOT NULL)
      AND ($8::uuid IS NULL OR id <= $8)
      AND ($10::uuid IS NULL OR id < $10)
    ORDER BY app_id DESC, id DESC
    LIMIT $11
) AS page
JOIN job_dlq AS d ON d.id = page.id
ORDER BY page.id DESC;

-- name: ListDeadByType
-- ListDead for a filter naming a type but no app: as ListDeadByApp, through idx_job_dlq_type.
SELECT d.id, d.original_job_id, d.app_id, d.type, d.payload, d.attempts, d.error_history,
       d.failed_at, d.replayed_at, d.queue, d.priority, d.max_attempts, d.unique_key, d.replay_job_id,
       d.error_signature, d.replay_of, d.tags, d.traceparent, d.tracestate
FROM (
    SELECT id FROM job_dlq
    WHERE ($1::uuid IS NULL OR app_id = $1)
      AND type = $2
      AND ($3::timestamptz IS NULL OR failed_at >= $3)
      AND ($4::timestamptz IS NULL OR failed_at < $4)
      AND ($5::text = '' OR EXISTS (
            SELECT 1 FROM jsonb_array_elements(error_history) AS e WHERE strpos(e ->> 'error', $5) > 0))
      AND ($9::text = '' OR error_signature = $9 OR ($9 = 'unknown' AND error_signature IS NULL))
      AND ($12::text = '' OR tags ? $12)
      AND ($6::boolean OR $7::boolean OR replayed_at IS NULL)
      AND (NOT $7::boolean OR replayed_at IS NOT NULL)
      AND ($8::uuid IS NULL OR id <= $8)
      AND ($10::uuid IS NULL OR id < $10)
    ORDER BY type DESC, id DESC
    LIMIT $11
) AS page
JOIN job_dlq AS d ON d.id = page.id
ORDER BY page.id DESC;

-- name: CountDead
SELECT count(*)
FROM job_dlq
WHERE ($1::uuid IS NULL OR app_id = $1)
  AND ($2::text = '' OR type = $2)
  AND ($3::timestamptz IS NULL OR failed_at >= $3)
  AND ($4::timestamptz IS NULL OR failed_at < $4)
  AND ($5::text = '' OR EXISTS (
        SELECT 1 FROM jsonb_array_elements(error_history) AS e WHERE strpos(e ->> 'error', $5) > 0))
  AND ($9::text = '' OR error_signature = $9 OR ($9 = 'unknown' AND error_signature IS NULL))
  AND ($10::text = '' OR tags ? $10)
  AND ($6::boolean OR $7::boolean OR replayed_at IS NULL)
  AND (NOT $7::boolean OR replayed_at IS NOT NULL)
  AND ($8::uuid IS NULL OR id <= $8);

-- name: GetDead
SELECT id, original_job_id, app_id, type, payload, attempts, error_history, failed_at,
       replayed_at, queue, priority, max_attempts, unique_key, replay_job_id, error_signature, replay_of,
       tags, traceparent, tracestate
FROM job_dlq WHERE id = $1;

-- name: GetDeadReplayedAt
SELECT replayed_at FROM job_dlq WHERE id = $1;

-- name: ReplayDead
-- Mark the entry replayed (only if it was not) and insert its new job, in one statement. A
-- unique-key collision fails the whole statement, leaving the entry un-replayed.
WITH entry AS (
    UPDATE job_dlq
    SET replayed_at = now(), replay_job_id = $2
    WHERE id = $1 AND replayed_at IS NULL
    RETURNING id, app_id, type, payload, queue, priority, max_attempts, unique_key, tags, traceparent, tracestate
)
INSERT INTO jobs (id, app_id, type, queue, priority, payload, max_attempts, unique_key, replayed_from,
                  tags, traceparent, tracestate)
SELECT $2, app_id, type, coalesce(queue, $3), coalesce(priority, 0), payload,
       coalesce(max_attempts, $4), unique_key, id, tags, traceparent, tracestate
FROM entry
RETURNING id, app_id, type, queue, priority, payload, status, attempts, max_attempts, last_error,
          error_history, run_at, started_at, completed_at, created_at, unique_key, replayed_from,
          lease_token, lease_expires_at, tags, traceparent, tracestate, cancel_requested_at;

-- name: ReplayDeadBatch
-- One batch of a bulk replay, in one statement: lock the batch's un-replayed entries below the
-- cursor, newest first (rows a concurrent replay holds are waited for and re-checked, never
-- skipped); insert a job for each, with the ids the caller made, skipping those whose unique
-- key a live job holds; mark the entries whose job was inserted as replayed; and add their
-- count to the operation's audit row ($12, when not null). $17 is the filter's failure group,
-- $22 its tag. A replayed job keeps the entry's tags and trace context.
-- $18, when not 0, is the new jobs' max_attempts; $19, when not null, a JSON merge patch
-- (RFC 7386, sluice_merge_patch) applied to each payload, whose result must be at most $21
-- bytes as text, else the entry is left un-replayed; $20 leaves un-replayed the entries whose
-- job was itself a replay (replay_of set). Answers how many entries the batch looked at, how
-- many it replayed, how many it left as loops and as invalid, and the oldest id it looked at
-- (the next batch's cursor).
WITH picked AS (
    SELECT id, app_id, type, queue, priority, payload, max_attempts, unique_key, replay_of,
           tags, traceparent, tracestate
    FROM job_dlq
    WHERE ($1::uuid IS NULL OR app_id = $1)
      AND ($2::text = '' OR type = $2)
      AND ($3::timestamptz IS NULL OR failed_at >= $3)
      AND ($4::timestamptz IS NULL OR failed_at < $4)
      AND ($5::text = '' OR EXISTS (
            SELECT 1 FROM jsonb_array_elements(error_history) AS e WHERE strpos(e ->> 'error', $5) > 0))
      AND ($17::text = '' OR error_signature = $17 OR ($17 = 'unknown' AND error_signature IS NULL))
      AND ($22::text = '' OR tags ? $22)
      AND replayed_at IS NULL
      AND ($6::uuid IS NULL OR id <= $6)
      AND ($7::uuid IS NULL OR id < $7)
    ORDER BY id DESC
    LIMIT $8
    FOR UPDATE
), numbered AS (
    SELECT p.*, row_number() OVER (ORDER BY p.id DESC) AS n,
           ($20::boolean AND p.replay_of IS NOT NULL) AS is_loop,
           CASE WHEN $19::jsonb IS NULL THEN p.payload
                ELSE sluice_merge_patch(p.payload, $19::jsonb) END AS new_payload
    FROM picked AS p
), checked AS (
    SELECT nb.*, ($19::jsonb IS NULL OR octet_length(nb.new_payload::text) <= $21) AS valid
    FROM numbered AS nb
), inserted AS (
    INSERT INTO jobs (id, app_id, type, queue, priority, payload, max_attempts, unique_key, replayed_from,
                      tags, traceparent, tracestate)
    SELECT ($11::uuid[])[n], app_id, type, coalesce(queue, $9), coalesce(priority, 0), new_payload,
           CASE WHEN $18::integer > 0 THEN $18::integer ELSE coalesce(max_attempts, $10) END,
           unique_key, id, tags, traceparent, tracestate
    FROM checked
    WHERE NOT is_loop AND valid
    ON CONFLICT (app_id, unique_key) WHERE unique_key IS NOT NULL AND status IN ('pending', 'running')
    DO NOTHING
    RETURNING id, replayed_from
), marked AS (
    UPDATE job_dlq AS d
    SET replayed_at = now(), replay_job_id = i.id
    FROM inserted AS i
    WHERE d.id = i.replayed_from
    RETURNING d.id
), audited AS (
    INSERT INTO audit_log (id, actor, action, app_id, details, count)
    SELECT $12, $13, $14, $15, $16::jsonb, (SELECT count(*) FROM marked)
    WHERE $12::uuid IS NOT NULL
    ON CONFLICT (id) DO UPDATE SET count = audit_log.count + EXCLUDED.count
)
SELECT (SELECT count(*) FROM picked), (SELECT count(*) FROM marked),
       (SELECT count(*) FROM checked WHERE is_loop),
       (SELECT count(*) FROM checked WHERE NOT is_loop AND NOT valid),
       (SELECT id FROM picked ORDER BY id LIMIT 1);

-- name: DeleteDead
DELETE FROM job_dlq WHERE id = $1;

-- name: PurgeDead
DELETE FROM job_dlq
WHERE id IN (
    SELECT id FROM job_dlq
    WHERE ($1::uuid IS NULL OR app_id = $1)
      AND ($2::text = '' OR type = $2)
      AND ($3::timestamptz IS NULL OR failed_at >= $3)
      AND ($4::timestamptz IS NULL OR failed_at < $4)
      AND ($5::text = '' OR EXISTS (
            SELECT 1 FROM jsonb_array_elements(error_history) AS e WHERE strpos(e ->> 'error', $5) > 0))
      AND ($9::text = '' OR error_signature = $9 OR ($9 = 'unknown' AND error_signature IS NULL))
      AND ($11::text = '' OR tags ? $11)
      AND ($6::boolean OR $7::boolean OR replayed_at IS NULL)
      AND (NOT $7::boolean OR replayed_at IS NOT NULL)
      AND ($8::uuid IS NULL OR id <= $8)
    ORDER BY id
    LIMIT $10
    FOR UPDATE SKIP LOCKED
);

-- ============================================================================================
-- Counts
-- ============================================================================================

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
-- Failure groups: the un-replayed entries matching the filter ($1..$5, $6 a group, $8 a tag) per app,
-- type and error signature, where entries written without a signature are the group
-- 'unknown'. The most entries first, then the latest failure, then app, type and signature
-- (byte order), at most $7 groups; each with its newest entry (the highest id: text order is
-- id order) and that entry's last error, as a sample.
WITH g AS (
    SELECT app_id, type, coalesce(error_signature, 'unknown') AS signature, count(*) AS entries,
           min(failed_at) AS first_failed, max(failed_at) AS last_failed, max(id::text)::uuid AS newest
    FROM job_dlq
    WHERE replayed_at IS NULL
      AND ($1::uuid IS NULL OR app_id = $1)
      AND ($2::text = '' OR type = $2)
      AND ($3::timestamptz IS NULL OR failed_at >= $3)
      AND ($4::timestamptz IS NULL OR failed_at < $4)
      AND ($5::text = '' OR EXISTS (
            SELECT 1 FROM jsonb_array_elements(error_history) AS e WHERE strpos(e ->> 'error', $5) > 0))
      AND ($6::text = '' OR error_signature = $6 OR ($6 = 'unknown' AND error_signature IS NULL))
      AND ($8::text = '' OR tags ? $8)
    GROUP BY app_id, type, error_signature
    ORDER BY entries DESC, last_failed DESC, app_id, type COLLATE "C", coalesce(error_signature, 'unknown') COLLATE "C"
    LIMIT $7
)
SELECT g.app_id, g.type, g.signature, g.entries, g.first_failed, g.last_failed, d.id,
       coalesce(d.error_history -> -1 ->> 'error', '')
FROM g
JOIN job_dlq AS d ON d.id = g.newest
ORDER BY g.entries DESC, g.last_failed DESC, g.app_id, g.type COLLATE "C", g.signature COLLATE "C";

-- name: DeadGroupsByKey
-- The groups of DeadGroups ($1..$6, $8 as there) in key order: app id, type and signature,
-- each in byte order (uuid order is the byte order of its text; 'unknown' sorts after every
-- hex signature), only those above the key ($9, $10, $11) when $9 is set; at most $7 groups.
WITH g AS (
    SELECT app_id, type, coalesce(error_signature, 'unknown') AS signature, count(*) AS entries,
           min(failed_at) AS first_failed, max(failed_at) AS last_failed, max(id::text)::uuid AS newest
    FROM job_dlq
    WHERE replayed_at IS NULL
      AND ($1::uuid IS NULL OR app_id = $1)
      AND ($2::text = '' OR type = $2)
      AND ($3::timestamptz IS NULL OR failed_at >= $3)
      AND ($4::timestamptz IS NULL OR failed_at < $4)
      AND ($5::text = '' OR EXISTS (
            SELECT 1 FROM jsonb_array_elements(error_history) AS e WHERE strpos(e ->> 'error', $5) > 0))
      AND ($6::text = '' OR error_signature = $6 OR ($6 = 'unknown' AND error_signature IS NULL))
      AND ($8::text = '' OR tags ? $8)
      AND ($9::uuid IS NULL OR (app_id, type COLLATE "C", coalesce(error_signature, 'unknown') COLLATE "C")
                                > ($9, $10::text COLLATE "C", $11::text COLLATE "C"))
    GROUP BY app_id, type, error_signature
    ORDER BY app_id, type COLLATE "C", coalesce(error_signature, 'unknown') COLLATE "C"
    LIMIT $7
)
SELECT g.app_id, g.type, g.signature, g.entries, g.first_failed, g.last_failed, d.id,
       coalesce(d.error_history -> -1 ->> 'error', '')
FROM g
JOIN job_dlq AS d ON d.id = g.newest
ORDER BY g.app_id, g.type COLLATE "C", g.signature COLLATE "C";

-- ============================================================================================
-- Connection and migration bookkeeping
-- ============================================================================================

-- name: CurrentSchema
SELECT current_schema();

-- name: MigrationLock
-- A transaction-scoped lock keyed by schema, so Sluice schemas in one database migrate
-- independently; the whole run is one transaction, whose end releases it. (No session lock:
-- it would stay on a pooler's server connection when the run's transactions moved.)
SELECT pg_advisory_xact_lock(hashtextextended('sluice.migrate.' || current_schema(), 0));

-- name: CreateMigrationsTable
CREATE TABLE IF NOT EXISTS sluice_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- name: ListMigrations
SELECT version, applied_at FROM sluice_migrations;

-- name: RecordMigration
INSERT INTO sluice_migrations (version, name) VALUES ($1, $2);

-- name: ForgetMigration
DELETE FROM sluice_migrations WHERE version = $1;

-- ============================================================================================
-- API tokens and the audit log
-- ============================================================================================

-- name: CreateToken
INSERT INTO api_tokens (id, name, app_id, read_only, secret_hash, expires_at)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id, name, app_id, read_only, secret_hash, created_at, expires_at, revoked_at,
          rotated_at, previous_secret_hash, previous_expires_at;

-- name: GetToken
SELECT id, name, app_id, read_only, secret_hash, created_at, expires_at, revoked_at,
       rotated_at, previous_secret_hash, previous_expires_at
FROM api_tokens WHERE id = $1;

-- name: ListTokens
SELECT id, name, app_id, read_only, secret_hash, created_at, expires_at, revoked_at,
       rotated_at, previous_secret_hash, previous_expires_at
FROM api_tokens ORDER BY id DESC;

-- name: RevokeToken
UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1;

-- name: RecordAudit
-- Adds one transaction's count to its operation's row, creating the row on the first. The
-- details are the latest transaction's: an operation that reports its progress in them (an
-- app purge's counts by table) passes its running totals; the others pass the same each time.
INSERT INTO audit_log (id, actor, action, app_id, details, count)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (id) DO UPDATE SET count = audit_log.count + EXCLUDED.count, details = EXCLUDED.details;

-- name: ListAudit
SELECT id, at, actor, action, app_id, details, count
FROM audit_log
WHERE ($1::uuid IS NULL OR id < $1)
ORDER BY id DESC
LIMIT $2;

-- ============================================================================================
-- Database health
-- ============================================================================================

-- name: TableHealth
-- Sluice's tables in the store's schema ($1), in a fixed order. Row counts are the statistics
-- system's estimates; sizes include indexes and TOAST. A table not created yet reads as zeros.
SELECT t.name, coalesce(s.n_live_tup, 0), coalesce(s.n_dead_tup, 0), coalesce(pg_total_relation_size(c.oid), 0)
FROM unnest(ARRAY['jobs', 'job_dlq', 'apps', 'api_tokens', 'audit_log', 'sluice_migrations'])
         WITH ORDINALITY AS t(name, ord)
LEFT JOIN pg_namespace n ON n.nspname = $1
LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = t.name AND c.relkind = 'r'
LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
ORDER BY t.ord;

-- name: DatabaseHealth
-- Wraparound distance of the current database, its size, and the settings that weaken
-- durability.
SELECT age(datfrozenxid), mxid_age(datminmxid), pg_database_size(oid),
       current_setting('fsync'), current_setting('synchronous_commit')
FROM pg_database
WHERE datname = current_database();
