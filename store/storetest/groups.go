package storetest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/store"
)

// groupsModel is the model of DeadGroups: the un-replayed entries matching the filter per
// app, type and signature ("unknown" for an entry without one), ordered and bounded as the
// Store documents.
func groupsModel(entries []store.DeadJob, f store.DeadFilter, limit int) []store.FailureGroup {
	f.IncludeReplayed, f.ReplayedOnly, f.Through = false, false, nil
	type key struct {
		app       uuid.UUID
		typ, sign string
	}
	byKey := map[key]*store.FailureGroup{}
	var order []key
	for _, d := range entries {
		if !deadMatches(d, f) {
			continue
		}
		k := key{d.AppID, d.Type, cmp.Or(d.ErrorSignature, "unknown")}
		g := byKey[k]
		if g == nil {
			g = &store.FailureGroup{AppID: d.AppID, Type: d.Type, Signature: k.sign, FirstFailedAt: d.FailedAt, LastFailedAt: d.FailedAt}
			byKey[k] = g
			order = append(order, k)
		}
		g.Count++
		if d.FailedAt.Before(g.FirstFailedAt) {
			g.FirstFailedAt = d.FailedAt
		}
		if d.FailedAt.After(g.LastFailedAt) {
			g.LastFailedAt = d.FailedAt
		}
		if g.SampleID == uuid.Nil || idCmp(d.ID, g.SampleID) > 0 {
			g.SampleID, g.SampleError = d.ID, d.LastError()
		}
	}
	out := []store.FailureGroup{}
	for _, k := range order {
		g := *byKey[k]
		store.FillNormalized(&g)
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b store.FailureGroup) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), b.LastFailedAt.Compare(a.LastFailedAt),
			idCmp(a.AppID, b.AppID), cmp.Compare(a.Type, b.Type), cmp.Compare(a.Signature, b.Signature))
	})
	return out[:min(limit, len(out))]
}

