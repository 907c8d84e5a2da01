package sqlitestore_test

// Tests of what is particular to SQLite: URLs, connection settings, locking, durability and
// the schema's shape. Behaviour shared with PostgreSQL is the conformance suite's
// (sqlitestore_test.go); the few behaviour tests here are the ones that lean on SQLite's
// locking.

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/internal/testdb"
	"github.com/sluicehq/sluice/store"
	"github.com/sluicehq/sluice/store/sqlitestore"
)

// open opens the store at url, closing it when the test ends.
func open(t *testing.T, url string) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("Open(%q): %v", url, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// migrated opens a fresh, migrated store with one app.
func migrated(t *testing.T) (*sqlitestore.Store, store.App) {
	t.Helper()
	s := open(t, testdb.SQLite(t))
	ctx := context.Background()
	if _, err := s.MigrateUp(ctx); err != nil {
		t.Fatalf("MigrateUp: %v", err)
	}
	app, err := s.CreateApp(ctx, store.App{ID: uuid.Must(uuid.NewV7()), Name: "alpha"})
	if err != nil {
		t.Fatalf("CreateApp: %v", err)
	}
	return s, app
}

func newJob(app uuid.UUID, typ string) store.InsertJob {
	return store.InsertJob{ID: uuid.Must(uuid.NewV7()), AppID: app, Type: typ, Queue: "default",
		Payload: json.RawMessage(`{"n":1}`), MaxAttempts: 3}
}

// result carries a call's two results to must, which fails the test on the error.
type result[T any] struct {
	v   T
	err error
}

func try[T any](v T, err error) result[T] { return result[T]{v, err} }

func (r result[T]) must(t testing.TB) T {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.v
}

func TestIsURL(t *testing.T) {
	t.Parallel()
	for url, want := range map[string]bool{
		"sqlite:./sluice.db":        true,
		"sqlite:///var/lib/x.db":    true,
		"./sluice.db":               true,
		"sluice.db":                 true,
		"/tmp/x.db":                 true,
		`C:\data\sluice.db`:         true,
		"postgres://h/db":           false,
		"postgresql://h/db":         false,
		"mysql://h/db":              false,
		"https://example.com/x.db":  false,
		"file:x.db":                 false,
		"jobs:1.db":                 true,
		"":                          false,
		"sqlite:x.db?synchronous=1": true,
	} {
		if got := sqlitestore.IsURL(url); got != want {
			t.Errorf("IsURL(%q) = %v, want %v", url, got, want)
		}
	}
}

func TestOpenURLForms(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct{ url, path string }{
		{"sqlite:" + dir + "/a.db", dir + "/a.db"},
		{"sqlite://" + dir + "/b.db", dir + "/b.db"},
		{dir + "/c.db", dir + "/c.db"},
		{dir + "/d.db?synchronous=normal&busy_timeout=2s&readers=2", dir + "/d.db"},
	} {
		s := open(t, tc.url)
		if s.Path() != tc.path {
			t.Errorf("Open(%q).Path() = %q, want %q", tc.url, s.Path(), tc.path)
		}
		if _, err := os.Stat(tc.path); err != nil {
			t.Errorf("Open(%q) made no file: %v", tc.url, err)
		}
	}
	for _, url := range []string{
		"postgres://localhost/x", "sqlite:", "sqlite::memory:", ":memory:",
		dir + "/e.db?synchronous=off", dir + "/e.db?readers=0", dir + "/e.db?busy_timeout=abc",
		dir + "/e.db?journal_mode=delete",
	} {
		_, err := sqlitestore.Open(context.Background(), url)
		var fe *store.FieldError
		if !errors.As(err, &fe) || fe.Field != "database-url" {
			t.Errorf("Open(%q) = %v, want a *FieldError on database-url", url, err)
		}
	}
	if _, err := sqlitestore.Open(context.Background(), dir+"/missing/dir/x.db"); err == nil {
		t.Error("Open in a missing directory succeeded")
	}
}

// TestConnectionSettings checks every connection, the writer and each reader, for WAL mode,
// foreign keys and the busy timeout.
func TestConnectionSettings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		query string
		sync  int // PRAGMA synchronous: 1 NORMAL, 2 FULL
	}{{"", 2}, {"?synchronous=normal&busy_timeout=3s", 1}} {
		s := open(t, "sqlite:"+dir+"/s"+fmt.Sprint(tc.sync)+".db"+tc.query)
		ctx := context.Background()
		check := func(name string, c *sql.Conn) {
			t.Helper()
			var mode string
			var fk, sync, busy int
			if err := c.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
				t.Fatal(err)
			}
			if err := c.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
				t.Fatal(err)
			}
			if err := c.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
				t.Fatal(err)
			}
			if err := c.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil {
				t.Fatal(err)
			}
			wantBusy := 10000
			if tc.query != "" {
				wantBusy = 3000
			}
			if mode != "wal" || fk != 1 || sync != tc.sync || busy != wantBusy {
				t.Errorf("%s connection: journal_mode=%s foreign_keys=%d synchronous=%d busy_timeout=%d, want wal 1 %d %d",
					name, mode, fk, sync, busy, tc.sync, wantBusy)
			}
		}
		w := try(s.DB().Conn(ctx)).must(t)
		check("writer", w)
		w.Close()
		// Several readers at once, so the pool opens more than one connection.
		var readers []*sql.Conn
		for range 3 {
			r := try(s.Readers().Conn(ctx)).must(t)
			readers = append(readers, r)
			check("reader", r)
			var queryOnly int
			if err := r.QueryRowContext(ctx, "PRAGMA query_only").Scan(&queryOnly); err != nil || queryOnly != 1 {
				t.Errorf("reader query_only = %d, %v", queryOnly, err)
			}
		}
		for _, r := range readers {
			r.Close()
		}
	}
}

