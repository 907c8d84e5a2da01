package metrics

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/store"
)

var _ sluice.RetentionObserver = (*observer)(nil)

// retentionMetrics are the counters of retention's deletions, fed by the observer.
type retentionMetrics struct {
	deleted *prometheus.CounterVec // by kind
	trimmed *prometheus.CounterVec // un-replayed entries, by app and type
}

func newRetentionMetrics(reg prometheus.Registerer) retentionMetrics {
	r := retentionMetrics{
		deleted: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "retention_deleted_total",
			Help: "Rows this process's retention deleted, by kind (completed, cancelled, replayed, unreplayed)."}, []string{"kind"}),
		trimmed: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "dlq_trimmed_total",
			Help: "Un-replayed dead-letter entries this process's retention deleted (each reported first), by app and type."},
			[]string{appLabel, "type"}),
	}
	reg.MustRegister(r.deleted, r.trimmed)
	return r
}

// RetentionDeleted counts rows retention deleted.
func (o *observer) RetentionDeleted(kind sluice.RetentionKind, n int) {
	o.retention.deleted.WithLabelValues(string(kind)).Add(float64(n))
}

// DeadTrimmed counts un-replayed entries retention deleted.
func (o *observer) DeadTrimmed(app uuid.UUID, jobType string, n int) {
	o.retention.trimmed.WithLabelValues(app.String(), jobType).Add(float64(n))
}

// trimReportsDesc is the scrape-time gauge of undismissed trim reports.
var trimReportsDesc = prometheus.NewDesc(namespace+"_retention_reports_undismissed",
	"Trim reports (un-replayed dead-letter entries deleted by retention) not yet dismissed; the web UI shows them as a banner.",
	nil, nil)

// trimReportsCollector reads the count of undismissed trim reports at each scrape.
type trimReportsCollector struct {
	st      store.Store
	timeout time.Duration
}

// Describe sends the gauge's description.
func (c *trimReportsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- trimReportsDesc }

// Collect counts the undismissed reports; a failed count leaves the gauge out of the scrape
// (sluice_db_up says why).
func (c *trimReportsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	n, err := c.st.CountTrimReports(ctx)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(trimReportsDesc, prometheus.GaugeValue, float64(n))
}
