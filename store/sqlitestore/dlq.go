package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/store"
)

// filterArgs are the filtered DLQ queries' named arguments for f.
func filterArgs(f store.DeadFilter) []any {
	return []any{
		sql.Named("app_id", nullID(f.AppID)),
		sql.Named("type", f.Type),
		sql.Named("failed_after", nullMicros(f.FailedAfter)),
		sql.Named("failed_before", nullMicros(f.FailedBefore)),
		sql.Named("error_contains", f.ErrorContains),
		sql.Named("include_replayed", f.IncludeReplayed),
		sql.Named("replayed_only", f.ReplayedOnly),
		sql.Named("through", nullID(f.Through)),
		sql.Named("group", f.Group),
		sql.Named("tag", f.Tag),
	}
}

// ListDead returns entries matching the filter, newest first, below the page's cursor. A
// filter of un-replayed entries naming an app or a type walks that index (see the queries).
// The page is scanned into a slice of its size, through one set of scan targets.
func (s *Store) ListDead(ctx context.Context, f store.DeadFilter, page store.Page) ([]store.DeadJob, error) {
	args := append(filterArgs(f), sql.Named("before", nullID(page.Before)), sql.Named("limit", page.Limit))
	query := q.Get("ListDead")
	if !f.IncludeReplayed && !f.ReplayedOnly {
		switch {
		case f.AppID != nil:
			query = q.Get("ListDeadByApp")
		case f.Type != "":
			query = q.Get("ListDeadByType")
		}
	}
	var out []store.DeadJob
	err := s.read(ctx, func(db querier) error {
		rows, err := db.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		out = make([]store.DeadJob, 0, min(page.Limit, 1024))
		var scanner deadScanner
		for rows.Next() {
			out = append(out, store.DeadJob{})
			if err := scanner.scan(rows, &out[len(out)-1]); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CountDead counts entries matching the filter.
func (s *Store) CountDead(ctx context.Context, f store.DeadFilter) (int64, error) {
	var n int64
	err := s.read(ctx, func(db querier) error {
		return db.QueryRowContext(ctx, q.Get("CountDead"), filterArgs(f)...).Scan(&n)
	})
	return n, err
}

// GetDead returns the entry with this id, or store.ErrNotFound.
func (s *Store) GetDead(ctx context.Context, id uuid.UUID) (store.DeadJob, error) {
	var d store.DeadJob
	err := s.read(ctx, func(db querier) error {
		var err error
		d, err = scanDead(db.QueryRowContext(ctx, q.Get("GetDead"), sql.Named("id", id.String())))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return store.DeadJob{}, store.ErrNotFound
	}
	return d, err
}

// ReplayDead marks the entry replayed and inserts its new job in one transaction. The write
// lock it holds makes concurrent replays of one entry take turns: the first marks it, the
// others find it marked (store.ErrAlreadyReplayed).
func (s *Store) ReplayDead(ctx context.Context, p store.ReplayParams) (store.Job, error) {
	var job store.Job
	err := s.write(ctx, func(tx *sql.Tx) error {
		jobID := newID()
		var e store.InsertJob
		var payload, tags string
		var uniqueKey, traceparent, tracestate sql.NullString
		err := tx.QueryRowContext(ctx, q.Get("MarkDeadReplayed"),
			sql.Named("id", p.ID.String()), sql.Named("job_id", jobID.String()),
			sql.Named("default_queue", p.Defaults.Queue), sql.Named("default_max_attempts", p.Defaults.MaxAttempts),
		).Scan(&e.AppID, &e.Type, &e.Queue, &e.Priority, &payload, &e.MaxAttempts, &uniqueKey, &tags, &traceparent, &tracestate)
		if errors.Is(err, sql.ErrNoRows) {
			var replayedAt sql.NullInt64
			err = tx.QueryRowContext(ctx, q.Get("GetDeadReplayedAt"), sql.Named("id", p.ID.String())).Scan(&replayedAt)
			if errors.Is(err, sql.ErrNoRows) {
				return store.ErrNotFound
			}
			if err == nil {
				return store.ErrAlreadyReplayed
			}
			return err
		}
		if err != nil {
			return err
		}
		var key any
		if uniqueKey.Valid {
			key = uniqueKey.String
		}
		job, err = scanJob(tx.QueryRowContext(ctx, q.Get("InsertReplayedJob"),
			sql.Named("id", jobID.String()), sql.Named("app_id", e.AppID.String()), sql.Named("type", e.Type),
			sql.Named("queue", e.Queue), sql.Named("priority", e.Priority), sql.Named("payload", payload),
			sql.Named("max_attempts", e.MaxAttempts), sql.Named("unique_key", key),
			sql.Named("replayed_from", p.ID.String()), sql.Named("tags", tags),
			sql.Named("traceparent", traceparent), sql.Named("tracestate", tracestate)))
		if errors.Is(err, sql.ErrNoRows) {
			// A live job holds the unique key: roll back, leaving the entry un-replayed.
			return store.UniqueKeyHeld()
		}
		if err != nil {
			return err
		}
		return recordAudit(ctx, tx, p.Audit, 1)
	})
	if err != nil {
		return store.Job{}, err
	}
	return job, nil
}

// ReplayDeadBatch replays one bounded batch of a bulk replay in one transaction: select the
// batch's entries, insert their jobs (skipping unique-key conflicts, replay loops when asked,
// and invalid patched payloads), mark those replayed. For an operation (b.Op) the transaction
// first checks the operation's lease (the write lock keeps it so until commit) and ends by
// advancing the operation.
func (s *Store) ReplayDeadBatch(ctx context.Context, f store.DeadFilter, b store.ReplayBatch) (store.ReplayBatchResult, error) {
	var res store.ReplayBatchResult
	err := s.write(ctx, func(tx *sql.Tx) error {
		res = store.ReplayBatchResult{}
		before := b.Before
		if b.Op != nil {
			var cursor *uuid.UUID
			err := tx.QueryRowContext(ctx, qr.Get("LockReplayOp"), sql.Named("id", b.Op.ID.String()),
				sql.Named("token", b.Op.Token.String())).Scan(&cursor)
			if errors.Is(err, sql.ErrNoRows) {
				return store.ErrLeaseLost
			}
			if err != nil {
				return err
			}
			before = cursor
		}
		var patch any
		if len(b.PayloadPatch) > 0 {
			patch = string(b.PayloadPatch)
		}
		args := []any{
			sql.Named("app_id", nullID(f.AppID)), sql.Named("type", f.Type),
			sql.Named("failed_after", nullMicros(f.FailedAfter)), sql.Named("failed_before", nullMicros(f.FailedBefore)),
			sql.Named("error_contains", f.ErrorContains), sql.Named("through", nullID(f.Through)),
			sql.Named("before", nullID(before)), sql.Named("limit", b.Limit),
			sql.Named("default_queue", b.Defaults.Queue), sql.Named("default_max_attempts", b.Defaults.MaxAttempts),
			sql.Named("group", f.Group), sql.Named("patch", patch), sql.Named("attempts", b.Attempts),
			sql.Named("max_payload", store.MaxPatchedPayload), sql.Named("skip_loops", b.SkipLoops),
			sql.Named("tag", f.Tag),
		}
		rows, err := tx.QueryContext(ctx, q.Get("SelectDeadForReplay"), args...)
		if err != nil {
			return err
		}
		var jobs []store.InsertJob
		for rows.Next() {
			var e store.InsertJob
			var entryID uuid.UUID
			var payload, tags string
			var traceparent, tracestate sql.NullString
			var valid, loop bool
			if err := rows.Scan(&entryID, &e.AppID, &e.Type, &e.Queue, &e.Priority, &payload, &e.MaxAttempts, &e.UniqueKey,
				&valid, &loop, &tags, &traceparent, &tracestate); err != nil {
				rows.Close()
				return err
			}
			var err error
			if e.Tags, err = decodeTags(tags); err != nil {
				rows.Close()
				return fmt.Errorf("sqlitestore: dead-letter entry %s: tags: %w", entryID, err)
			}
			e.Trace = traceContext(traceparent, tracestate)
			res.Considered++
			last := entryID
			res.LastID = &last
			switch {
			case loop:
				res.Loops++
				continue
			case !valid:
				res.Invalid++
				continue
			}
			e.ID, e.Payload, e.ReplayedFrom = newID(), json.RawMessage(payload), &entryID
			jobs = append(jobs, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(jobs) > 0 {
			inserted, err := insertBatch(ctx, tx, jobs)
			if err != nil {
				return err
			}
			replays := make([][2]uuid.UUID, 0, len(inserted))
			for _, j := range jobs {
				if _, ok := inserted[j.ID]; ok {
					replays = append(replays, [2]uuid.UUID{*j.ReplayedFrom, j.ID})
				}
			}
			if len(replays) > 0 {
				if _, err := tx.ExecContext(ctx, q.Get("MarkReplayed"), sql.Named("replays", jsonParam(replays))); err != nil {
					return err
				}
			}
			res.Replayed = len(replays)
		}
		res.Conflicts = res.Considered - res.Replayed - res.Loops - res.Invalid
		if err := recordAudit(ctx, tx, b.Audit, res.Replayed); err != nil {
			return err
		}
		if b.Op == nil {
			return nil
		}
		op, err := scanReplayOp(tx.QueryRowContext(ctx, qr.Get("AdvanceReplayOp"),
			sql.Named("id", b.Op.ID.String()), sql.Named("cursor", nullID(res.LastID)),
			sql.Named("matched", res.Considered), sql.Named("replayed", res.Replayed),
			sql.Named("failed", res.Conflicts+res.Invalid), sql.Named("skipped", res.Loops),
			sql.Named("note", store.BatchNote(res)), sql.Named("last", res.Considered < b.Limit),
			sql.Named("lease_ms", b.Op.Lease.Milliseconds())))
		res.Op = &op
		return err
	})
	return res, err
}

// DeleteDead deletes one entry, or returns store.ErrNotFound.
func (s *Store) DeleteDead(ctx context.Context, id uuid.UUID, audit *store.Audit) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, q.Get("DeleteDead"), sql.Named("id", id.String()))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		return recordAudit(ctx, tx, audit, 1)
	})
}

// PurgeDeadBatch deletes up to limit matching entries, oldest first.
func (s *Store) PurgeDeadBatch(ctx context.Context, f store.DeadFilter, b store.PurgeBatch) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, q.Get("PurgeDead"), append(filterArgs(f), sql.Named("limit", b.Limit))...)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		return recordAudit(ctx, tx, b.Audit, int(n))
	})
	if err != nil {
		return 0, err
	}
	return int(n), nil
}

