-- Apps (tenants) and the active job queue: pgstore's 0001_initial in SQLite's dialect.
--
-- Tables are STRICT, so a column holds only its declared type, as in PostgreSQL.
--   * UUIDs are TEXT in canonical lowercase form (checked), so text order is id order.
--   * JSON is TEXT, checked with json_valid and json_type.
--   * Times are INTEGER Unix microseconds (UTC). Integers compare and do arithmetic exactly
--     (a lease is now + N ms), keep the microseconds an application-supplied time has, and
--     index compactly. The database clock is unixepoch('subsec'), which SQLite keeps to the
--     millisecond, so times SQLite takes itself are whole milliseconds. The expression
--     CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000 is "now" throughout.

CREATE TABLE apps (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL DEFAULT (CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000),
    CONSTRAINT apps_id_uuid CHECK (id GLOB '????????-????-????-????-????????????'
        AND length(replace(id, '-', '')) = 32 AND NOT replace(id, '-', '') GLOB '*[^0-9a-f]*')
) STRICT;

CREATE TABLE jobs (
    id TEXT NOT NULL PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE RESTRICT,
    type TEXT NOT NULL,
    queue TEXT NOT NULL DEFAULT 'default',
    priority INTEGER NOT NULL DEFAULT 0,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    -- attempts counts started attempts (a snoozed or shutdown-interrupted attempt is given back).
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 25,
    last_error TEXT,
    error_history TEXT NOT NULL DEFAULT '[]',
    run_at INTEGER NOT NULL DEFAULT (CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000),
    started_at INTEGER,
    completed_at INTEGER,
    created_at INTEGER NOT NULL DEFAULT (CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000),
    unique_key TEXT,
    -- the job_dlq entry this job was replayed from (no foreign key: entries may be purged).
    replayed_from TEXT,
    -- a running attempt's fence: every change to a running job names its token.
    lease_token TEXT,
    lease_expires_at INTEGER,
    CONSTRAINT jobs_id_uuid CHECK (id GLOB '????????-????-????-????-????????????'
        AND length(replace(id, '-', '')) = 32 AND NOT replace(id, '-', '') GLOB '*[^0-9a-f]*'),
    CONSTRAINT jobs_replayed_from_uuid CHECK (replayed_from GLOB '????????-????-????-????-????????????'
        AND length(replace(replayed_from, '-', '')) = 32 AND NOT replace(replayed_from, '-', '') GLOB '*[^0-9a-f]*'),
    CONSTRAINT jobs_lease_token_uuid CHECK (lease_token GLOB '????????-????-????-????-????????????'
        AND length(replace(lease_token, '-', '')) = 32 AND NOT replace(lease_token, '-', '') GLOB '*[^0-9a-f]*'),
    CONSTRAINT jobs_status_valid CHECK (status IN ('pending', 'running', 'completed', 'cancelled')),
    CONSTRAINT jobs_payload_container CHECK (json_valid(payload) AND json_type(payload) IN ('object', 'array')),
    CONSTRAINT jobs_error_history_array CHECK (json_valid(error_history) AND json_type(error_history) = 'array'),
    CONSTRAINT jobs_attempts_valid CHECK (attempts >= 0 AND max_attempts >= 1),
    CONSTRAINT jobs_priority_valid CHECK (priority BETWEEN -100 AND 100),
    CONSTRAINT jobs_lease_iff_running CHECK ((status = 'running') = (lease_token IS NOT NULL AND lease_expires_at IS NOT NULL))
) STRICT;

-- What workers claim: due pending jobs of a queue, in priority, run_at, id order.
CREATE INDEX jobs_fetch ON jobs (queue, priority, run_at, id) WHERE status = 'pending';
-- What the rescuer scans: running jobs by lease expiry.
CREATE INDEX jobs_lease ON jobs (lease_expires_at) WHERE status = 'running';
-- Listing an app's jobs newest first (and the apps foreign key).
CREATE INDEX jobs_app ON jobs (app_id, id);
-- One live job per app and unique key.
CREATE UNIQUE INDEX jobs_unique_key ON jobs (app_id, unique_key)
    WHERE unique_key IS NOT NULL AND status IN ('pending', 'running');
