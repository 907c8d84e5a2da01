-- The dead-letter queue, exactly as DESIGN.md specifies. The app and type indexes carry id as a
-- trailing column so listings page newest-first without sorting.

CREATE TABLE job_dlq (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    original_job_id UUID NOT NULL,
    app_id UUID NOT NULL REFERENCES apps(id) ON DELETE RESTRICT,
    type TEXT NOT NULL,
    payload JSONB NOT NULL,
    attempts INTEGER NOT NULL,
    error_history JSONB NOT NULL,
    failed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    replayed_at TIMESTAMPTZ,
    CONSTRAINT job_dlq_error_history_array CHECK (jsonb_typeof(error_history) = 'array')
);
CREATE INDEX idx_job_dlq_app ON job_dlq(app_id, id) WHERE replayed_at IS NULL;
CREATE INDEX idx_job_dlq_type ON job_dlq(type, id) WHERE replayed_at IS NULL;
CREATE INDEX idx_job_dlq_failed ON job_dlq(failed_at) WHERE replayed_at IS NULL;
