package sluice

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"golang.org/x/time/rate"

	"github.com/sluicehq/sluice/internal/signature"
	"github.com/sluicehq/sluice/internal/validate"
	"github.com/sluicehq/sluice/store"
)

// DLQ is the dead-letter queue: every job that failed for good, with its full error history,
// found by app and type and replayed safely, one at a time or in bulk.
type DLQ struct{ c *Client }

// DLQ returns the client's dead-letter queue.
func (c *Client) DLQ() *DLQ { return &DLQ{c: c} }

// Filter selects dead-letter entries; it serves listing, bulk replay and purge alike. Zero
// fields match everything.
type Filter struct {
	// App is an app id or name.
	App string `json:"app,omitempty"`
	// Type is a job type.
	Type string `json:"type,omitempty"`
	// FailedAfter matches entries that failed at or after it.
	FailedAfter time.Time `json:"failedAfter,omitzero"`
	// FailedBefore matches entries that failed before it.
	FailedBefore time.Time `json:"failedBefore,omitzero"`
	// ErrorContains matches entries with an error in their history containing this text
	// (case-sensitive).
	ErrorContains string `json:"errorContains,omitempty"`
	// Group matches the entries of one failure group: a FailureGroup's Signature (16 hex
	// digits, or "unknown" for the entries written without one). See Groups.
	Group string `json:"group,omitempty"`
	// Tag matches the entries whose job had this tag (see NewJob.Tags).
	Tag string `json:"tag,omitempty"`
}

// IsEmpty reports whether the filter matches everything.
func (f Filter) IsEmpty() bool { return f == Filter{} }

// resolve validates the filter and turns it into the store's, looking its app up.
func (d *DLQ) resolve(ctx context.Context, f Filter) (store.DeadFilter, error) {
	sf, err := checkFilter(f)
	if err != nil || f.App == "" {
		return sf, err
	}
	id, err := d.c.resolveApp(ctx, "app", f.App)
	if err != nil {
		return sf, err
	}
	sf.AppID = &id
	return sf, nil
}

// checkFilter validates every field of the filter but its app, which only the store can
// resolve, and returns the store's filter without it. It asks nothing of the database, so
// bad input is refused before any query.
func checkFilter(f Filter) (store.DeadFilter, error) {
	sf := store.DeadFilter{Type: f.Type, ErrorContains: f.ErrorContains}
	if f.Type != "" {
		if err := validate.Identifier("type", f.Type); err != nil {
			return sf, err
		}
	}
	for _, t := range []struct {
		field string
		v     time.Time
		dst   **time.Time
	}{{"failedAfter", f.FailedAfter, &sf.FailedAfter}, {"failedBefore", f.FailedBefore, &sf.FailedBefore}} {
		if t.v.IsZero() {
			continue
		}
		if err := validate.Time(t.field, t.v); err != nil {
			return sf, err
		}
		v := t.v.UTC()
		*t.dst = &v
	}
	if sf.FailedAfter != nil && sf.FailedBefore != nil && !sf.FailedAfter.Before(*sf.FailedBefore) {
		return sf, store.Fieldf("failedBefore", "must be later than failedAfter")
	}
	if f.ErrorContains != "" {
		if err := validate.UniqueKey("errorContains", f.ErrorContains); err != nil {
			return sf, err
		}
	}
	if f.Group != "" && !signature.Valid(f.Group) {
		return sf, store.Fieldf("group", "must be a failure group's signature (16 lowercase hex digits, or %s)", signature.Unknown)
	}
	sf.Group = f.Group
	if f.Tag != "" {
		if err := validate.Tag("tag", f.Tag); err != nil {
			return sf, err
		}
	}
	sf.Tag = f.Tag
	return sf, nil
}

// ByApp lists un-replayed entries of one app, newest first. See List.
func (d *DLQ) ByApp(ctx context.Context, appID uuid.UUID, limit int, cursor string) (Page[DeadJob], error) {
	return d.List(ctx, Filter{App: appID.String()}, ListOptions{Limit: limit, Cursor: cursor})
}

