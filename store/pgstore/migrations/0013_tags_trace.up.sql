-- Tags and trace context. tags are a job's free-form labels (validate.Tags, a JSON array of
-- strings, as on SQLite and as sluice migrate copy carries JSON), kept on its
-- dead-letter entry and on the job a replay makes; listings filter by one. traceparent and
-- tracestate are the W3C trace context of the span that enqueued the job (NULL when there was
-- none): the handler's span continues that trace, and a dead entry keeps it so it links to
-- the trace that produced it. All additive with defaults: an older Sluice still inserts and
-- claims (its jobs have no tags and no trace).
--
-- No index on tags: a tag filter is checked along the listing's own index walk (newest
-- first, by app or type when the filter names one), and a GIN index would cost every insert
-- on the hot path.
ALTER TABLE jobs ADD COLUMN tags JSONB NOT NULL DEFAULT '[]'
    CONSTRAINT jobs_tags_array CHECK (jsonb_typeof(tags) = 'array');
ALTER TABLE jobs ADD COLUMN traceparent TEXT;
ALTER TABLE jobs ADD COLUMN tracestate TEXT;
ALTER TABLE job_dlq ADD COLUMN tags JSONB NOT NULL DEFAULT '[]'
    CONSTRAINT job_dlq_tags_array CHECK (jsonb_typeof(tags) = 'array');
ALTER TABLE job_dlq ADD COLUMN traceparent TEXT;
ALTER TABLE job_dlq ADD COLUMN tracestate TEXT;
-- A replay operation's filter may name a tag.
ALTER TABLE replay_operations ADD COLUMN tag TEXT NOT NULL DEFAULT '';
