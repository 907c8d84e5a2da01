package metrics

import (
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice"
)

var _ sluice.PeriodicObserver = (*observer)(nil)

// periodicMetrics count the ticks of periodic schedules, fed by the observer.
type periodicMetrics struct {
	ticks *prometheus.CounterVec // by app, schedule and result
	lag   *prometheus.GaugeVec   // by app and schedule
}

func newPeriodicMetrics(reg prometheus.Registerer) periodicMetrics {
	p := periodicMetrics{
		ticks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "periodic_ticks_total",
			Help: "Ticks of periodic schedules this process dealt with, by app, schedule and result: enqueued (a job), or skipped by the catch-up policy. Summed over every process, enqueued counts each tick once."},
			[]string{appLabel, "schedule", "result"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: "periodic_tick_lag_seconds",
			Help: "How long after its time the last tick this process enqueued was enqueued, by app and schedule."},
			[]string{appLabel, "schedule"}),
	}
	reg.MustRegister(p.ticks, p.lag)
	return p
}

// TickEnqueued counts a tick enqueued and sets its schedule's lag.
func (o *observer) TickEnqueued(app uuid.UUID, schedule string, lag time.Duration) {
	o.periodic.ticks.WithLabelValues(app.String(), schedule, "enqueued").Inc()
	o.periodic.lag.WithLabelValues(app.String(), schedule).Set(lag.Seconds())
}

// TicksSkipped counts ticks skipped by the catch-up policy.
func (o *observer) TicksSkipped(app uuid.UUID, schedule string, n int64) {
	o.periodic.ticks.WithLabelValues(app.String(), schedule, "skipped").Add(float64(n))
}
