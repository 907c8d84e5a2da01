package main

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"
)

// latencyWorkload is issue 5's workload 3: a paced trickle of single inserts, timed from
// just before the enqueue call to the start of the handler.
func latencyWorkload(ctx context.Context, env *Env) *Section {
	o := env.opts
	s := &Section{Title: fmt.Sprintf("3. Latency: %d jobs/s for %s, enqueue → handler start", o.LatencyRate, o.LatencyDuration),
		About: []string{fmt.Sprintf("Workers run; one producer inserts single jobs paced by a ticker at %d/s, each carrying the wall-clock time taken just before its enqueue call (producer and worker are separate clients, so a wake-up crosses the database as it would between processes). The handler records now − that time. The first %s (untimed warm-up) are left out; percentiles are over the jobs of the measured %s.", o.LatencyRate, o.LatencyWarmup, o.LatencyDuration)}}
	systems := env.pick(sysSluice, sysRiverDefault, sysRiverTuned100, sysRiverTuned1000, sysAsynq100, sysAsynq1000)
	m, notes := runMatrix(ctx, env, "latency", systems, false, func(ctx context.Context, sys System, run int) (map[string]float64, error) {
		return latencyOnce(ctx, env, sys)
	})
	rows := m.rows(systems, sysSluice)
	s.Tables = append(s.Tables, &Table{Columns: []Column{
		{Header: "p50", Metric: "p50", Format: fmtMs},
		{Header: "p95", Metric: "p95", Format: fmtMs},
		{Header: "p99", Metric: "p99", Format: fmtMs},
		{Header: "max", Metric: "max", Format: fmtMs},
		{Header: "Sluice/peer (p99; < 1 is better)", Metric: "p99", Ratio: true},
		{Header: "achieved jobs/s", Metric: "rate", Format: fmtInt},
	}, Rows: rows})
	s.Notes = append(s.Notes, notes...)
	target := "latency p99 ≤ tuned River's p99"
	if best := bestLowRow(rows, "p99", sysRiverTuned100, sysRiverTuned1000); best != nil {
		s.Targets = append(s.Targets, ratioTarget(target, best.ratioOf("p99"), 1, true, "Sluice/"+best.Label+" p99"))
	} else {
		s.Targets = append(s.Targets, TargetResult{Target: target, Missing: true, Measured: "n/a"})
	}
	if sl := rowByLabel(rows, sysSluice); sl != nil {
		p50 := sl.summaryOf("p50")
		s.Targets = append(s.Targets, TargetResult{Target: "latency p50 ≤ 2 ms", Pass: p50.N > 0 && p50.Median <= 2, Missing: p50.N == 0,
			Measured: fmt.Sprintf("%s (runs %s–%s)", fmtMs(p50.Median), fmtMs(p50.Min), fmtMs(p50.Max))})
	}
	return s
}

// bestLowRow returns, among the named rows, the one with the lowest median of metric.
func bestLowRow(rows []*Row, metric string, labels ...string) *Row {
	var best *Row
	for _, l := range labels {
		r := rowByLabel(rows, l)
		if r == nil || r.summaryOf(metric).N == 0 {
			continue
		}
		if best == nil || r.summaryOf(metric).Median < best.summaryOf(metric).Median {
			best = r
		}
	}
	return best
}

// latencyOnce paces single inserts into one system and returns the latency percentiles of
// the measured window.
func latencyOnce(ctx context.Context, env *Env, sys System) (map[string]float64, error) {
	o := env.opts
	ctx, cancel := context.WithTimeout(ctx, phaseTimeout)
	defer cancel()
	interval := time.Second / time.Duration(o.LatencyRate)
	warm := int(o.LatencyWarmup / interval)
	total := warm + int(o.LatencyDuration/interval)
	latencies := make([]atomic.Int64, total) // by job number; 0 until the job runs
	var measured atomic.Int64
	allRan := make(chan struct{})
	handler := func(_ context.Context, a Args) error {
		if a.N < int64(warm) || a.N >= int64(total) || a.EnqueuedAt == 0 {
			return nil
		}
		if latencies[a.N].CompareAndSwap(0, max(1, time.Now().UnixNano()-a.EnqueuedAt)) &&
			measured.Add(1) == int64(total-warm) {
			close(allRan)
		}
		return nil
	}
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
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	var windowStart time.Time
	for i := range total {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-ticker.C:
		}
		if i == warm {
			windowStart = time.Now()
		}
		if err := in.Enqueue(ctx, Args{N: int64(i), EnqueuedAt: time.Now().UnixNano()}); err != nil {
			return nil, fmt.Errorf("enqueue: %w", err)
		}
	}
	window := time.Since(windowStart)
	select {
	case <-allRan:
	case <-time.After(30 * time.Second):
		return nil, fmt.Errorf("only %d of %d measured jobs ran within 30 s of the last enqueue", measured.Load(), total-warm)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err := in.Stop(ctx); err != nil {
		return nil, fmt.Errorf("stop: %w", err)
	}
	sorted := make([]time.Duration, 0, total-warm)
	for i := warm; i < total; i++ {
		sorted = append(sorted, time.Duration(latencies[i].Load()))
	}
	slices.Sort(sorted)
	return map[string]float64{
		"p50":  ms(percentile(sorted, 50)),
		"p95":  ms(percentile(sorted, 95)),
		"p99":  ms(percentile(sorted, 99)),
		"max":  ms(sorted[len(sorted)-1]),
		"rate": float64(total-warm) / window.Seconds(),
	}, nil
}
