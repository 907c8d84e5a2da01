-- API tokens for `sluice serve`, and the audit log of replays and purges.

CREATE TABLE api_tokens (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    -- the one app the token may see; NULL for an admin token.
    app_id UUID REFERENCES apps(id) ON DELETE CASCADE,
    read_only BOOLEAN NOT NULL DEFAULT false,
    -- SHA-256 of the secret; the secret itself is shown once and never stored.
    secret_hash BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ,
    CONSTRAINT api_tokens_hash_size CHECK (length(secret_hash) = 32)
);
CREATE INDEX api_tokens_app ON api_tokens (app_id);

-- One row per operation (a replay, a bulk replay, a purge); every transaction of the
-- operation adds what it changed to count, in that transaction. No foreign key to apps: the
-- log outlives what it describes.
CREATE TABLE audit_log (
    id UUID PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    app_id UUID,
    details JSONB NOT NULL DEFAULT '{}',
    count INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT audit_log_details_object CHECK (jsonb_typeof(details) = 'object')
);
