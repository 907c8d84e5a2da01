package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sluicehq/sluice/store"
)

// ClaimJobs takes up to params.Limit due pending jobs with FOR UPDATE SKIP LOCKED, shared
// fairly between the apps that have some (store.ClaimFairly): one query finds the apps, then
// each round claims every app's share in one batch, one transaction. Apps with limits are
// locked first in that transaction, and their shares cut to what the limits allow.
func (s *Store) ClaimJobs(ctx context.Context, p store.ClaimParams) ([]store.Job, error) {
	rows, err := s.pool.Query(ctx, q.Get("ReadyApps"), p.Queue)
	if err != nil {
		return nil, err
	}
	var apps []uuid.UUID
	limited := map[uuid.UUID]bool{}
	var app uuid.UUID
	var isLimited bool
	if _, err := pgx.ForEachRow(rows, []any{&app, &isLimited}, func() error {
		apps = append(apps, app)
		limited[app] = isLimited
		return nil
	}); err != nil {
		return nil, err
	}
	return store.ClaimFairly(apps, p.Round, p.Limit, func(shares []store.AppShare) ([]store.Job, error) {
		batch := &pgx.Batch{}
		var lock []uuid.UUID
		for _, sh := range shares {
			if limited[sh.App] {
				lock = append(lock, sh.App)
			}
		}
		if len(lock) > 0 {
			batch.Queue(q.Get("LockApps"), lock)
		}
		for _, sh := range shares {
			query := q.Get("ClaimJobs")
			if limited[sh.App] {
				query = q.Get("ClaimJobsLimited")
			}
			batch.Queue(query, p.Queue, p.Types, sh.N, p.LeaseToken, millis(p.LeaseDuration), sh.App)
		}
		br := s.pool.SendBatch(ctx, batch)
		if len(lock) > 0 {
			if _, err := br.Exec(); err != nil {
				br.Close()
				return nil, err
			}
		}
		var jobs []store.Job
		for range shares {
			rows, _ := br.Query()
			claimed, err := pgx.CollectRows(rows, scanJob)
			if err != nil {
				br.Close()
				return nil, err
			}
			jobs = append(jobs, claimed...)
		}
		return jobs, br.Close()
	})
}

// ExtendLeases renews the leases still held and returns their job ids, and those of them an
// operator asked to cancel.
func (s *Store) ExtendLeases(ctx context.Context, leases []store.Lease, d time.Duration) (store.LeaseRenewal, error) {
	ids, tokens := splitLeases(leases)
	rows, err := s.pool.Query(ctx, q.Get("ExtendLeases"), ids, tokens, millis(d))
	if err != nil {
		return store.LeaseRenewal{}, err
	}
	var r store.LeaseRenewal
	var id uuid.UUID
	var cancel bool
	_, err = pgx.ForEachRow(rows, []any{&id, &cancel}, func() error {
		r.Held = append(r.Held, id)
		if cancel {
			r.CancelRequested = append(r.CancelRequested, id)
		}
		return nil
	})
	return r, err
}

// FinishJobs applies finished attempts, grouped by outcome into one round trip. If the batch
// fails (say a dead-letter insert is refused), each finish is retried alone so one bad row
// cannot hold back the others; a finish that still fails keeps its job running until its lease
// expires and it is rescued.
func (s *Store) FinishJobs(ctx context.Context, finishes []store.Finish) ([]bool, error) {
	return store.FinishBatchOrEach(ctx, finishes, s.finishBatch)
}

// finishBatch sends one statement per outcome present, in one implicit transaction.
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
			dead.addDead(i, f)
		default:
			return nil, fmt.Errorf("pgstore: unknown outcome %d", f.Outcome)
		}
	}
	batch := &pgx.Batch{}
	var groups []*finishGroup
	queue := func(g *finishGroup, sql string, args ...any) {
		if len(g.index) > 0 {
			batch.Queue(sql, args...)
			groups = append(groups, g)
		}
	}
	queue(&complete, q.Get("CompleteJobs"), complete.ids, complete.tokens)
	queue(&retry, q.Get("RetryJobs"), retry.ids, retry.tokens, retry.errors, retry.delays)
	queue(&release, q.Get("ReleaseJobs"), release.ids, release.tokens, release.delays)
	queue(&cancel, q.Get("CancelJobs"), cancel.ids, cancel.tokens, cancel.errors)
	queue(&dead, q.Get("DeadLetterJobs"), dead.ids, dead.tokens, dead.errors, dead.deadIDs, dead.signatures)

	applied := make([]bool, len(finishes))
	br := s.pool.SendBatch(ctx, batch)
	for _, g := range groups {
		rows, _ := br.Query()
		done, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			br.Close()
			return nil, err
		}
		g.markApplied(applied, done)
	}
	return applied, br.Close()
}

// finishGroup is one outcome's finishes as the parallel arrays its query takes.
type finishGroup struct {
	index  []int // positions in the caller's slice
	ids    []uuid.UUID
	tokens []uuid.UUID
	errors []string
	delays []int64
	// deadIDs and signatures are a dead-letter group's entry ids and error signatures.
	deadIDs    []uuid.UUID
	signatures []string
}

