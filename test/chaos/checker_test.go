package chaos

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/store"
	"github.com/sluicehq/sluice/test/chaos/worker/event"
)

// shutdownCause is the cause a worker's stop gives the contexts of the attempts it interrupts;
// such an attempt is released (pending again, the attempt given back) and may run again under
// the same attempt number.
const shutdownCause = "sluice: worker shutting down"

// check asserts invariants I1–I4 and I6 of shared/RELIABILITY.md over the enqueued ids, the
// tables and the handlers' history, once every job has finished. A job replayed from a
// dead-letter entry of the snapshot counts as enqueued (by the replay). I5, fencing, is
// asserted by the tests that make stale writes happen (wantUnchanged).
func check(t *testing.T, enqueued []uuid.UUID, s snapshot, events []event.Event) {
	t.Helper()
	want := map[uuid.UUID]bool{}
	for _, id := range enqueued {
		if want[id] {
			t.Errorf("I2: enqueue returned id %s twice", id)
		}
		want[id] = true
	}
	deadByJob := map[uuid.UUID][]sluice.DeadJob{}
	entries := map[uuid.UUID]sluice.DeadJob{}
	for _, d := range s.dead {
		deadByJob[d.OriginalJobID] = append(deadByJob[d.OriginalJobID], d)
		entries[d.ID] = d
	}

	// Replays: a job that names an entry which names it back was enqueued by replaying that
	// entry, at most once; a replayed entry's job must exist.
	replays := map[uuid.UUID]int{}
	for id, j := range s.jobs {
		if j.ReplayedFrom == nil {
			continue
		}
		e, ok := entries[*j.ReplayedFrom]
		if !ok || e.ReplayJobID == nil || *e.ReplayJobID != id {
			t.Errorf("I2: job %s says it replays entry %s, which does not name it as its replay", id, j.ReplayedFrom)
			continue
		}
		if replays[e.ID]++; replays[e.ID] > 1 {
			t.Errorf("I2: entry %s was replayed into more than one job", e.ID)
		}
		if want[id] {
			t.Errorf("I2: job %s was both enqueued and made by a replay", id)
		}
		want[id] = true
	}
	for _, e := range s.dead {
		if e.ReplayedAt != nil && (e.ReplayJobID == nil || !want[*e.ReplayJobID]) {
			t.Errorf("I1: entry %s was replayed but its job %v is in neither table", e.ID, e.ReplayJobID)
		}
		if (e.ReplayedAt == nil) != (e.ReplayJobID == nil) {
			t.Errorf("I6: entry %s is half replayed: replayed_at %v, replay job %v", e.ID, e.ReplayedAt, e.ReplayJobID)
		}
	}

	// I2: nothing that was never enqueued.
	for id := range s.jobs {
		if !want[id] {
			t.Errorf("I2: job %s was never enqueued", id)
		}
	}
	for id := range deadByJob {
		if !want[id] {
			t.Errorf("I2: dead-letter entry for %s, which was never enqueued", id)
		}
	}

	// I1 and I6: exactly one final state each, never in both tables.
	attempts := map[uuid.UUID]int{}
	history := map[uuid.UUID][]sluice.ErrorRecord{}
	for id := range want {
		job, inJobs := s.jobs[id]
		dead := deadByJob[id]
		switch {
		case inJobs && len(dead) > 0:
			t.Errorf("I6: job %s is in jobs (%s) and in job_dlq", id, job.Status)
		case len(dead) > 1:
			t.Errorf("I1: job %s has %d dead-letter entries", id, len(dead))
		case len(dead) == 1:
			attempts[id], history[id] = dead[0].Attempts, dead[0].ErrorHistory
			if len(dead[0].ErrorHistory) != dead[0].Attempts {
				t.Errorf("I6: entry of %s has %d history entries for %d attempts", id, len(dead[0].ErrorHistory), dead[0].Attempts)
			}
		case !inJobs:
			t.Errorf("I1: job %s was lost: in neither table", id)
		case job.Status != sluice.StatusCompleted && job.Status != sluice.StatusCancelled:
			t.Errorf("I1: job %s ended %s, not in a final state (attempts %d, history %v)", id, job.Status, job.Attempts, job.ErrorHistory)
		default:
			attempts[id], history[id] = job.Attempts, job.ErrorHistory
			if job.Status == sluice.StatusCompleted && len(job.ErrorHistory) != job.Attempts-1 {
				t.Errorf("I6: completed job %s has %d history entries for %d attempts", id, len(job.ErrorHistory), job.Attempts)
			}
		}
	}

	// I3 and I4 from the handlers' history.
	for id, runs := range runsByJob(t, want, events) {
		byAttempt := map[int][]*run{}
		for _, r := range runs {
			byAttempt[r.attempt] = append(byAttempt[r.attempt], r)
		}
		// I3: each attempt starts once, or again only after its previous run was interrupted
		// by a shutdown, had ended, and was released (its attempt given back).
		for attempt, rs := range byAttempt {
			for i := 1; i < len(rs); i++ {
				prev := rs[i-1]
				switch {
				case !prev.ended || !strings.HasPrefix(prev.cause, shutdownCause):
					t.Errorf("I3: job %s attempt %d started twice, and its first run was not interrupted by a shutdown (ended %v, cause %q)", id, attempt, prev.ended, prev.cause)
				case rs[i].start < prev.end:
					t.Errorf("I4: job %s attempt %d started again while its interrupted run was still running", id, attempt)
				}
			}
		}
		if n := len(byAttempt); n > attempts[id] {
			t.Errorf("I3: job %s ran %d distinct attempts but counts %d", id, n, attempts[id])
		}
		// I4: a run starts only after the previous attempt's run ended, unless that attempt's
		// lease was lost (its rescue is in the history).
		for i := 1; i < len(runs); i++ {
			for _, prev := range runs[:i] {
				next := runs[i]
				if prev.attempt < next.attempt && prev.ended && next.start < prev.end && !rescued(history[id], prev.attempt) {
					t.Errorf("I4: job %s attempt %d started while attempt %d still ran, and that attempt's lease was never lost", id, next.attempt, prev.attempt)
				}
			}
		}
	}
}

