package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// Periodic is the durable state of periodic schedules, part of every Store: each schedule's
// definition as the processes that run it registered it, when one of them last did, and its
// last tick. The last tick is what makes a tick enqueue exactly once across processes: a tick
// moves it forward by compare-and-set in the transaction that inserts the tick's job.
type Periodic interface {
	// SyncSchedules creates each schedule whose app and name are new, replaces the definition
	// of those that exist (keeping their id, last tick and counts), marks them all seen now
	// (database clock), and returns them as stored, in the order given. An unknown app is a
	// *FieldError on "app" wrapping ErrNotFound, and nothing is written.
	SyncSchedules(ctx context.Context, defs []ScheduleDef) ([]Schedule, error)
	// TickSchedule moves the schedule's last tick to Tick where it is unset or earlier, and
	// only there (compare-and-set), in one transaction with the insert of Job when Job is set
	// (a job whose unique key a live job holds is not inserted: that job is the tick's). It adds
	// Skipped to the schedule's skipped ticks, and 1 to its enqueued ticks when Job is set. When
	// the last tick is already at or after Tick it changes nothing and reports Won false. The
	// result holds the schedule as it is after the call; a schedule that no longer exists is
	// ErrNotFound.
	TickSchedule(ctx context.Context, p TickParams) (TickResult, error)
	// ListSchedules returns the schedules of the app (nil: of every app), by app id, then name.
	ListSchedules(ctx context.Context, appID *uuid.UUID) ([]Schedule, error)
	// GetSchedule returns the schedule with this id, or ErrNotFound.
	GetSchedule(ctx context.Context, id uuid.UUID) (Schedule, error)
	// DeleteSchedule deletes the schedule, or returns ErrNotFound.
	DeleteSchedule(ctx context.Context, id uuid.UUID) error
	// Now reads the database clock.
	Now(ctx context.Context) (time.Time, error)
}

// The catch-up policies of a schedule: what a tick found late is done with.
const (
	// CatchUpLatest enqueues the most recent due tick however late it is found, and skips the
	// ones before it.
	CatchUpLatest = "latest"
	// CatchUpNone enqueues a due tick only when it is found within its grace of its time, and
	// skips it otherwise.
	CatchUpNone = "none"
)

// ScheduleDef is a schedule's definition: what its ticks enqueue and when. It has been
// validated; Cron or Every is set, not both.
type ScheduleDef struct {
	// ID is used when the schedule is created; an existing one keeps its own.
	ID    uuid.UUID `json:"id"`
	AppID uuid.UUID `json:"appId"`
	// Name identifies the schedule within its app.
	Name string `json:"name"`
	// Type, Queue, Priority, MaxAttempts and Payload are those of every job it enqueues.
	Type string `json:"type"`
	// Cron is a cron expression read in TimeZone (an IANA name, "UTC" by default).
	Cron     string `json:"cron,omitempty"`
	TimeZone string `json:"timeZone"`
	// Every is a fixed interval: ticks at its multiples since the Unix epoch.
	Every       time.Duration   `json:"-"`
	Queue       string          `json:"queue"`
	Priority    int             `json:"priority"`
	MaxAttempts int             `json:"maxAttempts"`
	Payload     json.RawMessage `json:"payload"`
	// CatchUp is CatchUpLatest or CatchUpNone.
	CatchUp string `json:"catchUp"`
}

// Schedule is a schedule as stored: its definition and its ticks so far.
type Schedule struct {
	ScheduleDef
	// LastTickAt is the last tick dealt with, enqueued or skipped; nil until the first.
	LastTickAt *time.Time `json:"lastTickAt,omitempty"`
	// LastJobID is the job of the last tick enqueued, and LastEnqueuedAt when (database clock).
	LastJobID      *uuid.UUID `json:"lastJobId,omitempty"`
	LastEnqueuedAt *time.Time `json:"lastEnqueuedAt,omitempty"`
	// TicksEnqueued and TicksSkipped count the ticks that enqueued a job and those skipped by
	// the catch-up policy.
	TicksEnqueued int64     `json:"ticksEnqueued"`
	TicksSkipped  int64     `json:"ticksSkipped"`
	CreatedAt     time.Time `json:"createdAt"`
	// SeenAt is when a process last registered the schedule (database clock).
	SeenAt time.Time `json:"seenAt"`
	// ReadAt is the database clock when the row was read.
	ReadAt time.Time `json:"-"`
	// NextTickAt and Stale are not stored: the sluice package works them out for listings.
	// NextTickAt is the first tick after the later of ReadAt and LastTickAt; Stale says no
	// process has registered the schedule lately (it is not ticking).
	NextTickAt *time.Time `json:"nextTickAt,omitempty"`
	Stale      bool       `json:"stale"`
}

// TickParams is one step of a schedule's ticks.
type TickParams struct {
	ScheduleID uuid.UUID
	// Tick becomes the last tick if it is later than the stored one.
	Tick time.Time
	// Job, when set, is inserted with the move; nil records Tick without a job (the first
	// tick a new schedule sees, or one the catch-up policy skips).
	Job *InsertJob
	// Skipped is how many ticks this step passes over without a job.
	Skipped int64
}

// TickResult is what TickSchedule did.
type TickResult struct {
	// Won says the last tick moved to Tick: this call, and no other, dealt with it.
	Won bool
	// Job is the tick's job when Won and a job was asked for.
	Job *InsertResult
	// Schedule is the schedule after the call.
	Schedule Schedule
}

// MarshalJSON writes the schedule with its times in TimeFormat and Every as a Go duration
// ("15m0s"), omitted for a cron schedule.
func (s Schedule) MarshalJSON() ([]byte, error) {
	type plain Schedule
	every := ""
	if s.Every != 0 {
		every = s.Every.String()
	}
	return json.Marshal(struct {
		plain
		Every          string    `json:"every,omitempty"`
		LastTickAt     *jsonTime `json:"lastTickAt,omitempty"`
		LastEnqueuedAt *jsonTime `json:"lastEnqueuedAt,omitempty"`
		CreatedAt      jsonTime  `json:"createdAt"`
		SeenAt         jsonTime  `json:"seenAt"`
		NextTickAt     *jsonTime `json:"nextTickAt,omitempty"`
	}{plain(s), every, optTime(s.LastTickAt), optTime(s.LastEnqueuedAt), jsonTime(s.CreatedAt), jsonTime(s.SeenAt), optTime(s.NextTickAt)})
}
