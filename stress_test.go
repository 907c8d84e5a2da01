package sluice_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice"
)

// stressCycles is how many open–start–stop–close cycles TestStartStopStress runs:
// SLUICE_STRESS_CYCLES, or 24 (CI-sized).
func stressCycles(t *testing.T) int {
	if s := os.Getenv("SLUICE_STRESS_CYCLES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("SLUICE_STRESS_CYCLES=%q: want a positive count", s)
		}
		return n
	}
	return 24
}

// TestStartStopStress opens, starts, stops and closes clients over and over while jobs are
// enqueued and running — every long-lived component (store pools, PostgreSQL's notifier and
// listener, claimers, executors, the completer, heartbeat and rescuer) is started and stopped
// each cycle, by a graceful stop, a stop with no grace at all, or a stop at once after Start.
// No job is lost, none runs twice at once, and TestMain's goleak finds no goroutine left.
func TestStartStopStress(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		b := setup(t, url, nil)
		var mu sync.Mutex
		running := map[uuid.UUID]bool{}
		runs := map[uuid.UUID]int{}
		handler := func(ctx context.Context, job *sluice.Job, a countArgs) error {
			mu.Lock()
			if running[job.ID] {
				mu.Unlock()
				t.Errorf("job %s runs twice at once", job.ID)
				return nil
			}
			running[job.ID] = true
			runs[job.ID]++
			mu.Unlock()
			defer func() {
				mu.Lock()
				delete(running, job.ID)
				mu.Unlock()
			}()
			return nil
		}
		var all []sluice.Job
		completed := func(c *sluice.Client) func() bool {
			return func() bool {
				for _, j := range all {
					got, err := c.GetJob(b.ctx, j.ID)
					if err != nil {
						t.Fatal(err)
					}
					if got.Status != sluice.StatusCompleted {
						return false
					}
				}
				return true
			}
		}
		cycle := func(i int, last bool) {
			c, err := sluice.Open(b.ctx, url, fastConfig())
			if err != nil {
				t.Fatal(err)
			}
			sluice.Handle(c, "stress", handler, nil)
			if err := c.Start(b.ctx); err != nil {
				t.Fatal(err)
			}
			batch := make([]sluice.NewJob, 20)
			for k := range batch {
				batch[k] = sluice.NewJob{App: b.app.Name, Type: "stress", Payload: countArgs{N: i*100 + k}}
			}
			res, err := c.EnqueueMany(b.ctx, batch)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res {
				all = append(all, r.Job)
			}
			stopCtx := b.ctx
			switch {
			case last || i%3 == 2:
				waitFor(t, fmt.Sprintf("cycle %d's jobs to complete", i), completed(c))
			case i%3 == 0:
				// No grace: handlers are cancelled at once and their jobs released.
				ctx, cancel := context.WithCancel(b.ctx)
				cancel()
				stopCtx = ctx
			}
			if err := c.Stop(stopCtx); err != nil && stopCtx == b.ctx {
				t.Fatalf("cycle %d: graceful stop: %v", i, err)
			}
			if err := c.Close(b.ctx); err != nil {
				t.Fatalf("cycle %d: close: %v", i, err)
			}
		}
		n := stressCycles(t)
		for i := range n {
			cycle(i, i == n-1)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, j := range all {
			if runs[j.ID] < 1 {
				t.Errorf("job %s completed without its handler running", j.ID)
			}
		}
		t.Logf("%d cycles, %d jobs, all completed", n, len(all))
	})
}
