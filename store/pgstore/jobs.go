package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sluicehq/sluice/internal/clock"
	"github.com/sluicehq/sluice/store"
)

// InsertJobs inserts jobs inside tx when it is a pgx.Tx. Without unique keys that is one
// round trip, one implicit transaction. With unique keys it runs in a transaction of its own,
// so the look-up of duplicates (and a second pass for a key freed meanwhile) stays all or
// nothing. Workers are woken by the store's notifier once it has committed.
func (s *Store) InsertJobs(ctx context.Context, tx store.ExternalTx, jobs []store.InsertJob) ([]store.InsertResult, error) {
	if len(jobs) == 0 {
		return nil, nil
	}
	if tx != nil {
		ptx, ok := tx.(pgx.Tx)
		if !ok {
			return nil, fmt.Errorf("%w: PostgreSQL needs a pgx.Tx, got %T", store.ErrTxType, tx)
		}
		// The caller's transaction decides when the jobs become ready: it carries the
		// notification, which PostgreSQL delivers at its commit.
		return s.insertJobs(ctx, ptx, jobs, true)
	}
	var out []store.InsertResult
	var err error
	if !slices.ContainsFunc(jobs, func(j store.InsertJob) bool { return j.UniqueKey != "" }) {
		out, err = s.insertJobs(ctx, s.pool, jobs, false)
	} else {
		err = s.inTx(ctx, func(tx pgx.Tx) error {
			out, err = s.insertJobs(ctx, tx, jobs, false)
			return err
		})
	}
	if err == nil && dueNow(jobs) {
		s.notifier.kick()
	}
	return out, err
}

// dueNow reports whether any of the jobs is due at once: a hint for waking workers, so the
// local clock is good enough; polling finds the rest.
func dueNow(jobs []store.InsertJob) bool {
	now := clock.Now()
	return slices.ContainsFunc(jobs, func(j store.InsertJob) bool { return j.RunAt == nil || !j.RunAt.After(now) })
}

// insertJobs inserts within db, a transaction unless no job has a unique key: a unique-key
// duplicate whose holder finishes between the insert and the look-up is inserted on a second
// pass.
func (s *Store) insertJobs(ctx context.Context, db querier, jobs []store.InsertJob, notifyInTx bool) ([]store.InsertResult, error) {
	results := make([]store.InsertResult, len(jobs))
	pending := make([]int, len(jobs)) // indexes of jobs not yet resolved
	for i := range jobs {
		pending[i] = i
	}
	for pass := 0; len(pending) > 0; pass++ {
		if pass == 3 {
			return nil, fmt.Errorf("pgstore: unique keys kept changing hands while inserting; try again")
		}
		inserted, err := s.insertBatch(ctx, db, jobs, pending, notifyInTx)
		if err != nil {
			return nil, err
		}
		var skipped []int
		for _, i := range pending {
			if job, ok := inserted[jobs[i].ID]; ok {
				results[i] = store.InsertResult{Job: job}
			} else {
				skipped = append(skipped, i)
			}
		}
		if len(skipped) == 0 {
			break
		}
		if len(inserted) == 0 {
			if err := disabledApps(ctx, db, jobs, skipped); err != nil {
				return nil, err
			}
		}
		live, err := s.liveByUniqueKey(ctx, db, jobs, skipped)
		if err != nil {
			return nil, err
		}
		pending = pending[:0]
		for _, i := range skipped {
			key := uniqueKeyOf(jobs[i].AppID, jobs[i].UniqueKey)
			if job, ok := live[key]; ok {
				results[i] = store.InsertResult{Job: job, Duplicate: true}
			} else {
				pending = append(pending, i)
			}
		}
	}
	return results, nil
}

// disabledApps returns store.AppDisabled naming the first disabled app of the jobs at idx, if
// one is: the insert then inserted nothing.
func disabledApps(ctx context.Context, db querier, jobs []store.InsertJob, idx []int) error {
	apps := make([]uuid.UUID, len(idx))
	for k, i := range idx {
		apps[k] = jobs[i].AppID
	}
	rows, _ := db.Query(ctx, q.Get("DisabledApps"), apps)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	if len(names) > 0 {
		return store.AppDisabled(names[0])
	}
	return nil
}

