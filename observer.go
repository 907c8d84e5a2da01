package sluice

import (
	"time"

	"github.com/sluicehq/sluice/store"
)

// Observer receives the engine's events as they happen, for metrics: package metrics turns
// them into Prometheus counters and a histogram. Set one in Config.Observer.
//
// Each method is called synchronously on the goroutine where its event happens — the caller
// of Enqueue or Replay, a handler's goroutine, the rescuer — so it must be fast, must not
// block, and must be safe for concurrent use. The *Job it is given must be neither modified
// nor kept after the call returns.
type Observer interface {
	// JobEnqueued reports one job this client inserted (Enqueue, EnqueueMany, EnqueueTx),
	// once the insert returned: a job inserted in the caller's transaction is reported even
	// if that transaction later rolls back. A job whose unique key matched a live job was not
	// inserted and is not reported; a replayed job is reported by DeadReplayed instead.
	JobEnqueued(job *Job)
	// AttemptStarted reports that this worker is about to run job's handler; job.Attempts
	// counts this attempt.
	AttemptStarted(job *Job)
	// AttemptFinished reports that job's handler returned (or panicked) after running for d,
	// and the outcome that asks of the job. It is called before the outcome is written: if
	// the worker had lost the job's lease, the write then changes nothing. OutcomeRelease is
	// an attempt interrupted by Stop, given back without being counted.
	AttemptFinished(job *Job, outcome Outcome, d time.Duration)
	// LeasesRescued reports that this client's rescuer turned expired leases (of any worker)
	// into failed attempts: retried of those jobs are pending again, deadLettered moved to
	// the dead-letter queue, and cancelled ended cancelled (an operator had asked to cancel
	// them while they ran). It is called only when their sum is above 0.
	LeasesRescued(retried, deadLettered, cancelled int)
	// DeadReplayed reports n dead-letter entries replayed through this client (Replay, and
	// each batch of ReplayMany that replayed any).
	DeadReplayed(n int)
}

// Outcome is how an attempt ended, as Observer.AttemptFinished reports it.
type Outcome = store.Outcome

// The outcomes of an attempt.
const (
	// OutcomeComplete: the handler succeeded; the job becomes completed.
	OutcomeComplete = store.OutcomeComplete
	// OutcomeRetry: a failed attempt with attempts left; the job runs again after a backoff.
	OutcomeRetry = store.OutcomeRetry
	// OutcomeDeadLetter: a failed attempt that ends the job (attempts exhausted or a
	// Permanent error); the job moves to the dead-letter queue.
	OutcomeDeadLetter = store.OutcomeDeadLetter
	// OutcomeSnooze: the handler returned Snooze; the job runs again later without spending
	// the attempt.
	OutcomeSnooze = store.OutcomeSnooze
	// OutcomeCancel: the handler returned Cancel; the job becomes cancelled.
	OutcomeCancel = store.OutcomeCancel
	// OutcomeRelease: the attempt was interrupted by Stop; the job is due again at once and
	// the attempt is not counted.
	OutcomeRelease = store.OutcomeRelease
)

// jobAttrs are the attributes every log line about one job carries, followed by more.
func jobAttrs(j *Job, more ...any) []any {
	return append([]any{"job_id", j.ID, "app_id", j.AppID, "type", j.Type, "queue", j.Queue, "attempt", j.Attempts}, more...)
}
