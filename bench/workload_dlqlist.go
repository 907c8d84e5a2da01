package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"
)

// dlqPage is the page size of every DLQ listing.
const dlqPage = 100

// dlqShape is one kind of listing query.
type dlqShape struct {
	name  string
	byApp bool
	walk  bool // follow cursors page after page, so that depths spread evenly; else first pages
}

var dlqShapes = []dlqShape{
	{name: "by app, first page", byApp: true},
	{name: "by type, first page"},
	{name: "by app, walking every page with cursors", byApp: true, walk: true},
	{name: "by type, walking every page with cursors", walk: true},
}

// dlqListWorkload is issue 5's workload 5: a page of 100 by app and by type among many dead
// entries, and Sluice's query plans for it.
func dlqListWorkload(ctx context.Context, env *Env) *Section {
	o := env.opts
	s := &Section{Title: fmt.Sprintf("5. DLQ listing: a page of %d by app and by type among %s entries", dlqPage, fmtInt(float64(o.DLQEntries))),
		About: []string{fmt.Sprintf("%s dead entries are loaded straight into the tables (Sluice: COPY into `job_dlq`, UUIDv7 ids one second apart; River: discarded `river_job` rows from one INSERT … SELECT), spread evenly over %d apps (River: queues) and %d types (kinds), then VACUUM ANALYZE. Each run times %d queries per shape through each library's API: first pages of a random app or type, and a walk that follows the cursors page after page (so every depth is timed, from the newest entries to the oldest), moving to the next app or type at the end. Latency is per call, client side, including every round trip the API makes (Sluice's ByApp, given the app's id, asks for the app only when the page comes back empty).",
			fmtInt(float64(o.DLQEntries)), o.DLQApps, o.DLQTypes, o.DLQQueries)}}
	var dls []DeadLetters
	systems := deadLetterSystems()
	defer func() {
		for _, d := range dls {
			d.Close(context.Background())
		}
	}()
	for _, sys := range systems {
		if sys.Name != sysSluice && !env.opts.systemAllowed(sys.Name) {
			continue
		}
		env.logf("dlqlist: loading %s entries into %s", fmtInt(float64(o.DLQEntries)), sys.Name)
		start := time.Now()
		d, err := sys.Open(ctx, env, "sluicebench-dlq")
		if err == nil {
			err = d.Load(ctx, o.DLQEntries, o.DLQApps, o.DLQTypes)
		}
		if err != nil {
			s.Err = fmt.Errorf("%s: %w", sys.Name, err)
			return s
		}
		s.Notes = append(s.Notes, fmt.Sprintf("%s: loaded and analyzed in %s (setup, untimed).", sys.Name, time.Since(start).Round(time.Second/10)))
		dls = append(dls, d)
	}
	values := make([]map[string]map[string][]float64, len(dls)) // system → shape → metric → runs
	for i := range values {
		values[i] = map[string]map[string][]float64{}
	}
	for run := range o.Runs {
		for k := range dls {
			i := (k + run) % len(dls)
			for _, shape := range dlqShapes {
				env.logf("dlqlist: run %d/%d %s %s", run+1, o.Runs, systems[i].Name, shape.name)
				lat, err := timeListings(ctx, dls[i], shape, run, env)
				if err != nil {
					s.Notes = append(s.Notes, fmt.Sprintf("%s %s run %d failed: %v", systems[i].Name, shape.name, run+1, err))
					continue
				}
				m := values[i][shape.name]
				if m == nil {
					m = map[string][]float64{"p50": nanSlice(o.Runs), "p99": nanSlice(o.Runs)}
					values[i][shape.name] = m
				}
				m["p50"][run], m["p99"][run] = ms(percentile(lat, 50)), ms(percentile(lat, 99))
			}
		}
	}
	table := &Table{Columns: []Column{
		{Header: "p50", Metric: "p50", Format: fmtMs},
		{Header: "p99", Metric: "p99", Format: fmtMs},
		{Header: "Sluice/peer (p99; < 1 is better)", Metric: "p99", Ratio: true},
	}}
	for _, shape := range dlqShapes {
		var base *Row
		for i := range dls {
			r := newRow(systems[i].Name+" · "+shape.name, values[i][shape.name], base)
			if i == 0 {
				base = r
				r.Base = r
			}
			table.Rows = append(table.Rows, r)
		}
		p99 := base.summaryOf("p99")
		s.Targets = append(s.Targets, TargetResult{Target: "DLQ listing p99 ≤ 2 ms: " + shape.name,
			Pass: p99.N > 0 && p99.Median <= 2, Missing: p99.N == 0,
			Measured: fmt.Sprintf("%s (runs %s–%s)", fmtMs(p99.Median), fmtMs(p99.Min), fmtMs(p99.Max))})
	}
	s.Tables = append(s.Tables, table)
	if sl, ok := dls[0].(*sluiceDLQ); ok {
		extra, notes, err := explainSluice(ctx, env, sl)
		if err != nil {
			s.Notes = append(s.Notes, fmt.Sprintf("EXPLAIN failed: %v", err))
		}
		s.Notes = append(s.Notes, notes...)
		s.Extra = extra
	}
	return s
}

