package sluice

import (
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"github.com/sluicehq/sluice/alert"
	"github.com/sluicehq/sluice/internal/validate"
)

// Config configures a Client. The zero value is valid: every field has a default.
type Config struct {
	// Queues are the queues this client works and how many jobs of each it runs at once.
	// Defaults to {"default": {Concurrency: 100}}. A client that only enqueues and triages need
	// never Start, and then Queues does not matter.
	Queues map[string]QueueConfig

	// LeaseDuration is how long a claimed job stays this worker's without a heartbeat. If the
	// worker dies, its jobs are rescued this long after its last heartbeat. Defaults to 30s.
	LeaseDuration time.Duration

	// HeartbeatInterval is how often the leases of running jobs are renewed. Defaults to a
	// third of LeaseDuration.
	HeartbeatInterval time.Duration

	// PollInterval is how often each queue looks for due jobs without being woken: the path
	// that finds scheduled and retried jobs, and every job when notifications are lost.
	// Defaults to 1s.
	PollInterval time.Duration

	// RescueInterval is how often expired leases are looked for. Defaults to 5s.
	RescueInterval time.Duration

	// JobTimeout bounds one attempt of every type that does not set its own Timeout; the
	// handler's context is cancelled when it passes. Defaults to 0: no timeout.
	JobTimeout time.Duration

	// CancelGrace is how long Stop waits for handlers to return after it has cancelled their
	// contexts because its own context ended. Handlers still running then are left to their
	// leases. Defaults to 5s.
	CancelGrace time.Duration

	// Logger receives the client's structured logs. Defaults to a logger that discards.
	Logger *slog.Logger

	// Observer receives the client's events (enqueues, attempts, rescues, replays) as they
	// happen, for metrics; see Observer and package metrics. Its methods run on the engine's
	// goroutines and must be fast and never block. Defaults to none.
	Observer Observer

	// TracerProvider makes the spans of job attempts: each attempt runs in a span named
	// after its job type, a child of the span that enqueued the job (see Client.Enqueue).
	// Defaults to OpenTelemetry's global provider (otel.GetTracerProvider), which records
	// nothing until the application installs one.
	TracerProvider trace.TracerProvider

	// Redact lists payload fields to mask wherever Sluice shows payloads — the HTTP API and
	// web UI (httpapi), the CLI, and the retention export — as [TYPE:]PATH rules: "card.number",
	// "items[*].ssn", "secrets.*", "invoice.charge:card.cvc" (see docs/tracing-redaction.md). A
	// masked value becomes the string "[redacted]". Handlers, replays and the store keep the
	// payload itself. A bad rule is a *FieldError on "Redact[i]". Defaults to none.
	Redact []string

	// Alerts, when set, makes a started client also run an alerter: it calls a Go callback
	// and/or posts to a webhook when a job is dead-lettered or a failure group reaches a
	// threshold, at least once, with retries (see package alert). Any number of processes
	// may run one on the same database; each alert is delivered by one of them. Its Logger
	// defaults to Logger, and its Observer to Observer when that implements alert.Observer
	// (package metrics' does). Defaults to nil: no alerts.
	Alerts *AlertConfig

	// Retention configures retention: the default policies (completed and cancelled jobs
	// kept 7 days, replayed entries 30 days, un-replayed entries until a stored policy says
	// otherwise) and the runner every started client runs; see RetentionConfig and
	// Client.SetRetention.
	Retention RetentionConfig
}

// AlertConfig configures alerts; see package alert.
type AlertConfig = alert.Config

// QueueConfig configures one queue.
type QueueConfig struct {
	// Concurrency is how many of the queue's jobs this client runs at once. Defaults to 100.
	//
	// While the queue's jobs are quick (handlers under 5 ms on average) the client holds up to
	// four times that many: so that a claim, a round trip to the database, brings enough work
	// to keep the handlers busy until the next one returns, it claims ahead of free slots.
	// Slow jobs are never claimed ahead. A job claimed ahead shows as running (its lease held,
	// StartedAt set) and starts as soon as a handler slot frees; if the client stops first it
	// is given back unstarted, its attempt not counted.
	Concurrency int
}

// TypeOptions configure one job type; pass nil for the defaults.
type TypeOptions struct {
	// Queue is where jobs of this type go when enqueued without one, and the queue this
	// client works them from. Defaults to "default".
	Queue string
	// MaxAttempts is the attempt budget of jobs of this type enqueued without one. Defaults
	// to 25.
	MaxAttempts int
	// Timeout bounds one attempt. Defaults to Config.JobTimeout.
	Timeout time.Duration
	// Backoff says how long to wait before the next attempt after a failed one. Defaults to
	// DefaultBackoff.
	Backoff BackoffFunc
}

