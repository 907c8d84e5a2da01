package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
)

// riverArgs is Args as River job arguments: the same JSON, kind "bench".
type riverArgs struct{ Args }

// Kind names the River job kind.
func (riverArgs) Kind() string { return jobType }

// riverSettings are the knobs the suite turns on River, on both its clients.
type riverSettings struct {
	// MaxWorkers is the default queue's worker count (River has no default for it).
	MaxWorkers int
	// FetchCooldown and FetchPollInterval are 0 for River's defaults (100 ms and 1 s).
	FetchCooldown, FetchPollInterval time.Duration
}

// riverDefaultSettings is River at its defaults; MaxWorkers, which River requires, is
// Sluice's default concurrency.
func riverDefaultSettings(workers int) riverSettings {
	return riverSettings{MaxWorkers: workers}
}

// riverTunedSettings is River tuned for throughput as its documentation suggests: fetch as
// often as it allows, poll often.
func riverTunedSettings(workers int) riverSettings {
	return riverSettings{MaxWorkers: workers, FetchCooldown: time.Millisecond, FetchPollInterval: 5 * time.Millisecond}
}

func (s riverSettings) describe() string {
	if s.FetchCooldown == 0 {
		return fmt.Sprintf("River defaults (FetchCooldown 100 ms, FetchPollInterval 1 s), MaxWorkers %d", s.MaxWorkers)
	}
	return fmt.Sprintf("FetchCooldown %s, FetchPollInterval %s on the inserting and the working client, MaxWorkers %d", s.FetchCooldown, s.FetchPollInterval, s.MaxWorkers)
}

// riverPoolConns is the size of each River client's pgx pool: Sluice's default pool size.
const riverPoolConns = 16

// riverPGSystem is River on PostgreSQL through riverpgxv5.
func riverPGSystem(name string, s riverSettings) System {
	return System{Name: name, Config: s.describe() + fmt.Sprintf("; riverpgxv5, one pgxpool of %d connections per client; bulk insert with InsertManyFast (COPY)", riverPoolConns),
		Open: func(ctx context.Context, env *Env, spec Spec) (Instance, error) {
			return openRiverPG(ctx, env, spec, s)
		}}
}

// riverSQLiteSystem is River on a SQLite file through riversqlite and modernc.org/sqlite.
func riverSQLiteSystem(name string, s riverSettings) System {
	return System{Name: name, Config: s.describe() + "; riversqlite on database/sql + modernc.org/sqlite, WAL, synchronous=FULL, one open connection as River's documentation advises; one client enqueues and works",
		Open: func(ctx context.Context, env *Env, spec Spec) (Instance, error) {
			return openRiverSQLite(ctx, env, spec, s)
		}}
}

// riverInstance is River with an inserting client and a working client on one database.
type riverInstance[TTx any] struct {
	spec     Spec
	database string // PostgreSQL schema or SQLite file
	producer *river.Client[TTx]
	worker   *river.Client[TTx]
	opts     *river.InsertOpts
	probe    prober
	running  bool           // Start succeeded and Stop has not (River's Stop must not be called twice)
	cleanup  []func() error // run by Close, last first
}

// discardLogger silences a peer: every system runs without logging.
func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openRiverPG(ctx context.Context, env *Env, spec Spec, s riverSettings) (_ Instance, err error) {
	in := &riverInstance[pgx.Tx]{spec: spec, database: spec.Database}
	defer func() {
		if err != nil {
			in.Close(ctx)
		}
	}()
	if in.database == "" {
		if in.database, err = env.newSchema(ctx, "river"); err != nil {
			return nil, err
		}
		in.cleanup = append(in.cleanup, func() error { return env.dropSchema(context.Background(), in.database) })
	}
	probe, err := env.newPGProber(ctx, in.database)
	if err != nil {
		return nil, err
	}
	in.probe = probe
	in.cleanup = append(in.cleanup, probe.close)
	newPool := func() (*pgxpool.Pool, error) {
		pool, err := pgxpool.New(ctx, env.schemaURL(in.database, map[string]string{"pool_max_conns": fmt.Sprint(riverPoolConns)}))
		if err == nil {
			in.cleanup = append(in.cleanup, func() error { pool.Close(); return nil })
		}
		return pool, err
	}
	var producerPool, workerPool *pgxpool.Pool
	if spec.Role != RoleWorker {
		if producerPool, err = newPool(); err != nil {
			return nil, err
		}
		if spec.Database == "" {
			m, err := rivermigrate.New(riverpgxv5.New(producerPool), &rivermigrate.Config{Schema: in.database, Logger: discardLogger()})
			if err != nil {
				return nil, err
			}
			if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
				return nil, err
			}
		}
	}
	if spec.Role != RoleProducer {
		if workerPool, err = newPool(); err != nil {
			return nil, err
		}
	}
	var producer, worker riverdriver.Driver[pgx.Tx]
	if producerPool != nil {
		producer = riverpgxv5.New(producerPool)
	}
	if workerPool != nil {
		worker = riverpgxv5.New(workerPool)
	}
	if err := in.openClients(producer, worker, in.database, s); err != nil {
		return nil, err
	}
	return in, nil
}

