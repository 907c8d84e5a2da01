package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// steadyShape is one way producers insert while the workers run.
type steadyShape struct {
	name      string
	batch     int // jobs per insert; 1 uses the single insert
	producers int
}

// steadyWorkload is issue 5's workload 2: producers inserting while the workers run.
func steadyWorkload(ctx context.Context, env *Env) *Section {
	o := env.opts
	s := &Section{Title: fmt.Sprintf("2. Steady: producers inserting for %s while the workers run", o.SteadyDuration),
		About: []string{fmt.Sprintf("Workers start, then the producers insert as fast as they can, each in its own goroutine, for an untimed warm-up of %s and then the measured %s. **completed jobs/s** is the growth of the durably completed count (a count of the table, or Asynq's processed counter) over the window; **inserted jobs/s** is what the producers managed meanwhile, and **backlog** is what was left pending or running at the end (a system whose workers keep up has a small one). Asynq has no batch insert, so it runs only the single-insert shape.", o.SteadyWarmup, o.SteadyDuration)}}
	shapes := []steadyShape{
		{name: fmt.Sprintf("%d producers of batches of %d", o.SteadyBatchProducers, o.SteadyBatchSize), batch: o.SteadyBatchSize, producers: o.SteadyBatchProducers},
		{name: fmt.Sprintf("%d producers of single inserts", o.SteadySingleProducers), batch: 1, producers: o.SteadySingleProducers},
	}
	for i, shape := range shapes {
		names := []string{sysSluice, sysRiverDefault, sysRiverTuned100, sysRiverTuned1000}
		if shape.batch == 1 {
			names = append(names, sysAsynq100, sysAsynq1000)
		}
		systems := env.pick(names...)
		m, notes := runMatrix(ctx, env, "steady/"+shape.name, systems, false, func(ctx context.Context, sys System, run int) (map[string]float64, error) {
			return steadyOnce(ctx, env, sys, shape)
		})
		rows := m.rows(systems, sysSluice)
		s.Tables = append(s.Tables, &Table{Caption: fmt.Sprintf("**Shape %c: %s.**", 'a'+i, shape.name), Columns: []Column{
			{Header: "completed jobs/s", Metric: "completed", Format: fmtInt},
			{Header: "Sluice/peer (completed)", Metric: "completed", Ratio: true},
			{Header: "inserted jobs/s", Metric: "inserted", Format: fmtInt},
			{Header: "backlog at end", Metric: "backlog", Format: fmtInt},
		}, Rows: rows})
		s.Notes = append(s.Notes, notes...)
		target := fmt.Sprintf("steady (%s) ≥ 2× tuned River", shape.name)
		if best := bestRow(rows, "completed", sysRiverTuned100, sysRiverTuned1000); best != nil {
			s.Targets = append(s.Targets, ratioTarget(target, best.ratioOf("completed"), 2, false, "vs "+best.Label))
		} else {
			s.Targets = append(s.Targets, TargetResult{Target: target, Missing: true, Measured: "n/a"})
		}
	}
	return s
}

// steadyOnce runs one system under one producer shape and returns its rates.
func steadyOnce(ctx context.Context, env *Env, sys System, shape steadyShape) (map[string]float64, error) {
	o := env.opts
	ctx, cancel := context.WithTimeout(ctx, phaseTimeout)
	defer cancel()
	handler, _, _ := countingHandler(0, false)
	in, err := sys.Open(ctx, env, Spec{Handler: handler})
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	defer in.Close(context.Background())
	if err := env.quiesce(ctx); err != nil {
		return nil, err
	}
	if err := in.Start(ctx); err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	var inserted, seq atomic.Int64
	prodCtx, stopProducers := context.WithCancel(ctx)
	var wg sync.WaitGroup
	errs := make(chan error, shape.producers)
	for range shape.producers {
		wg.Go(func() {
			for prodCtx.Err() == nil {
				var err error
				if shape.batch == 1 {
					err = in.Enqueue(prodCtx, Args{N: seq.Add(1)})
				} else {
					batch := make([]Args, shape.batch)
					for i := range batch {
						batch[i] = Args{N: seq.Add(1)}
					}
					err = in.EnqueueBatch(prodCtx, batch)
				}
				if err != nil {
					if prodCtx.Err() == nil {
						errs <- err
						stopProducers()
					}
					return
				}
				inserted.Add(int64(shape.batch))
			}
		})
	}
	stop := func() error {
		stopProducers()
		wg.Wait()
		select {
		case err := <-errs:
			return fmt.Errorf("producer: %w", err)
		default:
			return nil
		}
	}
	sleep(prodCtx, o.SteadyWarmup)
	t0, i0 := time.Now(), inserted.Load()
	c0, err := in.Completed(ctx)
	if err != nil {
		return nil, errors.Join(err, stop())
	}
	sleep(prodCtx, o.SteadyDuration)
	t1, i1 := time.Now(), inserted.Load()
	c1, err := in.Completed(ctx)
	if err = errors.Join(err, stop()); err != nil {
		return nil, err
	}
	backlog, err := in.Outstanding(ctx)
	if err != nil {
		return nil, err
	}
	if err := in.Stop(ctx); err != nil {
		return nil, fmt.Errorf("stop: %w", err)
	}
	dt := t1.Sub(t0).Seconds()
	return map[string]float64{
		"completed": float64(c1-c0) / dt,
		"inserted":  float64(i1-i0) / dt,
		"backlog":   float64(backlog),
	}, nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
