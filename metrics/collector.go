package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/store"
)

// The gauges read from the store at scrape time.
var (
	jobsDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "", "jobs"),
		"Jobs by state: pending (due or scheduled), retrying (pending after a failed attempt), running.",
		[]string{appLabel, "type", "state"}, nil)
	oldestPendingDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "", "oldest_pending_age_seconds"),
		"How long the oldest due pending job has been waiting; 0 when none is due.",
		[]string{appLabel, "type"}, nil)
	dlqEntriesDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "", "dlq_entries"),
		"Un-replayed dead-letter entries.",
		[]string{appLabel, "type"}, nil)
	dlqGroupsDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "", "dlq_groups"),
		"Failure groups of the un-replayed dead-letter entries (entries whose last errors match once numbers, ids, addresses and quoted values are masked).",
		[]string{appLabel, "type"}, nil)
	dlqOldestDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "", "dlq_oldest_entry_age_seconds"),
		"Age of the oldest un-replayed dead-letter entry; 0 when there is none.",
		[]string{appLabel, "type"}, nil)
	liveTuplesDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "db", "live_tuples"),
		"Live rows of a Sluice table (PostgreSQL's estimate; SQLite's exact count).",
		[]string{"table"}, nil)
	deadTuplesDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "db", "dead_tuples"),
		"Dead rows of a Sluice table not yet vacuumed (PostgreSQL; 0 on SQLite).",
		[]string{"table"}, nil)
	tableSizeDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "db", "table_size_bytes"),
		"Size of a Sluice table with its indexes.",
		[]string{"table"}, nil)
	dbSizeDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "db", "size_bytes"),
		"Size of the whole database (PostgreSQL) or database file (SQLite).", nil, nil)
	xidAgeDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "db", "xid_age"),
		"Age in transactions of the database's oldest unfrozen transaction id (PostgreSQL; 0 on SQLite).", nil, nil)
	multiXactAgeDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "db", "multixact_age"),
		"Age of the database's oldest multixact id (PostgreSQL; 0 on SQLite).", nil, nil)
	appMaxRunningDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "app", "max_running"),
		"An app's cap on its jobs running at once (AppLimits.MaxRunning); only apps with a cap.",
		[]string{appLabel}, nil)
	appRateDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "app", "rate_per_second"),
		"An app's limit on job starts per second (AppLimits.Rate); only apps with a rate.",
		[]string{appLabel}, nil)
	replayOpsDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "", "replay_operations"),
		"Bulk replay operations by status: running, paused, cancelled, done, failed.",
		[]string{"status"}, nil)
	alertsPendingDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "", "alerts_pending"),
		"Alerts not delivered yet (package alert): queued dead-letter alerts and claimed group crossings, tried or not.",
		nil, nil)
	alertsOldestDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "", "alerts_oldest_pending_age_seconds"),
		"How long the oldest pending alert has waited since it was queued; 0 when none is pending.",
		nil, nil)
	pausedScopesDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "", "paused_scopes"),
		"Paused scopes (Client.Pause): apps, queues, job types or combinations whose jobs no worker claims until they are resumed.",
		nil, nil)
	appDisabledDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "app", "disabled"),
		"1 if the app is disabled (Client.DisableApp: its jobs are not claimed and enqueueing them is refused), else 0; one series for every app.",
		[]string{appLabel}, nil)
	tokenExpiryDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "token", "expires_in_seconds"),
		"Seconds until an API token made with a lifetime (tokens create --ttl) stops working, 0 once it has; one series per such token that is not revoked. Alert below your rotation lead time.",
		[]string{"token", "name"}, nil)
	upDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "db", "up"),
		"1 if every database query of this scrape answered in time, else 0.", nil, nil)
)

// dbCollector reads the queue's state and the database's health when scraped, and refreshes
// the app names on the way.
type dbCollector struct {
	st      store.Store
	timeout time.Duration
	names   *appNames
}

