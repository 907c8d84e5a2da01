package chaos

import (
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/store"
	"github.com/sluicehq/sluice/test/chaos/worker/event"
)

// TestStopWithJobsLongerThanTheGrace sends SIGTERM to a worker running jobs far longer than
// its stop grace (CHAOS_STOP_GRACE): the worker must exit once the grace runs out, cancelling
// its handlers; every interrupted job must be released — pending, its attempt given back, no
// error recorded — and then run by another worker, never alongside the interrupted run.
func TestStopWithJobsLongerThanTheGrace(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		c := newCluster(t, url)
		// Nothing here waits on a lease's expiry (a stop releases its jobs), and every job must
		// end without a rescue: a lease long enough that a loaded CI machine does not stall a
		// heartbeat past it (the default 1 s was outlasted once on SQLite, a 4 s job rescued).
		c.env = []string{"CHAOS_LEASE=8s"}
		long := map[int]bool{}
		ids := c.enqueue(60, 3, func(i int) event.Args {
			if i%10 == 0 {
				long[i] = true
				return event.Args{SleepMs: 4000}
			}
			return event.Args{SleepMs: 10 + i%20}
		})
		longJobs := map[string]bool{}
		for i := range long {
			longJobs[ids[i].String()] = true
		}
		stopped := c.startWorker("CHAOS_STOP_GRACE=300ms", "CHAOS_CONCURRENCY=6")
		c.waitFor("two long jobs to be running", func() bool { return len(c.startedBy(stopped, longJobs)) >= 2 })
		stopped.signal(syscall.SIGTERM)
		c.waitExit(stopped)
		if stopped.err != nil {
			t.Fatalf("the worker stopped with %v, want a clean exit", stopped.err)
		}

		// Every run of the stopped worker ended; those the grace cut short say so, and their
		// jobs are pending again with the attempt given back.
		interrupted := map[uuid.UUID]event.Event{}
		ended := map[string]bool{}
		for _, e := range c.events() {
			if e.PID != stopped.pid() || e.Event != "end" {
				continue
			}
			ended[e.Job] = true
			if strings.HasPrefix(e.Cause, shutdownCause) {
				interrupted[uuid.MustParse(e.Job)] = e
			}
		}
		if open := c.startedBy(stopped, nil); len(open) > 0 {
			t.Fatalf("the stop left %d handler runs unfinished: %v", len(open), open)
		}
		for id := range longJobs {
			if ended[id] {
				if _, ok := interrupted[uuid.MustParse(id)]; !ok {
					t.Errorf("long job %s ran to its end after SIGTERM: the grace did not cut it short", id)
				}
			}
		}
		if len(interrupted) < 2 {
			t.Fatalf("%d runs were interrupted by the stop, want at least the two long ones", len(interrupted))
		}
		for id, e := range interrupted {
			j, err := c.client.GetJob(c.ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if j.Status != sluice.StatusPending || j.Attempts != e.Attempt-1 || len(j.ErrorHistory) != 0 {
				t.Errorf("job %s interrupted in attempt %d was not released: status %s, attempts %d, history %v",
					id, e.Attempt, j.Status, j.Attempts, j.ErrorHistory)
			}
		}

		c.startWorker()
		s := c.waitSettled()
		check(t, ids, s, c.events())
		for id := range interrupted {
			if j := s.jobs[id]; j.Status != sluice.StatusCompleted || j.Attempts != 1 || rescues(j.ErrorHistory) > 0 {
				t.Errorf("interrupted job %s ended %s after %d attempts, history %v; want completed in its one attempt",
					id, j.Status, j.Attempts, j.ErrorHistory)
			}
		}
		t.Logf("%d jobs, %d interrupted by the stop and released", len(ids), len(interrupted))
	})
}

