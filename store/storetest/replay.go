package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/store"
)

// wantReplayJob fails the test unless job is the fresh job replaying entry d should create:
// the entry's app, type and payload, its queue, priority, attempt budget and unique key (or
// the defaults where the entry has none), pending and due now, never attempted.
func wantReplayJob(t *testing.T, job store.Job, d store.DeadJob, defaults store.ReplayDefaults, lo, hi time.Time, what string) {
	t.Helper()
	want := store.Job{
		ID: job.ID, AppID: d.AppID, Type: d.Type, Queue: d.Queue, Priority: d.Priority,
		Payload: d.Payload, Status: store.StatusPending, MaxAttempts: d.MaxAttempts,
		UniqueKey: d.UniqueKey, ReplayedFrom: &d.ID, RunAt: job.RunAt, CreatedAt: job.CreatedAt,
	}
	if want.Queue == "" {
		want.Queue = defaults.Queue
	}
	if want.MaxAttempts == 0 {
		want.MaxAttempts = defaults.MaxAttempts
	}
	wantSameJob(t, job, want, what)
	wantBetween(t, job.CreatedAt, lo, hi, what+": CreatedAt")
	wantBetween(t, job.RunAt, lo, hi, what+": RunAt (due now)")
	if job.ID == d.ID || job.ID == d.OriginalJobID || job.ID.Version() != 7 {
		t.Fatalf("%s: the job's id %s is not a fresh UUIDv7", what, job.ID)
	}
}

// wantReplayed fails the test unless the entry, as stored now, is d marked replayed by job
// within [lo, hi], and otherwise unchanged.
func (b *bundle) wantReplayed(t *testing.T, d store.DeadJob, job store.Job, lo, hi time.Time, what string) store.DeadJob {
	t.Helper()
	got := b.getDead(t, d.ID)
	if got.ReplayedAt == nil || got.ReplayJobID == nil || *got.ReplayJobID != job.ID {
		t.Fatalf("%s: the entry is not marked replayed by job %s: %s", what, job.ID, describeDead(got))
	}
	wantBetween(t, *got.ReplayedAt, lo, hi, what+": ReplayedAt")
	want := d
	want.ReplayedAt, want.ReplayJobID = got.ReplayedAt, got.ReplayJobID
	wantSameDead(t, got, want, what)
	return got
}

