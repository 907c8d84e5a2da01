package storetest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/store"
)

// groupsOf is the failure groups of the un-replayed entries matching the filter, per app,
// type and signature ("unknown" for an entry without one), in no particular order.
func groupsOf(entries []store.DeadJob, f store.DeadFilter) []store.FailureGroup {
	f.IncludeReplayed, f.ReplayedOnly, f.Through = false, false, nil
	byKey := map[store.GroupKey]*store.FailureGroup{}
	var order []store.GroupKey
	for _, d := range entries {
		if !deadMatches(d, f) {
			continue
		}
		k := store.GroupKey{AppID: d.AppID, Type: d.Type, Signature: cmp.Or(d.ErrorSignature, "unknown")}
		g := byKey[k]
		if g == nil {
			g = &store.FailureGroup{AppID: d.AppID, Type: d.Type, Signature: k.Signature, FirstFailedAt: d.FailedAt, LastFailedAt: d.FailedAt}
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
	return out
}

// groupsModel is the model of DeadGroups: the groups ordered and bounded as the Store
// documents.
func groupsModel(entries []store.DeadJob, f store.DeadFilter, limit int) []store.FailureGroup {
	out := groupsOf(entries, f)
	slices.SortFunc(out, func(a, b store.FailureGroup) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), b.LastFailedAt.Compare(a.LastFailedAt), groupKeyCmp(a.Key(), b.Key()))
	})
	return out[:min(limit, len(out))]
}

// groupsByKeyModel is the model of DeadGroupsByKey: the groups in key order, above after when
// it is set, bounded by limit.
func groupsByKeyModel(entries []store.DeadJob, f store.DeadFilter, after *store.GroupKey, limit int) []store.FailureGroup {
	out := groupsOf(entries, f)
	slices.SortFunc(out, func(a, b store.FailureGroup) int { return groupKeyCmp(a.Key(), b.Key()) })
	if after != nil {
		out = slices.DeleteFunc(out, func(g store.FailureGroup) bool { return groupKeyCmp(g.Key(), *after) <= 0 })
	}
	return out[:min(limit, len(out))]
}

// groupKeyCmp orders group keys: app id, type and signature, each in byte order.
func groupKeyCmp(a, b store.GroupKey) int {
	return cmp.Or(idCmp(a.AppID, b.AppID), strings.Compare(a.Type, b.Type), strings.Compare(a.Signature, b.Signature))
}

