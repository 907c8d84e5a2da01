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

//go:embed replayops.sql
var replayOpsSQL string

// qr are the queries of durable bulk replays, in replayops.sql.
var qr = sqlfile.MustParse(replayOpsSQL)

// CreateReplayOp records a new running operation.
func (s *Store) CreateReplayOp(ctx context.Context, op store.ReplayOp, audit *store.Audit) (store.ReplayOp, error) {
	var out store.ReplayOp
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var patch *string
		if len(op.PayloadPatch) > 0 {
			p := string(op.PayloadPatch)
			patch = &p
		}
		rows, _ := tx.Query(ctx, qr.Get("CreateReplayOp"), op.ID, op.AppID, op.Type, op.FailedAfter, op.FailedBefore,
			op.ErrorContains, op.Group, op.Through, op.Attempts, patch, op.IncludeLoops, op.Rate, op.CreatedBy, op.Tag)
		var err error
		if out, err = pgx.CollectExactlyOneRow(rows, scanReplayOp); err != nil {
			return err
		}
		return recordAudit(ctx, tx, audit, 0)
	})
	return out, err
}

// GetReplayOp returns the operation, or store.ErrNotFound.
func (s *Store) GetReplayOp(ctx context.Context, id uuid.UUID) (store.ReplayOp, error) {
	rows, _ := s.pool.Query(ctx, qr.Get("GetReplayOp"), id)
	op, err := pgx.CollectExactlyOneRow(rows, scanReplayOp)
	if errors.Is(err, pgx.ErrNoRows) {
		return op, store.ErrNotFound
	}
	return op, err
}

// ListReplayOps returns operations, newest first.
func (s *Store) ListReplayOps(ctx context.Context, appID *uuid.UUID, page store.Page) ([]store.ReplayOp, error) {
	rows, err := s.pool.Query(ctx, qr.Get("ListReplayOps"), appID, page.Before, page.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanReplayOp)
}

// SetReplayOpStatus moves the operation between states, giving up its lease.
func (s *Store) SetReplayOpStatus(ctx context.Context, id uuid.UUID, from []store.ReplayStatus, to store.ReplayStatus, audit *store.Audit) (store.ReplayOp, error) {
	var out store.ReplayOp
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		states := make([]string, len(from))
		for i, st := range from {
			states[i] = string(st)
		}
		rows, _ := tx.Query(ctx, qr.Get("SetReplayOpStatus"), id, states, string(to))
		var err error
		out, err = pgx.CollectExactlyOneRow(rows, scanReplayOp)
		if errors.Is(err, pgx.ErrNoRows) {
			if _, err := s.GetReplayOp(ctx, id); err != nil {
				return err
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

// ClaimReplayOp leases a running operation whose lease is free or expired.
func (s *Store) ClaimReplayOp(ctx context.Context, id *uuid.UUID, token uuid.UUID, lease time.Duration) (store.ReplayOp, bool, error) {
	rows, _ := s.pool.Query(ctx, qr.Get("ClaimReplayOp"), id, token, millis(lease))
	op, err := pgx.CollectExactlyOneRow(rows, scanReplayOp)
	if errors.Is(err, pgx.ErrNoRows) {
		return op, false, nil
	}
	return op, err == nil, err
}

// ReleaseReplayOp gives the lease back if token holds it.
func (s *Store) ReleaseReplayOp(ctx context.Context, id, token uuid.UUID) error {
	_, err := s.pool.Exec(ctx, qr.Get("ReleaseReplayOp"), id, token)
	return err
}

// CountReplayOps counts the operations in each state.
func (s *Store) CountReplayOps(ctx context.Context) (map[store.ReplayStatus]int64, error) {
	rows, err := s.pool.Query(ctx, qr.Get("CountReplayOps"))
	if err != nil {
		return nil, err
	}
	out := map[store.ReplayStatus]int64{}
	var status string
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&status, &n}, func() error {
		out[store.ReplayStatus(status)] = n
		return nil
	})
	return out, err
}

func scanReplayOp(row pgx.CollectableRow) (store.ReplayOp, error) {
	var o store.ReplayOp
	var patch []byte
	var status string
	err := row.Scan(&o.ID, &o.AppID, &o.Type, &o.FailedAfter, &o.FailedBefore, &o.ErrorContains, &o.Group,
		&o.Through, &o.Attempts, &patch, &o.IncludeLoops, &o.Rate, &status, &o.Matched, &o.Replayed,
		&o.Failed, &o.Skipped, &o.Cursor, &o.LastError, &o.CreatedBy, &o.CreatedAt, &o.UpdatedAt,
		&o.FinishedAt, &o.LeaseToken, &o.LeaseExpiresAt, &o.Tag)
	if err != nil {
		return o, err
	}
	o.Status = store.ReplayStatus(status)
	if patch != nil {
		o.PayloadPatch = patch
	}
	o.FailedAfter, o.FailedBefore = utcPtr(o.FailedAfter), utcPtr(o.FailedBefore)
	o.CreatedAt, o.UpdatedAt = o.CreatedAt.UTC(), o.UpdatedAt.UTC()
	o.FinishedAt, o.LeaseExpiresAt = utcPtr(o.FinishedAt), utcPtr(o.LeaseExpiresAt)
	return o, nil
}
