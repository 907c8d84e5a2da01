package chaos

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sluicehq/sluice/internal/testdb"
	"github.com/sluicehq/sluice/store/pgstore"
	"github.com/sluicehq/sluice/test/chaos/worker/event"
)

// TestTerminateBackendsRepeatedly terminates every PostgreSQL backend of the workers and of an
// enqueuing process (found in pg_stat_activity by the application_name their URLs set) every
// 200 ms for a few seconds, under load. The processes must recover without help: pgx's pool
// reconnects, the LISTEN loop reconnects, every acknowledged enqueue is there, every job ends
// in exactly one final state. PostgreSQL only.
func TestTerminateBackendsRepeatedly(t *testing.T) {
	t.Parallel()
	c := newCluster(t, testdb.Postgres(t))
	appName := "sluice-chaos-terminate-" + uuid.NewString()[:8]
	c.workerURL = withParams(t, c.url, "application_name", appName)
	ids := c.enqueue(scaled(400), 25, func(i int) event.Args {
		a := event.Args{SleepMs: 5 + i%50}
		if i%10 == 0 {
			a.FailAttempts = 1
		}
		return a
	})
	workers := []*worker{c.startWorker(), c.startWorker()}
	acks := filepath.Join(c.dir, "acks")
	enqueuer := c.startEnqueuer(acks, "CHAOS_ENQUEUE_PAUSE=50ms")
	c.waitFor("the workers and the enqueuer to hold connections", func() bool {
		return c.pgInt(`SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, appName) >= 3
	})

	// The storm: every 200ms (its cadence, not a synchronisation) for storm rounds.
	rounds, terminated := stormRounds(), 0
	for range rounds {
		terminated += c.pgInt(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE application_name = $1 AND pid <> pg_backend_pid()`, appName)
		time.Sleep(200 * time.Millisecond)
	}
	if terminated < rounds {
		t.Fatalf("the storm terminated %d backends in %d rounds: it missed the workers", terminated, rounds)
	}

	// Recovery, without help: new enqueues are acknowledged, the listeners are back, and every
	// job settles.
	afterStorm := len(c.acked(acks))
	c.waitFor("the enqueuer to be acknowledged again", func() bool { return len(c.acked(acks)) >= afterStorm+100 })
	enqueuer.kill9()
	channel := "sluice_jobs." + c.client.Store().(*pgstore.Store).Schema()
	c.waitFor("both workers to LISTEN again", func() bool {
		return c.pgInt(`SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND query = $2`,
			appName, `LISTEN "`+channel+`"`) == len(workers)
	})
	late := c.enqueue(50, 3, func(int) event.Args { return event.Args{SleepMs: 1} })
	s := c.waitSettled()
	for _, w := range workers {
		if w.hasExited() {
			t.Fatalf("worker %d exited during the storm (%v): it must recover by itself", w.pid(), w.err)
		}
		if w.logCount("job notifications lost") == 0 {
			t.Errorf("worker %d never lost its LISTEN connection: the storm missed it", w.pid())
		}
	}
	acked := c.acked(acks)
	all, unacked := withUnacked(append(ids, late...), acked, s)
	if failed := enqueuer.logCount("enqueue failed"); unacked > 10*failed {
		t.Errorf("%d committed jobs were never acknowledged, more than the %d failed enqueues of ten could have left", unacked, failed)
	}
	check(t, all, s, c.events())
	t.Logf("%d rounds terminated %d backends; %d jobs, %d acknowledged enqueues, %d committed but unacknowledged",
		rounds, terminated, len(s.jobs)+len(s.dead), len(acked), unacked)
}

// stormRounds is how many 200ms rounds TestTerminateBackendsRepeatedly terminates backends:
// CI-sized by default, more with CHAOS_STORM_ROUNDS.
func stormRounds() int { return envInt("CHAOS_STORM_ROUNDS", 15) }

// TestLostListenConnection loses a worker's LISTEN connection and keeps it from coming back
// for a while: jobs enqueued meanwhile must still be found by polling, and once it may, the
// listener must reconnect by itself. The worker connects as a database role of its own, so
// the test can stop new connections (ALTER ROLE … NOLOGIN: existing ones go on) and then
// terminate only the LISTEN backend — the one whose query is 'LISTEN "sluice_jobs.<schema>"'.
// While the role may not log in, no LISTEN can exist, so every job that completes was found by
// polling. PostgreSQL only.
func TestLostListenConnection(t *testing.T) {
	t.Parallel()
	url := testdb.Postgres(t)
	base := testdb.PostgresBaseURL()
	role := "sluice_chaos_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
	testdb.Exec(t, base, "CREATE ROLE "+role+" LOGIN")
	t.Cleanup(func() {
		testdb.Exec(t, base, "DROP OWNED BY "+role)
		testdb.Exec(t, base, "DROP ROLE "+role)
	})
	c := newCluster(t, url)
	schema := c.client.Store().(*pgstore.Store).Schema()
	// CREATE too: a worker's start reads the schema version under the migration lock, which
	// creates sluice_migrations if it is missing.
	testdb.Exec(t, url, fmt.Sprintf("GRANT USAGE, CREATE ON SCHEMA %s TO %s; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %[1]s TO %[2]s", schema, role))
	c.workerURL = withUser(t, url, role)
	listen := `LISTEN "sluice_jobs.` + schema + `"`
	listeners := func() int {
		return c.pgInt(`SELECT count(*) FROM pg_stat_activity WHERE usename = $1 AND query = $2`, role, listen)
	}

	w := c.startWorker("CHAOS_POLL=200ms", "CHAOS_CONCURRENCY=4")
	c.waitFor("the worker to LISTEN", func() bool { return listeners() == 1 })
	// Warm the worker's pool, so that its work does not need a new connection while the role
	// may not log in.
	ids := c.enqueue(40, 3, func(int) event.Args { return event.Args{SleepMs: 20} })
	c.waitFinished(len(ids))

	testdb.Exec(t, base, "ALTER ROLE "+role+" NOLOGIN")
	if n := c.pgInt(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = $1 AND query = $2`, role, listen); n != 1 {
		t.Fatalf("terminated %d LISTEN backends, want the worker's one", n)
	}
	c.waitForLog(w, "job notifications lost")
	polled := c.enqueue(30, 3, func(int) event.Args { return event.Args{SleepMs: 5} })
	ids = append(ids, polled...)
	c.waitFinished(len(ids))
	if n := listeners(); n != 0 {
		t.Fatalf("%d LISTEN backends while the role may not log in", n)
	}

	testdb.Exec(t, base, "ALTER ROLE "+role+" LOGIN")
	// The worker logs "listening for job notifications" (debug) as it starts each attempt to
	// connect; the LISTEN backend in pg_stat_activity proves the attempt succeeded.
	c.waitFor("the listener to reconnect", func() bool {
		return listeners() == 1 && w.logCount("listening for job notifications") >= 2
	})
	ids = append(ids, c.enqueue(10, 3, func(int) event.Args { return event.Args{SleepMs: 5} })...)
	s := c.waitSettled()
	check(t, ids, s, c.events())
	t.Logf("%d jobs found by polling while the LISTEN connection was gone; reconnect attempts that failed: %d",
		len(polled), w.logCount("job notifications lost")-1)
}

// pgInt runs a query returning one integer on the cluster's PostgreSQL database.
func (c *cluster) pgInt(query string, args ...any) int {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.url)
	if err != nil {
		c.t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, query, args...).Scan(&n); err != nil {
		c.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// withParams returns the URL with a query parameter set.
func withParams(t *testing.T, raw, key, value string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// withUser returns the URL with its user replaced.
func withUser(t *testing.T, raw, user string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(user)
	return u.String()
}

// withUnacked returns the enqueued and acknowledged ids with every job of the snapshot that is
// neither — committed by an enqueue whose answer was lost — and how many of those there were.
func withUnacked(enqueued, acked []uuid.UUID, s snapshot) ([]uuid.UUID, int) {
	known := map[uuid.UUID]bool{}
	all := append(append([]uuid.UUID{}, enqueued...), acked...)
	for _, id := range all {
		known[id] = true
	}
	unacked := 0
	for id, j := range s.jobs {
		if !known[id] && j.ReplayedFrom == nil {
			all = append(all, id)
			unacked++
		}
	}
	for _, d := range s.dead {
		if !known[d.OriginalJobID] {
			all = append(all, d.OriginalJobID)
			unacked++
		}
	}
	return all, unacked
}
