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
	// At is when, in Unix nanoseconds of this machine's clock.
	At int64 `json:"at"`
}
