package metrics

import (
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/alert"
)

// durationBuckets span handler run times from 1ms to 10min.
var durationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}

// observer is the sluice.Observer of Metrics. The metrics of one app, type and queue are
// looked up once and kept, so an event costs a map read and atomic adds.
type observer struct {
	enqueued, started, completed, failed, retried, deadLettered, snoozed, cancelled *prometheus.CounterVec
	duration                                                                        *prometheus.HistogramVec

	replayed            prometheus.Counter
	rescuedRetried      prometheus.Counter
	rescuedDeadLettered prometheus.Counter
	rescuedCancelled    prometheus.Counter
	series              sync.Map // seriesKey → *series

	alertsDelivered, alertsFailed, alertAttemptsFailed *prometheus.CounterVec

	retention retentionMetrics
	periodic  periodicMetrics
}

// seriesKey is the labels of a job's metrics, with the app still as its id.
type seriesKey struct {
	app     uuid.UUID
	jobType string
	queue   string
}

// series are the metrics of one app, type and queue.
type series struct {
	enqueued, started, completed, failed, retried, deadLettered, snoozed, cancelled prometheus.Counter
	duration                                                                        prometheus.Observer
}

var (
	_ sluice.Observer = (*observer)(nil)
	_ alert.Observer  = (*observer)(nil)
)

// newObserver makes the event metrics and registers them on reg.
func newObserver(reg prometheus.Registerer) *observer {
	labels := []string{appLabel, "type", "queue"}
	counter := func(name, help string) *prometheus.CounterVec {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
		reg.MustRegister(v)
		return v
	}
	o := &observer{
		enqueued:     counter("jobs_enqueued_total", "Jobs enqueued by this process (unique-key duplicates and replays not included)."),
		started:      counter("attempts_started_total", "Attempts started by this process's workers."),
		completed:    counter("jobs_completed_total", "Attempts that completed their job."),
		failed:       counter("attempts_failed_total", "Attempts that failed, retried or dead-lettered."),
		retried:      counter("jobs_retried_total", "Failed attempts whose job will be retried."),
		deadLettered: counter("jobs_dead_lettered_total", "Failed attempts that moved their job to the dead-letter queue."),
		snoozed:      counter("jobs_snoozed_total", "Attempts that snoozed their job."),
		cancelled:    counter("jobs_cancelled_total", "Attempts that cancelled their job."),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "attempt_duration_seconds",
			Help:    "How long handlers ran, per attempt.",
			Buckets: durationBuckets,
		}, labels),
		replayed: prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "dlq_replayed_total",
			Help: "Dead-letter entries replayed through this process."}),
	}
	rescues := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "lease_rescues_total",
		Help: "Jobs whose lease expired that this process rescued, by what became of them."}, []string{"outcome"})
	o.rescuedRetried = rescues.WithLabelValues("retried")
	o.rescuedDeadLettered = rescues.WithLabelValues("dead_lettered")
	o.rescuedCancelled = rescues.WithLabelValues("cancelled")
	alertLabels := []string{"event", "sink"}
	o.alertsDelivered = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "alerts_delivered_total",
		Help: "Alerts this process delivered, by event (job.dead_lettered, group.threshold) and sink (callback, webhook)."}, alertLabels)
	o.alertsFailed = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "alerts_failed_total",
		Help: "Alerts this process gave up on after its retries (or an answer not worth retrying), by event and sink."}, alertLabels)
	o.alertAttemptsFailed = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "alert_attempts_failed_total",
		Help: "Failed attempts of this process to deliver an alert (retried or not), by event and sink."}, alertLabels)
	reg.MustRegister(o.duration, o.replayed, rescues, o.alertsDelivered, o.alertsFailed, o.alertAttemptsFailed)
	o.retention = newRetentionMetrics(reg)
	o.periodic = newPeriodicMetrics(reg)
	return o
}

// of returns the metrics of the job's app, type and queue, making them on first use.
func (o *observer) of(job *sluice.Job) *series {
	key := seriesKey{app: job.AppID, jobType: job.Type, queue: job.Queue}
	if s, ok := o.series.Load(key); ok {
		return s.(*series)
	}
	app := job.AppID.String()
	s := &series{
		enqueued:     o.enqueued.WithLabelValues(app, job.Type, job.Queue),
		started:      o.started.WithLabelValues(app, job.Type, job.Queue),
		completed:    o.completed.WithLabelValues(app, job.Type, job.Queue),
		failed:       o.failed.WithLabelValues(app, job.Type, job.Queue),
		retried:      o.retried.WithLabelValues(app, job.Type, job.Queue),
		deadLettered: o.deadLettered.WithLabelValues(app, job.Type, job.Queue),
		snoozed:      o.snoozed.WithLabelValues(app, job.Type, job.Queue),
		cancelled:    o.cancelled.WithLabelValues(app, job.Type, job.Queue),
		duration:     o.duration.WithLabelValues(app, job.Type, job.Queue),
	}
	actual, _ := o.series.LoadOrStore(key, s)
	return actual.(*series)
}

// JobEnqueued counts an enqueued job.
func (o *observer) JobEnqueued(job *sluice.Job) { o.of(job).enqueued.Inc() }

// AttemptStarted counts a started attempt.
func (o *observer) AttemptStarted(job *sluice.Job) { o.of(job).started.Inc() }

// AttemptFinished counts an attempt's outcome and observes its run time.
func (o *observer) AttemptFinished(job *sluice.Job, outcome sluice.Outcome, d time.Duration) {
	s := o.of(job)
	s.duration.Observe(d.Seconds())
	switch outcome {
	case sluice.OutcomeComplete:
		s.completed.Inc()
	case sluice.OutcomeRetry:
		s.failed.Inc()
		s.retried.Inc()
	case sluice.OutcomeDeadLetter:
		s.failed.Inc()
		s.deadLettered.Inc()
	case sluice.OutcomeSnooze:
		s.snoozed.Inc()
	case sluice.OutcomeCancel:
		s.cancelled.Inc()
	}
}

// LeasesRescued counts rescued jobs by what became of them.
func (o *observer) LeasesRescued(retried, deadLettered, cancelled int) {
	o.rescuedRetried.Add(float64(retried))
	o.rescuedDeadLettered.Add(float64(deadLettered))
	o.rescuedCancelled.Add(float64(cancelled))
}

// DeadReplayed counts replayed entries.
func (o *observer) DeadReplayed(n int) { o.replayed.Add(float64(n)) }

// AlertDelivered counts an alert delivered to a sink.
func (o *observer) AlertDelivered(event, sink string) {
	o.alertsDelivered.WithLabelValues(event, sink).Inc()
}

// AlertFailed counts an alert a sink gave up on.
func (o *observer) AlertFailed(event, sink string) {
	o.alertsFailed.WithLabelValues(event, sink).Inc()
}

// AlertAttemptFailed counts a failed attempt to deliver an alert to a sink.
func (o *observer) AlertAttemptFailed(event, sink string) {
	o.alertAttemptsFailed.WithLabelValues(event, sink).Inc()
}
