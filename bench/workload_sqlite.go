package main

import (
	"context"
	"fmt"
)

// sqliteWorkload is issue 5's workload 7: the drain on a SQLite file in WAL mode.
func sqliteWorkload(ctx context.Context, env *Env) *Section {
	n := env.opts.SQLiteJobs
	s := &Section{Title: fmt.Sprintf("7. SQLite: drain of %s jobs on a WAL file", fmtInt(float64(n))),
		About: []string{fmt.Sprintf("The drain of workload 1 on a fresh SQLite file per run (WAL, synchronous=FULL for both: Sluice's default durability, set explicitly for River), %s jobs inserted in batches of %d, then worked until the file shows none pending or running. River's SQLite driver is used as its documentation advises (one open connection).", fmtInt(float64(n)), insertBatch)}}
	systems := env.pick(sysSluiceSQLite, sysRiverSQLiteDef, sysRiverSQLite100, sysRiverSQLite1000)
	m, notes := runMatrix(ctx, env, "sqlite", systems, true, func(ctx context.Context, sys System, run int) (map[string]float64, error) {
		size := n
		if run < 0 {
			size = min(n, env.opts.WarmupJobs)
		}
		res, err := drainOnce(ctx, env, sys, size, false, nil)
		if err != nil {
			return nil, err
		}
		return map[string]float64{
			"work":   float64(size) / res.work.Seconds(),
			"insert": float64(size) / res.insert.Seconds(),
		}, nil
	})
	rows := m.rows(systems, sysSluiceSQLite)
	s.Tables = append(s.Tables, &Table{Columns: []Column{
		{Header: "work jobs/s", Metric: "work", Format: fmtInt},
		{Header: "Sluice/peer (work)", Metric: "work", Ratio: true},
		{Header: "insert jobs/s", Metric: "insert", Format: fmtInt},
	}, Rows: rows})
	s.Notes = append(s.Notes, notes...)
	target := "SQLite drain ≥ 5× River's SQLite driver (at its best setting)"
	if best := bestRow(rows, "work", sysRiverSQLiteDef, sysRiverSQLite100, sysRiverSQLite1000); best != nil {
		s.Targets = append(s.Targets, ratioTarget(target, best.ratioOf("work"), 5, false, "vs "+best.Label))
	} else {
		s.Targets = append(s.Targets, TargetResult{Target: target, Missing: true, Measured: "n/a"})
	}
	return s
}
