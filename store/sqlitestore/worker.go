package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/store"
)

// ClaimJobs takes up to params.Limit due pending jobs under the write lock, shared fairly
// between the apps that have some (store.ClaimFairly), each app's in priority order.
func (s *Store) ClaimJobs(ctx context.Context, p store.ClaimParams) ([]store.Job, error) {
	var jobs []store.Job
	err := s.write(ctx, func(tx *sql.Tx) error {
		types := sql.Named("types", jsonParam(p.Types))
		if p.Types == nil {
			types = sql.Named("types", jsonParam([]string{}))
		}
		queue := sql.Named("queue", p.Queue)
		rows, err := tx.QueryContext(ctx, q.Get("ReadyApps"), queue)
		if err != nil {
			return err
		}
		var apps []uuid.UUID
		limited := map[uuid.UUID]bool{}
		for rows.Next() {
			var app uuid.UUID
			var isLimited bool
			if err := rows.Scan(&app, &isLimited); err != nil {
				rows.Close()
				return err
			}
			apps = append(apps, app)
			limited[app] = isLimited
		}
		if err := rows.Close(); err != nil {
			return err
		}
		jobs, err = store.ClaimFairly(apps, p.Round, p.Limit, func(shares []store.AppShare) ([]store.Job, error) {
			var claimed []store.Job
			for _, sh := range shares {
				n := sh.N
				var spend func(taken int) error
				if limited[sh.App] {
					var err error
					if n, spend, err = allowance(ctx, tx, sh.App, n); err != nil {
						return nil, err
					}
				}
				rows, err := tx.QueryContext(ctx, q.Get("ClaimJobs"), queue, types,
					sql.Named("app", sh.App.String()), sql.Named("limit", n),
					sql.Named("lease_token", p.LeaseToken.String()), sql.Named("lease_ms", millis(p.LeaseDuration)))
				if err != nil {
					return nil, err
				}
				one, err := collectJobs(rows)
				if err != nil {
					return nil, err
				}
				if spend != nil {
					if err := spend(len(one)); err != nil {
						return nil, err
					}
				}
				claimed = append(claimed, one...)
			}
			return claimed, nil
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return jobs, nil
}

// allowance cuts an app's share of a claim to what its limits allow (its running jobs under
// max_running, the whole tokens of its rate bucket refilled to now) and returns a spend that
// takes the tokens of the jobs claimed. The caller holds the write lock, so no other claim
// counts or spends at the same time.
func allowance(ctx context.Context, tx *sql.Tx, app uuid.UUID, share int) (int, func(taken int) error, error) {
	var room int
	var tokens sql.NullFloat64
	var now int64
	err := tx.QueryRowContext(ctx, q.Get("AppAllowance"), sql.Named("app", app.String())).Scan(&room, &tokens, &now)
	if err != nil {
		return 0, nil, err
	}
	n := share
	if room >= 0 {
		n = min(n, room)
	}
	if !tokens.Valid {
		return max(n, 0), nil, nil
	}
	n = max(min(n, int(math.Floor(tokens.Float64))), 0)
	return n, func(taken int) error {
		_, err := tx.ExecContext(ctx, q.Get("SpendTokens"), sql.Named("app", app.String()),
			sql.Named("tokens", tokens.Float64-float64(taken)), sql.Named("now", now))
		return err
	}, nil
}

// ExtendLeases renews the leases still held and returns their job ids, and those of them an
// operator asked to cancel.
func (s *Store) ExtendLeases(ctx context.Context, leases []store.Lease, d time.Duration) (store.LeaseRenewal, error) {
	pairs := make([][2]uuid.UUID, len(leases))
	for i, l := range leases {
		pairs[i] = [2]uuid.UUID{l.JobID, l.Token}
	}
	var r store.LeaseRenewal
	err := s.write(ctx, func(tx *sql.Tx) error {
		r = store.LeaseRenewal{}
		rows, err := tx.QueryContext(ctx, q.Get("ExtendLeases"),
			sql.Named("leases", jsonParam(pairs)), sql.Named("lease_ms", millis(d)))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id uuid.UUID
			var cancel bool
			if err := rows.Scan(&id, &cancel); err != nil {
				return err
			}
			r.Held = append(r.Held, id)
			if cancel {
				r.CancelRequested = append(r.CancelRequested, id)
			}
		}
		return rows.Err()
	})
	return r, err
}

// FinishJobs applies finished attempts, one statement per outcome present, in one
// transaction. If the batch fails (say a dead-letter insert is refused), each finish is
// retried alone so one bad row cannot hold back the others; a finish that still fails keeps
// its job running until its lease expires and it is rescued.
func (s *Store) FinishJobs(ctx context.Context, finishes []store.Finish) ([]bool, error) {
	return store.FinishBatchOrEach(ctx, finishes, s.finishBatch)
}

// finishBatch runs one statement per outcome present, in the order pgstore sends them, in
// one transaction.
func (s *Store) finishBatch(ctx context.Context, finishes []store.Finish) ([]bool, error) {
	var complete, retry, release, cancel, dead finishGroup
	for i, f := range finishes {
		switch f.Outcome {
		case store.OutcomeComplete:
			complete.add(i, f)
		case store.OutcomeRetry:
			retry.add(i, f)
		case store.OutcomeSnooze, store.OutcomeRelease:
			release.add(i, f)
		case store.OutcomeCancel:
			cancel.add(i, f)
		case store.OutcomeDeadLetter:
			dead.add(i, f)
		default:
			return nil, fmt.Errorf("sqlitestore: unknown outcome %d", f.Outcome)
		}
	}
	applied := make([]bool, len(finishes))
	err := s.write(ctx, func(tx *sql.Tx) error {
		clear(applied)
		for _, step := range []struct {
			g     *finishGroup
			query string
		}{
			{&complete, "CompleteJobs"},
			{&retry, "RetryJobs"},
			{&release, "ReleaseJobs"},
			{&cancel, "CancelJobs"},
		} {
			if len(step.g.index) == 0 {
				continue
			}
			done, err := step.g.run(ctx, tx, step.query)
			if err != nil {
				return err
			}
			step.g.markApplied(applied, done)
		}
		if len(dead.index) > 0 {
			done, err := deadLetter(ctx, tx, &dead)
			if err != nil {
				return err
			}
			dead.markApplied(applied, done)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return applied, nil
}

// deadLetter moves the group's jobs whose lease is held to job_dlq, within tx: the copy and
// the delete of the same rows, both or neither. Those an operator asked to cancel, which
// DeadLetterJobs leaves out, end cancelled instead.
func deadLetter(ctx context.Context, tx *sql.Tx, g *finishGroup) ([]uuid.UUID, error) {
	moved, err := g.run(ctx, tx, "DeadLetterJobs")
	if err != nil {
		return nil, err
	}
	if len(moved) > 0 {
		res, err := tx.ExecContext(ctx, q.Get("DeleteDeadLettered"), sql.Named("ids", jsonParam(moved)))
		if err != nil {
			return nil, err
		}
		if n, err := res.RowsAffected(); err != nil || n != int64(len(moved)) {
			return nil, fmt.Errorf("sqlitestore: dead-lettering copied %d jobs but deleted %d (%v)", len(moved), n, err)
		}
	}
	if len(moved) == len(g.rows) {
		return moved, nil
	}
	cancelled, err := g.run(ctx, tx, "CancelJobs") // the moved jobs are gone: it matches only the rest
	if err != nil {
		return nil, err
	}
	return append(moved, cancelled...), nil
}

// finishGroup is one outcome's finishes, passed to its query as one JSON array of
// [job_id, token, error, delay_ms, dead_id, signature] rows (signature only when the finish
// dead-letters its job).
type finishGroup struct {
	index []int // positions in the caller's slice
	ids   []uuid.UUID
	rows  [][]any
}

func (g *finishGroup) add(i int, f store.Finish) {
	if f.Outcome == store.OutcomeDeadLetter && slices.Contains(g.ids, f.Lease.JobID) {
		// The same job twice in one batch is dead-lettered once (and both report the outcome).
		g.index = append(g.index, i)
		g.ids = append(g.ids, f.Lease.JobID)
		return
	}
	g.index = append(g.index, i)
	g.ids = append(g.ids, f.Lease.JobID)
	row := []any{f.Lease.JobID, f.Lease.Token, f.Error, millis(f.Delay), newID(), nil}
	if f.Outcome == store.OutcomeDeadLetter {
		row[5] = store.ErrorSignature(f.Error)
	}
	g.rows = append(g.rows, row)
}

// run executes query with the group's rows and returns the ids it changed.
func (g *finishGroup) run(ctx context.Context, tx *sql.Tx, query string) ([]uuid.UUID, error) {
	rows, err := tx.QueryContext(ctx, q.Get(query), sql.Named("finishes", jsonParam(g.rows)))
	if err != nil {
		return nil, err
	}
	return scanIDs(rows)
}

func (g *finishGroup) markApplied(applied []bool, done []uuid.UUID) {
	doneSet := make(map[uuid.UUID]bool, len(done))
	for _, id := range done {
		doneSet[id] = true
	}
	for k, i := range g.index {
		applied[i] = doneSet[g.ids[k]]
	}
}

// RescueExpired turns running jobs whose lease expired into failed attempts: retried when
// attempts remain, dead-lettered when not. It rescues them all in one transaction; if that
// fails (say one job's dead-letter insert is refused), it rescues each again alone, so that one
// job that cannot be moved holds back none of the others. The result counts what was rescued;
// the error names each job that could not be, which stays running and is tried again next time.
func (s *Store) RescueExpired(ctx context.Context, limit int) (store.RescueResult, error) {
	res, expired, err := s.rescue(ctx, func(tx *sql.Tx) (*sql.Rows, error) {
		return tx.QueryContext(ctx, q.Get("ListExpiredLeases"), sql.Named("limit", limit))
	})
	if err == nil || len(expired) <= 1 {
		return res, err
	}
	res = store.RescueResult{}
	var errs []error
	for _, l := range expired {
		one, _, err := s.rescue(ctx, func(tx *sql.Tx) (*sql.Rows, error) {
			return tx.QueryContext(ctx, q.Get("ListExpiredLease"),
				sql.Named("id", l.JobID.String()), sql.Named("lease_token", l.Token.String()))
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("job %s: %w", l.JobID, err))
		}
		res.Add(one)
	}
	return res, errors.Join(errs...)
}

// rescue rescues, in one transaction, the expired leases that list reads, and returns what it
// did and the leases it read (also when it failed after reading them).
func (s *Store) rescue(ctx context.Context, list func(*sql.Tx) (*sql.Rows, error)) (store.RescueResult, []store.Lease, error) {
	var res store.RescueResult
	var expired []store.Lease
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, expired = store.RescueResult{}, nil
		rows, err := list(tx)
		if err != nil {
			return err
		}
		var retry, dead, cancel finishGroup
		for rows.Next() {
			var id, token uuid.UUID
			var attempts int
			var exhausted, cancelRequested bool
			if err := rows.Scan(&id, &token, &attempts, &exhausted, &cancelRequested); err != nil {
				rows.Close()
				return err
			}
			f := store.Finish{Lease: store.Lease{JobID: id, Token: token}, Error: store.RescueError(attempts)}
			expired = append(expired, f.Lease)
			switch {
			case cancelRequested:
				f.Outcome = store.OutcomeCancel
				cancel.add(len(cancel.index), f)
			case exhausted:
				f.Outcome = store.OutcomeDeadLetter
				dead.add(len(dead.index), f)
			default:
				f.Outcome = store.OutcomeRetry
				retry.add(len(retry.index), f)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(retry.index) > 0 {
			done, err := retry.run(ctx, tx, "RetryJobs")
			if err != nil {
				return err
			}
			res.Retried = len(done)
		}
		if len(dead.index) > 0 {
			done, err := deadLetter(ctx, tx, &dead)
			if err != nil {
				return err
			}
			res.DeadLettered = len(done)
		}
		if len(cancel.index) > 0 {
			done, err := cancel.run(ctx, tx, "CancelJobs")
			if err != nil {
				return err
			}
			res.Cancelled = len(done)
		}
		return nil
	})
	if err != nil {
		return store.RescueResult{}, expired, err
	}
	return res, expired, nil
}
