package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sluicehq/sluice/store"
)

// filterArgs are the first nine arguments of the filtered DLQ queries, in order.
func filterArgs(f store.DeadFilter) []any {
	return []any{f.AppID, f.Type, f.FailedAfter, f.FailedBefore, f.ErrorContains, f.IncludeReplayed, f.ReplayedOnly, f.Through, f.Group}
}

// ListDead returns entries matching the filter, newest first, below the page's cursor. It runs
// with a one-off plan so the filter's unused parts fold away, and a filter naming an app or a
// type gets the query ordered to walk that partial index. The page is scanned into a slice
// of its size, through one set of scan targets.
func (s *Store) ListDead(ctx context.Context, f store.DeadFilter, page store.Page) ([]store.DeadJob, error) {
	args := append([]any{pgx.QueryExecModeExec}, filterArgs(f)...)
	args = append(args, page.Before, page.Limit, f.Tag)
	query := q.Get("ListDead")
	switch {
	case f.AppID != nil:
		query = q.Get("ListDeadByApp")
	case f.Type != "":
		query = q.Get("ListDeadByType")
	}
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]store.DeadJob, 0, min(page.Limit, 1024))
	var scanner deadScanner
	for rows.Next() {
		out = append(out, store.DeadJob{})
		if err := scanner.scan(rows, &out[len(out)-1]); err != nil {
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// CountDead counts entries matching the filter.
func (s *Store) CountDead(ctx context.Context, f store.DeadFilter) (int64, error) {
	args := append([]any{pgx.QueryExecModeExec}, filterArgs(f)...)
	var n int64
	err := s.pool.QueryRow(ctx, q.Get("CountDead"), append(args, f.Tag)...).Scan(&n)
	return n, err
}

// GetDead returns the entry with this id, or store.ErrNotFound.
func (s *Store) GetDead(ctx context.Context, id uuid.UUID) (store.DeadJob, error) {
	rows, _ := s.pool.Query(ctx, q.Get("GetDead"), id)
	d, err := pgx.CollectExactlyOneRow(rows, scanDead)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.DeadJob{}, store.ErrNotFound
	}
	return d, err
}

// ReplayDead marks the entry replayed and inserts its new job in one statement.
func (s *Store) ReplayDead(ctx context.Context, p store.ReplayParams) (store.Job, error) {
	var job store.Job
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, q.Get("ReplayDead"), p.ID, newID(), p.Defaults.Queue, p.Defaults.MaxAttempts)
		var err error
		job, err = pgx.CollectExactlyOneRow(rows, scanJob)
		if errors.Is(err, pgx.ErrNoRows) {
			var replayedAt *time.Time
			err = tx.QueryRow(ctx, q.Get("GetDeadReplayedAt"), p.ID).Scan(&replayedAt)
			if errors.Is(err, pgx.ErrNoRows) {
				return store.ErrNotFound
			}
			if err == nil {
				return store.ErrAlreadyReplayed
			}
			return err
		}
		if code, constraint := pgErrorCode(err); code == codeUniqueViolation && constraint == "jobs_unique_key" {
			return store.UniqueKeyHeld()
		}
		if err != nil {
			return err
		}
		return recordAudit(ctx, tx, p.Audit, 1)
	})
	if err == nil {
		s.notifier.kick()
	}
	return job, err
}

// ReplayDeadBatch replays one bounded batch of a bulk replay in one statement (see the query),
// then wakes the workers if it replayed any. For an operation (b.Op), the statement runs in a
// transaction that first locks the operation under its lease (LockReplayOp) and ends by
// advancing it (AdvanceReplayOp).
func (s *Store) ReplayDeadBatch(ctx context.Context, f store.DeadFilter, b store.ReplayBatch) (store.ReplayBatchResult, error) {
	var res store.ReplayBatchResult
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		res = store.ReplayBatchResult{}
		before := b.Before
		if b.Op != nil {
			var cursor *uuid.UUID
			err := tx.QueryRow(ctx, qr.Get("LockReplayOp"), b.Op.ID, b.Op.Token).Scan(&cursor)
			if errors.Is(err, pgx.ErrNoRows) {
				return store.ErrLeaseLost
			}
			if err != nil {
				return err
			}
			before = cursor
		}
		if err := s.replayBatch(ctx, tx, f, b, before, &res); err != nil {
			return err
		}
		if b.Op == nil {
			return nil
		}
		op, err := advanceOp(ctx, tx, b, res)
		res.Op = &op
		return err
	})
	if err != nil {
		return store.ReplayBatchResult{}, err
	}
	if res.Replayed > 0 {
		s.notifier.kick()
	}
	return res, nil
}

