package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/httpapi"
	"github.com/sluicehq/sluice/metrics"
	"github.com/sluicehq/sluice/webui"
)

// The demo's tenants and job types. One type always succeeds, one fails now and then (and
// mostly recovers on a retry), one always fails and so fills the dead-letter queue.
var (
	demoApps  = []string{"acme", "globex", "initech"}
	demoTypes = []demoType{
		{name: "email.send", opts: sluice.TypeOptions{MaxAttempts: 3}, fail: func(*rand.Rand, *sluice.Job) error { return nil }},
		{name: "image.resize", opts: sluice.TypeOptions{MaxAttempts: 3, Backoff: sluice.ExponentialBackoff(200*time.Millisecond, 2*time.Second)},
			fail: func(r *rand.Rand, job *sluice.Job) error {
				if r.IntN(4) == 0 {
					return fmt.Errorf("image decoder: unexpected EOF at byte %d", 1024+r.IntN(60000))
				}
				return nil
			}},
		{name: "invoice.charge", opts: sluice.TypeOptions{MaxAttempts: 2, Backoff: func(int) time.Duration { return 100 * time.Millisecond }},
			fail: func(r *rand.Rand, job *sluice.Job) error {
				return fmt.Errorf("card declined: insufficient funds (issuer code 51, attempt %d)", job.Attempts)
			}},
	}
)

type demoType struct {
	name string
	opts sluice.TypeOptions
	fail func(r *rand.Rand, job *sluice.Job) error
}

func (c *cli) demoCommand() *cobra.Command {
	var duration time.Duration
	var rate int
	var addr string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a live showcase: apps, job types, a stream of jobs, workers and a summary",
		Long: `Runs Sluice end to end on the configured database (by default the embedded SQLite file
./sluice.db, created and migrated when new; an existing database is reused). It creates the
apps acme, globex and initech, registers three job types — email.send always succeeds,
image.resize fails now and then and mostly recovers on a retry, invoice.charge always fails —
enqueues a stream of jobs, runs workers, and shows per app and type how many are done,
retrying and dead-lettered. Dead-letter entries appear within seconds: look at them with
'sluice dlq list', replay them with 'sluice dlq replay'.

While it runs it also serves what 'sluice serve' serves — the web UI, the HTTP API and
/metrics — on --addr (default ` + defaultAddr + `; "off" to not serve), with a fresh admin
token it prints on stderr ("Web UI: http://ADDR  (token: sluice_…)") and revokes when it
stops. If the port is taken, it says so and runs without serving.

On a terminal the summary redraws in place; otherwise it prints plain lines. It runs until
--duration passes or it is interrupted (Ctrl-C), then stops its workers gracefully and exits 0.
With --json it prints only the final counts, as one JSON document.`,
		Example: "  sluice demo\n  sluice demo --duration 30s --addr off\n  sluice demo --database-url postgres://localhost/sluice",
		Args:    cobra.NoArgs,
		RunE: c.runE(func(cmd *cobra.Command, _ []string) error {
			if duration < 0 {
				return usagef("--duration: must not be negative, got %s", duration)
			}
			if rate < 1 || rate > 10000 {
				return usagef("--rate: must be between 1 and 10000 jobs per second, got %d", rate)
			}
			if addr != "off" {
				if err := checkAddr(addr); err != nil {
					return err
				}
			}
			return c.runDemo(cmd.Context(), duration, rate, addr)
		}),
	}
	cmd.Flags().DurationVar(&duration, "duration", 0, "stop by itself after this long (0: run until interrupted)")
	cmd.Flags().IntVar(&rate, "rate", 20, "jobs enqueued per second")
	cmd.Flags().StringVar(&addr, "addr", defaultAddr, `serve the web UI and API here while the demo runs ("off": do not)`)
	return cmd
}

