package pgstore

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/sluicehq/sluice/store"
)

// Health reports Sluice's tables in the store's schema (the statistics system's row
// estimates, sizes with indexes and TOAST), the database's transaction-id and multixact age
// and size, and a warning for fsync or synchronous_commit being off.
func (s *Store) Health(ctx context.Context) (store.Health, error) {
	var h store.Health
	rows, err := s.pool.Query(ctx, q.Get("TableHealth"), s.schema)
	if err != nil {
		return h, err
	}
	h.Tables, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.TableHealth, error) {
		var t store.TableHealth
		err := row.Scan(&t.Name, &t.LiveRows, &t.DeadRows, &t.SizeBytes)
		return t, err
	})
	if err != nil {
		return h, err
	}
	var fsync, syncCommit string
	err = s.pool.QueryRow(ctx, q.Get("DatabaseHealth")).Scan(&h.XIDAge, &h.MultiXactAge, &h.SizeBytes, &fsync, &syncCommit)
	if err != nil {
		return h, err
	}
	if fsync == "off" {
		h.Warnings = append(h.Warnings, "fsync is off: a crash of the database server can lose or corrupt committed jobs")
	}
	if syncCommit == "off" {
		h.Warnings = append(h.Warnings, "synchronous_commit is off: a crash of the database server can lose the last acknowledged enqueues and outcomes")
	}
	return h, nil
}
