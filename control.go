package sluice

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/internal/validate"
	"github.com/sluicehq/sluice/store"
)

type (
	// Pause is one paused scope: see Client.Pause.
	Pause = store.Pause
	// PauseScope is what a pause stops, as stored: an app id, a queue, a type.
	PauseScope = store.PauseScope
)

// CancelReason is the error a job cancelled while pending records in its history.
const CancelReason = "cancelled by an operator before it ran"

// CancelJob cancels the job with this id and returns it after the change.
//
// A pending job (due, scheduled, or waiting for a retry) ends cancelled at once, with
// CancelReason appended to its error history. A running job is marked (Job.CancelRequestedAt)
// and its worker told: on PostgreSQL at once (NOTIFY), on SQLite at once within this process
// and at the worker's next lease renewal (a third of the lease) in others. The worker cancels
// the handler's context with ErrCancelRequested as its cause; when the handler returns an
// error — or retries, snoozes, or is interrupted, or its lease expires — the job ends
// cancelled, with what the handler returned in its history. A handler that finishes its work
// anyway completes the job: the work was done. A cancelled job is never retried,
// dead-lettered or run again.
//
// It returns ErrNotFound for an unknown job (a dead-lettered job has left the jobs table:
// see the DLQ), or a *FieldError on "id" wrapping ErrConflict when the job has already
// ended. Audited as job.cancel.
func (c *Client) CancelJob(ctx context.Context, id uuid.UUID) (Job, error) {
	return c.store.CancelJob(ctx, id, CancelReason, newAudit(ctx, "job.cancel", nil, map[string]any{"job": id}))
}

// RetryJob makes a pending job due now — a retry waiting out its backoff, a job scheduled for
// later, a snoozed job — keeping its attempts and error history, and returns it. It returns
// ErrNotFound, or a *FieldError on "id" wrapping ErrConflict when the job is not pending (a
// dead-lettered job is replayed from the DLQ instead). Audited as job.retry.
func (c *Client) RetryJob(ctx context.Context, id uuid.UUID) (Job, error) {
	job, err := c.store.RetryJob(ctx, id, newAudit(ctx, "job.retry", nil, map[string]any{"job": id}))
	if err == nil {
		c.wakeAllLocal()
	}
	return job, err
}

// DeleteJob deletes a job that is not running (pending, completed or cancelled) and returns
// what it was. A running job is refused with a *FieldError on "id" wrapping ErrConflict:
// cancel it first. ErrNotFound for an unknown job. Audited as job.delete.
func (c *Client) DeleteJob(ctx context.Context, id uuid.UUID) (Job, error) {
	return c.store.DeleteJob(ctx, id, newAudit(ctx, "job.delete", nil, map[string]any{"job": id}))
}

// Scope is what Pause and Resume name: an app (its id or name), a queue, a job type, or a
// combination — say one app's queue. Empty fields match everything; at least one is set.
type Scope struct {
	App   string `json:"app,omitempty"`
	Queue string `json:"queue,omitempty"`
	Type  string `json:"type,omitempty"`
}

// resolveScope validates a scope and resolves its app.
func (c *Client) resolveScope(ctx context.Context, s Scope) (store.PauseScope, error) {
	var out store.PauseScope
	if s.App == "" && s.Queue == "" && s.Type == "" {
		return out, store.Fieldf("scope", "names nothing: give an app, a queue or a type (or a combination)")
	}
	if s.Queue != "" {
		if err := validate.Identifier("queue", s.Queue); err != nil {
			return out, err
		}
		out.Queue = s.Queue
	}
	if s.Type != "" {
		if err := validate.Identifier("type", s.Type); err != nil {
			return out, err
		}
		out.Type = s.Type
	}
	if s.App != "" {
		id, err := c.resolveApp(ctx, "app", s.App)
		if err != nil {
			return out, err
		}
		out.AppID = &id
	}
	return out, nil
}

// Pause stops the claiming of the scope's jobs by every worker, and returns the pause. It is
// strict: once Pause returns, no worker claims a job of the scope until Resume; attempts
// already running finish as usual (their retries wait for the resume). Pausing a paused
// scope returns the existing pause. Scopes nest: pausing a queue and a type of it are two
// pauses, and a job is held while any covers it. Enqueueing is not affected. A bad or empty
// scope is a *FieldError ("scope", "app", "queue" or "type"); an unknown app one on "app"
// wrapping ErrNotFound. Audited as pause (count 0 when it was already paused).
func (c *Client) Pause(ctx context.Context, scope Scope) (Pause, error) {
	s, err := c.resolveScope(ctx, scope)
	if err != nil {
		return Pause{}, err
	}
	p, err := c.store.Pause(ctx, s, actorOf(ctx), newAudit(ctx, "pause", s.AppID, scopeDetails(s)))
	if errors.Is(err, ErrNotFound) {
		return Pause{}, unknownApp("app", scope.App)
	}
	return p, err
}

// Resume lifts the pause of exactly this scope (as it was paused: resuming a queue does not
// lift a pause of one type of it) and returns the pause it lifted; the scope's due jobs are
// claimed again at once. ErrNotFound when the scope is not paused. Audited as resume.
func (c *Client) Resume(ctx context.Context, scope Scope) (Pause, error) {
	s, err := c.resolveScope(ctx, scope)
	if err != nil {
		return Pause{}, err
	}
	p, err := c.store.Resume(ctx, s, newAudit(ctx, "resume", s.AppID, scopeDetails(s)))
	if err == nil {
		c.wakeAllLocal()
	}
	return p, err
}

// ListPauses returns every pause, oldest first.
func (c *Client) ListPauses(ctx context.Context) ([]Pause, error) {
	return c.store.ListPauses(ctx)
}

// scopeDetails are a scope's audit details.
func scopeDetails(s store.PauseScope) map[string]any {
	d := map[string]any{}
	if s.AppID != nil {
		d["app"] = *s.AppID
	}
	if s.Queue != "" {
		d["queue"] = s.Queue
	}
	if s.Type != "" {
		d["type"] = s.Type
	}
	return d
}

// DisableApp disables the app with this id or name and returns it: its jobs are no longer
// claimed (strictly, as with Pause; running attempts finish), enqueueing its jobs is refused
// with a *FieldError on "app" wrapping ErrAppDisabled (a whole batch, if one job is the
// app's), its periodic schedules' ticks pass counted as skipped, and its dead-letter entries
// stay readable (a replay still makes its job, which waits with the others until EnableApp). Disabling a disabled app changes
// nothing. An unknown app is a *FieldError on "app" wrapping ErrNotFound. Audited as
// app.disable.
func (c *Client) DisableApp(ctx context.Context, idOrName string) (App, error) {
	return c.setAppDisabled(ctx, idOrName, true)
}

// EnableApp enables the app with this id or name again and returns it: its due jobs are
// claimed at once. Audited as app.enable.
func (c *Client) EnableApp(ctx context.Context, idOrName string) (App, error) {
	return c.setAppDisabled(ctx, idOrName, false)
}

func (c *Client) setAppDisabled(ctx context.Context, idOrName string, disabled bool) (App, error) {
	id, err := c.resolveApp(ctx, "app", idOrName)
	if err != nil {
		return App{}, err
	}
	action := "app.enable"
	if disabled {
		action = "app.disable"
	}
	app, err := c.store.SetAppDisabled(ctx, id, disabled, newAudit(ctx, action, &id, nil))
	if errors.Is(err, ErrNotFound) {
		return App{}, unknownApp("app", idOrName)
	}
	if err == nil && !disabled {
		c.wakeAllLocal()
	}
	return app, err
}
