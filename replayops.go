package sluice

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/internal/clock"
	"github.com/sluicehq/sluice/internal/validate"
	"github.com/sluicehq/sluice/store"
)

type (
	// ReplayOperation is a bulk replay recorded as a durable operation: its filter, options
	// and progress. See DLQ.StartReplay.
	ReplayOperation = store.ReplayOp
	// ReplayStatus is the state of a replay operation: running, paused, cancelled, done or
	// failed.
	ReplayStatus = store.ReplayStatus
)

// The states of a replay operation.
const (
	ReplayRunning   = store.ReplayRunning
	ReplayPaused    = store.ReplayPaused
	ReplayCancelled = store.ReplayCancelled
	ReplayDone      = store.ReplayDone
	ReplayFailed    = store.ReplayFailed
)

// MaxPayloadPatch is the largest payload patch accepted, in bytes: 64 KiB.
const MaxPayloadPatch = 64 << 10

// maxReplayGap bounds the wait between two batches of an operation with a tiny rate.
const maxReplayGap = 24 * time.Hour

// replayPollInterval is how often a process following an operation that another process
// advances reads its progress.
const replayPollInterval = 250 * time.Millisecond

// checkReplayOptions validates the options a replay shares (ReplayMany and StartReplay).
func checkReplayOptions(opts ReplayOptions) error {
	if opts.Rate < 0 || math.IsNaN(opts.Rate) || math.IsInf(opts.Rate, 0) {
		return store.Fieldf("rate", "must be a positive number of entries per second, or 0 for no limit")
	}
	if opts.Attempts < 0 || opts.Attempts > validate.MaxMaxAttempts {
		return store.Fieldf("attempts", "must be between 1 and %d, or 0 for a fresh budget", validate.MaxMaxAttempts)
	}
	if len(opts.PayloadPatch) > 0 {
		if len(opts.PayloadPatch) > MaxPayloadPatch {
			return store.Fieldf("payloadPatch", "is %d bytes, more than the %d-byte (64 KiB) limit", len(opts.PayloadPatch), MaxPayloadPatch)
		}
		if err := validate.Payload("payloadPatch", opts.PayloadPatch); err != nil {
			return err
		}
		if b := bytes.TrimLeft(opts.PayloadPatch, " \t\r\n"); b[0] != '{' {
			return store.Fieldf("payloadPatch", "must be a JSON object (a JSON merge patch, RFC 7386)")
		}
	}
	return nil
}

