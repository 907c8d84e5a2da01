package pgstore

import (
	"context"
	_ "embed"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sluicehq/sluice/internal/sqlfile"
	"github.com/sluicehq/sluice/store"
)

//go:embed control.sql
var controlSQL string

// qc are the queries of live-work control, in control.sql.
var qc = sqlfile.MustParse(controlSQL)

// CancelJob cancels a pending job at once, or marks a running one and notifies the workers.
func (s *Store) CancelJob(ctx context.Context, id uuid.UUID, reason string, audit *store.Audit) (store.Job, error) {
	var job store.Job
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		job, err = changeJob(ctx, tx, qc.Get("CancelPendingJob"), id, reason)
		if errors.Is(err, errUnchanged) {
			job, err = changeJob(ctx, tx, qc.Get("RequestCancel"), id)
			if err == nil {
				_, err = tx.Exec(ctx, qc.Get("NotifyCancel"), s.channel)
			}
		}
		if err != nil {
			return err
		}
		return recordAudit(ctx, tx, audit.ForApp(job.AppID), 1)
	})
	return job, s.unchanged(ctx, id, err)
}

// RetryJob makes a pending job due now.
func (s *Store) RetryJob(ctx context.Context, id uuid.UUID, audit *store.Audit) (store.Job, error) {
	job, err := s.changeJobAudited(ctx, "RetryJobNow", id, audit)
	if err == nil {
		s.notifier.kick()
	}
	return job, err
}

// DeleteJob deletes a job that is not running.
func (s *Store) DeleteJob(ctx context.Context, id uuid.UUID, audit *store.Audit) (store.Job, error) {
	return s.changeJobAudited(ctx, "DeleteJob", id, audit)
}

// changeJobAudited runs one job change and its audit row in a transaction.
func (s *Store) changeJobAudited(ctx context.Context, query string, id uuid.UUID, audit *store.Audit) (store.Job, error) {
	var job store.Job
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if job, err = changeJob(ctx, tx, qc.Get(query), id); err != nil {
			return err
		}
		return recordAudit(ctx, tx, audit.ForApp(job.AppID), 1)
	})
	return job, s.unchanged(ctx, id, err)
}

// errUnchanged: a job change matched no row.
var errUnchanged = errors.New("pgstore: the job was not in a state the change applies to")

// changeJob runs a job change returning the job, or errUnchanged when it matched nothing.
func changeJob(ctx context.Context, tx pgx.Tx, query string, args ...any) (store.Job, error) {
	rows, _ := tx.Query(ctx, query, args...)
	job, err := pgx.CollectExactlyOneRow(rows, scanJob)
	if errors.Is(err, pgx.ErrNoRows) {
		return job, errUnchanged
	}
	return job, err
}

// unchanged explains errUnchanged by the job's state now: store.ErrNotFound when there is no
// such job, else store.JobEnded, or a conflict naming its state.
func (s *Store) unchanged(ctx context.Context, id uuid.UUID, err error) error {
	if !errors.Is(err, errUnchanged) {
		return err
	}
	var status string
	if err := s.pool.QueryRow(ctx, qc.Get("JobStatus"), id).Scan(&status); errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	} else if err != nil {
		return err
	}
	return store.JobInState(store.JobStatus(status))
}

// Pause records the pause under the pauses lock, which waits out the claims under way.
func (s *Store) Pause(ctx context.Context, scope store.PauseScope, pausedBy string, audit *store.Audit) (store.Pause, error) {
	var p store.Pause
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, qc.Get("LockPauses")); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, qc.Get("InsertPause"), newID(), scope.AppID, scope.Queue, scope.Type, pausedBy)
		if err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, qc.Get("GetPause"), scope.AppID, scope.Queue, scope.Type)
		if p, err = pgx.CollectExactlyOneRow(rows, scanPause); err != nil {
			return err
		}
		return recordAudit(ctx, tx, audit, int(tag.RowsAffected()))
	})
	if code, _ := pgErrorCode(err); code == codeForeignKeyViolation {
		return store.Pause{}, store.UnknownApp()
	}
	return p, err
}

// Resume deletes the pause of exactly this scope.
func (s *Store) Resume(ctx context.Context, scope store.PauseScope, audit *store.Audit) (store.Pause, error) {
	var p store.Pause
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, qc.Get("LockPauses")); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, qc.Get("DeletePause"), scope.AppID, scope.Queue, scope.Type)
		var err error
		if p, err = pgx.CollectExactlyOneRow(rows, scanPause); errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		} else if err != nil {
			return err
		}
		return recordAudit(ctx, tx, audit, 1)
	})
	if err == nil {
		s.notifier.kick() // the scope's due jobs can be claimed again
	}
	return p, err
}

// ListPauses returns every pause, oldest first.
func (s *Store) ListPauses(ctx context.Context) ([]store.Pause, error) {
	rows, err := s.pool.Query(ctx, qc.Get("ListPauses"))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanPause)
}

func scanPause(row pgx.CollectableRow) (store.Pause, error) {
	var p store.Pause
	err := row.Scan(&p.ID, &p.AppID, &p.Queue, &p.Type, &p.PausedAt, &p.PausedBy)
	p.PausedAt = p.PausedAt.UTC()
	return p, err
}

// SetAppDisabled disables or enables the app under the pauses lock, as Pause does.
func (s *Store) SetAppDisabled(ctx context.Context, id uuid.UUID, disabled bool, audit *store.Audit) (store.App, error) {
	var app store.App
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, qc.Get("LockPauses")); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, qc.Get("SetAppDisabled"), id, disabled)
		var err error
		if app, err = pgx.CollectExactlyOneRow(rows, scanApp); errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		} else if err != nil {
			return err
		}
		return recordAudit(ctx, tx, audit, 1)
	})
	if err == nil && !disabled {
		s.notifier.kick()
	}
	return app, err
}
