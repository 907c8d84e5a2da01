package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/internal/migrate"
	"github.com/sluicehq/sluice/store"
)

// MigrateUp applies every pending migration while holding the database's write lock.
func (s *Store) MigrateUp(ctx context.Context) ([]store.Migration, error) {
	return s.withDriver(ctx, func(d *migrationDriver) ([]store.Migration, error) {
		return migrate.Up(ctx, d, s.files)
	})
}

// MigrateDown undoes applied migrations above version to, newest first.
func (s *Store) MigrateDown(ctx context.Context, to int) ([]store.Migration, error) {
	return s.withDriver(ctx, func(d *migrationDriver) ([]store.Migration, error) {
		return migrate.Down(ctx, d, s.files, to)
	})
}

// MigrationStatus lists every known migration and whether it is applied.
func (s *Store) MigrationStatus(ctx context.Context) ([]store.Migration, error) {
	return s.withDriver(ctx, func(d *migrationDriver) ([]store.Migration, error) {
		return migrate.Status(ctx, d, s.files)
	})
}

// withDriver runs fn with a driver and reports the commit that ends the run: the migrations
// fn reports as done are durable only if that commit succeeded.
func (s *Store) withDriver(ctx context.Context, fn func(*migrationDriver) ([]store.Migration, error)) ([]store.Migration, error) {
	d := &migrationDriver{s: s}
	done, err := fn(d)
	if d.commitErr != nil {
		return nil, errors.Join(err, fmt.Errorf("migrate: commit: %w", d.commitErr))
	}
	return done, err
}

// migrationDriver runs a whole migration run in one write transaction (BEGIN IMMEDIATE) on
// the writer: holding SQLite's write lock is the migration lock, which keeps out every other
// writer, in this process or another, until the run ends. Each migration is applied inside a
// savepoint with the row that records it, so a failed one leaves no trace; those applied
// before it are committed when the lock is released.
type migrationDriver struct {
	s         *Store
	tx        *sql.Tx
	commitErr error
}

func (d *migrationDriver) Lock(ctx context.Context) (func(), error) {
	err := d.s.retryBusy(ctx, func() error {
		tx, err := d.s.writer.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, q.Get("CreateMigrationsTable")); err != nil {
			tx.Rollback()
			return err
		}
		d.tx = tx
		return nil
	})
	if err != nil {
		return nil, err
	}
	return func() { d.commitErr = d.tx.Commit() }, nil
}

func (d *migrationDriver) Applied(ctx context.Context) (map[int]time.Time, error) {
	rows, err := d.tx.QueryContext(ctx, q.Get("ListMigrations"))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int]time.Time{}
	for rows.Next() {
		var v int
		var at int64
		if err := rows.Scan(&v, &at); err != nil {
			return nil, err
		}
		out[v] = fromMicros(at)
	}
	return out, rows.Err()
}

func (d *migrationDriver) Apply(ctx context.Context, f migrate.File, up bool) error {
	if _, err := d.tx.ExecContext(ctx, q.Get("MigrationSavepoint")); err != nil {
		return err
	}
	err := d.apply(ctx, f, up)
	if err != nil {
		if _, rbErr := d.tx.ExecContext(ctx, q.Get("MigrationRollback")); rbErr != nil {
			return errors.Join(err, rbErr)
		}
	}
	if _, relErr := d.tx.ExecContext(ctx, q.Get("MigrationRelease")); relErr != nil {
		return errors.Join(err, relErr)
	}
	return err
}

func (d *migrationDriver) apply(ctx context.Context, f migrate.File, up bool) error {
	sqlText := f.Down
	if up {
		sqlText = f.Up
	}
	if _, err := d.tx.ExecContext(ctx, sqlText); err != nil {
		return err
	}
	var err error
	if up {
		_, err = d.tx.ExecContext(ctx, q.Get("RecordMigration"), sql.Named("version", f.Version), sql.Named("name", f.Name))
	} else {
		_, err = d.tx.ExecContext(ctx, q.Get("ForgetMigration"), sql.Named("version", f.Version))
	}
	return err
}
