-- Every query the benchmark suite runs itself: counting outcomes, the raw SQL ceiling, and
-- loading dead jobs straight into the peers' tables. Each runs on a connection whose
-- search_path is the instance's schema (or on the instance's SQLite file), so table names are
-- unqualified. Sluice's own queries are read from ../store/pgstore/queries.sql, never copied.

-- ============================================================================================
-- Counting outcomes (only durable state: what the tables say)
-- ============================================================================================

-- name: SluiceOutstanding
SELECT count(*) FROM jobs WHERE status IN ('pending', 'running');

-- name: SluiceCompleted
SELECT count(*) FROM jobs WHERE status = 'completed';

-- name: SluiceDead
SELECT count(*) FROM job_dlq;

-- name: RiverOutstanding
SELECT count(*) FROM river_job WHERE state IN ('available', 'pending', 'retryable', 'running', 'scheduled');

-- name: RiverCompleted
SELECT count(*) FROM river_job WHERE state = 'completed';

-- name: RiverDead
SELECT count(*) FROM river_job WHERE state = 'discarded';

-- ============================================================================================
-- The raw SQL ceiling: a plain table, SKIP LOCKED claims, batched completion
-- ============================================================================================

-- name: RawCreate
CREATE TABLE raw_jobs (
    id BIGSERIAL PRIMARY KEY,
    payload JSONB NOT NULL,
    status SMALLINT NOT NULL DEFAULT 0, -- 0 pending, 1 running, 2 completed
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX raw_jobs_pending ON raw_jobs (id) WHERE status = 0;

-- name: RawInsert
INSERT INTO raw_jobs (payload) VALUES ($1);

-- name: RawClaim
UPDATE raw_jobs AS j
SET status = 1, attempts = j.attempts + 1
FROM (SELECT id FROM raw_jobs WHERE status = 0 ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) AS c
WHERE j.id = c.id
RETURNING j.id, j.payload;

-- name: RawComplete
UPDATE raw_jobs SET status = 2 WHERE id = ANY($1::bigint[]);

-- name: RawFail
UPDATE raw_jobs SET status = 3 WHERE id = ANY($1::bigint[]);

-- name: RawOutstanding
SELECT count(*) FROM raw_jobs WHERE status IN (0, 1);

-- name: RawCompleted
SELECT count(*) FROM raw_jobs WHERE status = 2;

-- name: RawDead
SELECT count(*) FROM raw_jobs WHERE status = 3;

-- ============================================================================================
-- Dead jobs loaded straight into the tables (the DLQ workloads' setup, never timed)
-- ============================================================================================

-- name: RiverLoadDiscarded
-- $1 jobs, numbered from $2, spread round-robin over $3 queues (River's closest thing to an
-- app) and then $4 kinds, as the Sluice loader spreads its entries over apps and types.
INSERT INTO river_job (args, attempt, attempted_at, attempted_by, created_at, errors, finalized_at,
                       kind, max_attempts, priority, queue, scheduled_at, state)
SELECT jsonb_build_object('n', g, 't', 0), 1, t, ARRAY['bench'], t,
       ARRAY[jsonb_build_object('at', t, 'attempt', 1, 'error', 'bench: always fails', 'trace', '')],
       t, 'type-' || ((g / $3) % $4), 1, 1, 'app-' || (g % $3), t, 'discarded'
FROM generate_series($2::bigint, $2::bigint + $1 - 1) AS g,
     LATERAL (SELECT now() - interval '30 days' + g * interval '1 second') AS s(t);

-- name: RiverDiscardedIDs
SELECT id FROM river_job WHERE state = 'discarded' ORDER BY id DESC LIMIT $1;

-- name: Analyze
-- After a bulk load: statistics and the visibility map, as autovacuum would leave them.
VACUUM (ANALYZE);

-- ============================================================================================
-- Watching Sluice's bulk replay transactions
-- ============================================================================================

-- name: OpenTransactionAge
-- The age of the oldest open transaction of the connections named $1.
SELECT coalesce(max(extract(epoch FROM clock_timestamp() - xact_start)), 0)::float8
FROM pg_stat_activity
WHERE application_name = $1 AND xact_start IS NOT NULL;

-- name: SluiceReplayBatches
-- replayed_at is now() of the replaying transaction: one distinct value, and its start time,
-- per batch.
SELECT replayed_at, count(*) FROM job_dlq WHERE replayed_at IS NOT NULL GROUP BY replayed_at ORDER BY replayed_at;

-- name: ClockNow
SELECT clock_timestamp();

-- name: SluiceDeadIDAtDepth
-- The id of the entry of app $1 (or type $2) that lies $3 places from the newest: a cursor
-- position for EXPLAIN.
SELECT id FROM job_dlq
WHERE ($1::uuid IS NULL OR app_id = $1) AND ($2::text = '' OR type = $2) AND replayed_at IS NULL
ORDER BY id DESC OFFSET $3 LIMIT 1;
