package sqlitestore

import (
	"context"
	"database/sql"
	_ "embed"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/internal/sqlfile"
	"github.com/sluicehq/sluice/store"
)

//go:embed replayops.sql
var replayOpsSQL string

// qr are the queries of durable bulk replays, in replayops.sql.
var qr = sqlfile.MustParse(replayOpsSQL)

// CreateReplayOp records a new running operation.
func (s *Store) CreateReplayOp(ctx context.Context, op store.ReplayOp, audit *store.Audit) (store.ReplayOp, error) {
	var out store.ReplayOp
	err := s.write(ctx, func(tx *sql.Tx) error {
		var patch any
		if len(op.PayloadPatch) > 0 {
			patch = string(op.PayloadPatch)
		}
		var err error
		out, err = scanReplayOp(tx.QueryRowContext(ctx, qr.Get("CreateReplayOp"),
			sql.Named("id", op.ID.String()), sql.Named("app_id", nullID(op.AppID)), sql.Named("type", op.Type),
			sql.Named("failed_after", nullMicros(op.FailedAfter)), sql.Named("failed_before", nullMicros(op.FailedBefore)),
			sql.Named("error_contains", op.ErrorContains), sql.Named("group", op.Group),
			sql.Named("through", op.Through.String()), sql.Named("attempts", op.Attempts), sql.Named("patch", patch),
			sql.Named("include_loops", op.IncludeLoops), sql.Named("rate", op.Rate), sql.Named("created_by", op.CreatedBy),
			sql.Named("tag", op.Tag)))
		if err != nil {
			return err
		}
		return recordAudit(ctx, tx, audit, 0)
	})
	return out, err
}

// GetReplayOp returns the operation, or store.ErrNotFound.
func (s *Store) GetReplayOp(ctx context.Context, id uuid.UUID) (store.ReplayOp, error) {
	var op store.ReplayOp
	err := s.read(ctx, func(db querier) error {
		var err error
		op, err = scanReplayOp(db.QueryRowContext(ctx, qr.Get("GetReplayOp"), sql.Named("id", id.String())))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return store.ReplayOp{}, store.ErrNotFound
	}
	return op, err
}

// ListReplayOps returns operations, newest first.
func (s *Store) ListReplayOps(ctx context.Context, appID *uuid.UUID, page store.Page) ([]store.ReplayOp, error) {
	out := []store.ReplayOp{}
	err := s.read(ctx, func(db querier) error {
		out = out[:0]
		rows, err := db.QueryContext(ctx, qr.Get("ListReplayOps"), sql.Named("app_id", nullID(appID)),
			sql.Named("before", nullID(page.Before)), sql.Named("limit", page.Limit))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			op, err := scanReplayOp(rows)
			if err != nil {
				return err
			}
			out = append(out, op)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SetReplayOpStatus moves the operation between states, giving up its lease.
func (s *Store) SetReplayOpStatus(ctx context.Context, id uuid.UUID, from []store.ReplayStatus, to store.ReplayStatus, audit *store.Audit) (store.ReplayOp, error) {
	var out store.ReplayOp
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = scanReplayOp(tx.QueryRowContext(ctx, qr.Get("SetReplayOpStatus"), sql.Named("id", id.String()),
			sql.Named("from", jsonParam(from)), sql.Named("to", string(to))))
		if errors.Is(err, sql.ErrNoRows) {
			var n int
			if err := tx.QueryRowContext(ctx, qr.Get("ReplayOpExists"), sql.Named("id", id.String())).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return store.ErrNotFound
			}
			return store.ErrOperationState
		}
		if err != nil {
			return err
		}
		return recordAudit(ctx, tx, audit, 0)
	})
	return out, err
}

// ClaimReplayOp leases a running operation whose lease is free or expired. It looks on a
// reader first, so that polling for operations when there are none never takes the write lock
// that heartbeats and claims of jobs wait for.
func (s *Store) ClaimReplayOp(ctx context.Context, id *uuid.UUID, token uuid.UUID, lease time.Duration) (store.ReplayOp, bool, error) {
	var found bool
	err := s.read(ctx, func(db querier) error {
		return db.QueryRowContext(ctx, qr.Get("ClaimableReplayOp"), sql.Named("id", nullID(id))).Scan(&found)
	})
	if err != nil || !found {
		return store.ReplayOp{}, false, err
	}
	var op store.ReplayOp
	err = s.write(ctx, func(tx *sql.Tx) error {
		var err error
		op, err = scanReplayOp(tx.QueryRowContext(ctx, qr.Get("ClaimReplayOp"), sql.Named("id", nullID(id)),
			sql.Named("token", token.String()), sql.Named("lease_ms", lease.Milliseconds())))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return store.ReplayOp{}, false, nil
	}
	return op, err == nil, err
}

// ReleaseReplayOp gives the lease back if token holds it.
func (s *Store) ReleaseReplayOp(ctx context.Context, id, token uuid.UUID) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, qr.Get("ReleaseReplayOp"), sql.Named("id", id.String()), sql.Named("token", token.String()))
		return err
	})
}

// CountReplayOps counts the operations in each state.
func (s *Store) CountReplayOps(ctx context.Context) (map[store.ReplayStatus]int64, error) {
	out := map[store.ReplayStatus]int64{}
	err := s.read(ctx, func(db querier) error {
		clear(out)
		rows, err := db.QueryContext(ctx, qr.Get("CountReplayOps"))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var status string
			var n int64
			if err := rows.Scan(&status, &n); err != nil {
				return err
			}
			out[store.ReplayStatus(status)] = n
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func scanReplayOp(row scanner) (store.ReplayOp, error) {
	var o store.ReplayOp
	var patch sql.NullString
	var status string
	var failedAfter, failedBefore, finishedAt, leaseExpires sql.NullInt64
	var createdAt, updatedAt int64
	err := row.Scan(&o.ID, &o.AppID, &o.Type, &failedAfter, &failedBefore, &o.ErrorContains, &o.Group,
		&o.Through, &o.Attempts, &patch, &o.IncludeLoops, &o.Rate, &status, &o.Matched, &o.Replayed,
		&o.Failed, &o.Skipped, &o.Cursor, &o.LastError, &o.CreatedBy, &createdAt, &updatedAt,
		&finishedAt, &o.LeaseToken, &leaseExpires, &o.Tag)
	if err != nil {
		return store.ReplayOp{}, err
	}
	o.Status = store.ReplayStatus(status)
	if patch.Valid {
		o.PayloadPatch = json.RawMessage(patch.String)
	}
	o.FailedAfter, o.FailedBefore = fromNullMicros(failedAfter), fromNullMicros(failedBefore)
	o.CreatedAt, o.UpdatedAt = fromMicros(createdAt), fromMicros(updatedAt)
	o.FinishedAt, o.LeaseExpiresAt = fromNullMicros(finishedAt), fromNullMicros(leaseExpires)
	return o, nil
}
