package chaos

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/sluicehq/sluice/internal/testdb"
	"github.com/sluicehq/sluice/store/pgstore"
	"github.com/sluicehq/sluice/test/chaos/worker/event"
)

// TestPostgresRestartAndCrash restarts (pg_ctl -m fast restart) and crashes (pg_ctl -m
// immediate stop, then start: crash recovery from the WAL) a throwaway PostgreSQL cluster —
// initdb into the test's directory, its own port, fsync on; never the shared server — while
// workers run jobs and an enqueuing process enqueues. Afterwards every enqueue that returned
// success must be there, the same worker processes must go on without help, and every job
// must end in exactly one final state.
func TestPostgresRestartAndCrash(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"fast", "immediate"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			pg := testdb.NewCluster(t)
			c := newCluster(t, pg.URL("postgres"))
			ids := c.enqueue(scaled(300), 25, func(i int) event.Args { return event.Args{SleepMs: 5 + i%40} })
			workers := []*worker{c.startWorker(), c.startWorker()}
			acks := filepath.Join(c.dir, "acks")
			enqueuer := c.startEnqueuer(acks, "CHAOS_ENQUEUE_PAUSE=30ms")
			c.waitFor("acknowledged enqueues and finished jobs before the fault", func() bool {
				return len(c.acked(acks)) >= 200 && c.snapshot().finished() >= 100
			})
			// Long jobs enqueued now, so that however long the above took, some are running
			// when the server goes: the fault waits for a worker to have started one.
			longIDs := c.enqueue(4, 25, func(int) event.Args { return event.Args{SleepMs: 3000} })
			ids = append(ids, longIDs...)
			long := map[string]bool{}
			for _, id := range longIDs {
				long[id.String()] = true
			}
			c.waitFor("a worker to be running a long job", func() bool {
				return slices.ContainsFunc(workers, func(w *worker) bool { return len(c.startedBy(w, long)) > 0 })
			})

			pg.Restart(mode)

			before := len(c.acked(acks))
			c.waitFor("the enqueuer to be acknowledged again after the fault", func() bool { return len(c.acked(acks)) >= before+200 })
			enqueuer.kill9()
			s := c.waitSettled()
			for _, w := range workers {
				if w.hasExited() {
					t.Fatalf("worker %d exited (%v): it must resume by itself", w.pid(), w.err)
				}
				if w.logCount("job notifications lost") == 0 {
					t.Errorf("worker %d never noticed the server go", w.pid())
				}
			}
			channel := "sluice_jobs." + c.client.Store().(*pgstore.Store).Schema()
			c.waitFor("both workers to LISTEN again", func() bool {
				return c.pgInt(`SELECT count(*) FROM pg_stat_activity WHERE query = $1`, `LISTEN "`+channel+`"`) == len(workers)
			})
			acked := c.acked(acks)
			all, unacked := withUnacked(ids, acked, s)
			if failed := enqueuer.logCount("enqueue failed"); unacked > 10*failed {
				t.Errorf("%d committed jobs were never acknowledged, more than the %d failed enqueues of ten could have left", unacked, failed)
			}
			check(t, all, s, c.events())
			t.Logf("%s: %d acknowledged enqueues (%d after the fault), %d committed but unacknowledged, %d failed enqueues",
				mode, len(acked), len(acked)-before, unacked, enqueuer.logCount("enqueue failed"))
		})
	}
}