// replayBatch runs the ReplayDeadBatch statement.
func (s *Store) replayBatch(ctx context.Context, tx pgx.Tx, f store.DeadFilter, b store.ReplayBatch, before *uuid.UUID, res *store.ReplayBatchResult) error {
	// As text: a one-off plan (QueryExecModeExec) sends parameters without their types.
	jobIDs := make([]string, b.Limit)
	for i := range jobIDs {
		jobIDs[i] = newID().String()
	}
	var auditID, auditApp *uuid.UUID
	var actor, action string
	details := "{}"
	if a := b.Audit; a != nil {
		auditID, auditApp, actor, action = &a.ID, a.AppID, a.Actor, a.Action
		if len(a.Details) > 0 {
			details = string(a.Details)
		}
	}
	var patch *string
	if len(b.PayloadPatch) > 0 {
		p := string(b.PayloadPatch)
		patch = &p
	}
	err := tx.QueryRow(ctx, q.Get("ReplayDeadBatch"), pgx.QueryExecModeExec, f.AppID, f.Type, f.FailedAfter,
		f.FailedBefore, f.ErrorContains, f.Through, before, b.Limit, b.Defaults.Queue, b.Defaults.MaxAttempts,
		jobIDs, auditID, actor, action, auditApp, details, f.Group, b.Attempts, patch, b.SkipLoops,
		store.MaxPatchedPayload, f.Tag).Scan(&res.Considered, &res.Replayed, &res.Loops, &res.Invalid, &res.LastID)
	if err != nil {
		return err
	}
	res.Conflicts = res.Considered - res.Replayed - res.Loops - res.Invalid
	return nil
}

// advanceOp moves the operation past the batch, in the batch's transaction.
func advanceOp(ctx context.Context, tx pgx.Tx, b store.ReplayBatch, res store.ReplayBatchResult) (store.ReplayOp, error) {
	rows, _ := tx.Query(ctx, qr.Get("AdvanceReplayOp"), b.Op.ID, res.LastID, res.Considered, res.Replayed,
		res.Conflicts+res.Invalid, res.Loops, store.BatchNote(res), res.Considered < b.Limit, millis(b.Op.Lease))
	return pgx.CollectExactlyOneRow(rows, scanReplayOp)
}

// DeleteDead deletes one entry, or returns store.ErrNotFound.
func (s *Store) DeleteDead(ctx context.Context, id uuid.UUID, audit *store.Audit) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, q.Get("DeleteDead"), id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrNotFound
		}
		return recordAudit(ctx, tx, audit, 1)
	})
}

// PurgeDeadBatch deletes up to b.Limit matching entries.
func (s *Store) PurgeDeadBatch(ctx context.Context, f store.DeadFilter, b store.PurgeBatch) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		args := append([]any{pgx.QueryExecModeExec}, filterArgs(f)...)
		tag, err := tx.Exec(ctx, q.Get("PurgeDead"), append(args, b.Limit, f.Tag)...)
		if err != nil {
			return err
		}
		n = int(tag.RowsAffected())
		return recordAudit(ctx, tx, b.Audit, n)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// scanDead reads the entry columns in the order every entry query returns them.
func scanDead(row pgx.CollectableRow) (store.DeadJob, error) {
	var d store.DeadJob
	err := new(deadScanner).scan(row, &d)
	return d, err
}

// deadScanner holds scanDead's scan targets beside the entry's own fields, so that a listing
// reuses them from row to row: each target Scan takes escapes to the heap.
type deadScanner struct {
	queue, uniqueKey, sig   pgtype.Text
	traceparent, tracestate *string
	priority                pgtype.Int2
	maxAttempts             pgtype.Int4
	history, tags           pgtype.DriverBytes // the row's own memory: decoded before the next row
}

