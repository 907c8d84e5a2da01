package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/store"
)

const cancelReason = "cancelled by an operator (conformance)"

func testControl(t *testing.T, r *suite) {
	r.run(t, "CancelPending", func(t *testing.T, b *bundle) {
		lo := b.dbNow(t)
		j := b.insertNew(t, newJob(b.app.ID, "work"))[0]
		audit := &store.Audit{ID: newID(), Actor: "test", Action: "job.cancel"}
		got := must(b.s.CancelJob(b.ctx, j.ID, cancelReason, audit))(t)
		hi := b.dbNow(t)
		if got.Status != store.StatusCancelled || got.CompletedAt == nil || got.LastError != cancelReason || len(got.ErrorHistory) != 1 {
			t.Fatalf("a cancelled pending job reads %s", describeJob(got))
		}
		wantBetween(t, *got.CompletedAt, lo, hi, "CompletedAt")
		wantRecordBetween(t, got.ErrorHistory[0], lo, hi, "the cancel's history record")
		wantSameJob(t, b.getJob(t, j.ID), got, "the job as stored")
		if got.CancelRequestedAt != nil {
			t.Fatalf("a pending job's cancel is not a request: %s", describeJob(got))
		}
		// It is never claimed, and cancelling it again is a conflict naming its state.
		if jobs, _ := b.claim(t, "default", []string{"work"}, 10, time.Hour); len(jobs) != 0 {
			t.Fatalf("claimed a cancelled job: %v", jobIDs(jobs))
		}
		_, err := b.s.CancelJob(b.ctx, j.ID, cancelReason, nil)
		wantFieldError(t, err, store.JobInState(store.StatusCancelled), "CancelJob of a cancelled job")
		_, err = b.s.CancelJob(b.ctx, newID(), cancelReason, nil)
		wantErrIs(t, err, store.ErrNotFound, "CancelJob of an unknown job")
		e := auditEntry(t, b, audit.ID)
		if e.Action != "job.cancel" || e.Count != 1 || e.AppID == nil || *e.AppID != b.app.ID {
			t.Fatalf("the cancel's audit row: %+v", e)
		}
	})

	r.run(t, "CancelRunning", func(t *testing.T, b *bundle) {
		// Every way a running job's attempt can end, after an operator asked to cancel it.
		outcomes := []store.Outcome{store.OutcomeRetry, store.OutcomeSnooze, store.OutcomeRelease,
			store.OutcomeDeadLetter, store.OutcomeCancel, store.OutcomeComplete}
		jobs, token := b.running(t, len(outcomes), nil)
		lo := b.dbNow(t)
		for _, j := range jobs {
			got := must(b.s.CancelJob(b.ctx, j.ID, cancelReason, nil))(t)
			if got.Status != store.StatusRunning || got.CancelRequestedAt == nil || got.LeaseToken == nil || *got.LeaseToken != token {
				t.Fatalf("a running job after CancelJob reads %s", describeJob(got))
			}
			wantBetween(t, *got.CancelRequestedAt, lo, b.dbNow(t), "CancelRequestedAt")
			again := must(b.s.CancelJob(b.ctx, j.ID, cancelReason, nil))(t)
			if !eqTimePtr(again.CancelRequestedAt, got.CancelRequestedAt) {
				t.Fatalf("a second cancel moved the request from %v to %v", got.CancelRequestedAt, again.CancelRequestedAt)
			}
		}
		// The renewal reports the requests, and still renews.
		leases := make([]store.Lease, len(jobs))
		for i, j := range jobs {
			leases[i] = store.Lease{JobID: j.ID, Token: token}
		}
		renewal := must(b.s.ExtendLeases(b.ctx, leases, time.Hour))(t)
		wantIDSet(t, renewal.Held, jobIDs(jobs), "ExtendLeases: held")
		wantIDSet(t, renewal.CancelRequested, jobIDs(jobs), "ExtendLeases: cancel requested")

		for i, o := range outcomes {
			if !b.finishOne(t, leases[i], o, "handler error "+o.String(), time.Hour) {
				t.Fatalf("finish %s of a cancel-requested job was not applied", o)
			}
			got := b.getJob(t, jobs[i].ID)
			want := store.StatusCancelled
			if o == store.OutcomeComplete {
				want = store.StatusCompleted // the work was done
			}
			if got.Status != want || got.LeaseToken != nil || got.CompletedAt == nil {
				t.Fatalf("finish %s of a cancel-requested job left %s; want %s", o, describeJob(got), want)
			}
			if o != store.OutcomeSnooze && o != store.OutcomeRelease && o != store.OutcomeComplete && got.LastError != "handler error "+o.String() {
				t.Fatalf("finish %s: the handler's error is not recorded: %s", o, describeJob(got))
			}
		}
		if n := must(b.s.CountDead(b.ctx, store.DeadFilter{}))(t); n != 0 {
			t.Fatalf("a cancel-requested job was dead-lettered (%d entries)", n)
		}

		// Leases expire: the rescue ends the jobs cancelled — not pending, not dead-lettered
		// (the one whose attempts are spent) — and counts them as cancelled.
		q := uniqueName("q")
		short, last := newJob(b.app.ID, "work"), newJob(b.app.ID, "work")
		short.Queue, last.Queue, last.MaxAttempts = q, q, 1
		b.insertNew(t, short, last)
		claimed, shortToken := b.claim(t, q, []string{"work"}, 2, time.Millisecond)
		for _, c := range claimed {
			must(b.s.CancelJob(b.ctx, c.ID, cancelReason, nil))(t)
			b.waitClockPast(t, *c.LeaseExpiresAt)
		}
		res, err := b.s.RescueExpired(b.ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		if res != (store.RescueResult{Cancelled: 2}) {
			t.Fatalf("rescue of two cancel-requested jobs: %+v, want both counted cancelled", res)
		}
		for _, id := range []uuid.UUID{short.ID, last.ID} {
			if got := b.getJob(t, id); got.Status != store.StatusCancelled || got.LastError != store.RescueError(1) {
				t.Fatalf("a rescued cancel-requested job reads %s", describeJob(got))
			}
		}
		if n := must(b.s.CountDead(b.ctx, store.DeadFilter{}))(t); n != 0 {
			t.Fatalf("the rescue dead-lettered a cancel-requested job (%d entries)", n)
		}
		b.wantFenced(t, store.Lease{JobID: short.ID, Token: shortToken}, "the rescued job's old lease")
	})

	r.run(t, "RetryNow", func(t *testing.T, b *bundle) {
		later := newJob(b.app.ID, "work")
		later.RunAt = ptr(b.dbNow(t).Add(time.Hour).Truncate(time.Millisecond))
		j := b.insertNew(t, later)[0]
		lo := b.dbNow(t)
		got := must(b.s.RetryJob(b.ctx, j.ID, nil))(t)
		hi := b.dbNow(t)
		wantBetween(t, got.RunAt, lo, hi, "RunAt after RetryJob")
		want := j
		want.RunAt = got.RunAt
		wantSameJob(t, got, want, "the job after RetryJob")
		claimed, token := b.claim(t, "default", []string{"work"}, 10, time.Hour)
		if len(claimed) != 1 || claimed[0].ID != j.ID {
			t.Fatalf("after RetryJob the claim took %v", jobIDs(claimed))
		}
		_, err := b.s.RetryJob(b.ctx, j.ID, nil)
		wantFieldError(t, err, store.JobInState(store.StatusRunning), "RetryJob of a running job")
		b.finishOne(t, store.Lease{JobID: j.ID, Token: token}, store.OutcomeComplete, "", 0)
		_, err = b.s.RetryJob(b.ctx, j.ID, nil)
		wantFieldError(t, err, store.JobInState(store.StatusCompleted), "RetryJob of a completed job")
		_, err = b.s.RetryJob(b.ctx, newID(), nil)
		wantErrIs(t, err, store.ErrNotFound, "RetryJob of an unknown job")
	})

	r.run(t, "Delete", func(t *testing.T, b *bundle) {
		pending := b.insertNew(t, newJob(b.app.ID, "other"))[0]
		running, token := b.running(t, 1, nil)
		audit := &store.Audit{ID: newID(), Actor: "test", Action: "job.delete"}
		got := must(b.s.DeleteJob(b.ctx, pending.ID, audit))(t)
		wantSameJob(t, got, pending, "DeleteJob's answer")
		b.wantNoJob(t, pending.ID)
		if e := auditEntry(t, b, audit.ID); e.Count != 1 || e.AppID == nil || *e.AppID != b.app.ID {
			t.Fatalf("the delete's audit row: %+v", e)
		}
		_, err := b.s.DeleteJob(b.ctx, running[0].ID, nil)
		wantFieldError(t, err, store.JobInState(store.StatusRunning), "DeleteJob of a running job")
		b.getJob(t, running[0].ID)
		b.finishOne(t, store.Lease{JobID: running[0].ID, Token: token}, store.OutcomeComplete, "", 0)
		must(b.s.DeleteJob(b.ctx, running[0].ID, nil))(t)
		_, err = b.s.DeleteJob(b.ctx, running[0].ID, nil)
		wantErrIs(t, err, store.ErrNotFound, "DeleteJob of a deleted job")
	})

	r.run(t, "Pause", func(t *testing.T, b *bundle) {
		// One due job per app × queue × type; each pause must hold exactly the jobs it covers.
		type key struct {
			app        uuid.UUID
			queue, typ string
		}
		var keys []key
		byID := map[uuid.UUID]key{}
		for _, app := range []uuid.UUID{b.app.ID, b.app2.ID} {
			for _, queue := range []string{"q1", "q2"} {
				for _, typ := range []string{"t1", "t2"} {
					j := newJob(app, typ)
					j.Queue = queue
					b.insertNew(t, j)
					k := key{app, queue, typ}
					keys = append(keys, k)
					byID[j.ID] = k
				}
			}
		}
		scopes := []store.PauseScope{
			{Queue: "q1"}, {Type: "t2"}, {AppID: &b.app.ID}, {AppID: &b.app2.ID, Queue: "q2", Type: "t1"},
		}
		for _, scope := range scopes {
			t.Run(fmt.Sprintf("%+v", scopeText(scope)), func(t *testing.T) {
				p := must(b.s.Pause(b.ctx, scope, "conformance", nil))(t)
				if !eqIDPtr(p.AppID, scope.AppID) || p.Queue != scope.Queue || p.Type != scope.Type || p.PausedBy != "conformance" {
					t.Fatalf("Pause returned %+v for %+v", p, scope)
				}
				again := must(b.s.Pause(b.ctx, scope, "someone else", nil))(t)
				if again.ID != p.ID || again.PausedBy != "conformance" {
					t.Fatalf("pausing a paused scope returned %+v, want the existing %+v", again, p)
				}
				pauses := must(b.s.ListPauses(b.ctx))(t)
				if len(pauses) != 1 || pauses[0].ID != p.ID {
					t.Fatalf("ListPauses = %+v", pauses)
				}
				var claimed []store.Job
				var tokens []uuid.UUID
				for _, queue := range []string{"q1", "q2"} {
					jobs, token := b.claim(t, queue, []string{"t1", "t2"}, 100, time.Hour)
					claimed = append(claimed, jobs...)
					for range jobs {
						tokens = append(tokens, token)
					}
				}
				var got []key
				for _, j := range claimed {
					got = append(got, byID[j.ID])
				}
				for _, k := range keys {
					covered := scope.Covers(k.app, k.queue, k.typ)
					if covered == slices.Contains(got, k) {
						t.Fatalf("pause %+v: job of %v claimed=%v", scopeText(scope), k, !covered)
					}
				}
				// Give the claimed jobs back and lift the pause: everything is claimable again.
				for i, j := range claimed {
					b.finishOne(t, store.Lease{JobID: j.ID, Token: tokens[i]}, store.OutcomeRelease, "", 0)
				}
				lifted := must(b.s.Resume(b.ctx, scope, nil))(t)
				if lifted.ID != p.ID {
					t.Fatalf("Resume returned %+v, want %+v", lifted, p)
				}
				_, err := b.s.Resume(b.ctx, scope, nil)
				wantErrIs(t, err, store.ErrNotFound, "Resume of a scope not paused")
			})
		}
		// A pause of a queue does not lift by resuming one of its types, and an unknown app is
		// refused.
		must(b.s.Pause(b.ctx, store.PauseScope{Queue: "q1"}, "", nil))(t)
		_, err := b.s.Resume(b.ctx, store.PauseScope{Queue: "q1", Type: "t1"}, nil)
		wantErrIs(t, err, store.ErrNotFound, "Resume of a narrower scope")
		_, err = b.s.Pause(b.ctx, store.PauseScope{AppID: ptr(newID())}, "", nil)
		wantFieldError(t, err, store.UnknownApp(), "Pause of an unknown app")
	})

	r.run(t, "PauseRacesClaims", func(t *testing.T, b *bundle) {
		// Claims run while the queue is paused: none that returns after Pause returned may
		// hold a job claimed after it (its lease starts after the pause).
		const n = 400
		jobs := make([]store.InsertJob, n)
		for i := range jobs {
			jobs[i] = newJob(b.app.ID, "work")
		}
		b.insertNew(t, jobs...)
		var mu sync.Mutex
		var claimedAt []time.Time // each claimed job's StartedAt
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					got, err := b.s.ClaimJobs(b.ctx, store.ClaimParams{Queue: "default", Types: []string{"work"}, Limit: 2, LeaseToken: newID(), LeaseDuration: time.Hour})
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					for _, j := range got {
						claimedAt = append(claimedAt, *j.StartedAt)
					}
					mu.Unlock()
				}
			})
		}
		waitFor(t, "some claims", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(claimedAt) >= 10
		})
		p := must(b.s.Pause(b.ctx, store.PauseScope{Queue: "default"}, "", nil))(t)
		close(stop)
		wg.Wait()
		for _, at := range claimedAt {
			if at.After(p.PausedAt) {
				t.Fatalf("a job was claimed at %v, after the pause at %v", at, p.PausedAt)
			}
		}
		if more, _ := b.claim(t, "default", []string{"work"}, n, time.Hour); len(more) != 0 {
			t.Fatalf("claimed %d jobs of a paused queue", len(more))
		}
	})

	r.run(t, "DisableApp", func(t *testing.T, b *bundle) {
		b.insertNew(t, newJob(b.app.ID, "work"))
		lo := b.dbNow(t)
		audit := &store.Audit{ID: newID(), Actor: "test", Action: "app.disable", AppID: &b.app.ID}
		app := must(b.s.SetAppDisabled(b.ctx, b.app.ID, true, audit))(t)
		if app.DisabledAt == nil || app.Name != b.app.Name {
			t.Fatalf("a disabled app reads %+v", app)
		}
		wantBetween(t, *app.DisabledAt, lo, b.dbNow(t), "DisabledAt")
		again := must(b.s.SetAppDisabled(b.ctx, b.app.ID, true, nil))(t)
		if !eqTimePtr(again.DisabledAt, app.DisabledAt) {
			t.Fatalf("disabling again moved DisabledAt from %v to %v", app.DisabledAt, again.DisabledAt)
		}
		if got := must(b.s.GetApp(b.ctx, b.app.ID))(t); !eqTimePtr(got.DisabledAt, app.DisabledAt) {
			t.Fatalf("GetApp of a disabled app: %+v", got)
		}
		// Not claimed; the other app's jobs are.
		b.insertNew(t, newJob(b.app2.ID, "work"))
		claimed, token := b.claim(t, "default", []string{"work"}, 10, time.Hour)
		if len(claimed) != 1 || claimed[0].AppID != b.app2.ID {
			t.Fatalf("with alpha disabled the claim took %v", claimed)
		}
		b.finishOne(t, store.Lease{JobID: claimed[0].ID, Token: token}, store.OutcomeComplete, "", 0)
		// Enqueue is refused, for a whole batch that holds one of its jobs.
		before := must(allJobs(b.ctx, b.s, store.JobFilter{}))(t)
		_, err := b.s.InsertJobs(b.ctx, nil, []store.InsertJob{newJob(b.app2.ID, "work"), newJob(b.app.ID, "work")})
		wantFieldError(t, err, store.AppDisabled(b.app.Name), "InsertJobs into a disabled app")
		keyed := newJob(b.app.ID, "work")
		keyed.UniqueKey = "k"
		_, err = b.s.InsertJobs(b.ctx, nil, []store.InsertJob{keyed})
		wantFieldError(t, err, store.AppDisabled(b.app.Name), "InsertJobs with a unique key into a disabled app")
		if after := must(allJobs(b.ctx, b.s, store.JobFilter{}))(t); len(after) != len(before) {
			t.Fatalf("a refused insert left %d jobs, want %d", len(after), len(before))
		}
		// Enabled: claimed again, enqueue works.
		enabled := must(b.s.SetAppDisabled(b.ctx, b.app.ID, false, nil))(t)
		if enabled.DisabledAt != nil {
			t.Fatalf("an enabled app reads %+v", enabled)
		}
		b.insertNew(t, newJob(b.app.ID, "work"))
		if claimed, _ := b.claim(t, "default", []string{"work"}, 10, time.Hour); len(claimed) != 2 {
			t.Fatalf("after EnableApp the claim took %d jobs, want 2", len(claimed))
		}
		_, err = b.s.SetAppDisabled(b.ctx, newID(), true, nil)
		wantErrIs(t, err, store.ErrNotFound, "SetAppDisabled of an unknown app")
		if e := auditEntry(t, b, audit.ID); e.Action != "app.disable" || e.Count != 1 {
			t.Fatalf("the disable's audit row: %+v", e)
		}
	})
}

// scopeText is a scope for messages.
func scopeText(s store.PauseScope) string {
	raw, _ := json.Marshal(s)
	return string(raw)
}

// auditEntry finds the audit row with this id.
func auditEntry(t *testing.T, b *bundle, id uuid.UUID) store.AuditEntry {
	t.Helper()
	for _, e := range must(b.s.ListAudit(b.ctx, store.Page{Limit: 1000}))(t) {
		if e.ID == id {
			return e
		}
	}
	t.Fatalf("no audit row %s", id)
	return store.AuditEntry{}
}
