-- Durable bulk replays: pgstore's 0008_replay_operations in SQLite's dialect (times in Unix
-- microseconds; JSON merge patches are SQLite's own json_patch(), which is RFC 7386).
CREATE TABLE replay_operations (
    id TEXT NOT NULL PRIMARY KEY,
    app_id TEXT,
    type TEXT NOT NULL DEFAULT '',
    failed_after INTEGER,
    failed_before INTEGER,
    error_contains TEXT NOT NULL DEFAULT '',
    error_group TEXT NOT NULL DEFAULT '',
    through_id TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    payload_patch TEXT,
    include_loops INTEGER NOT NULL DEFAULT 0,
    rate REAL NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'running',
    matched INTEGER NOT NULL DEFAULT 0,
    replayed INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0,
    cursor_id TEXT,
    last_error TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL DEFAULT (CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000),
    updated_at INTEGER NOT NULL DEFAULT (CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000),
    finished_at INTEGER,
    lease_token TEXT,
    lease_expires_at INTEGER,
    CONSTRAINT replay_operations_status CHECK (status IN ('running', 'paused', 'cancelled', 'done', 'failed')),
    CONSTRAINT replay_operations_patch_object CHECK (payload_patch IS NULL
        OR (json_valid(payload_patch) AND json_type(payload_patch) = 'object')),
    CONSTRAINT replay_operations_attempts CHECK (attempts BETWEEN 0 AND 1000),
    CONSTRAINT replay_operations_include_loops_bool CHECK (include_loops IN (0, 1))
) STRICT;
CREATE INDEX replay_operations_running ON replay_operations (lease_expires_at) WHERE status = 'running';

ALTER TABLE job_dlq ADD COLUMN replay_of TEXT;
