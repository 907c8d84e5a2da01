package sluice_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice"
)

// replayedFrom counts, per entry, the jobs of jobType replayed from it.
func (b *bundle) replayedFrom(t *testing.T, jobType string) (map[uuid.UUID]int, []sluice.Job) {
	t.Helper()
	jobs, err := b.client.ListJobs(b.ctx, sluice.JobFilter{Type: jobType}, sluice.ListOptions{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	from := map[uuid.UUID]int{}
	var replayed []sluice.Job
	for _, j := range jobs.Items {
		if j.ReplayedFrom != nil {
			from[*j.ReplayedFrom]++
			replayed = append(replayed, j)
		}
	}
	return from, replayed
}

func TestReplayOperation(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		b := setup(t, url, nil)
		entries := b.deadLetter(t, "op", 12)
		dlq := b.client.DLQ()
		f := sluice.Filter{Type: "op"}
		var fe *sluice.FieldError
		for _, c := range []struct {
			f     sluice.Filter
			opts  sluice.ReplayOptions
			field string
		}{
			{sluice.Filter{}, sluice.ReplayOptions{}, "filter"},
			{f, sluice.ReplayOptions{Rate: -1}, "rate"},
			{f, sluice.ReplayOptions{Attempts: 1001}, "attempts"},
			{f, sluice.ReplayOptions{Attempts: -1}, "attempts"},
			{f, sluice.ReplayOptions{PayloadPatch: json.RawMessage(`[1]`)}, "payloadPatch"},
			{f, sluice.ReplayOptions{PayloadPatch: json.RawMessage(`{"a":`)}, "payloadPatch"},
			{f, sluice.ReplayOptions{PayloadPatch: json.RawMessage(`{"a":"\u0000"}`)}, "payloadPatch"},
			{f, sluice.ReplayOptions{PayloadPatch: json.RawMessage(`{"a":"` + strings.Repeat("x", sluice.MaxPayloadPatch) + `"}`)}, "payloadPatch"},
			{f, sluice.ReplayOptions{BatchSize: 10}, "batchSize"},
			{sluice.Filter{App: "no-such-app"}, sluice.ReplayOptions{}, "app"},
		} {
			if _, err := dlq.StartReplay(b.ctx, c.f, c.opts); !errors.As(err, &fe) || fe.Field != c.field {
				t.Fatalf("StartReplay(%+v, %+v) = %v, want a FieldError on %s", c.f, c.opts, err, c.field)
			}
		}
		dry, err := dlq.StartReplay(b.ctx, f, sluice.ReplayOptions{DryRun: true})
		if err != nil || dry.Matched != 12 || dry.ID != uuid.Nil {
			t.Fatalf("dry run: %v %+v", err, dry)
		}
		if ops, _ := dlq.Operations(b.ctx, sluice.OperationFilter{}, sluice.ListOptions{}); len(ops.Items) != 0 {
			t.Fatal("a dry run recorded an operation")
		}

		// No client is started: the operation waits, recorded, until a process runs it.
		op, err := dlq.StartReplay(b.ctx, f, sluice.ReplayOptions{Attempts: 2, PayloadPatch: json.RawMessage(`{"n": null, "patched": true}`)})
		if err != nil || op.Status != sluice.ReplayRunning || op.Replayed != 0 || string(op.PayloadPatch) == "" {
			t.Fatalf("StartReplay: %v %+v", err, op)
		}
		paused, err := dlq.PauseReplay(b.ctx, op.ID)
		if err != nil || paused.Status != sluice.ReplayPaused {
			t.Fatalf("PauseReplay: %v %+v", err, paused)
		}
		if got, err := dlq.RunReplay(b.ctx, op.ID, nil); err != nil || got.Status != sluice.ReplayPaused || got.Replayed != 0 {
			t.Fatalf("RunReplay of a paused operation: %v %+v", err, got)
		}
		if _, err := dlq.PauseReplay(b.ctx, op.ID); !errors.As(err, &fe) || fe.Field != "status" || !errors.Is(err, sluice.ErrConflict) {
			t.Fatalf("pausing a paused operation: %v", err)
		}
		if _, err := dlq.ResumeReplay(b.ctx, op.ID); err != nil {
			t.Fatal(err)
		}
		var seen []sluice.ReplayOperation
		done, err := dlq.RunReplay(b.ctx, op.ID, func(o sluice.ReplayOperation) { seen = append(seen, o) })
		if err != nil || done.Status != sluice.ReplayDone || done.Matched != 12 || done.Replayed != 12 || done.Failed != 0 || len(seen) == 0 {
			t.Fatalf("RunReplay: %v %+v (%d progress reports)", err, done, len(seen))
		}
		from, jobs := b.replayedFrom(t, "op")
		if len(from) != 12 {
			t.Fatalf("%d entries replayed, want 12", len(from))
		}
		for _, e := range entries {
			if from[e.ID] != 1 {
				t.Fatalf("entry %s replayed %d times", e.ID, from[e.ID])
			}
		}
		for _, j := range jobs {
			var p map[string]any
			if err := json.Unmarshal(j.Payload, &p); err != nil || p["patched"] != true || len(p) != 1 || j.MaxAttempts != 2 {
				t.Fatalf("a replayed job has payload %s and %d attempts, want the patched payload and 2", j.Payload, j.MaxAttempts)
			}
		}
		if _, err := dlq.ResumeReplay(b.ctx, op.ID); !errors.Is(err, sluice.ErrConflict) {
			t.Fatalf("resuming a finished operation: %v", err)
		}
		if _, err := dlq.CancelReplay(b.ctx, op.ID); !errors.Is(err, sluice.ErrConflict) {
			t.Fatalf("cancelling a finished operation: %v", err)
		}
		if _, err := dlq.Operation(b.ctx, uuid.New()); !errors.Is(err, sluice.ErrNotFound) {
			t.Fatalf("Operation(unknown) = %v", err)
		}
		// An operation over nothing is done after its first batch.
		empty, err := dlq.StartReplay(b.ctx, f, sluice.ReplayOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cancelled, err := dlq.CancelReplay(b.ctx, empty.ID)
		if err != nil || cancelled.Status != sluice.ReplayCancelled {
			t.Fatalf("CancelReplay: %v %+v", err, cancelled)
		}
		ops, err := dlq.Operations(b.ctx, sluice.OperationFilter{}, sluice.ListOptions{Limit: 1})
		if err != nil || len(ops.Items) != 1 || ops.Items[0].ID != empty.ID || ops.NextCursor == "" {
			t.Fatalf("Operations page 1: %v %+v", err, ops)
		}
		ops, err = dlq.Operations(b.ctx, sluice.OperationFilter{}, sluice.ListOptions{Limit: 1, Cursor: ops.NextCursor})
		if err != nil || len(ops.Items) != 1 || ops.Items[0].ID != op.ID {
			t.Fatalf("Operations page 2: %v %+v", err, ops)
		}
	})
}

// TestReplayOperationRunsInUpkeep: a started client takes up operations by itself; the jobs it
// replays fail again, and their entries, flagged as replay loops, are skipped by the next
// bulk replay unless it includes loops.
func TestReplayOperationRunsInUpkeep(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		b := setup(t, url, nil)
		b.deadLetter(t, "again", 6)
		dlq := b.client.DLQ()
		f := sluice.Filter{Type: "again"}
		b.start(t)
		waitDone := func(id uuid.UUID) sluice.ReplayOperation {
			var op sluice.ReplayOperation
			waitFor(t, "the operation to finish", func() bool {
				var err error
				if op, err = dlq.Operation(b.ctx, id); err != nil {
					t.Fatal(err)
				}
				return op.Status == sluice.ReplayDone
			})
			return op
		}
		op, err := dlq.StartReplay(b.ctx, f, sluice.ReplayOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if op = waitDone(op.ID); op.Replayed != 6 {
			t.Fatalf("the upkeep's operation: %+v", op)
		}
		var loops []sluice.DeadJob
		waitFor(t, "the replayed jobs to fail again", func() bool {
			page, err := dlq.List(b.ctx, f, sluice.ListOptions{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			loops = page.Items
			return len(loops) == 6
		})
		for _, e := range loops {
			if e.ReplayOf == nil {
				t.Fatalf("entry %s of a replayed job is not flagged as a replay loop", e.ID)
			}
		}
		op, err = dlq.StartReplay(b.ctx, f, sluice.ReplayOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if op = waitDone(op.ID); op.Replayed != 0 || op.Skipped != 6 || op.Matched != 6 {
			t.Fatalf("a replay of loop entries: %+v", op)
		}
		if err := b.client.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		op, err = dlq.StartReplay(b.ctx, f, sluice.ReplayOptions{IncludeLoops: true})
		if err != nil {
			t.Fatal(err)
		}
		if op, err = dlq.RunReplay(b.ctx, op.ID, nil); err != nil || op.Replayed != 6 || op.Skipped != 0 {
			t.Fatalf("a replay including loops: %v %+v", err, op)
		}
	})
}
