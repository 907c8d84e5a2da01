// Package chaos is Sluice's fault-injection suite: worker processes built from the project
// are started as separate OS processes, killed, paused and restarted under load, and a
// checker asserts the invariants of shared/RELIABILITY.md over what their handlers recorded
// and what the tables hold.
package chaos

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/testdb"
	"github.com/sluicehq/sluice/test/chaos/worker/event"
)

// workerBin is the worker process, built once for the whole package.
var workerBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-chaos-")
	if err != nil {
		panic(err)
	}
	workerBin = filepath.Join(dir, "worker")
	build := exec.Command("go", "build", "-race", "-o", workerBin, "./worker")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the chaos worker:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cluster is one test's database, history file and worker processes.
type cluster struct {
	t       *testing.T
	ctx     context.Context
	url     string
	dir     string
	history string
	client  *sluice.Client // the test's own client: enqueue and inspect, never works jobs
	app     sluice.App
	mu      sync.Mutex
	workers []*worker
}

func newCluster(t *testing.T, url string) *cluster {
	t.Helper()
	ctx := context.Background()
	c := &cluster{t: t, ctx: ctx, url: url, dir: t.TempDir()}
	c.history = filepath.Join(c.dir, "history.jsonl")
	client, err := sluice.Open(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.client = client
	t.Cleanup(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, w := range c.workers {
			w.signal(syscall.SIGCONT)
			w.signal(syscall.SIGKILL)
			<-w.exited
		}
		client.Close(context.Background())
	})
	if _, err := client.Store().MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	if c.app, err = client.CreateApp(ctx, "chaos"); err != nil {
		t.Fatal(err)
	}
	return c
}

// worker is one worker process.
type worker struct {
	cmd    *exec.Cmd
	log    string
	exited chan struct{}
	err    error
}

// startWorker starts a worker process and waits until it is working. env adds or overrides
// CHAOS_* settings.
func (c *cluster) startWorker(env ...string) *worker {
	c.t.Helper()
	return c.startProcess("chaos worker ready", env...)
}

// startEnqueuer starts a process that enqueues jobs until it is killed, appending each
// acknowledged id to the file acks.
func (c *cluster) startEnqueuer(acks string) *worker {
	c.t.Helper()
	return c.startProcess("chaos enqueuer ready", "CHAOS_MODE=enqueue", "CHAOS_APP="+c.app.ID.String(), "CHAOS_ACKS="+acks)
}

// startProcess starts the chaos binary and waits for its ready line.
func (c *cluster) startProcess(ready string, env ...string) *worker {
	c.t.Helper()
	c.mu.Lock()
	n := len(c.workers)
	c.mu.Unlock()
	w := &worker{log: filepath.Join(c.dir, fmt.Sprintf("worker-%d.log", n)), exited: make(chan struct{})}
	logFile, err := os.Create(w.log)
	if err != nil {
		c.t.Fatal(err)
	}
	w.cmd = exec.Command(workerBin)
	w.cmd.Env = append(os.Environ(), "CHAOS_DATABASE_URL="+c.url, "CHAOS_HISTORY="+c.history)
	w.cmd.Env = append(w.cmd.Env, env...)
	w.cmd.Stdout, w.cmd.Stderr = logFile, logFile
	if err := w.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	go func() {
		w.err = w.cmd.Wait()
		logFile.Close()
		close(w.exited)
	}()
	c.mu.Lock()
	c.workers = append(c.workers, w)
	c.mu.Unlock()
	c.waitForLog(w, ready)
	return w
}

func (w *worker) pid() int { return w.cmd.Process.Pid }

func (w *worker) signal(sig syscall.Signal) {
	select {
	case <-w.exited:
	default:
		w.cmd.Process.Signal(sig)
	}
}

// kill9 kills the worker outright and waits until it is gone.
func (w *worker) kill9() {
	w.signal(syscall.SIGKILL)
	<-w.exited
}

// waitForLog waits until the worker's log contains text.
func (c *cluster) waitForLog(w *worker, text string) {
	c.t.Helper()
	c.waitFor("worker log line "+text, func() bool {
		b, _ := os.ReadFile(w.log)
		if strings.Contains(string(b), text) {
			return true
		}
		select {
		case <-w.exited:
			c.t.Fatalf("worker exited (%v) before logging %q:\n%s", w.err, text, b)
		default:
		}
		return false
	})
}