func (c *cli) runDemo(ctx context.Context, duration time.Duration, rate int, addr string) error {
	url, err := c.resolveDatabaseURL()
	if err != nil {
		return err
	}
	st, err := sluice.OpenStore(ctx, url)
	if err != nil {
		return c.openError(url, err)
	}
	defer st.Close()
	m := metrics.New(st, nil)
	client, err := sluice.NewClient(st, &sluice.Config{
		Queues:       map[string]sluice.QueueConfig{"default": {Concurrency: 20}},
		PollInterval: 200 * time.Millisecond,
		Observer:     m.Observer(),
	})
	if err != nil {
		return err
	}
	defer client.Close(context.WithoutCancel(ctx))
	if _, err := client.Store().MigrateUp(ctx); err != nil {
		return err
	}
	c.newDefault = false
	appNames := map[string]string{} // id -> name
	var appIDs []string
	for _, name := range demoApps {
		app, err := client.GetApp(ctx, name)
		if errors.Is(err, sluice.ErrNotFound) {
			app, err = client.CreateApp(ctx, name)
		}
		if err != nil {
			return err
		}
		appNames[app.ID.String()] = name
		appIDs = append(appIDs, app.ID.String())
	}
	for _, t := range demoTypes {
		rng := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
		sluice.Handle(client, t.name, func(ctx context.Context, job *sluice.Job, _ map[string]any) error {
			select { // the work itself
			case <-time.After(time.Duration(5+rng.IntN(40)) * time.Millisecond):
			case <-ctx.Done():
				return ctx.Err()
			}
			return t.fail(rng, job)
		}, &t.opts)
	}
	if err := client.Start(ctx); err != nil {
		return err
	}
	if addr != "off" {
		stopServing, err := c.demoServe(ctx, client, m, addr)
		if err != nil {
			return err
		}
		defer stopServing()
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	if duration > 0 {
		runCtx, stop = context.WithTimeout(ctx, duration)
		defer stop()
	}
	d := &demoDisplay{c: c, client: client, url: maskURL(url), names: appNames, started: time.Now(), duration: duration,
		live: !c.json && isTerminal(c.stdout)}
	enqueueErr := make(chan error, 1)
	go func() { enqueueErr <- demoProducer(runCtx, client, appIDs, rate) }()

	tick := time.NewTicker(d.interval())
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-runCtx.Done():
			done = true
		case err := <-enqueueErr:
			if err != nil && runCtx.Err() == nil {
				return fmt.Errorf("enqueueing demo jobs: %w", err)
			}
		case <-tick.C:
			if !c.json {
				if err := d.show(ctx, false); err != nil {
					return err
				}
			}
		}
	}
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := client.Stop(stopCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if c.json {
		stats, err := d.stats(context.WithoutCancel(ctx))
		if err != nil {
			return err
		}
		return c.printJSON(stats)
	}
	if err := d.show(context.WithoutCancel(ctx), true); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "\nThe database is kept. Next:\n  sluice dlq list%s\n  sluice dlq replay --type invoice.charge --dry-run%s\n"+
		"  sluice tokens create --admin%s && sluice serve%s    (the web UI and API)\n",
		d.urlFlag(), d.urlFlag(), d.urlFlag(), d.urlFlag())
	return nil
}

// demoServe serves the web UI, the API and /metrics on addr with a fresh admin token, which
// it prints. A port that is taken is not an error: the demo says so and runs without
// serving. The returned function stops serving and revokes the token.
func (c *cli) demoServe(ctx context.Context, client *sluice.Client, m *metrics.Metrics, addr string) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		c.notice("Web UI: not served: cannot listen on %s (%v); the demo runs without it (see --addr).", addr, err)
		return func() {}, nil
	}
	tok, secret, err := client.CreateToken(ctx, sluice.TokenParams{Name: "demo"})
	if err != nil {
		ln.Close()
		return nil, err
	}
	srv := &http.Server{
		Handler:           httpapi.New(client, httpapi.Options{Metrics: m.Handler(), UI: webui.Handler()}),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln) // ends with ErrServerClosed when stopped
	}()
	c.notice("Web UI: http://%s  (token: %s)", ln.Addr(), secret)
	return func() {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		srv.Shutdown(stopCtx)
		<-done
		client.RevokeToken(stopCtx, tok.ID) // the token dies with the demo; a failure leaves it listed
	}, nil
}

// demoTags are the tags demo jobs carry, so that tag filters have something to find.
var demoTags = [][]string{nil, {"region:eu"}, {"region:us"}, {"region:eu", "vip"}}

