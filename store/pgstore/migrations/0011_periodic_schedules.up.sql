-- Periodic schedules: each schedule's definition as the processes that run it registered it
-- (the last registration wins), when one last did (seen_at), and its last tick. A tick is
-- enqueued by moving last_tick_at forward with compare-and-set in the transaction that inserts
-- its job, so each tick enqueues once however many processes tick the schedule. A schedule is
-- removed with its app.
CREATE TABLE periodic_schedules (
    id UUID PRIMARY KEY,
    app_id UUID NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    cron TEXT NOT NULL DEFAULT '',
    time_zone TEXT NOT NULL DEFAULT 'UTC',
    every_ms BIGINT NOT NULL DEFAULT 0,
    queue TEXT NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    payload JSONB NOT NULL,
    catch_up TEXT NOT NULL DEFAULT 'latest',
    last_tick_at TIMESTAMPTZ,
    last_job_id UUID,
    last_enqueued_at TIMESTAMPTZ,
    ticks_enqueued BIGINT NOT NULL DEFAULT 0,
    ticks_skipped BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    seen_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT periodic_schedules_name UNIQUE (app_id, name),
    CONSTRAINT periodic_schedules_when CHECK ((cron = '') <> (every_ms = 0) AND every_ms >= 0),
    CONSTRAINT periodic_schedules_catch_up CHECK (catch_up IN ('latest', 'none'))
);
