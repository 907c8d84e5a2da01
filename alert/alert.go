// Package alert tells someone when a job is dead-lettered or a failure group grows past a
// threshold: through a Go callback, a webhook, or both.
//
// An Alerter runs as upkeep in any process (a started sluice.Client runs one when its
// Config.Alerts is set, and so does `sluice serve --alert-webhook`). Its state is in the
// database, so any number of processes can run one against the same database:
//
//   - Every dead-letter entry is queued for its alert in the transaction that writes it (a
//     trigger on job_dlq fills an outbox, whatever wrote the entry). An alerter leases a batch
//     of pending alerts, oldest entry first, delivers each, and acknowledges it; the lease is
//     renewed with every acknowledgement. Alerters sharing a database never hold the same
//     alert at once, and an alerter that dies leaves its alerts to be taken again once its
//     lease expires.
//   - A failure group (store.FailureGroup: the un-replayed entries of one app and type with
//     the same error signature) whose count reaches GroupThreshold alerts once for that
//     crossing. When replays or purges take it below the threshold again, the crossing is
//     forgotten, and reaching the threshold again is a new crossing that alerts again.
//
// # Delivery guarantees
//
// Alerts are delivered at least once and never skipped. An alert is acknowledged only after
// it was delivered to every configured sink, or after a sink's retries gave up on it (a
// webhook answering 400, say): giving up is logged at error level and counted
// (Observer.AlertFailed), never silent. An alerter that stops or dies between delivering and
// acknowledging delivers again later, so receivers should de-duplicate by the
// Sluice-Event-Id header (or the envelope's "id"): a dead-letter alert's id is its entry's id,
// a group alert's id names the crossing. Alerts are not ordered across alerters; one alerter
// delivers the entries it leased oldest first.
//
// Alerts start with the migration that adds them (0007_alerts): entries dead-lettered before
// are not alerted. Entries dead-lettered while no alerter runs wait for one and are alerted
// when it starts, however many they are. An entry deleted (purged) before its alert was
// delivered takes its pending alert with it.
//
// # Webhook
//
// Each alert is one POST of a JSON envelope with Content-Type application/json:
//
//	{"event": "job.dead_lettered", "id": "<entry id>", "entry": {<the entry, as the HTTP API shows it>}}
//	{"event": "group.threshold", "id": "<crossing id>", "threshold": 10, "group": {<the failure group>}}
//
// with the headers Sluice-Event (the event), Sluice-Event-Id (the id) and, when a secret is
// set, Sluice-Signature: "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with the
// secret>" (see Sign and Verify). Any 2xx answer delivers the alert. Network errors,
// timeouts, 5xx and 429 are retried with exponential backoff and jitter (a 429's or 503's
// Retry-After is honoured up to MaxRetryBackoff), up to MaxAttempts attempts; redirects and
// other answers are not retried. Every attempt is signed afresh with its own timestamp.
package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/internal/validate"
	"github.com/sluicehq/sluice/store"
)

// The events an alert reports.
const (
	// EventDeadLettered: a job was dead-lettered.
	EventDeadLettered = store.AlertEventDeadLettered
	// EventGroupThreshold: a failure group reached the threshold.
	EventGroupThreshold = store.AlertEventGroupThreshold
)

// The sinks an alert is delivered to, as Observer names them.
const (
	SinkCallback = "callback"
	SinkWebhook  = "webhook"
)

// Defaults of Config.
const (
	DefaultPollInterval    = 5 * time.Second
	DefaultBatchSize       = 100
	DefaultMaxAttempts     = 5
	DefaultAttemptTimeout  = 10 * time.Second
	DefaultRetryBackoff    = time.Second
	DefaultMaxRetryBackoff = 30 * time.Second
	DefaultHistory         = 7 * 24 * time.Hour
)

// pruneBatch bounds the alert-log records one poll deletes.
const pruneBatch = 1000

// groupClaimLimit bounds how many groups' crossings one poll claims.
const groupClaimLimit = 100