// run is one handler run of an attempt, as the history recorded it.
type run struct {
	attempt    int
	pid        int
	start, end int64
	ended      bool
	cause      string
	first      event.Event // the start event
}

// runsByJob pairs each job's start and end events into runs, ordered by start. A start with no
// end is a run whose process died.
func runsByJob(t *testing.T, want map[uuid.UUID]bool, events []event.Event) map[uuid.UUID][]*run {
	t.Helper()
	type key struct {
		job          uuid.UUID
		attempt, pid int
	}
	open := map[key]*run{}
	out := map[uuid.UUID][]*run{}
	for _, e := range events {
		id, err := uuid.Parse(e.Job)
		if err != nil || !want[id] {
			t.Errorf("I2: a handler ran job %q, which was never enqueued", e.Job)
			continue
		}
		k := key{id, e.Attempt, e.PID}
		switch e.Event {
		case "start":
			r := &run{attempt: e.Attempt, pid: e.PID, start: e.At, first: e}
			open[k] = r
			out[id] = append(out[id], r)
		case "end":
			if r := open[k]; r != nil {
				r.end, r.ended, r.cause = e.At, true, e.Cause
				delete(open, k)
			}
		}
	}
	for _, runs := range out {
		sort.Slice(runs, func(i, j int) bool { return runs[i].start < runs[j].start })
	}
	return out
}

// rescued reports whether the history records that the attempt's lease expired.
func rescued(history []sluice.ErrorRecord, attempt int) bool {
	for _, r := range history {
		if strings.HasPrefix(r.Error, store.RescueError(attempt)) {
			return true
		}
	}
	return false
}

