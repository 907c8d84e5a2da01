-- Token rotation: a token's secret can be replaced while its id, scope and access stay. The
-- replaced secret keeps working until previous_expires_at (the rotation's grace), or not at
-- all when that is NULL. Nullable columns: an older Sluice reading api_tokens is unaffected.
ALTER TABLE api_tokens
    ADD COLUMN previous_secret_hash BYTEA CONSTRAINT api_tokens_previous_hash_size CHECK (length(previous_secret_hash) = 32),
    ADD COLUMN previous_expires_at TIMESTAMPTZ,
    ADD COLUMN rotated_at TIMESTAMPTZ;
