package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/store"
)

// newOp records a replay operation over the app's un-replayed entries of type typ, through the
// newest of them.
func (b *bundle) newOp(t *testing.T, appID uuid.UUID, typ string, mod func(*store.ReplayOp)) store.ReplayOp {
	t.Helper()
	f := store.DeadFilter{AppID: &appID, Type: typ}
	newest := must(b.s.ListDead(b.ctx, f, store.Page{Limit: 1}))(t)
	if len(newest) == 0 {
		t.Fatal("newOp: no entries")
	}
	op := store.ReplayOp{ID: newID(), AppID: &appID, Type: typ, Through: newest[0].ID, CreatedBy: "test"}
	if mod != nil {
		mod(&op)
	}
	got := must(b.s.CreateReplayOp(b.ctx, op, nil))(t)
	if got.ID != op.ID || got.Status != store.ReplayRunning || got.Matched != 0 || got.Cursor != nil || got.LeaseToken != nil {
		t.Fatalf("CreateReplayOp = %+v", got)
	}
	return got
}

// opBatch runs one batch of op under token.
func (b *bundle) opBatch(op store.ReplayOp, token uuid.UUID, limit int, lease time.Duration) (store.ReplayBatchResult, error) {
	return b.s.ReplayDeadBatch(b.ctx, op.Filter(), store.ReplayBatch{
		Limit: limit, Defaults: testDefaults, Attempts: op.Attempts, PayloadPatch: op.PayloadPatch,
		SkipLoops: !op.IncludeLoops, Op: &store.ReplayOpLease{ID: op.ID, Token: token, Lease: lease},
	})
}

// wantReplayedOnce checks that each entry was replayed by exactly one job.
func (b *bundle) wantReplayedOnce(t *testing.T, entries []store.DeadJob) {
	t.Helper()
	for _, d := range entries {
		jobs := b.jobsReplayedFrom(t, d.ID)
		got := b.getDead(t, d.ID)
		if len(jobs) != 1 || got.ReplayedAt == nil || got.ReplayJobID == nil || *got.ReplayJobID != jobs[0].ID {
			t.Fatalf("entry %s: %d replayed jobs, replayed_at %v, replay job %v", d.ID, len(jobs), got.ReplayedAt, got.ReplayJobID)
		}
	}
}

// loopEntry replays d, dead-letters its job again and returns the new entry.
func (b *bundle) loopEntry(t *testing.T, d store.DeadJob) store.DeadJob {
	t.Helper()
	job := b.replay(t, d.ID)
	_, token := b.claimOne(t, job, time.Hour)
	if !b.finishOne(t, store.Lease{JobID: job.ID, Token: token}, store.OutcomeDeadLetter, "again", 0) {
		t.Fatal("dead-lettering the replayed job failed")
	}
	for _, e := range must(allDead(b.ctx, b.s, store.DeadFilter{AppID: &d.AppID}))(t) {
		if e.OriginalJobID == job.ID {
			return e
		}
	}
	t.Fatal("the replayed job's entry is missing")
	return store.DeadJob{}
}

