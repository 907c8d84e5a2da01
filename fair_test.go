package sluice_test

import (
	"context"
	"errors"
	"math"
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

// TestAppLimitsHoldInTheWorker caps an app at 2 running jobs while its queue could run 10:
// however the jobs are claimed, no more than 2 of the app's handlers ever run at once, and
// every job completes.
func TestAppLimitsHoldInTheWorker(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		const maxRunning, jobs = 2, 12
		cfg := fastConfig()
		cfg.Queues = map[string]sluice.QueueConfig{"default": {Concurrency: 10}}
		b := setup(t, url, cfg)
		if _, err := b.client.SetAppLimits(b.ctx, b.app.Name, sluice.AppLimits{MaxRunning: maxRunning}); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		running, peak, done := 0, 0, 0
		release := make(chan struct{})
		sluice.Handle(b.client, "capped", func(ctx context.Context, job *sluice.Job, a countArgs) error {
			mu.Lock()
			running++
			peak = max(peak, running)
			mu.Unlock()
			<-release
			mu.Lock()
			running--
			done++
			mu.Unlock()
			return nil
		}, nil)
		for i := range jobs {
			b.enqueue(t, "capped", countArgs{N: i})
		}
		b.start(t)
		waitFor(t, "the cap's worth of jobs to run", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return running >= maxRunning
		})
		close(release)
		waitFor(t, "every job to complete", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return done == jobs
		})
		mu.Lock()
		defer mu.Unlock()
		if peak > maxRunning {
			t.Fatalf("%d of the app's jobs ran at once; its cap is %d", peak, maxRunning)
		}
	})
}

func TestSetAppLimitsNamesTheField(t *testing.T) {
	t.Parallel()
	b := setup(t, backends["sqlite"](t), nil)
	for _, c := range []struct {
		limits sluice.AppLimits
		field  string
	}{
		{sluice.AppLimits{MaxRunning: -1}, "maxRunning"},
		{sluice.AppLimits{Rate: math.Inf(1)}, "rate"},
		{sluice.AppLimits{Rate: math.NaN()}, "rate"},
		{sluice.AppLimits{Burst: 3}, "burst"},
		{sluice.AppLimits{Rate: 1, Burst: -1}, "burst"},
	} {
		var fe *sluice.FieldError
		if _, err := b.client.SetAppLimits(b.ctx, b.app.Name, c.limits); !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("SetAppLimits(%+v) = %v; want a field error on %s", c.limits, err, c.field)
		}
	}
	if _, err := b.client.SetAppLimits(b.ctx, "no-such-app", sluice.AppLimits{}); !errors.Is(err, sluice.ErrNotFound) {
		t.Errorf("SetAppLimits of an unknown app = %v; want ErrNotFound", err)
	}
	app, err := b.client.SetAppLimits(b.ctx, b.app.ID.String(), sluice.AppLimits{Rate: 2.5})
	if err != nil || app.Burst != 3 {
		t.Fatalf("SetAppLimits with a rate and no burst = %+v, %v; want the burst 3 (the rate rounded up)", app, err)
	}
}
