package pgstore

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sluicehq/sluice/store"
)

// Stats counts jobs by state and un-replayed entries per app and type.
func (s *Store) Stats(ctx context.Context) ([]store.TypeStats, error) {
	var b store.StatsBuilder
	var app uuid.UUID
	var jobType string
	var oldest *time.Time
	var pending, retrying, running, completed, cancelled int64
	rows, err := s.pool.Query(ctx, q.Get("JobStats"))
	if err != nil {
		return nil, err
	}
	_, err = pgx.ForEachRow(rows, []any{&app, &jobType, &pending, &retrying, &running, &completed, &cancelled, &oldest}, func() error {
		st := b.Get(app, jobType)
		st.Pending, st.Retrying, st.Running, st.Completed, st.Cancelled = pending, retrying, running, completed, cancelled
		st.OldestPendingRunAt = utcPtr(oldest)
		return nil
	})
	if err != nil {
		return nil, err
	}
	var dead, groups int64
	if rows, err = s.pool.Query(ctx, q.Get("DeadStats")); err != nil {
		return nil, err
	}
	_, err = pgx.ForEachRow(rows, []any{&app, &jobType, &dead, &oldest, &groups}, func() error {
		st := b.Get(app, jobType)
		st.Dead, st.OldestDeadAt, st.DeadGroups = dead, utcPtr(oldest), groups
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b.Result(), nil
}