func testReplayOps(t *testing.T, r *suite) {
	r.run(t, "BatchesAdvanceCursorAndCounts", func(t *testing.T, b *bundle) {
		entries := b.killN(t, 5, b.app.ID, "bulk")
		outside := b.kill(t, spec(b.app2.ID, "bulk", "x"), spec(b.app.ID, "other", "y"))
		op := b.newOp(t, b.app.ID, "bulk", nil)
		later := b.killN(t, 1, b.app.ID, "bulk") // after the operation began: not part of it
		token := newID()
		claimed, ok := must2(b.s.ClaimReplayOp(b.ctx, nil, token, time.Hour))(t)
		if !ok || claimed.ID != op.ID || claimed.LeaseToken == nil || *claimed.LeaseToken != token || claimed.LeaseExpiresAt == nil {
			t.Fatalf("ClaimReplayOp = %+v, %v", claimed, ok)
		}
		if _, ok := must2(b.s.ClaimReplayOp(b.ctx, nil, newID(), time.Hour))(t); ok {
			t.Fatal("a second runner claimed an operation whose lease holds")
		}
		want := newestFirst(deadIDs(entries))
		for i, n := range []int{2, 2, 1} {
			res := must(b.opBatch(op, token, 2, time.Hour))(t)
			if res.Considered != n || res.Replayed != n || res.Op == nil {
				t.Fatalf("batch %d = %+v, want %d replayed", i, res, n)
			}
			seen := min(2*(i+1), 5)
			if o := res.Op; o.Matched != int64(seen) || o.Replayed != int64(seen) || o.Cursor == nil || *o.Cursor != want[seen-1] {
				t.Fatalf("after batch %d: %+v, want %d matched and replayed, cursor %s", i, o, seen, want[seen-1])
			}
			wantDone := i == 2
			if (res.Op.Status == store.ReplayDone) != wantDone || (res.Op.FinishedAt != nil) != wantDone || (res.Op.LeaseToken == nil) != wantDone {
				t.Fatalf("after batch %d: status %s, finished %v, lease %v", i, res.Op.Status, res.Op.FinishedAt, res.Op.LeaseToken)
			}
		}
		b.wantReplayedOnce(t, entries)
		for _, d := range append(outside, later...) {
			wantSameDead(t, b.getDead(t, d.ID), d, "an entry outside the operation")
		}
		if _, err := b.opBatch(op, token, 2, time.Hour); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("a batch of a finished operation: %v, want ErrLeaseLost", err)
		}
		got := must(b.s.GetReplayOp(b.ctx, op.ID))(t)
		if got.Status != store.ReplayDone || got.Matched != 5 || got.Replayed != 5 || got.Failed != 0 || got.Skipped != 0 {
			t.Fatalf("GetReplayOp = %+v", got)
		}
	})

	r.run(t, "StaleRunnerChangesNothing", func(t *testing.T, b *bundle) {
		entries := b.killN(t, 4, b.app.ID, "bulk")
		op := b.newOp(t, b.app.ID, "bulk", nil)
		stale := newID()
		claimed, ok := must2(b.s.ClaimReplayOp(b.ctx, &op.ID, stale, time.Millisecond))(t)
		if !ok {
			t.Fatal("ClaimReplayOp found nothing")
		}
		b.waitClockPast(t, *claimed.LeaseExpiresAt)
		// The stale runner's lease has expired: its batch is refused even before a takeover.
		if _, err := b.opBatch(op, stale, 2, time.Hour); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("a batch under an expired lease: %v, want ErrLeaseLost", err)
		}
		fresh := newID()
		if _, ok := must2(b.s.ClaimReplayOp(b.ctx, &op.ID, fresh, time.Hour))(t); !ok {
			t.Fatal("another runner could not take over an expired lease")
		}
		if _, err := b.opBatch(op, stale, 2, time.Hour); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("a batch under a lease taken over: %v, want ErrLeaseLost", err)
		}
		for _, d := range entries {
			wantSameDead(t, b.getDead(t, d.ID), d, "an entry after the stale runner's batches")
		}
		if got := must(b.s.GetReplayOp(b.ctx, op.ID))(t); got.Matched != 0 || got.Cursor != nil {
			t.Fatalf("the stale runner's batches moved the operation: %+v", got)
		}
		// A release by the stale runner does not free the new runner's lease.
		if err := b.s.ReleaseReplayOp(b.ctx, op.ID, stale); err != nil {
			t.Fatal(err)
		}
		if _, ok := must2(b.s.ClaimReplayOp(b.ctx, &op.ID, newID(), time.Hour))(t); ok {
			t.Fatal("a stale runner's release freed another runner's lease")
		}
		res := must(b.opBatch(op, fresh, 10, time.Hour))(t)
		if res.Replayed != 4 || res.Op.Status != store.ReplayDone {
			t.Fatalf("the new runner's batch = %+v", res)
		}
		b.wantReplayedOnce(t, entries)
	})

	r.run(t, "TwoRunnersNeverReplayTwice", func(t *testing.T, b *bundle) {
		entries := b.killN(t, 40, b.app.ID, "bulk")
		op := b.newOp(t, b.app.ID, "bulk", nil)
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				token := newID()
				for range 100000 {
					got, err := b.s.GetReplayOp(b.ctx, op.ID)
					if err != nil {
						errs <- err
						return
					}
					if got.Status == store.ReplayDone {
						return
					}
					// Short leases, so the runners keep taking the operation from each other.
					if _, _, err := b.s.ClaimReplayOp(b.ctx, &op.ID, token, 20*time.Millisecond); err != nil {
						errs <- err
						return
					}
					if _, err := b.opBatch(op, token, 3, 20*time.Millisecond); err != nil && !errors.Is(err, store.ErrLeaseLost) {
						errs <- err
						return
					}
				}
				errs <- errors.New("the operation never finished")
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		b.wantReplayedOnce(t, entries)
		if got := must(b.s.GetReplayOp(b.ctx, op.ID))(t); got.Matched != 40 || got.Replayed != 40 || got.Status != store.ReplayDone {
			t.Fatalf("after two runners: %+v", got)
		}
	})

	r.run(t, "PatchAttemptsAndInvalid", func(t *testing.T, b *bundle) {
		big := `{"big":"` + strings.Repeat("x", store.MaxPatchedPayload-20) + `"}`
		payloads := []string{
			`{"a":1,"b":{"c":1,"d":2},"keep":"k"}`,
			`[1,2,3]`,
			`{"a":{"deep":true},"b":"scalar"}`,
			big,
		}
		specs := make([]deadSpec, len(payloads))
		for i, p := range payloads {
			specs[i] = deadSpec{appID: b.app.ID, typ: "patch", payload: json.RawMessage(p)}
		}
		entries := b.kill(t, specs...)
		patch := `{"a":null,"b":{"c":9,"e":[1,{"f":null}]},"n":"new","pad":"` + strings.Repeat("y", 40) + `"}`
		op := b.newOp(t, b.app.ID, "patch", func(o *store.ReplayOp) {
			o.PayloadPatch, o.Attempts = json.RawMessage(patch), 3
		})
		if canonJSON(op.PayloadPatch) != canonJSON(json.RawMessage(patch)) {
			t.Fatalf("the operation keeps the patch %s, want %s", op.PayloadPatch, patch)
		}
		token := newID()
		must2(b.s.ClaimReplayOp(b.ctx, &op.ID, token, time.Hour))(t)
		res := must(b.opBatch(op, token, 10, time.Hour))(t)
		if res.Considered != 4 || res.Replayed != 3 || res.Invalid != 1 || res.Op.Failed != 1 || !strings.Contains(res.Op.LastError, "1 MiB") {
			t.Fatalf("batch = %+v, op %+v", res, res.Op)
		}
		pad := strings.Repeat("y", 40)
		want := []string{
			`{"b":{"c":9,"d":2,"e":[1,{"f":null}]},"keep":"k","n":"new","pad":"` + pad + `"}`,
			`{"b":{"c":9,"e":[1,{"f":null}]},"n":"new","pad":"` + pad + `"}`,
			`{"b":{"c":9,"e":[1,{"f":null}]},"n":"new","pad":"` + pad + `"}`,
		}
		for i, w := range want {
			jobs := b.jobsReplayedFrom(t, entries[i].ID)
			if len(jobs) != 1 {
				t.Fatalf("entry %d: %d jobs", i, len(jobs))
			}
			if got := canonJSON(jobs[0].Payload); got != canonJSON(json.RawMessage(w)) {
				t.Errorf("entry %d: patched payload %s, want %s", i, got, w)
			}
			if jobs[0].MaxAttempts != 3 || jobs[0].Attempts != 0 {
				t.Errorf("entry %d: job has %d of %d attempts, want 0 of 3", i, jobs[0].Attempts, jobs[0].MaxAttempts)
			}
			if d := b.getDead(t, entries[i].ID); canonJSON(d.Payload) != canonJSON(json.RawMessage(payloads[i])) {
				t.Errorf("entry %d: its own payload changed to %s", i, d.Payload)
			}
		}
		wantSameDead(t, b.getDead(t, entries[3].ID), entries[3], "the entry whose patched payload is too large")
	})

	r.run(t, "LoopFlag", func(t *testing.T, b *bundle) {
		first := b.killN(t, 2, b.app.ID, "loop")
		again := b.loopEntry(t, first[0])
		if again.ReplayOf == nil || *again.ReplayOf != first[0].ID {
			t.Fatalf("an entry of a replayed job has ReplayOf %v, want %s", again.ReplayOf, first[0].ID)
		}
		if d := b.getDead(t, first[1].ID); d.ReplayOf != nil {
			t.Fatalf("an entry of a job never replayed has ReplayOf %v", d.ReplayOf)
		}
		op := b.newOp(t, b.app.ID, "loop", nil)
		token := newID()
		must2(b.s.ClaimReplayOp(b.ctx, &op.ID, token, time.Hour))(t)
		res := must(b.opBatch(op, token, 10, time.Hour))(t)
		if res.Considered != 2 || res.Replayed != 1 || res.Loops != 1 || res.Op.Skipped != 1 || res.Op.Failed != 0 {
			t.Fatalf("a replay skipping loops = %+v, op %+v", res, res.Op)
		}
		wantSameDead(t, b.getDead(t, again.ID), again, "the skipped loop entry")
		op2 := b.newOp(t, b.app.ID, "loop", func(o *store.ReplayOp) { o.IncludeLoops = true })
		must2(b.s.ClaimReplayOp(b.ctx, &op2.ID, token, time.Hour))(t)
		res = must(b.opBatch(op2, token, 10, time.Hour))(t)
		if res.Replayed != 1 || res.Loops != 0 {
			t.Fatalf("a replay including loops = %+v", res)
		}
		b.wantReplayedOnce(t, []store.DeadJob{again})
	})

	r.run(t, "PauseResumeCancel", func(t *testing.T, b *bundle) {
		entries := b.killN(t, 3, b.app.ID, "bulk")
		b.killN(t, 1, b.app2.ID, "bulk")
		op := b.newOp(t, b.app.ID, "bulk", nil)
		op2 := b.newOp(t, b.app2.ID, "bulk", nil)
		token := newID()
		must2(b.s.ClaimReplayOp(b.ctx, &op.ID, token, time.Hour))(t)
		run, pause := []store.ReplayStatus{store.ReplayRunning}, []store.ReplayStatus{store.ReplayPaused}
		paused := must(b.s.SetReplayOpStatus(b.ctx, op.ID, run, store.ReplayPaused, nil))(t)
		if paused.Status != store.ReplayPaused || paused.LeaseToken != nil {
			t.Fatalf("paused: %+v", paused)
		}
		if _, err := b.opBatch(op, token, 10, time.Hour); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("a batch of a paused operation: %v, want ErrLeaseLost", err)
		}
		if _, ok := must2(b.s.ClaimReplayOp(b.ctx, &op.ID, token, time.Hour))(t); ok {
			t.Fatal("a paused operation was claimed")
		}
		if _, err := b.s.SetReplayOpStatus(b.ctx, op.ID, run, store.ReplayPaused, nil); !errors.Is(err, store.ErrOperationState) {
			t.Fatalf("pausing a paused operation: %v", err)
		}
		if _, err := b.s.SetReplayOpStatus(b.ctx, newID(), run, store.ReplayPaused, nil); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("pausing a missing operation: %v", err)
		}
		must(b.s.SetReplayOpStatus(b.ctx, op.ID, pause, store.ReplayRunning, nil))(t)
		must2(b.s.ClaimReplayOp(b.ctx, &op.ID, token, time.Hour))(t)
		res := must(b.opBatch(op, token, 2, time.Hour))(t)
		if res.Replayed != 2 {
			t.Fatalf("after resuming: %+v", res)
		}
		audit := &store.Audit{ID: newID(), Actor: "test", Action: "dlq.replay_cancel", Details: json.RawMessage(`{}`)}
		cancelled := must(b.s.SetReplayOpStatus(b.ctx, op.ID, []store.ReplayStatus{store.ReplayRunning, store.ReplayPaused}, store.ReplayCancelled, audit))(t)
		if cancelled.Status != store.ReplayCancelled || cancelled.FinishedAt == nil || cancelled.Replayed != 2 {
			t.Fatalf("cancelled: %+v", cancelled)
		}
		if _, err := b.opBatch(op, token, 2, time.Hour); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("a batch of a cancelled operation: %v", err)
		}
		if d := b.getDead(t, newestFirst(deadIDs(entries))[2]); d.ReplayedAt != nil {
			t.Fatal("a cancelled operation's remaining entry was replayed")
		}
		if log := must(b.s.ListAudit(b.ctx, store.Page{Limit: 10}))(t); len(log) == 0 || log[0].ID != audit.ID {
			t.Fatalf("the cancel's audit row is missing: %+v", log)
		}
		all := must(b.s.ListReplayOps(b.ctx, nil, store.Page{Limit: 10}))(t)
		if len(all) != 2 || all[0].ID != op2.ID || all[1].ID != op.ID {
			t.Fatalf("ListReplayOps = %v", all)
		}
		mine := must(b.s.ListReplayOps(b.ctx, &b.app.ID, store.Page{Limit: 10}))(t)
		if len(mine) != 1 || mine[0].ID != op.ID {
			t.Fatalf("ListReplayOps(app) = %v", mine)
		}
		if page := must(b.s.ListReplayOps(b.ctx, nil, store.Page{Limit: 10, Before: &op2.ID}))(t); len(page) != 1 || page[0].ID != op.ID {
			t.Fatalf("ListReplayOps below a cursor = %v", page)
		}
		if counts := must(b.s.CountReplayOps(b.ctx))(t); len(counts) != 2 || counts[store.ReplayCancelled] != 1 || counts[store.ReplayRunning] != 1 {
			t.Fatalf("CountReplayOps = %v, want one cancelled, one running", counts)
		}
		if _, err := b.s.GetReplayOp(b.ctx, newID()); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("GetReplayOp(missing) = %v", err)
		}
	})
}

// must2 is must for a function with two results and an error.
func must2[T, U any](v T, u U, err error) func(t *testing.T) (T, U) {
	return func(t *testing.T) (T, U) {
		t.Helper()
		if err != nil {
			t.Fatal(fmt.Errorf("unexpected error: %w", err))
		}
		return v, u
	}
}
