package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"
)

// insertBatch is how many jobs one bulk insert carries, on every system.
const insertBatch = 1000

// pollEvery is how often a workload asks the database whether outcomes are written, once
// every handler has run.
const pollEvery = 2 * time.Millisecond

// phaseTimeout bounds one measured phase, so that a stuck system fails its run instead of
// the suite.
const phaseTimeout = 10 * time.Minute

// measureFunc measures a system once and returns its metrics; run is the run's index, or -1
// for the untimed warm-up.
type measureFunc func(ctx context.Context, sys System, run int) (map[string]float64, error)

// matrix is what runMatrix measured: system name → metric → one value per run (NaN for a run
// that failed).
type matrix map[string]map[string][]float64

// runMatrix measures every system runs times. With warm set, each system first gets one
// untimed warm-up measurement. Each run rotates the systems' order, so that none always goes
// first; each run measures every system, so that ratios compare figures of the same run. A
// failed measurement leaves NaN and is reported in the returned notes.
func runMatrix(ctx context.Context, env *Env, workload string, systems []System, warm bool, measure measureFunc) (matrix, []string) {
	m := matrix{}
	var notes []string
	if warm {
		for _, sys := range systems {
			env.logf("%s: warm-up %s", workload, sys.Name)
			if _, err := measure(ctx, sys, -1); err != nil {
				notes = append(notes, fmt.Sprintf("%s warm-up failed: %v", sys.Name, err))
				env.logf("%s: warm-up %s FAILED: %v", workload, sys.Name, err)
			}
		}
	}
	for run := range env.opts.Runs {
		for i := range systems {
			sys := systems[(i+run)%len(systems)]
			if ctx.Err() != nil {
				return m, append(notes, "interrupted")
			}
			env.logf("%s: run %d/%d %s", workload, run+1, env.opts.Runs, sys.Name)
			values, err := measure(ctx, sys, run)
			if err != nil {
				notes = append(notes, fmt.Sprintf("%s run %d failed: %v", sys.Name, run+1, err))
				env.logf("%s: run %d %s FAILED: %v", workload, run+1, sys.Name, err)
			} else {
				env.logf("%s: run %d %s: %s", workload, run+1, sys.Name, formatValues(values))
			}
			m.record(sys.Name, run, env.opts.Runs, values)
		}
	}
	return m, notes
}

// record stores one run's values, NaN-filling the other runs.
func (m matrix) record(system string, run, runs int, values map[string]float64) {
	if m[system] == nil {
		m[system] = map[string][]float64{}
	}
	for k, v := range values {
		if m[system][k] == nil {
			m[system][k] = nanSlice(runs)
		}
		m[system][k][run] = v
	}
}

func nanSlice(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = math.NaN()
	}
	return s
}

func formatValues(values map[string]float64) string {
	var s string
	for k, v := range values {
		s += fmt.Sprintf(" %s=%.4g", k, v)
	}
	return s
}

// rows turns the matrix into table rows, one per system in order, Sluice's row (the first
// whose name is base) being every other row's base.
func (m matrix) rows(systems []System, base string) []*Row {
	var out []*Row
	var baseRow *Row
	for _, s := range systems {
		r := newRow(s.Name, m[s.Name], nil)
		if s.Name == base {
			baseRow = r
		}
		out = append(out, r)
	}
	for _, r := range out {
		r.Base = baseRow
	}
	return out
}

// countingHandler returns a Handler that counts its calls and closes done at the n-th; it
// fails every call when fail is set. The work itself is nothing: the suite measures the
// queues, not the jobs.
func countingHandler(n int64, fail bool) (Handler, *atomic.Int64, <-chan struct{}) {
	var calls atomic.Int64
	done := make(chan struct{})
	errFail := errors.New("bench: always fails")
	return func(ctx context.Context, a Args) error {
		if calls.Add(1) == n {
			close(done)
		}
		if fail {
			return errFail
		}
		return nil
	}, &calls, done
}

// waitFor polls cond every pollEvery until it holds, fails, or ctx ends.
func waitFor(ctx context.Context, cond func(ctx context.Context) (bool, error)) error {
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		ok, err := cond(ctx)
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// drained is the condition "no job's outcome is still unwritten".
func drained(in Instance) func(ctx context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		n, err := in.Outstanding(ctx)
		return n == 0, err
	}
}

// insertAll inserts jobs 0..n-1 in batches of insertBatch and returns how long it took.
func insertAll(ctx context.Context, in Instance, n int) (time.Duration, error) {
	start := time.Now()
	for first := 0; first < n; first += insertBatch {
		batch := make([]Args, min(insertBatch, n-first))
		for i := range batch {
			batch[i] = Args{N: int64(first + i)}
		}
		if err := in.EnqueueBatch(ctx, batch); err != nil {
			return 0, fmt.Errorf("insert: %w", err)
		}
	}
	return time.Since(start), nil
}

// drainResult is one drain: how long the bulk insert took, how long the workers took from
// Start until every outcome was written, and the CPU time that cost.
type drainResult struct {
	insert, work time.Duration
	cpu          cpuClock
}

// drainOnce sets up a fresh instance of sys, inserts n jobs in bulk, then times the workers
// from Start until every handler has run and the database shows every outcome written
// (no job pending or running: completions the system batches in memory count only once
// flushed). fail makes every job fail with max attempts 1, so that all end in the
// dead-letter queue. Setup, the insert and a CHECKPOINT come before the clock starts.
func drainOnce(ctx context.Context, env *Env, sys System, n int, fail bool, beforeStart func()) (drainResult, error) {
	var res drainResult
	ctx, cancel := context.WithTimeout(ctx, phaseTimeout)
	defer cancel()
	handler, calls, done := countingHandler(int64(n), fail)
	spec := Spec{Handler: handler}
	if fail {
		spec.MaxAttempts = 1
	}
	in, err := sys.Open(ctx, env, spec)
	if err != nil {
		return res, fmt.Errorf("open: %w", err)
	}
	defer in.Close(context.Background())
	if res.insert, err = insertAll(ctx, in, n); err != nil {
		return res, err
	}
	if err := env.quiesce(ctx); err != nil {
		return res, err
	}
	if beforeStart != nil {
		beforeStart()
	}
	cpu0 := readCPU()
	start := time.Now()
	if err := in.Start(ctx); err != nil {
		return res, fmt.Errorf("start: %w", err)
	}
	select {
	case <-done:
	case <-ctx.Done():
		return res, fmt.Errorf("only %d of %d jobs ran: %w", calls.Load(), n, ctx.Err())
	}
	if err := waitFor(ctx, drained(in)); err != nil {
		return res, fmt.Errorf("waiting for outcomes: %w", err)
	}
	res.work = time.Since(start)
	res.cpu = readCPU().since(cpu0)
	if err := in.Stop(ctx); err != nil {
		return res, fmt.Errorf("stop: %w", err)
	}
	return res, verifyOutcomes(ctx, in, n, fail)
}

// verifyOutcomes checks, untimed, that every job ended where it should.
func verifyOutcomes(ctx context.Context, in Instance, n int, fail bool) error {
	count, what := in.Completed, "completed"
	if fail {
		count, what = in.Dead, "dead-lettered"
	}
	got, err := count(ctx)
	if err != nil {
		return err
	}
	if got != int64(n) {
		return fmt.Errorf("%d of %d jobs %s", got, n, what)
	}
	return nil
}
