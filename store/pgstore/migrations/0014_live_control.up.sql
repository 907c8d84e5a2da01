-- Control of live work. jobs.cancel_requested_at marks a running job an operator asked to
-- cancel: its worker learns of it when it renews the lease, and no retry, release, rescue or
-- dead-lettering puts it back in play. apps.disabled_at disables an app: its jobs are not
-- claimed and none can be enqueued. pauses holds the paused scopes: an app (NULL: every app),
-- a queue ('' : every queue) and a type ('' : every type), at least one of them set; claims
-- skip the jobs a pause covers. All additive: an older Sluice still inserts and claims (it
-- knows nothing of pauses, disabled apps or cancel requests).
ALTER TABLE jobs ADD COLUMN cancel_requested_at TIMESTAMPTZ;
ALTER TABLE apps ADD COLUMN disabled_at TIMESTAMPTZ;
CREATE TABLE pauses (
    id UUID PRIMARY KEY,
    app_id UUID REFERENCES apps(id) ON DELETE CASCADE,
    queue TEXT NOT NULL DEFAULT '',
    type TEXT NOT NULL DEFAULT '',
    paused_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    paused_by TEXT NOT NULL DEFAULT '',
    CONSTRAINT pauses_scope UNIQUE NULLS NOT DISTINCT (app_id, queue, type),
    CONSTRAINT pauses_not_everything CHECK (app_id IS NOT NULL OR queue <> '' OR type <> '')
);
