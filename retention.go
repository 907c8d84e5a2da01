package sluice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/internal/clock"
	"github.com/sluicehq/sluice/internal/redact"
	"github.com/sluicehq/sluice/internal/validate"
	"github.com/sluicehq/sluice/store"
)

// RetentionKind is what a retention policy applies to: "completed" or "cancelled" jobs,
// "replayed" or "unreplayed" dead-letter entries.
type RetentionKind = store.RetentionKind

// The kinds of rows retention deletes.
const (
	RetainCompleted  = store.RetainCompleted
	RetainCancelled  = store.RetainCancelled
	RetainReplayed   = store.RetainReplayed
	RetainUnreplayed = store.RetainUnreplayed
)

// RetentionPolicy is a stored retention policy.
type RetentionPolicy = store.RetentionPolicy

// TrimReport records un-replayed dead-letter entries of one app and type that retention
// deleted; see Client.TrimReports.
type TrimReport = store.TrimReport

// Policy is a retention policy to set: rows of Kind in its scope (App, an app's id or name,
// or every app when empty; Type, or every type when empty) older than MaxAge, or beyond the
// newest MaxCount of the scope, are deleted. At least one of MaxAge and MaxCount must be set.
//
// The most specific policy covering a row is the one that applies to it: app and type, then
// app, then type, then every app and type. Completed and cancelled jobs are aged by when they
// ended, dead-letter entries by when they failed; MaxCount counts the rows the policy
// governs, and deletes the oldest (by id) beyond it.
type Policy struct {
	Kind     RetentionKind `json:"kind"`
	App      string        `json:"app,omitempty"`
	Type     string        `json:"type,omitempty"`
	MaxAge   time.Duration `json:"-"`
	MaxCount int64         `json:"maxCount,omitempty"`
}

// RetentionConfig configures retention: the defaults that apply where no stored policy of a
// kind covers every app and type, and how the runner in every started client works.
type RetentionConfig struct {
	// Disabled stops started clients from running retention (RunRetention still works).
	Disabled bool
	// Interval is the time between passes; the first comes a random half to whole Interval
	// after Start. Defaults to 5m.
	Interval time.Duration
	// BatchSize bounds the rows one transaction deletes. Defaults to 1000.
	BatchSize int
	// BatchPause is the pause between two batches of a pass, so that retention never holds
	// the database for long. Defaults to 10ms.
	BatchPause time.Duration
	// CompletedMaxAge and CancelledMaxAge keep completed and cancelled jobs this long after
	// they ended; ReplayedMaxAge keeps replayed dead-letter entries this long after they
	// failed. They apply to every app and type unless a stored policy of the kind for every
	// app and type replaces them; a more specific stored policy overrides them in its scope.
	// Defaults: 7 days, 7 days, 30 days. Negative: keep for ever. There is no default for
	// un-replayed entries: only a stored policy deletes them.
	CompletedMaxAge time.Duration
	CancelledMaxAge time.Duration
	ReplayedMaxAge  time.Duration
	// ExportDir, when set, is where un-replayed entries are appended, one JSON object per
	// line (the DLQ's JSON field names), to dlq-trimmed-YYYY-MM-DD.jsonl (UTC date), and
	// fsynced, before the transaction that deletes them commits. If the export fails,
	// nothing is deleted.
	ExportDir string
}

const (
	defaultRetentionInterval = 5 * time.Minute
	defaultRetentionBatch    = 1000
	defaultRetentionPause    = 10 * time.Millisecond
	defaultCompletedMaxAge   = 7 * 24 * time.Hour
	defaultCancelledMaxAge   = 7 * 24 * time.Hour
	defaultReplayedMaxAge    = 30 * 24 * time.Hour
)

