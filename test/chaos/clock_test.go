package chaos

import (
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/store"
	"github.com/sluicehq/sluice/test/chaos/worker/event"
)

// TestSkewedClocks runs two workers whose clocks are wrong in opposite directions
// (CHAOS_CLOCK_SKEW=+10m and -10m: internal/clock, every Go-side time reading of the engine and
// the stores) on one database, and again two in far-apart time zones (TZ=America/Los_Angeles and
// Asia/Kathmandu, +05:45), with jobs scheduled seconds ahead by the database clock, retries with
// a backoff and a short lease. Every decision must be the database clock's, so both runs must
// behave as if the clocks were right:
//
//   - no attempt starts before its run_at by the database clock — as the claim stamped it
//     (started_at) and as the handler reads it (SELECT clock_timestamp() / unixepoch());
//   - every retry is due its backoff after the failure, both by the database clock;
//   - no lease is rescued early: healthy jobs longer than the lease are never rescued, and a
//     killed worker's jobs are rescued only after the lease expiry the database holds for
//     them — by a worker skewed the other way, in both directions;
//   - invariants I1–I4, I6 hold.
func TestSkewedClocks(t *testing.T) {
	t.Parallel()
	for _, v := range []struct{ name, envA, envB string }{
		{"skew", "CHAOS_CLOCK_SKEW=+10m", "CHAOS_CLOCK_SKEW=-10m"},
		{"time zones", "TZ=America/Los_Angeles", "TZ=Asia/Kathmandu"},
	} {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			forEachBackend(t, func(t *testing.T, url string) { testClocks(t, url, v.envA, v.envB) })
		})
	}
}

func testClocks(t *testing.T, url, envA, envB string) {
	c := newCluster(t, url)
	const backoff = 700 * time.Millisecond
	// Long enough to outlast a heartbeat starved by a loaded CI machine, or on SQLite by
	// the file's lock, which writers take in turn unfairly (see
	// TestLongJobHeartbeatsAcrossManyLeases); a 5 s lease here was once outlasted on SQLite
	// under a full CI run. Ten minutes of skew dwarf it either way.
	const lease = 8 * time.Second
	c.env = []string{"CHAOS_DB_CLOCK=1", "CHAOS_LEASE=" + lease.String(), "CHAOS_BACKOFF=" + backoff.String()}

	now := c.dbNow()
	ids := c.enqueueJobs(40, func(i int) sluice.NewJob {
		a := event.Args{SleepMs: 5}
		if i%4 == 0 {
			a.FailAttempts = 2
		}
		return sluice.NewJob{Payload: a, MaxAttempts: 5, RunAt: now.Add(1500*time.Millisecond + time.Duration(i)*40*time.Millisecond)}
	})
	healthy := c.enqueue(4, 3, func(int) event.Args { return event.Args{SleepMs: int(lease.Milliseconds()) * 5 / 2} })
	ids = append(ids, healthy...)
	a, b := c.startWorker(envA), c.startWorker(envB)
	c.waitFinished(len(ids))
	s := c.snapshot()
	checkDatabaseClock(t, s, c.events(), backoff)
	for _, id := range healthy {
		if j := s.jobs[id]; j.Status != sluice.StatusCompleted || j.Attempts != 1 || len(j.ErrorHistory) != 0 {
			t.Errorf("healthy job %s longer than its lease: %s; want completed in one attempt, never rescued", id, s.describe(id))
		}
	}
	if t.Failed() {
		t.FailNow() // the rest would only wait on workers that decide by their own clocks
	}

	// Each worker in turn dies holding jobs, and the other — skewed the other way — rescues
	// them: not before the lease expiry the database holds for them once their worker is dead.
	// It returns the rescuer, alone at work.
	killHolding := func(w *worker, rescuerEnv string) *worker {
		victims := c.enqueue(2, 3, func(int) event.Args { return event.Args{FirstAttemptSleepMs: 60000, SleepMs: 5} })
		ids = append(ids, victims...)
		c.waitFor("the worker to run both new jobs", func() bool { return len(c.startedBy(w, idSet(victims))) == len(victims) })
		w.kill9()
		expiries := map[uuid.UUID]time.Time{}
		for _, id := range victims {
			j, err := c.client.GetJob(c.ctx, id)
			if err != nil || j.Status != sluice.StatusRunning || j.LeaseExpiresAt == nil {
				t.Fatalf("job %s of the killed worker: %+v, %v", id, j, err)
			}
			expiries[id] = *j.LeaseExpiresAt
		}
		rescuer := c.startWorker(rescuerEnv)
		c.waitFinished(len(ids))
		for id, expiry := range expiries {
			j, err := c.client.GetJob(c.ctx, id)
			if err != nil || len(j.ErrorHistory) == 0 || j.ErrorHistory[0].Error != store.RescueError(1) {
				t.Fatalf("job %s of a killed worker was not rescued: %+v, %v", id, j, err)
			}
			if at := j.ErrorHistory[0].Time(); at.UnixMilli() < expiry.UnixMilli() {
				t.Fatalf("job %s was rescued at %s by the database clock, %v before its lease expired at %s",
					id, at.Format(time.RFC3339Nano), expiry.Sub(at), expiry.UTC().Format(time.RFC3339Nano))
			}
		}
		return rescuer
	}
	a.signal(syscall.SIGTERM) // idle: only b takes the next jobs
	c.waitExit(a)
	killHolding(killHolding(b, envA), envB)

	s = c.waitSettled()
	check(t, ids, s, c.events())
	checkDatabaseClock(t, s, c.events(), backoff)
	retried := 0
	for _, id := range ids[:40] {
		if s.jobs[id].Attempts == 3 {
			retried++
		}
	}
	if retried != 10 {
		t.Errorf("%d scheduled jobs ran 3 attempts, want the 10 that fail twice", retried)
	}
}