func (s *Store) insertBatch(ctx context.Context, db querier, jobs []store.InsertJob, idx []int, notify bool) (map[uuid.UUID]store.Job, error) {
	n := len(idx)
	ids := make([]uuid.UUID, n)
	appIDs := make([]uuid.UUID, n)
	types := make([]string, n)
	queues := make([]string, n)
	priorities := make([]int16, n)
	payloads := make([]string, n)
	maxAttempts := make([]int32, n)
	runAts := make([]*time.Time, n)
	uniqueKeys := make([]string, n)
	replayedFrom := make([]*uuid.UUID, n)
	tags := make([]*string, n)
	traceparents := make([]*string, n)
	tracestates := make([]*string, n)
	for k, i := range idx {
		j := &jobs[i]
		ids[k], appIDs[k], types[k], queues[k] = j.ID, j.AppID, j.Type, j.Queue
		priorities[k], payloads[k], maxAttempts[k] = int16(j.Priority), string(j.Payload), int32(j.MaxAttempts)
		runAts[k], uniqueKeys[k], replayedFrom[k] = j.RunAt, j.UniqueKey, j.ReplayedFrom
		if len(j.Tags) > 0 {
			lit := tagsJSON(j.Tags)
			tags[k] = &lit
		}
		if j.Trace != nil {
			traceparents[k], tracestates[k] = &j.Trace.TraceParent, &j.Trace.TraceState
		}
	}
	batch := &pgx.Batch{}
	batch.Queue(q.Get("InsertJobs"), ids, appIDs, types, queues, priorities, payloads, maxAttempts, runAts, uniqueKeys,
		replayedFrom, tags, traceparents, tracestates)
	if notify {
		batch.Queue(q.Get("NotifyJobs"), s.channel)
	}
	br := db.SendBatch(ctx, batch)
	rows, _ := br.Query()
	byID := make(map[uuid.UUID]store.Job, n)
	var id uuid.UUID
	var runAt, createdAt time.Time
	_, err := pgx.ForEachRow(rows, []any{&id, &runAt, &createdAt}, func() error {
		byID[id] = store.Job{ID: id, Status: store.StatusPending, RunAt: runAt.UTC(), CreatedAt: createdAt.UTC(), ErrorHistory: []store.ErrorRecord{}}
		return nil
	})
	if err != nil {
		br.Close()
		if code, constraint := pgErrorCode(err); code == codeForeignKeyViolation && constraint == "jobs_app_id_fkey" {
			return nil, store.UnknownApp()
		}
		return nil, err
	}
	if err := br.Close(); err != nil {
		return nil, err
	}
	for k, i := range idx {
		j := &jobs[i]
		job, ok := byID[ids[k]]
		if !ok {
			continue
		}
		job.AppID, job.Type, job.Queue, job.Priority, job.Payload = j.AppID, j.Type, j.Queue, j.Priority, j.Payload
		job.MaxAttempts, job.UniqueKey, job.ReplayedFrom = j.MaxAttempts, j.UniqueKey, j.ReplayedFrom
		job.Tags, job.Trace = j.Tags, j.Trace
		byID[job.ID] = job
	}
	return byID, nil
}

func (s *Store) liveByUniqueKey(ctx context.Context, db querier, jobs []store.InsertJob, idx []int) (map[string]store.Job, error) {
	appIDs := make([]uuid.UUID, len(idx))
	keys := make([]string, len(idx))
	for k, i := range idx {
		appIDs[k], keys[k] = jobs[i].AppID, jobs[i].UniqueKey
	}
	rows, err := db.Query(ctx, q.Get("GetLiveJobsByUniqueKey"), appIDs, keys)
	if err != nil {
		return nil, err
	}
	live, err := pgx.CollectRows(rows, scanJob)
	if err != nil {
		return nil, err
	}
	out := make(map[string]store.Job, len(live))
	for _, j := range live {
		out[uniqueKeyOf(j.AppID, j.UniqueKey)] = j
	}
	return out, nil
}

func uniqueKeyOf(app uuid.UUID, key string) string { return app.String() + "\x00" + key }

// GetJob returns the job with this id, or store.ErrNotFound.
func (s *Store) GetJob(ctx context.Context, id uuid.UUID) (store.Job, error) {
	rows, _ := s.pool.Query(ctx, q.Get("GetJob"), id)
	job, err := pgx.CollectExactlyOneRow(rows, scanJob)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Job{}, store.ErrNotFound
	}
	return job, err
}

// ListJobs returns jobs matching the filter, newest first, below the page's cursor.
func (s *Store) ListJobs(ctx context.Context, f store.JobFilter, page store.Page) ([]store.Job, error) {
	rows, err := s.pool.Query(ctx, q.Get("ListJobs"), pgx.QueryExecModeExec,
		f.AppID, f.Type, string(f.Status), page.Before, page.Limit, f.Tag)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanJob)
}

// scanJob reads the job columns in the order every job query returns them.
func scanJob(row pgx.CollectableRow) (store.Job, error) {
	var j store.Job
	var lastError, uniqueKey, traceparent, tracestate *string
	var status string
	var history []byte
	// The payload is read as bytes: a json.RawMessage target would make pgx run it through
	// json.Unmarshal, validating again what the database already holds as valid JSON.
	err := row.Scan(&j.ID, &j.AppID, &j.Type, &j.Queue, &j.Priority, (*[]byte)(&j.Payload), &status,
		&j.Attempts, &j.MaxAttempts, &lastError, &history, &j.RunAt, &j.StartedAt,
		&j.CompletedAt, &j.CreatedAt, &uniqueKey, &j.ReplayedFrom, &j.LeaseToken, &j.LeaseExpiresAt,
		&j.Tags, &traceparent, &tracestate, &j.CancelRequestedAt)
	if err != nil {
		return j, err
	}
	if len(j.Tags) == 0 {
		j.Tags = nil
	}
	j.Trace = store.NewTraceContext(traceparent, tracestate)
	if j.ErrorHistory, err = store.DecodeHistory(history); err != nil {
		return j, fmt.Errorf("pgstore: job %s: error history: %w", j.ID, err)
	}
	j.Status = store.JobStatus(status)
	if lastError != nil {
		j.LastError = *lastError
	}
	if uniqueKey != nil {
		j.UniqueKey = *uniqueKey
	}
	j.RunAt, j.CreatedAt = j.RunAt.UTC(), j.CreatedAt.UTC()
	j.StartedAt, j.CompletedAt, j.LeaseExpiresAt = utcPtr(j.StartedAt), utcPtr(j.CompletedAt), utcPtr(j.LeaseExpiresAt)
	j.CancelRequestedAt = utcPtr(j.CancelRequestedAt)
	return j, nil
}

// tagsJSON is tags as the text of a JSON array, the column's form.
func tagsJSON(tags []string) string {
	raw, err := json.Marshal(tags)
	if err != nil {
		panic("pgstore: encoding tags: " + err.Error()) // strings always encode
	}
	return string(raw)
}

// utcPtr puts a freshly scanned time, if there is one, in UTC, in place, and returns it.
func utcPtr(t *time.Time) *time.Time {
	if t != nil {
		*t = t.UTC()
	}
	return t
}
