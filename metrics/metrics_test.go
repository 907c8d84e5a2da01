package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/testdb"
	"github.com/sluicehq/sluice/metrics"
	"github.com/sluicehq/sluice/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// backends are the stores the tests run against; each returns a fresh database URL.
var backends = map[string]func(t testing.TB) string{
	"postgres": testdb.Postgres,
	"sqlite":   testdb.SQLite,
}

// forEachBackend runs fn as a parallel subtest per backend.
func forEachBackend(t *testing.T, fn func(t *testing.T, url string)) {
	for name, newURL := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, newURL(t))
		})
	}
}

// openStore opens and migrates the store at url, closing it when the test ends.
func openStore(t *testing.T, url string) store.Store {
	t.Helper()
	st, err := sluice.OpenStore(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.MigrateUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	return st
}

// newClient makes a client on st that reports to m, stopped when the test ends (before the
// store is closed).
func newClient(t *testing.T, st store.Store, m *metrics.Metrics) *sluice.Client {
	t.Helper()
	c, err := sluice.NewClient(st, &sluice.Config{
		Queues:         map[string]sluice.QueueConfig{"default": {}, "risky": {}},
		Observer:       m.Observer(),
		PollInterval:   20 * time.Millisecond,
		RescueInterval: 50 * time.Millisecond,
		LeaseDuration:  5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return c
}

// scrape gets the handler's metrics as families by name.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	families, err := tryScrape(h)
	if err != nil {
		t.Fatal(err)
	}
	return families
}

// tryScrape is scrape for goroutines other than the test's.
func tryScrape(h http.Handler) (map[string]*dto.MetricFamily, error) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(rec.Body)
	if err != nil {
		return nil, fmt.Errorf("parsing the scrape: %w", err)
	}
	return families, nil
}

// labels is a metric's label set, "k=v" pairs.
type labels map[string]string

// find returns the metric of the family with exactly these labels, or nil.
func find(families map[string]*dto.MetricFamily, name string, want labels) *dto.Metric {
	f := families[name]
	if f == nil {
		return nil
	}
	for _, m := range f.Metric {
		got := labels{}
		for _, l := range m.Label {
			got[l.GetName()] = l.GetValue()
		}
		if maps.Equal(got, want) {
			return m
		}
	}
	return nil
}

// value returns a counter's or gauge's value, failing the test if it is missing.
func value(t *testing.T, families map[string]*dto.MetricFamily, name string, want labels) float64 {
	t.Helper()
	m := find(families, name, want)
	switch {
	case m == nil:
		t.Fatalf("no metric %s%v", name, want)
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	t.Fatalf("%s%v is neither a counter nor a gauge", name, want)
	return 0
}

type args struct{}

// counts are the event counters of one app, type and queue.
type counts struct {
	enqueued, started, completed, failed, retried, deadLettered, snoozed, cancelled float64
}

func TestMetricsCountWhatHappened(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		ctx := t.Context()
		st := openStore(t, url)
		m := metrics.New(st, nil)
		h := m.Handler()
		c := newClient(t, st, m)
		noBackoff := func(int) time.Duration { return 0 }
		sluice.Handle(c, "ok", func(ctx context.Context, job *sluice.Job, a args) error { return nil }, nil)
		sluice.Handle(c, "flaky", func(ctx context.Context, job *sluice.Job, a args) error {
			if job.Attempts == 1 {
				return errors.New("first attempt fails")
			}
			return nil
		}, &sluice.TypeOptions{Backoff: noBackoff})
		sluice.Handle(c, "doomed", func(ctx context.Context, job *sluice.Job, a args) error {
			return errors.New("always fails")
		}, &sluice.TypeOptions{MaxAttempts: 2, Backoff: noBackoff})
		var snoozed sync.Map
		sluice.Handle(c, "snoozy", func(ctx context.Context, job *sluice.Job, a args) error {
			if _, again := snoozed.LoadOrStore(job.ID, true); !again {
				return sluice.Snooze(0)
			}
			return nil
		}, nil)
		sluice.Handle(c, "panicky", func(ctx context.Context, job *sluice.Job, a args) error {
			panic("boom")
		}, &sluice.TypeOptions{MaxAttempts: 1, Queue: "risky"})
		sluice.Handle(c, "quitter", func(ctx context.Context, job *sluice.Job, a args) error {
			return sluice.Cancel(errors.New("not wanted"))
		}, nil)
		alpha, err := c.CreateApp(ctx, "alpha")
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		// This scrape learns only alpha's name; beta, made after it, must be named too.
		if got := value(t, scrape(t, h), "sluice_db_up", labels{}); got != 1 {
			t.Fatalf("sluice_db_up = %v, want 1", got)
		}

		enqueue := func(app sluice.App, jobType string, n int, opts sluice.NewJob) []sluice.EnqueueResult {
			t.Helper()
			jobs := make([]sluice.NewJob, n)
			for i := range jobs {
				jobs[i] = opts
				jobs[i].App, jobs[i].Type, jobs[i].Payload = app.ID.String(), jobType, args{}
			}
			res, err := c.EnqueueMany(ctx, jobs)
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		enqueue(alpha, "ok", 3, sluice.NewJob{})
		enqueue(alpha, "flaky", 2, sluice.NewJob{})
		enqueue(alpha, "doomed", 1, sluice.NewJob{})
		enqueue(alpha, "snoozy", 1, sluice.NewJob{})
		enqueue(alpha, "panicky", 1, sluice.NewJob{})
		enqueue(alpha, "quitter", 1, sluice.NewJob{})
		// A type nobody handles: two jobs, and a unique-key duplicate that is not counted.
		enqueue(alpha, "held", 1, sluice.NewJob{UniqueKey: "k"})
		enqueue(alpha, "held", 1, sluice.NewJob{})
		if dup := enqueue(alpha, "held", 1, sluice.NewJob{UniqueKey: "k"}); !dup[0].Duplicate {
			t.Fatalf("the unique key did not hold: %+v", dup[0])
		}
		// Two orphans claimed behind the engine's back with leases that expire at once: the
		// rescuer retries one and dead-letters the other, which has no attempt left.
		enqueue(alpha, "orphan", 1, sluice.NewJob{MaxAttempts: 2})
		enqueue(alpha, "orphan", 1, sluice.NewJob{MaxAttempts: 1})
		claimed, err := st.ClaimJobs(ctx, store.ClaimParams{Queue: "default", Types: []string{"orphan"}, Limit: 2,
			LeaseToken: uuid.New(), LeaseDuration: time.Millisecond})
		if err != nil || len(claimed) != 2 {
			t.Fatalf("claiming the orphans: %d, %v", len(claimed), err)
		}
		beta, err := c.CreateApp(ctx, "beta")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.SetAppLimits(ctx, "beta", sluice.AppLimits{MaxRunning: 7, Rate: 2.5}); err != nil {
			t.Fatal(err)
		}
		enqueue(beta, "ok", 1, sluice.NewJob{})

		settled := map[[2]string]func(s sluice.TypeStats) bool{
			{"alpha", "ok"}:      func(s sluice.TypeStats) bool { return s.Completed == 3 },
			{"alpha", "flaky"}:   func(s sluice.TypeStats) bool { return s.Completed == 2 },
			{"alpha", "doomed"}:  func(s sluice.TypeStats) bool { return s.Dead == 1 },
			{"alpha", "snoozy"}:  func(s sluice.TypeStats) bool { return s.Completed == 1 },
			{"alpha", "panicky"}: func(s sluice.TypeStats) bool { return s.Dead == 1 },
			{"alpha", "quitter"}: func(s sluice.TypeStats) bool { return s.Cancelled == 1 },
			{"alpha", "orphan"}:  func(s sluice.TypeStats) bool { return s.Dead == 1 && s.Retrying == 1 },
			{"beta", "ok"}:       func(s sluice.TypeStats) bool { return s.Completed == 1 },
		}
		appName := map[uuid.UUID]string{alpha.ID: "alpha", beta.ID: "beta"}
		waitFor(t, "every job to reach its end", func() bool {
			stats, err := c.Stats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			done := 0
			for _, s := range stats {
				if cond := settled[[2]string{appName[s.AppID], s.Type}]; cond != nil && cond(s) {
					done++
				}
			}
			return done == len(settled)
		})
		stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := c.Stop(stopCtx); err != nil {
			t.Fatal(err)
		}
		// Stopped, so the replayed job stays pending.
		dead, err := c.DLQ().List(ctx, sluice.Filter{Type: "panicky"}, sluice.ListOptions{})
		if err != nil || len(dead.Items) != 1 {
			t.Fatalf("the panicky entry: %+v, %v", dead, err)
		}
		if _, err := c.DLQ().Replay(ctx, dead.Items[0].ID); err != nil {
			t.Fatal(err)
		}
		// A replay operation, paused (and the client stopped, so nothing runs it).
		op, err := c.DLQ().StartReplay(ctx, sluice.Filter{Type: "nothing"}, sluice.ReplayOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.DLQ().PauseReplay(ctx, op.ID); err != nil {
			t.Fatal(err)
		}

		// Scrapes at once (under the race detector) leave one another alone.
		var wg sync.WaitGroup
		scrapes := make([]map[string]*dto.MetricFamily, 3)
		errs := make([]error, len(scrapes))
		for i := range scrapes {
			wg.Go(func() { scrapes[i], errs[i] = tryScrape(h) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		for _, other := range scrapes[1:] {
			for _, name := range []string{"sluice_jobs_enqueued_total", "sluice_jobs"} {
				if !proto.Equal(scrapes[0][name], other[name]) {
					t.Errorf("concurrent scrapes differ on %s:\n%v\n%v", name, scrapes[0][name], other[name])
				}
			}
		}
		families := scrapes[0]
		want := []struct {
			app, jobType, queue string
			counts
		}{
			{"alpha", "ok", "default", counts{enqueued: 3, started: 3, completed: 3}},
			{"alpha", "flaky", "default", counts{enqueued: 2, started: 4, completed: 2, failed: 2, retried: 2}},
			{"alpha", "doomed", "default", counts{enqueued: 1, started: 2, failed: 2, retried: 1, deadLettered: 1}},
			{"alpha", "snoozy", "default", counts{enqueued: 1, started: 2, completed: 1, snoozed: 1}},
			{"alpha", "panicky", "risky", counts{enqueued: 1, started: 1, failed: 1, deadLettered: 1}},
			{"alpha", "quitter", "default", counts{enqueued: 1, started: 1, cancelled: 1}},
			{"alpha", "held", "default", counts{enqueued: 2}},
			{"alpha", "orphan", "default", counts{enqueued: 2}},
			{"beta", "ok", "default", counts{enqueued: 1, started: 1, completed: 1}},
		}
		for _, w := range want {
			l := labels{"app": w.app, "type": w.jobType, "queue": w.queue}
			got := counts{
				enqueued:     value(t, families, "sluice_jobs_enqueued_total", l),
				started:      value(t, families, "sluice_attempts_started_total", l),
				completed:    value(t, families, "sluice_jobs_completed_total", l),
				failed:       value(t, families, "sluice_attempts_failed_total", l),
				retried:      value(t, families, "sluice_jobs_retried_total", l),
				deadLettered: value(t, families, "sluice_jobs_dead_lettered_total", l),
				snoozed:      value(t, families, "sluice_jobs_snoozed_total", l),
				cancelled:    value(t, families, "sluice_jobs_cancelled_total", l),
			}
			if got != w.counts {
				t.Errorf("%s/%s/%s: counters %+v, want %+v", w.app, w.jobType, w.queue, got, w.counts)
			}
			hist := find(families, "sluice_attempt_duration_seconds", l)
			if hist == nil || hist.Histogram == nil {
				t.Errorf("%s/%s/%s: no attempt_duration_seconds histogram", w.app, w.jobType, w.queue)
			} else if n := hist.Histogram.GetSampleCount(); float64(n) != w.started || hist.Histogram.GetSampleSum() < 0 {
				t.Errorf("%s/%s/%s: %d durations observed (sum %v), want %v", w.app, w.jobType, w.queue, n, hist.Histogram.GetSampleSum(), w.started)
			}
		}
		for _, g := range []struct {
			name string
			l    labels
			want float64
		}{
			{"sluice_dlq_replayed_total", labels{}, 1},
			{"sluice_lease_rescues_total", labels{"outcome": "retried"}, 1},
			{"sluice_lease_rescues_total", labels{"outcome": "dead_lettered"}, 1},
			{"sluice_jobs", labels{"app": "alpha", "type": "held", "state": "pending"}, 2},
			{"sluice_jobs", labels{"app": "alpha", "type": "orphan", "state": "retrying"}, 1},
			{"sluice_jobs", labels{"app": "alpha", "type": "orphan", "state": "pending"}, 0},
			{"sluice_jobs", labels{"app": "alpha", "type": "panicky", "state": "pending"}, 1},
			{"sluice_jobs", labels{"app": "alpha", "type": "ok", "state": "pending"}, 0},
			{"sluice_jobs", labels{"app": "alpha", "type": "ok", "state": "running"}, 0},
			{"sluice_dlq_entries", labels{"app": "alpha", "type": "doomed"}, 1},
			{"sluice_dlq_entries", labels{"app": "alpha", "type": "orphan"}, 1},
			{"sluice_dlq_entries", labels{"app": "alpha", "type": "panicky"}, 0},
			{"sluice_dlq_entries", labels{"app": "beta", "type": "ok"}, 0},
			{"sluice_dlq_groups", labels{"app": "alpha", "type": "doomed"}, 1},
			{"sluice_dlq_groups", labels{"app": "beta", "type": "ok"}, 0},
			{"sluice_dlq_oldest_entry_age_seconds", labels{"app": "beta", "type": "ok"}, 0},
			{"sluice_app_max_running", labels{"app": "beta"}, 7},
			{"sluice_app_rate_per_second", labels{"app": "beta"}, 2.5},
			{"sluice_replay_operations", labels{"status": "paused"}, 1},
			{"sluice_replay_operations", labels{"status": "running"}, 0},
			{"sluice_db_up", labels{}, 1},
		} {
			if got := value(t, families, g.name, g.l); got != g.want {
				t.Errorf("%s%v = %v, want %v", g.name, g.l, got, g.want)
			}
		}
		for _, g := range []struct {
			name string
			l    labels
		}{
			{"sluice_oldest_pending_age_seconds", labels{"app": "alpha", "type": "held"}},
			{"sluice_dlq_oldest_entry_age_seconds", labels{"app": "alpha", "type": "doomed"}},
			{"sluice_db_live_tuples", labels{"table": "jobs"}},
			{"sluice_db_dead_tuples", labels{"table": "job_dlq"}},
			{"sluice_db_xid_age", labels{}},
			{"sluice_db_multixact_age", labels{}},
			{"go_goroutines", labels{}},
		} {
			if got := value(t, families, g.name, g.l); got < 0 {
				t.Errorf("%s%v = %v, want at least 0", g.name, g.l, got)
			}
		}
		// No alerter runs: every entry's alert is pending, the oldest waiting since it failed.
		if got := value(t, families, "sluice_alerts_pending", labels{}); got < 2 {
			t.Errorf("sluice_alerts_pending = %v, want at least the 2 un-replayed entries' alerts", got)
		}
		if got := value(t, families, "sluice_alerts_oldest_pending_age_seconds", labels{}); got <= 0 {
			t.Errorf("sluice_alerts_oldest_pending_age_seconds = %v, want above 0", got)
		}
		for _, table := range []string{"jobs", "job_dlq", "apps", "api_tokens", "audit_log", "sluice_migrations"} {
			if got := value(t, families, "sluice_db_table_size_bytes", labels{"table": table}); got <= 0 {
				t.Errorf("sluice_db_table_size_bytes{table=%s} = %v, want above 0", table, got)
			}
		}
		if got := value(t, families, "sluice_db_size_bytes", labels{}); got <= 0 {
			t.Errorf("sluice_db_size_bytes = %v, want above 0", got)
		}
		for name, f := range families {
			for _, metric := range f.Metric {
				for _, l := range metric.Label {
					if l.GetName() == "app" && l.GetValue() != "alpha" && l.GetValue() != "beta" {
						t.Errorf("%s has app label %q, not an app's name", name, l.GetValue())
					}
				}
			}
		}
	})
}

func TestScrapeOfAClosedDatabase(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		ctx := t.Context()
		st := openStore(t, url)
		m := metrics.New(st, nil)
		c := newClient(t, st, m)
		app, err := c.CreateApp(ctx, "alpha")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Enqueue(ctx, sluice.NewJob{App: app.ID.String(), Type: "t", Payload: args{}}); err != nil {
			t.Fatal(err)
		}
		scrape(t, m.Handler()) // learns alpha's name
		st.Close()
		families := scrape(t, m.Handler())
		if got := value(t, families, "sluice_db_up", labels{}); got != 0 {
			t.Errorf("sluice_db_up = %v with the database closed, want 0", got)
		}
		if got := value(t, families, "sluice_jobs_enqueued_total", labels{"app": "alpha", "type": "t", "queue": "default"}); got != 1 {
			t.Errorf("sluice_jobs_enqueued_total = %v with the database closed, want 1", got)
		}
		for _, name := range []string{"sluice_jobs", "sluice_dlq_entries", "sluice_db_live_tuples", "sluice_db_xid_age"} {
			if families[name] != nil {
				t.Errorf("%s exported though the database is closed", name)
			}
		}
	})
}

// waitFor polls cond until it holds, failing the test after a generous deadline: tests wait
// on conditions, never on a fixed sleep.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// slowStore answers Stats only when its context ends: a database that hangs.
type slowStore struct{ store.Store }

func (s slowStore) Stats(ctx context.Context) ([]store.TypeStats, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestScrapeOfAHangingDatabaseEndsWithDBDown(t *testing.T) {
	t.Parallel()
	st := openStore(t, testdb.SQLite(t))
	m := metrics.New(slowStore{st}, &metrics.Options{ScrapeTimeout: 50 * time.Millisecond})
	families := scrape(t, m.Handler())
	if got := value(t, families, "sluice_db_up", labels{}); got != 0 {
		t.Fatalf("sluice_db_up = %v with a hanging database, want 0", got)
	}
	if families["sluice_jobs"] != nil || families["sluice_dlq_entries"] != nil {
		t.Errorf("the gauges of the unanswered query were exported")
	}
	if families["go_goroutines"] == nil {
		t.Errorf("the scrape lost the metrics that need no database")
	}
}
