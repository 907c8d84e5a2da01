package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/store"
)

// backdate moves the retention times of the rows back by by, skipping the test without the hook.
func (r *suite) backdate(t *testing.T, b *bundle, ids []uuid.UUID, by time.Duration) {
	t.Helper()
	if r.opts.Backdate == nil {
		t.Skip("the backend supplies no Backdate hook")
	}
	r.opts.Backdate(t, b.s, ids, by)
}

// trim runs one TrimBatch, failing the test on error.
func (b *bundle) trim(t *testing.T, tb store.TrimBatch) store.TrimResult {
	t.Helper()
	res, err := b.s.TrimBatch(b.ctx, tb)
	if err != nil {
		t.Fatalf("TrimBatch(%+v): %v", tb, err)
	}
	return res
}

// reports lists every trim report, undismissed only when asked.
func (b *bundle) reports(t *testing.T, undismissed bool) []store.TrimReport {
	t.Helper()
	return must(b.s.ListTrimReports(b.ctx, undismissed, store.Page{Limit: 1000}))(t)
}

// deadLeft returns the ids of every entry, replayed or not.
func (b *bundle) deadLeft(t *testing.T) []uuid.UUID {
	t.Helper()
	return deadIDs(must(allDead(b.ctx, b.s, store.DeadFilter{IncludeReplayed: true}))(t))
}

func without(ids []uuid.UUID, drop ...uuid.UUID) []uuid.UUID {
	gone := map[uuid.UUID]bool{}
	for _, id := range drop {
		gone[id] = true
	}
	var out []uuid.UUID
	for _, id := range ids {
		if !gone[id] {
			out = append(out, id)
		}
	}
	return out
}

