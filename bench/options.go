package main

import (
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Options are the command line: where the servers are, which workloads and systems run,
// how often, and every workload's size. The defaults are issue 5's sizes; -quick shrinks
// every size not set explicitly, for a smoke test.
type Options struct {
	PostgresURL string
	RedisAddr   string
	RedisDB     int
	Runs        int
	Out         string
	Quick       bool
	Workloads   []string
	Systems     []string // empty: every system
	CPUProfile  string
	QuietWait   time.Duration
	// LibraryQueries is Sluice's queries.sql, whose DLQ listing queries the dlqlist workload explains.
	LibraryQueries string

	WarmupJobs            int
	DrainJobs             int
	SteadyDuration        time.Duration
	SteadyWarmup          time.Duration
	SteadyBatchSize       int
	SteadyBatchProducers  int
	SteadySingleProducers int
	LatencyRate           int
	LatencyDuration       time.Duration
	LatencyWarmup         time.Duration
	DeadJobs              int
	DLQEntries            int
	DLQQueries            int
	DLQApps               int
	DLQTypes              int
	ReplaySizes           []int
	ReplayRiverCap        int
	SQLiteJobs            int
	MemoryJobs            int

	// Worker mode: the memory workload's child process.
	workerSystem   string
	workerDatabase string
	workerJobs     int
}

// allWorkloads lists the workloads in report order.
var allWorkloads = []string{"drain", "steady", "latency", "deadletter", "dlqlist", "replay", "sqlite", "memory"}

// parseOptions reads the command line.
func parseOptions(args []string) (*Options, error) {
	o := &Options{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&o.PostgresURL, "pg", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL `URL`: every system gets a fresh schema in this database, dropped after")
	fs.StringVar(&o.RedisAddr, "redis", "127.0.0.1:6379", "Redis `address` for Asynq")
	fs.IntVar(&o.RedisDB, "redis-db", 5, "Redis DB `index` for Asynq, flushed before each run")
	fs.IntVar(&o.Runs, "runs", 3, "measured runs of every workload; each figure is the median with the min–max range")
	fs.StringVar(&o.Out, "out", "results.md", "write the Markdown report to this `file` too (empty: stdout only)")
	fs.BoolVar(&o.Quick, "quick", false, "small sizes for a smoke test (sizes set explicitly still win)")
	workloads := fs.String("workloads", strings.Join(allWorkloads, ","), "comma-separated `list` of workloads: "+strings.Join(allWorkloads, ", "))
	sys := fs.String("systems", "", "comma-separated `list` of peer systems to run (Sluice always runs); empty: all. Names: "+strings.Join(systemNames(), ", "))
	fs.DurationVar(&o.QuietWait, "quiet-wait", 5*time.Second, "before each measured phase, wait up to this long for the machine to be idle")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of Sluice's first measured drain (working phase) to `file`")
	fs.StringVar(&o.LibraryQueries, "library-queries", "../store/pgstore/queries.sql", "Sluice's PostgreSQL queries `file`, whose DLQ listing queries the dlqlist workload explains")

	fs.IntVar(&o.WarmupJobs, "warmup-jobs", 2000, "jobs in the untimed warm-up drain every system gets before a workload's first run")
	fs.IntVar(&o.DrainJobs, "drain-jobs", 100_000, "drain: jobs inserted, then worked")
	fs.DurationVar(&o.SteadyDuration, "steady-duration", 30*time.Second, "steady: measured window")
	fs.DurationVar(&o.SteadyWarmup, "steady-warmup", 3*time.Second, "steady: untimed warm-up before the window")
	fs.IntVar(&o.SteadyBatchSize, "steady-batch", 100, "steady: jobs per batch in the batch shape")
	fs.IntVar(&o.SteadyBatchProducers, "steady-batch-producers", 2, "steady: producers of batches")
	fs.IntVar(&o.SteadySingleProducers, "steady-single-producers", 16, "steady: producers of single inserts")
	fs.IntVar(&o.LatencyRate, "latency-rate", 200, "latency: jobs per second")
	fs.DurationVar(&o.LatencyDuration, "latency-duration", 20*time.Second, "latency: measured window")
	fs.DurationVar(&o.LatencyWarmup, "latency-warmup", 2*time.Second, "latency: untimed warm-up at the same rate")
	fs.IntVar(&o.DeadJobs, "dead-jobs", 10_000, "deadletter: always-failing jobs with max attempts 1")
	fs.IntVar(&o.DLQEntries, "dlq-entries", 1_000_000, "dlqlist: dead entries loaded")
	fs.IntVar(&o.DLQQueries, "dlq-queries", 1000, "dlqlist: timed queries per shape and run")
	fs.IntVar(&o.DLQApps, "dlq-apps", 10, "dlqlist: apps the entries are spread over")
	fs.IntVar(&o.DLQTypes, "dlq-types", 10, "dlqlist: job types the entries are spread over")
	replay := fs.String("replay-sizes", "10000,100000", "replay: comma-separated entry counts")
	fs.IntVar(&o.ReplayRiverCap, "replay-river-cap", 20_000, "replay: River's per-job JobRetry loop retries at most this many entries per run; its rate is extrapolated past it")
	fs.IntVar(&o.SQLiteJobs, "sqlite-jobs", 20_000, "sqlite: jobs drained")
	fs.IntVar(&o.MemoryJobs, "memory-jobs", 100_000, "memory: jobs drained by the child worker process")

	fs.StringVar(&o.workerSystem, "worker", "", "internal: run as the memory workload's worker process for this system")
	fs.StringVar(&o.workerDatabase, "worker-db", "", "internal: the worker's database")
	fs.IntVar(&o.workerJobs, "worker-jobs", 0, "internal: jobs the worker waits for")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.Quick {
		o.applyQuick(set)
	}
	o.Workloads = splitList(*workloads)
	for _, w := range o.Workloads {
		if !slices.Contains(allWorkloads, w) {
			return nil, fmt.Errorf("-workloads: no workload %q (have %s)", w, strings.Join(allWorkloads, ", "))
		}
	}
	o.Systems = splitList(*sys)
	for _, s := range o.Systems {
		if !slices.Contains(systemNames(), s) {
			return nil, fmt.Errorf("-systems: no system named %q (have %s)", s, strings.Join(systemNames(), ", "))
		}
	}
	if o.ReplaySizes == nil {
		for _, s := range splitList(*replay) {
			n, err := strconv.Atoi(s)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("-replay-sizes: %q is not a positive count", s)
			}
			o.ReplaySizes = append(o.ReplaySizes, n)
		}
	}
	if o.Runs < 1 {
		return nil, fmt.Errorf("-runs must be at least 1")
	}
	return o, nil
}

// applyQuick shrinks every size the command line did not set.
func (o *Options) applyQuick(set map[string]bool) {
	quick := map[string]func(){
		"runs":             func() { o.Runs = 1 },
		"warmup-jobs":      func() { o.WarmupJobs = 200 },
		"drain-jobs":       func() { o.DrainJobs = 5000 },
		"steady-duration":  func() { o.SteadyDuration = 3 * time.Second },
		"steady-warmup":    func() { o.SteadyWarmup = time.Second },
		"latency-duration": func() { o.LatencyDuration = 3 * time.Second },
		"latency-warmup":   func() { o.LatencyWarmup = 500 * time.Millisecond },
		"dead-jobs":        func() { o.DeadJobs = 1000 },
		"dlq-entries":      func() { o.DLQEntries = 20_000 },
		"dlq-queries":      func() { o.DLQQueries = 100 },
		"replay-sizes":     func() { o.ReplaySizes = []int{1000, 5000} },
		"replay-river-cap": func() { o.ReplayRiverCap = 2000 },
		"sqlite-jobs":      func() { o.SQLiteJobs = 2000 },
		"memory-jobs":      func() { o.MemoryJobs = 5000 },
	}
	for name, apply := range quick {
		if !set[name] {
			apply()
		}
	}
}

// systemAllowed says whether -systems lets a peer run.
func (o *Options) systemAllowed(name string) bool {
	return len(o.Systems) == 0 || slices.Contains(o.Systems, name)
}

// workloadSelected says whether -workloads names a workload.
func (o *Options) workloadSelected(name string) bool { return slices.Contains(o.Workloads, name) }

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// systemNames lists the names -systems takes: the queue systems and the DLQ workloads' peers.
func systemNames() []string {
	var names []string
	for _, s := range systems() {
		names = append(names, s.Name)
	}
	for _, s := range deadLetterSystems() {
		if !slices.Contains(names, s.Name) {
			names = append(names, s.Name)
		}
	}
	return names
}
