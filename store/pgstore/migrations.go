package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sluicehq/sluice/internal/migrate"
	"github.com/sluicehq/sluice/store"
)

// MigrateUp applies every pending migration under a transaction-scoped advisory lock.
func (s *Store) MigrateUp(ctx context.Context) ([]store.Migration, error) {
	return withDriver(ctx, s, func(d *migrationDriver) ([]store.Migration, error) {
		return migrate.Up(ctx, d, s.files)
	})
}

// MigrateDown undoes applied migrations above version to, newest first.
func (s *Store) MigrateDown(ctx context.Context, to int) ([]store.Migration, error) {
	return withDriver(ctx, s, func(d *migrationDriver) ([]store.Migration, error) {
		return migrate.Down(ctx, d, s.files, to)
	})
}

// MigrationStatus lists every known migration and whether it is applied.
func (s *Store) MigrationStatus(ctx context.Context) ([]store.Migration, error) {
	return withDriver(ctx, s, func(d *migrationDriver) ([]store.Migration, error) {
		return migrate.Status(ctx, d, s.files)
	})
}

// withDriver runs fn with a driver and reports the commit that ends the run: the migrations
// fn reports as done are durable only if that commit succeeded.
func withDriver(ctx context.Context, s *Store, fn func(*migrationDriver) ([]store.Migration, error)) ([]store.Migration, error) {
	d := &migrationDriver{pool: s.pool}
	done, err := fn(d)
	if d.commitErr != nil {
		return nil, errors.Join(err, fmt.Errorf("migrate: commit: %w", d.commitErr))
	}
	return done, err
}

// migrationDriver runs a whole migration run in one transaction, which holds a
// transaction-scoped advisory lock: no session state, so it works the same through a
// transaction pooler such as PgBouncer, and a lock can never outlive its run. Each migration
// is applied inside a savepoint with the row that records it, so a failed one leaves no
// trace; those applied before it are committed when the lock is released.
type migrationDriver struct {
	pool      *pgxpool.Pool
	tx        pgx.Tx
	commitErr error
}

func (d *migrationDriver) Lock(ctx context.Context) (func(), error) {
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, q.Get("MigrationLock")); err != nil {
		tx.Rollback(context.WithoutCancel(ctx))
		return nil, err
	}
	if _, err := tx.Exec(ctx, q.Get("CreateMigrationsTable")); err != nil {
		tx.Rollback(context.WithoutCancel(ctx))
		return nil, err
	}
	d.tx = tx
	return func() {
		// A fresh context: the caller's may be done, and what was applied must commit.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		d.commitErr = d.tx.Commit(ctx)
	}, nil
}

func (d *migrationDriver) Applied(ctx context.Context) (map[int]time.Time, error) {
	rows, err := d.tx.Query(ctx, q.Get("ListMigrations"))
	if err != nil {
		return nil, err
	}
	out := map[int]time.Time{}
	var v int
	var at time.Time
	_, err = pgx.ForEachRow(rows, []any{&v, &at}, func() error {
		out[v] = at
		return nil
	})
	return out, err
}

// Apply runs the migration in a savepoint (a nested pgx transaction) of the run's transaction.
func (d *migrationDriver) Apply(ctx context.Context, f migrate.File, up bool) error {
	return pgx.BeginFunc(ctx, d.tx, func(tx pgx.Tx) error {
		sql := f.Down
		if up {
			sql = f.Up
		}
		if _, err := tx.Exec(ctx, sql); err != nil {
			return err
		}
		var err error
		if up {
			_, err = tx.Exec(ctx, q.Get("RecordMigration"), f.Version, f.Name)
		} else {
			_, err = tx.Exec(ctx, q.Get("ForgetMigration"), f.Version)
		}
		return err
	})
}
