-- The dead-letter queue, as DESIGN.md specifies, in SQLite's dialect (see 0001 for how UUIDs,
-- JSON and times are stored). The id default is a random (v4) UUID, a fallback only: Sluice
-- supplies UUIDv7 ids. The app and type indexes carry id as a trailing column so listings page
-- newest-first without sorting.

CREATE TABLE job_dlq (
    id TEXT NOT NULL PRIMARY KEY DEFAULT (lower(hex(randomblob(4)) || '-' || hex(randomblob(2))
        || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1)
        || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))),
    original_job_id TEXT NOT NULL,
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE RESTRICT,
    type TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    error_history TEXT NOT NULL,
    failed_at INTEGER NOT NULL DEFAULT (CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000),
    replayed_at INTEGER,
    CONSTRAINT job_dlq_id_uuid CHECK (id GLOB '????????-????-????-????-????????????'
        AND length(replace(id, '-', '')) = 32 AND NOT replace(id, '-', '') GLOB '*[^0-9a-f]*'),
    CONSTRAINT job_dlq_original_job_id_uuid CHECK (original_job_id GLOB '????????-????-????-????-????????????'
        AND length(replace(original_job_id, '-', '')) = 32 AND NOT replace(original_job_id, '-', '') GLOB '*[^0-9a-f]*'),
    CONSTRAINT job_dlq_payload_json CHECK (json_valid(payload)),
    CONSTRAINT job_dlq_error_history_array CHECK (json_valid(error_history) AND json_type(error_history) = 'array')
) STRICT;
CREATE INDEX idx_job_dlq_app ON job_dlq(app_id, id) WHERE replayed_at IS NULL;
CREATE INDEX idx_job_dlq_type ON job_dlq(type, id) WHERE replayed_at IS NULL;
CREATE INDEX idx_job_dlq_failed ON job_dlq(failed_at) WHERE replayed_at IS NULL;