// StartReplay starts a bulk replay of the un-replayed entries matching the filter as a durable
// operation and returns it, running. The filter must not be empty. Entries dead-lettered
// after the call are not part of it.
//
// The operation is recorded in the database, with its options and progress, and is advanced
// in batches (of 1000 entries, fewer with a Rate) by whichever process holds its lease: the
// upkeep of every started Client (workers and `sluice serve`) looks for running operations
// and takes one whose lease is free or has expired, and RunReplay advances one in the
// calling process. Each batch is one transaction that replays its entries exactly as Replay
// does (at most once each), and moves the operation's cursor and counts, only if its process
// still holds the lease: an operation outlives the process running it, is resumed by another
// when that one dies, and never replays an entry twice.
//
// Entries produced by a replay (their job came from a replay and failed again) are skipped
// and counted as skipped unless opts.IncludeLoops; entries a live job's unique key blocks,
// or whose patched payload would be over 1 MiB, are left un-replayed and counted as failed.
// With opts.DryRun nothing is recorded: the result is an operation with no id whose Matched
// counts the entries the filter matches now. Bad input is a *FieldError.
func (d *DLQ) StartReplay(ctx context.Context, f Filter, opts ReplayOptions) (ReplayOperation, error) {
	if f.IsEmpty() {
		return ReplayOperation{}, store.Fieldf("filter", "needs at least one of app, type, failedAfter, failedBefore, errorContains, group, tag")
	}
	if err := checkReplayOptions(opts); err != nil {
		return ReplayOperation{}, err
	}
	if opts.BatchSize != 0 {
		return ReplayOperation{}, store.Fieldf("batchSize", "is not an option of a replay operation (its batches are 1000 entries, fewer with a rate)")
	}
	sf, err := d.resolve(ctx, f)
	if err != nil {
		return ReplayOperation{}, err
	}
	if opts.DryRun {
		n, err := d.c.store.CountDead(ctx, sf)
		return ReplayOperation{Matched: n, Status: ReplayDone, AppID: sf.AppID, Type: sf.Type,
			FailedAfter: sf.FailedAfter, FailedBefore: sf.FailedBefore, ErrorContains: sf.ErrorContains,
			Group: sf.Group, Tag: sf.Tag, Attempts: opts.Attempts, PayloadPatch: opts.PayloadPatch,
			IncludeLoops: opts.IncludeLoops, Rate: opts.Rate}, err
	}
	op := ReplayOperation{ID: newID(), AppID: sf.AppID, Type: sf.Type, FailedAfter: sf.FailedAfter,
		FailedBefore: sf.FailedBefore, ErrorContains: sf.ErrorContains, Group: sf.Group, Tag: sf.Tag,
		Attempts: opts.Attempts, PayloadPatch: compactJSON(opts.PayloadPatch), IncludeLoops: opts.IncludeLoops,
		Rate: opts.Rate, CreatedBy: actorOf(ctx)}
	// Through is the newest matching entry now; with none, the nil UUID, below every id, so
	// the operation finds nothing and is done after its first batch.
	newest, err := d.c.store.ListDead(ctx, sf, store.Page{Limit: 1})
	if err != nil {
		return ReplayOperation{}, err
	}
	if len(newest) > 0 {
		op.Through = newest[0].ID
	}
	audit := opAudit(&op)
	audit.Details = mustJSON(map[string]any{"operation": op.ID, "filter": f, "attempts": opts.Attempts,
		"payloadPatch": op.PayloadPatch, "includeLoops": opts.IncludeLoops, "rate": opts.Rate})
	created, err := d.c.store.CreateReplayOp(ctx, op, audit)
	if err != nil {
		return ReplayOperation{}, err
	}
	d.c.wakeReplays()
	return created, nil
}

// opAudit is the audit row of an operation: the one its start creates and every batch adds
// its replayed entries to (its id is the operation's).
func opAudit(op *ReplayOperation) *store.Audit {
	return &store.Audit{ID: op.ID, Actor: op.CreatedBy, Action: "dlq.replay_many", AppID: op.AppID, Details: json.RawMessage(`{}`)}
}

func mustJSON(v any) json.RawMessage {
	raw, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(`{}`)
	}
	return raw
}

func compactJSON(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw
	}
	return b.Bytes()
}

// Operation returns the replay operation with this id, or ErrNotFound.
func (d *DLQ) Operation(ctx context.Context, id uuid.UUID) (ReplayOperation, error) {
	return d.c.store.GetReplayOp(ctx, id)
}

// OperationFilter selects replay operations. The zero value matches all.
type OperationFilter struct {
	// App, an app id or name, keeps the operations whose filter names that app.
	App string
}

// Operations lists replay operations, newest first, keyset-paged like List.
func (d *DLQ) Operations(ctx context.Context, f OperationFilter, opts ListOptions) (Page[ReplayOperation], error) {
	limit, err := validate.Limit("limit", opts.Limit, DefaultPageSize, MaxPageSize)
	if err != nil {
		return Page[ReplayOperation]{}, err
	}
	var app *uuid.UUID
	if f.App != "" {
		id, err := d.c.resolveApp(ctx, "app", f.App)
		if err != nil {
			return Page[ReplayOperation]{}, err
		}
		app = &id
	}
	key := filterKey("replays", app)
	before, err := decodeCursor(opts.Cursor, key)
	if err != nil {
		return Page[ReplayOperation]{}, err
	}
	items, err := d.c.store.ListReplayOps(ctx, app, store.Page{Limit: limit + 1, Before: before})
	if err != nil {
		return Page[ReplayOperation]{}, err
	}
	return makePage(items, limit, key, func(o ReplayOperation) uuid.UUID { return o.ID }), nil
}

