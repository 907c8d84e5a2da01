-- The queries of periodic schedules: pgstore's periodic.sql in SQLite's dialect. A tick runs
-- inside the writer's BEGIN IMMEDIATE, so of two processes ticking at once the second finds
-- the last tick already moved and changes nothing.

-- name: SyncSchedule
INSERT INTO periodic_schedules (id, app_id, name, type, cron, time_zone, every_ms, queue, priority,
                                max_attempts, payload, catch_up)
VALUES (:id, :app_id, :name, :type, :cron, :time_zone, :every_ms, :queue, :priority,
        :max_attempts, :payload, :catch_up)
ON CONFLICT (app_id, name) DO UPDATE
SET type = excluded.type, cron = excluded.cron, time_zone = excluded.time_zone,
    every_ms = excluded.every_ms, queue = excluded.queue, priority = excluded.priority,
    max_attempts = excluded.max_attempts, payload = excluded.payload, catch_up = excluded.catch_up,
    seen_at = CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000
RETURNING id, app_id, name, type, cron, time_zone, every_ms, queue, priority, max_attempts, payload,
          catch_up, last_tick_at, last_job_id, last_enqueued_at, ticks_enqueued, ticks_skipped,
          created_at, seen_at, CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000;

-- name: TickSchedule
-- :job_id: the tick's job id, NULL for a tick without a job.
UPDATE periodic_schedules
SET last_tick_at = :tick,
    last_job_id = coalesce(:job_id, last_job_id),
    last_enqueued_at = CASE WHEN :job_id IS NULL THEN last_enqueued_at
                            ELSE CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000 END,
    ticks_enqueued = ticks_enqueued + CASE WHEN :job_id IS NULL THEN 0 ELSE 1 END,
    ticks_skipped = ticks_skipped + :skipped
WHERE id = :id AND (last_tick_at IS NULL OR last_tick_at < :tick)
RETURNING id, app_id, name, type, cron, time_zone, every_ms, queue, priority, max_attempts, payload,
          catch_up, last_tick_at, last_job_id, last_enqueued_at, ticks_enqueued, ticks_skipped,
          created_at, seen_at, CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000;

-- name: SetScheduleJob
UPDATE periodic_schedules SET last_job_id = :job_id WHERE id = :id
RETURNING id, app_id, name, type, cron, time_zone, every_ms, queue, priority, max_attempts, payload,
          catch_up, last_tick_at, last_job_id, last_enqueued_at, ticks_enqueued, ticks_skipped,
          created_at, seen_at, CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000;

-- name: GetSchedule
SELECT id, app_id, name, type, cron, time_zone, every_ms, queue, priority, max_attempts, payload,
       catch_up, last_tick_at, last_job_id, last_enqueued_at, ticks_enqueued, ticks_skipped,
       created_at, seen_at, CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000
FROM periodic_schedules WHERE id = :id;

-- name: ListSchedules
SELECT id, app_id, name, type, cron, time_zone, every_ms, queue, priority, max_attempts, payload,
       catch_up, last_tick_at, last_job_id, last_enqueued_at, ticks_enqueued, ticks_skipped,
       created_at, seen_at, CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000
FROM periodic_schedules
WHERE :app_id IS NULL OR app_id = :app_id
ORDER BY app_id, name;

-- name: DeleteSchedule
DELETE FROM periodic_schedules WHERE id = :id;

-- name: Now
SELECT CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000;
