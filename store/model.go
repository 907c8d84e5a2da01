// Package store defines what Sluice keeps and the Store interface every backend implements.
//
// The types here are the rows of the three tables (apps, jobs, job_dlq) as the engine and the
// public API see them; the sluice package re-exports them. A backend (pgstore, sqlitestore) is
// one implementation of Store, and storetest is the conformance suite both must pass.
package store

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// App is a tenant. Every job and every dead-letter entry belongs to exactly one app.
type App struct {
	ID        uuid.UUID `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
	AppLimits
	// DisabledAt is when the app was disabled, if it is: its jobs are not claimed and none can
	// be enqueued.
	DisabledAt *time.Time `json:"disabledAt,omitempty"`
}

// AppLimits bound how much of the workers one app may take, across every worker process;
// zero fields set no limit.
type AppLimits struct {
	// MaxRunning caps the app's jobs running at once (claimed ahead included), in all queues.
	MaxRunning int `json:"maxRunning,omitempty"`
	// Rate bounds how many of the app's jobs start per second, on average.
	Rate float64 `json:"rate,omitempty"`
	// Burst is how many may start at once after a quiet spell: the token bucket's size. It is
	// set with Rate and only with it.
	Burst int `json:"burst,omitempty"`
}

// Limited reports whether any limit is set.
func (l AppLimits) Limited() bool { return l.MaxRunning > 0 || l.Rate > 0 }

// JobStatus is where a job stands in its lifecycle.
type JobStatus string

// The job statuses. A pending job may be ready, scheduled, waiting for a retry or snoozed: its
// RunAt says when it is due. Completed and cancelled jobs stay until retention removes them; a
// job that fails for good leaves the jobs table for job_dlq.
const (
	StatusPending   JobStatus = "pending"
	StatusRunning   JobStatus = "running"
	StatusCompleted JobStatus = "completed"
	StatusCancelled JobStatus = "cancelled"
)

// Valid reports whether s is one of the four job statuses.
func (s JobStatus) Valid() bool {
	switch s {
	case StatusPending, StatusRunning, StatusCompleted, StatusCancelled:
		return true
	}
	return false
}

// ErrorRecord is one failed attempt in a job's error history.
type ErrorRecord struct {
	// Error is the attempt's error text, bounded and cleaned (see package sanitize).
	Error string `json:"error"`
	// Timestamp is when the attempt failed, in Unix milliseconds (database clock).
	Timestamp int64 `json:"timestamp"`
}

// Time returns the record's timestamp as a UTC time.
func (r ErrorRecord) Time() time.Time { return time.UnixMilli(r.Timestamp).UTC() }

// Job is one unit of work.
type Job struct {
	ID          uuid.UUID       `json:"id"`
	AppID       uuid.UUID       `json:"appId"`
	Type        string          `json:"type"`
	Queue       string          `json:"queue"`
	Priority    int             `json:"priority"`
	Payload     json.RawMessage `json:"payload"`
	Status      JobStatus       `json:"status"`
	Attempts    int             `json:"attempts"`
	MaxAttempts int             `json:"maxAttempts"`
	// LastError is the newest entry of ErrorHistory's text, empty while no attempt has failed.
	LastError    string        `json:"lastError,omitempty"`
	ErrorHistory []ErrorRecord `json:"errorHistory"`
	RunAt        time.Time     `json:"runAt"`
	StartedAt    *time.Time    `json:"startedAt,omitempty"`
	CompletedAt  *time.Time    `json:"completedAt,omitempty"`
	CreatedAt    time.Time     `json:"createdAt"`
	// UniqueKey, when set, makes enqueue idempotent per app while the job is pending or running.
	UniqueKey string `json:"uniqueKey,omitempty"`
	// ReplayedFrom is the dead-letter entry this job was replayed from, if any.
	ReplayedFrom *uuid.UUID `json:"replayedFrom,omitempty"`
	// LeaseToken fences a running attempt: every state change of a running job names it, so a
	// worker that lost its lease changes nothing. It is nil unless the job is running.
	LeaseToken *uuid.UUID `json:"-"`
	// LeaseExpiresAt is when a running job is rescued unless its worker heartbeats first.
	LeaseExpiresAt *time.Time `json:"leaseExpiresAt,omitempty"`
	// Tags are the job's free-form labels, in the order given; nil when it has none.
	Tags []string `json:"tags,omitempty"`
	// Trace is the trace context of the span that enqueued the job, if there was one.
	Trace *TraceContext `json:"trace,omitempty"`
	// CancelRequestedAt is when an operator asked to cancel the job while it ran (CancelJob);
	// it ends cancelled unless its attempt succeeds.
	CancelRequestedAt *time.Time `json:"cancelRequestedAt,omitempty"`
}

// DeadJob is a dead-letter entry: a job that exhausted its attempts or failed permanently, moved
// out of the jobs table with its full error history.
type DeadJob struct {
	ID            uuid.UUID       `json:"id"`
	OriginalJobID uuid.UUID       `json:"originalJobId"`
	AppID         uuid.UUID       `json:"appId"`
	Type          string          `json:"type"`
	Payload       json.RawMessage `json:"payload"`
	Attempts      int             `json:"attempts"`
	ErrorHistory  []ErrorRecord   `json:"errorHistory"`
	FailedAt      time.Time       `json:"failedAt"`
	ReplayedAt    *time.Time      `json:"replayedAt"`
	// Queue, Priority, MaxAttempts and UniqueKey are the job's own, kept so a replay recreates it
	// faithfully. An entry written with only the nine contract columns has them empty (zero), and
	// replays into the type's default queue and budget.
	Queue       string `json:"queue,omitempty"`
	Priority    int    `json:"priority"`
	MaxAttempts int    `json:"maxAttempts,omitempty"`
	UniqueKey   string `json:"uniqueKey,omitempty"`
	// ReplayJobID is the job that replaying this entry created, once it has been replayed.
	ReplayJobID *uuid.UUID `json:"replayJobId,omitempty"`
	// ErrorSignature names the entry's failure group: the signature of its last error (see
	// FailureGroup). Empty for an entry written without one, which is in the group "unknown".
	ErrorSignature string `json:"errorSignature,omitempty"`
	// ReplayOf is the entry this entry's job was replayed from, when it was: the replay failed
	// again, so replaying this entry may loop. Bulk replays skip such entries unless told to
	// include them.
	ReplayOf *uuid.UUID `json:"replayOf,omitempty"`
	// Tags are the job's tags, kept for filtering and carried onto its replay.
	Tags []string `json:"tags,omitempty"`
	// Trace is the trace context of the span that enqueued the job: the trace a dead job
	// belongs to.
	Trace *TraceContext `json:"trace,omitempty"`
}

// TraceContext is a W3C trace context (https://www.w3.org/TR/trace-context/) as the
// traceparent and tracestate headers spell it.
type TraceContext struct {
	TraceParent string `json:"traceparent"`
	TraceState  string `json:"tracestate,omitempty"`
}

// NewTraceContext returns the trace context of a stored traceparent and tracestate, or nil
// when there is no traceparent.
func NewTraceContext(traceparent, tracestate *string) *TraceContext {
	if traceparent == nil || *traceparent == "" {
		return nil
	}
	t := &TraceContext{TraceParent: *traceparent}
	if tracestate != nil {
		t.TraceState = *tracestate
	}
	return t
}

// TraceID returns the trace id of the traceparent (32 lowercase hex digits), or "" when it
// is not a well-formed version-00 traceparent.
func (t *TraceContext) TraceID() string {
	if t == nil {
		return ""
	}
	p := t.TraceParent
	if len(p) != 55 || p[2] != '-' || p[35] != '-' || p[52] != '-' {
		return ""
	}
	id := p[3:35]
	for i := 0; i < len(id); i++ {
		if c := id[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return ""
		}
	}
	return id
}

// MarshalJSON writes the trace context with its trace id: {"traceparent", "tracestate",
// "traceId"}.
func (t TraceContext) MarshalJSON() ([]byte, error) {
	type plain TraceContext
	return json.Marshal(struct {
		plain
		TraceID string `json:"traceId,omitempty"`
	}{plain(t), t.TraceID()})
}

// LastError returns the text of the entry's newest error, or "" if its history is empty.
func (d *DeadJob) LastError() string {
	if len(d.ErrorHistory) == 0 {
		return ""
	}
	return d.ErrorHistory[len(d.ErrorHistory)-1].Error
}

// DecodeHistory reads an error history as the stores keep it (a JSON array). The common case,
// a job that has not failed yet, costs nothing: "[]" needs no decoding.
func DecodeHistory(raw []byte) ([]ErrorRecord, error) {
	if len(raw) == 2 && raw[0] == '[' && raw[1] == ']' {
		return []ErrorRecord{}, nil
	}
	var h []ErrorRecord
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, err
	}
	return h, nil
}
