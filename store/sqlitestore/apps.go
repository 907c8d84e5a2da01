package sqlitestore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/google/uuid"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sluicehq/sluice/store"
)

// CreateApp inserts an app; a taken name is a *store.FieldError on "name" wrapping
// store.ErrConflict.
func (s *Store) CreateApp(ctx context.Context, app store.App) (store.App, error) {
	var out store.App
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = scanApp(tx.QueryRowContext(ctx, q.Get("CreateApp"),
			sql.Named("id", app.ID.String()), sql.Named("name", app.Name)))
		return err
	})
	switch sqliteCode(err) {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		// As on PostgreSQL, any uniqueness violation is the name's (ids are UUIDv7s).
		return store.App{}, store.AppNameTaken(app.Name)
	}
	if err != nil {
		return store.App{}, err
	}
	return out, nil
}

// ListApps returns every app ordered by name.
func (s *Store) ListApps(ctx context.Context) ([]store.App, error) {
	var apps []store.App
	err := s.read(ctx, func(db querier) error {
		apps = []store.App{}
		rows, err := db.QueryContext(ctx, q.Get("ListApps"))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			a, err := scanApp(rows)
			if err != nil {
				return err
			}
			apps = append(apps, a)
		}
		return rows.Err()
	})
	return apps, err
}

// GetApp returns the app with this id, or store.ErrNotFound.
func (s *Store) GetApp(ctx context.Context, id uuid.UUID) (store.App, error) {
	return s.oneApp(ctx, q.Get("GetApp"), sql.Named("id", id.String()))
}

// GetAppByName returns the app with this name, or store.ErrNotFound.
func (s *Store) GetAppByName(ctx context.Context, name string) (store.App, error) {
	return s.oneApp(ctx, q.Get("GetAppByName"), sql.Named("name", name))
}

// SetAppLimits replaces the app's limits and refills its rate bucket.
func (s *Store) SetAppLimits(ctx context.Context, id uuid.UUID, l store.AppLimits) (store.App, error) {
	var app store.App
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		app, err = scanApp(tx.QueryRowContext(ctx, q.Get("SetAppLimits"), sql.Named("id", id.String()),
			sql.Named("max_running", l.MaxRunning), sql.Named("rate", l.Rate), sql.Named("burst", l.Burst)))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return store.App{}, store.ErrNotFound
	}
	return app, err
}

func (s *Store) oneApp(ctx context.Context, query string, args ...any) (store.App, error) {
	var app store.App
	err := s.read(ctx, func(db querier) error {
		var err error
		app, err = scanApp(db.QueryRowContext(ctx, query, args...))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return store.App{}, store.ErrNotFound
	}
	return app, err
}

// scanner is a row: *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

func scanApp(row scanner) (store.App, error) {
	var a store.App
	var created int64
	var disabled sql.NullInt64
	if err := row.Scan(&a.ID, &a.Name, &created, &a.MaxRunning, &a.Rate, &a.Burst, &disabled); err != nil {
		return store.App{}, err
	}
	a.CreatedAt, a.DisabledAt = fromMicros(created), fromNullMicros(disabled)
	return a, nil
}
