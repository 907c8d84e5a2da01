package sluice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/internal/redact"
	"github.com/sluicehq/sluice/internal/validate"
	"github.com/sluicehq/sluice/store"
)

// Client is Sluice's Go API: it enqueues jobs, runs workers for the handlers registered on it,
// and gives access to apps, jobs and the dead-letter queue. It is safe for concurrent use.
type Client struct {
	store     store.Store
	cfg       Config
	ownsStore bool

	// redactor masks payloads for display (Config.Redact); nil masks nothing.
	redactor *redact.Redactor

	mu       sync.Mutex
	handlers map[string]*handler // by job type
	// schedules are the periodic schedules registered with Periodic, in order.
	schedules []registered
	engine    *engine // non-nil while started

	// knownApps holds app ids this client has seen exist, so that enqueueing by app id does
	// not look the app up every time. (Names are always looked up: an app can be renamed.)
	// DeleteApp forgets the id; should another process delete the app, the jobs table's
	// foreign key still refuses its jobs.
	knownApps sync.Map
}

// NewClient returns a client on an open store. The caller keeps ownership of st.
// A bad config is a *FieldError naming the field.
func NewClient(st store.Store, cfg *Config) (*Client, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	r, err := redact.Parse("Redact", c.Redact)
	if err != nil {
		return nil, err
	}
	return &Client{store: st, cfg: c, redactor: r, handlers: map[string]*handler{}}, nil
}

// RedactPayload returns the payload of a job of this type as Config.Redact says to show it:
// the values at the configured paths replaced by "[redacted]". It is what the HTTP API, the
// web UI, the CLI and the retention export show; handlers, replays and the store always have
// the payload itself. Without rules, or when none matches, it returns payload unchanged.
func (c *Client) RedactPayload(jobType string, payload json.RawMessage) json.RawMessage {
	return c.redactor.Payload(jobType, payload)
}

// Store returns the client's store.
func (c *Client) Store() store.Store { return c.store }

// Close stops the client if it is running (waiting as Stop does with ctx) and closes the
// store if the client opened it.
func (c *Client) Close(ctx context.Context) error {
	err := c.Stop(ctx)
	if errors.Is(err, ErrStopped) {
		err = nil
	}
	if c.ownsStore {
		err = errors.Join(err, c.store.Close())
	}
	return err
}

// CreateApp creates an app (a tenant). A bad or taken name is a *FieldError on "name" (the
// taken one wraps ErrConflict).
func (c *Client) CreateApp(ctx context.Context, name string) (App, error) {
	if err := validate.AppName("name", name); err != nil {
		return App{}, err
	}
	return c.store.CreateApp(ctx, App{ID: newID(), Name: name})
}

// SetAppLimits replaces the limits of the app with this id or name (zero fields: no limit)
// and returns it. Every worker process enforces them through the database: at most
// MaxRunning of the app's jobs run (or are claimed ahead) at once, in all queues; at most
// Rate start per second on average, Burst at once after a quiet spell (Burst defaults to the
// rate rounded up). Bad limits are a *FieldError naming "maxRunning", "rate" or "burst".
func (c *Client) SetAppLimits(ctx context.Context, idOrName string, limits AppLimits) (App, error) {
	limits, err := validate.AppLimits("", limits)
	if err != nil {
		return App{}, err
	}
	id, err := c.resolveApp(ctx, "app", idOrName)
	if err != nil {
		return App{}, err
	}
	return c.store.SetAppLimits(ctx, id, limits)
}

// ListApps returns every app, ordered by name.
func (c *Client) ListApps(ctx context.Context) ([]App, error) {
	return c.store.ListApps(ctx)
}

// GetApp returns the app with this id or name, or ErrNotFound. App names are never shaped
// like UUIDs, so the argument is never ambiguous.
func (c *Client) GetApp(ctx context.Context, idOrName string) (App, error) {
	if id, err := uuid.Parse(idOrName); err == nil {
		return c.store.GetApp(ctx, id)
	}
	if validate.AppName("name", idOrName) != nil {
		return App{}, ErrNotFound // no app can have this name: no need to ask the database
	}
	return c.store.GetAppByName(ctx, idOrName)
}

// resolveApp returns the id of the app named by id or name, or a *FieldError on field
// wrapping ErrNotFound.
func (c *Client) resolveApp(ctx context.Context, field, idOrName string) (uuid.UUID, error) {
	if idOrName == "" {
		return uuid.Nil, store.Fieldf(field, "is required")
	}
	if id, err := uuid.Parse(idOrName); err == nil {
		if _, known := c.knownApps.Load(id); known {
			return id, nil
		}
	}
	app, err := c.GetApp(ctx, idOrName)
	if errors.Is(err, ErrNotFound) {
		return uuid.Nil, unknownApp(field, idOrName)
	}
	if err == nil {
		c.knownApps.Store(app.ID, struct{}{})
	}
	return app.ID, err
}

