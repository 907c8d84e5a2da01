-- Control of live work: pgstore's 0014_live_control in SQLite's dialect (times in Unix
-- microseconds; the scope's uniqueness by an index, app NULL counting as one value).
ALTER TABLE jobs ADD COLUMN cancel_requested_at INTEGER;
ALTER TABLE apps ADD COLUMN disabled_at INTEGER;
CREATE TABLE pauses (
    id TEXT NOT NULL PRIMARY KEY,
    app_id TEXT REFERENCES apps(id) ON DELETE CASCADE,
    queue TEXT NOT NULL DEFAULT '',
    type TEXT NOT NULL DEFAULT '',
    paused_at INTEGER NOT NULL DEFAULT (CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000),
    paused_by TEXT NOT NULL DEFAULT '',
    CONSTRAINT pauses_not_everything CHECK (app_id IS NOT NULL OR queue <> '' OR type <> '')
) STRICT;
CREATE UNIQUE INDEX pauses_scope ON pauses (coalesce(app_id, ''), queue, type);