func testReplay(t *testing.T, r *suite) {
	r.run(t, "CreatesJobAndMarksEntry", func(t *testing.T, b *bundle) {
		d := b.kill(t, deadSpec{
			appID: b.app.ID, typ: "email.send", errs: []string{"e1", "e2"}, queue: uniqueName("mail"),
			payload: json.RawMessage(`{"to": "a@example.com", "n": [1, 2]}`), priority: 7, maxAttempts: 5,
			uniqueKey: "welcome-42",
		})[0]
		if d.ID.Version() != 7 {
			t.Fatalf("the entry's id %s is not a UUIDv7", d.ID)
		}
		defaults := store.ReplayDefaults{Queue: "not-used", MaxAttempts: 9}
		lo := b.dbNow(t)
		job := must(b.s.ReplayDead(b.ctx, store.ReplayParams{ID: d.ID, Defaults: defaults}))(t)
		hi := b.dbNow(t)
		wantReplayJob(t, job, d, defaults, lo, hi, "the replayed job")
		wantSameJob(t, b.getJob(t, job.ID), job, "GetJob of the replayed job")
		replayed := b.wantReplayed(t, d, job, lo, hi, "the entry")

		for _, c := range []struct {
			f    store.DeadFilter
			want bool
		}{{store.DeadFilter{}, false}, {store.DeadFilter{IncludeReplayed: true}, true}, {store.DeadFilter{ReplayedOnly: true}, true}} {
			got := must(b.s.ListDead(b.ctx, c.f, store.Page{Limit: 10}))(t)
			if listed := len(got) == 1 && got[0].ID == d.ID; listed != c.want {
				t.Fatalf("ListDead(%+v) = %v; want the replayed entry listed: %v", c.f, deadIDs(got), c.want)
			}
		}

		_, err := b.s.ReplayDead(b.ctx, store.ReplayParams{ID: d.ID, Defaults: defaults})
		wantErrIs(t, err, store.ErrAlreadyReplayed, "a second ReplayDead")
		wantSameDead(t, b.getDead(t, d.ID), replayed, "the entry after a second replay")
		if jobs := b.jobsReplayedFrom(t, d.ID); len(jobs) != 1 {
			t.Fatalf("%d jobs were replayed from the entry, want 1", len(jobs))
		}
		_, err = b.s.ReplayDead(b.ctx, store.ReplayParams{ID: newID(), Defaults: defaults})
		wantErrIs(t, err, store.ErrNotFound, "ReplayDead of an unknown id")

		// The replayed job runs, and fails for good again: a new entry of its own, no loop.
		running, token := b.claimOne(t, job, time.Hour)
		if running.Attempts != 1 {
			t.Fatalf("the replayed job's first claim has attempts %d", running.Attempts)
		}
		b.finishOne(t, store.Lease{JobID: job.ID, Token: token}, store.OutcomeDeadLetter, "failed again", 0)
		all := b.everything(t)
		if len(all) != 2 {
			t.Fatalf("the DLQ holds %d entries, want 2", len(all))
		}
		wantSameDead(t, all[1], replayed, "the first entry")
		again := all[0]
		if again.OriginalJobID != job.ID || again.Attempts != 1 || again.LastError() != "failed again" ||
			len(again.ErrorHistory) != 1 || again.ReplayedAt != nil {
			t.Fatalf("the second entry: %s", describeDead(again))
		}
		lo = b.dbNow(t)
		job2 := must(b.s.ReplayDead(b.ctx, store.ReplayParams{ID: again.ID, Defaults: defaults}))(t)
		hi = b.dbNow(t)
		wantReplayJob(t, job2, again, defaults, lo, hi, "the job replayed from the second entry")
	})

	r.run(t, "ConcurrentReplaysOfOneEntry", func(t *testing.T, b *bundle) {
		d := b.kill(t, spec(b.app.ID, "t", "e"))[0]
		const replayers = 50
		var won, lost atomic.Int32
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range replayers {
			wg.Go(func() {
				<-start
				_, err := b.s.ReplayDead(b.ctx, store.ReplayParams{ID: d.ID, Defaults: testDefaults})
				switch {
				case err == nil:
					won.Add(1)
				case errors.Is(err, store.ErrAlreadyReplayed):
					lost.Add(1)
				default:
					t.Errorf("concurrent ReplayDead: %v", err)
				}
			})
		}
		close(start)
		wg.Wait()
		if won.Load() != 1 || lost.Load() != replayers-1 {
			t.Fatalf("%d replays succeeded and %d were told already replayed; want 1 and %d", won.Load(), lost.Load(), replayers-1)
		}
		jobs := b.jobsReplayedFrom(t, d.ID)
		if len(jobs) != 1 {
			t.Fatalf("%d jobs were replayed from the entry, want 1", len(jobs))
		}
		if got := b.getDead(t, d.ID); got.ReplayJobID == nil || *got.ReplayJobID != jobs[0].ID {
			t.Fatalf("the entry links to %v, the job is %s", got.ReplayJobID, jobs[0].ID)
		}
	})

	r.run(t, "UniqueKeyConflictLeavesEntryUnreplayed", func(t *testing.T, b *bundle) {
		d := b.kill(t, deadSpec{appID: b.app.ID, typ: "t", uniqueKey: "k"})[0]
		holder := newJob(b.app.ID, "other-type")
		holder.Queue, holder.UniqueKey = uniqueName("q"), "k"
		b.insertNew(t, holder)
		// The key in another app is no obstacle; only a live job of the entry's app is.
		other := newJob(b.app2.ID, "t")
		other.UniqueKey = "k"
		b.insertNew(t, other)

		_, err := b.s.ReplayDead(b.ctx, store.ReplayParams{ID: d.ID, Defaults: testDefaults})
		wantErrIs(t, err, store.ErrConflict, "ReplayDead while a live job holds the key")
		wantFieldError(t, err, store.UniqueKeyHeld(), "ReplayDead while a live job holds the key")
		wantSameDead(t, b.getDead(t, d.ID), d, "the entry after a refused replay")
		if jobs := b.jobsReplayedFrom(t, d.ID); len(jobs) != 0 {
			t.Fatalf("a refused replay left %d jobs", len(jobs))
		}

		// Once the holder is done, the replay goes through, and the new job holds the key.
		claimed, token := b.claimOne(t, b.getJob(t, holder.ID), time.Hour)
		b.finishOne(t, store.Lease{JobID: claimed.ID, Token: token}, store.OutcomeComplete, "", 0)
		lo := b.dbNow(t)
		job := b.replay(t, d.ID)
		hi := b.dbNow(t)
		wantReplayJob(t, job, d, testDefaults, lo, hi, "the replayed job")
		b.wantReplayed(t, d, job, lo, hi, "the entry")
		dup := newJob(b.app.ID, "t")
		dup.UniqueKey = "k"
		if res := b.insert(t, dup); !res[0].Duplicate || res[0].Job.ID != job.ID {
			t.Fatalf("the replayed job does not hold its unique key: %+v", res[0])
		}
	})

	r.run(t, "BareEntryReplaysWithDefaults", func(t *testing.T, b *bundle) {
		if r.opts.InsertBareDead == nil {
			t.Skip("the backend supplies no Options.InsertBareDead")
		}
		now := time.Now().UnixMilli()
		bare := func(typ string) store.DeadJob {
			return store.DeadJob{
				ID: newID(), OriginalJobID: newID(), AppID: b.app.ID, Type: typ,
				Payload: json.RawMessage(`{"legacy": true, "list": [1, "two"]}`), Attempts: 4,
				ErrorHistory: []store.ErrorRecord{{Error: "old failure", Timestamp: now - 2000}, {Error: "final failure", Timestamp: now - 1000}},
			}
		}
		one, two := bare("legacy.one"), bare("legacy.two")
		lo := b.dbNow(t)
		r.opts.InsertBareDead(t, b.s, one)
		r.opts.InsertBareDead(t, b.s, two)
		hi := b.dbNow(t)

		got := b.getDead(t, one.ID)
		wantBetween(t, got.FailedAt, lo, hi, "the bare entry's FailedAt")
		want := one
		want.FailedAt = got.FailedAt
		wantSameDead(t, got, want, "the bare entry") // Queue "", Priority 0, MaxAttempts 0, UniqueKey ""
		listed := must(b.s.ListDead(b.ctx, store.DeadFilter{Type: "legacy.one", ErrorContains: "old failure"}, store.Page{Limit: 10}))(t)
		wantIDs(t, deadIDs(listed), []uuid.UUID{one.ID}, "ListDead of the bare entry")
		if n := must(b.s.CountDead(b.ctx, store.DeadFilter{AppID: &b.app.ID}))(t); n != 2 {
			t.Fatalf("CountDead = %d, want 2", n)
		}

		defaults := store.ReplayDefaults{Queue: "legacy-queue", MaxAttempts: 7}
		lo = b.dbNow(t)
		job := must(b.s.ReplayDead(b.ctx, store.ReplayParams{ID: one.ID, Defaults: defaults}))(t)
		hi = b.dbNow(t)
		wantReplayJob(t, job, got, defaults, lo, hi, "the job replayed from a bare entry")
		b.wantReplayed(t, got, job, lo, hi, "the bare entry")

		// Bulk replay fills in the defaults the same way.
		twoGot := b.getDead(t, two.ID)
		bulk := store.ReplayDefaults{Queue: "bulk-queue", MaxAttempts: 3}
		lo = b.dbNow(t)
		res := must(b.s.ReplayDeadBatch(b.ctx, store.DeadFilter{Type: "legacy.two"}, store.ReplayBatch{Limit: 10, Defaults: bulk}))(t)
		hi = b.dbNow(t)
		if res.Considered != 1 || res.Replayed != 1 {
			t.Fatalf("ReplayDeadBatch = %+v", res)
		}
		jobs := b.jobsReplayedFrom(t, two.ID)
		if len(jobs) != 1 {
			t.Fatalf("%d jobs replayed from the second bare entry", len(jobs))
		}
		wantReplayJob(t, jobs[0], twoGot, bulk, lo, hi, "the job bulk-replayed from a bare entry")
		b.wantReplayed(t, twoGot, jobs[0], lo, hi, "the second bare entry")
	})
}

