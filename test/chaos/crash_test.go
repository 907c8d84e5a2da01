package chaos

import (
	"math/rand/v2"
	"slices"
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
	n := scaled(600)
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
	// w1 is running a long job before w2 starts: on SQLite one process can win every claim
	// while another waits on the file lock, so a w1 started beside w2 might never get one.
	// After w1's kill w2 is alone, so it gets one of the long jobs still pending.
	w1 := c.startWorker()
	c.waitRunningLong(w1, longJobs)
	w2 := c.startWorker()
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
	var after sluice.Job
	c.waitFor("the stale attempt's outcome to be fenced off", func() bool {
		var err error
		if after, err = c.client.GetJob(c.ctx, job); err != nil {
			t.Fatal(err)
		}
		return stale.logCount("outcome not applied") > 0 || !sameJob(done, after)
	})
	after, _ = c.client.GetJob(c.ctx, job)
	wantUnchanged(t, "the stale worker", done, after)
	check(t, ids, c.snapshot(), c.events())
}

// TestJobThatCrashesItsProcessEveryTime runs a job that kills its worker process in every
// attempt (event.Args.CrashProcess) among a few hundred ordinary ones, restarting workers as
// they die: the crashing job must reach the DLQ after exactly its max attempts, with one
// "lease expired" history entry per attempt, and every other job must complete.
func TestJobThatCrashesItsProcessEveryTime(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		c := newCluster(t, url)
		const maxAttempts = 3
		crasher := c.enqueue(1, maxAttempts, func(int) event.Args { return event.Args{CrashProcess: true} })[0]
		ids := append(c.enqueue(scaled(300), 25, func(i int) event.Args { return event.Args{SleepMs: 5 + i%40} }), crasher)

		// Two workers at all times: a dead one is replaced, without waiting for it to be ready
		// (the crasher may kill it first).
		pool := []*worker{c.spawn(), c.spawn()}
		started := len(pool)
		var s snapshot
		c.waitFor("every job to settle while workers crash and are replaced", func() bool {
			for i, w := range pool {
				if w.hasExited() {
					pool[i] = c.spawn()
					started++
				}
			}
			var err error
			s, err = c.trySnapshot()
			return err == nil && s.settled() && len(s.dead) > 0
		})
		check(t, ids, s, c.events())

		if len(s.dead) != 1 || s.dead[0].OriginalJobID != crasher {
			t.Fatalf("%d DLQ entries, want only the crashing job's", len(s.dead))
		}
		d := s.dead[0]
		if d.Attempts != maxAttempts || len(d.ErrorHistory) != maxAttempts {
			t.Fatalf("the crashing job's entry: %d attempts, %d history entries; want %d of each", d.Attempts, len(d.ErrorHistory), maxAttempts)
		}
		for i, r := range d.ErrorHistory {
			if r.Error != store.RescueError(i+1) {
				t.Errorf("history entry %d of the crashing job is %q, want the rescue of attempt %d", i, r.Error, i+1)
			}
		}
		for _, id := range ids[:len(ids)-1] {
			if j := s.jobs[id]; j.Status != sluice.StatusCompleted {
				t.Errorf("ordinary job %s ended %s", id, j.Status)
			}
		}
		crashes := 0
		for _, e := range c.events() {
			if e.Job == crasher.String() && e.Event == "start" {
				crashes++
			}
		}
		if crashes != maxAttempts || started < maxAttempts+2 {
			t.Errorf("the crashing job started %d times and %d workers were started, want %d crashes", crashes, started, maxAttempts)
		}
		t.Logf("%d jobs, %d worker processes started, %d crashes", len(ids), started, crashes)
	})
}