// NewJob describes a job to enqueue.
type NewJob struct {
	// App is the app's id or name. Required.
	App string
	// Type is the job type, which picks its handler. Required.
	Type string
	// Payload is the job's arguments: any value that encodes to a JSON object or array, or
	// json.RawMessage holding one.
	Payload any
	// Queue defaults to the type's queue (TypeOptions.Queue) or "default".
	Queue string
	// Priority is -100..100, lower first among the app's own jobs: claims are shared fairly
	// between apps, so no app's priority overtakes another app's jobs. Defaults to 0.
	Priority int
	// MaxAttempts is 1..1000. Defaults to the type's, or 25.
	MaxAttempts int
	// RunAt schedules the job; zero means now.
	RunAt time.Time
	// UniqueKey, when set, makes the enqueue idempotent per app: while a job of the app with
	// this key is pending or running, enqueue returns that job and inserts nothing.
	UniqueKey string
	// Tags are free-form labels to find the job (and its dead-letter entry, and the job a
	// replay makes of it) by: at most 16, each 1–64 characters of printable ASCII without
	// spaces or commas, none twice. Listings filter by one (JobFilter.Tag, Filter.Tag).
	Tags []string
}

// Enqueue inserts one job. Bad input is a *FieldError naming the field ("app", "type",
// "payload", ...); an unknown app wraps ErrNotFound.
//
// When ctx carries a valid OpenTelemetry span context, the job keeps its W3C trace context
// (traceparent and tracestate), and each attempt's span is a child of that span (see
// Config.TracerProvider); the job's dead-letter entry keeps it too. The same holds for
// EnqueueMany and EnqueueTx.
func (c *Client) Enqueue(ctx context.Context, job NewJob) (EnqueueResult, error) {
	res, err := c.enqueue(ctx, nil, []NewJob{job}, "")
	if err != nil {
		return EnqueueResult{}, err
	}
	return res[0], nil
}

// EnqueueMany inserts jobs in one round trip, all or none. Bad input is a *FieldError naming
// the job and field ("jobs[2].payload").
func (c *Client) EnqueueMany(ctx context.Context, jobs []NewJob) ([]EnqueueResult, error) {
	return c.enqueue(ctx, nil, jobs, "jobs")
}

// Tx is a transaction the caller began on the client's own database, for EnqueueTx: a pgx.Tx
// on PostgreSQL (begun on any pool or connection to that database), a *sql.Tx on SQLite
// (begun on the store's DB(), sqlitestore.Store.DB).
type Tx = store.ExternalTx

// EnqueueTx inserts jobs inside tx, the caller's own transaction: workers see them once tx
// commits, and never if it rolls back. A transaction of the other store's kind is ErrTxType.
// On SQLite, tx holds the only write connection until it ends: do not call other writing
// client methods from the same goroutine before committing.
func (c *Client) EnqueueTx(ctx context.Context, tx Tx, jobs ...NewJob) ([]EnqueueResult, error) {
	if tx == nil {
		return nil, store.Fieldf("tx", "is required")
	}
	return c.enqueue(ctx, tx, jobs, "jobs")
}

func (c *Client) enqueue(ctx context.Context, tx store.ExternalTx, jobs []NewJob, listField string) ([]EnqueueResult, error) {
	if len(jobs) == 0 {
		return nil, nil
	}
	apps := map[string]uuid.UUID{}
	inserts := make([]store.InsertJob, len(jobs))
	trace := traceOf(ctx)
	for i, j := range jobs {
		prefix := ""
		if listField != "" {
			prefix = fmt.Sprintf("%s[%d].", listField, i)
		}
		ins, err := c.prepareJob(prefix, j)
		if err != nil {
			return nil, err
		}
		appID, ok := apps[j.App]
		if !ok {
			if appID, err = c.resolveApp(ctx, prefix+"app", j.App); err != nil {
				return nil, err
			}
			apps[j.App] = appID
		}
		ins.AppID, ins.Trace = appID, trace
		inserts[i] = ins
	}
	res, err := c.store.InsertJobs(ctx, tx, inserts)
	if err != nil {
		return nil, err
	}
	if obs := c.cfg.Observer; obs != nil {
		for i := range res {
			if !res[i].Duplicate {
				obs.JobEnqueued(&res[i].Job)
			}
		}
	}
	if tx == nil {
		c.wakeFor(inserts)
	}
	return res, nil
}