func openRiverSQLite(ctx context.Context, env *Env, spec Spec, s riverSettings) (_ Instance, err error) {
	path := env.sqlitePath("river")
	in := &riverInstance[*sql.Tx]{spec: spec, database: path}
	defer func() {
		if err != nil {
			in.Close(ctx)
		}
	}()
	in.cleanup = append(in.cleanup, func() error { return removeSQLite(path) })
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	in.cleanup = append(in.cleanup, db.Close)
	m, err := rivermigrate.New(riversqlite.New(db), &rivermigrate.Config{Logger: discardLogger()})
	if err != nil {
		return nil, err
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return nil, err
	}
	probe, err := newSQLiteProber(path)
	if err != nil {
		return nil, err
	}
	in.probe = probe
	in.cleanup = append(in.cleanup, probe.close)
	// One client enqueues and works: River's SQLite driver polls (no LISTEN), and a second
	// pool on the file would only contend for SQLite's one write lock.
	if err := in.openClients(nil, riversqlite.New(db), "", s); err != nil {
		return nil, err
	}
	in.producer = in.worker
	return in, nil
}

// openClients makes the inserting client on producer and the working client on worker, for
// River's tables in schema ("" on SQLite); a nil driver skips its client.
func (in *riverInstance[TTx]) openClients(producer, worker riverdriver.Driver[TTx], schema string, s riverSettings) error {
	base := river.Config{
		Logger:            discardLogger(),
		FetchCooldown:     s.FetchCooldown,
		FetchPollInterval: s.FetchPollInterval,
		Schema:            schema,
	}
	if in.spec.MaxAttempts > 0 {
		in.opts = &river.InsertOpts{MaxAttempts: in.spec.MaxAttempts}
	}
	var err error
	if producer != nil {
		cfg := base
		if in.producer, err = river.NewClient(producer, &cfg); err != nil {
			return err
		}
	}
	if worker == nil {
		return nil
	}
	workers := river.NewWorkers()
	h := in.spec.Handler
	river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, j *river.Job[riverArgs]) error {
		return h(ctx, j.Args.Args)
	}))
	cfg := base
	cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: s.MaxWorkers}}
	cfg.Workers = workers
	in.worker, err = river.NewClient(worker, &cfg)
	return err
}

func (in *riverInstance[TTx]) Database() string { return in.database }

func (in *riverInstance[TTx]) EnqueueBatch(ctx context.Context, jobs []Args) error {
	params := make([]river.InsertManyParams, len(jobs))
	for i, a := range jobs {
		params[i] = river.InsertManyParams{Args: riverArgs{a}, InsertOpts: in.opts}
	}
	_, err := in.producer.InsertManyFast(ctx, params)
	return err
}

func (in *riverInstance[TTx]) Enqueue(ctx context.Context, a Args) error {
	_, err := in.producer.Insert(ctx, riverArgs{a}, in.opts)
	return err
}

func (in *riverInstance[TTx]) Start(ctx context.Context) error {
	err := in.worker.Start(ctx)
	in.running = err == nil
	return err
}

func (in *riverInstance[TTx]) Stop(ctx context.Context) error {
	if !in.running {
		return nil
	}
	err := in.worker.Stop(ctx)
	in.running = err != nil
	return err
}

func (in *riverInstance[TTx]) Outstanding(ctx context.Context) (int64, error) {
	return in.probe.count(ctx, q.get("RiverOutstanding"))
}

func (in *riverInstance[TTx]) Completed(ctx context.Context) (int64, error) {
	return in.probe.count(ctx, q.get("RiverCompleted"))
}

