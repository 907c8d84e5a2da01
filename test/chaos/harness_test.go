package chaos

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"go.uber.org/goleak"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/testdb"
	"github.com/sluicehq/sluice/test/chaos/worker/event"
)

// workerBin is the worker process, built once for the whole package.
var workerBin string

// buildDir holds the binaries the tests build.
var buildDir string

func TestMain(m *testing.M) {
	var err error
	if buildDir, err = os.MkdirTemp("", "sluice-chaos-"); err != nil {
		panic(err)
	}
	workerBin = filepath.Join(buildDir, "worker")
	build := exec.Command("go", "build", "-race", "-o", workerBin, "./worker")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the chaos worker:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(buildDir)
	if code == 0 {
		// The harness's own clients, listeners and watchers must leave no goroutine behind.
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// waitTimeout bounds every wait on a condition. Waits end as soon as the condition holds; the
// bound only turns a hang into a failure.
const waitTimeout = 2 * time.Minute

// cluster is one test's database, history file and worker processes.
type cluster struct {
	t   *testing.T
	ctx context.Context
	// url is the test's own; workerURL, the workers' (the same unless a test sets it, say to
	// give them an application_name of their own).
	url, workerURL string
	// env is added to every process's environment, before what startWorker is given.
	env     []string
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
	c := &cluster{t: t, ctx: ctx, url: url, workerURL: url, dir: t.TempDir()}
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
		if t.Failed() {
			c.dumpLogs()
		}
	})
	if _, err := client.Store().MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	if c.app, err = client.CreateApp(ctx, "chaos"); err != nil {
		t.Fatal(err)
	}
	return c
}

// backend is "postgres" or "sqlite".
func (c *cluster) backend() string { return c.client.Store().Backend() }

// dumpLogs writes the tail of every process's log to the test log, for a failed test.
func (c *cluster) dumpLogs() {
	for i, w := range c.workers {
		b, _ := os.ReadFile(w.log)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) > 40 {
			lines = lines[len(lines)-40:]
		}
		c.t.Logf("process %d (pid %d, %v) log tail:\n%s", i, w.pid(), w.err, strings.Join(lines, "\n"))
	}
}

// worker is one worker (or enqueuer) process.
type worker struct {
	cmd    *exec.Cmd
	log    string
	exited chan struct{}
	err    error
}

// startWorker starts a worker process and waits until it is working. env adds or overrides
// CHAOS_* settings (see the worker's documentation).
func (c *cluster) startWorker(env ...string) *worker {
	c.t.Helper()
	w := c.spawn(env...)
	c.waitForLog(w, "chaos worker ready")
	return w
}

// startEnqueuer starts a process that enqueues jobs until it is killed, appending each
// acknowledged id to the file acks.
func (c *cluster) startEnqueuer(acks string, env ...string) *worker {
	c.t.Helper()
	w := c.spawn(append([]string{"CHAOS_MODE=enqueue", "CHAOS_APP=" + c.app.ID.String(), "CHAOS_ACKS=" + acks}, env...)...)
	c.waitForLog(w, "chaos enqueuer ready")
	return w
}

// spawn starts the chaos binary without waiting for it to be ready.
func (c *cluster) spawn(env ...string) *worker {
	c.t.Helper()
	return c.spawnBinary(workerBin, env...)
}

