package sqlitestore

import (
	"context"
	"database/sql"
	_ "embed"
	"encoding/json"
	"errors"

	"github.com/google/uuid"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sluicehq/sluice/internal/sqlfile"
	"github.com/sluicehq/sluice/store"
)

//go:embed tenants.sql
var tenantsSQL string

// qten are the queries of the tenant lifecycle, in tenants.sql.
var qten = sqlfile.MustParse(tenantsSQL)

// appName returns the app's name inside tx, or store.ErrNotFound.
func appName(ctx context.Context, tx *sql.Tx, id uuid.UUID) (string, error) {
	var name string
	err := tx.QueryRowContext(ctx, qten.Get("GetAppName"), sql.Named("id", id.String())).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", store.ErrNotFound
	}
	return name, err
}

// RenameApp gives the app a new name.
func (s *Store) RenameApp(ctx context.Context, id uuid.UUID, name string, audit *store.Audit) (store.App, error) {
	var app store.App
	err := s.write(ctx, func(tx *sql.Tx) error {
		old, err := appName(ctx, tx, id)
		if err != nil {
			return err
		}
		app, err = scanApp(tx.QueryRowContext(ctx, qten.Get("RenameApp"), sql.Named("id", id.String()), sql.Named("name", name)))
		if err != nil {
			return err
		}
		return recordAudit(ctx, tx, renameAudit(audit, old, name), 1)
	})
	switch sqliteCode(err) {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return store.App{}, store.AppNameTaken(name)
	}
	if err != nil {
		return store.App{}, err
	}
	return app, nil
}

// renameAudit returns audit with the rename's details, or nil.
func renameAudit(audit *store.Audit, from, to string) *store.Audit {
	if audit == nil {
		return nil
	}
	a := *audit
	a.Details, _ = json.Marshal(map[string]string{"from": from, "to": to}) // strings always encode
	return &a
}

// AppHoldings counts what the app holds.
func (s *Store) AppHoldings(ctx context.Context, id uuid.UUID) (store.AppHoldings, error) {
	var h store.AppHoldings
	err := s.read(ctx, func(db querier) error {
		var err error
		h, err = appHoldings(ctx, db, id)
		return err
	})
	return h, err
}

func appHoldings(ctx context.Context, db querier, id uuid.UUID) (store.AppHoldings, error) {
	var h store.AppHoldings
	err := db.QueryRowContext(ctx, qten.Get("AppHoldings"), sql.Named("id", id.String())).Scan(&h.PendingJobs,
		&h.RunningJobs, &h.FinishedJobs, &h.DeadJobs, &h.ReplayedDeadJobs, &h.Tokens, &h.RetentionPolicies, &h.Schedules, &h.Pauses)
	if errors.Is(err, sql.ErrNoRows) {
		return h, store.ErrNotFound
	}
	return h, err
}

// PurgeAppBatch deletes up to batch.Limit rows the app holds, in one transaction.
func (s *Store) PurgeAppBatch(ctx context.Context, id uuid.UUID, batch store.PurgeBatch) (store.AppRows, error) {
	var out store.AppRows
	err := s.write(ctx, func(tx *sql.Tx) error {
		out = store.AppRows{}
		left := int64(batch.Limit)
		for _, step := range []struct {
			query string
			n     *int64
		}{
			{"PurgeAppJobs", &out.Jobs}, {"PurgeAppDead", &out.DeadJobs},
			{"PurgeAppTokens", &out.Tokens}, {"PurgeAppPolicies", &out.RetentionPolicies},
		} {
			if left == 0 {
				break
			}
			res, err := tx.ExecContext(ctx, qten.Get(step.query), sql.Named("id", id.String()), sql.Named("limit", left))
			if err != nil {
				return err
			}
			if *step.n, err = res.RowsAffected(); err != nil {
				return err
			}
			left -= *step.n
		}
		return recordPurgeAudit(ctx, tx, batch.Audit, out, int(out.Total()))
	})
	return out, err
}

// DeleteApp deletes the app if it holds nothing.
func (s *Store) DeleteApp(ctx context.Context, id uuid.UUID, audit *store.Audit) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		h, err := appHoldings(ctx, tx, id)
		if err != nil {
			return err
		}
		if !h.Empty() {
			return &store.AppNotEmptyError{AppID: id, Holdings: h}
		}
		for _, name := range []string{"CancelAppReplayOps", "DeleteAppAlertGroups", "DeleteAppTrimReports", "DeleteApp"} {
			if _, err := tx.ExecContext(ctx, qten.Get(name), sql.Named("id", id.String())); err != nil {
				return err
			}
		}
		return recordPurgeAudit(ctx, tx, audit, store.AppRows{}, 1)
	})
}

// RotateToken replaces the token's secret.
func (s *Store) RotateToken(ctx context.Context, id uuid.UUID, rot store.TokenRotation) (store.Token, error) {
	var t store.Token
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		t, err = scanToken(tx.QueryRowContext(ctx, qten.Get("RotateToken"), sql.Named("id", id.String()),
			sql.Named("secret_hash", rot.SecretHash), sql.Named("previous_expires_at", nullMicros(rot.PreviousExpiresAt))))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := s.GetToken(ctx, id); err != nil {
			return store.Token{}, err
		}
		return store.Token{}, store.TokenRevoked()
	}
	return t, err
}

// recordPurgeAudit adds count to the audit row of a's operation and rows to its
// details.deleted, inside tx.
func recordPurgeAudit(ctx context.Context, tx *sql.Tx, a *store.Audit, rows store.AppRows, count int) error {
	if a == nil {
		return nil
	}
	var prev []byte
	err := tx.QueryRowContext(ctx, qten.Get("AuditDetails"), sql.Named("id", a.ID.String())).Scan(&prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	details, err := store.AddDeleted(prev, a.Details, rows)
	if err != nil {
		return err
	}
	withRows := *a
	withRows.Details = details
	return recordAudit(ctx, tx, &withRows, count)
}
