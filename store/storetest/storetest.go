// Package storetest is the conformance suite every store.Store backend must pass.
//
// A backend wires it up in one test:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s := openFreshStore(t) // a new, empty database of its own
//			t.Cleanup(func() { s.Close() })
//			return s
//		}, &storetest.Options{BeginTx: ..., InsertBareDead: ..., Notifies: ...})
//	}
//
// # What open returns
//
// Every subtest calls t.Parallel() and open(t) exactly once, so open must return a NEW, EMPTY
// store that shares no tables with any other call: a fresh PostgreSQL schema, a fresh SQLite
// file. It must NOT be migrated: the suite calls MigrateUp itself, so every subtest also
// exercises the migrations, and the Migrations subtests check MigrateUp, MigrateDown and
// MigrationStatus from a database that has never seen them. open closes the store in a
// t.Cleanup of its own.
//
// # Only the interface
//
// The suite uses nothing but the store.Store interface. What cannot be said through it
// (beginning a transaction of the backend's own kind, writing a row with raw SQL) comes through
// the hooks of Options; a subtest whose hook is nil is skipped, saying so.
//
// # Time and waiting
//
// The database clock decides everything time-related, so the suite never compares a stored time
// with the test's clock. It reads the database clock through the store instead: the CreatedAt
// of a freshly created app is the database's now(). A lease is made to expire by claiming with
// a 1ms lease and then polling that clock until it has passed the lease's expiry; nothing sleeps
// to synchronise, every wait polls a condition under a deadline, and nothing asserts how long
// anything took. Times the suite writes (RunAt) are whole milliseconds, which every backend
// stores exactly.
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/store"
)

// Options are what a backend supplies beyond the store.Store interface. The zero value is
// valid: the subtests that need a nil hook are skipped.
type Options struct {
	// BeginTx begins a transaction on s's own database, of the kind s.InsertJobs accepts as its
	// store.ExternalTx (a pgx.Tx for PostgreSQL, a *sql.Tx for SQLite), and returns it with
	// functions that commit and roll it back, failing t if they cannot. A transaction neither
	// committed nor rolled back when the test ends must be rolled back by a t.Cleanup. Nil skips
	// the external-transaction subtests.
	BeginTx func(t *testing.T, s store.Store) (tx store.ExternalTx, commit, rollback func())

	// InsertBareDead writes a dead-letter entry the way a writer that knows only the nine
	// job_dlq columns of DESIGN.md would: id, original_job_id, app_id, type, payload, attempts
	// and error_history from d, failed_at left to its default (the database's now()) and
	// replayed_at NULL; every later column keeps its default. Nil skips the subtests that need
	// such an entry.
	InsertBareDead func(t *testing.T, s store.Store, d store.DeadJob)

	// RefuseDeadLetter makes every insert into s's job_dlq of the job with this id fail (a
	// trigger that raises), as a database that refuses one row would, and returns a function
	// that lets them through again. Nil skips the subtests that need it.
	RefuseDeadLetter func(t *testing.T, s store.Store, jobID uuid.UUID) (allow func())

	// Backdate moves the times retention ages rows by (job_dlq.failed_at, jobs.completed_at)
	// of the rows with these ids back by the duration, as a test-only SQL update would. Nil
	// skips the retention subtests that need it.
	Backdate func(t *testing.T, s store.Store, ids []uuid.UUID, by time.Duration)

	// Notifies says that ListenForJobs wakes its listener when another connection inserts a
	// due job (PostgreSQL's LISTEN/NOTIFY). When false, the suite checks only what every
	// backend promises: ListenForJobs blocks until its context ends, then returns nil.
	Notifies bool

	// ExactRowCounts says that Health's LiveRows are exact row counts (SQLite). When false
	// (PostgreSQL's statistics are estimates that lag behind), the suite checks only that
	// they are not negative.
	ExactRowCounts bool
}

// Run runs the conformance suite against the backend that open creates. Each subtest is
// parallel and opens a store of its own; see the package documentation for what open must
// return. opts may be nil.
func Run(t *testing.T, open func(t *testing.T) store.Store, opts *Options) {
	r := &suite{open: open}
	if opts != nil {
		r.opts = *opts
	}
	groups := []struct {
		name string
		fn   func(t *testing.T, r *suite)
	}{
		{"Migrations", testMigrations},
		{"Apps", testApps},
		{"InsertJobs", testInsertJobs},
		{"UniqueKey", testUniqueKey},
		{"ExternalTx", testExternalTx},
		{"ListJobs", testListJobs},
		{"Claim", testClaim},
		{"ExtendLeases", testExtendLeases},
		{"Finish", testFinish},
		{"Rescue", testRescue},
		{"Fair", testFair},
		{"Listen", testListen},
		{"DLQ", testDLQ},
		{"Replay", testReplay},
		{"ReplayBatch", testReplayBatch},
		{"ReplayOps", testReplayOps},
		{"Purge", testPurge},
		{"Groups", testGroups},
		{"TagsTrace", testTagsTrace},
		{"Alerts", testAlerts},
		{"Retention", testRetention},
		{"Periodic", testPeriodic},
		{"Stats", testStats},
		{"Tokens", testTokens},
		{"Audit", testAudit},
		{"Tenants", testTenants},
		{"Control", testControl},
		{"Health", testHealth},
		{"Errors", testErrors},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			g.fn(t, r)
		})
	}
}

// suite is one Run: the backend's opener and hooks.
type suite struct {
	open func(t *testing.T) store.Store
	opts Options
}

// bundle is what most subtests need: a migrated store of their own and two apps.
type bundle struct {
	ctx context.Context
	s   store.Store
	// app and app2 are two tenants, named "alpha" and "beta".
	app, app2 store.App
}

// setup opens a store for the test, migrates it and creates two apps.
func (r *suite) setup(t *testing.T) *bundle {
	t.Helper()
	s := r.open(t)
	b := &bundle{ctx: t.Context(), s: s}
	if _, err := s.MigrateUp(b.ctx); err != nil {
		t.Fatalf("MigrateUp: %v", err)
	}
	b.app = b.createApp(t, "alpha")
	b.app2 = b.createApp(t, "beta")
	return b
}

// run adds a parallel subtest that gets a fresh bundle.
func (r *suite) run(t *testing.T, name string, fn func(t *testing.T, b *bundle)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		t.Parallel()
		fn(t, r.setup(t))
	})
}

// runRaw adds a parallel subtest that gets a fresh, un-migrated store.
func (r *suite) runRaw(t *testing.T, name string, fn func(t *testing.T, s store.Store)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		t.Parallel()
		fn(t, r.open(t))
	})
}