// spawnBinary starts bin, a chaos worker binary (this release's or another's), without
// waiting for it to be ready.
func (c *cluster) spawnBinary(bin string, env ...string) *worker {
	c.t.Helper()
	c.mu.Lock()
	n := len(c.workers)
	c.mu.Unlock()
	w := &worker{log: filepath.Join(c.dir, fmt.Sprintf("worker-%d.log", n)), exited: make(chan struct{})}
	logFile, err := os.Create(w.log)
	if err != nil {
		c.t.Fatal(err)
	}
	w.cmd = exec.Command(bin)
	w.cmd.Env = append(os.Environ(), "CHAOS_DATABASE_URL="+c.workerURL, "CHAOS_HISTORY="+c.history)
	w.cmd.Env = append(append(w.cmd.Env, c.env...), env...)
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

// hasExited reports whether the process has exited.
func (w *worker) hasExited() bool {
	select {
	case <-w.exited:
		return true
	default:
		return false
	}
}

// waitExit waits for the worker to exit by itself, which a stopped worker does within a
// second or two; the deadline only turns a worker that hangs on into a failure.
func (c *cluster) waitExit(w *worker) {
	c.t.Helper()
	select {
	case <-w.exited:
	case <-time.After(30 * time.Second):
		c.t.Fatalf("worker %d did not exit within 30s of being told to stop", w.pid())
	}
}

// logCount counts the lines of the worker's log that contain text.
func (w *worker) logCount(text string) int {
	b, _ := os.ReadFile(w.log)
	return strings.Count(string(b), text)
}

// waitForLog waits until the worker's log contains text.
func (c *cluster) waitForLog(w *worker, text string) {
	c.t.Helper()
	c.waitFor("worker log line "+text, func() bool {
		if w.logCount(text) > 0 {
			return true
		}
		if w.hasExited() {
			b, _ := os.ReadFile(w.log)
			c.t.Fatalf("worker exited (%v) before logging %q:\n%s", w.err, text, b)
		}
		return false
	})
}

// waitFor polls cond until it holds, failing the test after waitTimeout.
func (c *cluster) waitFor(what string, cond func() bool) {
	c.t.Helper()
	c.waitWithin(waitTimeout, what, cond)
}

// waitWithin polls cond until it holds, failing the test after d.
func (c *cluster) waitWithin(d time.Duration, what string, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond) // the poll's interval, not a synchronisation
	}
}

// startedBy returns the jobs (of those given, or any if nil) the worker has started and not
// ended, by the history.
func (c *cluster) startedBy(w *worker, jobs map[string]bool) []string {
	c.t.Helper()
	open := map[string]bool{}
	for _, e := range c.events() {
		if e.PID == w.pid() && (jobs == nil || jobs[e.Job]) {
			open[e.Job] = e.Event == "start"
		}
	}
	var out []string
	for id, running := range open {
		if running {
			out = append(out, id)
		}
	}
	return out
}

// waitRunningLong waits until the worker has started one of the given jobs and not ended it.
func (c *cluster) waitRunningLong(w *worker, jobs map[string]bool) {
	c.t.Helper()
	c.waitFor(fmt.Sprintf("worker %d to be running a long job", w.pid()), func() bool {
		return len(c.startedBy(w, jobs)) > 0
	})
}

// enqueue inserts n chaos jobs and returns their ids.
func (c *cluster) enqueue(n, maxAttempts int, args func(i int) event.Args) []uuid.UUID {
	c.t.Helper()
	return c.enqueueJobs(n, func(i int) sluice.NewJob {
		return sluice.NewJob{Payload: args(i), MaxAttempts: maxAttempts}
	})
}