// scan reads one row into d. The five UUID columns are read from the row's raw values: the
// listings run as one-off plans (QueryExecModeExec), whose results come as text, and pgx
// would take a text UUID through four conversions and as many allocations to a uuid.UUID.
func (v *deadScanner) scan(row pgx.CollectableRow, d *store.DeadJob) error {
	err := row.Scan(nil, nil, nil, &d.Type, (*[]byte)(&d.Payload), &d.Attempts,
		&v.history, &d.FailedAt, &d.ReplayedAt, &v.queue, &v.priority, &v.maxAttempts, &v.uniqueKey,
		nil, &v.sig, nil, &v.tags, &v.traceparent, &v.tracestate)
	if err != nil {
		return err
	}
	fields, raw := row.FieldDescriptions(), row.RawValues()
	for _, c := range []struct {
		i   int
		dst *uuid.UUID
	}{{0, &d.ID}, {1, &d.OriginalJobID}, {2, &d.AppID}} {
		if *c.dst, err = rawUUID(fields[c.i], raw[c.i]); err != nil {
			return err
		}
	}
	for _, c := range []struct {
		i   int
		dst **uuid.UUID
	}{{13, &d.ReplayJobID}, {15, &d.ReplayOf}} {
		if raw[c.i] == nil {
			continue
		}
		id, err := rawUUID(fields[c.i], raw[c.i])
		if err != nil {
			return err
		}
		*c.dst = &id
	}
	if d.ErrorHistory, err = store.DecodeHistory(v.history); err != nil {
		return fmt.Errorf("pgstore: dead-letter entry %s: error history: %w", d.ID, err)
	}
	if v.tags != nil && string(v.tags) != "[]" { // "[]", every untagged entry, needs no decoding
		if err := json.Unmarshal(v.tags, &d.Tags); err != nil {
			return fmt.Errorf("pgstore: dead-letter entry %s: tags: %w", d.ID, err)
		}
	}
	if len(d.Tags) == 0 {
		d.Tags = nil
	}
	d.Trace = store.NewTraceContext(v.traceparent, v.tracestate)
	d.FailedAt = d.FailedAt.UTC()
	d.ReplayedAt = utcPtr(d.ReplayedAt)
	d.Queue, d.UniqueKey, d.ErrorSignature = v.queue.String, v.uniqueKey.String, v.sig.String
	d.Priority, d.MaxAttempts = int(v.priority.Int16), int(v.maxAttempts.Int32)
	return nil
}

// rawUUID decodes a non-null UUID column from its raw value: 16 bytes in binary format,
// else its text.
func rawUUID(field pgconn.FieldDescription, raw []byte) (uuid.UUID, error) {
	switch {
	case raw == nil:
		return uuid.Nil, fmt.Errorf("pgstore: column %s: cannot scan NULL into uuid.UUID", field.Name)
	case field.Format == pgtype.BinaryFormatCode && field.DataTypeOID == pgtype.UUIDOID:
		return uuid.FromBytes(raw)
	default:
		id, err := uuid.ParseBytes(raw)
		if err != nil {
			return id, fmt.Errorf("pgstore: column %s: %w", field.Name, err)
		}
		return id, nil
	}
}

// DeadGroups returns the failure groups of the un-replayed entries matching the filter.
func (s *Store) DeadGroups(ctx context.Context, f store.DeadFilter, limit int) ([]store.FailureGroup, error) {
	return s.deadGroups(ctx, "DeadGroups", f, limit, nil)
}

// DeadGroupsByKey returns the failure groups in key order, above the key after.
func (s *Store) DeadGroupsByKey(ctx context.Context, f store.DeadFilter, after *store.GroupKey, limit int) ([]store.FailureGroup, error) {
	var app *uuid.UUID
	var typ, sig string
	if after != nil {
		app, typ, sig = &after.AppID, after.Type, after.Signature
	}
	return s.deadGroups(ctx, "DeadGroupsByKey", f, limit, []any{app, typ, sig})
}

// deadGroups runs one of the failure-group queries, which share their filter, limit and
// columns; more holds the query's further arguments.
func (s *Store) deadGroups(ctx context.Context, query string, f store.DeadFilter, limit int, more []any) ([]store.FailureGroup, error) {
	args := append([]any{pgx.QueryExecModeExec, f.AppID, f.Type, f.FailedAfter, f.FailedBefore, f.ErrorContains,
		f.Group, limit, f.Tag}, more...)
	rows, err := s.pool.Query(ctx, q.Get(query), args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.FailureGroup, error) {
		var g store.FailureGroup
		err := row.Scan(&g.AppID, &g.Type, &g.Signature, &g.Count, &g.FirstFailedAt, &g.LastFailedAt, &g.SampleID, &g.SampleError)
		g.FirstFailedAt, g.LastFailedAt = g.FirstFailedAt.UTC(), g.LastFailedAt.UTC()
		store.FillNormalized(&g)
		return g, err
	})
}
