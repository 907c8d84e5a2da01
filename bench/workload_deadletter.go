package main

import (
	"context"
	"fmt"
)

// deadLetterWorkload is issue 5's workload 4: always-failing jobs with one attempt each,
// timed until all are in the dead-letter queue.
func deadLetterWorkload(ctx context.Context, env *Env) *Section {
	n := env.opts.DeadJobs
	s := &Section{Title: fmt.Sprintf("4. Dead-letter: %s always-failing jobs, max attempts 1", fmtInt(float64(n))),
		About: []string{fmt.Sprintf("As the drain, but every job is enqueued with an attempt budget of 1 (Asynq: MaxRetry 0) and its handler returns an error. The clock runs from Start until every handler has run and no job is pending or running any more; then the suite checks that all %s are in Sluice's `job_dlq`, in River's `discarded` state, or in Asynq's archived set.", fmtInt(float64(n)))}}
	systems := env.pick(sysSluice, sysRiverDefault, sysRiverTuned100, sysRiverTuned1000, sysAsynq100, sysAsynq1000)
	m, notes := runMatrix(ctx, env, "deadletter", systems, true, func(ctx context.Context, sys System, run int) (map[string]float64, error) {
		size := n
		if run < 0 {
			size = min(n, env.opts.WarmupJobs)
		}
		res, err := drainOnce(ctx, env, sys, size, true, nil)
		if err != nil {
			return nil, err
		}
		return map[string]float64{"rate": float64(size) / res.work.Seconds(), "time": res.work.Seconds()}, nil
	})
	rows := m.rows(systems, sysSluice)
	s.Tables = append(s.Tables, &Table{Columns: []Column{
		{Header: "dead-lettered jobs/s", Metric: "rate", Format: fmtInt},
		{Header: "Sluice/peer", Metric: "rate", Ratio: true},
		{Header: "time until all dead", Metric: "time", Format: fmtSec},
	}, Rows: rows})
	s.Notes = append(s.Notes, notes...)
	target := "dead-letter ≥ 2× tuned River"
	if best := bestRow(rows, "rate", sysRiverTuned100, sysRiverTuned1000); best != nil {
		s.Targets = append(s.Targets, ratioTarget(target, best.ratioOf("rate"), 2, false, "vs "+best.Label))
	} else {
		s.Targets = append(s.Targets, TargetResult{Target: target, Missing: true, Measured: "n/a"})
	}
	return s
}
