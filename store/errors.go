package store

import (
	"errors"
	"fmt"
)

// Sentinel errors. Callers test for them with errors.Is; the sluice package re-exports them.
var (
	// ErrNotFound: no app, job or dead-letter entry has that id (or name).
	ErrNotFound = errors.New("not found")
	// ErrAlreadyReplayed: the dead-letter entry was replayed before, possibly a moment ago by
	// someone else.
	ErrAlreadyReplayed = errors.New("dead-letter entry already replayed")
	// ErrConflict: a uniqueness rule refused the change (an app name taken, a unique key held
	// by a live job).
	ErrConflict = errors.New("conflict")
	// ErrTxType: the transaction handed to an insert is not of the store's kind.
	ErrTxType = errors.New("transaction type does not match the store")
)

// FieldError is a rejected input: it names the field and says what is wrong with it. It wraps a
// cause (often ErrNotFound or ErrConflict) when there is one.
type FieldError struct {
	// Field is the input's name as the caller spelled it (JSON/Go spelling: "payload",
	// "maxAttempts", "jobs[3].type", "cursor").
	Field string
	// Message says what is wrong, without repeating the field name.
	Message string
	// Err is the underlying cause, if any.
	Err error
}

// Error reads "field: message".
func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Unwrap returns the cause.
func (e *FieldError) Unwrap() error { return e.Err }

// Fieldf makes a *FieldError with a formatted message and no cause.
func Fieldf(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// The errors both stores return for the same database-enforced rule, so that they answer the
// same input with the same error.

// AppNameTaken is CreateApp's error for a name another app has.
func AppNameTaken(name string) error {
	return &FieldError{Field: "name", Message: fmt.Sprintf("an app named %q already exists", name), Err: ErrConflict}
}

// UnknownApp is InsertJobs' error when a job names an app that does not exist.
func UnknownApp() error {
	return &FieldError{Field: "app", Message: "no such app", Err: ErrNotFound}
}

// UniqueKeyHeld is ReplayDead's error when a live job of the app holds the entry's unique key.
func UniqueKeyHeld() error {
	return &FieldError{Field: "uniqueKey", Message: "a pending or running job of the app holds this unique key; the entry was left un-replayed", Err: ErrConflict}
}

// RescueError is the error recorded for an attempt whose lease expired.
func RescueError(attempt int) string {
	return fmt.Sprintf("lease expired: attempt %d was abandoned by its worker (crashed, stopped, or cut off from the database) and rescued", attempt)
}
