ALTER TABLE replay_operations DROP COLUMN tag;
ALTER TABLE job_dlq DROP COLUMN tracestate;
ALTER TABLE job_dlq DROP COLUMN traceparent;
ALTER TABLE job_dlq DROP COLUMN tags;
ALTER TABLE jobs DROP COLUMN tracestate;
ALTER TABLE jobs DROP COLUMN traceparent;
ALTER TABLE jobs DROP COLUMN tags;