// waitFor polls cond until it holds; the deadline is generous and only catches hangs.
func (c *cluster) waitFor(what string, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitRunningLong waits until the worker has started one of the given jobs and not ended it.
func (c *cluster) waitRunningLong(w *worker, jobs map[string]bool) {
	c.t.Helper()
	c.waitFor(fmt.Sprintf("worker %d to be running a long job", w.pid()), func() bool {
		open := map[string]bool{}
		for _, e := range c.events() {
			if e.PID == w.pid() && jobs[e.Job] {
				open[e.Job] = e.Event == "start"
			}
		}
		for _, running := range open {
			if running {
				return true
			}
		}
		return false
	})
}

// enqueue inserts n chaos jobs and returns their ids.
func (c *cluster) enqueue(n, maxAttempts int, args func(i int) event.Args) []uuid.UUID {
	c.t.Helper()
	var ids []uuid.UUID
	for start := 0; start < n; start += 500 {
		var batch []sluice.NewJob
		for i := start; i < min(n, start+500); i++ {
			batch = append(batch, sluice.NewJob{App: c.app.ID.String(), Type: "chaos.work", Payload: args(i), MaxAttempts: maxAttempts})
		}
		res, err := c.client.EnqueueMany(c.ctx, batch)
		if err != nil {
			c.t.Fatal(err)
		}
		for _, r := range res {
			ids = append(ids, r.Job.ID)
		}
	}
	return ids
}

// snapshot is every job and dead-letter entry of the cluster's app.
type snapshot struct {
	jobs map[uuid.UUID]sluice.Job
	dead []sluice.DeadJob
}

func (c *cluster) snapshot() snapshot {
	c.t.Helper()
	s := snapshot{jobs: map[uuid.UUID]sluice.Job{}}
	cursor := ""
	for {
		page, err := c.client.ListJobs(c.ctx, sluice.JobFilter{App: c.app.ID.String()}, sluice.ListOptions{Limit: 1000, Cursor: cursor})
		if err != nil {
			c.t.Fatal(err)
		}
		for _, j := range page.Items {
			s.jobs[j.ID] = j
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	for {
		page, err := c.client.DLQ().List(c.ctx, sluice.Filter{App: c.app.ID.String()}, sluice.ListOptions{Limit: 1000, Cursor: cursor, All: true})
		if err != nil {
			c.t.Fatal(err)
		}
		s.dead = append(s.dead, page.Items...)
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	return s
}

// finished counts jobs in a final state.
func (s snapshot) finished() int {
	n := len(s.dead)
	for _, j := range s.jobs {
		if j.Status == sluice.StatusCompleted || j.Status == sluice.StatusCancelled {
			n++
		}
	}
	return n
}

// settled reports whether no job is pending or running.
func (s snapshot) settled() bool {
	for _, j := range s.jobs {
		if j.Status == sluice.StatusPending || j.Status == sluice.StatusRunning {
			return false
		}
	}
	return true
}

// waitFinished waits until at least n jobs are in a final state.
func (c *cluster) waitFinished(n int) {
	c.t.Helper()
	c.waitFor(fmt.Sprintf("%d finished jobs", n), func() bool { return c.snapshot().finished() >= n })
}

// events reads the history file.
func (c *cluster) events() []event.Event {
	c.t.Helper()
	f, err := os.Open(c.history)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		c.t.Fatal(err)
	}
	defer f.Close()
	var out []event.Event
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e event.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			// A process killed mid-write can leave a torn last line; nothing after it.
			continue
		}
		out = append(out, e)
	}
	return out
}

// backends are the stores the fault tests run on; each gives the test a fresh database.
var backends = []struct {
	name string
	url  func(t testing.TB) string
}{
	{"postgres", testdb.Postgres},
	{"sqlite", testdb.SQLite},
}

// forEachBackend runs fn as a parallel subtest per backend.
func forEachBackend(t *testing.T, fn func(t *testing.T, url string)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			fn(t, b.url(t))
		})
	}
}

func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}
