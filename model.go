package sluice

import "github.com/sluicehq/sluice/store"

// The rows Sluice keeps, as the store package defines them.
type (
	// App is a tenant; every job and dead-letter entry belongs to one.
	App = store.App
	// AppLimits bound how much of the workers one app may take; see Client.SetAppLimits.
	AppLimits = store.AppLimits
	// Job is one unit of work, as listings and handlers see it.
	Job = store.Job
	// JobStatus is pending, running, completed or cancelled.
	JobStatus = store.JobStatus
	// DeadJob is a dead-letter entry: a job that failed for good, with its error history.
	DeadJob = store.DeadJob
	// ErrorRecord is one failed attempt: the error text and its Unix-millisecond timestamp.
	ErrorRecord = store.ErrorRecord
	// EnqueueResult is one enqueued job; Duplicate says its unique key matched a live job,
	// which Job then is.
	EnqueueResult = store.InsertResult
	// TypeStats counts one app's jobs of one type by state, and its dead-letter entries.
	TypeStats = store.TypeStats
	// FailureGroup is the un-replayed dead-letter entries of one app and type that failed the
	// same way: their last errors have the same signature. See DLQ.Groups.
	FailureGroup = store.FailureGroup
)

// The job statuses.
const (
	StatusPending   = store.StatusPending
	StatusRunning   = store.StatusRunning
	StatusCompleted = store.StatusCompleted
	StatusCancelled = store.StatusCancelled
)

// Page is one page of a keyset-paged listing. NextCursor resumes exactly after the last item;
// it is empty on the last page.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor,omitempty"`
}
