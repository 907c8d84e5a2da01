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

// AckDeadAlerts removes the alerts token holds of the entries in done, recording them in
// the alert log, and renews the rest, in one write transaction.
func (s *Store) AckDeadAlerts(ctx context.Context, token uuid.UUID, done []store.AlertAck, lease time.Duration) (int, error) {
	var n int
	err := s.write(ctx, func(tx *sql.Tx) error {
		n = 0
		for _, a := range done {
			args := []any{sql.Named("id", a.ID.String()), sql.Named("token", token.String()),
				sql.Named("gave_up", a.GaveUp), sql.Named("delivered", a.Delivered)}
			if _, err := tx.ExecContext(ctx, qa.Get("LogDeadAlert"), args...); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, qa.Get("AckDeadAlert"), args[:2]...)
			if err != nil {
				return err
			}
			acked, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += int(acked)
		}
		_, err := tx.ExecContext(ctx, qa.Get("RenewDeadAlerts"), sql.Named("token", token.String()),
			sql.Named("lease_ms", millis(lease)))
		return err
	})
	return n, err
}

// NoteAlertAttempt records a failed attempt of an alert token holds.
func (s *Store) NoteAlertAttempt(ctx context.Context, token uuid.UUID, a store.AlertAttempt) (bool, error) {
	query := "NoteDeadAlertAttempt"
	if a.Event == store.AlertEventGroupThreshold {
		query = "NoteGroupAlertAttempt"
	}
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, qa.Get(query), sql.Named("id", a.ID.String()), sql.Named("token", token.String()),
			sql.Named("error", a.Error), sql.Named("retry_ms", millis(a.Retry)))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n == 1, err
}

// ListAlerts returns alerts newest first.
func (s *Store) ListAlerts(ctx context.Context, q store.AlertQuery, page store.Page) ([]store.AlertDelivery, error) {
	var out []store.AlertDelivery
	err := s.read(ctx, func(db querier) error {
		out = []store.AlertDelivery{}
		rows, err := db.QueryContext(ctx, qa.Get("ListAlerts"), sql.Named("app_id", nullID(q.AppID)),
			sql.Named("status", string(q.Status)), sql.Named("before", nullID(page.Before)), sql.Named("limit", page.Limit))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var a store.AlertDelivery
			var status string
			var created int64
			var next, finished sql.NullInt64
			if err := rows.Scan(&a.ID, &a.Event, &a.AppID, &a.Type, &a.Group, &status, &a.Attempts, &a.LastError,
				&next, &created, &finished); err != nil {
				return err
			}
			a.Status = store.AlertStatus(status)
			a.CreatedAt, a.NextAttemptAt, a.FinishedAt = fromMicros(created), fromNullMicros(next), fromNullMicros(finished)
			out = append(out, a)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AlertBacklog counts the pending alerts.
func (s *Store) AlertBacklog(ctx context.Context) (store.AlertBacklog, error) {
	var b store.AlertBacklog
	err := s.read(ctx, func(db querier) error {
		var entry, group sql.NullInt64
		if err := db.QueryRowContext(ctx, qa.Get("AlertBacklog")).Scan(&b.Pending, &entry, &group); err != nil {
			return err
		}
		b.OldestPendingAt = nil
		for _, t := range []sql.NullInt64{entry, group} {
			if t.Valid && (b.OldestPendingAt == nil || fromMicros(t.Int64).Before(*b.OldestPendingAt)) {
				at := fromMicros(t.Int64)
				b.OldestPendingAt = &at
			}
		}
		return nil
	})
	return b, err
}

// PruneAlertLog deletes old records of finished alerts.
func (s *Store) PruneAlertLog(ctx context.Context, olderThan time.Duration, limit int) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, qa.Get("PruneAlertLog"), sql.Named("older_ms", millis(olderThan)), sql.Named("limit", limit))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
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

// AckGroupAlert marks the group's alert sent if token still holds it, recording it in the
// alert log, in one write transaction.
func (s *Store) AckGroupAlert(ctx context.Context, g store.GroupAlert, token uuid.UUID, ack store.AlertAck) (bool, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		args := []any{sql.Named("app_id", g.AppID.String()), sql.Named("type", g.Type), sql.Named("signature", g.Signature),
			sql.Named("token", token.String()), sql.Named("gave_up", ack.GaveUp), sql.Named("delivered", ack.Delivered)}
		if _, err := tx.ExecContext(ctx, qa.Get("LogGroupAlert"), args...); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, qa.Get("AckGroupAlert"), append(args[:4:4], args[5])...)
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
