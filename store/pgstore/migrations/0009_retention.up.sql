-- Retention. A policy says how long the rows of one kind (completed jobs, cancelled jobs,
-- replayed or un-replayed dead-letter entries) in one scope (an app or every app, a type or
-- every type) are kept: a max age in milliseconds and a max count, 0 for no limit of that
-- sort. The most specific policy covering a row applies to it. Without a policy of a kind for
-- every app and type, a client's configured default applies (never one for un-replayed
-- entries).
CREATE TABLE retention_policies (
    id UUID PRIMARY KEY,
    kind TEXT NOT NULL,
    app_id UUID REFERENCES apps(id) ON DELETE CASCADE,
    type TEXT NOT NULL DEFAULT '',
    max_age_ms BIGINT NOT NULL DEFAULT 0,
    max_count BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT retention_policies_kind CHECK (kind IN ('completed', 'cancelled', 'replayed', 'unreplayed')),
    CONSTRAINT retention_policies_limits CHECK (max_age_ms >= 0 AND max_count >= 0)
);
CREATE UNIQUE INDEX retention_policies_scope ON retention_policies (kind, app_id, type) NULLS NOT DISTINCT;

-- Un-replayed dead-letter entries deleted by retention, per policy, app and type: written in
-- the transaction that deletes them. Batches of the same policy, app and type add to the
-- report that is not dismissed yet, so an operator sees one line per trim, not per batch.
CREATE TABLE retention_reports (
    id UUID PRIMARY KEY,
    policy_id UUID,
    policy TEXT NOT NULL,
    app_id UUID NOT NULL,
    type TEXT NOT NULL,
    count BIGINT NOT NULL,
    oldest_failed_at TIMESTAMPTZ NOT NULL,
    newest_failed_at TIMESTAMPTZ NOT NULL,
    min_id UUID NOT NULL,
    max_id UUID NOT NULL,
    export_file TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    dismissed_at TIMESTAMPTZ,
    dismissed_by TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX retention_reports_open ON retention_reports (app_id, type, policy) WHERE dismissed_at IS NULL;
