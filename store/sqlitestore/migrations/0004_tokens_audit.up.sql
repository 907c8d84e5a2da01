-- API tokens for `sluice serve`, and the audit log of replays and purges: pgstore's
-- 0004_tokens_audit in SQLite's dialect.

CREATE TABLE api_tokens (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    -- the one app the token may see; NULL for an admin token.
    app_id TEXT REFERENCES apps(id) ON DELETE CASCADE,
    read_only INTEGER NOT NULL DEFAULT 0,
    -- SHA-256 of the secret; the secret itself is shown once and never stored.
    secret_hash BLOB NOT NULL,
    created_at INTEGER NOT NULL DEFAULT (CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000),
    expires_at INTEGER,
    revoked_at INTEGER,
    CONSTRAINT api_tokens_id_uuid CHECK (id GLOB '????????-????-????-????-????????????'
        AND length(replace(id, '-', '')) = 32 AND NOT replace(id, '-', '') GLOB '*[^0-9a-f]*'),
    CONSTRAINT api_tokens_read_only_bool CHECK (read_only IN (0, 1)),
    CONSTRAINT api_tokens_hash_size CHECK (length(secret_hash) = 32)
) STRICT;
CREATE INDEX api_tokens_app ON api_tokens (app_id);

-- One row per operation (a replay, a bulk replay, a purge); every transaction of the
-- operation adds what it changed to count, in that transaction. No foreign key to apps: the
-- log outlives what it describes.
CREATE TABLE audit_log (
    id TEXT NOT NULL PRIMARY KEY,
    at INTEGER NOT NULL DEFAULT (CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000),
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    app_id TEXT,
    details TEXT NOT NULL DEFAULT '{}',
    count INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT audit_log_id_uuid CHECK (id GLOB '????????-????-????-????-????????????'
        AND length(replace(id, '-', '')) = 32 AND NOT replace(id, '-', '') GLOB '*[^0-9a-f]*'),
    CONSTRAINT audit_log_details_object CHECK (json_valid(details) AND json_type(details) = 'object')
) STRICT;