// TestReadersDoNotWaitForTheWriter reads while a caller's transaction holds the writer:
// reads still answer (WAL), and do not see the uncommitted insert.
func TestReadersDoNotWaitForTheWriter(t *testing.T) {
	t.Parallel()
	s, app := migrated(t)
	ctx := context.Background()
	tx := try(s.DB().BeginTx(ctx, nil)).must(t)
	defer tx.Rollback()
	j := newJob(app.ID, "t")
	if _, err := s.InsertJobs(ctx, tx, []store.InsertJob{j}); err != nil {
		t.Fatal(err)
	}
	// The writer is held by tx; reads go to the readers and see only committed data.
	if _, err := s.GetJob(ctx, j.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetJob during the uncommitted tx = %v, want ErrNotFound", err)
	}
	if got := try(s.GetApp(ctx, app.ID)).must(t); got.Name != "alpha" {
		t.Fatalf("GetApp = %+v", got)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetJob(ctx, j.ID); err != nil {
		t.Fatalf("GetJob after commit: %v", err)
	}
}

func TestExternalTxType(t *testing.T) {
	t.Parallel()
	s, app := migrated(t)
	_, err := s.InsertJobs(context.Background(), "not a tx", []store.InsertJob{newJob(app.ID, "t")})
	if !errors.Is(err, store.ErrTxType) {
		t.Fatalf("InsertJobs with a string tx = %v, want ErrTxType", err)
	}
}

func TestMigrations(t *testing.T) {
	t.Parallel()
	s := open(t, testdb.SQLite(t))
	ctx := context.Background()
	status := try(s.MigrationStatus(ctx)).must(t)
	names := []string{"initial", "job_dlq", "dlq_job_fields", "tokens_audit", "failure_groups", "fair_claims", "alerts", "replay_operations", "retention", "token_rotation", "periodic_schedules", "alert_deliveries", "tags_trace", "live_control", "running_index"}
	if len(status) != len(names) {
		t.Fatalf("status = %+v", status)
	}
	for i, m := range status {
		if m.Version != i+1 || m.Name != names[i] || m.AppliedAt != nil {
			t.Errorf("status[%d] = %+v", i, m)
		}
	}
	up := try(s.MigrateUp(ctx)).must(t)
	if len(up) != len(names) {
		t.Fatalf("MigrateUp applied %d, want %d", len(up), len(names))
	}
	if again := try(s.MigrateUp(ctx)).must(t); len(again) != 0 {
		t.Fatalf("second MigrateUp applied %+v", again)
	}
	for _, m := range try(s.MigrationStatus(ctx)).must(t) {
		if m.AppliedAt == nil || m.AppliedAt.Location() != time.UTC {
			t.Errorf("after up: %+v", m)
		}
	}

	// The schema has pgstore's indexes, with the same names and predicates.
	indexes := schemaIndexes(t, s)
	for name, want := range map[string]string{
		"jobs_fair":          "ON jobs (queue, app_id, priority, run_at, id) WHERE status = 'pending'",
		"jobs_running":       "ON jobs (app_id, lease_expires_at) WHERE status = 'running'",
		"jobs_app":           "ON jobs (app_id, id)",
		"jobs_unique_key":    "ON jobs (app_id, unique_key) WHERE unique_key IS NOT NULL AND status IN ('pending', 'running')",
		"idx_job_dlq_app":    "ON job_dlq(app_id, id) WHERE replayed_at IS NULL",
		"idx_job_dlq_type":   "ON job_dlq(type, id) WHERE replayed_at IS NULL",
		"idx_job_dlq_failed": "ON job_dlq(failed_at) WHERE replayed_at IS NULL",
		"job_dlq_app_all":    "ON job_dlq (app_id, id)",
	} {
		if !strings.Contains(strings.Join(strings.Fields(indexes[name]), " "), want) {
			t.Errorf("index %s = %q, want it to contain %q", name, indexes[name], want)
		}
	}
	// job_dlq keeps the nine contract columns first, in order.
	cols := tableColumns(t, s, "job_dlq")
	nine := []string{"id", "original_job_id", "app_id", "type", "payload", "attempts", "error_history", "failed_at", "replayed_at"}
	if !slices.Equal(cols[:9], nine) {
		t.Errorf("job_dlq columns = %v", cols)
	}

	// One step down, then all the way, then up again.
	down := try(s.MigrateDown(ctx, 2)).must(t)
	if len(down) != len(names)-2 || down[0].Version != len(names) || down[len(down)-1].Version != 3 {
		t.Fatalf("MigrateDown(2) = %+v", down)
	}
	if cols := tableColumns(t, s, "job_dlq"); !slices.Equal(cols, nine) {
		t.Errorf("after down to 2, job_dlq columns = %v", cols)
	}
	down = try(s.MigrateDown(ctx, 0)).must(t)
	if len(down) != 2 || down[0].Version != 2 || down[1].Version != 1 {
		t.Fatalf("MigrateDown(0) = %+v", down)
	}
	if idx := schemaIndexes(t, s); len(idx) != 0 {
		t.Errorf("after down to 0, indexes remain: %v", idx)
	}
	if len(try(s.MigrateUp(ctx)).must(t)) != len(names) {
		t.Fatal("MigrateUp after down did not apply them all")
	}
}

// TestConcurrentMigrations migrates one new file from several stores at once, as separate
// processes would: each has its own connections, so only SQLite's locking keeps them apart.
func TestConcurrentMigrations(t *testing.T) {
	t.Parallel()
	url := testdb.SQLite(t)
	const n = 6
	stores := make([]*sqlitestore.Store, n)
	for i := range stores {
		stores[i] = open(t, url)
	}
	applied := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			done, err := s.MigrateUp(context.Background())
			applied[i], errs[i] = len(done), err
		})
	}
	wg.Wait()
	total := 0
	for i := range n {
		if errs[i] != nil {
			t.Errorf("store %d: %v", i, errs[i])
		}
		total += applied[i]
	}
	status, err := stores[0].MigrationStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if total != len(status) {
		t.Errorf("migrations applied %v in all, want each of the %d once", applied, len(status))
	}
}

