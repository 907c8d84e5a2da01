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

// wantFresh fails the test unless got is the job in as inserted and never run: every field
// from the InsertJob, the defaults of a new job, created within [lo, hi], and run_at as asked
// (or, when nil, the database's now at the insert, also within [lo, hi]).
func wantFresh(t *testing.T, got store.Job, in store.InsertJob, lo, hi time.Time, what string) {
	t.Helper()
	want := store.Job{
		ID: in.ID, AppID: in.AppID, Type: in.Type, Queue: in.Queue, Priority: in.Priority,
		Payload: in.Payload, Status: store.StatusPending, MaxAttempts: in.MaxAttempts,
		UniqueKey: in.UniqueKey, ReplayedFrom: in.ReplayedFrom,
		RunAt: got.RunAt, CreatedAt: got.CreatedAt,
	}
	wantSameJob(t, got, want, what)
	wantBetween(t, got.CreatedAt, lo, hi, what+": CreatedAt")
	if in.RunAt == nil {
		wantBetween(t, got.RunAt, lo, hi, what+": RunAt (due now)")
		if got.RunAt.Before(got.CreatedAt) {
			t.Fatalf("%s: RunAt %s is before CreatedAt %s", what, got.RunAt, got.CreatedAt)
		}
	} else if !got.RunAt.Equal(*in.RunAt) {
		t.Fatalf("%s: RunAt = %s, want %s as inserted", what, got.RunAt, *in.RunAt)
	}
}

// msTime returns now plus d, to the millisecond: a time every backend stores exactly.
func msTime(d time.Duration) time.Time { return time.Now().Add(d).Truncate(time.Millisecond).UTC() }

func testInsertJobs(t *testing.T, r *suite) {
	r.run(t, "One", func(t *testing.T, b *bundle) {
		in := newJob(b.app.ID, "email.send")
		in.Queue, in.Priority, in.MaxAttempts = "mail", -7, 3
		in.Payload = json.RawMessage(`{"to": "a@example.com", "n": [1, 2.5, "x"], "nested": {"ok": true, "nil": null}, "s": "ünï \"q\" \\ 🚀"}`)
		lo := b.dbNow(t)
		res := b.insert(t, in)
		hi := b.dbNow(t)
		if res[0].Duplicate {
			t.Fatal("a new job was reported as a duplicate")
		}
		wantFresh(t, res[0].Job, in, lo, hi, "InsertJobs result")
		wantSameJob(t, b.getJob(t, in.ID), res[0].Job, "GetJob after insert")
	})

	r.run(t, "Many", func(t *testing.T, b *bundle) {
		const n = 100
		jobs := make([]store.InsertJob, n)
		for i := range jobs {
			app := b.app.ID
			if i%3 == 0 {
				app = b.app2.ID
			}
			jobs[i] = newJob(app, fmt.Sprintf("type.%d", i%4))
			jobs[i].Queue = fmt.Sprintf("queue-%d", i%2)
			jobs[i].Priority = i%201 - 100
			jobs[i].MaxAttempts = 1 + i
			jobs[i].Payload = json.RawMessage(fmt.Sprintf(`[%d, {"i": %d}]`, i, i))
			if i%5 == 0 {
				jobs[i].UniqueKey = fmt.Sprintf("key-%d", i)
			}
			if i%7 == 0 {
				jobs[i].ReplayedFrom = ptr(newID())
			}
		}
		// Insert in an order unlike id order: results follow the input.
		slices.Reverse(jobs)
		lo := b.dbNow(t)
		res := b.insert(t, jobs...)
		hi := b.dbNow(t)
		for i, r := range res {
			if r.Duplicate {
				t.Fatalf("job %d was reported as a duplicate", i)
			}
			wantFresh(t, r.Job, jobs[i], lo, hi, fmt.Sprintf("result %d", i))
			wantSameJob(t, b.getJob(t, jobs[i].ID), r.Job, fmt.Sprintf("GetJob of job %d", i))
		}
		if got := must(allJobs(b.ctx, b.s, store.JobFilter{}))(t); len(got) != n {
			t.Fatalf("the store holds %d jobs, want %d", len(got), n)
		}
	})

	r.run(t, "RunAtKeptOrNow", func(t *testing.T, b *bundle) {
		future, past := msTime(time.Hour), msTime(-48*time.Hour)
		jobs := []store.InsertJob{newJob(b.app.ID, "t"), newJob(b.app.ID, "t"), newJob(b.app.ID, "t")}
		jobs[1].RunAt, jobs[2].RunAt = &future, &past
		lo := b.dbNow(t)
		res := b.insert(t, jobs...)
		hi := b.dbNow(t)
		for i, r := range res {
			wantFresh(t, r.Job, jobs[i], lo, hi, fmt.Sprintf("job %d", i))
			wantSameJob(t, b.getJob(t, jobs[i].ID), r.Job, fmt.Sprintf("GetJob of job %d", i))
		}
	})

	r.run(t, "Empty", func(t *testing.T, b *bundle) {
		res, err := b.s.InsertJobs(b.ctx, nil, nil)
		if err != nil || len(res) != 0 {
			t.Fatalf("InsertJobs of nothing = %v, %v; want no results and no error", res, err)
		}
	})

	r.run(t, "UnknownAppInsertsNothing", func(t *testing.T, b *bundle) {
		jobs := []store.InsertJob{newJob(b.app.ID, "t"), newJob(newID(), "t"), newJob(b.app2.ID, "t")}
		jobs[2].UniqueKey = "k"
		res, err := b.s.InsertJobs(b.ctx, nil, jobs)
		wantFieldError(t, err, store.UnknownApp(), "InsertJobs with an unknown app")
		if len(res) != 0 {
			t.Fatalf("InsertJobs failed but returned %d results", len(res))
		}
		for _, j := range jobs {
			b.wantNoJob(t, j.ID)
		}
		if got := must(allJobs(b.ctx, b.s, store.JobFilter{}))(t); len(got) != 0 {
			t.Fatalf("a refused batch left %d jobs", len(got))
		}
		// The unique key was not taken either.
		again := newJob(b.app2.ID, "t")
		again.UniqueKey = "k"
		b.insertNew(t, again)
	})

	r.run(t, "GetJobNotFound", func(t *testing.T, b *bundle) {
		b.wantNoJob(t, newID())
	})
}

