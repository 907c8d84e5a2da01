-- The queries of periodic schedules (store.Periodic). A tick moves last_tick_at forward by
-- compare-and-set (TickSchedule), in the transaction that inserts the tick's job: of two
-- processes ticking at once, the second waits on the row lock, then finds the last tick
-- already there and changes nothing.

-- name: SyncSchedule
INSERT INTO periodic_schedules (id, app_id, name, type, cron, time_zone, every_ms, queue, priority,
                                max_attempts, payload, catch_up)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (app_id, name) DO UPDATE
SET type = excluded.type, cron = excluded.cron, time_zone = excluded.time_zone,
    every_ms = excluded.every_ms, queue = excluded.queue, priority = excluded.priority,
    max_attempts = excluded.max_attempts, payload = excluded.payload, catch_up = excluded.catch_up,
    seen_at = now()
RETURNING id, app_id, name, type, cron, time_zone, every_ms, queue, priority, max_attempts, payload,
          catch_up, last_tick_at, last_job_id, last_enqueued_at, ticks_enqueued, ticks_skipped,
          created_at, seen_at, now();

-- name: TickSchedule
-- $3: the tick's job id, NULL for a tick without a job.
UPDATE periodic_schedules
SET last_tick_at = $2,
    last_job_id = coalesce($3, last_job_id),
    last_enqueued_at = CASE WHEN $3::uuid IS NULL THEN last_enqueued_at ELSE now() END,
    ticks_enqueued = ticks_enqueued + CASE WHEN $3::uuid IS NULL THEN 0 ELSE 1 END,
    ticks_skipped = ticks_skipped + $4
WHERE id = $1 AND (last_tick_at IS NULL OR last_tick_at < $2)
RETURNING id, app_id, name, type, cron, time_zone, every_ms, queue, priority, max_attempts, payload,
          catch_up, last_tick_at, last_job_id, last_enqueued_at, ticks_enqueued, ticks_skipped,
          created_at, seen_at, now();

-- name: SetScheduleJob
-- The job of a tick whose unique key a live job held: that job is the tick's.
UPDATE periodic_schedules SET last_job_id = $2 WHERE id = $1
RETURNING id, app_id, name, type, cron, time_zone, every_ms, queue, priority, max_attempts, payload,
          catch_up, last_tick_at, last_job_id, last_enqueued_at, ticks_enqueued, ticks_skipped,
          created_at, seen_at, now();

-- name: GetSchedule
SELECT id, app_id, name, type, cron, time_zone, every_ms, queue, priority, max_attempts, payload,
       catch_up, last_tick_at, last_job_id, last_enqueued_at, ticks_enqueued, ticks_skipped,
       created_at, seen_at, now()
FROM periodic_schedules WHERE id = $1;

-- name: ListSchedules
SELECT id, app_id, name, type, cron, time_zone, every_ms, queue, priority, max_attempts, payload,
       catch_up, last_tick_at, last_job_id, last_enqueued_at, ticks_enqueued, ticks_skipped,
       created_at, seen_at, now()
FROM periodic_schedules
WHERE $1::uuid IS NULL OR app_id = $1
ORDER BY app_id, name;

-- name: DeleteSchedule
DELETE FROM periodic_schedules WHERE id = $1;

-- name: Now
SELECT now();
