package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sluicehq/sluice/store"
)

// InsertJobs inserts jobs in one statement (plus one to look up unique-key duplicates, when
// there are any), inside tx when it is a *sql.Tx begun on DB().
func (s *Store) InsertJobs(ctx context.Context, tx store.ExternalTx, jobs []store.InsertJob) ([]store.InsertResult, error) {
	if len(jobs) == 0 {
		return nil, nil
	}
	if tx == nil {
		var out []store.InsertResult
		err := s.write(ctx, func(tx *sql.Tx) error {
			var err error
			out, err = s.insertJobs(ctx, tx, jobs)
			return err
		})
		return out, err
	}
	stx, ok := tx.(*sql.Tx)
	if !ok {
		return nil, fmt.Errorf("%w: SQLite needs a *sql.Tx begun on the store's DB(), got %T", store.ErrTxType, tx)
	}
	return s.insertJobs(ctx, stx, jobs)
}

// insertJobs inserts within tx. The transaction holds the write lock, so the live job that
// kept a duplicate out is still there when it is looked up.
func (s *Store) insertJobs(ctx context.Context, tx querier, jobs []store.InsertJob) ([]store.InsertResult, error) {
	inserted, err := insertBatch(ctx, tx, jobs)
	if err != nil {
		return nil, err
	}
	results := make([]store.InsertResult, len(jobs))
	var skipped []int
	for i := range jobs {
		if job, ok := inserted[jobs[i].ID]; ok {
			results[i] = store.InsertResult{Job: job}
		} else {
			skipped = append(skipped, i)
		}
	}
	if len(skipped) == 0 {
		return results, nil
	}
	if len(inserted) == 0 {
		if err := disabledApps(ctx, tx, jobs); err != nil {
			return nil, err
		}
	}
	live, err := liveByUniqueKey(ctx, tx, jobs, skipped)
	if err != nil {
		return nil, err
	}
	for _, i := range skipped {
		job, ok := live[uniqueKeyOf(jobs[i].AppID, jobs[i].UniqueKey)]
		if !ok {
			return nil, fmt.Errorf("sqlitestore: job %s was not inserted and no live job holds its unique key", jobs[i].ID)
		}
		results[i] = store.InsertResult{Job: job, Duplicate: true}
	}
	return results, nil
}

// disabledApps returns store.AppDisabled naming the first disabled app of the jobs, if one
// is: the insert then inserted nothing.
func disabledApps(ctx context.Context, tx querier, jobs []store.InsertJob) error {
	apps := make([]uuid.UUID, len(jobs))
	for i, j := range jobs {
		apps[i] = j.AppID
	}
	var name string
	err := tx.QueryRowContext(ctx, q.Get("DisabledApps"), sql.Named("ids", jsonParam(apps))).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return store.AppDisabled(name)
}

// insertBatch runs InsertJobs and returns the jobs it inserted by id. An unknown app is
// store.UnknownApp and nothing is inserted.
func insertBatch(ctx context.Context, tx querier, jobs []store.InsertJob) (map[uuid.UUID]store.Job, error) {
	params := make([][]any, len(jobs))
	for i, j := range jobs {
		var runAt any
		if j.RunAt != nil {
			runAt = micros(*j.RunAt)
		}
		var traceparent, tracestate any
		if j.Trace != nil {
			traceparent, tracestate = j.Trace.TraceParent, j.Trace.TraceState
		}
		params[i] = []any{j.ID, j.AppID, j.Type, j.Queue, j.Priority, string(j.Payload), j.MaxAttempts,
			runAt, j.UniqueKey, j.ReplayedFrom, tagsParam(j.Tags), traceparent, tracestate}
	}
	rows, err := tx.QueryContext(ctx, q.Get("InsertJobs"), sql.Named("jobs", jsonParam(params)))
	if err != nil {
		return nil, insertError(err)
	}
	inserted, err := collectJobs(rows)
	if err != nil {
		return nil, insertError(err)
	}
	byID := make(map[uuid.UUID]store.Job, len(inserted))
	for _, j := range inserted {
		byID[j.ID] = j
	}
	return byID, nil
}

// insertError maps a foreign-key violation (jobs.app_id is the table's only foreign key) to
// store.UnknownApp.
func insertError(err error) error {
	if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
		return store.UnknownApp()
	}
	return err
}

