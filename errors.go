package sluice

import (
	"errors"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/store"
)

// Errors a caller can test for with errors.Is. Each method's doc says which it returns.
var (
	// ErrNotFound: no app, job or dead-letter entry has that id or name.
	ErrNotFound = store.ErrNotFound
	// ErrAlreadyReplayed: the dead-letter entry has been replayed already (replay is at most
	// once, also when two callers race).
	ErrAlreadyReplayed = store.ErrAlreadyReplayed
	// ErrConflict: a uniqueness rule refused the change: an app name is taken, or a live job
	// holds the unique key a replay needs.
	ErrConflict = store.ErrConflict
	// ErrTxType: EnqueueTx was given a transaction of another database kind than the client's.
	ErrTxType = store.ErrTxType
	// ErrStopped: the client is stopped (or was never started) and cannot do this.
	ErrStopped = errors.New("sluice: client is not running")
	// ErrAppDisabled: the app is disabled (DisableApp), so its jobs cannot be enqueued.
	ErrAppDisabled = store.ErrAppDisabled
	// ErrCancelRequested is the cause (context.Cause) of a handler's context when an operator
	// cancelled its running job (CancelJob).
	ErrCancelRequested = errors.New("sluice: an operator cancelled the job")
)

// FieldError is a rejected input: Field names it as the caller spelled it ("payload",
// "jobs[2].type", "cursor") and Message says what is wrong. Use errors.As to get it.
type FieldError = store.FieldError

// Permanent wraps a handler's error to say that retrying cannot help: the job goes straight to
// the dead-letter queue, whatever attempts it has left.
func Permanent(err error) error {
	if err == nil {
		err = errors.New("permanent failure")
	}
	return &permanentError{err: err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Snooze returned by a handler runs the job again after d without spending an attempt and
// without recording an error. d is at least 0.
func Snooze(d time.Duration) error {
	return &snoozeError{delay: max(d, 0)}
}

type snoozeError struct{ delay time.Duration }

func (e *snoozeError) Error() string { return fmt.Sprintf("snoozed for %s", e.delay) }

// Cancel wraps a handler's error to end the job as cancelled: it is not retried and not
// dead-lettered, and err is recorded as its last error.
func Cancel(err error) error {
	if err == nil {
		err = errors.New("cancelled by its handler")
	}
	return &cancelError{err: err}
}

type cancelError struct{ err error }

func (e *cancelError) Error() string { return e.err.Error() }
func (e *cancelError) Unwrap() error { return e.err }
