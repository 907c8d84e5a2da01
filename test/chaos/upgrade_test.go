package chaos

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/sluicehq/sluice/test/chaos/worker/event"
)

// previousRelease is the commit of the previous release (schema version 0009), whose chaos
// worker TestRollingUpgrade runs beside this release's. Move it forward together with
// store/*/testdata/queries-NNNN when a release ships (docs/upgrades.md).
const previousRelease = "8764be0520284f78b7e77e7c5369a8c401323ce2"

// TestRollingUpgrade is a rolling upgrade in miniature: the schema is migrated by this
// release, a worker built from the previous release's source (git history) takes jobs, a
// worker of this release joins it on the same schema while those jobs are in flight, and the
// previous release's worker is then stopped (SIGTERM) the way a rollout retires it; jobs
// enqueued after that are this release's alone. Every job must end in exactly one final state
// with the history the checker demands (no loss, no phantom, no overlap, one DLQ entry per dead
// job with its whole history), including the jobs one release started and the other retried.
//
// The sequence, not luck, makes both releases work jobs: on SQLite one process can win every
// claim while the other waits on the file lock, so "both ran side by side and both took some"
// would be a coin toss there.
func TestRollingUpgrade(t *testing.T) {
	t.Parallel()
	oldBin := buildPreviousWorker(t)
	forEachBackend(t, func(t *testing.T, url string) {
		c := newCluster(t, url)
		old := c.spawnBinary(oldBin)
		c.waitForLog(old, "chaos worker ready")
		n := scaled(300)
		args := func(i int) event.Args {
			a := event.Args{SleepMs: 5 + i%20}
			switch {
			case i%10 == 0:
				a.FailAttempts = 1 // fails once, then succeeds: retried by either release
			case i%25 == 0:
				a.FailAttempts = 3 // dead-lettered
			}
			return a
		}
		ids := c.enqueue(n/2, 3, args)
		c.waitFor("the previous release to start a job", func() bool { return c.starts()[old.pid()] > 0 })
		cur := c.startWorker()
		old.signal(syscall.SIGTERM)
		c.waitExit(old)
		ids = append(ids, c.enqueue(n-n/2, 3, func(i int) event.Args { return args(n/2 + i) })...)
		c.waitFinished(n)
		check(t, ids, c.snapshot(), c.events())
		starts := c.starts()
		if starts[old.pid()] == 0 || starts[cur.pid()] == 0 {
			t.Fatalf("both releases must work jobs: previous release %d starts, this release %d", starts[old.pid()], starts[cur.pid()])
		}
		t.Logf("job starts: previous release %d, this release %d", starts[old.pid()], starts[cur.pid()])
	})
}

// starts counts the job starts in the history by worker process id.
func (c *cluster) starts() map[int]int {
	starts := map[int]int{}
	for _, e := range c.events() {
		if e.Event == "start" {
			starts[e.PID]++
		}
	}
	return starts
}

// buildPreviousWorker extracts the previous release from git and builds its chaos worker.
// It needs the repository's history (CI runs in a full clone); without it the test fails.
func buildPreviousWorker(t *testing.T) string {
	t.Helper()
	src := t.TempDir()
	archive := filepath.Join(t.TempDir(), "previous.tar")
	if out, err := exec.Command("git", "-C", "../..", "archive", "-o", archive, previousRelease).CombinedOutput(); err != nil {
		t.Fatalf("cannot extract the previous release %s from git (the test needs the repository's history): %v\n%s", previousRelease, err, out)
	}
	if out, err := exec.Command("tar", "-x", "-f", archive, "-C", src).CombinedOutput(); err != nil {
		t.Fatalf("unpacking the previous release: %v\n%s", err, out)
	}
	bin := filepath.Join(buildDir, "worker-previous")
	build := exec.Command("go", "build", "-o", bin, "./test/chaos/worker")
	build.Dir = src
	build.Env = append(os.Environ(), "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the previous release's chaos worker: %v\n%s", err, out)
	}
	return bin
}
