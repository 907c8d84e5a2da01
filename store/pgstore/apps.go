package pgstore

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sluicehq/sluice/store"
)

// CreateApp inserts an app; a taken name is a *store.FieldError on "name" wrapping
// store.ErrConflict.
func (s *Store) CreateApp(ctx context.Context, app store.App) (store.App, error) {
	rows, _ := s.pool.Query(ctx, q.Get("CreateApp"), app.ID, app.Name)
	out, err := pgx.CollectExactlyOneRow(rows, scanApp)
	if code, _ := pgErrorCode(err); code == codeUniqueViolation {
		return store.App{}, store.AppNameTaken(app.Name)
	}
	return out, err
}

// ListApps returns every app ordered by name.
func (s *Store) ListApps(ctx context.Context) ([]store.App, error) {
	rows, err := s.pool.Query(ctx, q.Get("ListApps"))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanApp)
}

// GetApp returns the app with this id, or store.ErrNotFound.
func (s *Store) GetApp(ctx context.Context, id uuid.UUID) (store.App, error) {
	rows, _ := s.pool.Query(ctx, q.Get("GetApp"), id)
	return oneApp(rows)
}

// GetAppByName returns the app with this name, or store.ErrNotFound.
func (s *Store) GetAppByName(ctx context.Context, name string) (store.App, error) {
	rows, _ := s.pool.Query(ctx, q.Get("GetAppByName"), name)
	return oneApp(rows)
}

// SetAppLimits replaces the app's limits and refills its rate bucket.
func (s *Store) SetAppLimits(ctx context.Context, id uuid.UUID, l store.AppLimits) (store.App, error) {
	rows, _ := s.pool.Query(ctx, q.Get("SetAppLimits"), id, l.MaxRunning, l.Rate, l.Burst)
	return oneApp(rows)
}

func oneApp(rows pgx.Rows) (store.App, error) {
	app, err := pgx.CollectExactlyOneRow(rows, scanApp)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.App{}, store.ErrNotFound
	}
	return app, err
}

func scanApp(row pgx.CollectableRow) (store.App, error) {
	var a store.App
	err := row.Scan(&a.ID, &a.Name, &a.CreatedAt, &a.MaxRunning, &a.Rate, &a.Burst, &a.DisabledAt)
	a.CreatedAt, a.DisabledAt = a.CreatedAt.UTC(), utcPtr(a.DisabledAt)
	return a, err
}
