package sqlitestore

import (
	"context"
	"database/sql"
	_ "embed"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/internal/sqlfile"
	"github.com/sluicehq/sluice/store"
)

//go:embed alerts.sql
var alertsSQL string

// qa are the queries of alerting, in alerts.sql.
var qa = sqlfile.MustParse(alertsSQL)

// ClaimDeadAlerts leases pending dead-letter alerts and returns their entries, oldest first,
// in one write transaction.
func (s *Store) ClaimDeadAlerts(ctx context.Context, c store.AlertClaim) ([]store.DeadJob, error) {
	var out []store.DeadJob
	err := s.write(ctx, func(tx *sql.Tx) error {
		out = []store.DeadJob{}
		rows, err := tx.QueryContext(ctx, qa.Get("ClaimDeadAlerts"), sql.Named("token", c.Token.String()),
			sql.Named("lease_ms", millis(c.Lease)), sql.Named("limit", c.Limit))
		if err != nil {
			return err
		}
		ids, err := scanIDs(rows)
		if err != nil || len(ids) == 0 {
			return err
		}
		rows, err = tx.QueryContext(ctx, qa.Get("DeadByIDs"), sql.Named("ids", jsonParam(ids)))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			d, err := scanDead(rows)
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AckDeadAlerts removes the alerts token holds of the entries in done and renews the rest, in
// one write transaction.
func (s *Store) AckDeadAlerts(ctx context.Context, token uuid.UUID, done []uuid.UUID, lease time.Duration) (int, error) {
	if done == nil {
		done = []uuid.UUID{}
	}
	var n int
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, qa.Get("AckDeadAlerts"), sql.Named("token", token.String()),
			sql.Named("done", jsonParam(done)))
		if err != nil {
			return err
		}
		acked, err := res.RowsAffected()
		if err != nil {
			return err
		}
		n = int(acked)
		_, err = tx.ExecContext(ctx, qa.Get("RenewDeadAlerts"), sql.Named("token", token.String()),
			sql.Named("lease_ms", millis(lease)))
		return err
	})
	return n, err
}

// ClaimGroupAlerts claims the threshold alerts of the groups that reached it.
func (s *Store) ClaimGroupAlerts(ctx context.Context, c store.GroupAlertClaim) ([]store.GroupAlert, error) {
	ids := make([]uuid.UUID, c.Limit)
	for i := range ids {
		ids[i] = newID()
	}
	var out []store.GroupAlert
	err := s.write(ctx, func(tx *sql.Tx) error {
		out = []store.GroupAlert{}
		rows, err := tx.QueryContext(ctx, qa.Get("ClaimGroupAlerts"), sql.Named("threshold", c.Threshold),
			sql.Named("token", c.Token.String()), sql.Named("lease_ms", millis(c.Lease)),
			sql.Named("limit", c.Limit), sql.Named("ids", jsonParam(ids)))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var g store.GroupAlert
			if err := rows.Scan(&g.ID, &g.AppID, &g.Type, &g.Signature, &g.Count); err != nil {
				return err
			}
			out = append(out, g)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AckGroupAlert marks the group's alert sent if token still holds it.
func (s *Store) AckGroupAlert(ctx context.Context, g store.GroupAlert, token uuid.UUID) (bool, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, qa.Get("AckGroupAlert"), sql.Named("app_id", g.AppID.String()),
			sql.Named("type", g.Type), sql.Named("signature", g.Signature), sql.Named("token", token.String()))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n == 1, err
}

// RearmGroupAlerts forgets the crossings of the groups back below threshold.
func (s *Store) RearmGroupAlerts(ctx context.Context, threshold int64) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, qa.Get("RearmGroupAlerts"), sql.Named("threshold", threshold))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
