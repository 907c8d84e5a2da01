// Command bench is Sluice's benchmark suite (issue 5): Sluice against River and Asynq, side
// by side on one machine, one PostgreSQL and one Redis, in one run.
//
//	cd bench && go run . -runs 3 -out results.md     # or: make bench (from the repository root)
//	cd bench && go run . -quick                      # every workload on small sizes
//
// Every workload sets each system up in a database of its own (a fresh PostgreSQL schema,
// dropped after; a flushed Redis DB for Asynq; a fresh SQLite file), measures each system in
// every run, and reports each figure as the median over the runs with the min–max range, and
// the ratio Sluice/peer computed within each run. The Markdown report goes to stdout and to
// -out; progress goes to stderr.
//
// This is its own Go module, so that the library never depends on its peers.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// workloadFuncs maps each workload's name to the function that runs it.
var workloadFuncs = map[string]func(context.Context, *Env) *Section{
	"drain":      drainWorkload,
	"steady":     steadyWorkload,
	"latency":    latencyWorkload,
	"deadletter": deadLetterWorkload,
	"dlqlist":    dlqListWorkload,
	"replay":     replayWorkload,
	"sqlite":     sqliteWorkload,
	"memory":     memoryWorkload,
}

func main() {
	opts, err := parseOptions(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if opts.workerSystem != "" {
		if err := runWorkerProcess(ctx, opts); err != nil {
			fmt.Fprintln(os.Stderr, "bench worker:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(ctx, opts); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// run runs the selected workloads and writes the report.
func run(ctx context.Context, opts *Options) error {
	env, err := newEnv(ctx, opts)
	if err != nil {
		return err
	}
	defer env.Close()
	machine := env.describeMachine(ctx)
	var sections []*Section
	failed := 0
	for _, name := range allWorkloads {
		if !opts.workloadSelected(name) || ctx.Err() != nil {
			continue
		}
		env.logf("=== %s", name)
		s := workloadFuncs[name](ctx, env)
		if s.Err != nil {
			failed++
			env.logf("%s failed: %v", name, s.Err)
		}
		sections = append(sections, s)
		if opts.Out != "" { // the report so far, in case a later workload is interrupted
			if err := os.WriteFile(opts.Out, []byte(renderReport(env, machine, sections)), 0o644); err != nil {
				return err
			}
		}
	}
	report := renderReport(env, machine, sections)
	fmt.Print(report)
	if opts.Out != "" {
		if err := os.WriteFile(opts.Out, []byte(report), 0o644); err != nil {
			return err
		}
		env.logf("report written to %s", opts.Out)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if failed > 0 {
		return fmt.Errorf("%d workload(s) failed; see the report", failed)
	}
	return nil
}

// renderReport writes the whole Markdown report: the machine, the method, the peers'
// configurations, every workload's section and the targets.
func renderReport(env *Env, m Machine, sections []*Section) string {
	var b strings.Builder
	opts := env.opts
	b.WriteString("# Sluice vs River and Asynq: benchmark results\n\n")
	fmt.Fprintf(&b, "Generated %s by `cd bench && go run . %s` (%d run(s) per figure; total %s).\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), strings.Join(os.Args[1:], " "), opts.Runs, time.Since(env.start).Round(time.Second))
	b.WriteString("## Machine\n\n")
	fmt.Fprintf(&b, "- CPU: %s, %d cores; RAM %.1f GiB; Linux %s\n", m.CPU, m.Cores, m.MemGiB, m.Kernel)
	fmt.Fprintf(&b, "- PostgreSQL: %s (same machine; %s)\n", m.Postgres, m.PGSettings)
	fmt.Fprintf(&b, "- Redis %s (same machine), Go %s\n", m.Redis, m.Go)
	fmt.Fprintf(&b, "- Sluice built from ../ at %s; River v0.51.2 (riverpgxv5, riversqlite), Asynq v0.26.0\n\n", m.Tree)
	b.WriteString("## Method\n\n")
	for _, line := range []string{
		"Same machine, same PostgreSQL server and database, same Redis; every system gets a database of its own for every run (fresh schema, dropped after; flushed Redis DB; fresh SQLite file in the same file system as PostgreSQL's data).",
		"Same payload on every system: the JSON object `{\"n\":N,\"t\":T}` (job number, enqueue time), encoded by each library. Handlers are no-ops (they count calls) unless a workload says otherwise. Every system runs with its logging discarded.",
		"Each system has an inserting client and a working client (separate pools) in the bench process, as an application with producers and workers would; SQLite systems use one client for both, the embedded shape.",
		"Warm-up is excluded from timing: set-up, migrations, the bulk insert, connection warm-up and a CHECKPOINT happen before the clock starts; throughput workloads give every system one untimed warm-up drain first; steady and latency have an untimed warm-up period.",
		fmt.Sprintf("Each run measures every system, in an order rotated every run; each figure is the median over %d run(s) with the min–max range, and each ratio Sluice/peer is computed within a run, then its median taken.", opts.Runs),
		"Durable means written: a drain or dead-letter phase ends when every handler has run and the database (Redis for Asynq) shows no job pending or running. Outcome counts are verified after each phase.",
		fmt.Sprintf("Before each measured phase the suite waits (up to %s) until the machine is idle (under %.0f %% of one core busy over %s), since other processes may share it; %d phase(s) of this run started on a busy machine anyway.", env.opts.QuietWait, 100*quietBusy, quietWindow, env.busyPhases),
	} {
		b.WriteString("- " + line + "\n")
	}
	b.WriteString("\n## Systems\n\n| system | configuration |\n|---|---|\n")
	for _, s := range systems() {
		fmt.Fprintf(&b, "| %s | %s |\n", s.Name, s.Config)
	}
	b.WriteString("\n")
	for _, s := range sections {
		b.WriteString(s.markdown())
	}
	b.WriteString(targetsMarkdown(sections))
	return b.String()
}