// Config configures an Alerter. At least one of OnDeadLetter, OnGroupThreshold and WebhookURL
// must be set.
type Config struct {
	// OnDeadLetter is called with each dead-letter entry. A returned error (or a panic) is a
	// failed delivery, retried like a webhook's. It gets a context bounded by AttemptTimeout.
	OnDeadLetter func(ctx context.Context, entry store.DeadJob) error
	// OnGroupThreshold is called when a failure group reaches GroupThreshold, as the group
	// is then. Errors are retried as OnDeadLetter's.
	OnGroupThreshold func(ctx context.Context, group store.FailureGroup) error

	// WebhookURL, when set, receives every alert as a POST (http or https).
	WebhookURL string
	// WebhookSecret, when set, signs every webhook request (the Sluice-Signature header).
	WebhookSecret string

	// GroupThreshold is how many un-replayed entries make a failure group alert. Defaults
	// to 0: no group alerts.
	GroupThreshold int64

	// PollInterval is how often the alerter looks for new dead-letter entries and groups.
	// Defaults to 5s.
	PollInterval time.Duration
	// BatchSize is how many alerts one lease takes. Defaults to 100.
	BatchSize int
	// MaxAttempts bounds the attempts to deliver one alert to one sink. Defaults to 5.
	MaxAttempts int
	// AttemptTimeout bounds one attempt (a webhook request, a callback). Defaults to 10s.
	AttemptTimeout time.Duration
	// RetryBackoff is the wait after the first failed attempt, doubled after each further
	// one up to MaxRetryBackoff, each scaled by a random factor in [0.5, 1.5). Defaults to 1s
	// and 30s.
	RetryBackoff    time.Duration
	MaxRetryBackoff time.Duration

	// History is how long the record of an alert delivered or given up on is kept (for
	// store.Alerts.ListAlerts: GET /v1/alerts, `sluice alerts list`, the web UI). Each poll
	// deletes up to 1000 older records. Defaults to 7 days.
	History time.Duration

	// HTTPClient sends the webhook requests; its own timeout, if any, applies on top of
	// AttemptTimeout. Defaults to a client of the alerter's own that follows no redirects.
	HTTPClient *http.Client
	// Logger receives the alerter's logs. Defaults to discarding them.
	Logger *slog.Logger
	// Observer, when set, counts deliveries and give-ups.
	Observer Observer
	// RedactPayload, when set, is applied to the entry's payload in a webhook's body (not in
	// what OnDeadLetter gets). A started sluice.Client sets it from its Config.Redact.
	RedactPayload func(jobType string, payload json.RawMessage) json.RawMessage
}

// Observer counts what an Alerter does, for metrics. Its methods must be fast and safe for
// concurrent use. Package metrics implements it.
type Observer interface {
	// AlertDelivered reports an alert of event delivered to sink.
	AlertDelivered(event, sink string)
	// AlertFailed reports an alert of event that sink could not be given: its attempts
	// were spent, or the answer was one not worth retrying.
	AlertFailed(event, sink string)
	// AlertAttemptFailed reports one failed attempt to deliver an alert of event to sink,
	// whether or not it is retried.
	AlertAttemptFailed(event, sink string)
}

// Alerter delivers alerts; see the package documentation. Make it with New, run it with Run
// (or Poll), and Close it when done.
type Alerter struct {
	st        store.Store
	cfg       Config
	log       *slog.Logger
	token     uuid.UUID
	lease     time.Duration
	http      *http.Client
	transport *http.Transport // the alerter's own, when it made the client
}

// FieldError is what New returns for a bad Config: store.FieldError naming the field.
type FieldError = store.FieldError

