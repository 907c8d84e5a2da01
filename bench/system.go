package main

import (
	"context"
	"fmt"
	"strings"
)

// Args is the payload of every benchmark job, the same small JSON object on every system:
// {"n":123,"t":1700000000000000000}.
type Args struct {
	// N numbers the job within its workload.
	N int64 `json:"n"`
	// EnqueuedAt is the wall clock (Unix nanoseconds) just before the enqueue call, for the
	// latency workload; 0 elsewhere.
	EnqueuedAt int64 `json:"t"`
}

// Handler is what a job does when a worker runs it: nil completes it, an error fails the
// attempt.
type Handler func(ctx context.Context, a Args) error

// Role says which clients an Instance opens.
type Role int

const (
	// RoleBoth opens a producer client and a worker client (the usual case).
	RoleBoth Role = iota
	// RoleProducer opens only the producer client: the memory workload's parent process.
	RoleProducer
	// RoleWorker opens only the worker client on an existing database: the memory workload's
	// child process.
	RoleWorker
)

// Spec says what an Instance's jobs and workers do.
type Spec struct {
	// Handler runs for every job.
	Handler Handler
	// MaxAttempts is the attempt budget of every job enqueued; 0 keeps the system's default.
	MaxAttempts int
	// Role picks the clients to open.
	Role Role
	// Database names an existing database (schema, SQLite file or Redis DB) to attach to
	// with RoleWorker; empty creates a fresh one.
	Database string
}

// Instance is one system under test, set up in a database of its own: a producer client
// that enqueues and a worker client that runs Spec.Handler, as an application would have
// them (in one process here). Counting methods read the database and see only durable
// state.
type Instance interface {
	// Database names the instance's database, to attach a worker to it (Spec.Database).
	Database() string
	// EnqueueBatch inserts the jobs with the system's bulk insert, in one round trip where
	// the system has one.
	EnqueueBatch(ctx context.Context, jobs []Args) error
	// Enqueue inserts one job.
	Enqueue(ctx context.Context, job Args) error
	// Start starts the worker client.
	Start(ctx context.Context) error
	// Stop stops the worker client gracefully.
	Stop(ctx context.Context) error
	// Outstanding counts the jobs whose outcome is not written yet: pending, running, or
	// finished in memory only.
	Outstanding(ctx context.Context) (int64, error)
	// Completed counts the jobs durably completed.
	Completed(ctx context.Context) (int64, error)
	// Dead counts the jobs durably in the dead-letter queue (discarded, archived).
	Dead(ctx context.Context) (int64, error)
	// Close stops everything and drops the database (unless it was attached to).
	Close(ctx context.Context) error
}

// System is one queue in one configuration, say River tuned with 1,000 workers. It makes
// fresh Instances.
type System struct {
	// Name identifies the system in tables and on the command line ("river-tuned-1000").
	Name string
	// Config describes how it is configured, for the report.
	Config string
	// Open sets up a fresh Instance (or attaches a worker to spec.Database).
	Open func(ctx context.Context, env *Env, spec Spec) (Instance, error)
}

// The systems' names.
const (
	sysSluice          = "sluice"
	sysSluiceC1000     = "sluice-c1000"
	sysRiverDefault    = "river-default"
	sysRiverTuned100   = "river-tuned-100"
	sysRiverTuned1000  = "river-tuned-1000"
	sysAsynq100        = "asynq-100"
	sysAsynq1000       = "asynq-1000"
	sysRawSQL          = "raw-sql"
	sysSluiceSQLite    = "sluice-sqlite"
	sysRiverSQLiteDef  = "river-sqlite-default"
	sysRiverSQLite100  = "river-sqlite-tuned-100"
	sysRiverSQLite1000 = "river-sqlite-tuned-1000"
)

// systems lists every configuration the suite knows, in report order.
func systems() []System {
	return []System{
		sluiceSystem(sysSluice, 0),
		sluiceSystem(sysSluiceC1000, 1000),
		riverPGSystem(sysRiverDefault, riverDefaultSettings(100)),
		riverPGSystem(sysRiverTuned100, riverTunedSettings(100)),
		riverPGSystem(sysRiverTuned1000, riverTunedSettings(1000)),
		asynqSystem(sysAsynq100, 100),
		asynqSystem(sysAsynq1000, 1000),
		rawSQLSystem(sysRawSQL),
		sluiceSQLiteSystem(sysSluiceSQLite),
		riverSQLiteSystem(sysRiverSQLiteDef, riverDefaultSettings(100)),
		riverSQLiteSystem(sysRiverSQLite100, riverTunedSettings(100)),
		riverSQLiteSystem(sysRiverSQLite1000, riverTunedSettings(1000)),
	}
}

// systemByName returns the named system.
func systemByName(name string) (System, error) {
	for _, s := range systems() {
		if s.Name == name {
			return s, nil
		}
	}
	return System{}, fmt.Errorf("no system named %q", name)
}

// pick returns the named systems that the -systems flag allows, in the given order. Sluice's
// own entries are always kept: every ratio needs them.
func (e *Env) pick(names ...string) []System {
	var out []System
	for _, n := range names {
		if !e.opts.systemAllowed(n) && !strings.HasPrefix(n, "sluice") {
			continue
		}
		s, err := systemByName(n)
		if err != nil {
			panic(err) // a workload names a system that does not exist: a programming error
		}
		out = append(out, s)
	}
	return out
}

// DeadLetters is a system's dead-letter queue as the DLQ workloads use it: dead jobs loaded
// straight into its tables, listed a page at a time, and put back to work.
type DeadLetters interface {
	// Load writes n dead jobs straight into the tables (never through the engine), oldest
	// first, job i belonging to app "app-(i mod apps)" and type "type-((i / apps) mod types)".
	Load(ctx context.Context, n, apps, types int) error
	// List reads one page of un-replayed dead jobs of app "app-key" (byApp) or type
	// "type-key", newest first, after cursor ("" for the first page). It returns the next
	// page's cursor ("" after the last page) and how many jobs the page held.
	List(ctx context.Context, byApp bool, key, limit int, cursor string) (next string, items int, err error)
	// PrepareReplay readies, untimed, a replay of at most max dead jobs.
	PrepareReplay(ctx context.Context, max int) error
	// Replay puts back to work what PrepareReplay readied and returns how many jobs it
	// replayed.
	Replay(ctx context.Context) (int, error)
	// Close drops the database.
	Close(ctx context.Context) error
}

// DeadLetterSystem is a system whose dead-letter queue the DLQ workloads measure.
type DeadLetterSystem struct {
	Name   string
	Config string
	// Open sets up a fresh database whose connections carry appName (application_name), so
	// that the suite can watch their transactions in pg_stat_activity.
	Open func(ctx context.Context, env *Env, appName string) (DeadLetters, error)
}

// deadLetterSystems are the DLQ workloads' systems: Sluice's DLQ and River's closest
// equivalent.
func deadLetterSystems() []DeadLetterSystem {
	return []DeadLetterSystem{
		{Name: sysSluice, Config: "Sluice's DLQ API at its defaults: DLQ().ByApp / ByType (page of 100, opaque keyset cursor), DLQ().ReplayMany(Filter{Type}) (batches of 500)", Open: openSluiceDLQ},
		{Name: "river", Config: "River's discarded jobs: JobList(States(discarded), Queues(app) or Kinds(type), OrderBy(ID, desc), First(100), After(cursor)); replay = client.JobRetry per job, one after another (River's per-job method; it has no bulk retry)", Open: openRiverDLQ},
	}
}