// timeListings times DLQQueries listings of one shape and returns their latencies, sorted.
func timeListings(ctx context.Context, d DeadLetters, shape dlqShape, run int, env *Env) ([]time.Duration, error) {
	o := env.opts
	keys := o.DLQTypes
	if shape.byApp {
		keys = o.DLQApps
	}
	rng := rand.New(rand.NewPCG(uint64(run), 5))
	lat := make([]time.Duration, 0, o.DLQQueries)
	key, cursor := run%keys, ""
	for range o.DLQQueries {
		if !shape.walk {
			key = rng.IntN(keys)
		}
		start := time.Now()
		next, items, err := d.List(ctx, shape.byApp, key, dlqPage, cursor)
		lat = append(lat, time.Since(start))
		if err != nil {
			return nil, err
		}
		if items == 0 && cursor == "" {
			return nil, errors.New("the first page is empty")
		}
		if shape.walk {
			cursor = next
			if next == "" {
				key = (key + 1) % keys
			}
		}
	}
	slices.Sort(lat)
	return lat, nil
}

// Plan features the DLQ target asks about.
var (
	sortNode  = regexp.MustCompile(`(?m)^\s*(->\s+)?(Incremental )?Sort\b`)
	indexScan = regexp.MustCompile(`(Index|Index Only|Bitmap Index) Scan(?: Backward)? (?:using|on) (\S+)`)
	seqScan   = regexp.MustCompile(`Seq Scan on`)
)

// explainSluice prints the plans of Sluice's ByApp and ByType queries, first page and deep
// cursor, and says whether they sort and which indexes they use.
func explainSluice(ctx context.Context, env *Env, d *sluiceDLQ) (string, []string, error) {
	path := env.opts.LibraryQueries
	if env.libraryQueriesErr != nil {
		return "", nil, env.libraryQueriesErr
	}
	byApp, err := libraryQuery(env.libraryQueries, path, "ListDeadByApp")
	if err != nil {
		return "", nil, err
	}
	byType, err := libraryQuery(env.libraryQueries, path, "ListDeadByType")
	if err != nil {
		return "", nil, err
	}
	depth := env.opts.DLQEntries / max(env.opts.DLQApps, env.opts.DLQTypes) / 2
	var b strings.Builder
	var notes []string
	if now, err := os.ReadFile(path); err == nil && !bytes.Equal(now, env.libraryQueries) {
		notes = append(notes, fmt.Sprintf("%s changed while the suite ran: the plans are of its text when the suite started, nearest the library the suite was built with.", path))
	}
	b.WriteString("Sluice's query plans: `ListDeadByApp` and `ListDeadByType` as read from " + path + " when the suite started, run as the store runs them (a one-off plan, `pgx.QueryExecModeExec`) with ByApp's and ByType's arguments, for a page of 100 (the query fetches 101). Each finds the page's ids in its partial index, then reads those rows by primary key (`job_dlq_pkey`):\n\n")
	for _, c := range []struct {
		byApp bool
		depth int
		index string
	}{{true, 0, "idx_job_dlq_app"}, {false, 0, "idx_job_dlq_type"}, {true, depth, "idx_job_dlq_app"}, {false, depth, "idx_job_dlq_type"}} {
		query := byType
		if c.byApp {
			query = byApp
		}
		plan, err := d.explain(ctx, query, c.byApp, 0, dlqPage, c.depth)
		if err != nil {
			return b.String(), notes, err
		}
		what := "ByType(type-0"
		if c.byApp {
			what = "ByApp(app-0"
		}
		if c.depth > 0 {
			what += fmt.Sprintf(", cursor %s entries deep)", fmtInt(float64(c.depth)))
		} else {
			what += ", first page)"
		}
		var used []string
		for _, m := range indexScan.FindAllStringSubmatch(plan, -1) {
			used = append(used, m[2])
		}
		// The page is found on the partial index alone; the primary key then only fetches
		// the page's rows.
		onlyPartial := slices.Contains(used, c.index) && !seqScan.MatchString(plan)
		for _, u := range used {
			onlyPartial = onlyPartial && (u == c.index || u == "job_dlq_pkey")
		}
		notes = append(notes, fmt.Sprintf("Plan of %s: Sort node: **%s**; indexes used: %s; the page found on the partial index %s alone: **%s**.",
			what, yesNo(sortNode.MatchString(plan)), strings.Join(used, ", "), c.index, yesNo(onlyPartial)))
		fmt.Fprintf(&b, "%s:\n\n```\n%s\n```\n\n", what, plan)
	}
	return b.String(), notes, nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
