package pgstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/internal/testdb"
	"github.com/sluicehq/sluice/store"
	"github.com/sluicehq/sluice/store/pgstore"
	"github.com/sluicehq/sluice/store/storetest"
)

// TestMain fails the package if a test leaves a goroutine behind (a listener, a pool).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testPoolSize bounds each test store's pool: the suite runs many stores at once against one
// server, and its most concurrent subtests need no more.
const testPoolSize = "10"

// TestConformance runs the store conformance suite against PostgreSQL, each subtest in a
// fresh schema of the test database.
func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, openStore, &storetest.Options{
		BeginTx:          beginTx,
		InsertBareDead:   insertBareDead,
		Backdate:         backdate,
		RefuseDeadLetter: refuseDeadLetter,
		Notifies:         true,
	})
}

// openStore opens an un-migrated store on a new, empty schema.
func openStore(t *testing.T) store.Store {
	t.Helper()
	u, err := url.Parse(testdb.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("pool_max_conns", testPoolSize)
	u.RawQuery = q.Encode()
	s, err := pgstore.Open(t.Context(), u.String())
	if err != nil {
		t.Fatalf("pgstore.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func pgStore(t *testing.T, s store.Store) *pgstore.Store {
	t.Helper()
	ps, ok := s.(*pgstore.Store)
	if !ok {
		t.Fatalf("the store is a %T, not a *pgstore.Store", s)
	}
	return ps
}

// beginTx begins a pgx transaction on the store's pool, rolled back at the end of the test
// unless committed or rolled back before.
func beginTx(t *testing.T, s store.Store) (store.ExternalTx, func(), func()) {
	t.Helper()
	tx, err := pgStore(t, s).Pool().Begin(t.Context())
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := tx.Rollback(ctx); err != nil && !errors.Is(err, pgx.ErrTxClosed) {
			t.Errorf("rollback at cleanup: %v", err)
		}
	})
	commit := func() {
		t.Helper()
		if err := tx.Commit(t.Context()); err != nil {
			t.Fatalf("commit: %v", err)
		}
	}
	rollback := func() {
		t.Helper()
		if err := tx.Rollback(t.Context()); err != nil {
			t.Fatalf("rollback: %v", err)
		}
	}
	return tx, commit, rollback
}

// insertBareDead writes an entry with a positional insert of nine values and no column list:
// it works only while job_dlq's first nine columns are DESIGN.md's, in DESIGN.md's order.
func insertBareDead(t *testing.T, s store.Store, d store.DeadJob) {
	t.Helper()
	history, err := json.Marshal(d.ErrorHistory)
	if err != nil {
		t.Fatal(err)
	}
	_, err = pgStore(t, s).Pool().Exec(t.Context(),
		`INSERT INTO job_dlq VALUES ($1, $2, $3, $4, $5, $6, $7, DEFAULT, NULL)`,
		d.ID, d.OriginalJobID, d.AppID, d.Type, string(d.Payload), d.Attempts, string(history))
	if err != nil {
		t.Fatalf("inserting a nine-column job_dlq row: %v", err)
	}
}

// refuseDeadLetter installs a trigger that raises on every job_dlq insert of the job.
func refuseDeadLetter(t *testing.T, s store.Store, jobID uuid.UUID) func() {
	t.Helper()
	pool := pgStore(t, s).Pool()
	_, err := pool.Exec(t.Context(), fmt.Sprintf(`
		CREATE FUNCTION refuse_dead_letter() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.original_job_id = '%s' THEN
				RAISE EXCEPTION 'job_dlq insert refused by the test';
			END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER refuse_dead_letter BEFORE INSERT ON job_dlq
			FOR EACH ROW EXECUTE FUNCTION refuse_dead_letter();`, jobID))
	if err != nil {
		t.Fatalf("installing the refusing trigger: %v", err)
	}
	return func() {
		t.Helper()
		if _, err := pool.Exec(t.Context(), `DROP TRIGGER refuse_dead_letter ON job_dlq`); err != nil {
			t.Fatalf("dropping the refusing trigger: %v", err)
		}
	}
}

// TestLongSchemaName checks a store whose schema name is as long as PostgreSQL allows: the
// notification channel named after it must still work, or every insert would fail.
func TestLongSchemaName(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	base := testdb.PostgresBaseURL()
	schema := "sluice_test_long_" + strings.ReplaceAll(uuid.NewString(), "-", "")
	schema += strings.Repeat("x", 63-len(schema))
	testdb.Exec(t, base, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { testdb.Exec(t, base, "DROP SCHEMA "+schema+" CASCADE") })
	s, err := pgstore.Open(ctx, testdb.WithSearchPath(t, base, schema))
	if err != nil {
		t.Fatalf("pgstore.Open: %v", err)
	}
	defer s.Close()
	if s.Schema() != schema {
		t.Fatalf("Schema() = %q, want %q", s.Schema(), schema)
	}
	if _, err := s.MigrateUp(ctx); err != nil {
		t.Fatalf("MigrateUp: %v", err)
	}
	app, err := s.CreateApp(ctx, store.App{ID: uuid.Must(uuid.NewV7()), Name: "long"})
	if err != nil {
		t.Fatalf("CreateApp: %v", err)
	}

	listenCtx, stop := context.WithCancel(ctx)
	woke := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		done <- s.ListenForJobs(listenCtx, func(store.Notice) {
			select {
			case woke <- struct{}{}:
			default:
			}
		})
	}()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("ListenForJobs: %v", err)
		}
	}()
	// The listener wakes once when it starts; after that, only an insert's notification can
	// wake it again.
	select {
	case <-woke:
	case <-time.After(10 * time.Second):
		t.Fatal("the listener did not start")
	}
	job := store.InsertJob{ID: uuid.Must(uuid.NewV7()), AppID: app.ID, Type: "t", Queue: "default",
		Payload: json.RawMessage(`{}`), MaxAttempts: 1}
	if _, err := s.InsertJobs(ctx, nil, []store.InsertJob{job}); err != nil {
		t.Fatalf("InsertJobs: %v", err)
	}
	select {
	case <-woke:
	case <-time.After(10 * time.Second):
		t.Fatal("inserting a due job did not wake the listener")
	}
}

