-- Failure groups: the signature of each entry's last error (see internal/signature), written
-- by the dead-letter paths. NULL for an entry written without it (by an older Sluice, or a
-- writer that knows only the nine contract columns): such entries form the group "unknown".
-- The index serves grouping and filtering by app, type and signature.

ALTER TABLE job_dlq ADD COLUMN error_signature TEXT;
CREATE INDEX job_dlq_groups ON job_dlq (app_id, type, error_signature) WHERE replayed_at IS NULL;
