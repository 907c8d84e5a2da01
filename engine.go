package sluice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/sluicehq/sluice/alert"
	"github.com/sluicehq/sluice/internal/clock"
	"github.com/sluicehq/sluice/store"
)

// The engine is what runs while a client is started. Data flows one way:
//
//	producer (claim) → executor (run handler) → completer (apply outcome, fenced)
//
// with the heartbeat renewing the leases of everything between claim and applied outcome,
// the rescuer turning other workers' expired leases into failed attempts, the listener
// waking producers when jobs become ready, the scheduler (with schedules registered by
// Client.Periodic) enqueueing periodic ticks, and the alerter (with Config.Alerts) delivering
// alerts.
type engine struct {
	st       store.Store
	cfg      Config
	log      *slog.Logger
	handlers map[string]*handler
	tracer   trace.Tracer

	producers map[string]*producer // by queue
	running   runningSet
	completer *completer
	alerter   *alert.Alerter // nil without Config.Alerts
	scheduler *scheduler     // nil without periodic schedules
	// client and replayWake serve the replayer: the client's replay operations, and a nudge
	// to look for them now.
	client     *Client
	replayWake chan struct{}
	// renewNow prompts the heartbeat to renew at once: a cancel was asked for.
	renewNow chan struct{}
	// leaseWrites takes turns between the statements that write many of this client's leased
	// rows at once and wait for their locks: lease renewals and outcomes. Two of them locking
	// the same rows in different orders would deadlock, and PostgreSQL would break the cycle
	// only after its deadlock_timeout (a second by default), failing one of them.
	leaseWrites sync.Mutex

	fetchCancel context.CancelFunc // stops producers
	jobsCtx     context.Context    // parent of every handler's context
	jobsCancel  context.CancelCauseFunc
	bgCancel    context.CancelFunc // stops heartbeat, rescuer, listener, replayer

	producersWG sync.WaitGroup
	handlersWG  sync.WaitGroup
	bgWG        sync.WaitGroup
}

// Causes of a handler's context ending, besides its timeout.
var (
	errShutdown  = errors.New("sluice: worker shutting down")
	errLeaseLost = errors.New("sluice: lease lost: the job was rescued or changed by someone else")
	errTimeout   = errors.New("sluice: attempt timed out")
)

// Start starts working the configured queues for the registered handlers: claiming due
// jobs, running them, renewing their leases, rescuing other workers' expired leases and
// listening for new jobs, advancing bulk replay operations, running retention (unless
// Config.Retention.Disabled), ticking the schedules registered with Periodic, and delivering
// alerts if Config.Alerts is set. ctx bounds start-up only. It fails if the schema is not fully
// migrated, if a handler's queue is not in Config.Queues, if a schedule's app does not exist
// (a *FieldError on "app" wrapping ErrNotFound), or if the client is already running.
func (c *Client) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.engine != nil {
		return errors.New("sluice: client already started")
	}
	migrations, err := c.store.MigrationStatus(ctx)
	if err != nil {
		return fmt.Errorf("sluice: read schema version: %w", err)
	}
	for _, m := range migrations {
		if m.AppliedAt == nil {
			return fmt.Errorf("sluice: schema migration %04d_%s is not applied; run `sluice migrate up`", m.Version, m.Name)
		}
	}
	if health, err := c.store.Health(ctx); err != nil {
		c.cfg.Logger.Debug("sluice: reading database health failed; not checking its durability settings", "error", err)
	} else {
		for _, w := range health.Warnings {
			c.cfg.Logger.Warn("sluice: the database runs with weakened durability", "backend", c.store.Backend(), "warning", w)
		}
	}
	typesByQueue := map[string][]string{}
	for t, h := range c.handlers {
		if _, ok := c.cfg.Queues[h.opts.Queue]; !ok {
			return &FieldError{Field: "Queues", Message: fmt.Sprintf("has no queue %q, which job type %s is handled on", h.opts.Queue, t)}
		}
		typesByQueue[h.opts.Queue] = append(typesByQueue[h.opts.Queue], t)
	}
	e := &engine{
		st:        c.store,
		cfg:       c.cfg,
		log:       c.cfg.Logger,
		handlers:  make(map[string]*handler, len(c.handlers)),
		tracer:    c.cfg.TracerProvider.Tracer(TracerName),
		producers: map[string]*producer{},
		running:   runningSet{m: map[store.Lease]*attempt{}},
		client:    c,

		replayWake: make(chan struct{}, 1),
		renewNow:   make(chan struct{}, 1),
	}
	for t, h := range c.handlers {
		e.handlers[t] = h
	}
	for queue, types := range typesByQueue {
		sort.Strings(types)
		e.producers[queue] = newProducer(e, queue, types, c.cfg.Queues[queue].Concurrency)
	}
	e.completer = newCompleter(e)
	if len(c.schedules) > 0 {
		if e.scheduler, err = c.newScheduler(ctx, e); err != nil {
			return err
		}
	}
	if c.cfg.Alerts != nil {
		ac := *c.cfg.Alerts
		if ac.RedactPayload == nil && c.redactor != nil {
			ac.RedactPayload = c.redactor.Payload
		}
		if e.alerter, err = alert.New(c.store, ac); err != nil {
			return err
		}
	}
	e.start()
	c.engine = e
	return nil
}