// ByType lists un-replayed entries of one job type, newest first. See List.
func (d *DLQ) ByType(ctx context.Context, jobType string, limit int, cursor string) (Page[DeadJob], error) {
	if jobType == "" {
		return Page[DeadJob]{}, store.Fieldf("type", "is required")
	}
	return d.List(ctx, Filter{Type: jobType}, ListOptions{Limit: limit, Cursor: cursor})
}

// List returns one page of entries matching the filter, newest failure first (id
// descending): un-replayed ones only unless opts.All. Walking every page with NextCursor
// yields each entry that matched throughout the walk exactly once, while others arrive or
// are replayed. Bad input is a *FieldError ("app", "limit", "cursor", ...); a cursor from
// another filter is refused.
func (d *DLQ) List(ctx context.Context, f Filter, opts ListOptions) (Page[DeadJob], error) {
	limit, err := validate.Limit("limit", opts.Limit, DefaultPageSize, MaxPageSize)
	if err != nil {
		return Page[DeadJob]{}, err
	}
	sf, err := d.resolve(ctx, f)
	if err != nil {
		return Page[DeadJob]{}, err
	}
	sf.IncludeReplayed = opts.All
	parts := []any{sf.AppID, sf.Type, timeKey(sf.FailedAfter), timeKey(sf.FailedBefore), sf.ErrorContains, sf.IncludeReplayed, sf.Group}
	if sf.Tag != "" { // appended only when set, so that cursors made before tags still work
		parts = append(parts, sf.Tag)
	}
	key := filterKey("dlq", parts...)
	before, err := decodeCursor(opts.Cursor, key)
	if err != nil {
		return Page[DeadJob]{}, err
	}
	items, err := d.c.store.ListDead(ctx, sf, store.Page{Limit: limit + 1, Before: before})
	if err != nil {
		return Page[DeadJob]{}, err
	}
	return makePage(items, limit, key, func(e DeadJob) uuid.UUID { return e.ID }), nil
}

func timeKey(t *time.Time) int64 {
	if t == nil {
		return 0
	}
	return t.UnixNano()
}

// GroupOptions bound a listing of failure groups.
type GroupOptions struct {
	// Limit is how many groups to return, 1..1000. Defaults to 50.
	Limit int
}

// Groups returns the failure groups of the un-replayed entries matching the filter: per app,
// type and error signature, how many entries, when the first and the last of them failed, and
// the newest one's last error as a sample with its normalised text (see FailureGroup). An
// entry's signature is that of its last error with what varies between occurrences of one
// failure masked: numbers, UUIDs and hex ids, IP addresses and ports, e-mail addresses, URLs'
// query and user information, quoted values. Entries written without a signature (by a
// Sluice older than migration 0005) are the group "unknown" of their app and type.
//
// The groups come ranked: most entries first, then latest failure first, then by app id,
// type and signature; at most opts.Limit of them, the top of a ranking that changes as
// entries arrive, so it has no cursor. To see every group, walk them in key order with
// ListGroups. A group's Signature, as Filter.Group, lists, replays and purges exactly its
// entries.
func (d *DLQ) Groups(ctx context.Context, f Filter, opts GroupOptions) ([]FailureGroup, error) {
	limit, err := validate.Limit("limit", opts.Limit, DefaultPageSize, MaxPageSize)
	if err != nil {
		return nil, err
	}
	sf, err := d.resolve(ctx, f)
	if err != nil {
		return nil, err
	}
	return d.c.store.DeadGroups(ctx, sf, limit)
}