func testUniqueKey(t *testing.T, r *suite) {
	keyed := func(appID uuid.UUID, key string) store.InsertJob {
		j := newJob(appID, "t")
		j.Queue, j.UniqueKey = uniqueName("q"), key
		return j
	}

	r.run(t, "DuplicateWhilePending", func(t *testing.T, b *bundle) {
		first := b.insertNew(t, keyed(b.app.ID, "k"))[0]
		dup := keyed(b.app.ID, "k")
		dup.Type, dup.Payload = "other", json.RawMessage(`{"other": true}`)
		res := b.insert(t, dup)
		if !res[0].Duplicate {
			t.Fatal("a second job with a live unique key was not reported as a duplicate")
		}
		wantSameJob(t, res[0].Job, first, "the duplicate's result")
		b.wantNoJob(t, dup.ID)
	})

	r.run(t, "DuplicateWhileRunning", func(t *testing.T, b *bundle) {
		first := b.insertNew(t, keyed(b.app.ID, "k"))[0]
		running, _ := b.claimOne(t, first, time.Hour)
		dup := keyed(b.app.ID, "k")
		res := b.insert(t, dup)
		if !res[0].Duplicate {
			t.Fatal("a job whose unique key a running job holds was not reported as a duplicate")
		}
		wantSameJob(t, res[0].Job, running, "the duplicate's result")
		b.wantNoJob(t, dup.ID)
	})

	r.run(t, "OtherAppIsFree", func(t *testing.T, b *bundle) {
		b.insertNew(t, keyed(b.app.ID, "k"))
		b.insertNew(t, keyed(b.app2.ID, "k"))
	})

	r.run(t, "FreeAgainWhenNotLive", func(t *testing.T, b *bundle) {
		for _, o := range []store.Outcome{store.OutcomeComplete, store.OutcomeCancel, store.OutcomeDeadLetter} {
			key := fmt.Sprintf("key-%d", o)
			first := b.insertNew(t, keyed(b.app.ID, key))[0]
			_, token := b.claimOne(t, first, time.Hour)
			if !b.finishOne(t, store.Lease{JobID: first.ID, Token: token}, o, "done with it", 0) {
				t.Fatalf("finish %d was not applied", o)
			}
			second := b.insertNew(t, keyed(b.app.ID, key))[0]
			if second.ID == first.ID {
				t.Fatalf("after outcome %d the key still returned the old job", o)
			}
		}
		// A retried job is pending again, and holds its key again.
		first := b.insertNew(t, keyed(b.app.ID, "retried"))[0]
		_, token := b.claimOne(t, first, time.Hour)
		b.finishOne(t, store.Lease{JobID: first.ID, Token: token}, store.OutcomeRetry, "again", time.Hour)
		if res := b.insert(t, keyed(b.app.ID, "retried")); !res[0].Duplicate || res[0].Job.ID != first.ID {
			t.Fatalf("a retried job did not hold its unique key: %+v", res[0])
		}
	})

	r.run(t, "SameKeyInOneBatch", func(t *testing.T, b *bundle) {
		jobs := []store.InsertJob{keyed(b.app.ID, "k"), keyed(b.app.ID, "k"), keyed(b.app2.ID, "k"), keyed(b.app.ID, "other")}
		res := b.insert(t, jobs...)
		if res[0].Duplicate || res[2].Duplicate || res[3].Duplicate {
			t.Fatalf("distinct keys were reported as duplicates: %+v", res)
		}
		if !res[1].Duplicate {
			t.Fatal("the second job with a key in one batch was not reported as a duplicate")
		}
		wantSameJob(t, res[1].Job, res[0].Job, "the in-batch duplicate's result")
		b.wantNoJob(t, jobs[1].ID)
		if got := must(allJobs(b.ctx, b.s, store.JobFilter{}))(t); len(got) != 3 {
			t.Fatalf("the store holds %d jobs, want 3", len(got))
		}
	})

	r.run(t, "ConcurrentInsertsOfOneKey", func(t *testing.T, b *bundle) {
		const inserters = 20
		results := make([]store.InsertResult, inserters)
		errs := make([]error, inserters)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range inserters {
			wg.Go(func() {
				<-start
				res, err := b.s.InsertJobs(b.ctx, nil, []store.InsertJob{keyed(b.app.ID, "k")})
				errs[i] = err
				if err == nil && len(res) == 1 {
					results[i] = res[0]
				}
			})
		}
		close(start)
		wg.Wait()
		var winner *store.Job
		for i := range inserters {
			if errs[i] != nil {
				t.Fatalf("inserter %d: %v", i, errs[i])
			}
			if !results[i].Duplicate {
				if winner != nil {
					t.Fatalf("two concurrent inserts of one key both inserted: %s and %s", winner.ID, results[i].Job.ID)
				}
				winner = &results[i].Job
			}
		}
		if winner == nil {
			t.Fatal("no concurrent insert of the key inserted a job")
		}
		for i, r := range results {
			if r.Job.ID != winner.ID {
				t.Fatalf("inserter %d was told of job %s, the key's job is %s", i, r.Job.ID, winner.ID)
			}
		}
		if jobs := must(allJobs(b.ctx, b.s, store.JobFilter{}))(t); len(jobs) != 1 {
			t.Fatalf("the store holds %d jobs, want 1", len(jobs))
		}
	})

	r.run(t, "EmptyKeyIsNoKey", func(t *testing.T, b *bundle) {
		b.insertNew(t, keyed(b.app.ID, ""), keyed(b.app.ID, ""))
		b.insertNew(t, keyed(b.app.ID, ""))
	})
}

