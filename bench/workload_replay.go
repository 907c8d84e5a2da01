package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// replayAppName tags the replaying connections, so that their transactions can be watched.
const replayAppName = "sluicebench-replay"

// replayWorkload is issue 5's workload 6: bulk replay of dead entries, with the longest
// transaction it holds open.
func replayWorkload(ctx context.Context, env *Env) *Section {
	o := env.opts
	s := &Section{Title: "6. Bulk replay",
		About: []string{
			fmt.Sprintf("Each run loads the entries (one app, one type) straight into a fresh schema as the listing workload does, runs a CHECKPOINT, then times the replay: Sluice's `DLQ().ReplayMany(Filter{Type})` at its defaults (batches of 500, one transaction each) against River's per-job method, `client.JobRetry` for each discarded job one after another (River has no bulk retry; the ids are listed before the clock starts). River's loop stops after %s jobs and its time for the full size is extrapolated from its rate (marked *). **Speedup** is Sluice's rate over River's, in the same run.", fmtInt(float64(o.ReplayRiverCap))),
			"**Longest transaction** (Sluice): its connections carry an application_name, and a probe samples `pg_stat_activity` every 2 ms for the age of their open transaction (a lower bound: a transaction shorter than the gap between samples may be missed or cut short). Afterwards each batch's start is read back from `replayed_at`, which holds the transaction's `now()`: a batch's transaction lasts at most until the next batch starts (the last until ReplayMany returns), which gives an upper bound that also counts the client's time between batches.",
		}}
	systems := deadLetterSystems()
	for _, size := range o.ReplaySizes {
		var picked []DeadLetterSystem
		for _, sys := range systems {
			if sys.Name == sysSluice || o.systemAllowed(sys.Name) {
				picked = append(picked, sys)
			}
		}
		m := matrix{}
		var notes []string
		for run := range o.Runs {
			for k := range picked {
				sys := picked[(k+run)%len(picked)]
				env.logf("replay %d: run %d/%d %s", size, run+1, o.Runs, sys.Name)
				values, err := replayOnce(ctx, env, sys, size)
				if err != nil {
					notes = append(notes, fmt.Sprintf("%s run %d failed: %v", sys.Name, run+1, err))
					env.logf("replay %d: %s FAILED: %v", size, sys.Name, err)
				} else {
					env.logf("replay %d: run %d %s: %s", size, run+1, sys.Name, formatValues(values))
				}
				m.record(sys.Name, run, o.Runs, values)
			}
		}
		var rows []*Row
		var base *Row
		for _, sys := range picked {
			label := sys.Name
			if sys.Name != sysSluice && size > o.ReplayRiverCap {
				label += fmt.Sprintf(" * (%s of %s timed)", fmtInt(float64(o.ReplayRiverCap)), fmtInt(float64(size)))
			}
			r := newRow(label, m[sys.Name], base)
			if base == nil {
				base = r
				r.Base = r
			}
			rows = append(rows, r)
		}
		s.Tables = append(s.Tables, &Table{Caption: fmt.Sprintf("**%s entries.**", fmtInt(float64(size))), Columns: []Column{
			{Header: "entries/s", Metric: "rate", Format: fmtInt},
			{Header: "time for all", Metric: "time", Format: fmtSec},
			{Header: "speedup (Sluice/peer)", Metric: "rate", Ratio: true},
			{Header: "longest tx, sampled (≥)", Metric: "txSampled", Format: fmtMs},
			{Header: "longest tx, bound (≤)", Metric: "txBound", Format: fmtMs},
			{Header: "transactions", Metric: "batches", Format: fmtInt},
		}, Rows: rows})
		s.Notes = append(s.Notes, notes...)
		if len(rows) > 1 && size == o.ReplaySizes[0] {
			s.Targets = append(s.Targets, ratioTarget(fmt.Sprintf("bulk replay of %s ≥ 20× River's JobRetry loop", fmtInt(float64(size))), rows[1].ratioOf("rate"), 20, false, "faster"))
		}
		bound := base.summaryOf("txBound")
		s.Targets = append(s.Targets, TargetResult{Target: fmt.Sprintf("bulk replay of %s: no transaction longer than 1 s", fmtInt(float64(size))),
			Pass: bound.N > 0 && bound.Max <= 1000, Missing: bound.N == 0,
			Measured: fmt.Sprintf("longest ≤ %s over all runs (sampled ≥ %s)", fmtMs(bound.Max), fmtMs(base.summaryOf("txSampled").Max))})
	}
	return s
}

// replayOnce loads size entries into a fresh database of sys and times their replay.
func replayOnce(ctx context.Context, env *Env, sys DeadLetterSystem, size int) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, phaseTimeout)
	defer cancel()
	d, err := sys.Open(ctx, env, replayAppName)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	defer d.Close(context.Background())
	if err := d.Load(ctx, size, 1, 1); err != nil {
		return nil, err
	}
	if err := d.PrepareReplay(ctx, min(size, env.opts.ReplayRiverCap)); err != nil {
		return nil, err
	}
	if err := env.quiesce(ctx); err != nil {
		return nil, err
	}
	sampler := watchTransactions(env.admin, replayAppName)
	start := time.Now()
	replayed, err := d.Replay(ctx)
	elapsed := time.Since(start)
	longest := sampler.stop()
	if err != nil {
		return nil, err
	}
	rate := float64(replayed) / elapsed.Seconds()
	values := map[string]float64{"rate": rate, "time": float64(size) / rate}
	sl, ok := d.(*sluiceDLQ)
	if !ok {
		return values, nil
	}
	if replayed != size {
		return nil, fmt.Errorf("replayed %d of %d entries", replayed, size)
	}
	batches, end, err := sl.replayBatches(ctx)
	if err != nil {
		return nil, err
	}
	var bound time.Duration
	for i, b := range batches {
		next := end
		if i+1 < len(batches) {
			next = batches[i+1].start
		}
		bound = max(bound, next.Sub(b.start))
	}
	values["txSampled"] = ms(longest)
	values["txBound"] = ms(bound)
	values["batches"] = float64(len(batches))
	return values, nil
}

// txWatcher samples the age of the oldest open transaction of the connections with one
// application_name.
type txWatcher struct {
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	longest time.Duration
}

func watchTransactions(pool *pgxpool.Pool, appName string) *txWatcher {
	ctx, cancel := context.WithCancel(context.Background())
	w := &txWatcher{cancel: cancel}
	w.wg.Go(func() {
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			var age float64
			if err := pool.QueryRow(ctx, q.get("OpenTransactionAge"), appName).Scan(&age); err == nil {
				w.longest = max(w.longest, time.Duration(age*float64(time.Second)))
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
	return w
}

// stop ends the sampling and returns the longest transaction age seen.
func (w *txWatcher) stop() time.Duration {
	w.cancel()
	w.wg.Wait()
	return w.longest
}
