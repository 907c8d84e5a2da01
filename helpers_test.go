package sluice_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/testdb"
	"github.com/sluicehq/sluice/store/pgstore"
	"github.com/sluicehq/sluice/store/sqlitestore"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// backends are the stores every engine test runs against; each returns a fresh database URL.
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

// bundle is what most tests need: a migrated store, a client on it and an app.
type bundle struct {
	ctx    context.Context
	url    string
	client *sluice.Client
	app    sluice.App
}

// fastConfig keeps waits short so tests finish quickly; correctness never depends on it.
func fastConfig() *sluice.Config {
	return &sluice.Config{
		PollInterval:   20 * time.Millisecond,
		RescueInterval: 50 * time.Millisecond,
		LeaseDuration:  5 * time.Second,
	}
}

func setup(t *testing.T, url string, cfg *sluice.Config) *bundle {
	t.Helper()
	ctx := context.Background()
	if cfg == nil {
		cfg = fastConfig()
	}
	c, err := sluice.Open(ctx, url, cfg)
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
	if _, err := c.Store().MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	app, err := c.CreateApp(ctx, "app-"+t.Name())
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{ctx: ctx, url: url, client: c, app: app}
}

func (b *bundle) start(t *testing.T) {
	t.Helper()
	if err := b.client.Start(b.ctx); err != nil {
		t.Fatal(err)
	}
}

func (b *bundle) enqueue(t *testing.T, jobType string, payload any) sluice.Job {
	t.Helper()
	r, err := b.client.Enqueue(b.ctx, sluice.NewJob{App: b.app.ID.String(), Type: jobType, Payload: payload})
	if err != nil {
		t.Fatal(err)
	}
	return r.Job
}

// waitFor polls cond until it holds, failing the test after a generous deadline. It is how
// tests wait for background work: on a condition, never on a fixed sleep.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	// The bound only turns a hang into a failure: a loaded CI machine under -race can take
	// tens of seconds over work that takes milliseconds alone.
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitForDead waits until the job has a dead-letter entry and returns it.
func (b *bundle) waitForDead(t *testing.T, jobID string) sluice.DeadJob {
	t.Helper()
	var found sluice.DeadJob
	waitFor(t, "job "+jobID+" to be dead-lettered", func() bool {
		page, err := b.client.DLQ().List(b.ctx, sluice.Filter{App: b.app.ID.String()}, sluice.ListOptions{Limit: 1000, All: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page.Items {
			if d.OriginalJobID.String() == jobID {
				found = d
				return true
			}
		}
		return false
	})
	return found
}

// waitForStatus waits until the job has the status and returns it.
func (b *bundle) waitForStatus(t *testing.T, job sluice.Job, status sluice.JobStatus) sluice.Job {
	t.Helper()
	var got sluice.Job
	waitFor(t, "job "+job.ID.String()+" to be "+string(status), func() bool {
		var err error
		got, err = b.client.GetJob(b.ctx, job.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.Status == status
	})
	return got
}

// backendOf names the backend a test URL is for.
func backendOf(url string) string {
	if strings.HasPrefix(url, "postgres") {
		return "postgres"
	}
	return "sqlite"
}

// execSQL runs raw SQL on the bundle's database.
func (b *bundle) execSQL(t *testing.T, sql string) {
	t.Helper()
	switch st := b.client.Store().(type) {
	case *pgstore.Store:
		testdb.Exec(t, b.url, sql)
	case *sqlitestore.Store:
		if _, err := st.DB().ExecContext(b.ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	default:
		t.Fatalf("execSQL: unknown store %T", st)
	}
}

// beginTx begins a transaction of the bundle's store's own kind.
func (b *bundle) beginTx(t *testing.T) (tx sluice.Tx, commit, rollback func() error) {
	t.Helper()
	switch st := b.client.Store().(type) {
	case *pgstore.Store:
		ptx, err := st.Pool().Begin(b.ctx)
		if err != nil {
			t.Fatal(err)
		}
		return ptx, func() error { return ptx.Commit(b.ctx) }, func() error { return ptx.Rollback(b.ctx) }
	case *sqlitestore.Store:
		stx, err := st.DB().BeginTx(b.ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		return stx, stx.Commit, stx.Rollback
	}
	t.Fatalf("beginTx: unknown store")
	return nil, nil, nil
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// queryInt runs a query returning one integer on the PostgreSQL test database at url.
func queryInt(t *testing.T, url, sql string) int {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