// PauseReplay pauses a running operation: no batch starts until ResumeReplay (a batch in
// flight finishes first). It returns the operation, ErrNotFound, or a *FieldError on "status"
// wrapping ErrConflict when it is not running.
func (d *DLQ) PauseReplay(ctx context.Context, id uuid.UUID) (ReplayOperation, error) {
	return d.setStatus(ctx, id, "dlq.replay_pause", []ReplayStatus{ReplayRunning}, ReplayPaused)
}

// ResumeReplay resumes a paused operation; a running Client takes it up. It returns the
// operation, ErrNotFound, or a *FieldError on "status" wrapping ErrConflict when it is not
// paused.
func (d *DLQ) ResumeReplay(ctx context.Context, id uuid.UUID) (ReplayOperation, error) {
	op, err := d.setStatus(ctx, id, "dlq.replay_resume", []ReplayStatus{ReplayPaused}, ReplayRunning)
	if err == nil {
		d.c.wakeReplays()
	}
	return op, err
}

// CancelReplay ends a running or paused operation for good (a batch in flight finishes
// first); what it replayed stays replayed. It returns the operation, ErrNotFound, or a
// *FieldError on "status" wrapping ErrConflict when it has already ended.
func (d *DLQ) CancelReplay(ctx context.Context, id uuid.UUID) (ReplayOperation, error) {
	return d.setStatus(ctx, id, "dlq.replay_cancel", []ReplayStatus{ReplayRunning, ReplayPaused}, ReplayCancelled)
}

func (d *DLQ) setStatus(ctx context.Context, id uuid.UUID, action string, from []ReplayStatus, to ReplayStatus) (ReplayOperation, error) {
	cur, err := d.c.store.GetReplayOp(ctx, id)
	if err != nil {
		return ReplayOperation{}, err
	}
	audit := newAudit(ctx, action, cur.AppID, map[string]any{"operation": id})
	op, err := d.c.store.SetReplayOpStatus(ctx, id, from, to, audit)
	if errors.Is(err, store.ErrOperationState) {
		cur, _ = d.c.store.GetReplayOp(ctx, id)
		return cur, &FieldError{Field: "status", Message: "the operation is " + string(cur.Status) + ", not " + string(from[0]), Err: ErrConflict}
	}
	return op, err
}

// RunReplay advances the operation in the calling process until it has ended or is paused,
// calling progress (when not nil) after each batch, and returns it. Whenever its lease is free
// or expired the call takes it and replays batches itself; while another process holds it, the
// call follows that process's progress. If ctx ends, the call gives the lease back (so another
// process takes over at once) and returns ctx's error: the operation itself goes on.
func (d *DLQ) RunReplay(ctx context.Context, id uuid.UUID, progress func(ReplayOperation)) (ReplayOperation, error) {
	token := newID()
	var last ReplayOperation
	for {
		op, claimed, err := d.c.store.ClaimReplayOp(ctx, &id, token, d.c.cfg.LeaseDuration)
		if err != nil {
			return last, err
		}
		if claimed {
			if op, err = d.c.advanceReplay(ctx, op, token, progress); err != nil {
				return op, err
			}
		} else if op, err = d.c.store.GetReplayOp(ctx, id); err != nil {
			return last, err
		} else if progress != nil && (op.UpdatedAt != last.UpdatedAt || op.Status != last.Status) {
			progress(op)
		}
		last = op
		if op.Status != ReplayRunning {
			return op, nil
		}
		if !claimed {
			t := time.NewTimer(replayPollInterval)
			select {
			case <-ctx.Done():
				t.Stop()
				return op, ctx.Err()
			case <-t.C:
			}
		}
	}
}

