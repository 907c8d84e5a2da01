package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sluicehq/sluice/internal/migrate"
	"github.com/sluicehq/sluice/store"
)

// MigrateUp applies every pending migration under a session advisory lock.
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

func withDriver(ctx context.Context, s *Store, fn func(*migrationDriver) ([]store.Migration, error)) ([]store.Migration, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	return fn(&migrationDriver{conn: conn})
}

// migrationDriver runs the whole migration on one connection, which holds the advisory lock.
type migrationDriver struct {
	conn *pgxpool.Conn
}

func (d *migrationDriver) Lock(ctx context.Context) (func(), error) {
	if _, err := d.conn.Exec(ctx, q.Get("MigrationLock")); err != nil {
		return nil, err
	}
	unlock := func() {
		// A fresh context: the caller's may be done, and the lock must still be released.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := d.conn.Exec(ctx, q.Get("MigrationUnlock")); err != nil {
			// The session lock dies with the connection; make sure it does.
			d.conn.Conn().Close(ctx)
		}
	}
	if _, err := d.conn.Exec(ctx, q.Get("CreateMigrationsTable")); err != nil {
		unlock()
		return nil, err
	}
	return unlock, nil
}

func (d *migrationDriver) Applied(ctx context.Context) (map[int]time.Time, error) {
	rows, err := d.conn.Query(ctx, q.Get("ListMigrations"))
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

func (d *migrationDriver) Apply(ctx context.Context, f migrate.File, up bool) error {
	return pgx.BeginFunc(ctx, d.conn, func(tx pgx.Tx) error {
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