// TestConcurrentWriters runs many goroutines on two stores over one file (one process and
// another, as far as SQLite can tell) that insert, claim and finish at once. None may see
// SQLITE_BUSY, and every job is claimed exactly once.
func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	s1, app := migrated(t)
	s2 := open(t, "sqlite:"+s1.Path())
	stores := []*sqlitestore.Store{s1, s2}
	ctx := context.Background()
	const workers, perWorker = 16, 20

	var mu sync.Mutex
	claimed := map[uuid.UUID]int{}
	inserted := 0
	var wg sync.WaitGroup
	errc := make(chan error, workers*4)
	for w := range workers {
		s := stores[w%2]
		wg.Go(func() {
			for i := range perWorker {
				j := newJob(app.ID, "t")
				if i%4 == 0 {
					j.UniqueKey = fmt.Sprintf("k%d", i) // contended across workers
				}
				res, err := s.InsertJobs(ctx, nil, []store.InsertJob{j, newJob(app.ID, "t")})
				if err != nil {
					errc <- fmt.Errorf("insert: %w", err)
					return
				}
				mu.Lock()
				for _, r := range res {
					if !r.Duplicate {
						inserted++
					}
				}
				mu.Unlock()
				jobs, err := s.ClaimJobs(ctx, store.ClaimParams{Queue: "default", Types: []string{"t"}, Limit: 3,
					LeaseToken: uuid.New(), LeaseDuration: time.Hour})
				if err != nil {
					errc <- fmt.Errorf("claim: %w", err)
					return
				}
				var fin []store.Finish
				mu.Lock()
				for _, cj := range jobs {
					claimed[cj.ID]++
					fin = append(fin, store.Finish{Lease: store.Lease{JobID: cj.ID, Token: *cj.LeaseToken}, Outcome: store.OutcomeComplete})
				}
				mu.Unlock()
				if len(fin) > 0 {
					ok, err := s.FinishJobs(ctx, fin)
					if err != nil || slices.Contains(ok, false) {
						errc <- fmt.Errorf("finish: %v %w", ok, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	// Claim what is left.
	for {
		jobs := try(s1.ClaimJobs(ctx, store.ClaimParams{Queue: "default", Types: []string{"t"}, Limit: 100,
			LeaseToken: uuid.New(), LeaseDuration: time.Hour})).must(t)
		if len(jobs) == 0 {
			break
		}
		for _, j := range jobs {
			claimed[j.ID]++
		}
	}
	if len(claimed) != inserted {
		t.Errorf("claimed %d distinct jobs, inserted %d", len(claimed), inserted)
	}
	for id, n := range claimed {
		if n != 1 {
			t.Errorf("job %s claimed %d times", id, n)
		}
	}
}

// TestConcurrentReplays replays one entry from many goroutines on two stores: exactly one
// wins, the rest get ErrAlreadyReplayed.
func TestConcurrentReplays(t *testing.T) {
	t.Parallel()
	s1, app := migrated(t)
	s2 := open(t, "sqlite:"+s1.Path())
	ctx := context.Background()
	dead := deadLetter(t, s1, app.ID, "boom")
	const n = 12
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		s := []*sqlitestore.Store{s1, s2}[i%2]
		wg.Go(func() {
			_, errs[i] = s.ReplayDead(ctx, store.ReplayParams{ID: dead, Defaults: store.ReplayDefaults{Queue: "default", MaxAttempts: 25}})
		})
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, store.ErrAlreadyReplayed):
			t.Errorf("replay: %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d replays won, want 1", wins)
	}
	jobs := try(s1.ListJobs(ctx, store.JobFilter{}, store.Page{Limit: 100})).must(t)
	if len(jobs) != 1 || jobs[0].ReplayedFrom == nil || *jobs[0].ReplayedFrom != dead {
		t.Errorf("jobs after replays = %+v", jobs)
	}
}

// TestDeadLetterAndHistory checks the SQLite-built parts of a dead-letter move: the error
// history appended in SQL with a database-clock timestamp, times in UTC, and the filter's
// error-text match over the whole history.
func TestDeadLetterAndHistory(t *testing.T) {
	t.Parallel()
	s, app := migrated(t)
	ctx := context.Background()
	id := deadLetter(t, s, app.ID, `final "quoted" 💥`)
	d := try(s.GetDead(ctx, id)).must(t)
	if len(d.ErrorHistory) != 2 || d.ErrorHistory[0].Error != "first\nfailure" || d.ErrorHistory[1].Error != `final "quoted" 💥` {
		t.Fatalf("history = %+v", d.ErrorHistory)
	}
	if d.FailedAt.Location() != time.UTC || d.FailedAt.UnixMilli() != d.ErrorHistory[1].Timestamp {
		t.Errorf("failed_at %v vs last history timestamp %d", d.FailedAt, d.ErrorHistory[1].Timestamp)
	}
	if string(d.Payload) != `{"n":1}` || d.Queue != "default" || d.MaxAttempts != 2 || d.Attempts != 2 {
		t.Errorf("entry = %+v", d)
	}
	if _, err := s.GetJob(ctx, d.OriginalJobID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the dead job is still in jobs: %v", err)
	}
	for text, want := range map[string]int64{"first": 1, "quoted": 1, "💥": 1, "FIRST": 0, "absent": 0, "": 1} {
		if n := try(s.CountDead(ctx, store.DeadFilter{ErrorContains: text})).must(t); n != want {
			t.Errorf("CountDead(error contains %q) = %d, want %d", text, n, want)
		}
	}
	after := d.FailedAt.Add(-time.Millisecond)
	if n := try(s.CountDead(ctx, store.DeadFilter{AppID: &app.ID, FailedAfter: &after, FailedBefore: ptr(d.FailedAt.Add(time.Millisecond))})).must(t); n != 1 {
		t.Errorf("CountDead in a window around failed_at = %d", n)
	}
	if n := try(s.CountDead(ctx, store.DeadFilter{FailedBefore: &d.FailedAt})).must(t); n != 0 {
		t.Errorf("CountDead failed before failed_at = %d", n)
	}
}

// TestReopenKeepsData closes a store and opens the file again.
func TestReopenKeepsData(t *testing.T) {
	t.Parallel()
	s, app := migrated(t)
	ctx := context.Background()
	j := newJob(app.ID, "t")
	j.Payload = json.RawMessage(`{"b": [1, 2.5, "x"], "a": null}`)
	runAt := time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC)
	j.RunAt = &runAt
	try(s.InsertJobs(ctx, nil, []store.InsertJob{j})).must(t)
	path := s.Path()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := open(t, path)
	got := try(s2.GetJob(ctx, j.ID)).must(t)
	if string(got.Payload) != string(j.Payload) || !got.RunAt.Equal(runAt) || got.RunAt.Location() != time.UTC {
		t.Errorf("after reopen: payload %s run_at %v", got.Payload, got.RunAt)
	}
	if len(try(s2.MigrateUp(ctx)).must(t)) != 0 {
		t.Error("reopened file needed migrations")
	}
}

// TestSurvivesKill enqueues from a child process, which reports the enqueue acknowledged and
// is then killed with SIGKILL; the job must be in the file when it is opened again.
func TestSurvivesKill(t *testing.T) {
	t.Parallel()
	s, app := migrated(t)
	for _, query := range []string{"", "?synchronous=normal"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperEnqueueAndHang$")
		cmd.Env = append(os.Environ(), "SLUICE_HELPER_URL=sqlite:"+s.Path()+query, "SLUICE_HELPER_APP="+app.ID.String())
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var id uuid.UUID
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "ENQUEUED "); ok {
				id = uuid.MustParse(rest)
				break
			}
		}
		cmd.Process.Kill()
		cmd.Wait()
		if id == uuid.Nil {
			t.Fatal("the helper never reported its enqueue")
		}
		if _, err := s.GetJob(context.Background(), id); err != nil {
			t.Errorf("job acknowledged before kill -9 (%q): %v", query, err)
		}
	}
}

// TestHelperEnqueueAndHang is the child of TestSurvivesKill; it does nothing in a normal run.
func TestHelperEnqueueAndHang(t *testing.T) {
	url := os.Getenv("SLUICE_HELPER_URL")
	if url == "" {
		t.Skip("helper process for TestSurvivesKill")
	}
	s, err := sqlitestore.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	j := newJob(uuid.MustParse(os.Getenv("SLUICE_HELPER_APP")), "t")
	if _, err := s.InsertJobs(context.Background(), nil, []store.InsertJob{j}); err != nil {
		t.Fatal(err)
	}
	fmt.Println("ENQUEUED " + j.ID.String())
	select {} // wait to be killed, the store still open
}

func TestListenBlocksUntilDone(t *testing.T) {
	t.Parallel()
	s, _ := migrated(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.ListenForJobs(ctx, func(store.Notice) { t.Error("woken") }) }()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ListenForJobs = %v", err)
	}
}

