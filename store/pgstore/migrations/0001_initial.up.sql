-- Apps (tenants) and the active job queue.

CREATE TABLE apps (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE jobs (
    id UUID PRIMARY KEY,
    app_id UUID NOT NULL REFERENCES apps(id) ON DELETE RESTRICT,
    type TEXT NOT NULL,
    queue TEXT NOT NULL DEFAULT 'default',
    priority SMALLINT NOT NULL DEFAULT 0,
    payload JSONB NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    -- attempts counts started attempts (a snoozed or shutdown-interrupted attempt is given back).
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 25,
    last_error TEXT,
    error_history JSONB NOT NULL DEFAULT '[]',
    run_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at TIMESTAMPTZ,
    completed_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    unique_key TEXT,
    -- the job_dlq entry this job was replayed from (no foreign key: entries may be purged).
    replayed_from UUID,
    -- a running attempt's fence: every change to a running job names its token.
    lease_token UUID,
    lease_expires_at TIMESTAMPTZ,
    CONSTRAINT jobs_status_valid CHECK (status IN ('pending', 'running', 'completed', 'cancelled')),
    CONSTRAINT jobs_payload_container CHECK (jsonb_typeof(payload) IN ('object', 'array')),
    CONSTRAINT jobs_error_history_array CHECK (jsonb_typeof(error_history) = 'array'),
    CONSTRAINT jobs_attempts_valid CHECK (attempts >= 0 AND max_attempts >= 1),
    CONSTRAINT jobs_priority_valid CHECK (priority BETWEEN -100 AND 100),
    CONSTRAINT jobs_lease_iff_running CHECK ((status = 'running') = (lease_token IS NOT NULL AND lease_expires_at IS NOT NULL))
);

-- What workers claim: due pending jobs of a queue, in priority, run_at, id order.
CREATE INDEX jobs_fetch ON jobs (queue, priority, run_at, id) WHERE status = 'pending';
-- What the rescuer scans: running jobs by lease expiry.
CREATE INDEX jobs_lease ON jobs (lease_expires_at) WHERE status = 'running';
-- Listing an app's jobs newest first (and the apps foreign key).
CREATE INDEX jobs_app ON jobs (app_id, id);
-- One live job per app and unique key.
CREATE UNIQUE INDEX jobs_unique_key ON jobs (app_id, unique_key)
    WHERE unique_key IS NOT NULL AND status IN ('pending', 'running');
