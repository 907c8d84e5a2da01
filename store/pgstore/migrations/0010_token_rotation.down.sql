ALTER TABLE api_tokens
    DROP COLUMN rotated_at,
    DROP COLUMN previous_expires_at,
    DROP COLUMN previous_secret_hash;