// wantGroups fails the test unless DeadGroups answers what the model of the store's entries
// says, exactly and in order.
func (b *bundle) wantGroups(t *testing.T, f store.DeadFilter, limit int, what string) []store.FailureGroup {
	t.Helper()
	want := groupsModel(b.everything(t), f, limit)
	got := must(b.s.DeadGroups(b.ctx, f, limit))(t)
	describe := func(gs []store.FailureGroup) string {
		js, _ := json.MarshalIndent(gs, "", "  ")
		return string(js)
	}
	if len(got) != len(want) {
		t.Fatalf("%s: DeadGroups = %s\nwant %s", what, describe(got), describe(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.AppID != w.AppID || g.Type != w.Type || g.Signature != w.Signature || g.Count != w.Count ||
			!g.FirstFailedAt.Equal(w.FirstFailedAt) || !g.LastFailedAt.Equal(w.LastFailedAt) ||
			g.SampleID != w.SampleID || g.SampleError != w.SampleError || g.Normalized != w.Normalized {
			t.Fatalf("%s: group %d differs\n got %s\nwant %s", what, i, describe(got), describe(want))
		}
	}
	return got
}

func testGroups(t *testing.T, r *suite) {
	r.run(t, "MaskedErrorsGroupTogether", func(t *testing.T, b *bundle) {
		const timeout30, timeout45 = "timeout after 30s connecting to 10.0.0.1:5432", "timeout after 45s connecting to 10.0.0.7:5432"
		e := b.kill(t,
			spec(b.app.ID, "db.query", timeout30),                                       // 0
			spec(b.app.ID, "db.query", "connection reset", timeout45),                   // 1: only the last error counts
			spec(b.app.ID, "db.query", `permission denied for "users"`),                 // 2
			spec(b.app2.ID, "db.query", "timeout after 9s connecting to 10.9.9.9:5432"), // 3: another app
			spec(b.app.ID, "mail.send", timeout30),                                      // 4: another type
			spec(b.app.ID, "db.query", timeout45),                                       // 5: replayed below
		)
		b.replay(t, e[5].ID)
		sig := store.ErrorSignature(timeout30)
		for _, i := range []int{0, 1, 3, 4, 5} {
			if e[i].ErrorSignature != sig {
				t.Fatalf("entry %d has signature %q, want %q, that of %q", i, e[i].ErrorSignature, sig, timeout30)
			}
		}
		if e[2].ErrorSignature == sig || e[2].ErrorSignature != store.ErrorSignature(`permission denied for "accounts"`) {
			t.Fatalf("entry 2 has signature %q", e[2].ErrorSignature)
		}

		all := b.wantGroups(t, store.DeadFilter{}, 100, "every group")
		if len(all) != 4 || all[0].Count != 2 || all[0].AppID != b.app.ID || all[0].Type != "db.query" || all[0].Signature != sig ||
			all[0].Normalized != "timeout after <n>s connecting to <addr>" {
			t.Fatalf("the db.query timeouts of app are not one group of 2 (the replayed entry left out): %+v", all)
		}
		newest := slices.MaxFunc(e[:2], func(x, y store.DeadJob) int { return idCmp(x.ID, y.ID) })
		if all[0].SampleID != newest.ID || all[0].SampleError != newest.LastError() {
			t.Fatalf("the group's sample is %s %q, want the newest entry %s %q", all[0].SampleID, all[0].SampleError, newest.ID, newest.LastError())
		}

		b.wantGroups(t, store.DeadFilter{AppID: &b.app.ID}, 100, "the groups of app")
		b.wantGroups(t, store.DeadFilter{Type: "db.query"}, 100, "the groups of db.query")
		b.wantGroups(t, store.DeadFilter{AppID: &b.app2.ID, Type: "mail.send"}, 100, "no groups")
		b.wantGroups(t, store.DeadFilter{Group: sig}, 100, "one signature's groups")
		b.wantGroups(t, store.DeadFilter{ErrorContains: "reset"}, 100, "groups with an earlier error")
		b.wantGroups(t, store.DeadFilter{FailedAfter: &e[2].FailedAt}, 100, "groups failed after")
		b.wantGroups(t, store.DeadFilter{FailedBefore: &e[2].FailedAt}, 100, "groups failed before")
		b.wantGroups(t, store.DeadFilter{IncludeReplayed: true}, 100, "replayed entries are never grouped")
		b.wantGroups(t, store.DeadFilter{}, 1, "limit 1")
		b.wantGroups(t, store.DeadFilter{}, 3, "limit 3")

		// Stats counts the groups.
		for _, st := range must(b.s.Stats(b.ctx))(t) {
			want := map[string]int64{b.app.ID.String() + "/db.query": 2, b.app.ID.String() + "/mail.send": 1, b.app2.ID.String() + "/db.query": 1}[st.AppID.String()+"/"+st.Type]
			if st.DeadGroups != want {
				t.Errorf("Stats of %s/%s: %d groups, want %d", st.AppID, st.Type, st.DeadGroups, want)
			}
		}
	})

	r.run(t, "OrderIsDeterministic", func(t *testing.T, b *bundle) {
		// Equal counts: the latest failure first; then app, type and signature.
		specs := []deadSpec{}
		for i := range 3 {
			for _, typ := range []string{"b.type", "a.type", "B.type"} {
				specs = append(specs, spec(b.app.ID, typ, fmt.Sprintf("error kind %c", 'x'+i)))
				specs = append(specs, spec(b.app2.ID, typ, fmt.Sprintf("error kind %c", 'x'+i)))
			}
		}
		b.kill(t, specs...) // one batch: many groups share their failure time
		b.kill(t, spec(b.app.ID, "a.type", "error kind y"))
		for _, limit := range []int{1, 5, 18, 100} {
			b.wantGroups(t, store.DeadFilter{}, limit, fmt.Sprintf("limit %d", limit))
		}
	})

	r.run(t, "ListReplayAndPurgeByGroup", func(t *testing.T, b *bundle) {
		var specs []deadSpec
		for i := range 5 {
			specs = append(specs, spec(b.app.ID, "t", fmt.Sprintf("user %d not found", 100+i)))
			specs = append(specs, spec(b.app.ID, "t", fmt.Sprintf("quota exceeded on shard %d", i)))
		}
		e := b.kill(t, specs...)
		notFound, quota := e[0].ErrorSignature, e[1].ErrorSignature
		if notFound == quota {
			t.Fatal("two failures share a signature")
		}
		f := store.DeadFilter{Group: notFound}
		wantIDs(t, deadIDs(must(allDead(b.ctx, b.s, f))(t)), matching(e, f), "ListDead of the group")
		if n := must(b.s.CountDead(b.ctx, f))(t); n != 5 {
			t.Fatalf("CountDead of the group = %d, want 5", n)
		}
		res := must(b.s.ReplayDeadBatch(b.ctx, f, store.ReplayBatch{Limit: 100, Defaults: testDefaults}))(t)
		if res.Considered != 5 || res.Replayed != 5 {
			t.Fatalf("ReplayDeadBatch of the group = %+v, want 5 replayed", res)
		}
		for _, d := range b.everything(t) {
			if replayed := d.ReplayedAt != nil; replayed != (d.ErrorSignature == notFound) {
				t.Fatalf("entry %s (group %s) replayed = %v", d.ID, d.ErrorSignature, replayed)
			}
		}
		b.wantGroups(t, store.DeadFilter{}, 10, "after replaying a group")
		purged := must(b.s.PurgeDeadBatch(b.ctx, store.DeadFilter{Group: quota, AppID: &b.app.ID}, store.PurgeBatch{Limit: 100}))(t)
		if purged != 5 {
			t.Fatalf("PurgeDeadBatch of the group = %d, want 5", purged)
		}
		left := b.everything(t)
		wantIDSet(t, deadIDs(left), matching(e, store.DeadFilter{Group: notFound, IncludeReplayed: true}), "the entries left")
		if g := must(b.s.DeadGroups(b.ctx, store.DeadFilter{}, 10))(t); len(g) != 0 {
			t.Fatalf("groups left: %+v", g)
		}
	})

	r.run(t, "RescueSetsTheSignature", func(t *testing.T, b *bundle) {
		j := newJob(b.app.ID, "rescued")
		j.Queue, j.MaxAttempts = uniqueName("q"), 1
		claimed, _ := b.claimOne(t, b.insertNew(t, j)[0], time.Millisecond)
		b.waitClockPast(t, *claimed.LeaseExpiresAt)
		if res := must(b.s.RescueExpired(b.ctx, 10))(t); res.DeadLettered != 1 {
			t.Fatalf("RescueExpired = %+v, want 1 dead-lettered", res)
		}
		entries := must(allDead(b.ctx, b.s, store.DeadFilter{Type: "rescued"}))(t)
		if len(entries) != 1 || entries[0].ErrorSignature != store.ErrorSignature(store.RescueError(1)) {
			t.Fatalf("the rescued entry: %+v, want signature %s", entries, store.ErrorSignature(store.RescueError(1)))
		}
		// Every rescue's error is one group, whatever the attempt.
		if store.ErrorSignature(store.RescueError(1)) != store.ErrorSignature(store.RescueError(7)) {
			t.Fatal("rescue errors of different attempts have different signatures")
		}
	})

	r.run(t, "EntriesWithoutASignatureAreTheUnknownGroup", func(t *testing.T, b *bundle) {
		if r.opts.InsertBareDead == nil {
			t.Skip("the backend supplies no Options.InsertBareDead")
		}
		now := time.Now().UnixMilli()
		var bare []uuid.UUID
		for i := range 3 {
			d := store.DeadJob{ID: newID(), OriginalJobID: newID(), AppID: b.app.ID, Type: "legacy",
				Payload: json.RawMessage(`{}`), Attempts: 1,
				ErrorHistory: []store.ErrorRecord{{Error: fmt.Sprintf("old failure %d", i), Timestamp: now}}}
			r.opts.InsertBareDead(t, b.s, d)
			bare = append(bare, d.ID)
		}
		b.kill(t, spec(b.app.ID, "legacy", "new failure 1"))
		groups := b.wantGroups(t, store.DeadFilter{}, 10, "with bare entries")
		if len(groups) != 2 || groups[0].Signature != "unknown" || groups[0].Count != 3 || groups[0].Normalized != "" ||
			groups[0].SampleError != "old failure 2" {
			t.Fatalf("the bare entries are not the group unknown of 3: %+v", groups)
		}
		f := store.DeadFilter{Group: "unknown"}
		wantIDs(t, deadIDs(must(allDead(b.ctx, b.s, f))(t)), newestFirst(bare), "ListDead of the unknown group")
		if n := must(b.s.PurgeDeadBatch(b.ctx, f, store.PurgeBatch{Limit: 10}))(t); n != 3 {
			t.Fatalf("PurgeDeadBatch of the unknown group = %d, want 3", n)
		}
		b.wantGroups(t, store.DeadFilter{}, 10, "after purging the unknown group")
	})
}
