package chaos

import (
	"math/rand/v2"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/testdb"
	"github.com/sluicehq/sluice/store"
	"github.com/sluicehq/sluice/test/chaos/worker/event"
)

// TestKill9WorkersMidLoad kills one worker and then all of them with SIGKILL while they hold
// jobs, restarts fresh ones, and checks that every job still ends in exactly one final state.
func TestKill9WorkersMidLoad(t *testing.T) {
	t.Parallel()
	forEachBackend(t, testKill9WorkersMidLoad)
}

func testKill9WorkersMidLoad(t *testing.T, url string) {
	c := newCluster(t, url)
	const n = 600
	rng := rand.New(rand.NewPCG(1, 2))
	alwaysFailing := 0
	long := map[int]bool{}
	ids := c.enqueue(n, 3, func(i int) event.Args {
		a := event.Args{SleepMs: 5 + rng.IntN(40)}
		switch {
		case i%20 == 3:
			a.SleepMs = 1500 // long enough that a kill lands while it runs
			long[i] = true
		case i%10 == 0:
			a.FailAttempts = 1 // fails once, then succeeds
		case i%25 == 0:
			a.FailAttempts = 3 // fails every attempt: dead-lettered
			alwaysFailing++
		}
		return a
	})
	longJobs := map[string]bool{}
	for i := range long {
		longJobs[ids[i].String()] = true
	}
	w1 := c.startWorker()
	w2 := c.startWorker()
	c.waitRunningLong(w1, longJobs)
	w1.kill9()
	c.waitFinished(n / 3)
	c.waitRunningLong(w2, longJobs)
	w2.kill9()
	c.startWorker()
	c.startWorker()
	c.waitFinished(n)

	s := c.snapshot()
	check(t, ids, s, c.events())
	// Jobs held by a killed worker can be dead-lettered too, if the kills used up their
	// attempts; never fewer than the always-failing ones.
	if len(s.dead) < alwaysFailing {
		t.Errorf("%d always-failing jobs but %d DLQ entries", alwaysFailing, len(s.dead))
	}
	rescues := 0
	for _, j := range s.jobs {
		for a := 1; a <= j.Attempts; a++ {
			if rescued(j.ErrorHistory, a) {
				rescues++
			}
		}
	}
	// Each kill landed while the worker ran a long job, so at least two attempts were rescued.
	if rescues < 2 {
		t.Errorf("%d rescued attempts, want at least one per kill", rescues)
	}
	t.Logf("%d jobs, %d dead-lettered, %d rescued attempts", n, len(s.dead), rescues)
}

// TestPausedWorkerLateWritesChangeNothing pauses a worker (SIGSTOP) mid-job past its lease, lets
// another worker rescue and complete the job, then resumes the paused one: its late outcome
// (a failure) and its heartbeat must change nothing (I5). PostgreSQL only: on SQLite a process
// paused while it holds the file's write lock (a heartbeat's instant) stops every other
// process until it resumes, which is SQLite's design, not a fault to test.
func TestPausedWorkerLateWritesChangeNothing(t *testing.T) {
	t.Parallel()
	c := newCluster(t, testdb.Postgres(t))
	ids := c.enqueue(1, 5, func(int) event.Args {
		return event.Args{FirstAttemptSleepMs: 1500, IgnoreContext: true, FailAttempts: 1}
	})
	job := ids[0]
	stale := c.startWorker("CHAOS_CONCURRENCY=1")
	c.waitFor("attempt 1 to start", func() bool {
		return slices.ContainsFunc(c.events(), func(e event.Event) bool { return e.Attempt == 1 && e.Event == "start" })
	})
	stale.signal(syscall.SIGSTOP)

	rescuer := c.startWorker()
	var done sluice.Job
	c.waitFor("the job to be rescued and completed by the other worker", func() bool {
		var err error
		done, err = c.client.GetJob(c.ctx, job)
		return err == nil && done.Status == sluice.StatusCompleted
	})
	rescuer.kill9()
	if done.Attempts != 2 || len(done.ErrorHistory) != 1 || done.ErrorHistory[0].Error != store.RescueError(1) {
		t.Fatalf("rescued job: attempts %d, history %+v", done.Attempts, done.ErrorHistory)
	}

	stale.signal(syscall.SIGCONT)
	// The stale attempt ends (it ignores its context) and writes its outcome, which the
	// lease fence must turn into a no-op: wait for the worker to say so, or for the row to
	// change, which fails the test.
	unchanged := func(j sluice.Job) bool {
		return j.Status == done.Status && j.Attempts == done.Attempts && len(j.ErrorHistory) == len(done.ErrorHistory) &&
			j.RunAt.Equal(done.RunAt) && j.CompletedAt != nil && j.CompletedAt.Equal(*done.CompletedAt) && j.LastError == done.LastError
	}
	var after sluice.Job
	c.waitFor("the stale attempt's outcome to be fenced off", func() bool {
		var err error
		if after, err = c.client.GetJob(c.ctx, job); err != nil {
			t.Fatal(err)
		}
		b, _ := readFile(stale.log)
		return strings.Contains(b, "outcome not applied") || !unchanged(after)
	})
	if after, _ = c.client.GetJob(c.ctx, job); !unchanged(after) {
		t.Fatalf("I5: the stale worker changed the job:\nbefore %+v\nafter  %+v", done, after)
	}
	check(t, ids, c.snapshot(), c.events())
}
