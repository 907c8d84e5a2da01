-- Retention: pgstore's 0009_retention in SQLite's dialect (times in Unix microseconds).
CREATE TABLE retention_policies (
    id TEXT NOT NULL PRIMARY KEY,
    kind TEXT NOT NULL,
    app_id TEXT REFERENCES apps(id) ON DELETE CASCADE,
    type TEXT NOT NULL DEFAULT '',
    max_age_ms INTEGER NOT NULL DEFAULT 0,
    max_count INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL DEFAULT (CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000),
    updated_at INTEGER NOT NULL DEFAULT (CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000),
    CONSTRAINT retention_policies_kind CHECK (kind IN ('completed', 'cancelled', 'replayed', 'unreplayed')),
    CONSTRAINT retention_policies_limits CHECK (max_age_ms >= 0 AND max_count >= 0)
) STRICT;
CREATE UNIQUE INDEX retention_policies_scope ON retention_policies (kind, ifnull(app_id, ''), type);

CREATE TABLE retention_reports (
    id TEXT NOT NULL PRIMARY KEY,
    policy_id TEXT,
    policy TEXT NOT NULL,
    app_id TEXT NOT NULL,
    type TEXT NOT NULL,
    count INTEGER NOT NULL,
    oldest_failed_at INTEGER NOT NULL,
    newest_failed_at INTEGER NOT NULL,
    min_id TEXT NOT NULL,
    max_id TEXT NOT NULL,
    export_file TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL DEFAULT (CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000),
    dismissed_at INTEGER,
    dismissed_by TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE UNIQUE INDEX retention_reports_open ON retention_reports (app_id, type, policy) WHERE dismissed_at IS NULL;