func TestSchemaRejectsBadValues(t *testing.T) {
	t.Parallel()
	s, app := migrated(t)
	ctx := context.Background()
	appID := app.ID.String()
	for _, tc := range []struct{ name, stmt, constraint string }{
		{"uppercase id", `INSERT INTO apps (id, name) VALUES ('0190A0B0-0000-7000-8000-000000000001', 'x')`, "apps_id_uuid"},
		{"short id", `INSERT INTO apps (id, name) VALUES ('0190a0b0-0000-7000-8000-00000000001', 'x')`, "apps_id_uuid"},
		{"misplaced dash", `INSERT INTO apps (id, name) VALUES ('0190a0b0-0000-7000-8000-00000000000-', 'x')`, "apps_id_uuid"},
		{"taken name", `INSERT INTO apps (id, name) VALUES ('0190a0b0-0000-7000-8000-000000000001', 'alpha')`, "UNIQUE constraint failed: apps.name"},
		{"scalar payload", `INSERT INTO jobs (id, app_id, type, payload) VALUES ('0190a0b0-0000-7000-8000-000000000001', '` + appID + `', 't', '1')`, "jobs_payload_container"},
		{"invalid payload", `INSERT INTO jobs (id, app_id, type, payload) VALUES ('0190a0b0-0000-7000-8000-000000000001', '` + appID + `', 't', '{')`, "jobs_payload_container"},
		{"unknown app", `INSERT INTO jobs (id, app_id, type, payload) VALUES ('0190a0b0-0000-7000-8000-000000000001', '0190a0b0-0000-7000-8000-000000000009', 't', '{}')`, "FOREIGN KEY constraint failed"},
		{"bad status", `INSERT INTO jobs (id, app_id, type, payload, status) VALUES ('0190a0b0-0000-7000-8000-000000000001', '` + appID + `', 't', '{}', 'done')`, "jobs_status_valid"},
		{"running without lease", `INSERT INTO jobs (id, app_id, type, payload, status) VALUES ('0190a0b0-0000-7000-8000-000000000001', '` + appID + `', 't', '{}', 'running')`, "jobs_lease_iff_running"},
		{"priority", `INSERT INTO jobs (id, app_id, type, payload, priority) VALUES ('0190a0b0-0000-7000-8000-000000000001', '` + appID + `', 't', '{}', 101)`, "jobs_priority_valid"},
		{"history not an array", `INSERT INTO job_dlq (original_job_id, app_id, type, payload, attempts, error_history) VALUES ('0190a0b0-0000-7000-8000-000000000001', '` + appID + `', 't', '{}', 1, '{}')`, "job_dlq_error_history_array"},
		{"text time", `INSERT INTO apps (id, name, created_at) VALUES ('0190a0b0-0000-7000-8000-000000000001', 'x', 'yesterday')`, "cannot store TEXT value in INTEGER column"},
		{"delete an app with jobs", `DELETE FROM apps`, "FOREIGN KEY constraint failed"},
	} {
		// The app must have a job for the foreign key on delete to bite.
		if tc.name == "delete an app with jobs" {
			try(s.InsertJobs(ctx, nil, []store.InsertJob{newJob(app.ID, "t")})).must(t)
		}
		_, err := s.DB().ExecContext(ctx, tc.stmt)
		if err == nil || !strings.Contains(err.Error(), tc.constraint) {
			t.Errorf("%s: %v, want a violation of %s", tc.name, err, tc.constraint)
		}
	}
	// The nine contract columns alone make an entry, with a generated UUID id.
	var id string
	err := s.DB().QueryRowContext(ctx, `INSERT INTO job_dlq (original_job_id, app_id, type, payload, attempts, error_history)
		VALUES ('0190a0b0-0000-7000-8000-000000000001', ?, 't', '{}', 1, '[]') RETURNING id`, app.ID.String()).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	if u, err := uuid.Parse(id); err != nil || u.String() != id || u.Version() != 4 {
		t.Errorf("default id %q", id)
	}
}

