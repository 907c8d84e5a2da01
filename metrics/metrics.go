// Package metrics exports what a Sluice client does and how its database is doing, in the
// Prometheus format. The engine knows nothing of Prometheus: it reports its events to a
// sluice.Observer, and this package turns them into counters, then reads the queue's state
// and the database's health when it is scraped.
//
// # Wiring
//
// The observer must be in the client's Config when the client is made, and the metrics read
// the store, so make them in this order: open the store, make the metrics on it, make the
// client with the metrics' observer, and serve the handler. This is how `sluice serve` does
// it:
//
//	st, err := sluice.OpenStore(ctx, databaseURL)
//	if err != nil { ... }
//	defer st.Close() // NewClient leaves the store to its caller
//	m := metrics.New(st, nil)
//	client, err := sluice.NewClient(st, &sluice.Config{Observer: m.Observer(), Logger: logger})
//	if err != nil { ... }
//	mux.Handle("GET /metrics", m.Handler())
//
// One Metrics can observe several clients on the same store. Each Metrics has a registry of
// its own (never Prometheus's global one), so several can live in one process.
//
// # Counters and the histogram
//
// Counted from this process's events; labels app (the app's name), type and queue:
//
//	sluice_jobs_enqueued_total         jobs this process enqueued (not unique-key duplicates, not replays)
//	sluice_attempts_started_total      attempts this process's workers started
//	sluice_jobs_completed_total        attempts that completed their job
//	sluice_attempts_failed_total       attempts that failed: retried or dead-lettered
//	sluice_jobs_retried_total          failed attempts with attempts left
//	sluice_jobs_dead_lettered_total    failed attempts that moved their job to the DLQ
//	sluice_jobs_snoozed_total          attempts that snoozed
//	sluice_jobs_cancelled_total        attempts that cancelled their job
//	sluice_attempt_duration_seconds    histogram of handler run time, 1ms to 10min
//
// An attempt is counted as its worker decided it, when its handler returns: in the rare case
// that the worker had lost the job's lease, the store ignores that outcome but it is counted.
// An attempt interrupted by Stop is in the histogram only. Without labels:
//
//	sluice_dlq_replayed_total                   dead-letter entries replayed through this process
//	sluice_lease_rescues_total{outcome}         expired leases this process rescued: outcome is
//	                                            retried, dead_lettered or cancelled (those dead-letters
//	                                            are not in sluice_jobs_dead_lettered_total)
//	sluice_alerts_delivered_total{event,sink}   alerts this process delivered (package alert): event
//	                                            job.dead_lettered or group.threshold, sink callback
//	                                            or webhook
//	sluice_alerts_failed_total{event,sink}      alerts this process gave up on after its retries
//	sluice_alert_attempts_failed_total{event,sink}  failed attempts to deliver an alert, retried or not
//
// # Gauges read at scrape time
//
// Each scrape reads the store, bounded by Options.ScrapeTimeout, so these describe the whole
// queue, whoever works it; labels app and type:
//
//	sluice_jobs{state}                     jobs by state: pending (due or scheduled), retrying, running
//	sluice_oldest_pending_age_seconds      how long the oldest due pending job has waited (0 if none)
//	sluice_dlq_entries                     un-replayed dead-letter entries
//	sluice_dlq_groups                      their failure groups (see sluice.DLQ.Groups)
//	sluice_dlq_oldest_entry_age_seconds    age of the oldest un-replayed entry (0 if none)
//
// and, labelled by app alone, and without labels, the operators' control of live work (see
// sluice.Client.DisableApp and Pause):
//
//	sluice_app_disabled{app}               1 if the app is disabled, else 0: a series for every app
//	sluice_paused_scopes                   paused scopes (apps, queues, types or combinations)
//
// and, labelled by token id and name, the API tokens made with a lifetime that are not revoked:
//
//	sluice_token_expires_in_seconds{token,name}   time left before the token stops working
//
// and, labelled by status (running, paused, cancelled, done, failed) alone:
//
//	sluice_replay_operations{status}       bulk replay operations (see sluice.DLQ.StartReplay)
//
// and, without labels, the alert outbox (see package alert):
//
//	sluice_alerts_pending                      alerts not delivered yet
//	sluice_alerts_oldest_pending_age_seconds   how long the oldest of them has waited (0 if none)
//
// and the database's health (see store.Health):
//
//	sluice_db_live_tuples{table}        live rows: PostgreSQL's estimate, SQLite's exact count
//	sluice_db_dead_tuples{table}        rows awaiting vacuum (PostgreSQL; 0 on SQLite)
//	sluice_db_table_size_bytes{table}   size with indexes
//	sluice_db_size_bytes                the whole database (or SQLite file)
//	sluice_db_xid_age                   age(datfrozenxid): the distance to wraparound (PostgreSQL; 0 on SQLite)
//	sluice_db_multixact_age             mxid_age(datminmxid) (PostgreSQL; 0 on SQLite)
//	sluice_db_up                        1 if every query of the scrape answered in time, else 0
//
// When the database does not answer, the scrape still succeeds: sluice_db_up is 0, the
// counters are there and the gauges read from the database are missing. The Go runtime's
// and the process's standard metrics (go_*, process_*) are exported too.
//
// # Labels
//
// Labels are bounded by apps × job types (× queues): never a job id. The app label is the
// app's name, looked up from its id in a cache that every scrape refreshes; an app the cache
// cannot name (the database is down and the app is new) is labelled with its id meanwhile.
package metrics