// scanDead reads the entry columns in the order every entry query returns them.
func scanDead(row scanner) (store.DeadJob, error) {
	var d store.DeadJob
	if err := new(deadScanner).scan(row, &d); err != nil {
		return store.DeadJob{}, err
	}
	return d, nil
}

// deadScanner holds scanDead's scan targets beside the entry's own fields, so that a listing
// reuses them from row to row: each target Scan takes escapes to the heap.
type deadScanner struct {
	history, tags                                  string
	failedAt                                       int64
	replayedAt, priority, maxAttempts              sql.NullInt64
	queue, uniqueKey, sig, traceparent, tracestate sql.NullString
}

// scan reads one row into d.
func (v *deadScanner) scan(row scanner, d *store.DeadJob) error {
	err := row.Scan(&d.ID, &d.OriginalJobID, &d.AppID, &d.Type, (*[]byte)(&d.Payload), &d.Attempts,
		&v.history, &v.failedAt, &v.replayedAt, &v.queue, &v.priority, &v.maxAttempts, &v.uniqueKey,
		&d.ReplayJobID, &v.sig, &d.ReplayOf, &v.tags, &v.traceparent, &v.tracestate)
	if err != nil {
		return err
	}
	if d.Tags, err = decodeTags(v.tags); err != nil {
		return fmt.Errorf("sqlitestore: dead-letter entry %s: tags: %w", d.ID, err)
	}
	d.Trace = traceContext(v.traceparent, v.tracestate)
	if err := json.Unmarshal([]byte(v.history), &d.ErrorHistory); err != nil {
		return fmt.Errorf("sqlitestore: dead-letter entry %s: error history: %w", d.ID, err)
	}
	d.FailedAt, d.ReplayedAt = fromMicros(v.failedAt), fromNullMicros(v.replayedAt)
	d.Queue, d.UniqueKey, d.ErrorSignature = v.queue.String, v.uniqueKey.String, v.sig.String
	d.Priority, d.MaxAttempts = int(v.priority.Int64), int(v.maxAttempts.Int64)
	return nil
}