// ListGroups returns one page of the failure groups of the un-replayed entries matching the
// filter (the groups of Groups, each as Groups shows it) in key order: by app id, then type,
// then signature, each in byte order, where an app and type's group "unknown" comes after
// its signatures. Walking every page with NextCursor yields each group that has un-replayed
// entries matching the filter for the whole walk exactly once, while entries arrive, are
// replayed or purged: a group that appears or empties meanwhile is walked if it has entries
// when the walk reaches its key. A group's count, times and sample are as of the page that
// holds it. Bad input is a *FieldError ("app", "limit", "cursor", ...); a cursor from another
// filter or listing is refused, and so is opts.All (groups hold only un-replayed entries).
func (d *DLQ) ListGroups(ctx context.Context, f Filter, opts ListOptions) (Page[FailureGroup], error) {
	limit, err := validate.Limit("limit", opts.Limit, DefaultPageSize, MaxPageSize)
	if err != nil {
		return Page[FailureGroup]{}, err
	}
	if opts.All {
		return Page[FailureGroup]{}, store.Fieldf("all", "does not apply: failure groups hold only un-replayed entries")
	}
	sf, err := d.resolve(ctx, f)
	if err != nil {
		return Page[FailureGroup]{}, err
	}
	key := filterKey("groups", sf.AppID, sf.Type, timeKey(sf.FailedAfter), timeKey(sf.FailedBefore), sf.ErrorContains, sf.Group, sf.Tag)
	after, err := decodeKeyCursor(opts.Cursor, key)
	if err != nil {
		return Page[FailureGroup]{}, err
	}
	items, err := d.c.store.DeadGroupsByKey(ctx, sf, after, limit+1)
	if err != nil {
		return Page[FailureGroup]{}, err
	}
	if items == nil {
		items = []FailureGroup{}
	}
	if len(items) <= limit {
		return Page[FailureGroup]{Items: items}, nil
	}
	items = items[:limit]
	return Page[FailureGroup]{Items: items, NextCursor: encodeKeyCursor(items[limit-1].Key(), key)}, nil
}

// Get returns the entry with this id, or ErrNotFound.
func (d *DLQ) Get(ctx context.Context, id uuid.UUID) (DeadJob, error) {
	return d.c.store.GetDead(ctx, id)
}

// Replay puts the entry back to work, atomically and at most once: the entry is marked
// replayed and exactly one new job (fresh id, attempts 0, same app, type, payload and queue,
// ReplayedFrom set to the entry) is inserted, in one transaction. It returns that job, or
// ErrNotFound, or ErrAlreadyReplayed (also to every loser of a race), or a *FieldError
// wrapping ErrConflict when a live job holds the entry's unique key (the entry then stays
// un-replayed).
func (d *DLQ) Replay(ctx context.Context, id uuid.UUID) (Job, error) {
	entry, err := d.c.store.GetDead(ctx, id)
	if err != nil {
		return Job{}, err
	}
	if entry.ReplayedAt != nil {
		return Job{}, ErrAlreadyReplayed
	}
	audit := newAudit(ctx, "dlq.replay", &entry.AppID, map[string]any{"id": id})
	job, err := d.c.store.ReplayDead(ctx, store.ReplayParams{ID: id, Defaults: d.c.typeDefaults(entry.Type), Audit: audit})
	if err != nil {
		return Job{}, err
	}
	d.c.observeReplayed(1)
	d.c.wakeFor([]store.InsertJob{{Queue: job.Queue}})
	return job, nil
}

// typeDefaults are what a replay fills in for an entry that lacks its own queue or budget.
func (c *Client) typeDefaults(jobType string) store.ReplayDefaults {
	def := store.ReplayDefaults{Queue: validate.DefaultQueue, MaxAttempts: validate.DefaultMaxAttempts}
	c.mu.Lock()
	defer c.mu.Unlock()
	if h := c.handlers[jobType]; h != nil {
		def = store.ReplayDefaults{Queue: h.opts.Queue, MaxAttempts: h.opts.MaxAttempts}
	}
	return def
}