import (
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/store"
)

// namespace prefixes every Sluice metric.
const namespace = "sluice"

// appLabel is the label that holds an app: its id inside, its name once exported.
const appLabel = "app"

// DefaultScrapeTimeout bounds the database queries of one scrape.
const DefaultScrapeTimeout = 5 * time.Second

// maxScrapesInFlight bounds concurrent scrapes; more are answered 503 at once.
const maxScrapesInFlight = 4

// Options tune Metrics; nil means the defaults.
type Options struct {
	// ScrapeTimeout bounds the database queries one scrape makes; a database slower than
	// that makes sluice_db_up 0 for the scrape. Defaults to DefaultScrapeTimeout (5s).
	ScrapeTimeout time.Duration
}

// Metrics holds the metrics of Sluice clients on one store: an Observer to put in their
// Config, and a Handler serving the metrics. Make it with New.
type Metrics struct {
	reg     *prometheus.Registry
	names   *appNames
	obs     *observer
	handler http.Handler
}

// New returns the metrics of clients on st, which it reads at each scrape. Put Observer in
// the clients' sluice.Config and serve Handler; see the package documentation.
func New(st store.Store, opts *Options) *Metrics {
	timeout := DefaultScrapeTimeout
	if opts != nil && opts.ScrapeTimeout > 0 {
		timeout = opts.ScrapeTimeout
	}
	m := &Metrics{reg: prometheus.NewRegistry(), names: &appNames{}}
	m.obs = newObserver(m.reg)
	m.reg.MustRegister(
		&dbCollector{st: st, timeout: timeout, names: m.names},
		&trimReportsCollector{st: st, timeout: timeout},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.handler = promhttp.HandlerFor(naming{m}, promhttp.HandlerOpts{
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: maxScrapesInFlight,
	})
	return m
}

// Observer returns the observer to set as sluice.Config.Observer of the clients whose work
// these metrics count.
func (m *Metrics) Observer() sluice.Observer { return m.obs }

// Handler serves the metrics in the Prometheus exposition formats, for GET /metrics. A
// scrape takes at most about Options.ScrapeTimeout, however slow the database; at most 4
// run at once, and one more is answered 503 Service Unavailable.
func (m *Metrics) Handler() http.Handler { return m.handler }

// naming gathers the registry and relabels each app from its id to its name.
type naming struct{ m *Metrics }

// Gather implements prometheus.Gatherer. A gathered metric is new at each gather, but its
// labels are the collector's own and shared: the renamed label goes into a copy.
func (n naming) Gather() ([]*dto.MetricFamily, error) {
	families, err := n.m.reg.Gather()
	names := n.m.names.load()
	for _, f := range families {
		for _, metric := range f.Metric {
			for i, l := range metric.Label {
				if l.GetName() != appLabel {
					continue
				}
				if name, ok := names[l.GetValue()]; ok {
					metric.Label = slices.Clone(metric.Label)
					metric.Label[i] = &dto.LabelPair{Name: l.Name, Value: &name}
				}
				break
			}
		}
	}
	return families, err
}

// appNames maps app ids (as text) to names; a scrape replaces the map whole.
type appNames struct {
	byID atomic.Pointer[map[string]string]
}

func (a *appNames) load() map[string]string {
	if m := a.byID.Load(); m != nil {
		return *m
	}
	return nil
}

func (a *appNames) store(apps []store.App) {
	m := make(map[string]string, len(apps))
	for _, app := range apps {
		m[app.ID.String()] = app.Name
	}
	a.byID.Store(&m)
}