// backdate moves failed_at and completed_at of the rows with these ids back by by.
func backdate(t *testing.T, s store.Store, ids []uuid.UUID, by time.Duration) {
	t.Helper()
	pool := pgStore(t, s).Pool()
	for _, stmt := range []string{
		`UPDATE job_dlq SET failed_at = failed_at - $2 * interval '1 millisecond' WHERE id = ANY($1)`,
		`UPDATE jobs SET completed_at = completed_at - $2 * interval '1 millisecond' WHERE id = ANY($1)`,
	} {
		if _, err := pool.Exec(t.Context(), stmt, ids, by.Milliseconds()); err != nil {
			t.Fatalf("backdating rows: %v", err)
		}
	}
}

// TestConformanceThroughPgBouncer runs the conformance suite through PgBouncer (Debian's, in
// transaction pooling mode) with the URL's pgbouncer=true: no named prepared statements
// across transactions, no LISTEN (workers poll), migrations under a transaction-scoped lock.
func TestConformanceThroughPgBouncer(t *testing.T) {
	t.Parallel()
	bouncer := testdb.StartPgBouncer(t)
	t.Run("ListenURL", func(t *testing.T) {
		t.Parallel()
		testListenURL(t, bouncer)
	})
	storetest.Run(t, func(t *testing.T) store.Store {
		t.Helper()
		through, _ := bouncer.Postgres(t)
		s, err := pgstore.Open(t.Context(), through+"&pool_max_conns="+testPoolSize)
		if err != nil {
			t.Fatalf("pgstore.Open through pgbouncer: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}, &storetest.Options{
		BeginTx:          beginTx,
		InsertBareDead:   insertBareDead,
		Backdate:         backdate,
		RefuseDeadLetter: refuseDeadLetter,
		Notifies:         false,
	})
}

// testListenURL: through PgBouncer with listen_url naming a direct connection, ListenForJobs
// LISTENs there and hears the NOTIFY that an enqueue through PgBouncer sends.
func testListenURL(t *testing.T, bouncer *testdb.PgBouncer) {
	ctx := t.Context()
	through, direct := bouncer.Postgres(t)
	s, err := pgstore.Open(ctx, through+"&listen_url="+url.QueryEscape(direct))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	app, err := s.CreateApp(ctx, store.App{ID: uuid.Must(uuid.NewV7()), Name: "listen"})
	if err != nil {
		t.Fatal(err)
	}
	wakes := make(chan struct{}, 16)
	listenCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- s.ListenForJobs(listenCtx, func(store.Notice) { wakes <- struct{}{} })
	}()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("ListenForJobs: %v", err)
		}
	}()
	select { // the wake after LISTEN took effect
	case <-wakes:
	case <-time.After(time.Minute):
		t.Fatal("ListenForJobs never listened")
	}
	if _, err := s.InsertJobs(ctx, nil, []store.InsertJob{{ID: uuid.Must(uuid.NewV7()), AppID: app.ID, Type: "t", Queue: "default",
		Payload: json.RawMessage(`{}`), MaxAttempts: 1}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-wakes:
	case <-time.After(time.Minute):
		t.Fatal("no notification through listen_url")
	}
}
