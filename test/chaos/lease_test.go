package chaos

import (
	"testing"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/test/chaos/worker/event"
)

// TestLongJobHeartbeatsAcrossManyLeases runs healthy jobs that last four lease periods in
// worker processes, among a stream of short ones: the heartbeat must keep every lease, so none
// is ever rescued (one attempt, an empty history, no second start) and no worker ever reports
// a lost lease.
func TestLongJobHeartbeatsAcrossManyLeases(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		c := newCluster(t, url)
		// Heartbeats every 1.7 s. The lease is short enough for long jobs to outlive it
		// several times over, and long enough that a loaded CI machine (the race detector, other
		// packages' tests) does not stall a heartbeat past it.
		c.env = []string{"CHAOS_LEASE=5s"}
		const long = 4
		ids := c.enqueue(long+scaled(200), 1, func(i int) event.Args {
			if i < long {
				return event.Args{SleepMs: 4 * 5000}
			}
			return event.Args{SleepMs: 5 + i%30}
		})
		// Two workers on PostgreSQL. On SQLite one: processes writing to one file take turns
		// for its lock, and SQLite's busy handler is not fair — under a steady write load one
		// process can wait a second or more for it, longer than this test's compressed lease
		// (the default lease, 30s, is far longer). Within one process the store queues writers
		// in Go, so the heartbeat waits only for the writes ahead of it.
		workers := []*worker{c.startWorker()}
		if c.backend() == "postgres" {
			workers = append(workers, c.startWorker())
		}
		s := c.waitSettled()
		check(t, ids, s, c.events())
		for _, id := range ids[:long] {
			if j := s.jobs[id]; j.Status != sluice.StatusCompleted || j.Attempts != 1 || len(j.ErrorHistory) != 0 {
				t.Errorf("long job %s: %s; want completed in one attempt, never rescued", id, s.describe(id))
			}
		}
		for _, e := range c.events() {
			if e.Attempt != 1 {
				t.Errorf("job %s ran an attempt %d: a lease was lost", e.Job, e.Attempt)
			}
		}
		for _, w := range workers {
			if n := w.logCount("lease lost") + w.logCount("rescued jobs whose lease expired"); n > 0 {
				t.Errorf("worker %d reported %d lost or rescued leases", w.pid(), n)
			}
		}
	})
}