// Stop stops claiming jobs and waits for running handlers to return, then applies their
// outcomes and stops. If ctx ends first, Stop cancels the handlers' contexts (their jobs are
// released, due again at once and without spending the attempt) and waits up to
// Config.CancelGrace more; handlers still running after that are abandoned to their leases,
// and Stop returns ctx's error. Stop returns ErrStopped if the client is not running.
func (c *Client) Stop(ctx context.Context) error {
	c.mu.Lock()
	e := c.engine
	c.engine = nil
	c.mu.Unlock()
	if e == nil {
		return ErrStopped
	}
	return e.stop(ctx)
}

func (e *engine) start() {
	fetchCtx, fetchCancel := context.WithCancel(context.Background())
	e.fetchCancel = fetchCancel
	e.jobsCtx, e.jobsCancel = context.WithCancelCause(context.Background())
	bgCtx, bgCancel := context.WithCancel(context.Background())
	e.bgCancel = bgCancel

	e.completer.start()
	for _, p := range e.producers {
		e.producersWG.Add(1)
		go func() {
			defer e.producersWG.Done()
			p.run(fetchCtx, &e.handlersWG)
		}()
	}
	loops := []func(context.Context){e.heartbeat, e.rescuer, e.listener, e.replayer}
	if e.alerter != nil {
		loops = append(loops, e.alerter.Run)
	}
	if e.scheduler != nil {
		loops = append(loops, e.scheduler.run)
	}
	if !e.cfg.Retention.Disabled {
		loops = append(loops, e.retention)
	}
	for _, loop := range loops {
		e.bgWG.Add(1)
		go func() {
			defer e.bgWG.Done()
			loop(bgCtx)
		}()
	}
	e.log.Info("sluice: worker started", "queues", len(e.producers), "types", len(e.handlers))
}

func (e *engine) stop(ctx context.Context) error {
	e.fetchCancel()
	e.producersWG.Wait()

	handlersDone := make(chan struct{})
	go func() {
		e.handlersWG.Wait()
		close(handlersDone)
	}()
	var err error
	select {
	case <-handlersDone:
	case <-ctx.Done():
		err = ctx.Err()
		e.jobsCancel(errShutdown)
		grace := time.NewTimer(e.cfg.CancelGrace)
		select {
		case <-handlersDone:
		case <-grace.C:
			e.log.Warn("sluice: handlers still running after cancel; leaving them to their leases",
				"running", e.running.len())
		}
		grace.Stop()
	}
	e.completer.stop()
	e.bgCancel()
	e.bgWG.Wait()
	if e.alerter != nil {
		e.alerter.Close()
	}
	e.jobsCancel(errShutdown)
	e.log.Info("sluice: worker stopped")
	return err
}

// wakeAll prompts every producer to look for jobs now.
func (e *engine) wakeAll() {
	for _, p := range e.producers {
		p.signal()
	}
}

// wakeAfter prompts the queue's producer to look again when a job this worker put back
// becomes due, if that is sooner than its next poll.
func (e *engine) wakeAfter(queue string, d time.Duration) {
	if p := e.producers[queue]; p != nil && d < e.cfg.PollInterval {
		time.AfterFunc(d, p.signal)
	}
}

// wakeFor is called after this client inserted jobs: the producers of their queues look at
// once (notifications from the database may come later, or not at all).
func (c *Client) wakeFor(jobs []store.InsertJob) {
	c.mu.Lock()
	e := c.engine
	c.mu.Unlock()
	if e == nil {
		return
	}
	now := clock.Now()
	for _, j := range jobs {
		if p := e.producers[j.Queue]; p != nil && (j.RunAt == nil || !j.RunAt.After(now)) {
			p.signal()
		}
	}
}

// attempt is one claimed job from claim until its outcome is applied.
type attempt struct {
	job      Job
	lease    store.Lease
	ctx      context.Context
	cancel   context.CancelCauseFunc
	finished atomic.Bool // the outcome has been handed to the completer
	// cancelRequested is set when the heartbeat learns an operator asked to cancel the job.
	cancelRequested atomic.Bool
}

// runningSet holds the attempts whose leases the heartbeat renews, by lease: one job can have
// two attempts here when this worker lost a lease and then claimed the job again.
type runningSet struct {
	mu sync.Mutex
	m  map[store.Lease]*attempt
}

func (r *runningSet) add(a *attempt) {
	r.mu.Lock()
	r.m[a.lease] = a
	r.mu.Unlock()
}

func (r *runningSet) remove(a *attempt) {
	r.mu.Lock()
	delete(r.m, a.lease)
	r.mu.Unlock()
}

func (r *runningSet) get(l store.Lease) *attempt {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m[l]
}

func (r *runningSet) leases() []store.Lease {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]store.Lease, 0, len(r.m))
	for _, a := range r.m {
		out = append(out, a.lease)
	}
	return out
}

func (r *runningSet) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.m)
}