// replayAll runs bulk replay batches of the filter to the end, as the sluice package does,
// and returns the batches' results. It reports errors rather than failing the test.
func replayAll(b *bundle, f store.DeadFilter, limit int) ([]store.ReplayBatchResult, error) {
	var out []store.ReplayBatchResult
	var before *uuid.UUID
	for range 10000 {
		res, err := b.s.ReplayDeadBatch(b.ctx, f, store.ReplayBatch{Before: before, Limit: limit, Defaults: testDefaults})
		if err != nil {
			return out, err
		}
		out = append(out, res)
		if res.Considered < limit {
			return out, nil
		}
		before = res.LastID
	}
	return out, fmt.Errorf("bulk replay does not end")
}

func testReplayBatch(t *testing.T, r *suite) {
	r.run(t, "WindowsNewestFirst", func(t *testing.T, b *bundle) {
		older := b.killN(t, 5, b.app.ID, "bulk")
		bystanders := b.kill(t, spec(b.app.ID, "other", "x"), spec(b.app2.ID, "bulk", "y"))
		newer := b.killN(t, 5, b.app.ID, "bulk")
		want := newestFirst(deadIDs(append(older, newer...)))
		f := store.DeadFilter{AppID: &b.app.ID, Type: "bulk"}
		byID := map[uuid.UUID]store.DeadJob{}
		for _, d := range append(older, newer...) {
			byID[d.ID] = d
		}

		var before *uuid.UUID
		for i, window := range [][2]int{{0, 4}, {4, 8}, {8, 10}, {10, 10}} {
			lo := b.dbNow(t)
			res := must(b.s.ReplayDeadBatch(b.ctx, f, store.ReplayBatch{Before: before, Limit: 4, Defaults: testDefaults}))(t)
			hi := b.dbNow(t)
			n := window[1] - window[0]
			if res.Considered != n || res.Replayed != n || res.Conflicts != 0 {
				t.Fatalf("batch %d = %+v, want %d considered and replayed", i, res, n)
			}
			if n == 0 {
				if res.LastID != nil {
					t.Fatalf("an empty batch has LastID %s", *res.LastID)
				}
				break
			}
			if res.LastID == nil || *res.LastID != want[window[1]-1] {
				t.Fatalf("batch %d: LastID = %v, want %s", i, res.LastID, want[window[1]-1])
			}
			for _, id := range want[window[0]:window[1]] {
				jobs := b.jobsReplayedFrom(t, id)
				if len(jobs) != 1 {
					t.Fatalf("batch %d: entry %s has %d replayed jobs", i, id, len(jobs))
				}
				wantReplayJob(t, jobs[0], byID[id], testDefaults, lo, hi, fmt.Sprintf("batch %d's job", i))
				b.wantReplayed(t, byID[id], jobs[0], lo, hi, fmt.Sprintf("batch %d's entry", i))
			}
			for _, id := range want[window[1]:] {
				if got := b.getDead(t, id); got.ReplayedAt != nil {
					t.Fatalf("batch %d replayed entry %s, beyond its window", i, id)
				}
			}
			before = res.LastID
		}
		for _, d := range bystanders {
			wantSameDead(t, b.getDead(t, d.ID), d, "an entry outside the filter")
		}
		// Starting over finds nothing left to replay.
		if res := must(b.s.ReplayDeadBatch(b.ctx, f, store.ReplayBatch{Limit: 4, Defaults: testDefaults}))(t); res.Considered != 0 {
			t.Fatalf("a bulk replay over replayed entries = %+v", res)
		}
	})

	r.run(t, "ConflictsAreSkippedAndCounted", func(t *testing.T, b *bundle) {
		keyed := func(key string) deadSpec { return deadSpec{appID: b.app.ID, typ: "t", uniqueKey: key} }
		e := b.kill(t, keyed("held"), keyed(""), keyed("free"), keyed("twice"))
		e = append(e, b.kill(t, keyed("twice"))...) // a second entry with the key, once the first job died
		holder := newJob(b.app.ID, "t")
		holder.Queue, holder.UniqueKey = uniqueName("q"), "held"
		b.insertNew(t, holder)

		res := must(b.s.ReplayDeadBatch(b.ctx, store.DeadFilter{AppID: &b.app.ID}, store.ReplayBatch{Limit: 10, Defaults: testDefaults}))(t)
		oldest := newestFirst(deadIDs(e))[len(e)-1]
		if res.Considered != 5 || res.Replayed != 3 || res.Conflicts != 2 || res.LastID == nil || *res.LastID != oldest {
			t.Fatalf("ReplayDeadBatch = %+v, want 5 considered, 3 replayed, 2 conflicts, LastID %s", res, oldest)
		}
		wantSameDead(t, b.getDead(t, e[0].ID), e[0], "the entry whose key a live job holds")
		for _, i := range []int{1, 2} {
			if len(b.jobsReplayedFrom(t, e[i].ID)) != 1 {
				t.Fatalf("entry %d was not replayed", i)
			}
		}
		if n := len(b.jobsReplayedFrom(t, e[3].ID)) + len(b.jobsReplayedFrom(t, e[4].ID)); n != 1 {
			t.Fatalf("the two entries with one key were replayed %d times, want 1", n)
		}
		if n := must(b.s.CountDead(b.ctx, store.DeadFilter{}))(t); n != 2 {
			t.Fatalf("%d entries are left un-replayed, want 2", n)
		}
	})

	r.run(t, "ThroughAndFilterBoundTheReplay", func(t *testing.T, b *bundle) {
		e := b.killN(t, 6, b.app.ID, "t")
		other := b.kill(t, spec(b.app.ID, "t", "different error"))
		ids := newestFirst(deadIDs(e))
		through := ids[2] // the three oldest lie at or below it
		f := store.DeadFilter{Type: "t", ErrorContains: "failure", Through: &through}
		batches, err := replayAll(b, f, 2)
		if err != nil {
			t.Fatal(err)
		}
		replayed := 0
		for _, res := range batches {
			replayed += res.Replayed
		}
		if replayed != 4 {
			t.Fatalf("replayed %d entries, want the 4 at or below Through: %+v", replayed, batches)
		}
		for i, id := range ids {
			if got := b.getDead(t, id); (got.ReplayedAt != nil) != (i >= 2) {
				t.Fatalf("entry %d (newest first): replayed = %v", i, got.ReplayedAt != nil)
			}
		}
		wantSameDead(t, b.getDead(t, other[0].ID), other[0], "the entry the error filter excludes")
	})

	r.run(t, "ConcurrentBulkReplaysReplayEachEntryOnce", func(t *testing.T, b *bundle) {
		const n = 120
		var specs []deadSpec
		for i := range n {
			specs = append(specs, spec(b.app.ID, "bulk", fmt.Sprintf("failure %d", i)))
		}
		entries := b.kill(t, specs...)
		newest := newestFirst(deadIDs(entries))[0]
		f := store.DeadFilter{Type: "bulk", Through: &newest}

		var bulkReplayed, singleReplayed atomic.Int64
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				<-start
				batches, err := replayAll(b, f, 7)
				if err != nil {
					t.Errorf("bulk replay: %v", err)
				}
				for _, res := range batches {
					bulkReplayed.Add(int64(res.Replayed))
					if res.Conflicts != 0 {
						t.Errorf("a batch reported conflicts: %+v", res)
					}
				}
			})
		}
		// And one operator replaying single entries in the middle of it.
		wg.Go(func() {
			<-start
			for _, i := range rand.Perm(n)[:20] {
				_, err := b.s.ReplayDead(b.ctx, store.ReplayParams{ID: entries[i].ID, Defaults: testDefaults})
				switch {
				case err == nil:
					singleReplayed.Add(1)
				case errors.Is(err, store.ErrAlreadyReplayed):
				default:
					t.Errorf("ReplayDead: %v", err)
				}
			}
		})
		close(start)
		wg.Wait()
		if total := bulkReplayed.Load() + singleReplayed.Load(); total != n {
			t.Fatalf("the replays report %d + %d replayed, want %d in all", bulkReplayed.Load(), singleReplayed.Load(), n)
		}
		perEntry := map[uuid.UUID]int{}
		for _, j := range must(allJobs(b.ctx, b.s, store.JobFilter{}))(t) {
			if j.ReplayedFrom != nil {
				perEntry[*j.ReplayedFrom]++
			}
		}
		for _, d := range entries {
			if perEntry[d.ID] != 1 {
				t.Fatalf("entry %s has %d replayed jobs, want 1", d.ID, perEntry[d.ID])
			}
		}
		if left := must(b.s.CountDead(b.ctx, store.DeadFilter{Type: "bulk"}))(t); left != 0 {
			t.Fatalf("%d entries are left un-replayed", left)
		}
	})
}

