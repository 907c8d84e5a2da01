package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/sluicehq/sluice"
	_ "modernc.org/sqlite" // the probe's read-only connection to SQLite files
)

// jobType is the job type (River's kind, Asynq's task type) of every benchmark job.
const jobType = "bench"

// benchApp is the app (tenant) Sluice's benchmark jobs belong to.
const benchApp = "bench"

// sluiceSystem is Sluice on PostgreSQL at its defaults: sluice.Open with a nil Config, one
// Handle, Start. concurrency, when not 0, sets the default queue's concurrency and nothing
// else (the memory workload's 1,000).
func sluiceSystem(name string, concurrency int) System {
	desc := "sluice.Open(url, nil): all defaults (queue `default`, concurrency 100, pool of 16 connections per client, poll 1 s, LISTEN/NOTIFY); bulk insert with EnqueueMany"
	if concurrency > 0 {
		desc = fmt.Sprintf("defaults except Config.Queues = {default: {Concurrency: %d}}", concurrency)
	}
	return System{Name: name, Config: desc, Open: func(ctx context.Context, env *Env, spec Spec) (Instance, error) {
		var cfg *sluice.Config
		if concurrency > 0 {
			cfg = &sluice.Config{Queues: map[string]sluice.QueueConfig{"default": {Concurrency: concurrency}}}
		}
		return openSluicePG(ctx, env, spec, cfg)
	}}
}

// sluiceSQLiteSystem is Sluice on a SQLite file at its defaults (WAL, synchronous=full).
func sluiceSQLiteSystem(name string) System {
	return System{Name: name,
		Config: "sluice.Open(\"sqlite:FILE\", nil): all defaults (WAL, synchronous=full, one writer connection); one client enqueues and works, as an embedded application would",
		Open:   openSluiceSQLite}
}

// sluiceInstance is Sluice with a producer client and a worker client on one database.
type sluiceInstance struct {
	spec     Spec
	database string // PostgreSQL schema or SQLite file
	producer *sluice.Client
	worker   *sluice.Client
	appID    string
	probe    prober
	drop     func() error // drops the database the instance created; nil when attached
}

func openSluicePG(ctx context.Context, env *Env, spec Spec, cfg *sluice.Config) (_ *sluiceInstance, err error) {
	in := &sluiceInstance{spec: spec, database: spec.Database}
	defer func() {
		if err != nil {
			in.Close(ctx)
		}
	}()
	fresh := in.database == ""
	if fresh {
		if in.database, err = env.newSchema(ctx, "sluice"); err != nil {
			return nil, err
		}
		in.drop = func() error { return env.dropSchema(context.Background(), in.database) }
	}
	if in.probe, err = env.newPGProber(ctx, in.database); err != nil {
		return nil, err
	}
	url := env.schemaURL(in.database, nil)
	return in, in.openClients(ctx, url, url, cfg, fresh)
}

func openSluiceSQLite(ctx context.Context, env *Env, spec Spec) (_ Instance, err error) {
	path := env.sqlitePath("sluice")
	in := &sluiceInstance{spec: spec, database: path, drop: func() error { return removeSQLite(path) }}
	defer func() {
		if err != nil {
			in.Close(ctx)
		}
	}()
	// One client both enqueues and works: the embedded shape, where an enqueue wakes the
	// workers in-process (SQLite has no cross-process notifications).
	if err := in.openClients(ctx, "sqlite:"+path, "", nil, true); err != nil {
		return nil, err
	}
	if in.probe, err = newSQLiteProber(path); err != nil {
		return nil, err
	}
	return in, nil
}

// openClients opens the producer client (migrating and creating the app on a fresh
// database) and the worker client; an empty workerURL makes the producer client work too.
func (in *sluiceInstance) openClients(ctx context.Context, producerURL, workerURL string, cfg *sluice.Config, fresh bool) error {
	var err error
	if in.spec.Role != RoleWorker {
		if in.producer, err = sluice.Open(ctx, producerURL, cfg); err != nil {
			return err
		}
		if fresh {
			if _, err := in.producer.Store().MigrateUp(ctx); err != nil {
				return err
			}
			if _, err := in.producer.CreateApp(ctx, benchApp); err != nil {
				return err
			}
		}
		app, err := in.producer.GetApp(ctx, benchApp)
		if err != nil {
			return err
		}
		in.appID = app.ID.String()
	}
	if in.spec.Role == RoleProducer {
		return nil
	}
	if workerURL == "" {
		in.worker = in.producer
	} else if in.worker, err = sluice.Open(ctx, workerURL, cfg); err != nil {
		return err
	}
	h := in.spec.Handler
	sluice.Handle(in.worker, jobType, func(ctx context.Context, _ *sluice.Job, a Args) error {
		return h(ctx, a)
	}, nil)
	return nil
}

