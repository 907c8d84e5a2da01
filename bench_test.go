package sluice_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice"
)

// BenchmarkDrain inserts b.N no-op jobs in bulk, then times workers at their defaults working
// them all to completion (outcomes written). It reports jobs/s. Run:
//
//	go test -run '^$' -bench Drain -benchtime 20000x .
func BenchmarkDrain(b *testing.B) {
	for _, name := range []string{"postgres", "sqlite"} {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			client := openBench(b, name)
			app, err := client.CreateApp(ctx, "bench")
			if err != nil {
				b.Fatal(err)
			}
			for start := 0; start < b.N; start += 1000 {
				batch := make([]sluice.NewJob, min(1000, b.N-start))
				for i := range batch {
					batch[i] = sluice.NewJob{App: app.ID.String(), Type: "noop", Payload: countArgs{N: start + i}}
				}
				if _, err := client.EnqueueMany(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			var done atomic.Int64
			all := make(chan struct{})
			sluice.Handle(client, "noop", func(ctx context.Context, job *sluice.Job, a countArgs) error {
				if done.Add(1) == int64(b.N) {
					close(all)
				}
				return nil
			}, nil)
			b.ResetTimer()
			start := time.Now()
			if err := client.Start(ctx); err != nil {
				b.Fatal(err)
			}
			<-all
			if err := client.Stop(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
		})
	}
}

// openBench opens a migrated client on a fresh database of the backend name, closed when
// the benchmark ends.
func openBench(b *testing.B, name string) *sluice.Client {
	ctx := context.Background()
	client, err := sluice.Open(ctx, backends[name](b), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { client.Close(ctx) })
	if _, err := client.Store().MigrateUp(ctx); err != nil {
		b.Fatal(err)
	}
	return client
}