func (r *RetentionConfig) withDefaults() error {
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"Retention.Interval", &r.Interval, defaultRetentionInterval},
		{"Retention.BatchPause", &r.BatchPause, defaultRetentionPause},
	} {
		if *d.v < 0 {
			return &FieldError{Field: d.name, Message: "must not be negative"}
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if r.BatchSize < 0 || r.BatchSize > 100000 {
		return &FieldError{Field: "Retention.BatchSize", Message: "must be 1..100000"}
	}
	if r.BatchSize == 0 {
		r.BatchSize = defaultRetentionBatch
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&r.CompletedMaxAge, defaultCompletedMaxAge}, {&r.CancelledMaxAge, defaultCancelledMaxAge}, {&r.ReplayedMaxAge, defaultReplayedMaxAge}} {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	return nil
}

// SetRetention creates the policy for its kind and scope, or replaces the limits of the one
// there is, and records the change in the audit log in the same transaction (action
// "retention.create" or "retention.update", by the context's actor; see WithActor). Bad
// input is a *FieldError ("kind", "app", "type", "maxAge", "maxCount").
func (c *Client) SetRetention(ctx context.Context, p Policy) (RetentionPolicy, error) {
	if !p.Kind.Valid() {
		return RetentionPolicy{}, store.Fieldf("kind", "must be completed, cancelled, replayed or unreplayed")
	}
	if p.Type != "" {
		if err := validate.Identifier("type", p.Type); err != nil {
			return RetentionPolicy{}, err
		}
	}
	if p.MaxAge < 0 || (p.MaxAge > 0 && p.MaxAge < time.Millisecond) {
		return RetentionPolicy{}, store.Fieldf("maxAge", "must be at least 1ms")
	}
	if p.MaxCount < 0 {
		return RetentionPolicy{}, store.Fieldf("maxCount", "must not be negative")
	}
	if p.MaxAge == 0 && p.MaxCount == 0 {
		return RetentionPolicy{}, store.Fieldf("maxAge", "a policy needs a max age, a max count or both")
	}
	sp := RetentionPolicy{ID: newID(), Kind: p.Kind, MaxAge: p.MaxAge.Truncate(time.Millisecond), MaxCount: p.MaxCount}
	sp.Type = p.Type
	if p.App != "" {
		id, err := c.resolveApp(ctx, "app", p.App)
		if err != nil {
			return RetentionPolicy{}, err
		}
		sp.AppID = &id
	}
	return c.store.PutRetentionPolicy(ctx, sp, policyAudit(ctx))
}

// ListRetention returns the stored policies, by kind, then app (every app first), then type.
func (c *Client) ListRetention(ctx context.Context) ([]RetentionPolicy, error) {
	return c.store.ListRetentionPolicies(ctx)
}

// DeleteRetention deletes a stored policy and records it in the audit log in the same
// transaction (action "retention.delete"), or returns ErrNotFound.
func (c *Client) DeleteRetention(ctx context.Context, id uuid.UUID) error {
	_, err := c.store.DeleteRetentionPolicy(ctx, id, policyAudit(ctx))
	return err
}

// policyAudit starts the audit row of a change to a retention policy by the context's actor;
// the store completes it (store.PolicyAudit).
func policyAudit(ctx context.Context) *store.Audit {
	return &store.Audit{ID: newID(), Actor: actorOf(ctx)}
}

// TrimReports returns one page of the reports of un-replayed entries retention deleted,
// newest first: the undismissed ones, or all with opts.All.
func (c *Client) TrimReports(ctx context.Context, opts ListOptions) (Page[TrimReport], error) {
	limit, err := validate.Limit("limit", opts.Limit, DefaultPageSize, MaxPageSize)
	if err != nil {
		return Page[TrimReport]{}, err
	}
	key := filterKey("trim-reports", opts.All)
	before, err := decodeCursor(opts.Cursor, key)
	if err != nil {
		return Page[TrimReport]{}, err
	}
	items, err := c.store.ListTrimReports(ctx, !opts.All, store.Page{Limit: limit + 1, Before: before})
	if err != nil {
		return Page[TrimReport]{}, err
	}
	return makePage(items, limit, key, func(r TrimReport) uuid.UUID { return r.ID }), nil
}

// TrimReport returns one trim report, or ErrNotFound.
func (c *Client) TrimReport(ctx context.Context, id uuid.UUID) (TrimReport, error) {
	return c.store.GetTrimReport(ctx, id)
}

// DismissTrimReport marks a report dismissed by by (an operator's name), so the UI stops
// showing it. Dismissing one already dismissed changes nothing. A missing one is ErrNotFound.
func (c *Client) DismissTrimReport(ctx context.Context, id uuid.UUID, by string) (TrimReport, error) {
	return c.store.DismissTrimReport(ctx, id, by)
}

// RetentionOptions say how RunRetention runs.
type RetentionOptions struct {
	// DryRun deletes nothing and reports what a pass would delete (up to 100,000 rows per
	// policy).
	DryRun bool
}

// RetentionResult is what one retention pass deleted (or, with DryRun, would delete).
type RetentionResult struct {
	DryRun bool `json:"dryRun"`
	// Deleted counts the rows of each kind.
	Deleted map[RetentionKind]int `json:"deleted"`
	// Trims break them down per policy, app and type.
	Trims []RetentionTrim `json:"trims"`
}

// RetentionTrim is what a pass deleted of one app and type under one policy.
type RetentionTrim struct {
	Kind RetentionKind `json:"kind"`
	// PolicyID is the stored policy, absent for a default from RetentionConfig.
	PolicyID *uuid.UUID `json:"policyId,omitempty"`
	Policy   string     `json:"policy"`
	store.TrimGroup
}

// RetentionObserver is what an Observer also implements to count retention's deletions
// (package metrics' does).
type RetentionObserver interface {
	// RetentionDeleted reports n rows of kind deleted by this client's retention.
	RetentionDeleted(kind RetentionKind, n int)
	// DeadTrimmed reports n un-replayed entries of an app and type deleted by retention.
	DeadTrimmed(appID uuid.UUID, jobType string, n int)
}

// effectivePolicies returns the stored policies and the config's defaults for the kinds
// with no stored policy for every app and type.
func (c *Client) effectivePolicies(ctx context.Context) ([]RetentionPolicy, error) {
	stored, err := c.store.ListRetentionPolicies(ctx)
	if err != nil {
		return nil, err
	}
	global := map[RetentionKind]bool{}
	for _, p := range stored {
		if p.AppID == nil && p.Type == "" {
			global[p.Kind] = true
		}
	}
	r := c.cfg.Retention
	out := stored
	for _, d := range []struct {
		kind RetentionKind
		age  time.Duration
	}{{RetainCompleted, r.CompletedMaxAge}, {RetainCancelled, r.CancelledMaxAge}, {RetainReplayed, r.ReplayedMaxAge}} {
		if !global[d.kind] && d.age > 0 {
			out = append(out, RetentionPolicy{Kind: d.kind, MaxAge: d.age})
		}
	}
	return out, nil
}

// RunRetention runs one retention pass now: for every policy (stored, or a default of
// RetentionConfig), it deletes in batches of RetentionConfig.BatchSize what the policy no
// longer keeps. Un-replayed entries are exported first (RetentionConfig.ExportDir), and every
// batch of them is logged, counted and recorded as a trim report in its own transaction.
// Several passes at once, in one process or many, are safe: each batch skips the rows
// another holds.
func (c *Client) RunRetention(ctx context.Context, opts RetentionOptions) (RetentionResult, error) {
	res := RetentionResult{DryRun: opts.DryRun, Deleted: map[RetentionKind]int{}, Trims: []RetentionTrim{}}
	policies, err := c.effectivePolicies(ctx)
	if err != nil {
		return res, err
	}
	var errs []error
	for _, kind := range store.RetentionKinds {
		for _, p := range policies {
			if p.Kind != kind {
				continue
			}
			var exclude []store.RetentionScope
			for _, q := range policies {
				if q.Kind == kind && q.Specificity() > p.Specificity() && q.Overlaps(p.RetentionScope) {
					exclude = append(exclude, q.RetentionScope)
				}
			}
			if err := c.trimPolicy(ctx, p, exclude, opts.DryRun, &res); err != nil {
				if ctx.Err() != nil {
					return res, ctx.Err()
				}
				c.cfg.Logger.Warn("sluice: retention failed for a policy; will retry on the next pass",
					"policy", p.String(), "error", err)
				errs = append(errs, fmt.Errorf("policy %s: %w", p.String(), err))
			}
		}
	}
	return res, errors.Join(errs...)
}

// trimPolicy deletes what one policy no longer keeps, batch by batch.
func (c *Client) trimPolicy(ctx context.Context, p RetentionPolicy, exclude []store.RetentionScope, dryRun bool, res *RetentionResult) error {
	cfg := c.cfg.Retention
	var policyID *uuid.UUID
	if p.ID != uuid.Nil {
		id := p.ID
		policyID = &id
	}
	desc := p.String()
	if policyID == nil {
		desc += " (default)"
	}
	b := store.TrimBatch{Kind: p.Kind, Scope: p.RetentionScope, Exclude: exclude, MaxAge: p.MaxAge, MaxCount: p.MaxCount,
		Limit: cfg.BatchSize, PolicyID: policyID, Policy: desc, DryRun: dryRun}
	if dryRun {
		b.Limit = 100000
	}
	var export string
	if p.Kind == RetainUnreplayed && cfg.ExportDir != "" {
		// One file per pass of a policy, named by the day it began.
		export = exportPath(cfg.ExportDir)
		b.BeforeDelete = func(ctx context.Context, entries []store.DeadJob) error {
			return exportEntries(export, entries, c.redactor)
		}
		b.ExportFile = export
	}
	obs, _ := c.cfg.Observer.(RetentionObserver)
	for first := true; ; first = false {
		if !first && !dryRun && cfg.BatchPause > 0 {
			t := time.NewTimer(cfg.BatchPause)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		out, err := c.store.TrimBatch(ctx, b)
		if err != nil {
			return err
		}
		for _, g := range out.Groups {
			res.add(RetentionTrim{Kind: p.Kind, PolicyID: policyID, Policy: desc, TrimGroup: g})
		}
		res.Deleted[p.Kind] += out.Deleted
		if !dryRun && out.Deleted > 0 {
			if obs != nil {
				obs.RetentionDeleted(p.Kind, out.Deleted)
			}
			for _, g := range out.Groups {
				if p.Kind == RetainUnreplayed {
					c.cfg.Logger.Warn("sluice: retention deleted un-replayed dead-letter entries",
						"app", g.AppID, "type", g.Type, "count", g.Count, "min_id", g.MinID, "max_id", g.MaxID,
						"oldest_failed_at", g.Oldest, "newest_failed_at", g.Newest, "policy", desc, "export_file", export)
					if obs != nil {
						obs.DeadTrimmed(g.AppID, g.Type, g.Count)
					}
				} else {
					c.cfg.Logger.Info("sluice: retention deleted rows", "kind", p.Kind, "app", g.AppID, "type", g.Type,
						"count", g.Count, "policy", desc)
				}
			}
		}
		if dryRun || out.Deleted < b.Limit {
			return nil
		}
	}
}

// add merges a trim into the result's entry of the same policy, app and type.
func (r *RetentionResult) add(t RetentionTrim) {
	for i := range r.Trims {
		e := &r.Trims[i]
		if e.Kind == t.Kind && e.Policy == t.Policy && e.AppID == t.AppID && e.Type == t.Type {
			if t.MinID.String() < e.MinID.String() {
				e.MinID = t.MinID
			}
			if t.MaxID.String() > e.MaxID.String() {
				e.MaxID = t.MaxID
			}
			if t.Oldest.Before(e.Oldest) {
				e.Oldest = t.Oldest
			}
			if t.Newest.After(e.Newest) {
				e.Newest = t.Newest
			}
			e.Count += t.Count
			return
		}
	}
	r.Trims = append(r.Trims, t)
}

// exportPath is today's export file in dir.
func exportPath(dir string) string {
	return filepath.Join(dir, "dlq-trimmed-"+clock.Now().UTC().Format("2006-01-02")+".jsonl")
}

// exportEntries appends the entries to the export file, one JSON object per line, their
// payloads redacted (Config.Redact), and fsyncs it (and its directory, when the file is new).
func exportEntries(path string, entries []store.DeadJob, r *redact.Redactor) error {
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("retention export: %w", err)
	}
	var buf []byte
	for i := range entries {
		e := entries[i]
		e.Payload = r.Payload(e.Type, e.Payload)
		line, err := json.Marshal(&e)
		if err != nil {
			f.Close()
			return fmt.Errorf("retention export: %w", err)
		}
		buf = append(append(buf, line...), '\n')
	}
	if _, err := f.Write(buf); err != nil {
		f.Close()
		return fmt.Errorf("retention export: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("retention export: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("retention export: %w", err)
	}
	if os.IsNotExist(statErr) {
		if d, err := os.Open(filepath.Dir(path)); err == nil {
			err = d.Sync()
			d.Close()
			if err != nil {
				return fmt.Errorf("retention export: %w", err)
			}
		}
	}
	return nil
}

// retention is the upkeep loop that runs a retention pass every RetentionConfig.Interval.
// The first pass comes a random half to whole interval after Start, so that processes
// started together spread their passes, and a short-lived process (a benchmark, a test) does
// not scan the tables as it starts. Every process runs one; batches skip what another holds.
func (e *engine) retention(ctx context.Context) {
	interval := e.cfg.Retention.Interval
	wait := interval/2 + time.Duration(rand.Int64N(int64(interval/2)+1))
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = interval
		res, err := e.client.RunRetention(ctx, RetentionOptions{})
		if err != nil && ctx.Err() == nil {
			e.log.Warn("sluice: a retention pass failed; will retry", "error", err)
		}
		if n := res.Deleted; len(n) > 0 {
			e.log.Debug("sluice: retention pass done", "completed", n[RetainCompleted], "cancelled", n[RetainCancelled],
				"replayed", n[RetainReplayed], "unreplayed", n[RetainUnreplayed])
		}
	}
}