// DeadGroups returns the failure groups of the un-replayed entries matching the filter.
func (s *Store) DeadGroups(ctx context.Context, f store.DeadFilter, limit int) ([]store.FailureGroup, error) {
	return s.deadGroups(ctx, "DeadGroups", append(filterArgs(f), sql.Named("limit", limit)))
}

// DeadGroupsByKey returns the failure groups in key order, above the key after.
func (s *Store) DeadGroupsByKey(ctx context.Context, f store.DeadFilter, after *store.GroupKey, limit int) ([]store.FailureGroup, error) {
	var app any
	var typ, sig string
	if after != nil {
		app, typ, sig = after.AppID.String(), after.Type, after.Signature
	}
	return s.deadGroups(ctx, "DeadGroupsByKey", append(filterArgs(f), sql.Named("limit", limit),
		sql.Named("after_app", app), sql.Named("after_type", typ), sql.Named("after_signature", sig)))
}

// deadGroups runs one of the failure-group queries, which share their columns.
func (s *Store) deadGroups(ctx context.Context, query string, args []any) ([]store.FailureGroup, error) {
	out := []store.FailureGroup{}
	err := s.read(ctx, func(db querier) error {
		out = out[:0]
		rows, err := db.QueryContext(ctx, q.Get(query), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var g store.FailureGroup
			var first, last int64
			if err := rows.Scan(&g.AppID, &g.Type, &g.Signature, &g.Count, &first, &last, &g.SampleID, &g.SampleError); err != nil {
				return err
			}
			g.FirstFailedAt, g.LastFailedAt = fromMicros(first), fromMicros(last)
			store.FillNormalized(&g)
			out = append(out, g)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