func (in *sluiceInstance) Database() string { return in.database }

func (in *sluiceInstance) newJob(a Args) sluice.NewJob {
	return sluice.NewJob{App: in.appID, Type: jobType, Payload: a, MaxAttempts: in.spec.MaxAttempts}
}

func (in *sluiceInstance) EnqueueBatch(ctx context.Context, jobs []Args) error {
	batch := make([]sluice.NewJob, len(jobs))
	for i, a := range jobs {
		batch[i] = in.newJob(a)
	}
	_, err := in.producer.EnqueueMany(ctx, batch)
	return err
}

func (in *sluiceInstance) Enqueue(ctx context.Context, a Args) error {
	_, err := in.producer.Enqueue(ctx, in.newJob(a))
	return err
}

func (in *sluiceInstance) Start(ctx context.Context) error { return in.worker.Start(ctx) }

func (in *sluiceInstance) Stop(ctx context.Context) error {
	if err := in.worker.Stop(ctx); err != nil && !errors.Is(err, sluice.ErrStopped) {
		return err
	}
	return nil
}

func (in *sluiceInstance) Outstanding(ctx context.Context) (int64, error) {
	return in.probe.count(ctx, q.get("SluiceOutstanding"))
}

func (in *sluiceInstance) Completed(ctx context.Context) (int64, error) {
	return in.probe.count(ctx, q.get("SluiceCompleted"))
}

func (in *sluiceInstance) Dead(ctx context.Context) (int64, error) {
	return in.probe.count(ctx, q.get("SluiceDead"))
}

func (in *sluiceInstance) Close(ctx context.Context) error {
	var errs []error
	if in.worker != nil && in.worker != in.producer {
		errs = append(errs, in.worker.Close(ctx))
	}
	if in.producer != nil {
		errs = append(errs, in.producer.Close(ctx))
	}
	if in.probe != nil {
		errs = append(errs, in.probe.close())
	}
	if in.drop != nil {
		errs = append(errs, in.drop())
	}
	return errors.Join(errs...)
}

// sluiceDLQ is Sluice's dead-letter queue on a fresh schema, for the DLQ workloads.
type sluiceDLQ struct {
	env    *Env
	schema string
	client *sluice.Client
	probe  *pgProber
	apps   []uuid.UUID // app-0, app-1, ...
}

func openSluiceDLQ(ctx context.Context, env *Env, appName string) (_ DeadLetters, err error) {
	d := &sluiceDLQ{env: env}
	defer func() {
		if err != nil {
			d.Close(ctx)
		}
	}()
	if d.schema, err = env.newSchema(ctx, "sluicedlq"); err != nil {
		return nil, err
	}
	if d.probe, err = env.newPGProber(ctx, d.schema); err != nil {
		return nil, err
	}
	if d.client, err = sluice.Open(ctx, env.schemaURL(d.schema, map[string]string{"application_name": appName}), nil); err != nil {
		return nil, err
	}
	_, err = d.client.Store().MigrateUp(ctx)
	return d, err
}

// Load creates the apps, then COPYs the entries into job_dlq: the nine contract columns plus
// queue, priority and max_attempts, UUIDv7 ids whose time is failed_at, one second apart
// and ending now.
func (d *sluiceDLQ) Load(ctx context.Context, n, apps, types int) error {
	for i := len(d.apps); i < apps; i++ {
		app, err := d.client.CreateApp(ctx, fmt.Sprintf("app-%d", i))
		if err != nil {
			return err
		}
		d.apps = append(d.apps, app.ID)
	}
	rng := rand.New(rand.NewPCG(uint64(n), uint64(apps*types)))
	first := time.Now().Add(-time.Duration(n) * time.Second)
	columns := []string{"id", "original_job_id", "app_id", "type", "payload", "attempts", "error_history", "failed_at", "queue", "priority", "max_attempts"}
	i := 0
	_, err := d.probe.pool.CopyFrom(ctx, pgx.Identifier{"job_dlq"}, columns, pgx.CopyFromFunc(func() ([]any, error) {
		if i == n {
			return nil, nil
		}
		failedAt := first.Add(time.Duration(i) * time.Second)
		row := []any{
			uuidV7At(failedAt, rng), uuidV7At(failedAt.Add(-time.Second), rng), d.apps[i%apps],
			fmt.Sprintf("type-%d", (i/apps)%types),
			fmt.Appendf(nil, `{"n":%d,"t":0}`, i), 1,
			fmt.Appendf(nil, `[{"error":"bench: always fails","timestamp":%d}]`, failedAt.UnixMilli()),
			failedAt, "default", 0, 1,
		}
		i++
		return row, nil
	}))
	if err != nil {
		return fmt.Errorf("COPY into job_dlq: %w", err)
	}
	_, err = d.probe.pool.Exec(ctx, q.get("Analyze"))
	return err
}

