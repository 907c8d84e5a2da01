package chaos

import (
	"sort"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/store"
	"github.com/sluicehq/sluice/test/chaos/worker/event"
)

// check asserts invariants I1–I4 and I6 of shared/RELIABILITY.md over the enqueued ids, the
// tables and the handlers' history, once every job has finished. (I5, fencing, is asserted
// by the tests that make stale writes happen.)
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
	for _, d := range s.dead {
		deadByJob[d.OriginalJobID] = append(deadByJob[d.OriginalJobID], d)
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
	type run struct {
		attempt    int
		start, end int64
		ended      bool
	}
	runs := map[uuid.UUID]map[int]*run{}
	for _, e := range events {
		id, err := uuid.Parse(e.Job)
		if err != nil || !want[id] {
			t.Errorf("I2: a handler ran job %q, which was never enqueued", e.Job)
			continue
		}
		if runs[id] == nil {
			runs[id] = map[int]*run{}
		}
		r := runs[id][e.Attempt]
		switch e.Event {
		case "start":
			if r != nil {
				t.Errorf("I3: job %s attempt %d started twice", id, e.Attempt)
				continue
			}
			runs[id][e.Attempt] = &run{attempt: e.Attempt, start: e.At}
		case "end":
			if r != nil {
				r.end, r.ended = e.At, true
			}
		}
	}
	for id, byAttempt := range runs {
		if n := len(byAttempt); n > attempts[id] {
			t.Errorf("I3: job %s was started %d times but counts %d attempts", id, n, attempts[id])
		}
		ordered := make([]*run, 0, len(byAttempt))
		for _, r := range byAttempt {
			ordered = append(ordered, r)
		}
		sort.Slice(ordered, func(i, j int) bool { return ordered[i].attempt < ordered[j].attempt })
		for i := 1; i < len(ordered); i++ {
			prev, next := ordered[i-1], ordered[i]
			if prev.ended && next.start < prev.end && !rescued(history[id], prev.attempt) {
				t.Errorf("I4: job %s attempt %d started while attempt %d still ran, and that attempt's lease was never lost", id, next.attempt, prev.attempt)
			}
		}
	}
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
