package sqlitestore

import (
	"context"
	"database/sql"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/store"
)

// Stats counts jobs by state and un-replayed entries per app and type.
func (s *Store) Stats(ctx context.Context) ([]store.TypeStats, error) {
	var out []store.TypeStats
	err := s.read(ctx, func(db querier) error {
		var b store.StatsBuilder
		var app uuid.UUID
		var jobType string
		var oldest sql.NullInt64
		var pending, retrying, running, completed, cancelled, dead, groups int64
		err := forEachRow(ctx, db, q.Get("JobStats"), []any{&app, &jobType, &pending, &retrying, &running, &completed, &cancelled, &oldest}, func() {
			st := b.Get(app, jobType)
			st.Pending, st.Retrying, st.Running, st.Completed, st.Cancelled = pending, retrying, running, completed, cancelled
			st.OldestPendingRunAt = fromNullMicros(oldest)
		})
		if err != nil {
			return err
		}
		err = forEachRow(ctx, db, q.Get("DeadStats"), []any{&app, &jobType, &dead, &oldest, &groups}, func() {
			st := b.Get(app, jobType)
			st.Dead, st.OldestDeadAt, st.DeadGroups = dead, fromNullMicros(oldest), groups
		})
		out = b.Result()
		return err
	})
	return out, err
}

// forEachRow scans each row of a query into dest and calls fn after each.
func forEachRow(ctx context.Context, db querier, query string, dest []any, fn func()) error {
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		fn()
	}
	return rows.Err()
}