// enqueueJobs inserts n chaos jobs that job describes (app and type are filled in) and returns
// their ids.
func (c *cluster) enqueueJobs(n int, job func(i int) sluice.NewJob) []uuid.UUID {
	c.t.Helper()
	var ids []uuid.UUID
	for start := 0; start < n; start += 500 {
		var batch []sluice.NewJob
		for i := start; i < min(n, start+500); i++ {
			j := job(i)
			j.App, j.Type = c.app.ID.String(), "chaos.work"
			batch = append(batch, j)
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

// idSet returns the ids as strings, for matching history events.
func idSet(ids []uuid.UUID) map[string]bool {
	out := map[string]bool{}
	for _, id := range ids {
		out[id.String()] = true
	}
	return out
}

// snapshot is every job and dead-letter entry of the cluster's app.
type snapshot struct {
	jobs map[uuid.UUID]sluice.Job
	dead []sluice.DeadJob
}

// snapshot reads every job and entry of the app, failing the test if it cannot.
func (c *cluster) snapshot() snapshot {
	c.t.Helper()
	s, err := c.trySnapshot()
	if err != nil {
		c.t.Fatal(err)
	}
	return s
}

// trySnapshot reads every job and entry of the app; a test whose database is being broken
// polls it until it answers.
func (c *cluster) trySnapshot() (snapshot, error) {
	s := snapshot{jobs: map[uuid.UUID]sluice.Job{}}
	ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
	defer cancel()
	cursor := ""
	for {
		page, err := c.client.ListJobs(ctx, sluice.JobFilter{App: c.app.ID.String()}, sluice.ListOptions{Limit: 1000, Cursor: cursor})
		if err != nil {
			return s, err
		}
		for _, j := range page.Items {
			s.jobs[j.ID] = j
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	for {
		page, err := c.client.DLQ().List(ctx, sluice.Filter{App: c.app.ID.String()}, sluice.ListOptions{Limit: 1000, Cursor: cursor, All: true})
		if err != nil {
			return s, err
		}
		s.dead = append(s.dead, page.Items...)
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	return s, nil
}

// describe says where the job ended and how: its status, attempts and error history, from
// jobs or from its dead-letter entry.
func (s snapshot) describe(id uuid.UUID) string {
	if j, ok := s.jobs[id]; ok {
		return fmt.Sprintf("%s after %d attempts, history %v", j.Status, j.Attempts, j.ErrorHistory)
	}
	for _, d := range s.dead {
		if d.OriginalJobID == id {
			return fmt.Sprintf("dead-lettered after %d attempts, history %v", d.Attempts, d.ErrorHistory)
		}
	}
	return "in neither table"
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

// waitSettled waits until no job is pending or running, tolerating a database that does not
// answer for a while.
func (c *cluster) waitSettled() snapshot {
	c.t.Helper()
	var s snapshot
	c.waitFor("every job to settle", func() bool {
		var err error
		s, err = c.trySnapshot()
		return err == nil && s.settled()
	})
	return s
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

// dbNow reads the database clock through the store: the CreatedAt of an app made for the
// purpose is the database's now().
func (c *cluster) dbNow() time.Time {
	c.t.Helper()
	app, err := c.client.CreateApp(c.ctx, "clock-"+uuid.NewString()[:13])
	if err != nil {
		c.t.Fatal(err)
	}
	return app.CreatedAt
}

// exec runs raw SQL on the cluster's database, for faults the API cannot cause (triggers,
// stolen leases).
func (c *cluster) exec(query string) {
	c.t.Helper()
	if c.backend() == "postgres" {
		testdb.Exec(c.t, c.url, query)
		return
	}
	// As the store does: the write lock is taken at BEGIN (so the statement can never fail
	// to upgrade a read lock), and a try that still finds the file busy — the workers'
	// processes may hold its lock for longer than a busy timeout between them — is run again.
	db, err := sql.Open("sqlite", strings.TrimPrefix(c.url, "sqlite:")+"?_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		c.t.Fatal(err)
	}
	defer db.Close()
	for {
		err = execInTx(c.ctx, db, query)
		if err == nil {
			return
		}
		if !strings.Contains(err.Error(), "SQLITE_BUSY") || c.ctx.Err() != nil {
			c.t.Fatalf("%s: %v", query, err)
		}
		c.t.Logf("%s: %v; trying again", query, err)
	}
}

// execInTx runs query in a transaction of its own on db.
func execInTx(ctx context.Context, db *sql.DB, query string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, query); err != nil {
		return err
	}
	return tx.Commit()
}

// backendSQL is SQL that differs between the stores.
type backendSQL struct {
	// stealLease makes the job's lease (%s: its id) expired and held by an unknown token, as
	// if its worker had been cut off past its lease.
	stealLease string
}

var backendSQLs = map[string]backendSQL{
	"postgres": {
		stealLease: `UPDATE jobs SET lease_token = gen_random_uuid(), lease_expires_at = now() - interval '1 second' WHERE id = '%s'`,
	},
	"sqlite": {
		stealLease: `UPDATE jobs SET lease_token = '00000000-0000-4000-8000-000000000000', lease_expires_at = 1 WHERE id = '%s'`,
	},
}

// sqlFor returns the cluster's backend's SQL.
func (c *cluster) sqlFor() backendSQL { return backendSQLs[c.backend()] }

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

// envInt reads a size from the environment: CI-sized defaults, bigger runs on demand.
func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// scaled is a job count of a load test times CHAOS_SCALE.
func scaled(n int) int { return n * envInt("CHAOS_SCALE", 1) }
