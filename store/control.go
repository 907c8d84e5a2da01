package store

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
)

// Control is what an operator does to live work: cancel, retry now or delete one job; pause
// and resume a queue, a job type or an app; disable and enable an app.
type Control interface {
	// CancelJob cancels a job. A pending job becomes cancelled at once, its error history
	// ending with reason. A running job is marked: its worker learns of it at its next lease
	// renewal (at once on PostgreSQL, where this store notifies the workers), cancels the
	// handler's context, and the job ends cancelled whatever the attempt's outcome but
	// success; while it is marked, no retry, snooze, release, rescue or dead-lettering puts it
	// back in play — each ends it cancelled instead. It returns the job after the change, or
	// ErrNotFound, or JobInState's error when the job has already ended (completed or
	// cancelled). With audit set, the change is recorded in the same transaction, naming the
	// job's app (so for RetryJob and DeleteJob).
	CancelJob(ctx context.Context, id uuid.UUID, reason string, audit *Audit) (Job, error)
	// RetryJob makes a pending job due now (a retry waiting its backoff, a scheduled or a
	// snoozed job), keeping its attempts and history, and returns it; ErrNotFound, or
	// JobInState's error when the job is not pending.
	RetryJob(ctx context.Context, id uuid.UUID, audit *Audit) (Job, error)
	// DeleteJob deletes a job that is not running and returns what it was; ErrNotFound, or
	// JobInState's error while it runs (cancel it first).
	DeleteJob(ctx context.Context, id uuid.UUID, audit *Audit) (Job, error)

	// Pause stops claims of the scope's jobs, strictly: once it returns, no claim takes one
	// (claims under way when it began have finished). Pausing a paused scope returns the
	// existing pause. An unknown app is a *FieldError on "app" wrapping ErrNotFound.
	Pause(ctx context.Context, scope PauseScope, pausedBy string, audit *Audit) (Pause, error)
	// Resume lifts the pause of exactly this scope and returns it, or ErrNotFound.
	Resume(ctx context.Context, scope PauseScope, audit *Audit) (Pause, error)
	// ListPauses returns every pause, oldest first.
	ListPauses(ctx context.Context) ([]Pause, error)

	// SetAppDisabled disables (true) or enables an app and returns it, or ErrNotFound. A
	// disabled app's jobs are not claimed (strictly, as with Pause) and InsertJobs refuses
	// its jobs with ErrAppDisabled; its dead-letter entries stay readable. Disabling a
	// disabled app keeps the time it was first disabled.
	SetAppDisabled(ctx context.Context, id uuid.UUID, disabled bool, audit *Audit) (App, error)
}

// ForApp returns a copy of the audit that names the app, or nil for nil: a job change learns
// the job's app only as it makes the change.
func (a *Audit) ForApp(id uuid.UUID) *Audit {
	if a == nil {
		return nil
	}
	c := *a
	c.AppID = &id
	return &c
}

// ErrAppDisabled: the app is disabled, so its jobs cannot be enqueued.
var ErrAppDisabled = errors.New("app disabled")

// AppDisabled is the error InsertJobs returns for a job of a disabled app.
func AppDisabled(name string) error {
	return &FieldError{Field: "app", Message: "app " + name + " is disabled: enable it to enqueue its jobs", Err: ErrAppDisabled}
}

// JobInState is the error for a job change the job's state rules out: cancelling a job that
// has ended, retrying one that is not pending, deleting one that runs.
func JobInState(status JobStatus) error {
	msg := "the job is " + string(status)
	switch status {
	case StatusCompleted, StatusCancelled:
		msg = "the job has already ended: it is " + string(status)
	case StatusRunning:
		msg = "the job is running (cancel it first)"
	}
	return &FieldError{Field: "id", Message: msg, Err: ErrConflict}
}

// PauseScope is what a pause stops: jobs of one app (AppID), one queue, one type, or a
// combination (one app's queue, say). Empty fields match everything; at least one is set.
type PauseScope struct {
	AppID *uuid.UUID `json:"appId,omitempty"`
	Queue string     `json:"queue,omitempty"`
	Type  string     `json:"type,omitempty"`
}

// Covers reports whether a job of this app, queue and type lies in the scope.
func (s PauseScope) Covers(app uuid.UUID, queue, typ string) bool {
	return (s.AppID == nil || *s.AppID == app) && (s.Queue == "" || s.Queue == queue) && (s.Type == "" || s.Type == typ)
}

// Pause is one paused scope.
type Pause struct {
	ID uuid.UUID `json:"id"`
	PauseScope
	PausedAt time.Time `json:"pausedAt"`
	// PausedBy is who paused it: "token:<id>", "cli:<user>", or what the Go caller said.
	PausedBy string `json:"pausedBy,omitempty"`
}

// LeaseRenewal is what ExtendLeases found.
type LeaseRenewal struct {
	// Held are the jobs whose leases were renewed; a lease missing here was lost.
	Held []uuid.UUID
	// CancelRequested are the held jobs an operator asked to cancel (CancelJob).
	CancelRequested []uuid.UUID
}