func (d *sluiceDLQ) List(ctx context.Context, byApp bool, key, limit int, cursor string) (string, int, error) {
	var page sluice.Page[sluice.DeadJob]
	var err error
	if byApp {
		page, err = d.client.DLQ().ByApp(ctx, d.apps[key], limit, cursor)
	} else {
		page, err = d.client.DLQ().ByType(ctx, fmt.Sprintf("type-%d", key), limit, cursor)
	}
	return page.NextCursor, len(page.Items), err
}

// PrepareReplay has nothing to do: ReplayMany takes a filter.
func (d *sluiceDLQ) PrepareReplay(context.Context, int) error { return nil }

// Replay replays every entry of type-0 with one ReplayMany at its defaults.
func (d *sluiceDLQ) Replay(ctx context.Context) (int, error) {
	res, err := d.client.DLQ().ReplayMany(ctx, sluice.Filter{Type: "type-0"}, sluice.ReplayOptions{})
	return res.Replayed, err
}

// replayBatch is one transaction of a bulk replay, as the table shows it afterwards.
type replayBatch struct {
	start   time.Time // the transaction's now(), which it wrote into replayed_at
	entries int
}

// replayBatches reads back the bulk replay's transactions, and the database clock now.
func (d *sluiceDLQ) replayBatches(ctx context.Context) ([]replayBatch, time.Time, error) {
	var now time.Time
	if err := d.probe.pool.QueryRow(ctx, q.get("ClockNow")).Scan(&now); err != nil {
		return nil, now, err
	}
	rows, err := d.probe.pool.Query(ctx, q.get("SluiceReplayBatches"))
	if err != nil {
		return nil, now, err
	}
	var out []replayBatch
	var b replayBatch
	_, err = pgx.ForEachRow(rows, []any{&b.start, &b.entries}, func() error {
		out = append(out, b)
		return nil
	})
	return out, now, err
}

// explain runs EXPLAIN (ANALYZE, BUFFERS) on one of Sluice's own DLQ listing queries (its
// text read from the library's queries.sql) with the arguments ByApp(app-key) or ByType(type-key) pass it,
// for a page of limit after the entry depth places from the newest (0: the first page),
// the way the store runs it: a one-off plan (QueryExecModeExec).
func (d *sluiceDLQ) explain(ctx context.Context, query string, byApp bool, key, limit, depth int) (string, error) {
	var app *uuid.UUID
	typ := ""
	if byApp {
		app = &d.apps[key]
	} else {
		typ = fmt.Sprintf("type-%d", key)
	}
	var before *uuid.UUID
	if depth > 0 {
		var id uuid.UUID
		if err := d.probe.pool.QueryRow(ctx, q.get("SluiceDeadIDAtDepth"), app, typ, depth).Scan(&id); err != nil {
			return "", err
		}
		before = &id
	}
	// pgstore's ListDead arguments: the filter (app, type, failed after and before, error
	// text, include replayed, replayed only, through, group), the cursor, the limit, the tag.
	args := []any{app, typ, (*time.Time)(nil), (*time.Time)(nil), "", false, false, (*uuid.UUID)(nil), "", before, limit + 1, ""}
	if n := queryParams(query); n != len(args) {
		return "", fmt.Errorf("the query takes %d parameters, the suite passes %d: bring sluiceDLQ.explain in line with pgstore's ListDead", n, len(args))
	}
	rows, err := d.probe.pool.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+query, append([]any{pgx.QueryExecModeExec}, args...)...)
	if err != nil {
		return "", err
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return strings.Join(lines, "\n"), err
}

func (d *sluiceDLQ) Close(ctx context.Context) error {
	var errs []error
	if d.client != nil {
		errs = append(errs, d.client.Close(ctx))
	}
	if d.probe != nil {
		errs = append(errs, d.probe.close())
	}
	if d.schema != "" {
		errs = append(errs, d.env.dropSchema(ctx, d.schema))
	}
	return errors.Join(errs...)
}

// uuidV7At returns a UUIDv7 whose timestamp is t, so that id order is failed_at order.
func uuidV7At(t time.Time, rng *rand.Rand) uuid.UUID {
	var u uuid.UUID
	binary.BigEndian.PutUint64(u[8:], rng.Uint64())
	binary.BigEndian.PutUint64(u[:8], uint64(t.UnixMilli())<<16|uint64(rng.Uint32()&0xffff))
	u[6] = 0x70 | u[6]&0x0f // version 7
	u[8] = 0x80 | u[8]&0x3f // RFC 9562 variant
	return u
}
