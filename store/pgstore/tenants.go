package pgstore

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sluicehq/sluice/internal/sqlfile"
	"github.com/sluicehq/sluice/store"
)

//go:embed tenants.sql
var tenantsSQL string

// qten are the queries of the tenant lifecycle, in tenants.sql.
var qten = sqlfile.MustParse(tenantsSQL)

// lockApp locks the app's row for the rest of tx and returns its name, or store.ErrNotFound.
func lockApp(ctx context.Context, tx pgx.Tx, id uuid.UUID) (string, error) {
	var name string
	err := tx.QueryRow(ctx, qten.Get("LockApp"), id).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", store.ErrNotFound
	}
	return name, err
}

// RenameApp gives the app a new name.
func (s *Store) RenameApp(ctx context.Context, id uuid.UUID, name string, audit *store.Audit) (store.App, error) {
	var app store.App
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		old, err := lockApp(ctx, tx, id)
		if err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, qten.Get("RenameApp"), id, name)
		if app, err = pgx.CollectExactlyOneRow(rows, scanApp); err != nil {
			return err
		}
		return recordAudit(ctx, tx, renameAudit(audit, old, name), 1)
	})
	if code, _ := pgErrorCode(err); code == codeUniqueViolation {
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
	return appHoldings(ctx, s.pool, id)
}

func appHoldings(ctx context.Context, db querier, id uuid.UUID) (store.AppHoldings, error) {
	var h store.AppHoldings
	err := db.QueryRow(ctx, qten.Get("AppHoldings"), id).Scan(&h.PendingJobs, &h.RunningJobs, &h.FinishedJobs,
		&h.DeadJobs, &h.ReplayedDeadJobs, &h.Tokens, &h.RetentionPolicies, &h.Schedules, &h.Pauses)
	if errors.Is(err, pgx.ErrNoRows) {
		return h, store.ErrNotFound
	}
	return h, err
}

// PurgeAppBatch deletes up to batch.Limit rows the app holds, in one transaction.
func (s *Store) PurgeAppBatch(ctx context.Context, id uuid.UUID, batch store.PurgeBatch) (store.AppRows, error) {
	var out store.AppRows
	err := s.inTx(ctx, func(tx pgx.Tx) error {
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
			tag, err := tx.Exec(ctx, qten.Get(step.query), id, left)
			if err != nil {
				return err
			}
			*step.n = tag.RowsAffected()
			left -= *step.n
		}
		return recordPurgeAudit(ctx, tx, batch.Audit, out, int(out.Total()))
	})
	return out, err
}

// DeleteApp deletes the app if it holds nothing.
func (s *Store) DeleteApp(ctx context.Context, id uuid.UUID, audit *store.Audit) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := lockApp(ctx, tx, id); err != nil {
			return err
		}
		h, err := appHoldings(ctx, tx, id)
		if err != nil {
			return err
		}
		if !h.Empty() {
			return &store.AppNotEmptyError{AppID: id, Holdings: h}
		}
		for _, name := range []string{"CancelAppReplayOps", "DeleteAppAlertGroups", "DeleteAppTrimReports", "DeleteApp"} {
			if _, err := tx.Exec(ctx, qten.Get(name), id); err != nil {
				return err
			}
		}
		return recordPurgeAudit(ctx, tx, audit, store.AppRows{}, 1)
	})
}

// RotateToken replaces the token's secret.
func (s *Store) RotateToken(ctx context.Context, id uuid.UUID, rot store.TokenRotation) (store.Token, error) {
	rows, _ := s.pool.Query(ctx, qten.Get("RotateToken"), id, rot.SecretHash, rot.PreviousExpiresAt)
	t, err := pgx.CollectExactlyOneRow(rows, scanToken)
	if errors.Is(err, pgx.ErrNoRows) {
		if _, err := s.GetToken(ctx, id); err != nil {
			return store.Token{}, err
		}
		return store.Token{}, store.TokenRevoked()
	}
	return t, err
}

// recordPurgeAudit adds count to the audit row of a's operation and rows to its
// details.deleted, inside tx.
func recordPurgeAudit(ctx context.Context, tx pgx.Tx, a *store.Audit, rows store.AppRows, count int) error {
	if a == nil {
		return nil
	}
	var prev []byte
	if err := tx.QueryRow(ctx, qten.Get("AuditDetails"), a.ID).Scan(&prev); err != nil && !errors.Is(err, pgx.ErrNoRows) {
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
