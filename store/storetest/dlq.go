package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/store"
)

// deadMatches is the model of store.DeadFilter: whether the entry matches the filter.
// failed_at ranges are half-open, [FailedAfter, FailedBefore); ErrorContains is a
// case-sensitive substring of any entry of the history, with no wildcards; Group is the
// entry's ErrorSignature, or "unknown" for an entry without one.
func deadMatches(d store.DeadJob, f store.DeadFilter) bool {
	if f.AppID != nil && d.AppID != *f.AppID {
		return false
	}
	if f.Type != "" && d.Type != f.Type {
		return false
	}
	if f.FailedAfter != nil && d.FailedAt.Before(*f.FailedAfter) {
		return false
	}
	if f.FailedBefore != nil && !d.FailedAt.Before(*f.FailedBefore) {
		return false
	}
	if f.ErrorContains != "" && !slices.ContainsFunc(d.ErrorHistory, func(r store.ErrorRecord) bool {
		return strings.Contains(r.Error, f.ErrorContains)
	}) {
		return false
	}
	if f.Group != "" && d.ErrorSignature != f.Group && !(f.Group == "unknown" && d.ErrorSignature == "") {
		return false
	}
	if f.Tag != "" && !slices.Contains(d.Tags, f.Tag) {
		return false
	}
	replayed := d.ReplayedAt != nil
	switch {
	case f.ReplayedOnly && !replayed:
		return false
	case !f.ReplayedOnly && !f.IncludeReplayed && replayed:
		return false
	}
	return f.Through == nil || idCmp(d.ID, *f.Through) <= 0
}

// matching returns the ids of the entries that match the filter, newest first.
func matching(entries []store.DeadJob, f store.DeadFilter) []uuid.UUID {
	var ids []uuid.UUID
	for _, d := range entries {
		if deadMatches(d, f) {
			ids = append(ids, d.ID)
		}
	}
	return newestFirst(ids)
}

// everything returns every entry of the store as it stands, replayed or not.
func (b *bundle) everything(t *testing.T) []store.DeadJob {
	t.Helper()
	return must(allDead(b.ctx, b.s, store.DeadFilter{IncludeReplayed: true}))(t)
}

// latestFailure returns the latest FailedAt among the entries.
func latestFailure(entries []store.DeadJob) time.Time {
	var latest time.Time
	for _, d := range entries {
		if d.FailedAt.After(latest) {
			latest = d.FailedAt
		}
	}
	return latest
}

// dlqFixture fills the DLQ with entries of two apps and three types in two batches that the
// database clock separates, replays one, and returns every entry as it now stands, in the
// order listed below.
func dlqFixture(t *testing.T, b *bundle) []store.DeadJob {
	t.Helper()
	first := b.kill(t,
		spec(b.app.ID, "email.send", "smtp: 421 try later", "smtp: Connection Refused"), // 0
		spec(b.app.ID, "email.send", "quota 50% used"),                                  // 1
		spec(b.app.ID, "sms.send", `twilio: 500 at C:\path`),                            // 2
		spec(b.app2.ID, "email.send", "Boom"),                                           // 3
		spec(b.app2.ID, "report.build", "boom", "panic: runtime error"),                 // 4
		spec(b.app.ID, "report.build", "timeout", "timeout", "gave up"),                 // 5
	)
	b.waitClockPast(t, latestFailure(first))
	second := b.kill(t,
		spec(b.app.ID, "email.send", "smtp: 550 mailbox unavailable"), // 6
		spec(b.app2.ID, "sms.send", "50_percent"),                     // 7
		spec(b.app.ID, "sms.send", "boom"),                            // 8
	)
	b.replay(t, second[2].ID)
	all := append(first, second...)
	for i, d := range all {
		all[i] = b.getDead(t, d.ID)
	}
	return all
}

