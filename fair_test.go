package sluice_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice"
)

// TestFloodedAppDoesNotStarveAnother enqueues 2,000 jobs of one app and then 5 of another, all
// due before the workers start, and records the order in which handlers start. Claims share
// jobs between the apps with due jobs, so the second app's jobs start among the first few —
// within the bound docs/guarantees.md states: before an app's first due job starts, a worker
// starts at most the jobs it already held when that job became due (at most 4 × the queue's
// concurrency), here none. Claimed in priority-then-age order without sharing, they would
// start after all 2,000.
func TestFloodedAppDoesNotStarveAnother(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		const concurrency, flood, few = 2, 2000, 5
		cfg := fastConfig()
		cfg.Queues = map[string]sluice.QueueConfig{"default": {Concurrency: concurrency}}
		b := setup(t, url, cfg)
		quiet, err := b.client.CreateApp(b.ctx, "quiet-"+b.app.Name)
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var started []uuid.UUID // app ids, in the order handlers started
		quietDone := make(chan struct{})
		sluice.Handle(b.client, "work", func(ctx context.Context, job *sluice.Job, a countArgs) error {
			mu.Lock()
			defer mu.Unlock()
			started = append(started, job.AppID)
			if job.AppID == quiet.ID && countOf(started, quiet.ID) == few {
				close(quietDone)
			}
			return nil
		}, nil)
		enqueue := func(app string, n int) {
			batch := make([]sluice.NewJob, n)
			for i := range batch {
				batch[i] = sluice.NewJob{App: app, Type: "work", Payload: countArgs{N: i}}
			}
			if _, err := b.client.EnqueueMany(b.ctx, batch); err != nil {
				t.Fatal(err)
			}
		}
		enqueue(b.app.Name, flood)
		enqueue(quiet.Name, few)
		b.start(t)
		<-quietDone
		if err := b.client.Stop(b.ctx); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		first := slices.Index(started, quiet.ID)
		// Each claim shares its jobs evenly: the quiet app's five are in the first claims,
		// interleaved with as many of the flood's.
		if bound := 2 * few; first < 0 || first >= concurrency*4 || len(started) > bound+concurrency*4 {
			t.Fatalf("the quiet app's first job started after %d of the flood's, its last after %d jobs in all; want its first within %d and all within %d",
				first, len(started), concurrency*4, bound+concurrency*4)
		}
	})
}

// countOf counts id in ids.
func countOf(ids []uuid.UUID, id uuid.UUID) int {
	n := 0
	for _, x := range ids {
		if x == id {
			n++
		}
	}
	return n
}
