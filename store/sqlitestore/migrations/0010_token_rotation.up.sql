-- Token rotation: pgstore's 0010_token_rotation in SQLite's dialect. The replaced secret keeps
-- working until previous_expires_at (Unix microseconds), or not at all when that is NULL.
ALTER TABLE api_tokens ADD COLUMN previous_secret_hash BLOB
    CONSTRAINT api_tokens_previous_hash_size CHECK (length(previous_secret_hash) = 32);
ALTER TABLE api_tokens ADD COLUMN previous_expires_at INTEGER;
ALTER TABLE api_tokens ADD COLUMN rotated_at INTEGER;