// foreignTx is a transaction of no store's kind.
type foreignTx struct{}

func testExternalTx(t *testing.T, r *suite) {
	needTx := func(t *testing.T) {
		t.Helper()
		if r.opts.BeginTx == nil {
			t.Skip("the backend supplies no Options.BeginTx")
		}
	}

	r.run(t, "RollbackLeavesNothing", func(t *testing.T, b *bundle) {
		needTx(t)
		tx, _, rollback := r.opts.BeginTx(t, b.s)
		j := newJob(b.app.ID, "t")
		j.UniqueKey = "k"
		res, err := b.s.InsertJobs(b.ctx, tx, []store.InsertJob{j})
		if err != nil || len(res) != 1 || res[0].Duplicate || res[0].Job.ID != j.ID {
			t.Fatalf("InsertJobs in a transaction = %+v, %v", res, err)
		}
		rollback()
		b.wantNoJob(t, j.ID)
		again := newJob(b.app.ID, "t")
		again.UniqueKey = "k"
		b.insertNew(t, again)
	})

	r.run(t, "CommitShowsJob", func(t *testing.T, b *bundle) {
		needTx(t)
		lo := b.dbNow(t)
		tx, commit, _ := r.opts.BeginTx(t, b.s)
		j := newJob(b.app.ID, "t")
		res, err := b.s.InsertJobs(b.ctx, tx, []store.InsertJob{j})
		if err != nil || len(res) != 1 || res[0].Duplicate {
			t.Fatalf("InsertJobs in a transaction = %+v, %v", res, err)
		}
		commit()
		hi := b.dbNow(t)
		wantFresh(t, b.getJob(t, j.ID), j, lo, hi, "the committed job")
		wantSameJob(t, b.getJob(t, j.ID), res[0].Job, "the committed job against InsertJobs' result")
	})

	r.run(t, "DuplicateInsideTx", func(t *testing.T, b *bundle) {
		needTx(t)
		held := newJob(b.app.ID, "t")
		held.UniqueKey = "k"
		first := b.insertNew(t, held)[0]
		tx, commit, _ := r.opts.BeginTx(t, b.s)
		dup := newJob(b.app.ID, "t")
		dup.UniqueKey = "k"
		fresh := newJob(b.app.ID, "t")
		res, err := b.s.InsertJobs(b.ctx, tx, []store.InsertJob{dup, fresh})
		if err != nil || len(res) != 2 || !res[0].Duplicate || res[1].Duplicate {
			t.Fatalf("InsertJobs in a transaction = %+v, %v", res, err)
		}
		wantSameJob(t, res[0].Job, first, "the duplicate's result")
		commit()
		b.wantNoJob(t, dup.ID)
		b.getJob(t, fresh.ID)
	})

	r.run(t, "UnknownAppInsideTx", func(t *testing.T, b *bundle) {
		needTx(t)
		tx, _, rollback := r.opts.BeginTx(t, b.s)
		ok := newJob(b.app.ID, "t")
		_, err := b.s.InsertJobs(b.ctx, tx, []store.InsertJob{ok, newJob(newID(), "t")})
		wantFieldError(t, err, store.UnknownApp(), "InsertJobs with an unknown app in a transaction")
		rollback()
		b.wantNoJob(t, ok.ID)
	})

	r.run(t, "WrongTxType", func(t *testing.T, b *bundle) {
		j := newJob(b.app.ID, "t")
		for _, tx := range []store.ExternalTx{foreignTx{}, &foreignTx{}, "a string"} {
			_, err := b.s.InsertJobs(b.ctx, tx, []store.InsertJob{j})
			wantErrIs(t, err, store.ErrTxType, fmt.Sprintf("InsertJobs with a %T", tx))
		}
		b.wantNoJob(t, j.ID)
	})
}

