// Package event is the vocabulary shared by the chaos worker process and the tests that read
// its history: a job's instructions and one recorded handler event.
package event

// Args is a chaos job's payload: what each attempt does.
type Args struct {
	// SleepMs is how long each attempt works.
	SleepMs int `json:"sleepMs"`
	// FirstAttemptSleepMs, when set, replaces SleepMs on attempt 1.
	FirstAttemptSleepMs int `json:"firstAttemptSleepMs,omitempty"`
	// FailAttempts makes attempts 1..FailAttempts return an error.
	FailAttempts int `json:"failAttempts,omitempty"`
	// FailUnlessReplayed makes every attempt fail unless the job is a replay of a dead-letter
	// entry: the original goes to the DLQ, its replay completes.
	FailUnlessReplayed bool `json:"failUnlessReplayed,omitempty"`
	// IgnoreContext makes the attempt sleep its full time even when its context ends.
	IgnoreContext bool `json:"ignoreContext,omitempty"`
	// CrashProcess makes every attempt kill the whole worker process.
	CrashProcess bool `json:"crashProcess,omitempty"`
}

// Event is one line of the history file.
type Event struct {
	Job     string `json:"job"`
	Attempt int    `json:"attempt"`
	PID     int    `json:"pid"`
	// Event is "start" when the handler begins and "end" when it returns.
	Event string `json:"event"`
	// At is when, in Unix nanoseconds of this machine's clock (never skewed).
	At int64 `json:"at"`
	// Cause is why the attempt's context ended, on an "end" after it did: the engine's cause
	// ("sluice: worker shutting down", "sluice: lease lost: ...").
	Cause string `json:"cause,omitempty"`
	// RunAt and StartedAt are the job's run_at and started_at as its claim returned them
	// ("start" only), in Unix nanoseconds of the database clock.
	RunAt     int64 `json:"runAt,omitempty"`
	StartedAt int64 `json:"startedAt,omitempty"`
	// DBAt is the database clock read as the handler started (Unix nanoseconds), when the
	// worker runs with CHAOS_DB_CLOCK=1.
	DBAt int64 `json:"dbAt,omitempty"`
}