func liveByUniqueKey(ctx context.Context, tx querier, jobs []store.InsertJob, idx []int) (map[string]store.Job, error) {
	keys := make([][2]string, len(idx))
	for k, i := range idx {
		keys[k] = [2]string{jobs[i].AppID.String(), jobs[i].UniqueKey}
	}
	rows, err := tx.QueryContext(ctx, q.Get("GetLiveJobsByUniqueKey"), sql.Named("keys", jsonParam(keys)))
	if err != nil {
		return nil, err
	}
	live, err := collectJobs(rows)
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
	var job store.Job
	err := s.read(ctx, func(db querier) error {
		var err error
		job, err = scanJob(db.QueryRowContext(ctx, q.Get("GetJob"), sql.Named("id", id.String())))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return store.Job{}, store.ErrNotFound
	}
	return job, err
}

// ListJobs returns jobs matching the filter, newest first, below the page's cursor.
func (s *Store) ListJobs(ctx context.Context, f store.JobFilter, page store.Page) ([]store.Job, error) {
	var jobs []store.Job
	err := s.read(ctx, func(db querier) error {
		rows, err := db.QueryContext(ctx, q.Get("ListJobs"),
			sql.Named("app_id", nullID(f.AppID)), sql.Named("type", f.Type),
			sql.Named("status", string(f.Status)), sql.Named("before", nullID(page.Before)),
			sql.Named("limit", page.Limit), sql.Named("tag", f.Tag))
		if err != nil {
			return err
		}
		jobs, err = collectJobs(rows)
		return err
	})
	return jobs, err
}

// collectJobs reads every row of a job query and closes rows.
func collectJobs(rows *sql.Rows) ([]store.Job, error) {
	defer rows.Close()
	jobs := []store.Job{}
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, j)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return jobs, nil
}

// scanJob reads the job columns in the order every job query returns them.
func scanJob(row scanner) (store.Job, error) {
	var j store.Job
	var payload, status, history string
	var lastError, uniqueKey, traceparent, tracestate sql.NullString
	var runAt, createdAt int64
	var startedAt, completedAt, leaseExpiresAt, cancelRequestedAt sql.NullInt64
	var tags string
	err := row.Scan(&j.ID, &j.AppID, &j.Type, &j.Queue, &j.Priority, &payload, &status,
		&j.Attempts, &j.MaxAttempts, &lastError, &history, &runAt, &startedAt,
		&completedAt, &createdAt, &uniqueKey, &j.ReplayedFrom, &j.LeaseToken, &leaseExpiresAt,
		&tags, &traceparent, &tracestate, &cancelRequestedAt)
	if err != nil {
		return store.Job{}, err
	}
	if j.Tags, err = decodeTags(tags); err != nil {
		return store.Job{}, fmt.Errorf("sqlitestore: job %s: tags: %w", j.ID, err)
	}
	j.Trace = traceContext(traceparent, tracestate)
	if j.ErrorHistory, err = store.DecodeHistory([]byte(history)); err != nil {
		return store.Job{}, fmt.Errorf("sqlitestore: job %s: error history: %w", j.ID, err)
	}
	j.Payload = json.RawMessage(payload)
	j.Status = store.JobStatus(status)
	j.LastError, j.UniqueKey = lastError.String, uniqueKey.String
	j.RunAt, j.CreatedAt = fromMicros(runAt), fromMicros(createdAt)
	j.StartedAt, j.CompletedAt = fromNullMicros(startedAt), fromNullMicros(completedAt)
	j.LeaseExpiresAt, j.CancelRequestedAt = fromNullMicros(leaseExpiresAt), fromNullMicros(cancelRequestedAt)
	return j, nil
}

// tagsParam is tags as the JSON array the queries take: [] for none.
func tagsParam(tags []string) []string {
	if tags == nil {
		return []string{}
	}
	return tags
}

// decodeTags reads a tags column (a JSON array of strings); none is nil. The common case, no
// tags, costs nothing.
func decodeTags(raw string) ([]string, error) {
	if raw == "[]" {
		return nil, nil
	}
	var tags []string
	if err := json.Unmarshal([]byte(raw), &tags); err != nil {
		return nil, err
	}
	if len(tags) == 0 {
		return nil, nil
	}
	return tags, nil
}

// traceContext reads the traceparent and tracestate columns.
func traceContext(traceparent, tracestate sql.NullString) *store.TraceContext {
	if !traceparent.Valid {
		return nil
	}
	return store.NewTraceContext(&traceparent.String, &tracestate.String)
}
