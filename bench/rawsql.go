package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// rawSQLSystem is the ceiling for the drain: no queue library, just a plain table, claims of
// rawBatch rows with UPDATE … FROM (SELECT … FOR UPDATE SKIP LOCKED LIMIT n) RETURNING, the
// handler called per row, and one UPDATE completing the batch — on rawConns connections at
// once. It has no leases, heartbeats, retries, error history or notifications.
func rawSQLSystem(name string) System {
	return System{Name: name,
		Config: fmt.Sprintf("a plain table; %d goroutines, each on its own pgx connection, loop: claim %d rows (UPDATE … FROM (SELECT … ORDER BY id LIMIT %d FOR UPDATE SKIP LOCKED) RETURNING), call the handler per row, complete them in one UPDATE … WHERE id = ANY($1); bulk insert with COPY", rawConns, rawBatch, rawBatch),
		Open:   openRawSQL}
}

// The raw loop's shape: found best of {4, 8, 16} connections × {50, 100, 500} rows on the
// reference machine.
const (
	rawConns = 8
	rawBatch = 100
)

// rawInstance is the raw SQL loop on one schema.
type rawInstance struct {
	spec   Spec
	schema string
	pool   *pgxpool.Pool
	probe  *pgProber
	drop   func() error

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan error
}

func openRawSQL(ctx context.Context, env *Env, spec Spec) (_ Instance, err error) {
	if spec.Role != RoleBoth {
		return nil, errors.New("raw-sql runs in one process only")
	}
	in := &rawInstance{spec: spec}
	defer func() {
		if err != nil {
			in.Close(ctx)
		}
	}()
	if in.schema, err = env.newSchema(ctx, "raw"); err != nil {
		return nil, err
	}
	in.drop = func() error { return env.dropSchema(context.Background(), in.schema) }
	if in.probe, err = env.newPGProber(ctx, in.schema); err != nil {
		return nil, err
	}
	if _, err = in.probe.pool.Exec(ctx, q.get("RawCreate"), pgx.QueryExecModeSimpleProtocol); err != nil {
		return nil, err
	}
	in.pool, err = pgxpool.New(ctx, env.schemaURL(in.schema, map[string]string{"pool_max_conns": fmt.Sprint(rawConns + 1)}))
	return in, err
}

func (in *rawInstance) Database() string { return in.schema }

func (in *rawInstance) EnqueueBatch(ctx context.Context, jobs []Args) error {
	_, err := in.pool.CopyFrom(ctx, pgx.Identifier{"raw_jobs"}, []string{"payload"},
		pgx.CopyFromSlice(len(jobs), func(i int) ([]any, error) {
			payload, err := json.Marshal(jobs[i])
			return []any{payload}, err
		}))
	return err
}

func (in *rawInstance) Enqueue(ctx context.Context, a Args) error {
	payload, err := json.Marshal(a)
	if err != nil {
		return err
	}
	_, err = in.pool.Exec(ctx, q.get("RawInsert"), payload)
	return err
}

// Start runs rawConns claim loops until Stop.
func (in *rawInstance) Start(context.Context) error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, rawConns)
	for range rawConns {
		go func() { done <- in.loop(ctx) }()
	}
	in.mu.Lock()
	in.cancel, in.done = cancel, done
	in.mu.Unlock()
	return nil
}

// loop claims, runs and completes batches on one connection until ctx ends.
func (in *rawInstance) loop(ctx context.Context) error {
	conn, err := in.pool.Acquire(ctx)
	if err != nil {
		return ignoreCanceled(err)
	}
	defer conn.Release()
	var ok, failed []int64
	for ctx.Err() == nil {
		rows, err := conn.Query(ctx, q.get("RawClaim"), rawBatch)
		if err != nil {
			return ignoreCanceled(err)
		}
		ok, failed = ok[:0], failed[:0]
		var id int64
		var payload []byte
		_, err = pgx.ForEachRow(rows, []any{&id, &payload}, func() error {
			var a Args
			if err := json.Unmarshal(payload, &a); err != nil {
				return err
			}
			if in.spec.Handler(ctx, a) == nil {
				ok = append(ok, id)
			} else {
				failed = append(failed, id)
			}
			return nil
		})
		if err != nil {
			return ignoreCanceled(err)
		}
		if len(ok)+len(failed) == 0 {
			time.Sleep(time.Millisecond)
			continue
		}
		for _, set := range []struct {
			query string
			ids   []int64
		}{{"RawComplete", ok}, {"RawFail", failed}} {
			if len(set.ids) == 0 {
				continue
			}
			if _, err := conn.Exec(context.WithoutCancel(ctx), q.get(set.query), set.ids); err != nil {
				return err
			}
		}
	}
	return nil
}

func ignoreCanceled(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func (in *rawInstance) Stop(context.Context) error {
	in.mu.Lock()
	cancel, done := in.cancel, in.done
	in.cancel, in.done = nil, nil
	in.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	var errs []error
	for range rawConns {
		errs = append(errs, <-done)
	}
	return errors.Join(errs...)
}

func (in *rawInstance) Outstanding(ctx context.Context) (int64, error) {
	return in.probe.count(ctx, q.get("RawOutstanding"))
}

func (in *rawInstance) Completed(ctx context.Context) (int64, error) {
	return in.probe.count(ctx, q.get("RawCompleted"))
}

func (in *rawInstance) Dead(ctx context.Context) (int64, error) {
	return in.probe.count(ctx, q.get("RawDead"))
}

func (in *rawInstance) Close(ctx context.Context) error {
	errs := []error{in.Stop(ctx)}
	if in.pool != nil {
		in.pool.Close()
	}
	if in.probe != nil {
		errs = append(errs, in.probe.close())
	}
	if in.drop != nil {
		errs = append(errs, in.drop())
	}
	return errors.Join(errs...)
}