func testPurge(t *testing.T, r *suite) {
	r.run(t, "FiltersAndLimit", func(t *testing.T, b *bundle) {
		a := b.killN(t, 6, b.app.ID, "a")
		b.killN(t, 3, b.app.ID, "b")
		b.killN(t, 3, b.app2.ID, "a")
		b.replay(t, a[0].ID)
		b.replay(t, a[1].ID)

		// purge deletes through PurgeDeadBatch and checks that it deleted wantN entries, all
		// of them matching the filter, and nothing else.
		purge := func(f store.DeadFilter, limit, wantN int) {
			t.Helper()
			before := b.everything(t)
			matched := map[uuid.UUID]bool{}
			for _, id := range matching(before, f) {
				matched[id] = true
			}
			n := must(b.s.PurgeDeadBatch(b.ctx, f, store.PurgeBatch{Limit: limit}))(t)
			if n != wantN {
				t.Fatalf("PurgeDeadBatch(%+v, %d) = %d, want %d", f, limit, n, wantN)
			}
			after := map[uuid.UUID]bool{}
			for _, d := range b.everything(t) {
				after[d.ID] = true
			}
			deleted := 0
			for _, d := range before {
				if !after[d.ID] {
					deleted++
					if !matched[d.ID] {
						t.Fatalf("PurgeDeadBatch(%+v) deleted entry %s, which does not match", f, d.ID)
					}
				}
			}
			if deleted != n {
				t.Fatalf("PurgeDeadBatch reported %d deleted, %d are gone", n, deleted)
			}
		}
		purge(store.DeadFilter{AppID: &b.app.ID, Type: "a"}, 100, 4) // not the 2 replayed
		purge(store.DeadFilter{ReplayedOnly: true}, 100, 2)
		purge(store.DeadFilter{ReplayedOnly: true}, 100, 0)
		purge(store.DeadFilter{AppID: &b.app2.ID, IncludeReplayed: true}, 2, 2)
		purge(store.DeadFilter{AppID: &b.app2.ID, IncludeReplayed: true}, 2, 1)
		purge(store.DeadFilter{AppID: &b.app2.ID, IncludeReplayed: true}, 2, 0)
		purge(store.DeadFilter{ErrorContains: "failure 1"}, 100, 1)
		left := b.everything(t)
		if len(left) != 2 {
			t.Fatalf("%d entries are left, want 2", len(left))
		}
		newer := newestFirst(deadIDs(left))[0]
		purge(store.DeadFilter{Through: &newer, FailedBefore: &left[0].FailedAt, FailedAfter: &left[0].FailedAt}, 100, 0)
		purge(store.DeadFilter{Through: &newer}, 100, 2)
	})

	r.run(t, "ReplayedOnlyKeepsUnreplayed", func(t *testing.T, b *bundle) {
		e := b.killN(t, 4, b.app.ID, "t")
		b.replay(t, e[1].ID)
		b.replay(t, e[3].ID)
		if n := must(b.s.PurgeDeadBatch(b.ctx, store.DeadFilter{ReplayedOnly: true, IncludeReplayed: true}, store.PurgeBatch{Limit: 100}))(t); n != 2 {
			t.Fatalf("PurgeDeadBatch(replayed only) = %d, want 2", n)
		}
		wantIDSet(t, deadIDs(b.everything(t)), []uuid.UUID{e[0].ID, e[2].ID}, "the entries left")
		for _, i := range []int{1, 3} {
			if len(b.jobsReplayedFrom(t, e[i].ID)) != 1 {
				t.Fatalf("purging entry %d took its replayed job with it", i)
			}
		}
	})
}

func testErrors(t *testing.T, r *suite) {
	r.run(t, "DatabaseRulesAnswerIdentically", func(t *testing.T, b *bundle) {
		_, err := b.s.CreateApp(b.ctx, store.App{ID: newID(), Name: "alpha"})
		wantFieldError(t, err, store.AppNameTaken("alpha"), "CreateApp with a taken name")

		_, err = b.s.InsertJobs(b.ctx, nil, []store.InsertJob{newJob(newID(), "t")})
		wantFieldError(t, err, store.UnknownApp(), "InsertJobs with an unknown app")

		d := b.kill(t, deadSpec{appID: b.app.ID, typ: "t", uniqueKey: "k"})[0]
		holder := newJob(b.app.ID, "t")
		holder.UniqueKey = "k"
		b.insertNew(t, holder)
		_, err = b.s.ReplayDead(b.ctx, store.ReplayParams{ID: d.ID, Defaults: testDefaults})
		wantFieldError(t, err, store.UniqueKeyHeld(), "ReplayDead of a held unique key")
	})
}
