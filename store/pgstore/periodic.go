package pgstore

import (
	"context"
	_ "embed"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sluicehq/sluice/internal/sqlfile"
	"github.com/sluicehq/sluice/store"
)

//go:embed periodic.sql
var periodicSQL string

// qp are the queries of periodic schedules, in periodic.sql.
var qp = sqlfile.MustParse(periodicSQL)

// SyncSchedules creates or updates the schedules and marks them seen, in one transaction.
func (s *Store) SyncSchedules(ctx context.Context, defs []store.ScheduleDef) ([]store.Schedule, error) {
	out := make([]store.Schedule, 0, len(defs))
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		for _, d := range defs {
			rows, _ := tx.Query(ctx, qp.Get("SyncSchedule"), d.ID, d.AppID, d.Name, d.Type, d.Cron, d.TimeZone,
				millis(d.Every), d.Queue, d.Priority, d.MaxAttempts, string(d.Payload), d.CatchUp)
			sch, err := pgx.CollectExactlyOneRow(rows, scanSchedule)
			if code, _ := pgErrorCode(err); code == codeForeignKeyViolation {
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
	var jobID *uuid.UUID
	if p.Job != nil {
		jobID = &p.Job.ID
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		res = store.TickResult{}
		rows, _ := tx.Query(ctx, qp.Get("TickSchedule"), p.ScheduleID, p.Tick, jobID, p.Skipped)
		sch, err := pgx.CollectExactlyOneRow(rows, scanSchedule)
		if errors.Is(err, pgx.ErrNoRows) {
			// Lost the race, or the tick is not later than the last: report the schedule as is.
			rows, _ := tx.Query(ctx, qp.Get("GetSchedule"), p.ScheduleID)
			res.Schedule, err = pgx.CollectExactlyOneRow(rows, scanSchedule)
			if errors.Is(err, pgx.ErrNoRows) {
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
		inserted, err := s.insertJobs(ctx, tx, []store.InsertJob{*p.Job}, false)
		if err != nil {
			return err
		}
		res.Job = &inserted[0]
		if inserted[0].Duplicate {
			rows, _ := tx.Query(ctx, qp.Get("SetScheduleJob"), p.ScheduleID, inserted[0].Job.ID)
			res.Schedule, err = pgx.CollectExactlyOneRow(rows, scanSchedule)
		}
		return err
	})
	if err != nil {
		return store.TickResult{}, err
	}
	if res.Job != nil && !res.Job.Duplicate {
		s.notifier.kick()
	}
	return res, nil
}

// ListSchedules returns the schedules of an app, or of every app.
func (s *Store) ListSchedules(ctx context.Context, appID *uuid.UUID) ([]store.Schedule, error) {
	rows, err := s.pool.Query(ctx, qp.Get("ListSchedules"), appID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanSchedule)
}

// GetSchedule returns one schedule, or store.ErrNotFound.
func (s *Store) GetSchedule(ctx context.Context, id uuid.UUID) (store.Schedule, error) {
	rows, _ := s.pool.Query(ctx, qp.Get("GetSchedule"), id)
	sch, err := pgx.CollectExactlyOneRow(rows, scanSchedule)
	if errors.Is(err, pgx.ErrNoRows) {
		return sch, store.ErrNotFound
	}
	return sch, err
}

// DeleteSchedule deletes one schedule, or returns store.ErrNotFound.
func (s *Store) DeleteSchedule(ctx context.Context, id uuid.UUID) error {
	tag, err := s.pool.Exec(ctx, qp.Get("DeleteSchedule"), id)
	if err == nil && tag.RowsAffected() == 0 {
		err = store.ErrNotFound
	}
	return err
}

// Now reads the database clock.
func (s *Store) Now(ctx context.Context) (time.Time, error) {
	var now time.Time
	err := s.pool.QueryRow(ctx, qp.Get("Now")).Scan(&now)
	return now.UTC(), err
}

// scanSchedule reads the columns every schedule query returns, in their order.
func scanSchedule(row pgx.CollectableRow) (store.Schedule, error) {
	var sc store.Schedule
	var everyMS int64
	err := row.Scan(&sc.ID, &sc.AppID, &sc.Name, &sc.Type, &sc.Cron, &sc.TimeZone, &everyMS, &sc.Queue,
		&sc.Priority, &sc.MaxAttempts, (*[]byte)(&sc.Payload), &sc.CatchUp, &sc.LastTickAt, &sc.LastJobID,
		&sc.LastEnqueuedAt, &sc.TicksEnqueued, &sc.TicksSkipped, &sc.CreatedAt, &sc.SeenAt, &sc.ReadAt)
	sc.Every = time.Duration(everyMS) * time.Millisecond
	sc.LastTickAt, sc.LastEnqueuedAt = utcPtr(sc.LastTickAt), utcPtr(sc.LastEnqueuedAt)
	sc.CreatedAt, sc.SeenAt, sc.ReadAt = sc.CreatedAt.UTC(), sc.SeenAt.UTC(), sc.ReadAt.UTC()
	return sc, err
}