func (in *riverInstance[TTx]) Dead(ctx context.Context) (int64, error) {
	return in.probe.count(ctx, q.get("RiverDead"))
}

func (in *riverInstance[TTx]) Close(ctx context.Context) error {
	var errs []error
	if in.worker != nil {
		stopCtx, cancel := context.WithTimeout(ctx, time.Minute)
		errs = append(errs, in.Stop(stopCtx))
		cancel()
	}
	for i := len(in.cleanup) - 1; i >= 0; i-- {
		errs = append(errs, in.cleanup[i]())
	}
	in.cleanup = nil
	return errors.Join(errs...)
}

// removeSQLite removes a SQLite database file with its WAL and shared-memory files.
func removeSQLite(path string) error {
	var errs []error
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// riverDLQ is River's closest equivalent of a dead-letter queue: its discarded jobs, on a
// fresh schema.
type riverDLQ struct {
	env    *Env
	schema string
	pool   *pgxpool.Pool
	probe  *pgProber
	client *river.Client[pgx.Tx]
	ids    []int64 // what PrepareReplay picked
}

func openRiverDLQ(ctx context.Context, env *Env, appName string) (_ DeadLetters, err error) {
	d := &riverDLQ{env: env}
	defer func() {
		if err != nil {
			d.Close(ctx)
		}
	}()
	if d.schema, err = env.newSchema(ctx, "riverdlq"); err != nil {
		return nil, err
	}
	if d.probe, err = env.newPGProber(ctx, d.schema); err != nil {
		return nil, err
	}
	if d.pool, err = pgxpool.New(ctx, env.schemaURL(d.schema, map[string]string{"pool_max_conns": fmt.Sprint(riverPoolConns), "application_name": appName})); err != nil {
		return nil, err
	}
	driver := riverpgxv5.New(d.pool)
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Schema: d.schema, Logger: discardLogger()})
	if err != nil {
		return nil, err
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return nil, err
	}
	d.client, err = river.NewClient(driver, &river.Config{Schema: d.schema, Logger: discardLogger()})
	return d, err
}

// Load inserts discarded jobs with one INSERT … SELECT FROM generate_series: queue plays the
// app, kind the type.
func (d *riverDLQ) Load(ctx context.Context, n, apps, types int) error {
	if _, err := d.probe.pool.Exec(ctx, q.get("RiverLoadDiscarded"), n, 0, apps, types); err != nil {
		return fmt.Errorf("loading discarded jobs: %w", err)
	}
	_, err := d.probe.pool.Exec(ctx, q.get("Analyze"))
	return err
}

func (d *riverDLQ) List(ctx context.Context, byApp bool, key, limit int, cursor string) (string, int, error) {
	params := river.NewJobListParams().States(rivertype.JobStateDiscarded).
		OrderBy(river.JobListOrderByID, river.SortOrderDesc).First(limit)
	if byApp {
		params = params.Queues(fmt.Sprintf("app-%d", key))
	} else {
		params = params.Kinds(fmt.Sprintf("type-%d", key))
	}
	if cursor != "" {
		var c river.JobListCursor
		if err := c.UnmarshalText([]byte(cursor)); err != nil {
			return "", 0, err
		}
		params = params.After(&c)
	}
	res, err := d.client.JobList(ctx, params)
	if err != nil || len(res.Jobs) < limit {
		return "", len(res.Jobs), err
	}
	next, err := res.LastCursor.MarshalText()
	return string(next), len(res.Jobs), err
}

// PrepareReplay lists the ids of the newest max discarded jobs.
func (d *riverDLQ) PrepareReplay(ctx context.Context, max int) error {
	rows, err := d.probe.pool.Query(ctx, q.get("RiverDiscardedIDs"), max)
	if err != nil {
		return err
	}
	d.ids, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	return err
}

// Replay calls JobRetry for each prepared job, one after another.
func (d *riverDLQ) Replay(ctx context.Context) (int, error) {
	for i, id := range d.ids {
		if _, err := d.client.JobRetry(ctx, id); err != nil {
			return i, err
		}
	}
	return len(d.ids), nil
}

func (d *riverDLQ) Close(ctx context.Context) error {
	var errs []error
	if d.pool != nil {
		d.pool.Close()
	}
	if d.probe != nil {
		errs = append(errs, d.probe.close())
	}
	if d.schema != "" {
		errs = append(errs, d.env.dropSchema(ctx, d.schema))
	}
	return errors.Join(errs...)
}