func testRetention(t *testing.T, r *suite) {
	r.run(t, "Policies", func(t *testing.T, b *bundle) {
		p := must(b.s.PutRetentionPolicy(b.ctx, store.RetentionPolicy{ID: newID(), Kind: store.RetainUnreplayed,
			RetentionScope: store.RetentionScope{AppID: &b.app.ID, Type: "a"}, MaxAge: time.Hour}, nil))(t)
		if p.Kind != store.RetainUnreplayed || p.MaxAge != time.Hour || p.MaxCount != 0 || p.Type != "a" || !eqIDPtr(p.AppID, &b.app.ID) {
			t.Fatalf("PutRetentionPolicy returned %+v", p)
		}
		// The same kind and scope replaces the limits and keeps the id.
		p2 := must(b.s.PutRetentionPolicy(b.ctx, store.RetentionPolicy{ID: newID(), Kind: store.RetainUnreplayed,
			RetentionScope: store.RetentionScope{AppID: &b.app.ID, Type: "a"}, MaxCount: 5}, nil))(t)
		if p2.ID != p.ID || p2.MaxAge != 0 || p2.MaxCount != 5 {
			t.Fatalf("replacing the policy returned %+v, want id %s, max count 5 and no max age", p2, p.ID)
		}
		global := must(b.s.PutRetentionPolicy(b.ctx, store.RetentionPolicy{ID: newID(), Kind: store.RetainUnreplayed, MaxAge: 2 * time.Hour}, nil))(t)
		again := must(b.s.PutRetentionPolicy(b.ctx, store.RetentionPolicy{ID: newID(), Kind: store.RetainUnreplayed, MaxAge: 3 * time.Hour}, nil))(t)
		if again.ID != global.ID {
			t.Fatalf("a second all-apps policy of the kind got id %s, want the first's %s", again.ID, global.ID)
		}
		completed := must(b.s.PutRetentionPolicy(b.ctx, store.RetentionPolicy{ID: newID(), Kind: store.RetainCompleted, MaxAge: time.Hour}, nil))(t)
		list := must(b.s.ListRetentionPolicies(b.ctx))(t)
		var ids []uuid.UUID
		for _, p := range list {
			ids = append(ids, p.ID)
		}
		wantIDs(t, ids, []uuid.UUID{completed.ID, global.ID, p.ID}, "ListRetentionPolicies")
		if gone := must(b.s.DeleteRetentionPolicy(b.ctx, p.ID, nil))(t); gone.ID != p.ID || gone.MaxCount != 5 {
			t.Fatalf("DeleteRetentionPolicy returned %+v, want the policy as it was", gone)
		}
		_, err := b.s.DeleteRetentionPolicy(b.ctx, p.ID, nil)
		wantErrIs(t, err, store.ErrNotFound, "deleting it again")
		_, err = b.s.PutRetentionPolicy(b.ctx, store.RetentionPolicy{ID: newID(), Kind: store.RetainReplayed,
			RetentionScope: store.RetentionScope{AppID: ptr(newID())}, MaxAge: time.Hour}, nil)
		wantFieldError(t, err, store.UnknownApp(), "a policy for an unknown app")
		if log := must(b.s.ListAudit(b.ctx, store.Page{Limit: 10}))(t); len(log) != 0 {
			t.Fatalf("changes without an audit recorded %+v", log)
		}
	})

	r.run(t, "PolicyChangesAreAudited", func(t *testing.T, b *bundle) {
		audit := func() *store.Audit {
			// The store sets the action, app and details: what is given here must not survive.
			return &store.Audit{ID: newID(), Actor: "cli:ops", Action: "ignored", Details: json.RawMessage(`{"x": 1}`)}
		}
		scope := store.RetentionScope{AppID: &b.app.ID, Type: "a"}
		create := audit()
		p := must(b.s.PutRetentionPolicy(b.ctx, store.RetentionPolicy{ID: newID(), Kind: store.RetainUnreplayed,
			RetentionScope: scope, MaxAge: time.Hour}, create))(t)
		update := audit()
		p2 := must(b.s.PutRetentionPolicy(b.ctx, store.RetentionPolicy{ID: newID(), Kind: store.RetainUnreplayed,
			RetentionScope: scope, MaxCount: 5}, update))(t)
		global := audit()
		g := must(b.s.PutRetentionPolicy(b.ctx, store.RetentionPolicy{ID: newID(), Kind: store.RetainCompleted, MaxAge: 2 * time.Hour}, global))(t)
		del := audit()
		gone := must(b.s.DeleteRetentionPolicy(b.ctx, p.ID, del))(t)
		// Refused changes record nothing.
		_, err := b.s.DeleteRetentionPolicy(b.ctx, p.ID, audit())
		wantErrIs(t, err, store.ErrNotFound, "deleting it again")
		_, err = b.s.PutRetentionPolicy(b.ctx, store.RetentionPolicy{ID: newID(), Kind: store.RetainReplayed,
			RetentionScope: store.RetentionScope{AppID: ptr(newID())}, MaxAge: time.Hour}, audit())
		wantFieldError(t, err, store.UnknownApp(), "a policy for an unknown app")

		log := must(b.s.ListAudit(b.ctx, store.Page{Limit: 10}))(t)
		type row struct {
			a       *store.Audit
			action  string
			app     *uuid.UUID
			details map[string]any
		}
		want := []row{
			{del, store.AuditRetentionDelete, &b.app.ID, map[string]any{"policy": gone}},
			{global, store.AuditRetentionCreate, nil, map[string]any{"policy": g}},
			{update, store.AuditRetentionUpdate, &b.app.ID, map[string]any{"policy": p2, "previous": p}},
			{create, store.AuditRetentionCreate, &b.app.ID, map[string]any{"policy": p}},
		}
		if len(log) != len(want) {
			t.Fatalf("audit log has %d rows, want %d: %+v", len(log), len(want), log)
		}
		for i, w := range want {
			e := log[i]
			details, _ := json.Marshal(w.details)
			if e.ID != w.a.ID || e.Action != w.action || e.Actor != "cli:ops" || e.Count != 1 || !eqIDPtr(e.AppID, w.app) ||
				canonJSON(e.Details) != canonJSON(details) {
				t.Errorf("audit row %d = %+v (details %s), want %s of %s", i, e, e.Details, w.action, details)
			}
		}
	})

	r.run(t, "MaxAgeReportsUnreplayed", func(t *testing.T, b *bundle) {
		old := b.killN(t, 3, b.app.ID, "a")
		fresh := b.killN(t, 2, b.app.ID, "a")
		r.backdate(t, b, deadIDs(old), 2*time.Hour)
		policyID := newID()
		res := b.trim(t, store.TrimBatch{Kind: store.RetainUnreplayed, MaxAge: time.Hour, Limit: 100,
			PolicyID: &policyID, Policy: "unreplayed: max age 1h", ExportFile: "/x/export.jsonl"})
		if res.Deleted != 3 || len(res.Groups) != 1 || res.Groups[0].Count != 3 || res.Groups[0].AppID != b.app.ID || res.Groups[0].Type != "a" {
			t.Fatalf("TrimBatch = %+v, want 3 entries of alpha/a", res)
		}
		wantIDSet(t, b.deadLeft(t), deadIDs(fresh), "entries left")
		reps := b.reports(t, true)
		if len(reps) != 1 {
			t.Fatalf("%d reports, want 1: %+v", len(reps), reps)
		}
		rep := reps[0]
		sorted := newestFirst(deadIDs(old))
		if rep.Count != 3 || rep.AppID != b.app.ID || rep.Type != "a" || !eqIDPtr(rep.PolicyID, &policyID) ||
			rep.Policy != "unreplayed: max age 1h" || rep.ExportFile != "/x/export.jsonl" ||
			rep.MinID != sorted[2] || rep.MaxID != sorted[0] || rep.DismissedAt != nil {
			t.Fatalf("report %+v, want 3 entries of alpha/a, ids %s..%s", rep, sorted[2], sorted[0])
		}
		if !rep.OldestFailedAt.Equal(res.Groups[0].Oldest) || !rep.NewestFailedAt.Equal(res.Groups[0].Newest) ||
			rep.NewestFailedAt.Before(rep.OldestFailedAt) {
			t.Fatalf("report failed-at range %s..%s, batch's %s..%s", rep.OldestFailedAt, rep.NewestFailedAt,
				res.Groups[0].Oldest, res.Groups[0].Newest)
		}
		if n := must(b.s.CountTrimReports(b.ctx))(t); n != 1 {
			t.Fatalf("CountTrimReports = %d, want 1", n)
		}
		// Nothing more is old enough.
		if res := b.trim(t, store.TrimBatch{Kind: store.RetainUnreplayed, MaxAge: time.Hour, Limit: 100, Policy: "p"}); res.Deleted != 0 {
			t.Fatalf("a second pass deleted %d", res.Deleted)
		}
		got := must(b.s.GetTrimReport(b.ctx, rep.ID))(t)
		if got.ID != rep.ID || got.Count != 3 {
			t.Fatalf("GetTrimReport = %+v, want %+v", got, rep)
		}
		_, err := b.s.GetTrimReport(b.ctx, newID())
		wantErrIs(t, err, store.ErrNotFound, "GetTrimReport of a missing report")
		// Dismissing.
		d := must(b.s.DismissTrimReport(b.ctx, rep.ID, "admin"))(t)
		if d.DismissedAt == nil || d.DismissedBy != "admin" {
			t.Fatalf("DismissTrimReport returned %+v", d)
		}
		d2 := must(b.s.DismissTrimReport(b.ctx, rep.ID, "other"))(t)
		if !d2.DismissedAt.Equal(*d.DismissedAt) || d2.DismissedBy != "admin" {
			t.Fatalf("dismissing twice changed the report: %+v", d2)
		}
		_, err = b.s.DismissTrimReport(b.ctx, newID(), "admin")
		wantErrIs(t, err, store.ErrNotFound, "dismissing a missing report")
		if n := len(b.reports(t, true)); n != 0 {
			t.Fatalf("%d undismissed reports after dismissing", n)
		}
		if n := len(b.reports(t, false)); n != 1 {
			t.Fatalf("%d reports in all, want 1", n)
		}
	})

	r.run(t, "BoundedBatchesAddToOneReport", func(t *testing.T, b *bundle) {
		old := b.killN(t, 5, b.app.ID, "a")
		r.backdate(t, b, deadIDs(old), 2*time.Hour)
		oldest := newestFirst(deadIDs(old))
		slicesReverse(oldest)
		tb := store.TrimBatch{Kind: store.RetainUnreplayed, MaxAge: time.Hour, Limit: 2, Policy: "p"}
		var deleted []uuid.UUID
		for i, want := range []int{2, 2, 1, 0} {
			res := b.trim(t, tb)
			if res.Deleted != want {
				t.Fatalf("batch %d deleted %d, want %d", i, res.Deleted, want)
			}
			if want > 0 {
				// Oldest first.
				deleted = append(deleted, res.Groups[0].MinID)
				if res.Groups[0].MinID != oldest[2*i] {
					t.Fatalf("batch %d started at %s, want the oldest left, %s", i, res.Groups[0].MinID, oldest[2*i])
				}
			}
			if i == 1 {
				reps := b.reports(t, true)
				if len(reps) != 1 || reps[0].Count != 4 || reps[0].MinID != oldest[0] || reps[0].MaxID != oldest[3] {
					t.Fatalf("after two batches: reports %+v, want one of 4 entries", reps)
				}
				must(b.s.DismissTrimReport(b.ctx, reps[0].ID, "admin"))(t)
			}
		}
		reps := b.reports(t, false)
		if len(reps) != 2 || reps[0].Count != 1 || reps[0].DismissedAt != nil || reps[1].Count != 4 {
			t.Fatalf("reports %+v, want a dismissed one of 4 and a new one of 1", reps)
		}
		if n := len(b.deadLeft(t)); n != 0 {
			t.Fatalf("%d entries left", n)
		}
	})

	r.run(t, "MaxCountDeletesOldest", func(t *testing.T, b *bundle) {
		ids := newestFirst(deadIDs(b.killN(t, 5, b.app.ID, "a")))
		other := deadIDs(b.killN(t, 3, b.app2.ID, "a"))
		scope := store.RetentionScope{AppID: &b.app.ID}
		res := b.trim(t, store.TrimBatch{Kind: store.RetainUnreplayed, Scope: scope, MaxCount: 2, Limit: 100, Policy: "p"})
		if res.Deleted != 3 {
			t.Fatalf("TrimBatch deleted %d, want 3", res.Deleted)
		}
		wantIDSet(t, b.deadLeft(t), append([]uuid.UUID{ids[0], ids[1]}, other...), "entries left: the 2 newest of alpha and all of beta")
		if res := b.trim(t, store.TrimBatch{Kind: store.RetainUnreplayed, Scope: scope, MaxCount: 2, Limit: 100, Policy: "p"}); res.Deleted != 0 {
			t.Fatalf("a second pass deleted %d", res.Deleted)
		}
		// No limits: nothing.
		if res := b.trim(t, store.TrimBatch{Kind: store.RetainUnreplayed, Limit: 100, Policy: "p"}); res.Deleted != 0 {
			t.Fatalf("a batch without limits deleted %d", res.Deleted)
		}
	})

	r.run(t, "ScopeAndExclusions", func(t *testing.T, b *bundle) {
		aa := deadIDs(b.killN(t, 2, b.app.ID, "a"))
		ab := deadIDs(b.killN(t, 2, b.app.ID, "b"))
		ba := deadIDs(b.killN(t, 2, b.app2.ID, "a"))
		all := append(append(append([]uuid.UUID{}, aa...), ab...), ba...)
		r.backdate(t, b, all, 2*time.Hour)
		// Type a everywhere, except alpha's (a more specific policy holds it).
		res := b.trim(t, store.TrimBatch{Kind: store.RetainUnreplayed, Scope: store.RetentionScope{Type: "a"},
			Exclude: []store.RetentionScope{{AppID: &b.app.ID}}, MaxAge: time.Hour, Limit: 100, Policy: "p"})
		if res.Deleted != 2 || res.Groups[0].AppID != b.app2.ID {
			t.Fatalf("TrimBatch = %+v, want beta's 2 entries of a", res)
		}
		// Alpha, except alpha/b.
		res = b.trim(t, store.TrimBatch{Kind: store.RetainUnreplayed, Scope: store.RetentionScope{AppID: &b.app.ID},
			Exclude: []store.RetentionScope{{AppID: &b.app.ID, Type: "b"}}, MaxAge: time.Hour, Limit: 100, Policy: "p"})
		if res.Deleted != 2 || res.Groups[0].Type != "a" {
			t.Fatalf("TrimBatch = %+v, want alpha's 2 entries of a", res)
		}
		wantIDSet(t, b.deadLeft(t), ab, "entries left")
		if reps := b.reports(t, true); len(reps) != 2 {
			t.Fatalf("%d reports, want one per app and type: %+v", len(reps), reps)
		}
	})

	r.run(t, "KindsAreSeparate", func(t *testing.T, b *bundle) {
		entries := deadIDs(b.killN(t, 4, b.app.ID, "a"))
		b.replay(t, entries[0])
		b.replay(t, entries[1])
		r.backdate(t, b, entries, 2*time.Hour)
		res := b.trim(t, store.TrimBatch{Kind: store.RetainReplayed, MaxAge: time.Hour, Limit: 100, Policy: "p",
			BeforeDelete: func(context.Context, []store.DeadJob) error {
				t.Error("BeforeDelete called for replayed entries")
				return nil
			}})
		if res.Deleted != 2 {
			t.Fatalf("trimming replayed entries deleted %d, want 2", res.Deleted)
		}
		if reps := b.reports(t, false); len(reps) != 0 {
			t.Fatalf("trimming replayed entries wrote reports: %+v", reps)
		}
		wantIDSet(t, b.deadLeft(t), entries[2:], "the un-replayed entries are left")
		// Jobs policies never touch entries, and the other way round.
		for _, k := range []store.RetentionKind{store.RetainCompleted, store.RetainCancelled, store.RetainReplayed} {
			if res := b.trim(t, store.TrimBatch{Kind: k, MaxAge: time.Hour, Limit: 100}); res.Deleted != 0 {
				t.Fatalf("trimming %s deleted %d", k, res.Deleted)
			}
		}
		wantIDSet(t, b.deadLeft(t), entries[2:], "the un-replayed entries are left")
	})

	r.run(t, "CompletedAndCancelledJobs", func(t *testing.T, b *bundle) {
		jobs, token := b.running(t, 6, nil)
		var fs []store.Finish
		for i, j := range jobs[:4] {
			o := store.OutcomeComplete
			if i%2 == 1 {
				o = store.OutcomeCancel
			}
			fs = append(fs, store.Finish{Lease: store.Lease{JobID: j.ID, Token: token}, Outcome: o, Error: "stop"})
		}
		b.finish(t, fs...)
		pending := b.insertNew(t, newJob(b.app.ID, "work"))
		all := append(jobIDs(jobs), pending[0].ID)
		r.backdate(t, b, all, 2*time.Hour)
		res := b.trim(t, store.TrimBatch{Kind: store.RetainCompleted, MaxAge: time.Hour, Limit: 100})
		if res.Deleted != 2 {
			t.Fatalf("trimming completed jobs deleted %d, want 2", res.Deleted)
		}
		b.wantNoJob(t, jobs[0].ID)
		b.wantNoJob(t, jobs[2].ID)
		res = b.trim(t, store.TrimBatch{Kind: store.RetainCancelled, MaxCount: 1, Limit: 100})
		if res.Deleted != 1 || res.Groups[0].MinID != jobs[1].ID {
			t.Fatalf("trimming cancelled jobs beyond 1 = %+v, want the older, %s", res, jobs[1].ID)
		}
		b.wantNoJob(t, jobs[1].ID)
		for _, id := range []uuid.UUID{jobs[3].ID, jobs[4].ID, jobs[5].ID, pending[0].ID} {
			b.getJob(t, id) // running, pending and the newest cancelled job stay
		}
		if reps := b.reports(t, false); len(reps) != 0 {
			t.Fatalf("trimming jobs wrote reports: %+v", reps)
		}
	})

	r.run(t, "ExportBeforeDelete", func(t *testing.T, b *bundle) {
		old := b.killN(t, 3, b.app.ID, "a")
		r.backdate(t, b, deadIDs(old), 2*time.Hour)
		var seen []store.DeadJob
		res := b.trim(t, store.TrimBatch{Kind: store.RetainUnreplayed, MaxAge: time.Hour, Limit: 100, Policy: "p",
			BeforeDelete: func(ctx context.Context, entries []store.DeadJob) error {
				seen = entries
				// Not deleted yet, and not reported yet, as another connection sees it.
				for _, d := range entries {
					if _, err := b.s.GetDead(ctx, d.ID); err != nil {
						t.Errorf("entry %s, in BeforeDelete: %v", d.ID, err)
					}
				}
				if n := must(b.s.CountTrimReports(ctx))(t); n != 0 {
					t.Errorf("%d reports visible in BeforeDelete", n)
				}
				return nil
			}})
		if res.Deleted != 3 {
			t.Fatalf("deleted %d", res.Deleted)
		}
		wantIDSet(t, deadIDs(seen), deadIDs(old), "entries BeforeDelete saw")
		for _, d := range seen {
			for _, o := range old {
				if o.ID == d.ID && canonJSON(o.Payload) != canonJSON(d.Payload) {
					t.Fatalf("BeforeDelete saw entry %s with payload %s, want %s", d.ID, d.Payload, o.Payload)
				}
			}
		}
	})

	r.run(t, "ExportFailureDeletesNothing", func(t *testing.T, b *bundle) {
		old := b.killN(t, 3, b.app.ID, "a")
		r.backdate(t, b, deadIDs(old), 2*time.Hour)
		boom := errors.New("disk full")
		_, err := b.s.TrimBatch(b.ctx, store.TrimBatch{Kind: store.RetainUnreplayed, MaxAge: time.Hour, Limit: 100, Policy: "p",
			BeforeDelete: func(context.Context, []store.DeadJob) error { return boom }})
		wantErrIs(t, err, boom, "TrimBatch with a failing export")
		wantIDSet(t, b.deadLeft(t), deadIDs(old), "entries left")
		if reps := b.reports(t, false); len(reps) != 0 {
			t.Fatalf("a failed trim wrote reports: %+v", reps)
		}
	})

	r.run(t, "DryRun", func(t *testing.T, b *bundle) {
		old := b.killN(t, 3, b.app.ID, "a")
		r.backdate(t, b, deadIDs(old), 2*time.Hour)
		res := b.trim(t, store.TrimBatch{Kind: store.RetainUnreplayed, MaxAge: time.Hour, Limit: 100, Policy: "p", DryRun: true,
			BeforeDelete: func(context.Context, []store.DeadJob) error {
				t.Error("BeforeDelete called on a dry run")
				return nil
			}})
		if res.Deleted != 3 {
			t.Fatalf("dry run counted %d, want 3", res.Deleted)
		}
		wantIDSet(t, b.deadLeft(t), deadIDs(old), "entries left after a dry run")
		if reps := b.reports(t, false); len(reps) != 0 {
			t.Fatalf("a dry run wrote reports: %+v", reps)
		}
	})

	r.run(t, "ConcurrentTrims", func(t *testing.T, b *bundle) {
		const n = 40
		old := b.killN(t, n, b.app.ID, "a")
		r.backdate(t, b, deadIDs(old), 2*time.Hour)
		var mu sync.Mutex
		total := 0
		exported := map[uuid.UUID]int{}
		var wg sync.WaitGroup
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					res, err := b.s.TrimBatch(b.ctx, store.TrimBatch{Kind: store.RetainUnreplayed, MaxAge: time.Hour, Limit: 3, Policy: "p",
						BeforeDelete: func(_ context.Context, entries []store.DeadJob) error {
							mu.Lock()
							defer mu.Unlock()
							for _, d := range entries {
								exported[d.ID]++
							}
							return nil
						}})
					if err != nil {
						t.Errorf("TrimBatch: %v", err)
						return
					}
					mu.Lock()
					total += res.Deleted
					mu.Unlock()
					if res.Deleted == 0 {
						return
					}
				}
			}()
		}
		wg.Wait()
		if total != n {
			t.Fatalf("the trims deleted %d in all, want %d", total, n)
		}
		if len(exported) != n {
			t.Fatalf("%d entries exported, want %d", len(exported), n)
		}
		reps := b.reports(t, true)
		if len(reps) != 1 || reps[0].Count != n {
			t.Fatalf("reports %+v, want one of %d", reps, n)
		}
	})
}

func slicesReverse(ids []uuid.UUID) {
	for i, j := 0, len(ids)-1; i < j; i, j = i+1, j-1 {
		ids[i], ids[j] = ids[j], ids[i]
	}
}
