-- Durable bulk replays. A replay operation is a filter, an id bound fixed when it began
-- (entries dead-lettered later are not part of it), its options (attempt budget, a JSON merge
-- patch for the payloads, whether entries produced by a replay are replayed again) and its
-- progress: a cursor (the lowest entry id handled; entries are taken newest first) and counts.
-- One process advances an operation at a time, under a lease (token and expiry, database
-- clock) that every batch checks and renews in the batch's own transaction, so a process that
-- lost the lease changes nothing and another takes over once it expires.
CREATE TABLE replay_operations (
    id UUID PRIMARY KEY,
    app_id UUID,
    type TEXT NOT NULL DEFAULT '',
    failed_after TIMESTAMPTZ,
    failed_before TIMESTAMPTZ,
    error_contains TEXT NOT NULL DEFAULT '',
    error_group TEXT NOT NULL DEFAULT '',
    through_id UUID NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    payload_patch JSONB,
    include_loops BOOLEAN NOT NULL DEFAULT false,
    rate DOUBLE PRECISION NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'running',
    matched BIGINT NOT NULL DEFAULT 0,
    replayed BIGINT NOT NULL DEFAULT 0,
    failed BIGINT NOT NULL DEFAULT 0,
    skipped BIGINT NOT NULL DEFAULT 0,
    cursor_id UUID,
    last_error TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at TIMESTAMPTZ,
    lease_token UUID,
    lease_expires_at TIMESTAMPTZ,
    CONSTRAINT replay_operations_status CHECK (status IN ('running', 'paused', 'cancelled', 'done', 'failed')),
    CONSTRAINT replay_operations_patch_object CHECK (payload_patch IS NULL OR jsonb_typeof(payload_patch) = 'object'),
    CONSTRAINT replay_operations_attempts CHECK (attempts BETWEEN 0 AND 1000)
);
-- Runners look for running operations whose lease is free or expired.
CREATE INDEX replay_operations_running ON replay_operations (lease_expires_at) WHERE status = 'running';

-- The dead-letter entry that the entry's job was replayed from, if it was: an entry produced
-- by a replay that failed again, flagged as a possible replay loop.
ALTER TABLE job_dlq ADD COLUMN replay_of UUID;

-- RFC 7386 JSON merge patch, as SQLite's json_patch(): a patch that is an object merges key by
-- key into the target (an object, or {} if the target is not one), a null value removing the
-- key; any other patch replaces the target.
CREATE FUNCTION sluice_merge_patch(target jsonb, patch jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE SET search_path FROM CURRENT AS $$
DECLARE
    result jsonb;
    k text;
    v jsonb;
BEGIN
    IF patch IS NULL OR jsonb_typeof(patch) <> 'object' THEN
        RETURN patch;
    END IF;
    IF target IS NULL OR jsonb_typeof(target) <> 'object' THEN
        result := '{}'::jsonb;
    ELSE
        result := target;
    END IF;
    FOR k, v IN SELECT key, value FROM jsonb_each(patch) LOOP
        IF jsonb_typeof(v) = 'null' THEN
            result := result - k;
        ELSE
            result := jsonb_set(result, ARRAY[k], sluice_merge_patch(result -> k, v), true);
        END IF;
    END LOOP;
    RETURN result;
END
$$;