// deadLetter inserts a job with two attempts, fails the first and dead-letters the second
// with lastError, and returns the entry's id.
func deadLetter(t *testing.T, s store.Store, app uuid.UUID, lastError string) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	j := newJob(app, "dl")
	j.MaxAttempts = 2
	try(s.InsertJobs(ctx, nil, []store.InsertJob{j})).must(t)
	for attempt, f := range []store.Finish{
		{Outcome: store.OutcomeRetry, Error: "first\nfailure"},
		{Outcome: store.OutcomeDeadLetter, Error: lastError},
	} {
		jobs := try(s.ClaimJobs(ctx, store.ClaimParams{Queue: "default", Types: []string{"dl"}, Limit: 1,
			LeaseToken: uuid.New(), LeaseDuration: time.Hour})).must(t)
		if len(jobs) != 1 {
			t.Fatalf("attempt %d: claimed %d", attempt, len(jobs))
		}
		f.Lease = store.Lease{JobID: j.ID, Token: *jobs[0].LeaseToken}
		if ok := try(s.FinishJobs(ctx, []store.Finish{f})).must(t); !ok[0] {
			t.Fatalf("attempt %d: finish not applied", attempt)
		}
	}
	dead := try(s.ListDead(ctx, store.DeadFilter{Type: "dl"}, store.Page{Limit: 10})).must(t)
	for _, d := range dead {
		if d.OriginalJobID == j.ID {
			return d.ID
		}
	}
	t.Fatal("no dead-letter entry")
	return uuid.Nil
}