// New returns an alerter on st, which must be migrated. A bad config is a *FieldError
// naming the field.
func New(st store.Store, cfg Config) (*Alerter, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	a := &Alerter{st: st, cfg: c, log: c.Logger, token: uuid.Must(uuid.NewV7()), http: c.HTTPClient}
	if a.http == nil {
		a.transport = http.DefaultTransport.(*http.Transport).Clone()
		a.http = &http.Client{
			Transport: a.transport,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	// A lease must outlast the delivery of one alert to every sink, retries included: it is
	// renewed after each alert.
	sinks := 0
	if c.OnDeadLetter != nil || c.OnGroupThreshold != nil {
		sinks++
	}
	if c.WebhookURL != "" {
		sinks++
	}
	perSink := time.Duration(c.MaxAttempts)*c.AttemptTimeout + time.Duration(c.MaxAttempts-1)*c.MaxRetryBackoff*3/2
	a.lease = time.Duration(sinks)*perSink + 30*time.Second
	return a, nil
}

func (cfg Config) withDefaults() (Config, error) {
	c := cfg
	if c.OnDeadLetter == nil && c.OnGroupThreshold == nil && c.WebhookURL == "" {
		return c, &FieldError{Field: "Alerts", Message: "needs OnDeadLetter, OnGroupThreshold or WebhookURL"}
	}
	if c.WebhookURL != "" {
		u, err := url.Parse(c.WebhookURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return c, &FieldError{Field: "Alerts.WebhookURL", Message: "must be an http:// or https:// URL"}
		}
	}
	if c.GroupThreshold < 0 {
		return c, &FieldError{Field: "Alerts.GroupThreshold", Message: "must not be negative"}
	}
	ints := []struct {
		name string
		v    *int
		def  int
	}{{"BatchSize", &c.BatchSize, DefaultBatchSize}, {"MaxAttempts", &c.MaxAttempts, DefaultMaxAttempts}}
	for _, i := range ints {
		if *i.v < 0 {
			return c, &FieldError{Field: "Alerts." + i.name, Message: "must not be negative"}
		}
		if *i.v == 0 {
			*i.v = i.def
		}
	}
	if c.MaxAttempts > 100 {
		return c, &FieldError{Field: "Alerts.MaxAttempts", Message: "must be at most 100"}
	}
	durations := []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"PollInterval", &c.PollInterval, DefaultPollInterval},
		{"AttemptTimeout", &c.AttemptTimeout, DefaultAttemptTimeout},
		{"RetryBackoff", &c.RetryBackoff, DefaultRetryBackoff},
		{"MaxRetryBackoff", &c.MaxRetryBackoff, DefaultMaxRetryBackoff},
		{"History", &c.History, DefaultHistory},
	}
	for _, d := range durations {
		if *d.v < 0 {
			return c, &FieldError{Field: "Alerts." + d.name, Message: "must not be negative"}
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if c.MaxRetryBackoff < c.RetryBackoff {
		c.MaxRetryBackoff = c.RetryBackoff
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c, nil
}

// Close releases the connections of the alerter's own HTTP client. Call it after Run returned.
func (a *Alerter) Close() {
	if a.transport != nil {
		a.transport.CloseIdleConnections()
	}
}

// Run polls until ctx ends: at once, then every PollInterval. Failures are logged and
// retried at the next poll.
func (a *Alerter) Run(ctx context.Context) {
	t := time.NewTicker(a.cfg.PollInterval)
	defer t.Stop()
	for {
		if _, err := a.Poll(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("sluice: alerts: polling failed; will retry", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// PollResult counts what one Poll did.
type PollResult struct {
	// Entries and Groups count the alerts acknowledged: delivered, or given up on.
	Entries, Groups int
	// GaveUp counts the alerts of either kind that some sink gave up on.
	GaveUp int
}

// Poll delivers every pending dead-letter alert it can lease, in batches, then the group
// alerts that are due. When ctx ends it gives back the alerts it leased and has not
// delivered, and returns ctx's error.
func (a *Alerter) Poll(ctx context.Context) (PollResult, error) {
	var res PollResult
	for {
		entries, err := a.st.ClaimDeadAlerts(ctx, store.AlertClaim{Token: a.token, Limit: a.cfg.BatchSize, Lease: a.lease})
		if err != nil {
			return res, fmt.Errorf("claim dead-letter alerts: %w", err)
		}
		for _, e := range entries {
			out, err := a.deliverEntry(ctx, e)
			if err != nil {
				a.giveBack()
				return res, err
			}
			if out.gaveUp {
				res.GaveUp++
			}
			ack := store.AlertAck{ID: e.ID, GaveUp: out.gaveUp, Delivered: out.delivered}
			n, err := a.st.AckDeadAlerts(ctx, a.token, []store.AlertAck{ack}, a.lease)
			if err != nil {
				// Not acknowledged: delivered again once the lease expires.
				a.giveBack()
				return res, fmt.Errorf("acknowledge the alert of entry %s: %w", e.ID, err)
			}
			if n == 0 {
				a.log.Warn("sluice: alerts: lease lost; another alerter delivers the rest of the batch again",
					"entry_id", e.ID)
				break
			}
			res.Entries++
		}
		if len(entries) < a.cfg.BatchSize {
			break
		}
	}
	if _, err := a.st.PruneAlertLog(ctx, a.cfg.History, pruneBatch); err != nil {
		return res, fmt.Errorf("prune the alert log: %w", err)
	}
	if a.cfg.GroupThreshold == 0 || (a.cfg.OnGroupThreshold == nil && a.cfg.WebhookURL == "") {
		return res, nil
	}
	if _, err := a.st.RearmGroupAlerts(ctx, a.cfg.GroupThreshold); err != nil {
		return res, fmt.Errorf("re-arm group alerts: %w", err)
	}
	groups, err := a.st.ClaimGroupAlerts(ctx, store.GroupAlertClaim{Threshold: a.cfg.GroupThreshold,
		Token: a.token, Limit: groupClaimLimit, Lease: a.lease})
	if err != nil {
		return res, fmt.Errorf("claim group alerts: %w", err)
	}
	for _, g := range groups {
		out, err := a.deliverGroup(ctx, g)
		if err != nil {
			// The crossings left are taken again when their lease expires.
			return res, err
		}
		if out.gaveUp {
			res.GaveUp++
		}
		if _, err := a.st.AckGroupAlert(ctx, g, a.token, store.AlertAck{GaveUp: out.gaveUp, Delivered: out.delivered}); err != nil {
			return res, fmt.Errorf("acknowledge the alert of group %s: %w", g.Signature, err)
		}
		res.Groups++
	}
	return res, nil
}

// giveBack releases the alerts this alerter leased and has not acknowledged, so that the
// next poll (here or elsewhere) takes them at once rather than when the lease expires.
func (a *Alerter) giveBack() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := a.st.AckDeadAlerts(ctx, a.token, nil, 0); err != nil {
		a.log.Warn("sluice: alerts: giving back leased alerts failed; they are taken again when the lease expires", "error", err)
	}
}

// outcome is how an alert's delivery to every sink ended: whether a sink gave up, and how
// many sinks took it.
type outcome struct {
	gaveUp    bool
	delivered int
}

// add counts one sink's result.
func (o *outcome) add(done bool) {
	if done {
		o.delivered++
	} else {
		o.gaveUp = true
	}
}

// deliverEntry delivers an entry's alert to every sink. It returns an error only if ctx
// ended before the delivery was done.
func (a *Alerter) deliverEntry(ctx context.Context, e store.DeadJob) (outcome, error) {
	id := alertID{EventDeadLettered, e.ID}
	attrs := []any{"event", EventDeadLettered, "entry_id", e.ID, "app_id", e.AppID, "type", e.Type}
	var out outcome
	if a.cfg.OnDeadLetter != nil {
		done, err := a.retry(ctx, id, SinkCallback, attrs, func(ctx context.Context) error {
			return a.cfg.OnDeadLetter(ctx, e)
		})
		if err != nil {
			return out, err
		}
		out.add(done)
	}
	if a.cfg.WebhookURL != "" {
		shown := e
		if a.cfg.RedactPayload != nil {
			shown.Payload = a.cfg.RedactPayload(e.Type, e.Payload)
		}
		body, err := encodeEnvelope(envelope{Event: EventDeadLettered, ID: e.ID.String(), Entry: &shown})
		if err != nil {
			return out, err
		}
		done, err := a.retry(ctx, id, SinkWebhook, attrs, func(ctx context.Context) error {
			return a.post(ctx, EventDeadLettered, e.ID.String(), body)
		})
		if err != nil {
			return out, err
		}
		out.add(done)
	}
	return out, nil
}

// deliverGroup delivers a crossing's alert to every sink, with the group as it is now.
func (a *Alerter) deliverGroup(ctx context.Context, g store.GroupAlert) (outcome, error) {
	var out outcome
	group := store.FailureGroup{AppID: g.AppID, Type: g.Type, Signature: g.Signature, Count: g.Count}
	found, err := a.st.DeadGroups(ctx, store.DeadFilter{AppID: &g.AppID, Type: g.Type, Group: g.Signature}, 1)
	if err != nil {
		return out, fmt.Errorf("read group %s: %w", g.Signature, err)
	}
	if len(found) == 1 {
		group = found[0]
	}
	id := alertID{EventGroupThreshold, g.ID}
	attrs := []any{"event", EventGroupThreshold, "app_id", g.AppID, "type", g.Type, "signature", g.Signature,
		"count", group.Count, "threshold", a.cfg.GroupThreshold}
	a.log.Info("sluice: alerts: a failure group reached the threshold", attrs...)
	if a.cfg.OnGroupThreshold != nil {
		done, err := a.retry(ctx, id, SinkCallback, attrs, func(ctx context.Context) error {
			return a.cfg.OnGroupThreshold(ctx, group)
		})
		if err != nil {
			return out, err
		}
		out.add(done)
	}
	if a.cfg.WebhookURL != "" {
		threshold := a.cfg.GroupThreshold
		body, err := encodeEnvelope(envelope{Event: EventGroupThreshold, ID: g.ID.String(), Threshold: &threshold, Group: &group})
		if err != nil {
			return out, err
		}
		done, err := a.retry(ctx, id, SinkWebhook, attrs, func(ctx context.Context) error {
			return a.post(ctx, EventGroupThreshold, g.ID.String(), body)
		})
		if err != nil {
			return out, err
		}
		out.add(done)
	}
	return out, nil
}

// alertID names an alert: its event and id (the entry's, or the crossing's).
type alertID struct {
	event string
	id    uuid.UUID
}

// permanentError is a failed attempt not worth retrying.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// retryAfterError is a failed attempt whose answer said when to try again.
type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// retry runs attempt until it succeeds, fails permanently, or MaxAttempts are spent, each
// under AttemptTimeout, backing off in between. It reports whether the alert was delivered
// (false: given up, logged and counted), and returns an error only if ctx ended first.
func (a *Alerter) retry(ctx context.Context, id alertID, sink string, attrs []any, attempt func(context.Context) error) (bool, error) {
	event := id.event
	var err error
	for n := 1; n <= a.cfg.MaxAttempts; n++ {
		err = a.once(ctx, attempt)
		if err == nil {
			if a.cfg.Observer != nil {
				a.cfg.Observer.AlertDelivered(event, sink)
			}
			a.log.Debug("sluice: alerts: delivered", append(attrs, "sink", sink, "attempt", n)...)
			return true, nil
		}
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		if a.cfg.Observer != nil {
			a.cfg.Observer.AlertAttemptFailed(event, sink)
		}
		var perm *permanentError
		if errors.As(err, &perm) || n == a.cfg.MaxAttempts {
			a.noteAttempt(ctx, id, sink, err, 0)
			break
		}
		wait := a.backoff(n)
		var ra *retryAfterError
		if errors.As(err, &ra) && ra.after > wait {
			wait = min(ra.after, a.cfg.MaxRetryBackoff)
		}
		a.noteAttempt(ctx, id, sink, err, wait)
		a.log.Warn("sluice: alerts: delivery failed; will retry", append(attrs, "sink", sink, "attempt", n, "retry_in", wait, "error", err)...)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false, ctx.Err()
		case <-t.C:
		}
	}
	if a.cfg.Observer != nil {
		a.cfg.Observer.AlertFailed(event, sink)
	}
	a.log.Error("sluice: alerts: delivery failed; giving up on this alert", append(attrs, "sink", sink, "error", err)...)
	return false, nil
}

// noteAttempt records a failed attempt with the alert, for operators (store.Alerts.ListAlerts):
// its error, prefixed by the sink, and the wait before the next (0: none). Failing to record
// it is logged and changes nothing else.
func (a *Alerter) noteAttempt(ctx context.Context, id alertID, sink string, err error, retry time.Duration) {
	msg := validate.ErrorText(sink+": "+err.Error(), validate.MaxErrorBytes)
	if _, nerr := a.st.NoteAlertAttempt(ctx, a.token, store.AlertAttempt{Event: id.event, ID: id.id, Error: msg, Retry: retry}); nerr != nil {
		a.log.Warn("sluice: alerts: recording a failed attempt failed", "event", id.event, "id", id.id, "error", nerr)
	}
}

// once runs one attempt under AttemptTimeout, turning a panic into an error.
func (a *Alerter) once(ctx context.Context, attempt func(context.Context) error) (err error) {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.AttemptTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return attempt(ctx)
}

// backoff is the wait after the n-th failed attempt.
func (a *Alerter) backoff(n int) time.Duration {
	d := a.cfg.RetryBackoff
	for i := 1; i < n && d < a.cfg.MaxRetryBackoff; i++ {
		d *= 2
	}
	d = min(d, a.cfg.MaxRetryBackoff)
	return time.Duration(float64(d) * (0.5 + rand.Float64()))
}