// Describe implements prometheus.Collector.
func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{jobsDesc, oldestPendingDesc, dlqEntriesDesc, dlqGroupsDesc, dlqOldestDesc,
		liveTuplesDesc, deadTuplesDesc, tableSizeDesc, dbSizeDesc, xidAgeDesc, multiXactAgeDesc,
		appMaxRunningDesc, appRateDesc, appDisabledDesc, pausedScopesDesc, replayOpsDesc, alertsPendingDesc, alertsOldestDesc, tokenExpiryDesc, upDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. Its queries share one deadline; any that fails or
// runs out of time makes sluice_db_up 0, and the gauges it would have given are left out.
func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	up := 1.0
	if apps, err := c.st.ListApps(ctx); err == nil {
		c.names.store(apps)
		collectLimits(ch, apps)
		collectDisabled(ch, apps)
	} else {
		up = 0
	}
	if stats, err := c.st.Stats(ctx); err == nil {
		collectStats(ch, stats, time.Now())
	} else {
		up = 0
	}
	if ops, err := c.st.CountReplayOps(ctx); err == nil {
		for _, status := range []store.ReplayStatus{store.ReplayRunning, store.ReplayPaused, store.ReplayCancelled, store.ReplayDone, store.ReplayFailed} {
			ch <- prometheus.MustNewConstMetric(replayOpsDesc, prometheus.GaugeValue, float64(ops[status]), string(status))
		}
	} else {
		up = 0
	}
	if pauses, err := c.st.ListPauses(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(pausedScopesDesc, prometheus.GaugeValue, float64(len(pauses)))
	} else {
		up = 0
	}
	if tokens, err := c.st.ListTokens(ctx); err == nil {
		collectTokenExpiry(ch, tokens, time.Now())
	} else {
		up = 0
	}
	if bl, err := c.st.AlertBacklog(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(alertsPendingDesc, prometheus.GaugeValue, float64(bl.Pending))
		ch <- prometheus.MustNewConstMetric(alertsOldestDesc, prometheus.GaugeValue, ageSeconds(time.Now(), bl.OldestPendingAt))
	} else {
		up = 0
	}
	if health, err := c.st.Health(ctx); err == nil {
		collectHealth(ch, health)
	} else {
		up = 0
	}
	ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, up)
}

// collectTokenExpiry sends the time left of every token that expires and is not revoked.
func collectTokenExpiry(ch chan<- prometheus.Metric, tokens []store.Token, now time.Time) {
	for _, tok := range tokens {
		if tok.ExpiresAt == nil || tok.RevokedAt != nil {
			continue
		}
		left := max(0, tok.ExpiresAt.Sub(now).Seconds())
		ch <- prometheus.MustNewConstMetric(tokenExpiryDesc, prometheus.GaugeValue, left, tok.ID.String(), tok.Name)
	}
}

// collectLimits sends the limits of the apps that have any.
func collectLimits(ch chan<- prometheus.Metric, apps []store.App) {
	for _, a := range apps {
		if a.MaxRunning > 0 {
			ch <- prometheus.MustNewConstMetric(appMaxRunningDesc, prometheus.GaugeValue, float64(a.MaxRunning), a.Name)
		}
		if a.Rate > 0 {
			ch <- prometheus.MustNewConstMetric(appRateDesc, prometheus.GaugeValue, a.Rate, a.Name)
		}
	}
}

// collectDisabled sends 1 for each disabled app and 0 for each other, so that an alert on a
// disabled app and a dashboard of every app's state read the same series.
func collectDisabled(ch chan<- prometheus.Metric, apps []store.App) {
	for _, a := range apps {
		v := 0.0
		if a.DisabledAt != nil {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(appDisabledDesc, prometheus.GaugeValue, v, a.Name)
	}
}

// collectStats sends the gauges of the queue's state, per app and type.
func collectStats(ch chan<- prometheus.Metric, stats []store.TypeStats, now time.Time) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, s := range stats {
		app := s.AppID.String()
		gauge(jobsDesc, float64(s.Pending), app, s.Type, "pending")
		gauge(jobsDesc, float64(s.Retrying), app, s.Type, "retrying")
		gauge(jobsDesc, float64(s.Running), app, s.Type, "running")
		gauge(oldestPendingDesc, ageSeconds(now, s.OldestPendingRunAt), app, s.Type)
		gauge(dlqEntriesDesc, float64(s.Dead), app, s.Type)
		gauge(dlqGroupsDesc, float64(s.DeadGroups), app, s.Type)
		gauge(dlqOldestDesc, ageSeconds(now, s.OldestDeadAt), app, s.Type)
	}
}

// ageSeconds is how long before now t was; 0 when t is nil or later than now (a job
// scheduled for later is not waiting yet).
func ageSeconds(now time.Time, t *time.Time) float64 {
	if t == nil {
		return 0
	}
	return max(0, now.Sub(*t).Seconds())
}

// collectHealth sends the database's health gauges.
func collectHealth(ch chan<- prometheus.Metric, h store.Health) {
	gauge := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	for _, t := range h.Tables {
		gauge(liveTuplesDesc, t.LiveRows, t.Name)
		gauge(deadTuplesDesc, t.DeadRows, t.Name)
		gauge(tableSizeDesc, t.SizeBytes, t.Name)
	}
	gauge(dbSizeDesc, h.SizeBytes)
	gauge(xidAgeDesc, h.XIDAge)
	gauge(multiXactAgeDesc, h.MultiXactAge)
}
