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

// AckDeadAlerts removes the alerts token holds of the entries in done, recording them in
// the alert log, and renews the rest.
func (s *Store) AckDeadAlerts(ctx context.Context, token uuid.UUID, done []store.AlertAck, lease time.Duration) (int, error) {
	ids, gaveUp, delivered := make([]uuid.UUID, len(done)), make([]bool, len(done)), make([]int32, len(done))
	for i, a := range done {
		ids[i], gaveUp[i], delivered[i] = a.ID, a.GaveUp, int32(a.Delivered)
	}
	var n int
	err := s.pool.QueryRow(ctx, qa.Get("AckDeadAlerts"), token, ids, millis(lease), gaveUp, delivered).Scan(&n)
	return n, err
}

// NoteAlertAttempt records a failed attempt of an alert token holds.
func (s *Store) NoteAlertAttempt(ctx context.Context, token uuid.UUID, a store.AlertAttempt) (bool, error) {
	query := "NoteDeadAlertAttempt"
	if a.Event == store.AlertEventGroupThreshold {
		query = "NoteGroupAlertAttempt"
	}
	tag, err := s.pool.Exec(ctx, qa.Get(query), token, a.ID, a.Error, millis(a.Retry))
	return tag.RowsAffected() == 1, err
}

// ListAlerts returns alerts newest first.
func (s *Store) ListAlerts(ctx context.Context, q store.AlertQuery, page store.Page) ([]store.AlertDelivery, error) {
	rows, err := s.pool.Query(ctx, qa.Get("ListAlerts"), q.AppID, string(q.Status), page.Before, page.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.AlertDelivery, error) {
		var a store.AlertDelivery
		var status string
		err := row.Scan(&a.ID, &a.Event, &a.AppID, &a.Type, &a.Group, &status, &a.Attempts, &a.LastError,
			&a.NextAttemptAt, &a.CreatedAt, &a.FinishedAt)
		a.Status = store.AlertStatus(status)
		a.CreatedAt, a.NextAttemptAt, a.FinishedAt = a.CreatedAt.UTC(), utcPtr(a.NextAttemptAt), utcPtr(a.FinishedAt)
		return a, err
	})
}

// AlertBacklog counts the pending alerts.
func (s *Store) AlertBacklog(ctx context.Context) (store.AlertBacklog, error) {
	var b store.AlertBacklog
	err := s.pool.QueryRow(ctx, qa.Get("AlertBacklog")).Scan(&b.Pending, &b.OldestPendingAt)
	b.OldestPendingAt = utcPtr(b.OldestPendingAt)
	return b, err
}

// PruneAlertLog deletes old records of finished alerts.
func (s *Store) PruneAlertLog(ctx context.Context, olderThan time.Duration, limit int) (int, error) {
	tag, err := s.pool.Exec(ctx, qa.Get("PruneAlertLog"), millis(olderThan), limit)
	return int(tag.RowsAffected()), err
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

// AckGroupAlert marks the group's alert sent if token still holds it, recording it in the
// alert log.
func (s *Store) AckGroupAlert(ctx context.Context, g store.GroupAlert, token uuid.UUID, ack store.AlertAck) (bool, error) {
	var n int
	err := s.pool.QueryRow(ctx, qa.Get("AckGroupAlert"), g.AppID, g.Type, g.Signature, token, ack.GaveUp, ack.Delivered).Scan(&n)
	return n == 1, err
}

// RearmGroupAlerts forgets the crossings of the groups back below threshold.
func (s *Store) RearmGroupAlerts(ctx context.Context, threshold int64) (int, error) {
	tag, err := s.pool.Exec(ctx, qa.Get("RearmGroupAlerts"), threshold)
	return int(tag.RowsAffected()), err
}