func testDLQ(t *testing.T, r *suite) {
	r.run(t, "FiltersAndCount", func(t *testing.T, b *bundle) {
		e := dlqFixture(t, b)
		ids := func(idx ...int) []uuid.UUID {
			var out []uuid.UUID
			for _, i := range idx {
				out = append(out, e[i].ID)
			}
			return out
		}
		split := slices.MinFunc(e[6:], func(x, y store.DeadJob) int { return x.FailedAt.Compare(y.FailedAt) }).FailedAt
		cases := []struct {
			name string
			f    store.DeadFilter
			want []uuid.UUID // nil: only the model decides
		}{
			{"default", store.DeadFilter{}, ids(0, 1, 2, 3, 4, 5, 6, 7)},
			{"include replayed", store.DeadFilter{IncludeReplayed: true}, ids(0, 1, 2, 3, 4, 5, 6, 7, 8)},
			{"replayed only", store.DeadFilter{ReplayedOnly: true}, ids(8)},
			{"replayed only, include replayed", store.DeadFilter{ReplayedOnly: true, IncludeReplayed: true}, ids(8)},
			{"app", store.DeadFilter{AppID: &b.app.ID}, ids(0, 1, 2, 5, 6)},
			{"app2", store.DeadFilter{AppID: &b.app2.ID}, ids(3, 4, 7)},
			{"unknown app", store.DeadFilter{AppID: ptr(newID())}, ids()},
			{"type", store.DeadFilter{Type: "email.send"}, ids(0, 1, 3, 6)},
			{"app and type", store.DeadFilter{AppID: &b.app.ID, Type: "email.send"}, ids(0, 1, 6)},
			{"type, include replayed", store.DeadFilter{Type: "sms.send", IncludeReplayed: true}, ids(2, 7, 8)},
			{"failed after", store.DeadFilter{FailedAfter: &split}, ids(6, 7)},
			{"failed before", store.DeadFilter{FailedBefore: &split}, ids(0, 1, 2, 3, 4, 5)},
			{"failed after, include replayed", store.DeadFilter{FailedAfter: &split, IncludeReplayed: true}, ids(6, 7, 8)},
			{"failed after = before", store.DeadFilter{FailedAfter: &split, FailedBefore: &split}, ids()},
			{"failed after an entry's time", store.DeadFilter{FailedAfter: &e[2].FailedAt}, nil},
			{"failed before an entry's time", store.DeadFilter{FailedBefore: &e[2].FailedAt}, nil},
			{"failed in a range", store.DeadFilter{FailedAfter: &e[2].FailedAt, FailedBefore: &e[7].FailedAt}, nil},
			{"error lower case", store.DeadFilter{ErrorContains: "boom"}, ids(4)},
			{"error lower case, include replayed", store.DeadFilter{ErrorContains: "boom", IncludeReplayed: true}, ids(4, 8)},
			{"error upper case", store.DeadFilter{ErrorContains: "Boom"}, ids(3)},
			{"error in an earlier attempt", store.DeadFilter{ErrorContains: "421"}, ids(0)},
			{"error in the last attempt", store.DeadFilter{ErrorContains: "gave up"}, ids(5)},
			{"error percent is literal", store.DeadFilter{ErrorContains: "50%"}, ids(1)},
			{"error underscore is literal", store.DeadFilter{ErrorContains: "50_"}, ids(7)},
			{"error percent alone", store.DeadFilter{ErrorContains: "%"}, ids(1)},
			{"error underscore alone", store.DeadFilter{ErrorContains: "_"}, ids(7)},
			{"error backslash", store.DeadFilter{ErrorContains: `C:\p`}, ids(2)},
			{"error injection", store.DeadFilter{ErrorContains: `' OR 1=1 --`}, ids()},
			{"error in a key, not a value", store.DeadFilter{ErrorContains: "timestamp"}, ids()},
			{"through", store.DeadFilter{Through: &e[4].ID}, nil},
			{"through, include replayed", store.DeadFilter{Through: &e[8].ID, IncludeReplayed: true}, nil},
			{"everything at once", store.DeadFilter{AppID: &b.app.ID, Type: "email.send", FailedBefore: &split, ErrorContains: "smtp", Through: &e[5].ID}, ids(0)},
			{"group", store.DeadFilter{Group: e[0].ErrorSignature}, ids(0)},
			{"group of a replayed entry", store.DeadFilter{Group: e[8].ErrorSignature}, ids()},
			{"group, include replayed", store.DeadFilter{Group: e[8].ErrorSignature, IncludeReplayed: true}, ids(8)},
			{"group and another app", store.DeadFilter{Group: e[0].ErrorSignature, AppID: &b.app2.ID}, ids()},
			{"group of no entry", store.DeadFilter{Group: "0123456789abcdef"}, ids()},
			{"group unknown", store.DeadFilter{Group: "unknown", IncludeReplayed: true}, ids()},
		}
		for _, c := range cases {
			want := matching(e, c.f)
			if c.want != nil {
				// The model and the stated expectation agree, or the fixture is wrong.
				wantIDs(t, want, newestFirst(c.want), "the model of filter "+c.name)
			}
			got := must(b.s.ListDead(b.ctx, c.f, store.Page{Limit: 1000}))(t)
			wantIDs(t, deadIDs(got), want, "ListDead with filter "+c.name)
			for _, d := range got {
				wantSameDead(t, d, b.getDead(t, d.ID), "ListDead entry with filter "+c.name)
			}
			if n := must(b.s.CountDead(b.ctx, c.f))(t); n != int64(len(want)) {
				t.Fatalf("CountDead with filter %s = %d, want %d", c.name, n, len(want))
			}
		}
	})

	r.run(t, "KeysetPagingNewestFirst", func(t *testing.T, b *bundle) {
		b.killN(t, 12, b.app.ID, "a")
		b.killN(t, 11, b.app2.ID, "b")
		all := b.everything(t)
		for _, f := range []store.DeadFilter{{}, {AppID: &b.app.ID}, {Type: "b"}, {ErrorContains: "failure 1"}} {
			want := matching(all, f)
			var got []uuid.UUID
			page := store.Page{Limit: 5}
			for range len(all) + 2 {
				items := must(b.s.ListDead(b.ctx, f, page))(t)
				if len(items) > page.Limit {
					t.Fatalf("a page of limit %d held %d entries", page.Limit, len(items))
				}
				got = append(got, deadIDs(items)...)
				if len(items) < page.Limit {
					break
				}
				page.Before = &items[len(items)-1].ID
			}
			wantIDs(t, got, want, fmt.Sprintf("paging through %+v", f))
		}
		first := must(b.s.ListDead(b.ctx, store.DeadFilter{}, store.Page{Limit: 3}))(t)
		wantIDs(t, deadIDs(first), matching(all, store.DeadFilter{})[:3], "ListDead with limit 3")
	})

	r.run(t, "PagingWhileEntriesArriveAndAreReplayed", func(t *testing.T, b *bundle) {
		initial := b.killN(t, 60, b.app.ID, "t")
		// Entries touched by a replay (attempted or done) may or may not be listed; every other
		// initial entry matched for the whole walk and must be listed exactly once.
		var mu sync.Mutex
		touched := map[uuid.UUID]bool{}
		order := rand.Perm(len(initial))
		next := 0
		replayOne := func() error {
			mu.Lock()
			if next >= len(order) {
				mu.Unlock()
				return nil
			}
			d := initial[order[next]]
			next++
			touched[d.ID] = true
			mu.Unlock()
			_, err := b.s.ReplayDead(b.ctx, store.ReplayParams{ID: d.ID, Defaults: testDefaults})
			return err
		}
		killTwo := func() error {
			_, err := killJobs(b.ctx, b.s, []deadSpec{spec(b.app.ID, "t", "late"), spec(b.app.ID, "t", "later")})
			return err
		}

		stop := make(chan struct{})
		var wg sync.WaitGroup
		stopWriters := sync.OnceFunc(func() {
			close(stop)
			wg.Wait()
		})
		defer stopWriters()
		for _, work := range []func() error{killTwo, replayOne, killTwo} {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					if err := work(); err != nil {
						t.Errorf("concurrent writer: %v", err)
						return
					}
				}
			})
		}

		seen := map[uuid.UUID]bool{}
		var last *uuid.UUID
		page := store.Page{Limit: 4}
		for pages := 0; ; pages++ {
			if pages > 1000 {
				t.Fatal("the walk does not end")
			}
			items, err := b.s.ListDead(b.ctx, store.DeadFilter{}, page)
			if err != nil {
				t.Fatalf("ListDead: %v", err)
			}
			for _, d := range items {
				if seen[d.ID] {
					t.Errorf("entry %s was listed twice", d.ID)
				}
				if last != nil && idCmp(d.ID, *last) >= 0 {
					t.Errorf("entry %s was listed after %s: not newest first", d.ID, *last)
				}
				seen[d.ID] = true
				last = &d.ID
			}
			if len(items) < page.Limit {
				break
			}
			page.Before = last
			// Between pages, for certain: one more entry, one more replay.
			if err := killTwo(); err != nil {
				t.Errorf("writer: %v", err)
			}
			if err := replayOne(); err != nil {
				t.Errorf("replayer: %v", err)
			}
		}
		stopWriters()
		mu.Lock()
		defer mu.Unlock()
		for _, d := range initial {
			if !touched[d.ID] && !seen[d.ID] {
				t.Errorf("entry %s matched throughout the walk but was not listed", d.ID)
			}
		}
		// The walk was not vacuous: entries arrived and were replayed while it ran.
		if len(touched) == 0 || len(seen) == 0 {
			t.Fatalf("the walk saw %d entries while %d were replayed; want both", len(seen), len(touched))
		}
	})

	r.run(t, "GetAndDelete", func(t *testing.T, b *bundle) {
		e := b.kill(t, spec(b.app.ID, "t", "a"), spec(b.app.ID, "t", "b"), spec(b.app2.ID, "t", "c"))
		_, err := b.s.GetDead(b.ctx, newID())
		wantErrIs(t, err, store.ErrNotFound, "GetDead of an unknown id")
		listed := must(b.s.ListDead(b.ctx, store.DeadFilter{}, store.Page{Limit: 10}))(t)
		for _, d := range listed {
			wantSameDead(t, b.getDead(t, d.ID), d, "GetDead")
		}

		if err := b.s.DeleteDead(b.ctx, e[0].ID, nil); err != nil {
			t.Fatalf("DeleteDead: %v", err)
		}
		wantErrIs(t, b.s.DeleteDead(b.ctx, e[0].ID, nil), store.ErrNotFound, "a second DeleteDead")
		_, err = b.s.GetDead(b.ctx, e[0].ID)
		wantErrIs(t, err, store.ErrNotFound, "GetDead of a deleted entry")
		_, err = b.s.ReplayDead(b.ctx, store.ReplayParams{ID: e[0].ID, Defaults: testDefaults})
		wantErrIs(t, err, store.ErrNotFound, "ReplayDead of a deleted entry")
		wantErrIs(t, b.s.DeleteDead(b.ctx, newID(), nil), store.ErrNotFound, "DeleteDead of an unknown id")

		// A replayed entry can be deleted too; its job stays.
		job := b.replay(t, e[1].ID)
		if err := b.s.DeleteDead(b.ctx, e[1].ID, nil); err != nil {
			t.Fatalf("DeleteDead of a replayed entry: %v", err)
		}
		b.getJob(t, job.ID)
		remaining := b.everything(t)
		wantIDs(t, deadIDs(remaining), []uuid.UUID{e[2].ID}, "the entries left")
		wantSameDead(t, remaining[0], e[2], "the untouched entry")
	})
}
