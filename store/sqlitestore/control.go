package sqlitestore

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"

	"github.com/google/uuid"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sluicehq/sluice/internal/sqlfile"
	"github.com/sluicehq/sluice/store"
)

//go:embed control.sql
var controlSQL string

// qc are the queries of live-work control, in control.sql.
var qc = sqlfile.MustParse(controlSQL)

// CancelJob cancels a pending job at once, or marks a running one and tells this process's
// workers on the file.
func (s *Store) CancelJob(ctx context.Context, id uuid.UUID, reason string, audit *store.Audit) (store.Job, error) {
	var job store.Job
	running := false
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		job, err = changeJob(tx.QueryRowContext(ctx, qc.Get("CancelPendingJob"), sql.Named("id", id.String()), sql.Named("reason", reason)))
		if errors.Is(err, errUnchanged) {
			job, err = changeJob(tx.QueryRowContext(ctx, qc.Get("RequestCancel"), sql.Named("id", id.String())))
			running = err == nil
		}
		if err != nil {
			return s.unchanged(ctx, tx, id, err)
		}
		return recordAudit(ctx, tx, audit.ForApp(job.AppID), 1)
	})
	if err == nil && running {
		s.publish(store.NoticeCancel)
	}
	return job, err
}

// RetryJob makes a pending job due now.
func (s *Store) RetryJob(ctx context.Context, id uuid.UUID, audit *store.Audit) (store.Job, error) {
	return s.changeJobAudited(ctx, "RetryJobNow", id, audit, store.NoticeJobs)
}

// DeleteJob deletes a job that is not running.
func (s *Store) DeleteJob(ctx context.Context, id uuid.UUID, audit *store.Audit) (store.Job, error) {
	return s.changeJobAudited(ctx, "DeleteJob", id, audit, 0)
}

// changeJobAudited runs one job change and its audit row in a transaction, then publishes
// notice (when not 0).
func (s *Store) changeJobAudited(ctx context.Context, query string, id uuid.UUID, audit *store.Audit, notice store.Notice) (store.Job, error) {
	var job store.Job
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		if job, err = changeJob(tx.QueryRowContext(ctx, qc.Get(query), sql.Named("id", id.String()))); err != nil {
			return s.unchanged(ctx, tx, id, err)
		}
		return recordAudit(ctx, tx, audit.ForApp(job.AppID), 1)
	})
	if err == nil && notice != 0 {
		s.publish(notice)
	}
	return job, err
}

// errUnchanged: a job change matched no row.
var errUnchanged = errors.New("sqlitestore: the job was not in a state the change applies to")

func changeJob(row *sql.Row) (store.Job, error) {
	job, err := scanJob(row)
	if errors.Is(err, sql.ErrNoRows) {
		return job, errUnchanged
	}
	return job, err
}

// unchanged explains errUnchanged by the job's state: store.ErrNotFound when there is no such
// job, else store.JobInState.
func (s *Store) unchanged(ctx context.Context, tx *sql.Tx, id uuid.UUID, err error) error {
	if !errors.Is(err, errUnchanged) {
		return err
	}
	var status string
	if err := tx.QueryRowContext(ctx, qc.Get("JobStatus"), sql.Named("id", id.String())).Scan(&status); errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	} else if err != nil {
		return err
	}
	return store.JobInState(store.JobStatus(status))
}

// scopeArgs are a scope's query parameters.
func scopeArgs(scope store.PauseScope) []any {
	return []any{sql.Named("app_id", nullID(scope.AppID)), sql.Named("queue", scope.Queue), sql.Named("type", scope.Type)}
}

// Pause records the pause under the write lock, which no claim holds meanwhile.
func (s *Store) Pause(ctx context.Context, scope store.PauseScope, pausedBy string, audit *store.Audit) (store.Pause, error) {
	var p store.Pause
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, qc.Get("InsertPause"), append(scopeArgs(scope),
			sql.Named("id", newID().String()), sql.Named("paused_by", pausedBy))...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if p, err = scanPause(tx.QueryRowContext(ctx, qc.Get("GetPause"), scopeArgs(scope)...)); err != nil {
			return err
		}
		return recordAudit(ctx, tx, audit, int(n))
	})
	if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
		return store.Pause{}, store.UnknownApp()
	}
	return p, err
}

// Resume deletes the pause of exactly this scope.
func (s *Store) Resume(ctx context.Context, scope store.PauseScope, audit *store.Audit) (store.Pause, error) {
	var p store.Pause
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		if p, err = scanPause(tx.QueryRowContext(ctx, qc.Get("DeletePause"), scopeArgs(scope)...)); errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		} else if err != nil {
			return err
		}
		return recordAudit(ctx, tx, audit, 1)
	})
	if err == nil {
		s.publish(store.NoticeJobs)
	}
	return p, err
}

// ListPauses returns every pause, oldest first.
func (s *Store) ListPauses(ctx context.Context) ([]store.Pause, error) {
	var out []store.Pause
	err := s.read(ctx, func(db querier) error {
		out = nil
		rows, err := db.QueryContext(ctx, qc.Get("ListPauses"))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			p, err := scanPause(rows)
			if err != nil {
				return err
			}
			out = append(out, p)
		}
		return rows.Err()
	})
	return out, err
}

func scanPause(row scanner) (store.Pause, error) {
	var p store.Pause
	var at int64
	if err := row.Scan(&p.ID, &p.AppID, &p.Queue, &p.Type, &at, &p.PausedBy); err != nil {
		return store.Pause{}, err
	}
	p.PausedAt = fromMicros(at)
	return p, nil
}

// SetAppDisabled disables or enables the app under the write lock.
func (s *Store) SetAppDisabled(ctx context.Context, id uuid.UUID, disabled bool, audit *store.Audit) (store.App, error) {
	var app store.App
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		app, err = scanApp(tx.QueryRowContext(ctx, qc.Get("SetAppDisabled"), sql.Named("id", id.String()), sql.Named("disabled", disabled)))
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		} else if err != nil {
			return err
		}
		return recordAudit(ctx, tx, audit, 1)
	})
	if err == nil && !disabled {
		s.publish(store.NoticeJobs)
	}
	return app, err
}