// ReplayOptions tune a bulk replay (ReplayMany, StartReplay).
type ReplayOptions struct {
	// DryRun counts what would be replayed and changes nothing.
	DryRun bool
	// Rate caps replays per second; 0 means as fast as the batches go.
	Rate float64
	// BatchSize is how many entries one transaction replays, 1..1000. Defaults to 1000.
	// ReplayMany only: an operation's batches are 1000 entries, fewer with a Rate.
	BatchSize int
	// Attempts, when not 0, is the attempt budget (max_attempts, 1..1000) of every replayed
	// job. 0 gives each a fresh budget: attempts 0 of the job's own max_attempts (its type's
	// default for an entry written without one).
	Attempts int `json:"attempts,omitempty"`
	// PayloadPatch, when set, is a JSON merge patch (RFC 7386: a JSON object, at most 64 KiB)
	// applied to each entry's payload for its new job; the entry keeps its own payload. An
	// entry whose patched payload would be larger than 1 MiB is left un-replayed and counted
	// as failed. An operation keeps the patch in its record.
	PayloadPatch json.RawMessage `json:"payloadPatch,omitempty"`
	// IncludeLoops replays the entries produced by a replay (DeadJob.ReplayOf set: the entry's
	// job was itself a replay, and failed again) too. Without it they are skipped (and counted
	// as skipped by an operation), so that a bulk replay does not loop.
	IncludeLoops bool `json:"includeLoops,omitempty"`
}

// ReplayResult reports a bulk replay.
type ReplayResult struct {
	// Matched is how many un-replayed entries matched the filter.
	Matched int `json:"matched"`
	// Replayed is how many of them this call replayed.
	Replayed int `json:"replayed"`
	// Conflicts is how many were left un-replayed because a live job holds their unique key.
	Conflicts int `json:"conflicts"`
	// Invalid is how many were left un-replayed because their patched payload is too large.
	Invalid int `json:"invalid,omitempty"`
	// Loops is how many entries produced by a replay were skipped (see IncludeLoops).
	Loops int `json:"loops,omitempty"`
}

// Bulk-operation batch sizes.
const (
	defaultReplayBatch = 1000
	purgeBatch         = 1000
)