func schemaIndexes(t *testing.T, s *sqlitestore.Store) map[string]string {
	t.Helper()
	rows := try(s.DB().Query(`SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL`)).must(t)
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, sql string
		if err := rows.Scan(&name, &sql); err != nil {
			t.Fatal(err)
		}
		out[name] = sql
	}
	return out
}

func tableColumns(t *testing.T, s *sqlitestore.Store, table string) []string {
	t.Helper()
	rows := try(s.DB().Query(`SELECT name FROM pragma_table_info(?) ORDER BY cid`, table)).must(t)
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, c)
	}
	return cols
}

func ptr[T any](v T) *T { return &v }

// TestQueryPlans checks that the hot queries use the indexes built for them.
func TestQueryPlans(t *testing.T) {
	t.Parallel()
	s, _ := migrated(t)
	param := regexp.MustCompile(`:([a-z_]+)`)
	for name, want := range map[string]string{
		"ClaimJobs": "USING INDEX jobs_fair (queue=? AND app_id=?)",
		"ReadyApps": "USING COVERING INDEX jobs_fair (queue=? AND app_id<?)",
		// The running set only (never the table), sorted: off the hot path, and bounded by the
		// workers' concurrency (see migration 0015).
		"ListExpiredLeases":      "SCAN jobs USING INDEX jobs_running",
		"GetLiveJobsByUniqueKey": "USING INDEX jobs_unique_key (app_id=? AND unique_key=?)",
		"ListDead":               "(id<?)", // a page starts at its cursor, in id order
		"ListJobs":               "(id<?)",
		"SelectDeadForReplay":    "(id<?)",
		"RetryJobs":              "(id=?)",
		"DeadLetterJobs":         "(id=?)",
	} {
		query := sqlitestore.Query(name)
		var args []any
		seen := map[string]bool{}
		for _, m := range param.FindAllStringSubmatch(query, -1) {
			if !seen[m[1]] {
				seen[m[1]] = true
				args = append(args, sql.Named(m[1], nil))
			}
		}
		rows := try(s.DB().Query("EXPLAIN QUERY PLAN "+query, args...)).must(t)
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		sorts := strings.Contains(strings.Join(plan, "\n"), "TEMP B-TREE") && name != "ListExpiredLeases"
		if !strings.Contains(strings.Join(plan, "\n"), want) || sorts {
			t.Errorf("%s plan:\n%s\nwant %q and no sort", name, strings.Join(plan, "\n"), want)
		}
	}
}

