package sqlitestore

import (
	"context"

	"github.com/sluicehq/sluice/store"
)

// synchronousOff is PRAGMA synchronous's value for OFF.
const synchronousOff = 0

// Health reports Sluice's tables (exact row counts, sizes with indexes from dbstat), the
// database file's size, and a warning when PRAGMA synchronous is OFF. It reads the tables'
// pages, a cost that grows with them.
func (s *Store) Health(ctx context.Context) (store.Health, error) {
	var h store.Health
	err := s.read(ctx, func(db querier) error {
		h = store.Health{}
		var t store.TableHealth
		err := forEachRow(ctx, db, q.Get("TableHealth"), []any{&t.Name, &t.LiveRows, &t.SizeBytes}, func() {
			h.Tables = append(h.Tables, t)
		})
		if err != nil {
			return err
		}
		var synchronous int
		if err := db.QueryRowContext(ctx, q.Get("DatabaseHealth")).Scan(&h.SizeBytes, &synchronous); err != nil {
			return err
		}
		if synchronous == synchronousOff {
			h.Warnings = append(h.Warnings, "PRAGMA synchronous is OFF: a crash of the machine can lose or corrupt committed jobs")
		}
		return nil
	})
	return h, err
}