// sameGroups fails the test unless got is want, exactly and in order.
func sameGroups(t *testing.T, got, want []store.FailureGroup, what string) {
	t.Helper()
	describe := func(gs []store.FailureGroup) string {
		js, _ := json.MarshalIndent(gs, "", "  ")
		return string(js)
	}
	if len(got) != len(want) {
		t.Fatalf("%s: got %s\nwant %s", what, describe(got), describe(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.AppID != w.AppID || g.Type != w.Type || g.Signature != w.Signature || g.Count != w.Count ||
			!g.FirstFailedAt.Equal(w.FirstFailedAt) || !g.LastFailedAt.Equal(w.LastFailedAt) ||
			g.SampleID != w.SampleID || g.SampleError != w.SampleError || g.Normalized != w.Normalized {
			t.Fatalf("%s: group %d differs\n got %s\nwant %s", what, i, describe(got), describe(want))
		}
	}
}

// wantGroups fails the test unless DeadGroups answers what the model of the store's entries
// says, exactly and in order.
func (b *bundle) wantGroups(t *testing.T, f store.DeadFilter, limit int, what string) []store.FailureGroup {
	t.Helper()
	want := groupsModel(b.everything(t), f, limit)
	got := must(b.s.DeadGroups(b.ctx, f, limit))(t)
	sameGroups(t, got, want, what+": DeadGroups")
	return got
}

// walkGroups walks DeadGroupsByKey page by page, limit groups a page, checking that each page
// is what the model of the store's entries says at that moment; between pages it calls
// between (when not nil) with the page number and the last key. It returns every group
// walked, in order.
func (b *bundle) walkGroups(t *testing.T, f store.DeadFilter, limit int, between func(page int, last store.GroupKey), what string) []store.FailureGroup {
	t.Helper()
	var walked []store.FailureGroup
	var after *store.GroupKey
	for page := 0; ; page++ {
		if page > 1000 {
			t.Fatalf("%s: the walk does not end", what)
		}
		want := groupsByKeyModel(b.everything(t), f, after, limit)
		got := must(b.s.DeadGroupsByKey(b.ctx, f, after, limit))(t)
		sameGroups(t, got, want, fmt.Sprintf("%s: DeadGroupsByKey page %d", what, page))
		walked = append(walked, got...)
		if len(got) < limit {
			return walked
		}
		after = ptr(got[len(got)-1].Key())
		if between != nil {
			between(page, *after)
		}
	}
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

	r.run(t, "WalkInKeyOrder", func(t *testing.T, b *bundle) {
		// Types that byte order sorts apart from other orders: upper case before lower, a
		// prefix before its extensions, digits before letters.
		var specs []deadSpec
		for _, typ := range []string{"b.type", "a.type", "B.type", "a", "a.type.v2", "0.type"} {
			for i := range 3 {
				specs = append(specs, spec(b.app.ID, typ, fmt.Sprintf("error kind %c", 'x'+i)))
				if i != 1 {
					specs = append(specs, spec(b.app2.ID, typ, fmt.Sprintf("error kind %c", 'x'+i)))
				}
			}
		}
		e := b.kill(t, specs...)
		b.kill(t, spec(b.app.ID, "a.type", "error kind y"), spec(b.app2.ID, "b.type", "error kind x"))
		b.replay(t, e[0].ID) // an empty group: b.type's "error kind x" in app (app2 still has one)

		full := b.walkGroups(t, store.DeadFilter{}, 1000, nil, "every group, one page")
		if len(full) != 6*5-1 {
			t.Fatalf("%d groups, want 29", len(full))
		}
		for _, limit := range []int{1, 2, 3, 7, 28, 29, 30} {
			walked := b.walkGroups(t, store.DeadFilter{}, limit, nil, fmt.Sprintf("limit %d", limit))
			sameGroups(t, walked, full, fmt.Sprintf("the walk with limit %d", limit))
		}
		for _, f := range []store.DeadFilter{
			{AppID: &b.app2.ID}, {Type: "a.type"}, {Group: e[1].ErrorSignature}, {AppID: &b.app.ID, Group: e[1].ErrorSignature},
			{ErrorContains: "kind z"}, {FailedAfter: &e[len(e)-1].FailedAt},
		} {
			b.walkGroups(t, f, 2, nil, fmt.Sprintf("filter %+v", f))
		}
		// A key that is no group's resumes after where it would sort.
		after := store.GroupKey{AppID: b.app.ID, Type: "a.type", Signature: "0000000000000000"}
		sameGroups(t, must(b.s.DeadGroupsByKey(b.ctx, store.DeadFilter{}, &after, 1000))(t),
			groupsByKeyModel(b.everything(t), store.DeadFilter{}, &after, 1000), "after a key of no group")
	})

	r.run(t, "WalkWhileGroupsChange", func(t *testing.T, b *bundle) {
		low, high := b.app.ID, b.app2.ID
		if idCmp(low, high) > 0 {
			low, high = high, low
		}
		var specs []deadSpec
		for _, app := range []uuid.UUID{low, high} {
			for _, typ := range []string{"t1", "t2", "t3", "t4"} {
				specs = append(specs, spec(app, typ, "disk full"), spec(app, typ, "quota exceeded"))
			}
		}
		e := b.kill(t, specs...)
		before := groupsOf(b.everything(t), store.DeadFilter{})
		emptied := e[len(e)-1] // high's t4 "quota exceeded": the last group of all
		grown := e[len(e)-3]   // high's t3 "quota exceeded"
		var added, behind store.GroupKey
		walked := b.walkGroups(t, store.DeadFilter{}, 3, func(page int, last store.GroupKey) {
			if page != 0 {
				return
			}
			// Behind the cursor, ahead of it, gone before the walk reaches it, and grown.
			n := b.kill(t, spec(low, "0.early", "new failure"), spec(high, "z.late", "new failure"), spec(high, "t3", "quota exceeded"))
			behind, added = store.GroupKey{AppID: low, Type: "0.early", Signature: n[0].ErrorSignature},
				store.GroupKey{AppID: high, Type: "z.late", Signature: n[1].ErrorSignature}
			if groupKeyCmp(behind, last) > 0 || groupKeyCmp(added, last) <= 0 {
				t.Fatalf("the new groups are not either side of the cursor %+v", last)
			}
			b.replay(t, emptied.ID)
		}, "while groups change")

		seen := map[store.GroupKey]store.FailureGroup{}
		for i, g := range walked {
			if i > 0 && groupKeyCmp(walked[i-1].Key(), g.Key()) >= 0 {
				t.Fatalf("the walk is not in key order at %d: %+v", i, walked)
			}
			seen[g.Key()] = g
		}
		for _, g := range before {
			k := g.Key()
			if _, ok := seen[k]; ok != (k != store.GroupKey{AppID: emptied.AppID, Type: emptied.Type, Signature: emptied.ErrorSignature}) {
				t.Fatalf("group %+v walked: %v", k, ok)
			}
		}
		if _, ok := seen[added]; !ok {
			t.Fatalf("the group added ahead of the cursor was not walked: %+v", walked)
		}
		if _, ok := seen[behind]; ok {
			t.Fatalf("the group added behind the cursor was walked: %+v", walked)
		}
		if g := seen[store.GroupKey{AppID: grown.AppID, Type: grown.Type, Signature: grown.ErrorSignature}]; g.Count != 2 {
			t.Fatalf("the grown group counts %d entries when walked, want 2 (as of its page)", g.Count)
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
		// In key order the unknown group is walked too, after every signature of its app and
		// type (byte order: "unknown" is above any hex digit), on both stores alike.
		b.kill(t, spec(b.app.ID, "legacy", "another failure"), spec(b.app.ID, "legacy.v2", "new failure 1"))
		for _, limit := range []int{1, 2, 10} {
			walked := b.walkGroups(t, store.DeadFilter{}, limit, nil, fmt.Sprintf("with bare entries, limit %d", limit))
			if len(walked) != 4 || walked[2].Type != "legacy" || walked[2].Signature != "unknown" || walked[3].Type != "legacy.v2" {
				t.Fatalf("the unknown group is not walked last of its type: %+v", walked)
			}
		}
		b.walkGroups(t, store.DeadFilter{Group: "unknown"}, 1, nil, "the unknown group alone")
		f := store.DeadFilter{Group: "unknown"}
		wantIDs(t, deadIDs(must(allDead(b.ctx, b.s, f))(t)), newestFirst(bare), "ListDead of the unknown group")
		if n := must(b.s.PurgeDeadBatch(b.ctx, f, store.PurgeBatch{Limit: 10}))(t); n != 3 {
			t.Fatalf("PurgeDeadBatch of the unknown group = %d, want 3", n)
		}
		b.wantGroups(t, store.DeadFilter{}, 10, "after purging the unknown group")
	})
}