// TestErrors checks the errors the store maps from SQLite's constraint failures and from
// replays, which must be pgstore's.
func TestErrors(t *testing.T) {
	t.Parallel()
	s, app := migrated(t)
	ctx := context.Background()

	_, err := s.CreateApp(ctx, store.App{ID: uuid.Must(uuid.NewV7()), Name: "alpha"})
	if want := store.AppNameTaken("alpha"); err == nil || err.Error() != want.Error() || !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateApp with a taken name = %v, want %v", err, want)
	}

	// An unknown app anywhere in a batch inserts nothing.
	good, bad := newJob(app.ID, "t"), newJob(uuid.Must(uuid.NewV7()), "t")
	_, err = s.InsertJobs(ctx, nil, []store.InsertJob{good, bad})
	var fe *store.FieldError
	if !errors.As(err, &fe) || fe.Field != "app" || !errors.Is(err, store.ErrNotFound) {
		t.Errorf("InsertJobs with an unknown app = %v", err)
	}
	if _, err := s.GetJob(ctx, good.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a job of a failed batch was inserted: %v", err)
	}

	// A unique key: the second insert returns the first job.
	first, second := newJob(app.ID, "u"), newJob(app.ID, "u")
	first.UniqueKey, second.UniqueKey = "k", "k"
	res := try(s.InsertJobs(ctx, nil, []store.InsertJob{first, second})).must(t)
	if res[0].Duplicate || !res[1].Duplicate || res[1].Job.ID != first.ID {
		t.Errorf("unique-key insert = %+v", res)
	}

	// Dead-letter a job holding key "r", then hold "r" with a live job: the replay conflicts
	// and leaves the entry un-replayed, in a single replay and in a batch.
	j := newJob(app.ID, "r")
	j.UniqueKey, j.MaxAttempts = "r", 1
	try(s.InsertJobs(ctx, nil, []store.InsertJob{j})).must(t)
	claimed := try(s.ClaimJobs(ctx, store.ClaimParams{Queue: "default", Types: []string{"r"}, Limit: 1, LeaseToken: uuid.New(), LeaseDuration: time.Hour})).must(t)
	try(s.FinishJobs(ctx, []store.Finish{{Lease: store.Lease{JobID: j.ID, Token: *claimed[0].LeaseToken}, Outcome: store.OutcomeDeadLetter, Error: "x"}})).must(t)
	entry := try(s.ListDead(ctx, store.DeadFilter{Type: "r"}, store.Page{Limit: 1})).must(t)[0]
	if entry.UniqueKey != "r" || entry.MaxAttempts != 1 {
		t.Fatalf("entry = %+v", entry)
	}
	holder := newJob(app.ID, "r")
	holder.UniqueKey = "r"
	try(s.InsertJobs(ctx, nil, []store.InsertJob{holder})).must(t)
	defaults := store.ReplayDefaults{Queue: "default", MaxAttempts: 25}
	_, err = s.ReplayDead(ctx, store.ReplayParams{ID: entry.ID, Defaults: defaults})
	if want := store.UniqueKeyHeld(); err == nil || err.Error() != want.Error() || !errors.Is(err, store.ErrConflict) {
		t.Errorf("ReplayDead with the key held = %v", err)
	}
	batch := try(s.ReplayDeadBatch(ctx, store.DeadFilter{Type: "r"}, store.ReplayBatch{Limit: 10, Defaults: defaults})).must(t)
	if batch.Considered != 1 || batch.Replayed != 0 || batch.Conflicts != 1 || *batch.LastID != entry.ID {
		t.Errorf("ReplayDeadBatch with the key held = %+v", batch)
	}
	if d := try(s.GetDead(ctx, entry.ID)).must(t); d.ReplayedAt != nil || d.ReplayJobID != nil {
		t.Errorf("conflicting replays marked the entry: %+v", d)
	}

	// Cancel the holder (claim it, cancel it): now the replay goes through, once.
	claimed = try(s.ClaimJobs(ctx, store.ClaimParams{Queue: "default", Types: []string{"r"}, Limit: 1, LeaseToken: uuid.New(), LeaseDuration: time.Hour})).must(t)
	try(s.FinishJobs(ctx, []store.Finish{{Lease: store.Lease{JobID: holder.ID, Token: *claimed[0].LeaseToken}, Outcome: store.OutcomeCancel, Error: "stop"}})).must(t)
	job := try(s.ReplayDead(ctx, store.ReplayParams{ID: entry.ID, Defaults: defaults})).must(t)
	if job.UniqueKey != "r" || job.MaxAttempts != 1 || job.Attempts != 0 || *job.ReplayedFrom != entry.ID || job.Status != store.StatusPending {
		t.Errorf("replayed job = %+v", job)
	}
	if d := try(s.GetDead(ctx, entry.ID)).must(t); d.ReplayedAt == nil || *d.ReplayJobID != job.ID {
		t.Errorf("replayed entry = %+v", d)
	}
	if _, err := s.ReplayDead(ctx, store.ReplayParams{ID: entry.ID, Defaults: defaults}); !errors.Is(err, store.ErrAlreadyReplayed) {
		t.Errorf("second replay = %v", err)
	}
	if _, err := s.ReplayDead(ctx, store.ReplayParams{ID: uuid.Must(uuid.NewV7()), Defaults: defaults}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("replay of a missing entry = %v", err)
	}
	if err := s.DeleteDead(ctx, uuid.Must(uuid.NewV7()), nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteDead of a missing entry = %v", err)
	}

	// A stale lease changes nothing.
	stale := try(s.FinishJobs(ctx, []store.Finish{{Lease: store.Lease{JobID: job.ID, Token: uuid.New()}, Outcome: store.OutcomeComplete}})).must(t)
	if stale[0] {
		t.Error("a finish with a wrong token applied")
	}
}

func jsonText(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