// BackoffFunc returns the wait before the next attempt, given the number of attempts made.
type BackoffFunc func(attempts int) time.Duration

// DefaultBackoff waits 1s after the first failure and doubles each time, up to 12h, with
// ±25% jitter so that jobs failing together do not retry together.
var DefaultBackoff = ExponentialBackoff(time.Second, 12*time.Hour)

// ExponentialBackoff returns a BackoffFunc that waits base after the first failed attempt,
// doubling after each further one up to max, each wait scaled by a random factor in
// [0.75, 1.25).
func ExponentialBackoff(base, max time.Duration) BackoffFunc {
	return func(attempts int) time.Duration {
		d := base
		for i := 1; i < attempts && d < max; i++ {
			d *= 2
		}
		d = min(d, max)
		return time.Duration(float64(d) * (0.75 + rand.Float64()/2))
	}
}

const (
	defaultConcurrency    = 100
	defaultLeaseDuration  = 30 * time.Second
	defaultPollInterval   = time.Second
	defaultRescueInterval = 5 * time.Second
	defaultCancelGrace    = 5 * time.Second
)

// withDefaults returns a copy of cfg with every unset field defaulted, or an error naming the
// first bad field.
func (cfg *Config) withDefaults() (Config, error) {
	var c Config
	if cfg != nil {
		c = *cfg
	}
	if c.Queues == nil {
		c.Queues = map[string]QueueConfig{validate.DefaultQueue: {}}
	}
	queues := make(map[string]QueueConfig, len(c.Queues))
	for name, q := range c.Queues {
		if err := validate.Identifier(fmt.Sprintf("Queues[%q]", name), name); err != nil {
			return c, err
		}
		if q.Concurrency < 0 {
			return c, &FieldError{Field: fmt.Sprintf("Queues[%q].Concurrency", name), Message: "must not be negative"}
		}
		if q.Concurrency == 0 {
			q.Concurrency = defaultConcurrency
		}
		queues[name] = q
	}
	c.Queues = queues
	durations := []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"LeaseDuration", &c.LeaseDuration, defaultLeaseDuration},
		{"PollInterval", &c.PollInterval, defaultPollInterval},
		{"RescueInterval", &c.RescueInterval, defaultRescueInterval},
		{"CancelGrace", &c.CancelGrace, defaultCancelGrace},
		{"HeartbeatInterval", &c.HeartbeatInterval, 0},
		{"JobTimeout", &c.JobTimeout, 0},
	}
	for _, d := range durations {
		if *d.v < 0 {
			return c, &FieldError{Field: d.name, Message: "must not be negative"}
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if c.LeaseDuration < 100*time.Millisecond {
		return c, &FieldError{Field: "LeaseDuration", Message: "must be at least 100ms"}
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = c.LeaseDuration / 3
	}
	if c.HeartbeatInterval >= c.LeaseDuration {
		return c, &FieldError{Field: "HeartbeatInterval", Message: "must be shorter than LeaseDuration"}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.TracerProvider == nil {
		c.TracerProvider = otel.GetTracerProvider()
	}
	if err := c.Retention.withDefaults(); err != nil {
		return c, err
	}
	if c.Alerts != nil {
		a := *c.Alerts
		if a.Logger == nil {
			a.Logger = c.Logger
		}
		if o, ok := c.Observer.(alert.Observer); ok && a.Observer == nil {
			a.Observer = o
		}
		// New checks the config and does nothing else: the client makes its alerter on Start.
		if _, err := alert.New(nil, a); err != nil {
			return c, err
		}
		c.Alerts = &a
	}
	return c, nil
}

// withDefaults returns the options with defaults filled in, or an error naming the bad field.
func (o *TypeOptions) withDefaults(jobTimeout time.Duration) (TypeOptions, error) {
	var t TypeOptions
	if o != nil {
		t = *o
	}
	if t.Queue == "" {
		t.Queue = validate.DefaultQueue
	}
	if err := validate.Identifier("Queue", t.Queue); err != nil {
		return t, err
	}
	if t.MaxAttempts == 0 {
		t.MaxAttempts = validate.DefaultMaxAttempts
	}
	if err := validate.MaxAttempts("MaxAttempts", t.MaxAttempts); err != nil {
		return t, err
	}
	if t.Timeout < 0 {
		return t, &FieldError{Field: "Timeout", Message: "must not be negative"}
	}
	if t.Timeout == 0 {
		t.Timeout = jobTimeout
	}
	if t.Backoff == nil {
		t.Backoff = DefaultBackoff
	}
	return t, nil
}
