package pgstore

import (
	"context"
	_ "embed"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sluicehq/sluice/internal/sqlfile"
	"github.com/sluicehq/sluice/store"
)

//go:embed alerts.sql
var alertsSQL string

// qa are the queries of alerting, in alerts.sql.
var qa = sqlfile.MustParse(alertsSQL)

// ClaimDeadAlerts leases pending dead-letter alerts and returns their entries, oldest first.
func (s *Store) ClaimDeadAlerts(ctx context.Context, c store.AlertClaim) ([]store.DeadJob, error) {
	rows, err := s.pool.Query(ctx, qa.Get("ClaimDeadAlerts"), c.Token, c.Limit, millis(c.Lease))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanDead)
}

// AckDeadAlerts removes the alerts token holds of the entries in done and renews the rest.
func (s *Store) AckDeadAlerts(ctx context.Context, token uuid.UUID, done []uuid.UUID, lease time.Duration) (int, error) {
	if done == nil {
		done = []uuid.UUID{}
	}
	var n int
	err := s.pool.QueryRow(ctx, qa.Get("AckDeadAlerts"), token, done, millis(lease)).Scan(&n)
	return n, err
}

// ClaimGroupAlerts claims the threshold alerts of the groups that reached it.
func (s *Store) ClaimGroupAlerts(ctx context.Context, c store.GroupAlertClaim) ([]store.GroupAlert, error) {
	ids := make([]uuid.UUID, c.Limit)
	for i := range ids {
		ids[i] = newID()
	}
	rows, err := s.pool.Query(ctx, qa.Get("ClaimGroupAlerts"), c.Threshold, c.Token, millis(c.Lease), c.Limit, ids)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.GroupAlert, error) {
		var g store.GroupAlert
		err := row.Scan(&g.ID, &g.AppID, &g.Type, &g.Signature, &g.Count)
		return g, err
	})
}

// AckGroupAlert marks the group's alert sent if token still holds it.
func (s *Store) AckGroupAlert(ctx context.Context, g store.GroupAlert, token uuid.UUID) (bool, error) {
	tag, err := s.pool.Exec(ctx, qa.Get("AckGroupAlert"), g.AppID, g.Type, g.Signature, token)
	return tag.RowsAffected() == 1, err
}

// RearmGroupAlerts forgets the crossings of the groups back below threshold.
func (s *Store) RearmGroupAlerts(ctx context.Context, threshold int64) (int, error) {
	tag, err := s.pool.Exec(ctx, qa.Get("RearmGroupAlerts"), threshold)
	return int(tag.RowsAffected()), err
}
