package main

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
)

// drainWorkload is issue 5's workload 1: jobs inserted in bulk, then worked to completion.
func drainWorkload(ctx context.Context, env *Env) *Section {
	n := env.opts.DrainJobs
	s := &Section{Title: fmt.Sprintf("1. Drain: %s jobs inserted in bulk, then worked to completion", fmtInt(float64(n))),
		About: []string{
			fmt.Sprintf("Each run sets every system up in a fresh schema (Redis DB for Asynq), inserts %s jobs in batches of %d with its bulk insert, runs a CHECKPOINT, then starts the workers. **work jobs/s** is %s divided by the time from Start until every handler has run *and* the database shows every outcome written (no job pending or running — River's and Sluice's batched completions count only once flushed; Asynq's Done is synchronous). Insert rate is shown for information. CPU columns are CPU time per 1,000 jobs during the working phase: the bench process (client libraries and handlers) and the whole machine (adds PostgreSQL, or Redis for Asynq).", fmtInt(float64(n)), insertBatch, fmtInt(float64(n))),
		}}
	systems := env.pick(sysSluice, sysRiverDefault, sysRiverTuned100, sysRiverTuned1000, sysAsynq100, sysAsynq1000, sysRawSQL)
	m, notes := runMatrix(ctx, env, "drain", systems, true, func(ctx context.Context, sys System, run int) (map[string]float64, error) {
		size := n
		if run < 0 {
			size = env.opts.WarmupJobs
		}
		var profiling bool
		beforeStart := func() {
			if env.opts.CPUProfile == "" || sys.Name != sysSluice || run != 0 {
				return
			}
			f, err := os.Create(env.opts.CPUProfile)
			if err == nil && pprof.StartCPUProfile(f) == nil {
				profiling = true
				env.logf("drain: profiling Sluice's working phase into %s", env.opts.CPUProfile)
			}
		}
		res, err := drainOnce(ctx, env, sys, size, false, beforeStart)
		if profiling {
			pprof.StopCPUProfile()
		}
		if err != nil {
			return nil, err
		}
		k := float64(size) / 1000
		return map[string]float64{
			"work":    float64(size) / res.work.Seconds(),
			"insert":  float64(size) / res.insert.Seconds(),
			"cpuSelf": ms(res.cpu.self) / k,
			"cpuAll":  ms(res.cpu.machine) / k,
		}, nil
	})
	rows := m.rows(systems, sysSluice)
	s.Tables = append(s.Tables, &Table{Columns: []Column{
		{Header: "work jobs/s", Metric: "work", Format: fmtInt},
		{Header: "Sluice/peer (work)", Metric: "work", Ratio: true},
		{Header: "insert jobs/s", Metric: "insert", Format: fmtInt},
		{Header: "CPU/1k jobs: bench process", Metric: "cpuSelf", Format: fmtCPU},
		{Header: "CPU/1k jobs: whole machine", Metric: "cpuAll", Format: fmtCPU},
	}, Rows: rows})
	s.Notes = append(s.Notes, notes...)
	best := bestRow(rows, "work", sysRiverTuned100, sysRiverTuned1000)
	target := "drain ≥ 2× tuned River at its best setting"
	if best == nil {
		s.Targets = append(s.Targets, TargetResult{Target: target, Missing: true, Measured: "n/a"})
	} else {
		s.Targets = append(s.Targets, ratioTarget(target, best.ratioOf("work"), 2, false, "vs "+best.Label))
	}
	if raw := rowByLabel(rows, sysRawSQL); raw != nil {
		r := raw.ratioOf("work")
		s.Targets = append(s.Targets, TargetResult{Target: "drain ≥ 80 % of the raw SQL SKIP LOCKED loop (the issue's aim)",
			Measured: fmt.Sprintf("%.0f %% of raw-sql (runs %.0f–%.0f %%)", 100*r.Median, 100*r.Min, 100*r.Max),
			Pass:     r.N > 0 && r.Median >= 0.8, Missing: r.N == 0})
	}
	return s
}

// bestRow returns, among the named rows, the one with the highest median of metric.
func bestRow(rows []*Row, metric string, labels ...string) *Row {
	var best *Row
	for _, l := range labels {
		r := rowByLabel(rows, l)
		if r == nil || r.summaryOf(metric).N == 0 {
			continue
		}
		if best == nil || r.summaryOf(metric).Median > best.summaryOf(metric).Median {
			best = r
		}
	}
	return best
}

// rowByLabel finds a row by its system's name.
func rowByLabel(rows []*Row, label string) *Row {
	for _, r := range rows {
		if r.Label == label {
			return r
		}
	}
	return nil
}
