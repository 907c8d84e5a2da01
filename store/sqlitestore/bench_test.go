package sqlitestore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/internal/testdb"
	"github.com/sluicehq/sluice/store"
	"github.com/sluicehq/sluice/store/sqlitestore"
)

// benchStore opens a fresh migrated store with the given URL query and one app.
func benchStore(b *testing.B, query string) (*sqlitestore.Store, uuid.UUID) {
	b.Helper()
	s, err := sqlitestore.Open(context.Background(), testdb.SQLite(b)+query)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if _, err := s.MigrateUp(context.Background()); err != nil {
		b.Fatal(err)
	}
	app, err := s.CreateApp(context.Background(), store.App{ID: uuid.Must(uuid.NewV7()), Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	return s, app.ID
}

var syncModes = []string{"", "?synchronous=normal"}

func syncName(q string) string {
	if q == "" {
		return "full"
	}
	return "normal"
}

func BenchmarkInsertJobs(b *testing.B) {
	for _, q := range syncModes {
		for _, batch := range []int{1, 100} {
			b.Run(fmt.Sprintf("sync=%s/batch=%d", syncName(q), batch), func(b *testing.B) {
				s, app := benchStore(b, q)
				ctx := context.Background()
				jobs := make([]store.InsertJob, batch)
				b.ResetTimer()
				for b.Loop() {
					for i := range jobs {
						jobs[i] = newJob(app, "t")
					}
					if _, err := s.InsertJobs(ctx, nil, jobs); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "jobs/s")
			})
		}
	}
}

// BenchmarkClaimFinish measures one worker round: claim 10 jobs, complete them.
func BenchmarkClaimFinish(b *testing.B) {
	for _, q := range syncModes {
		b.Run("sync="+syncName(q), func(b *testing.B) {
			s, app := benchStore(b, q)
			ctx := context.Background()
			jobs := make([]store.InsertJob, 1000)
			refill := func() {
				for i := range jobs {
					jobs[i] = newJob(app, "t")
				}
				if _, err := s.InsertJobs(ctx, nil, jobs); err != nil {
					b.Fatal(err)
				}
			}
			refill()
			b.ResetTimer()
			for b.Loop() {
				claimed, err := s.ClaimJobs(ctx, store.ClaimParams{Queue: "default", Types: []string{"t"}, Limit: 10,
					LeaseToken: uuid.New(), LeaseDuration: time.Minute})
				if err != nil {
					b.Fatal(err)
				}
				if len(claimed) == 0 {
					b.StopTimer()
					refill()
					b.StartTimer()
					continue
				}
				fin := make([]store.Finish, len(claimed))
				for i, j := range claimed {
					fin[i] = store.Finish{Lease: store.Lease{JobID: j.ID, Token: *j.LeaseToken}, Outcome: store.OutcomeComplete}
				}
				if _, err := s.FinishJobs(ctx, fin); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*10)/b.Elapsed().Seconds(), "jobs/s")
		})
	}
}

// BenchmarkListDead pages through a DLQ of 20k entries filtered by app, the listing's
// common case, to see what the id-ordered scan costs.
func BenchmarkListDead(b *testing.B) {
	s, app := benchStore(b, "?synchronous=normal")
	ctx := context.Background()
	other, err := s.CreateApp(ctx, store.App{ID: uuid.Must(uuid.NewV7()), Name: "other"})
	if err != nil {
		b.Fatal(err)
	}
	const n = 20000
	for start := 0; start < n; start += 500 {
		jobs := make([]store.InsertJob, 500)
		for i := range jobs {
			a := app
			if (start+i)%10 != 0 {
				a = other.ID // the filtered app has 1 in 10 entries
			}
			jobs[i] = newJob(a, "t")
			jobs[i].MaxAttempts = 1
		}
		if _, err := s.InsertJobs(ctx, nil, jobs); err != nil {
			b.Fatal(err)
		}
		claimed, err := s.ClaimJobs(ctx, store.ClaimParams{Queue: "default", Types: []string{"t"}, Limit: 500,
			LeaseToken: uuid.New(), LeaseDuration: time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		fin := make([]store.Finish, len(claimed))
		for i, j := range claimed {
			fin[i] = store.Finish{Lease: store.Lease{JobID: j.ID, Token: *j.LeaseToken}, Outcome: store.OutcomeDeadLetter, Error: "boom"}
		}
		if _, err := s.FinishJobs(ctx, fin); err != nil {
			b.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		f    store.DeadFilter
	}{
		{"all", store.DeadFilter{}},
		{"app", store.DeadFilter{AppID: &app}},
		{"error", store.DeadFilter{ErrorContains: "boo"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.ListDead(ctx, tc.f, store.Page{Limit: 50}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