func (g *finishGroup) add(i int, f store.Finish) {
	g.index = append(g.index, i)
	g.ids = append(g.ids, f.Lease.JobID)
	g.tokens = append(g.tokens, f.Lease.Token)
	g.errors = append(g.errors, f.Error)
	g.delays = append(g.delays, millis(f.Delay))
}

// addDead adds a finish that dead-letters its job, with a fresh entry id and the signature
// of its error.
func (g *finishGroup) addDead(i int, f store.Finish) {
	g.add(i, f)
	g.deadIDs = append(g.deadIDs, newID())
	g.signatures = append(g.signatures, store.ErrorSignature(f.Error))
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
	res, expired, err := s.rescue(ctx, func(tx pgx.Tx) (pgx.Rows, error) {
		return tx.Query(ctx, q.Get("LockExpiredLeases"), limit)
	})
	if err != nil && len(expired) > 1 {
		res = store.RescueResult{}
		var errs []error
		for _, l := range expired {
			one, _, err := s.rescue(ctx, func(tx pgx.Tx) (pgx.Rows, error) {
				return tx.Query(ctx, q.Get("LockExpiredLease"), l.JobID, l.Token)
			})
			if err != nil {
				errs = append(errs, fmt.Errorf("job %s: %w", l.JobID, err))
			}
			res.Add(one)
		}
		err = errors.Join(errs...)
	}
	if res.Retried > 0 {
		s.notifier.kick()
	}
	return res, err
}

// rescue rescues, in one transaction, the expired leases that lock locks, and returns what it
// did and the leases it locked (also when it failed after locking them).
func (s *Store) rescue(ctx context.Context, lock func(pgx.Tx) (pgx.Rows, error)) (store.RescueResult, []store.Lease, error) {
	var res store.RescueResult
	var expired []store.Lease
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := lock(tx)
		if err != nil {
			return err
		}
		var retry, dead, cancel finishGroup
		var id, token uuid.UUID
		var attempts int
		var exhausted, cancelRequested bool
		_, err = pgx.ForEachRow(rows, []any{&id, &token, &attempts, &exhausted, &cancelRequested}, func() error {
			f := store.Finish{Lease: store.Lease{JobID: id, Token: token}, Error: store.RescueError(attempts)}
			expired = append(expired, f.Lease)
			switch {
			case cancelRequested:
				cancel.add(len(cancel.index), f)
			case exhausted:
				dead.addDead(len(dead.index), f)
			default:
				retry.add(len(retry.index), f)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(retry.index) > 0 {
			tag, err := tx.Exec(ctx, q.Get("RetryJobs"), retry.ids, retry.tokens, retry.errors, retry.delays)
			if err != nil {
				return err
			}
			res.Retried = int(tag.RowsAffected())
		}
		if len(dead.index) > 0 {
			tag, err := tx.Exec(ctx, q.Get("DeadLetterJobs"), dead.ids, dead.tokens, dead.errors, dead.deadIDs, dead.signatures)
			if err != nil {
				return err
			}
			res.DeadLettered = int(tag.RowsAffected())
		}
		if len(cancel.index) > 0 {
			tag, err := tx.Exec(ctx, q.Get("CancelJobs"), cancel.ids, cancel.tokens, cancel.errors)
			if err != nil {
				return err
			}
			res.Cancelled = int(tag.RowsAffected())
		}
		return nil
	})
	if err != nil {
		return store.RescueResult{}, expired, err
	}
	return res, expired, nil
}

// ListenForJobs LISTENs on the store's channel on a dedicated connection and calls wake for
// each notification — NoticeCancel for CancelJob's, NoticeJobs for the others — until ctx
// ends (nil) or the connection fails (its error). The connection
// is like the pool's, or to the URL's listen_url; with pgbouncer=true and no listen_url it
// only waits for ctx to end.
func (s *Store) ListenForJobs(ctx context.Context, wake func(store.Notice)) error {
	if s.listen == nil {
		// Through a transaction pooler a LISTEN lands on a server connection that serves
		// other clients next: workers poll instead.
		<-ctx.Done()
		return nil
	}
	conn, err := pgx.ConnectConfig(ctx, s.listen.Copy()) // LISTEN needs no uuid codec
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	// Jobs may have been made ready, or cancels asked for, before LISTEN took effect.
	wake(store.NoticeJobs)
	wake(store.NoticeCancel)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if n.Payload == "cancel" {
			wake(store.NoticeCancel)
		} else {
			wake(store.NoticeJobs)
		}
	}
}

func splitLeases(leases []store.Lease) (ids, tokens []uuid.UUID) {
	ids = make([]uuid.UUID, len(leases))
	tokens = make([]uuid.UUID, len(leases))
	for i, l := range leases {
		ids[i], tokens[i] = l.JobID, l.Token
	}
	return ids, tokens
}

// newID returns a UUIDv7, the id of every row Sluice creates.
func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }
