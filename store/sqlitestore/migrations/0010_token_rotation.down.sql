ALTER TABLE api_tokens DROP COLUMN rotated_at;
ALTER TABLE api_tokens DROP COLUMN previous_expires_at;
ALTER TABLE api_tokens DROP COLUMN previous_secret_hash;