// demoProducer enqueues rate jobs per second in batches of a tenth of a second, spread over
// the apps and types. The first batch holds one job of every app and type.
func demoProducer(ctx context.Context, client *sluice.Client, appIDs []string, rate int) error {
	rng := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var batch []sluice.NewJob
	for _, app := range appIDs {
		for _, t := range demoTypes {
			batch = append(batch, sluice.NewJob{App: app, Type: t.name, Payload: map[string]int{"n": len(batch)}, Tags: []string{"first-batch"}})
		}
	}
	carry := 0.0
	for n := 0; ; n++ {
		if len(batch) > 0 {
			if _, err := client.EnqueueMany(ctx, batch); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		carry += float64(rate) / 10
		batch = batch[:0]
		for ; carry >= 1; carry-- {
			t := demoTypes[rng.IntN(len(demoTypes))]
			batch = append(batch, sluice.NewJob{App: appIDs[rng.IntN(len(appIDs))], Type: t.name, Payload: map[string]int{"n": n},
				Tags: demoTags[rng.IntN(len(demoTags))]})
		}
	}
}

// demoDisplay draws the demo's summary.
type demoDisplay struct {
	c        *cli
	client   *sluice.Client
	url      string
	names    map[string]string // app id -> name
	started  time.Time
	duration time.Duration
	live     bool // redraw in place on a terminal
	lines    int  // lines drawn last time, to redraw over
}

// demoRow is one app and type's counts, as the demo shows and prints them with --json.
type demoRow struct {
	App      string `json:"app"`
	Type     string `json:"type"`
	Done     int64  `json:"done"`
	Running  int64  `json:"running"`
	Pending  int64  `json:"pending"`
	Retrying int64  `json:"retrying"`
	Dead     int64  `json:"dead"`
}

func (d *demoDisplay) interval() time.Duration {
	if d.live {
		return 250 * time.Millisecond
	}
	return 2 * time.Second
}

func (d *demoDisplay) urlFlag() string {
	if d.url == "sqlite:"+defaultDatabaseFile {
		return ""
	}
	return " --database-url '" + d.url + "'"
}

// stats returns the demo apps' counts, ordered by app then type.
func (d *demoDisplay) stats(ctx context.Context) ([]demoRow, error) {
	all, err := d.client.Stats(ctx)
	if err != nil {
		return nil, err
	}
	var rows []demoRow
	for _, s := range all {
		name, ok := d.names[s.AppID.String()]
		if !ok {
			continue
		}
		rows = append(rows, demoRow{App: name, Type: s.Type, Done: s.Completed, Running: s.Running,
			Pending: s.Pending, Retrying: s.Retrying, Dead: s.Dead})
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].App != rows[j].App {
			return rows[i].App < rows[j].App
		}
		return rows[i].Type < rows[j].Type
	})
	return rows, nil
}

// show draws the summary: the full table on a terminal (in place) and at the end, one line
// of totals otherwise.
func (d *demoDisplay) show(ctx context.Context, final bool) error {
	rows, err := d.stats(ctx)
	if err != nil {
		return err
	}
	var total demoRow
	for _, r := range rows {
		total.Done, total.Running, total.Pending = total.Done+r.Done, total.Running+r.Running, total.Pending+r.Pending
		total.Retrying, total.Dead = total.Retrying+r.Retrying, total.Dead+r.Dead
	}
	elapsed := time.Since(d.started).Round(time.Second)
	if !d.live && !final {
		_, err := fmt.Fprintf(d.c.stdout, "%4ds  done %d  running %d  pending %d  retrying %d  dead %d\n",
			int(elapsed.Seconds()), total.Done, total.Running, total.Pending, total.Retrying, total.Dead)
		return err
	}
	var b strings.Builder
	title := fmt.Sprintf("Sluice demo on %s, %s", d.url, elapsed)
	if final {
		title = fmt.Sprintf("Sluice demo on %s: stopped after %s", d.url, elapsed)
	} else if d.duration > 0 {
		title += fmt.Sprintf(" of %s", d.duration)
	}
	fmt.Fprintln(&b, title)
	fmt.Fprintln(&b)
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "APP\tTYPE\tDONE\tRUNNING\tPENDING\tRETRYING\tDEAD\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t\n", r.App, r.Type, r.Done, r.Running, r.Pending, r.Retrying, r.Dead)
	}
	fmt.Fprintf(tw, "total\t\t%d\t%d\t%d\t%d\t%d\t\n", total.Done, total.Running, total.Pending, total.Retrying, total.Dead)
	tw.Flush()
	if !final {
		fmt.Fprintln(&b, "\nDead-letter entries keep their full error history: see them with 'sluice dlq list'. Ctrl-C stops.")
	}
	out := b.String()
	if d.live && d.lines > 0 {
		fmt.Fprintf(d.c.stdout, "\x1b[%dA\x1b[J", d.lines) // back to the top of the last drawing, clear below
	}
	d.lines = strings.Count(out, "\n")
	_, err = io.WriteString(d.c.stdout, out)
	return err
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}