// TestHandlerIgnoringItsContext runs handlers that ignore their context (event.Args.
// IgnoreContext) through the two ways the engine cancels one:
//
//   - stop: a SIGTERM whose grace and CancelGrace both run out while the handler keeps going.
//     Stop stops waiting, the process exits with the handler mid-run, and the job — still
//     running in the database under the dead worker's lease — is rescued once that lease
//     expires: one failed attempt recorded as "lease expired", then it runs again.
//   - lease lost: the job's lease is taken away in the database (as when a worker is cut off
//     past its lease) while the handler runs. The heartbeat notices and cancels the context, the
//     handler ignores it, the job is rescued and run again as attempt 2 alongside the stale
//     attempt 1; when that one finally returns, its outcome (a failure) is fenced off (I5).
func TestHandlerIgnoringItsContext(t *testing.T) {
	t.Parallel()
	t.Run("stop", func(t *testing.T) {
		t.Parallel()
		forEachBackend(t, func(t *testing.T, url string) {
			c := newCluster(t, url)
			ids := c.enqueue(24, 3, func(i int) event.Args {
				if i < 4 {
					return event.Args{FirstAttemptSleepMs: 60000, SleepMs: 10, IgnoreContext: true}
				}
				return event.Args{SleepMs: 10}
			})
			stubborn := idSet(ids[:4])
			w := c.startWorker("CHAOS_STOP_GRACE=200ms", "CHAOS_CANCEL_GRACE=300ms", "CHAOS_CONCURRENCY=8")
			c.waitFor("the short jobs to finish", func() bool { return c.snapshot().finished() >= 20 })
			running := c.startedBy(w, stubborn)
			if len(running) != 4 {
				t.Fatalf("%d of the 4 context-ignoring jobs are running, want all", len(running))
			}
			w.signal(syscall.SIGTERM)
			c.waitExit(w)
			if w.err != nil {
				t.Fatalf("the worker stopped with %v, want a clean exit", w.err)
			}
			if w.logCount("leaving them to their leases") != 1 {
				t.Errorf("the worker did not say it abandoned the handlers that ignored the stop")
			}
			if open := c.startedBy(w, stubborn); len(open) != 4 {
				t.Errorf("%d context-ignoring handlers were still running as the process exited, want 4", len(open))
			}
			// Abandoned, not released: still running under the dead worker's lease.
			for _, id := range ids[:4] {
				if j, _ := c.client.GetJob(c.ctx, id); j.Status != sluice.StatusRunning || j.Attempts != 1 {
					t.Errorf("abandoned job %s is %s with %d attempts, want still running its attempt 1", id, j.Status, j.Attempts)
				}
			}
			c.startWorker()
			s := c.waitSettled()
			check(t, ids, s, c.events())
			for _, id := range ids[:4] {
				j := s.jobs[id]
				if j.Status != sluice.StatusCompleted || j.Attempts != 2 || len(j.ErrorHistory) != 1 || j.ErrorHistory[0].Error != store.RescueError(1) {
					t.Errorf("abandoned job %s: %s after %d attempts, history %v; want rescued once, then completed", id, j.Status, j.Attempts, j.ErrorHistory)
				}
			}
		})
	})
	t.Run("lease lost", func(t *testing.T) {
		t.Parallel()
		forEachBackend(t, func(t *testing.T, url string) {
			c := newCluster(t, url)
			ids := c.enqueue(1, 3, func(int) event.Args {
				return event.Args{FirstAttemptSleepMs: 2500, SleepMs: 10, IgnoreContext: true, FailAttempts: 1}
			})
			job := ids[0]
			w := c.startWorker("CHAOS_CONCURRENCY=2")
			c.waitRunningLong(w, idSet(ids))
			c.exec(fmt.Sprintf(c.sqlFor().stealLease, job))

			var done sluice.Job
			c.waitFor("the job to be rescued and completed while the stale attempt still runs", func() bool {
				var err error
				done, err = c.client.GetJob(c.ctx, job)
				return err == nil && done.Status == sluice.StatusCompleted
			})
			if done.Attempts != 2 || len(done.ErrorHistory) != 1 || done.ErrorHistory[0].Error != store.RescueError(1) {
				t.Fatalf("rescued job: attempts %d, history %+v", done.Attempts, done.ErrorHistory)
			}
			// The stale attempt returns its failure: the fence must turn it into a no-op. Wait
			// for the worker to say so, or for the row to change, which fails the test.
			var after sluice.Job
			c.waitFor("the stale attempt's outcome to be fenced off", func() bool {
				var err error
				if after, err = c.client.GetJob(c.ctx, job); err != nil {
					t.Fatal(err)
				}
				return w.logCount("outcome not applied") > 0 || !sameJob(done, after)
			})
			after, _ = c.client.GetJob(c.ctx, job)
			wantUnchanged(t, "the stale attempt's late failure", done, after)
			// Once: a lost lease is not renewed again while the handler keeps running.
			if n := w.logCount("lease lost; cancelling the attempt"); n != 1 {
				t.Errorf("the heartbeat said %d times that it cancelled the attempt whose lease was lost, want once", n)
			}
			var cause string
			for _, e := range c.events() {
				if e.Attempt == 1 && e.Event == "end" {
					cause = e.Cause
				}
			}
			if !strings.Contains(cause, "lease lost") {
				t.Errorf("the stale attempt ended with its context's cause %q, want the lease loss", cause)
			}
			check(t, ids, c.snapshot(), c.events())
		})
	})
}
