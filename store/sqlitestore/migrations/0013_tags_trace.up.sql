-- Tags and trace context: pgstore's 0013_tags_trace in SQLite's dialect (tags as a JSON
-- array of strings, checked).
ALTER TABLE jobs ADD COLUMN tags TEXT NOT NULL DEFAULT '[]'
    CONSTRAINT jobs_tags_array CHECK (json_valid(tags) AND json_type(tags) = 'array');
ALTER TABLE jobs ADD COLUMN traceparent TEXT;
ALTER TABLE jobs ADD COLUMN tracestate TEXT;
ALTER TABLE job_dlq ADD COLUMN tags TEXT NOT NULL DEFAULT '[]'
    CONSTRAINT job_dlq_tags_array CHECK (json_valid(tags) AND json_type(tags) = 'array');
ALTER TABLE job_dlq ADD COLUMN traceparent TEXT;
ALTER TABLE job_dlq ADD COLUMN tracestate TEXT;
ALTER TABLE replay_operations ADD COLUMN tag TEXT NOT NULL DEFAULT '';