func testListJobs(t *testing.T, r *suite) {
	// fixture inserts 15 jobs across two apps and three types and moves some of them on: it
	// returns every job as it now stands, in insertion (id) order.
	fixture := func(t *testing.T, b *bundle) []store.Job {
		t.Helper()
		var in []store.InsertJob
		for i := range 15 {
			app := b.app.ID
			if i%3 == 1 {
				app = b.app2.ID
			}
			j := newJob(app, []string{"a", "b", "c"}[i%3/2+i%2])
			if i%4 == 0 {
				j.Queue = "claimed"
			}
			in = append(in, j)
		}
		b.insertNew(t, in...)
		claimed, token := b.claim(t, "claimed", []string{"a", "b", "c"}, 100, time.Hour)
		if len(claimed) < 3 {
			t.Fatalf("claimed %d jobs, want at least 3", len(claimed))
		}
		b.finish(t,
			store.Finish{Lease: store.Lease{JobID: claimed[0].ID, Token: token}, Outcome: store.OutcomeComplete},
			store.Finish{Lease: store.Lease{JobID: claimed[1].ID, Token: token}, Outcome: store.OutcomeCancel, Error: "no"})
		out := make([]store.Job, len(in))
		for i, j := range in {
			out[i] = b.getJob(t, j.ID)
		}
		return out
	}
	match := func(j store.Job, f store.JobFilter) bool {
		return (f.AppID == nil || j.AppID == *f.AppID) && (f.Type == "" || j.Type == f.Type) &&
			(f.Status == "" || j.Status == f.Status)
	}

	r.run(t, "Filters", func(t *testing.T, b *bundle) {
		jobs := fixture(t, b)
		filters := map[string]store.JobFilter{
			"none":              {},
			"app":               {AppID: &b.app.ID},
			"app2":              {AppID: &b.app2.ID},
			"type":              {Type: "b"},
			"pending":           {Status: store.StatusPending},
			"running":           {Status: store.StatusRunning},
			"completed":         {Status: store.StatusCompleted},
			"cancelled":         {Status: store.StatusCancelled},
			"app+type+status":   {AppID: &b.app.ID, Type: "a", Status: store.StatusPending},
			"unknown app":       {AppID: ptr(newID())},
			"unknown type":      {Type: "nope"},
			"type of other app": {AppID: &b.app2.ID, Type: "c"},
		}
		for name, f := range filters {
			var want []uuid.UUID
			for _, j := range jobs {
				if match(j, f) {
					want = append(want, j.ID)
				}
			}
			got := must(b.s.ListJobs(b.ctx, f, store.Page{Limit: 1000}))(t)
			wantIDs(t, jobIDs(got), newestFirst(want), "ListJobs filter "+name)
			for _, j := range got {
				wantSameJob(t, j, b.getJob(t, j.ID), "ListJobs filter "+name+" entry")
			}
		}
		// The fixture is not vacuous.
		for _, s := range []store.JobStatus{store.StatusPending, store.StatusRunning, store.StatusCompleted, store.StatusCancelled} {
			if got := must(b.s.ListJobs(b.ctx, store.JobFilter{Status: s}, store.Page{Limit: 1000}))(t); len(got) == 0 {
				t.Fatalf("the fixture has no %s job", s)
			}
		}
	})

	r.run(t, "KeysetPagingNewestFirst", func(t *testing.T, b *bundle) {
		jobs := fixture(t, b)
		for _, f := range []store.JobFilter{{}, {AppID: &b.app.ID}, {Status: store.StatusPending}} {
			var want []uuid.UUID
			for _, j := range jobs {
				if match(j, f) {
					want = append(want, j.ID)
				}
			}
			want = newestFirst(want)
			var got []uuid.UUID
			page := store.Page{Limit: 4}
			for range len(jobs) + 2 {
				items := must(b.s.ListJobs(b.ctx, f, page))(t)
				if len(items) > page.Limit {
					t.Fatalf("a page of limit %d held %d jobs", page.Limit, len(items))
				}
				got = append(got, jobIDs(items)...)
				if len(items) < page.Limit {
					break
				}
				page.Before = &items[len(items)-1].ID
			}
			wantIDs(t, got, want, fmt.Sprintf("paging through %+v", f))
		}
		// A limit takes the newest.
		first := must(b.s.ListJobs(b.ctx, store.JobFilter{}, store.Page{Limit: 3}))(t)
		wantIDs(t, jobIDs(first), newestFirst(jobIDs(jobs))[:3], "ListJobs with limit 3")
		// Before a job's id lists the jobs older than it.
		mid := jobs[7].ID
		below := must(b.s.ListJobs(b.ctx, store.JobFilter{}, store.Page{Limit: 100, Before: &mid}))(t)
		wantIDs(t, jobIDs(below), newestFirst(jobIDs(jobs[:7])), "ListJobs before the 8th job")
	})
}
