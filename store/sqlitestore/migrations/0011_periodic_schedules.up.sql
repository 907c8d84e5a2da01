-- Periodic schedules: pgstore's 0011_periodic_schedules in SQLite's dialect (times in Unix
-- microseconds).
CREATE TABLE periodic_schedules (
    id TEXT NOT NULL PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    cron TEXT NOT NULL DEFAULT '',
    time_zone TEXT NOT NULL DEFAULT 'UTC',
    every_ms INTEGER NOT NULL DEFAULT 0,
    queue TEXT NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    payload TEXT NOT NULL CHECK (json_valid(payload)),
    catch_up TEXT NOT NULL DEFAULT 'latest',
    last_tick_at INTEGER,
    last_job_id TEXT,
    last_enqueued_at INTEGER,
    ticks_enqueued INTEGER NOT NULL DEFAULT 0,
    ticks_skipped INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL DEFAULT (CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000),
    seen_at INTEGER NOT NULL DEFAULT (CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000),
    CONSTRAINT periodic_schedules_name UNIQUE (app_id, name),
    CONSTRAINT periodic_schedules_when CHECK ((cron = '') <> (every_ms = 0) AND every_ms >= 0),
    CONSTRAINT periodic_schedules_catch_up CHECK (catch_up IN ('latest', 'none'))
) STRICT;