// rescues counts the rescued attempts in a history.
func rescues(history []sluice.ErrorRecord) int {
	n := 0
	for _, r := range history {
		if strings.HasPrefix(r.Error, "lease expired: ") {
			n++
		}
	}
	return n
}

// wantUnchanged asserts I5: a write from a stale lease changed nothing a worker writes.
func wantUnchanged(t *testing.T, what string, before, after sluice.Job) {
	t.Helper()
	if !sameJob(before, after) {
		t.Errorf("I5: %s changed the job:\nbefore %s\nafter  %s", what, summary(before), summary(after))
	}
}

// summary is what a worker writes of a job, on one line.
func summary(j sluice.Job) string {
	return fmt.Sprintf("%s, attempts %d, run_at %s, started_at %v, completed_at %v, last error %q, %d history entries",
		j.Status, j.Attempts, j.RunAt.Format(time.RFC3339Nano), j.StartedAt, j.CompletedAt, j.LastError, len(j.ErrorHistory))
}

// sameJob reports whether nothing a worker writes differs between two readings of a job.
func sameJob(a, b sluice.Job) bool {
	return a.Status == b.Status && a.Attempts == b.Attempts &&
		len(a.ErrorHistory) == len(b.ErrorHistory) && a.LastError == b.LastError &&
		a.RunAt.Equal(b.RunAt) && equalTimes(a.CompletedAt, b.CompletedAt) &&
		equalTimes(a.StartedAt, b.StartedAt)
}

func equalTimes(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

// checkDatabaseClock asserts that every decision about time was the database's: no attempt
// started before its run_at by the database clock (read at its claim, and again by the
// handler), and every retry waited its backoff after the failure, both by that clock. The
// workers must run with CHAOS_DB_CLOCK=1.
func checkDatabaseClock(t *testing.T, s snapshot, events []event.Event, backoff time.Duration) {
	t.Helper()
	histories := map[string][]sluice.ErrorRecord{}
	for id, j := range s.jobs {
		histories[id.String()] = j.ErrorHistory
	}
	for _, d := range s.dead {
		histories[d.OriginalJobID.String()] = d.ErrorHistory
	}
	for _, e := range events {
		if e.Event != "start" {
			continue
		}
		runAt := time.Unix(0, e.RunAt)
		switch {
		case e.DBAt == 0:
			t.Errorf("job %s attempt %d: the handler has no database-clock reading", e.Job, e.Attempt)
		case e.DBAt < e.RunAt:
			t.Errorf("job %s attempt %d started at %s by the database clock, %v before its run_at %s",
				e.Job, e.Attempt, time.Unix(0, e.DBAt).UTC().Format(time.RFC3339Nano), runAt.Sub(time.Unix(0, e.DBAt)), runAt.UTC().Format(time.RFC3339Nano))
		}
		if e.StartedAt < e.RunAt {
			t.Errorf("job %s attempt %d was claimed at %s by the database clock, before its run_at %s",
				e.Job, e.Attempt, time.Unix(0, e.StartedAt).UTC().Format(time.RFC3339Nano), runAt.UTC().Format(time.RFC3339Nano))
		}
		// The previous attempt failed in its handler: the retry is due backoff after that
		// failure was recorded (both times by the database clock; the record is in whole ms).
		h := histories[e.Job]
		if e.Attempt < 2 || len(h) < e.Attempt-1 {
			continue
		}
		failure := h[e.Attempt-2]
		if !strings.HasPrefix(failure.Error, "chaos: attempt") {
			continue
		}
		if due := failure.Time().Add(backoff - time.Millisecond); runAt.Before(due) {
			t.Errorf("job %s attempt %d was due at %s, less than the backoff %v after attempt %d failed at %s",
				e.Job, e.Attempt, runAt.UTC().Format(time.RFC3339Nano), backoff, e.Attempt-1, failure.Time().Format(time.RFC3339Nano))
		}
	}
}