// prepareJob validates a job and fills in its defaults (all but the app).
func (c *Client) prepareJob(prefix string, j NewJob) (store.InsertJob, error) {
	if err := validate.Identifier(prefix+"type", j.Type); err != nil {
		return store.InsertJob{}, err
	}
	payload, err := encodePayload(prefix+"payload", j.Payload)
	if err != nil {
		return store.InsertJob{}, err
	}
	ins := store.InsertJob{ID: newID(), Type: j.Type, Queue: j.Queue, Priority: j.Priority,
		Payload: payload, MaxAttempts: j.MaxAttempts, UniqueKey: j.UniqueKey}
	c.mu.Lock()
	h := c.handlers[j.Type]
	c.mu.Unlock()
	if ins.Queue == "" {
		ins.Queue = validate.DefaultQueue
		if h != nil {
			ins.Queue = h.opts.Queue
		}
	}
	if ins.MaxAttempts == 0 {
		ins.MaxAttempts = validate.DefaultMaxAttempts
		if h != nil {
			ins.MaxAttempts = h.opts.MaxAttempts
		}
	}
	if err := validate.Identifier(prefix+"queue", ins.Queue); err != nil {
		return ins, err
	}
	if err := validate.Priority(prefix+"priority", ins.Priority); err != nil {
		return ins, err
	}
	if err := validate.MaxAttempts(prefix+"maxAttempts", ins.MaxAttempts); err != nil {
		return ins, err
	}
	if err := validate.UniqueKey(prefix+"uniqueKey", ins.UniqueKey); err != nil {
		return ins, err
	}
	if len(j.Tags) > 0 {
		if err := validate.Tags(prefix+"tags", j.Tags); err != nil {
			return ins, err
		}
		ins.Tags = slices.Clone(j.Tags)
	}
	if !j.RunAt.IsZero() {
		if err := validate.Time(prefix+"runAt", j.RunAt); err != nil {
			return ins, err
		}
		runAt := j.RunAt.UTC()
		ins.RunAt = &runAt
	}
	return ins, nil
}

// encodePayload turns a NewJob payload into validated JSON.
func encodePayload(field string, payload any) (json.RawMessage, error) {
	var raw []byte
	switch p := payload.(type) {
	case nil:
		return nil, store.Fieldf(field, "is required")
	case json.RawMessage:
		raw = p
	default:
		var err error
		if raw, err = json.Marshal(p); err != nil {
			return nil, &FieldError{Field: field, Message: "does not encode to JSON: " + err.Error(), Err: err}
		}
	}
	if err := validate.Payload(field, raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// Stats counts jobs by state and un-replayed dead-letter entries per app and job type,
// ordered by app id then type.
func (c *Client) Stats(ctx context.Context) ([]TypeStats, error) {
	return c.store.Stats(ctx)
}

// GetJob returns the job with this id, or ErrNotFound.
func (c *Client) GetJob(ctx context.Context, id uuid.UUID) (Job, error) {
	return c.store.GetJob(ctx, id)
}

// JobFilter selects jobs in a listing; empty fields match everything.
type JobFilter struct {
	// App is an app id or name.
	App string
	// Type is a job type.
	Type string
	// Status is pending, running, completed or cancelled.
	Status JobStatus
	// Tag is one tag the jobs have.
	Tag string
}

// ListOptions page a listing.
type ListOptions struct {
	// Limit is the page size, 1..1000. Defaults to 50.
	Limit int
	// Cursor is the NextCursor of the previous page; empty for the first page. A cursor only
	// works with the filter that produced it.
	Cursor string
	// All includes replayed dead-letter entries (DLQ listings only).
	All bool
}

// Listing limits.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// ListJobs returns one page of jobs matching the filter, newest first. Bad input is a
// *FieldError ("app", "status", "limit", "cursor").
func (c *Client) ListJobs(ctx context.Context, f JobFilter, opts ListOptions) (Page[Job], error) {
	limit, err := validate.Limit("limit", opts.Limit, DefaultPageSize, MaxPageSize)
	if err != nil {
		return Page[Job]{}, err
	}
	if _, err := validate.Status("status", string(f.Status)); err != nil {
		return Page[Job]{}, err
	}
	if f.Type != "" {
		if err := validate.Identifier("type", f.Type); err != nil {
			return Page[Job]{}, err
		}
	}
	if f.Tag != "" {
		if err := validate.Tag("tag", f.Tag); err != nil {
			return Page[Job]{}, err
		}
	}
	sf := store.JobFilter{Type: f.Type, Status: f.Status, Tag: f.Tag}
	if f.App != "" {
		id, err := c.resolveApp(ctx, "app", f.App)
		if err != nil {
			return Page[Job]{}, err
		}
		sf.AppID = &id
	}
	parts := []any{sf.AppID, f.Type, string(f.Status)}
	if f.Tag != "" { // appended only when set, so that cursors made before tags still work
		parts = append(parts, f.Tag)
	}
	key := filterKey("jobs", parts...)
	before, err := decodeCursor(opts.Cursor, key)
	if err != nil {
		return Page[Job]{}, err
	}
	jobs, err := c.store.ListJobs(ctx, sf, store.Page{Limit: limit + 1, Before: before})
	if err != nil {
		return Page[Job]{}, err
	}
	return makePage(jobs, limit, key, func(j Job) uuid.UUID { return j.ID }), nil
}

// makePage trims a listing fetched with limit+1 rows and sets the cursor when there is more.
func makePage[T any](items []T, limit int, key string, id func(T) uuid.UUID) Page[T] {
	if items == nil {
		items = []T{}
	}
	if len(items) <= limit {
		return Page[T]{Items: items}
	}
	items = items[:limit]
	return Page[T]{Items: items, NextCursor: encodeCursor(id(items[limit-1]), key)}
}

// newID returns a UUIDv7, the id of every row Sluice creates.
func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }
