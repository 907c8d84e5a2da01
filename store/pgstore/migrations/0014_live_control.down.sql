DROP TABLE pauses;
ALTER TABLE apps DROP COLUMN disabled_at;
ALTER TABLE jobs DROP COLUMN cancel_requested_at;
