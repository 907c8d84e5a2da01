package pgstore

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sluicehq/sluice/store"
)

// CreateToken stores a new API token.
func (s *Store) CreateToken(ctx context.Context, t store.Token) (store.Token, error) {
	rows, _ := s.pool.Query(ctx, q.Get("CreateToken"), t.ID, t.Name, t.AppID, t.ReadOnly, t.SecretHash, t.ExpiresAt)
	out, err := pgx.CollectExactlyOneRow(rows, scanToken)
	if code, constraint := pgErrorCode(err); code == codeForeignKeyViolation && constraint == "api_tokens_app_id_fkey" {
		return store.Token{}, store.UnknownApp()
	}
	return out, err
}

// GetToken returns the token with this id, or store.ErrNotFound.
func (s *Store) GetToken(ctx context.Context, id uuid.UUID) (store.Token, error) {
	rows, _ := s.pool.Query(ctx, q.Get("GetToken"), id)
	t, err := pgx.CollectExactlyOneRow(rows, scanToken)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Token{}, store.ErrNotFound
	}
	return t, err
}

// ListTokens returns every token, newest first.
func (s *Store) ListTokens(ctx context.Context) ([]store.Token, error) {
	rows, err := s.pool.Query(ctx, q.Get("ListTokens"))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanToken)
}

// RevokeToken marks the token revoked, or returns store.ErrNotFound.
func (s *Store) RevokeToken(ctx context.Context, id uuid.UUID) error {
	tag, err := s.pool.Exec(ctx, q.Get("RevokeToken"), id)
	if err == nil && tag.RowsAffected() == 0 {
		err = store.ErrNotFound
	}
	return err
}

func scanToken(row pgx.CollectableRow) (store.Token, error) {
	var t store.Token
	err := row.Scan(&t.ID, &t.Name, &t.AppID, &t.ReadOnly, &t.SecretHash, &t.CreatedAt, &t.ExpiresAt, &t.RevokedAt,
		&t.RotatedAt, &t.PreviousSecretHash, &t.PreviousExpiresAt)
	t.CreatedAt, t.ExpiresAt, t.RevokedAt = t.CreatedAt.UTC(), utcPtr(t.ExpiresAt), utcPtr(t.RevokedAt)
	t.RotatedAt, t.PreviousExpiresAt = utcPtr(t.RotatedAt), utcPtr(t.PreviousExpiresAt)
	return t, err
}

// recordAudit adds count to the audit row of a's operation, inside tx.
func recordAudit(ctx context.Context, tx querier, a *store.Audit, count int) error {
	if a == nil {
		return nil
	}
	details := a.Details
	if len(details) == 0 {
		details = []byte("{}")
	}
	_, err := tx.Exec(ctx, q.Get("RecordAudit"), a.ID, a.Actor, a.Action, a.AppID, string(details), count)
	return err
}

// ListAudit returns audit-log entries, newest first.
func (s *Store) ListAudit(ctx context.Context, page store.Page) ([]store.AuditEntry, error) {
	rows, err := s.pool.Query(ctx, q.Get("ListAudit"), page.Before, page.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.AuditEntry, error) {
		var e store.AuditEntry
		err := row.Scan(&e.ID, &e.At, &e.Actor, &e.Action, &e.AppID, &e.Details, &e.Count)
		e.At = e.At.UTC()
		return e, err
	})
}