// advanceReplay replays the operation's batches under token's lease until it ends, is paused
// or cancelled, or the lease is lost (the operation is then returned as it is), or ctx ends
// (the lease is given back, and ctx's error returned).
func (c *Client) advanceReplay(ctx context.Context, op ReplayOperation, token uuid.UUID, progress func(ReplayOperation)) (ReplayOperation, error) {
	limit := defaultReplayBatch
	var gap time.Duration // between batch starts, for the rate
	if op.Rate > 0 {
		limit = max(1, min(limit, int(op.Rate)))
		// A rate below one entry a day waits a day between two entries.
		gap = maxReplayGap
		if secs := float64(limit) / op.Rate; secs < maxReplayGap.Seconds() {
			gap = time.Duration(secs * float64(time.Second))
		}
	}
	// The lease must outlast the wait between two batches, which renew it.
	lease := c.cfg.LeaseDuration + gap
	defaults := c.typeDefaults(op.Type)
	audit := opAudit(&op)
	release := func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = c.store.ReleaseReplayOp(rctx, op.ID, token)
	}
	var next time.Time
	for {
		if wait := clock.Until(next); gap > 0 && wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
			case <-t.C:
			}
		}
		if err := ctx.Err(); err != nil {
			release()
			return op, err
		}
		next = clock.Now().Add(gap)
		res, err := c.store.ReplayDeadBatch(ctx, op.Filter(), store.ReplayBatch{
			Limit: limit, Defaults: defaults, Audit: audit, Attempts: op.Attempts,
			PayloadPatch: op.PayloadPatch, SkipLoops: !op.IncludeLoops,
			Op: &store.ReplayOpLease{ID: op.ID, Token: token, Lease: lease},
		})
		if errors.Is(err, store.ErrLeaseLost) {
			// Paused, cancelled, or taken over by another process: its state says which.
			cur, err := c.store.GetReplayOp(ctx, op.ID)
			if err != nil {
				return op, err
			}
			return cur, nil
		}
		if err != nil {
			if ctx.Err() != nil {
				release()
				return op, ctx.Err()
			}
			return op, err
		}
		if res.Replayed > 0 {
			c.observeReplayed(res.Replayed)
			c.wakeAllLocal()
		}
		op = *res.Op
		if progress != nil {
			progress(op)
		}
		if op.Status != ReplayRunning {
			return op, nil
		}
	}
}

// wakeReplays prompts a running client's replay runner to look for operations now.
func (c *Client) wakeReplays() {
	c.mu.Lock()
	e := c.engine
	c.mu.Unlock()
	if e != nil {
		select {
		case e.replayWake <- struct{}{}:
		default:
		}
	}
}

// replayer is the upkeep loop that advances replay operations: it takes a running operation
// whose lease is free or expired, advances it until it ends, pauses or is lost, and looks
// again; when there is none it waits RescueInterval or a local wake-up. Every process runs
// one; the leases make them share the operations without ever replaying an entry twice.
func (e *engine) replayer(ctx context.Context) {
	c := e.client
	token := newID()
	for ctx.Err() == nil {
		op, ok, err := e.st.ClaimReplayOp(ctx, nil, token, e.cfg.LeaseDuration)
		switch {
		case err != nil && ctx.Err() == nil:
			e.log.Warn("sluice: looking for replay operations failed; will retry", "error", err)
		case ok:
			e.log.Info("sluice: advancing a replay operation", "operation", op.ID, "replayed", op.Replayed)
			op, err = c.advanceReplay(ctx, op, token, nil)
			if err != nil && ctx.Err() == nil {
				e.log.Warn("sluice: a replay batch failed; will retry", "operation", op.ID, "error", err)
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				_ = e.st.ReleaseReplayOp(rctx, op.ID, token)
				cancel()
			} else if ctx.Err() == nil {
				e.log.Info("sluice: replay operation left", "operation", op.ID, "status", op.Status,
					"matched", op.Matched, "replayed", op.Replayed, "failed", op.Failed, "skipped", op.Skipped)
				if err == nil {
					continue // look for another at once
				}
			}
		}
		t := time.NewTimer(e.cfg.RescueInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-e.replayWake:
			t.Stop()
		case <-t.C:
		}
	}
}
