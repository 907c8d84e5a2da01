package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/google/uuid"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sluicehq/sluice/store"
)

// CreateToken stores a new API token.
func (s *Store) CreateToken(ctx context.Context, t store.Token) (store.Token, error) {
	var out store.Token
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = scanToken(tx.QueryRowContext(ctx, q.Get("CreateToken"),
			sql.Named("id", t.ID.String()), sql.Named("name", t.Name), sql.Named("app_id", nullID(t.AppID)),
			sql.Named("read_only", t.ReadOnly), sql.Named("secret_hash", t.SecretHash),
			sql.Named("expires_at", nullMicros(t.ExpiresAt))))
		if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
			return store.UnknownApp()
		}
		return err
	})
	return out, err
}

// GetToken returns the token with this id, or store.ErrNotFound.
func (s *Store) GetToken(ctx context.Context, id uuid.UUID) (store.Token, error) {
	var t store.Token
	err := s.read(ctx, func(db querier) error {
		var err error
		t, err = scanToken(db.QueryRowContext(ctx, q.Get("GetToken"), sql.Named("id", id.String())))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return store.Token{}, store.ErrNotFound
	}
	return t, err
}

// ListTokens returns every token, newest first.
func (s *Store) ListTokens(ctx context.Context) ([]store.Token, error) {
	var out []store.Token
	err := s.read(ctx, func(db querier) error {
		rows, err := db.QueryContext(ctx, q.Get("ListTokens"))
		if err != nil {
			return err
		}
		defer rows.Close()
		out = nil
		for rows.Next() {
			t, err := scanToken(rows)
			if err != nil {
				return err
			}
			out = append(out, t)
		}
		return rows.Err()
	})
	return out, err
}

// RevokeToken marks the token revoked, or returns store.ErrNotFound.
func (s *Store) RevokeToken(ctx context.Context, id uuid.UUID) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, q.Get("RevokeToken"), sql.Named("id", id.String()))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return store.ErrNotFound
		}
		return err
	})
}

func scanToken(row scanner) (store.Token, error) {
	var t store.Token
	var createdAt int64
	var expiresAt, revokedAt, rotatedAt, previousExpiresAt sql.NullInt64
	err := row.Scan(&t.ID, &t.Name, &t.AppID, &t.ReadOnly, &t.SecretHash, &createdAt, &expiresAt, &revokedAt,
		&rotatedAt, &t.PreviousSecretHash, &previousExpiresAt)
	if err != nil {
		return store.Token{}, err
	}
	t.CreatedAt, t.ExpiresAt, t.RevokedAt = fromMicros(createdAt), fromNullMicros(expiresAt), fromNullMicros(revokedAt)
	t.RotatedAt, t.PreviousExpiresAt = fromNullMicros(rotatedAt), fromNullMicros(previousExpiresAt)
	return t, nil
}

// recordAudit adds count to the audit row of a's operation, inside tx.
func recordAudit(ctx context.Context, tx *sql.Tx, a *store.Audit, count int) error {
	if a == nil {
		return nil
	}
	details := a.Details
	if len(details) == 0 {
		details = []byte("{}")
	}
	_, err := tx.ExecContext(ctx, q.Get("RecordAudit"), sql.Named("id", a.ID.String()), sql.Named("actor", a.Actor),
		sql.Named("action", a.Action), sql.Named("app_id", nullID(a.AppID)), sql.Named("details", string(details)),
		sql.Named("count", count))
	return err
}

// ListAudit returns audit-log entries, newest first.
func (s *Store) ListAudit(ctx context.Context, page store.Page) ([]store.AuditEntry, error) {
	var out []store.AuditEntry
	err := s.read(ctx, func(db querier) error {
		rows, err := db.QueryContext(ctx, q.Get("ListAudit"), sql.Named("before", nullID(page.Before)), sql.Named("limit", page.Limit))
		if err != nil {
			return err
		}
		defer rows.Close()
		out = nil
		for rows.Next() {
			var e store.AuditEntry
			var at int64
			var details string
			if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.AppID, &details, &e.Count); err != nil {
				return err
			}
			e.At, e.Details = fromMicros(at), json.RawMessage(details)
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, err
}
