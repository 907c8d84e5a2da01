package sqlitestore

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"time"

	"github.com/google/uuid"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sluicehq/sluice/internal/sqlfile"
	"github.com/sluicehq/sluice/store"
)

//go:embed periodic.sql
var periodicSQL string

// qp are the queries of periodic schedules, in periodic.sql.
var qp = sqlfile.MustParse(periodicSQL)

// SyncSchedules creates or updates the schedules and marks them seen, in one transaction.
func (s *Store) SyncSchedules(ctx context.Context, defs []store.ScheduleDef) ([]store.Schedule, error) {
	var out []store.Schedule
	err := s.write(ctx, func(tx *sql.Tx) error {
		out = make([]store.Schedule, 0, len(defs))
		for _, d := range defs {
			sch, err := scanSchedule(tx.QueryRowContext(ctx, qp.Get("SyncSchedule"),
				sql.Named("id", d.ID.String()), sql.Named("app_id", d.AppID.String()), sql.Named("name", d.Name),
				sql.Named("type", d.Type), sql.Named("cron", d.Cron), sql.Named("time_zone", d.TimeZone),
				sql.Named("every_ms", millis(d.Every)), sql.Named("queue", d.Queue), sql.Named("priority", d.Priority),
				sql.Named("max_attempts", d.MaxAttempts), sql.Named("payload", string(d.Payload)),
				sql.Named("catch_up", d.CatchUp)))
			if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
				return store.UnknownApp()
			}
			if err != nil {
				return err
			}
			out = append(out, sch)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// TickSchedule moves the last tick by compare-and-set and inserts the tick's job, in one
// transaction.
func (s *Store) TickSchedule(ctx context.Context, p store.TickParams) (store.TickResult, error) {
	var res store.TickResult
	var jobID any
	if p.Job != nil {
		jobID = p.Job.ID.String()
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		res = store.TickResult{}
		sch, err := scanSchedule(tx.QueryRowContext(ctx, qp.Get("TickSchedule"), sql.Named("id", p.ScheduleID.String()),
			sql.Named("tick", micros(p.Tick)), sql.Named("job_id", jobID), sql.Named("skipped", p.Skipped)))
		if errors.Is(err, sql.ErrNoRows) {
			// Lost the race, or the tick is not later than the last: report the schedule as is.
			res.Schedule, err = scanSchedule(tx.QueryRowContext(ctx, qp.Get("GetSchedule"), sql.Named("id", p.ScheduleID.String())))
			if errors.Is(err, sql.ErrNoRows) {
				return store.ErrNotFound
			}
			return err
		}
		if err != nil {
			return err
		}
		res.Won, res.Schedule = true, sch
		if p.Job == nil {
			return nil
		}
		inserted, err := s.insertJobs(ctx, tx, []store.InsertJob{*p.Job})
		if err != nil {
			return err
		}
		res.Job = &inserted[0]
		if inserted[0].Duplicate {
			res.Schedule, err = scanSchedule(tx.QueryRowContext(ctx, qp.Get("SetScheduleJob"),
				sql.Named("id", p.ScheduleID.String()), sql.Named("job_id", inserted[0].Job.ID.String())))
		}
		return err
	})
	if err != nil {
		return store.TickResult{}, err
	}
	return res, nil
}

// ListSchedules returns the schedules of an app, or of every app.
func (s *Store) ListSchedules(ctx context.Context, appID *uuid.UUID) ([]store.Schedule, error) {
	var out []store.Schedule
	err := s.read(ctx, func(db querier) error {
		out = []store.Schedule{}
		rows, err := db.QueryContext(ctx, qp.Get("ListSchedules"), sql.Named("app_id", nullID(appID)))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			sch, err := scanSchedule(rows)
			if err != nil {
				return err
			}
			out = append(out, sch)
		}
		return rows.Err()
	})
	return out, err
}

// GetSchedule returns one schedule, or store.ErrNotFound.
func (s *Store) GetSchedule(ctx context.Context, id uuid.UUID) (store.Schedule, error) {
	var sch store.Schedule
	err := s.read(ctx, func(db querier) error {
		var err error
		sch, err = scanSchedule(db.QueryRowContext(ctx, qp.Get("GetSchedule"), sql.Named("id", id.String())))
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		return err
	})
	return sch, err
}

// DeleteSchedule deletes one schedule, or returns store.ErrNotFound.
func (s *Store) DeleteSchedule(ctx context.Context, id uuid.UUID) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, qp.Get("DeleteSchedule"), sql.Named("id", id.String()))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
}

// Now reads the database clock.
func (s *Store) Now(ctx context.Context) (time.Time, error) {
	var us int64
	err := s.read(ctx, func(db querier) error {
		return db.QueryRowContext(ctx, qp.Get("Now")).Scan(&us)
	})
	return fromMicros(us), err
}

// scanSchedule reads the columns every schedule query returns, in their order.
func scanSchedule(row scanner) (store.Schedule, error) {
	var sc store.Schedule
	var everyMS, created, seen, readAt int64
	var payload string
	var lastTick, lastEnqueued sql.NullInt64
	err := row.Scan(&sc.ID, &sc.AppID, &sc.Name, &sc.Type, &sc.Cron, &sc.TimeZone, &everyMS, &sc.Queue,
		&sc.Priority, &sc.MaxAttempts, &payload, &sc.CatchUp, &lastTick, &sc.LastJobID, &lastEnqueued,
		&sc.TicksEnqueued, &sc.TicksSkipped, &created, &seen, &readAt)
	if err != nil {
		return store.Schedule{}, err
	}
	sc.Payload = []byte(payload)
	sc.Every = time.Duration(everyMS) * time.Millisecond
	sc.LastTickAt, sc.LastEnqueuedAt = fromNullMicros(lastTick), fromNullMicros(lastEnqueued)
	sc.CreatedAt, sc.SeenAt, sc.ReadAt = fromMicros(created), fromMicros(seen), fromMicros(readAt)
	return sc, nil
}