// ReplayMany replays every un-replayed entry matching the filter, newest first, in bounded
// batches of one transaction each, each entry at most once (see Replay), within this call:
// it is the synchronous bulk replay of the Go API, recorded only in the audit log. Entries
// dead-lettered after the call began are left alone, and so are entries produced by a replay
// unless opts.IncludeLoops (counted in Matched and in Loops). The
// filter must not be empty. If ctx ends midway, the result counts what was done and the
// error says why it stopped. A bulk replay that must outlive the process, be paused or
// followed by others is an operation: see StartReplay (which the CLI and the HTTP API use).
func (d *DLQ) ReplayMany(ctx context.Context, f Filter, opts ReplayOptions) (ReplayResult, error) {
	if f.IsEmpty() {
		return ReplayResult{}, store.Fieldf("filter", "needs at least one of app, type, failedAfter, failedBefore, errorContains, group, tag")
	}
	batchSize, err := validate.Limit("batchSize", opts.BatchSize, defaultReplayBatch, MaxPageSize)
	if err != nil {
		return ReplayResult{}, err
	}
	if err := checkReplayOptions(opts); err != nil {
		return ReplayResult{}, err
	}
	sf, err := d.resolve(ctx, f)
	if err != nil {
		return ReplayResult{}, err
	}
	newest, err := d.c.store.ListDead(ctx, sf, store.Page{Limit: 1})
	if err != nil || len(newest) == 0 {
		return ReplayResult{}, err
	}
	sf.Through = &newest[0].ID
	if opts.DryRun {
		n, err := d.c.store.CountDead(ctx, sf)
		return ReplayResult{Matched: int(n)}, err
	}
	var limiter *rate.Limiter
	if opts.Rate > 0 {
		batchSize = max(1, min(batchSize, int(opts.Rate)))
		limiter = rate.NewLimiter(rate.Limit(opts.Rate), batchSize)
	}
	defaults := d.c.typeDefaults(f.Type)
	audit := newAudit(ctx, "dlq.replay_many", sf.AppID, map[string]any{"filter": f, "rate": opts.Rate})
	var res ReplayResult
	var before *uuid.UUID
	for {
		if limiter != nil {
			if err := limiter.WaitN(ctx, batchSize); err != nil {
				return res, err
			}
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
		b, err := d.c.store.ReplayDeadBatch(ctx, sf, store.ReplayBatch{Before: before, Limit: batchSize, Defaults: defaults,
			Audit: audit, Attempts: opts.Attempts, PayloadPatch: compactJSON(opts.PayloadPatch), SkipLoops: !opts.IncludeLoops})
		if err != nil {
			return res, err
		}
		res.Matched += b.Considered
		res.Replayed += b.Replayed
		res.Conflicts += b.Conflicts
		res.Invalid += b.Invalid
		res.Loops += b.Loops
		if b.Replayed > 0 {
			d.c.observeReplayed(b.Replayed)
			d.c.wakeAllLocal()
		}
		if b.Considered < batchSize {
			return res, nil
		}
		before = b.LastID
	}
}

// PurgeOptions tune a purge.
type PurgeOptions struct {
	// ReplayedOnly purges only entries that have been replayed.
	ReplayedOnly bool
	// DryRun counts what would be purged and changes nothing.
	DryRun bool
	// All must be set to purge with an empty filter: every entry.
	All bool
}

// PurgeResult reports a purge.
type PurgeResult struct {
	Matched int `json:"matched"`
	Purged  int `json:"purged"`
}

// Purge deletes the entries matching the filter, replayed or not (only replayed ones with
// ReplayedOnly), in bounded batches. Entries dead-lettered after the call began are left
// alone. An empty filter needs opts.All or opts.ReplayedOnly.
func (d *DLQ) Purge(ctx context.Context, f Filter, opts PurgeOptions) (PurgeResult, error) {
	if f.IsEmpty() && !opts.All && !opts.ReplayedOnly {
		return PurgeResult{}, store.Fieldf("filter", "needs at least one of app, type, failedAfter, failedBefore, errorContains, group, tag (or all, to purge everything)")
	}
	sf, err := d.resolve(ctx, f)
	if err != nil {
		return PurgeResult{}, err
	}
	sf.IncludeReplayed = true
	sf.ReplayedOnly = opts.ReplayedOnly
	newest, err := d.c.store.ListDead(ctx, sf, store.Page{Limit: 1})
	if err != nil || len(newest) == 0 {
		return PurgeResult{}, err
	}
	sf.Through = &newest[0].ID
	n, err := d.c.store.CountDead(ctx, sf)
	if err != nil || opts.DryRun {
		return PurgeResult{Matched: int(n)}, err
	}
	res := PurgeResult{Matched: int(n)}
	audit := newAudit(ctx, "dlq.purge", sf.AppID, map[string]any{"filter": f, "replayedOnly": opts.ReplayedOnly})
	for {
		deleted, err := d.c.store.PurgeDeadBatch(ctx, sf, store.PurgeBatch{Limit: purgeBatch, Audit: audit})
		res.Purged += deleted
		if err != nil || deleted < purgeBatch {
			return res, err
		}
	}
}

// Delete deletes one entry, replayed or not, or returns ErrNotFound.
func (d *DLQ) Delete(ctx context.Context, id uuid.UUID) error {
	entry, err := d.c.store.GetDead(ctx, id)
	if err != nil {
		return err
	}
	return d.c.store.DeleteDead(ctx, id, newAudit(ctx, "dlq.delete", &entry.AppID, map[string]any{"id": id}))
}

// newAudit starts the audit record of one operation by the context's actor.
func newAudit(ctx context.Context, action string, app *uuid.UUID, details map[string]any) *store.Audit {
	raw, err := json.Marshal(details)
	if err != nil || details == nil {
		raw = []byte("{}")
	}
	return &store.Audit{ID: newID(), Actor: actorOf(ctx), Action: action, AppID: app, Details: raw}
}

// observeReplayed reports n replayed entries to the observer, if any.
func (c *Client) observeReplayed(n int) {
	if c.cfg.Observer != nil {
		c.cfg.Observer.DeadReplayed(n)
	}
}

// wakeAllLocal prompts every producer of a running client to look for jobs now.
func (c *Client) wakeAllLocal() {
	c.mu.Lock()
	e := c.engine
	c.mu.Unlock()
	if e != nil {
		e.wakeAll()
	}
}
