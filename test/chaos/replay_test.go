package chaos

import (
	"testing"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/test/chaos/worker/event"
)

// TestKill9DuringDurableReplay starts a rate-limited bulk replay operation, kills the worker
// process advancing it with SIGKILL between two of its batches, and lets two fresh workers
// take it over once its lease expires: the operation ends done, with every entry replayed
// exactly once (one job per entry, the counts matching).
func TestKill9DuringDurableReplay(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		c := newCluster(t, url)
		n := scaled(120)
		// Jobs that fail unless they are a replay: one attempt each, then dead-lettered.
		c.enqueue(n, 1, func(int) event.Args { return event.Args{FailUnlessReplayed: true} })
		w0 := c.startWorker()
		c.waitFor("every job to be dead-lettered", func() bool { return len(c.snapshot().dead) == n })

		// 40 entries a second: batches of 40, a second apart, so the kill lands between two.
		// Five attempts each, so that a replayed job the kill abandons is retried, not
		// dead-lettered again.
		op, err := c.client.DLQ().StartReplay(c.ctx, sluice.Filter{App: c.app.ID.String()}, sluice.ReplayOptions{Rate: 40, Attempts: 5})
		if err != nil {
			t.Fatal(err)
		}
		c.waitFor("the worker to replay a first batch", func() bool {
			cur, err := c.client.DLQ().Operation(c.ctx, op.ID)
			if err != nil {
				t.Fatal(err)
			}
			return cur.Replayed > 0
		})
		w0.kill9()
		cur, err := c.client.DLQ().Operation(c.ctx, op.ID)
		if err != nil {
			t.Fatal(err)
		}
		if cur.Status != sluice.ReplayRunning || cur.Replayed >= int64(n) || cur.LeaseExpiresAt == nil {
			t.Fatalf("the kill did not interrupt the operation: %+v", cur)
		}
		c.startWorker()
		c.startWorker()
		c.waitFor("the operation to be taken over and finished", func() bool {
			cur, err = c.client.DLQ().Operation(c.ctx, op.ID)
			if err != nil {
				t.Fatal(err)
			}
			return cur.Status != sluice.ReplayRunning
		})
		if cur.Status != sluice.ReplayDone || cur.Matched != int64(n) || cur.Replayed != int64(n) || cur.Failed != 0 || cur.Skipped != 0 {
			t.Fatalf("the operation after the takeover: %+v", cur)
		}

		s := c.snapshot()
		replays := map[uuid.UUID]int{}
		for _, j := range s.jobs {
			if j.ReplayedFrom != nil {
				replays[*j.ReplayedFrom]++
			}
		}
		if len(s.dead) != n {
			t.Fatalf("%d entries, want %d (a replayed job failed again?)", len(s.dead), n)
		}
		for _, d := range s.dead {
			if d.ReplayedAt == nil || d.ReplayJobID == nil || replays[d.ID] != 1 {
				t.Fatalf("entry %s: replayed at %v as %v, %d jobs replayed from it; want exactly one", d.ID, d.ReplayedAt, d.ReplayJobID, replays[d.ID])
			}
			if j, ok := s.jobs[*d.ReplayJobID]; !ok || j.ReplayedFrom == nil || *j.ReplayedFrom != d.ID {
				t.Fatalf("entry %s links to job %s, which does not link back", d.ID, d.ReplayJobID)
			}
		}
	})
}
