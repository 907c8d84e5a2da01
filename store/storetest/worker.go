package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/store"
)

func testClaim(t *testing.T, r *suite) {
	r.run(t, "OnlyDueJobsOfListedTypesAndQueue", func(t *testing.T, b *bundle) {
		q := uniqueName("q")
		mk := func(typ, queue string, runAt *time.Time) store.InsertJob {
			j := newJob(b.app.ID, typ)
			j.Queue, j.RunAt = queue, runAt
			return j
		}
		past, future := msTime(-time.Minute), msTime(time.Hour)
		dueA := mk("a", q, nil)
		dueB := mk("b", q, &past)
		dueA2 := mk("a", q, nil)
		dueA2.AppID = b.app2.ID // claims cross apps
		notYet := mk("a", q, &future)
		otherQueue := mk("a", uniqueName("q"), nil)
		otherType := mk("c", q, nil)
		b.insertNew(t, dueA, dueB, dueA2, notYet, otherQueue, otherType)

		got, _ := b.claim(t, q, []string{"a", "b"}, 100, time.Hour)
		wantIDSet(t, jobIDs(got), []uuid.UUID{dueA.ID, dueB.ID, dueA2.ID}, "first claim")
		if again, _ := b.claim(t, q, []string{"a", "b"}, 100, time.Hour); len(again) != 0 {
			t.Fatalf("a second claim took %v, want nothing (running jobs are not claimed)", jobIDs(again))
		}
		if none, _ := b.claim(t, q, nil, 100, time.Hour); len(none) != 0 {
			t.Fatalf("a claim for no types took %v", jobIDs(none))
		}
		got, _ = b.claim(t, q, []string{"c"}, 100, time.Hour)
		wantIDs(t, jobIDs(got), []uuid.UUID{otherType.ID}, "claim of type c")
		got, _ = b.claim(t, otherQueue.Queue, []string{"a"}, 100, time.Hour)
		wantIDs(t, jobIDs(got), []uuid.UUID{otherQueue.ID}, "claim of the other queue")
		if j := b.getJob(t, notYet.ID); j.Status != store.StatusPending || j.Attempts != 0 {
			t.Fatalf("the scheduled job was touched: %s", describeJob(j))
		}
	})

	// orderFixture inserts, out of order, jobs whose claim order is known, into a queue of
	// their own, and returns the queue and the ids in the order they must be claimed.
	orderFixture := func(t *testing.T, b *bundle) (string, []uuid.UUID) {
		t.Helper()
		q := uniqueName("q")
		mk := func(priority int, runAt time.Time) store.InsertJob {
			j := newJob(b.app.ID, "t")
			j.Queue, j.Priority, j.RunAt = q, priority, &runAt
			return j
		}
		h := msTime(-time.Hour)
		// Created in this order, so ids increase along it.
		a := mk(0, h)
		p := mk(-5, h.Add(50*time.Minute))
		c := mk(0, h.Add(-time.Hour))
		d := mk(0, h.Add(30*time.Minute))
		e := mk(0, h.Add(30*time.Minute)) // same priority and run_at as d: the id decides
		f := mk(5, h.Add(-2*time.Hour))
		g := mk(-100, msTime(time.Hour)) // the most urgent, but not due
		l := mk(100, h)
		dueNow := newJob(b.app.ID, "t") // run_at now: after every earlier run_at of priority 0
		dueNow.Queue = q
		b.insertNew(t, e, l, c)
		b.insertNew(t, g, f, a, d, p)
		b.insertNew(t, dueNow)
		return q, []uuid.UUID{p.ID, c.ID, a.ID, d.ID, e.ID, dueNow.ID, f.ID, l.ID}
	}

	r.run(t, "PriorityThenRunAtThenIDOrder", func(t *testing.T, b *bundle) {
		q, want := orderFixture(t, b)
		var got []uuid.UUID
		for range len(want) + 1 {
			one, _ := b.claim(t, q, []string{"t"}, 1, time.Hour)
			if len(one) == 0 {
				break
			}
			got = append(got, one[0].ID)
		}
		wantIDs(t, got, want, "jobs claimed one at a time")
	})

	r.run(t, "LimitTakesTheFirstInOrder", func(t *testing.T, b *bundle) {
		q, want := orderFixture(t, b)
		first, _ := b.claim(t, q, []string{"t"}, 3, time.Hour)
		wantIDSet(t, jobIDs(first), want[:3], "claim with limit 3")
		rest, _ := b.claim(t, q, []string{"t"}, 100, time.Hour)
		wantIDSet(t, jobIDs(rest), want[3:], "claim of the rest")
	})

	r.run(t, "ClaimedJobFields", func(t *testing.T, b *bundle) {
		in := newJob(b.app.ID, "t")
		in.Queue, in.Priority, in.MaxAttempts, in.UniqueKey = uniqueName("q"), 3, 7, "u"
		inserted := b.insertNew(t, in)[0]
		const lease = 5 * time.Minute
		lo := b.dbNow(t)
		jobs, token := b.claim(t, in.Queue, []string{"t"}, 10, lease)
		hi := b.dbNow(t)
		if len(jobs) != 1 {
			t.Fatalf("claimed %d jobs, want 1", len(jobs))
		}
		j := jobs[0]
		if j.StartedAt == nil || j.LeaseExpiresAt == nil || j.LeaseToken == nil {
			t.Fatalf("a claimed job lacks StartedAt, LeaseExpiresAt or LeaseToken: %s", describeJob(j))
		}
		wantBetween(t, *j.StartedAt, lo, hi, "StartedAt")
		wantBetween(t, *j.LeaseExpiresAt, j.StartedAt.Add(lease-time.Millisecond), hi.Add(lease), "LeaseExpiresAt")
		want := inserted
		want.Status, want.Attempts, want.LeaseToken = store.StatusRunning, 1, &token
		want.StartedAt, want.LeaseExpiresAt = j.StartedAt, j.LeaseExpiresAt
		wantSameJob(t, j, want, "the claimed job")
		wantSameJob(t, b.getJob(t, j.ID), j, "GetJob of the claimed job")

		// A second attempt counts again.
		if !b.finishOne(t, store.Lease{JobID: j.ID, Token: token}, store.OutcomeRetry, "e", 0) {
			t.Fatal("retry not applied")
		}
		second, token2 := b.claimOne(t, j, lease)
		if second.Attempts != 2 || *second.LeaseToken != token2 || token2 == token {
			t.Fatalf("second claim: %s", describeJob(second))
		}
	})

	r.run(t, "ConcurrentClaimersShareWithoutOverlap", func(t *testing.T, b *bundle) {
		const jobs, claimers, limit = 500, 8, 7
		q := uniqueName("q")
		var in []store.InsertJob
		for i := range jobs {
			j := newJob(b.app.ID, fmt.Sprintf("t%d", i%3))
			j.Queue = q
			in = append(in, j)
		}
		for i := 0; i < jobs; i += 100 {
			b.insertNew(t, in[i:i+100]...)
		}
		var total atomic.Int64
		got := make([][]store.Job, claimers)
		tokens := make([]uuid.UUID, claimers)
		errs := make([]error, claimers)
		ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
		defer cancel()
		start := make(chan struct{})
		var wg sync.WaitGroup
		for c := range claimers {
			tokens[c] = newID()
			wg.Go(func() {
				<-start
				for total.Load() < jobs {
					claimed, err := b.s.ClaimJobs(ctx, store.ClaimParams{
						Queue: q, Types: []string{"t0", "t1", "t2"}, Limit: limit,
						LeaseToken: tokens[c], LeaseDuration: time.Hour,
					})
					if err != nil {
						errs[c] = err
						return
					}
					got[c] = append(got[c], claimed...)
					total.Add(int64(len(claimed)))
				}
			})
		}
		close(start)
		wg.Wait()
		seen := map[uuid.UUID]int{}
		for c := range claimers {
			if errs[c] != nil {
				t.Fatalf("claimer %d: %v", c, errs[c])
			}
			for _, j := range got[c] {
				if prev, dup := seen[j.ID]; dup {
					t.Fatalf("job %s was claimed by claimers %d and %d", j.ID, prev, c)
				}
				seen[j.ID] = c
				if j.LeaseToken == nil || *j.LeaseToken != tokens[c] || j.Attempts != 1 || j.Status != store.StatusRunning {
					t.Fatalf("claimer %d got %s", c, describeJob(j))
				}
			}
		}
		if len(seen) != jobs {
			t.Fatalf("the claimers took %d distinct jobs, want %d", len(seen), jobs)
		}
		if pending := must(b.s.ListJobs(b.ctx, store.JobFilter{Status: store.StatusPending}, store.Page{Limit: 10}))(t); len(pending) != 0 {
			t.Fatalf("%d jobs are still pending", len(pending))
		}
	})
}

func testExtendLeases(t *testing.T, r *suite) {
	r.run(t, "ReturnsHeldLeasesOnly", func(t *testing.T, b *bundle) {
		jobs, token := b.running(t, 4, nil)
		before := make([]store.Job, len(jobs))
		for i, j := range jobs {
			before[i] = b.getJob(t, j.ID)
		}
		if !b.finishOne(t, store.Lease{JobID: jobs[3].ID, Token: token}, store.OutcomeComplete, "", 0) {
			t.Fatal("completing job 3 was not applied")
		}
		lo := b.dbNow(t)
		held := must(b.s.ExtendLeases(b.ctx, []store.Lease{
			{JobID: jobs[0].ID, Token: token},
			{JobID: jobs[1].ID, Token: newID()}, // wrong token
			{JobID: jobs[2].ID, Token: token},
			{JobID: jobs[3].ID, Token: token}, // finished
			{JobID: newID(), Token: token},    // no such job
		}, 2*time.Hour))(t)
		hi := b.dbNow(t)
		wantIDSet(t, held.Held, []uuid.UUID{jobs[0].ID, jobs[2].ID}, "ExtendLeases")
		if len(held.CancelRequested) != 0 {
			t.Fatalf("ExtendLeases reports cancel requests nobody made: %v", held.CancelRequested)
		}
		for _, i := range []int{0, 2} {
			got := b.getJob(t, jobs[i].ID)
			wantBetween(t, *got.LeaseExpiresAt, lo.Add(2*time.Hour), hi.Add(2*time.Hour), fmt.Sprintf("job %d's renewed lease", i))
			want := before[i]
			want.LeaseExpiresAt = got.LeaseExpiresAt
			wantSameJob(t, got, want, fmt.Sprintf("job %d after ExtendLeases", i))
		}
		wantSameJob(t, b.getJob(t, jobs[1].ID), before[1], "job 1 after a wrong-token ExtendLeases")
		if got := b.getJob(t, jobs[3].ID); got.Status != store.StatusCompleted || got.LeaseToken != nil || got.LeaseExpiresAt != nil {
			t.Fatalf("ExtendLeases touched the completed job: %s", describeJob(got))
		}
		if held := must(b.s.ExtendLeases(b.ctx, nil, time.Hour))(t); len(held.Held) != 0 {
			t.Fatalf("ExtendLeases of nothing returned %v", held)
		}
	})
}

func testFinish(t *testing.T, r *suite) {
	r.run(t, "Complete", func(t *testing.T, b *bundle) {
		jobs, token := b.running(t, 1, nil)
		j := jobs[0]
		b.wantFenced(t, store.Lease{JobID: j.ID, Token: newID()}, "complete with a wrong token")
		lease := store.Lease{JobID: j.ID, Token: token}
		if !b.finishOne(t, lease, store.OutcomeComplete, "", 0) {
			t.Fatal("complete was not applied")
		}
		hi := b.dbNow(t)
		got := b.getJob(t, j.ID)
		if got.CompletedAt == nil {
			t.Fatalf("a completed job has no CompletedAt: %s", describeJob(got))
		}
		wantBetween(t, *got.CompletedAt, *j.StartedAt, hi, "CompletedAt")
		want := j
		want.Status, want.LeaseToken, want.LeaseExpiresAt, want.CompletedAt = store.StatusCompleted, nil, nil, got.CompletedAt
		wantSameJob(t, got, want, "the completed job")
		b.wantFenced(t, lease, "complete with the spent token")
	})

	r.run(t, "Retry", func(t *testing.T, b *bundle) {
		jobs, token := b.running(t, 1, func(_ int, j *store.InsertJob) { j.MaxAttempts = 5 })
		j := jobs[0]
		b.wantFenced(t, store.Lease{JobID: j.ID, Token: newID()}, "retry with a wrong token")
		errText := "retry: \"quoted\" 'single'\n\ttabbed <b>&amp; ünïcødé 🚀 \\ back\\slash {\"json\": [1]} %s %d _%"
		const delay = 90 * time.Minute
		lease := store.Lease{JobID: j.ID, Token: token}
		if !b.finishOne(t, lease, store.OutcomeRetry, errText, delay) {
			t.Fatal("retry was not applied")
		}
		hi := b.dbNow(t)
		got := b.getJob(t, j.ID)
		if len(got.ErrorHistory) != 1 || got.ErrorHistory[0].Error != errText {
			t.Fatalf("error history = %+v, want one entry with the error", got.ErrorHistory)
		}
		wantRecordBetween(t, got.ErrorHistory[0], *j.StartedAt, hi, "the error record")
		wantBetween(t, got.RunAt, j.StartedAt.Add(delay), hi.Add(delay), "RunAt after a retry")
		want := j
		want.Status, want.LeaseToken, want.LeaseExpiresAt = store.StatusPending, nil, nil
		want.LastError, want.ErrorHistory, want.RunAt = errText, got.ErrorHistory, got.RunAt
		want.StartedAt = got.StartedAt // when the last attempt started; not pinned
		wantSameJob(t, got, want, "the retried job")
		b.wantFenced(t, lease, "retry with the spent token")
		if again, _ := b.claim(t, j.Queue, []string{j.Type}, 10, time.Hour); len(again) != 0 {
			t.Fatal("a job waiting for its retry was claimed")
		}
	})

	r.run(t, "RetriesKeepTheWholeHistory", func(t *testing.T, b *bundle) {
		jobs, token := b.running(t, 1, nil)
		j := jobs[0]
		var history []store.ErrorRecord
		for attempt := 1; attempt <= 3; attempt++ {
			errText := fmt.Sprintf("failure %d", attempt)
			if !b.finishOne(t, store.Lease{JobID: j.ID, Token: token}, store.OutcomeRetry, errText, 0) {
				t.Fatalf("retry %d was not applied", attempt)
			}
			got := b.getJob(t, j.ID)
			if len(got.ErrorHistory) != attempt || !slices.Equal(got.ErrorHistory[:attempt-1], history) {
				t.Fatalf("after %d retries the history is %+v, want %+v and one more", attempt, got.ErrorHistory, history)
			}
			last := got.ErrorHistory[attempt-1]
			if last.Error != errText || got.LastError != errText {
				t.Fatalf("retry %d recorded %+v, last error %q", attempt, last, got.LastError)
			}
			if attempt > 1 && last.Timestamp < history[attempt-2].Timestamp {
				t.Fatalf("history timestamps go backwards: %+v", got.ErrorHistory)
			}
			history = got.ErrorHistory
			// Due now: claimable at once, and the attempt counts.
			j, token = b.claimOne(t, got, time.Hour)
			if j.Attempts != attempt+1 {
				t.Fatalf("claim %d has attempts %d", attempt+1, j.Attempts)
			}
		}
	})

	for _, o := range []store.Outcome{store.OutcomeSnooze, store.OutcomeRelease} {
		name := map[store.Outcome]string{store.OutcomeSnooze: "Snooze", store.OutcomeRelease: "Release"}[o]
		r.run(t, name+"GivesTheAttemptBack", func(t *testing.T, b *bundle) {
			jobs, token := b.running(t, 1, nil)
			// One failed attempt first, so there is a history and a last error to keep.
			if !b.finishOne(t, store.Lease{JobID: jobs[0].ID, Token: token}, store.OutcomeRetry, "earlier failure", 0) {
				t.Fatal("retry not applied")
			}
			j, token := b.claimOne(t, jobs[0], time.Hour)
			b.wantFenced(t, store.Lease{JobID: j.ID, Token: newID()}, name+" with a wrong token")
			delay := time.Duration(0)
			if o == store.OutcomeSnooze {
				delay = 45 * time.Minute
			}
			lease := store.Lease{JobID: j.ID, Token: token}
			if !b.finishOne(t, lease, o, "", delay) {
				t.Fatalf("%s was not applied", name)
			}
			hi := b.dbNow(t)
			got := b.getJob(t, j.ID)
			wantBetween(t, got.RunAt, j.StartedAt.Add(delay), hi.Add(delay), "RunAt")
			want := j
			want.Status, want.Attempts, want.LeaseToken, want.LeaseExpiresAt = store.StatusPending, 1, nil, nil
			want.RunAt, want.StartedAt = got.RunAt, got.StartedAt
			wantSameJob(t, got, want, "the job after "+name)
			b.wantFenced(t, lease, name+" with the spent token")
			again, _ := b.claim(t, j.Queue, []string{j.Type}, 10, time.Hour)
			if o == store.OutcomeSnooze && len(again) != 0 {
				t.Fatal("a snoozed job was claimed before its delay")
			}
			if o == store.OutcomeRelease && (len(again) != 1 || again[0].Attempts != 2) {
				t.Fatalf("a released job was not claimable at once with attempts 2: %v", again)
			}
		})
	}

	r.run(t, "Cancel", func(t *testing.T, b *bundle) {
		jobs, token := b.running(t, 1, nil)
		j := jobs[0]
		b.wantFenced(t, store.Lease{JobID: j.ID, Token: newID()}, "cancel with a wrong token")
		lease := store.Lease{JobID: j.ID, Token: token}
		if !b.finishOne(t, lease, store.OutcomeCancel, "cancelled: order withdrawn", time.Hour) {
			t.Fatal("cancel was not applied")
		}
		hi := b.dbNow(t)
		got := b.getJob(t, j.ID)
		if got.CompletedAt == nil || len(got.ErrorHistory) != 1 {
			t.Fatalf("the cancelled job: %s", describeJob(got))
		}
		wantBetween(t, *got.CompletedAt, *j.StartedAt, hi, "CompletedAt")
		if got.ErrorHistory[0].Error != "cancelled: order withdrawn" {
			t.Fatalf("error history = %+v", got.ErrorHistory)
		}
		wantRecordBetween(t, got.ErrorHistory[0], *j.StartedAt, hi, "the cancel record")
		want := j
		want.Status, want.LeaseToken, want.LeaseExpiresAt = store.StatusCancelled, nil, nil
		want.CompletedAt, want.LastError, want.ErrorHistory = got.CompletedAt, "cancelled: order withdrawn", got.ErrorHistory
		wantSameJob(t, got, want, "the cancelled job")
		b.wantFenced(t, lease, "cancel with the spent token")
	})

	r.run(t, "DeadLetterMovesJobWithHistory", func(t *testing.T, b *bundle) {
		queue := uniqueName("mail")
		in := newJob(b.app.ID, "email.send")
		in.Queue, in.Priority, in.MaxAttempts, in.UniqueKey = queue, -3, 3, "welcome-42"
		in.Payload = []byte(`{"to": "a@example.com", "tags": ["x", "y"]}`)
		inserted := b.insertNew(t, in)[0]
		errs := []string{"smtp: 421 try later", "smtp: 450 mailbox busy", "smtp: 550 no such user"}
		j := inserted
		var token uuid.UUID
		var firstStart time.Time
		for i, e := range errs {
			j, token = b.claimOne(t, j, time.Hour)
			if i == 0 {
				firstStart = *j.StartedAt
			}
			outcome := store.OutcomeRetry
			if i == len(errs)-1 {
				b.wantFenced(t, store.Lease{JobID: j.ID, Token: newID()}, "dead-letter with a wrong token")
				outcome = store.OutcomeDeadLetter
			}
			if !b.finishOne(t, store.Lease{JobID: j.ID, Token: token}, outcome, e, 0) {
				t.Fatalf("finish %d was not applied", i)
			}
		}
		hi := b.dbNow(t)
		b.wantNoJob(t, j.ID)
		entries := must(b.s.ListDead(b.ctx, store.DeadFilter{IncludeReplayed: true}, store.Page{Limit: 10}))(t)
		if len(entries) != 1 {
			t.Fatalf("the DLQ holds %d entries, want 1", len(entries))
		}
		d := entries[0]
		if len(d.ErrorHistory) != len(errs) {
			t.Fatalf("the entry's history is %+v, want %q", d.ErrorHistory, errs)
		}
		for i, e := range errs {
			if d.ErrorHistory[i].Error != e {
				t.Fatalf("history[%d] = %+v, want %q", i, d.ErrorHistory[i], e)
			}
			wantRecordBetween(t, d.ErrorHistory[i], firstStart, hi, fmt.Sprintf("history[%d]", i))
			if i > 0 && d.ErrorHistory[i].Timestamp < d.ErrorHistory[i-1].Timestamp {
				t.Fatalf("history timestamps go backwards: %+v", d.ErrorHistory)
			}
		}
		wantBetween(t, d.FailedAt, *j.StartedAt, hi, "FailedAt")
		if d.ErrorHistory[2].Timestamp > d.FailedAt.UnixMilli() {
			t.Fatalf("the final error (%d) is later than FailedAt (%s)", d.ErrorHistory[2].Timestamp, d.FailedAt)
		}
		if d.LastError() != errs[2] {
			t.Fatalf("LastError() = %q", d.LastError())
		}
		want := store.DeadJob{
			ID: d.ID, OriginalJobID: in.ID, AppID: in.AppID, Type: in.Type, Payload: in.Payload,
			Attempts: 3, ErrorHistory: d.ErrorHistory, FailedAt: d.FailedAt,
			Queue: queue, Priority: -3, MaxAttempts: 3, UniqueKey: "welcome-42",
			ErrorSignature: store.ErrorSignature(errs[2]), // the last error's failure group
		}
		wantSameDead(t, d, want, "the entry")
		wantSameDead(t, b.getDead(t, d.ID), d, "GetDead")
		if d.ID == in.ID {
			t.Fatal("the entry reuses the job's id")
		}
		b.wantFenced(t, store.Lease{JobID: j.ID, Token: token}, "dead-letter with the spent token")
		// The job left jobs, so its unique key is free.
		again := newJob(b.app.ID, "email.send")
		again.UniqueKey = "welcome-42"
		b.insertNew(t, again)
	})

	r.run(t, "StaleAttemptIsFenced", func(t *testing.T, b *bundle) {
		// Attempt 1 is given back (a shutdown), attempt 2 runs: attempt 1's worker, coming
		// back late, must change nothing, whatever it reports.
		jobs, oldToken := b.running(t, 1, nil)
		if !b.finishOne(t, store.Lease{JobID: jobs[0].ID, Token: oldToken}, store.OutcomeRetry, "attempt 1", 0) {
			t.Fatal("retry not applied")
		}
		current, newToken := b.claimOne(t, jobs[0], time.Hour)
		b.wantFenced(t, store.Lease{JobID: current.ID, Token: oldToken}, "finish by the previous attempt's worker")
		wantSameJob(t, b.getJob(t, current.ID), current, "the running attempt")
		if !b.finishOne(t, store.Lease{JobID: current.ID, Token: newToken}, store.OutcomeComplete, "", 0) {
			t.Fatal("the current attempt could not complete")
		}
	})

	r.run(t, "MixedBatch", func(t *testing.T, b *bundle) {
		jobs, token := b.running(t, 8, nil)
		lease := func(i int) store.Lease { return store.Lease{JobID: jobs[i].ID, Token: token} }
		ok := b.finish(t,
			store.Finish{Lease: lease(0), Outcome: store.OutcomeComplete},
			store.Finish{Lease: lease(1), Outcome: store.OutcomeRetry, Error: "retry me", Delay: time.Hour},
			store.Finish{Lease: lease(2), Outcome: store.OutcomeSnooze, Delay: time.Hour},
			store.Finish{Lease: lease(3), Outcome: store.OutcomeRelease},
			store.Finish{Lease: lease(4), Outcome: store.OutcomeCancel, Error: "cancel me"},
			store.Finish{Lease: lease(5), Outcome: store.OutcomeDeadLetter, Error: "kill me"},
			store.Finish{Lease: store.Lease{JobID: jobs[6].ID, Token: newID()}, Outcome: store.OutcomeComplete},
			store.Finish{Lease: store.Lease{JobID: jobs[7].ID, Token: newID()}, Outcome: store.OutcomeDeadLetter, Error: "stale"},
		)
		if !slices.Equal(ok, []bool{true, true, true, true, true, true, false, false}) {
			t.Fatalf("FinishJobs = %v", ok)
		}
		check := func(i int, status store.JobStatus, attempts, history int) {
			t.Helper()
			got := b.getJob(t, jobs[i].ID)
			if got.Status != status || got.Attempts != attempts || len(got.ErrorHistory) != history {
				t.Fatalf("job %d: %s; want status %s, attempts %d, %d errors", i, describeJob(got), status, attempts, history)
			}
		}
		check(0, store.StatusCompleted, 1, 0)
		check(1, store.StatusPending, 1, 1)
		check(2, store.StatusPending, 0, 0)
		check(3, store.StatusPending, 0, 0)
		check(4, store.StatusCancelled, 1, 1)
		b.wantNoJob(t, jobs[5].ID)
		wantSameJob(t, b.getJob(t, jobs[6].ID), jobs[6], "job 6 (wrong token)")
		wantSameJob(t, b.getJob(t, jobs[7].ID), jobs[7], "job 7 (wrong token)")
		dead := must(b.s.ListDead(b.ctx, store.DeadFilter{}, store.Page{Limit: 10}))(t)
		if len(dead) != 1 || dead[0].OriginalJobID != jobs[5].ID || dead[0].LastError() != "kill me" {
			t.Fatalf("the DLQ holds %v, want job 5's entry", dead)
		}
		if res, err := b.s.FinishJobs(b.ctx, nil); err != nil || len(res) != 0 {
			t.Fatalf("FinishJobs of nothing = %v, %v", res, err)
		}
	})
}

func testRescue(t *testing.T, r *suite) {
	// expire claims the job with a 1ms lease and waits, on the database clock, until the lease
	// has expired.
	expire := func(t *testing.T, b *bundle, j store.Job) (store.Job, uuid.UUID) {
		t.Helper()
		claimed, token := b.claimOne(t, j, time.Millisecond)
		b.waitClockPast(t, *claimed.LeaseExpiresAt)
		return claimed, token
	}

	r.run(t, "ExpiredLeasesAreRetriedOrDeadLettered", func(t *testing.T, b *bundle) {
		q := uniqueName("q")
		mk := func(typ string, maxAttempts int) store.InsertJob {
			j := newJob(b.app.ID, typ)
			j.Queue, j.MaxAttempts = q, maxAttempts
			return j
		}
		in := b.insertNew(t, mk("retried", 3), mk("exhausted", 1), mk("healthy", 1))
		// The retried job fails once normally first, so the rescue appends to a history.
		first, token := b.claimOne(t, in[0], time.Hour)
		b.finishOne(t, store.Lease{JobID: first.ID, Token: token}, store.OutcomeRetry, "ordinary failure", 0)

		healthy, healthyToken := b.claimOne(t, in[2], time.Hour)
		retried, retriedToken := expire(t, b, in[0])
		exhausted, exhaustedToken := expire(t, b, in[1])

		res := must(b.s.RescueExpired(b.ctx, 100))(t)
		hi := b.dbNow(t)
		if res != (store.RescueResult{Retried: 1, DeadLettered: 1}) {
			t.Fatalf("RescueExpired = %+v, want 1 retried and 1 dead-lettered", res)
		}

		got := b.getJob(t, retried.ID)
		if len(got.ErrorHistory) != 2 || got.ErrorHistory[0].Error != "ordinary failure" ||
			got.ErrorHistory[1].Error != store.RescueError(2) || got.LastError != store.RescueError(2) {
			t.Fatalf("the rescued job's history: %+v, last error %q", got.ErrorHistory, got.LastError)
		}
		wantRecordBetween(t, got.ErrorHistory[1], *retried.StartedAt, hi, "the rescue record")
		wantBetween(t, got.RunAt, *retried.StartedAt, hi, "the rescued job's RunAt (due now)")
		want := retried
		want.Status, want.LeaseToken, want.LeaseExpiresAt = store.StatusPending, nil, nil
		want.ErrorHistory, want.LastError, want.RunAt, want.StartedAt = got.ErrorHistory, got.LastError, got.RunAt, got.StartedAt
		wantSameJob(t, got, want, "the rescued job")
		b.wantFenced(t, store.Lease{JobID: retried.ID, Token: retriedToken}, "the rescued attempt's worker")

		b.wantNoJob(t, exhausted.ID)
		dead := must(b.s.ListDead(b.ctx, store.DeadFilter{}, store.Page{Limit: 10}))(t)
		if len(dead) != 1 {
			t.Fatalf("the DLQ holds %d entries, want 1", len(dead))
		}
		d := dead[0]
		if d.OriginalJobID != exhausted.ID || d.Attempts != 1 || len(d.ErrorHistory) != 1 ||
			d.ErrorHistory[0].Error != store.RescueError(1) || d.ReplayedAt != nil || d.MaxAttempts != 1 {
			t.Fatalf("the rescued-to-death entry: %s", describeDead(d))
		}
		wantBetween(t, d.FailedAt, *exhausted.StartedAt, hi, "FailedAt")
		b.wantFenced(t, store.Lease{JobID: exhausted.ID, Token: exhaustedToken}, "the dead-lettered attempt's worker")

		wantSameJob(t, b.getJob(t, healthy.ID), healthy, "the job whose lease holds")
		if res := must(b.s.RescueExpired(b.ctx, 100))(t); res != (store.RescueResult{}) {
			t.Fatalf("a second RescueExpired = %+v, want nothing", res)
		}
		if !b.finishOne(t, store.Lease{JobID: healthy.ID, Token: healthyToken}, store.OutcomeComplete, "", 0) {
			t.Fatal("the healthy job could not complete")
		}
		// The rescued job runs again as attempt 3.
		again, _ := b.claimOne(t, got, time.Hour)
		if again.Attempts != 3 {
			t.Fatalf("the rescued job's next claim has attempts %d, want 3", again.Attempts)
		}
	})

	r.run(t, "RefusedDeadLetterHoldsBackNoOther", func(t *testing.T, b *bundle) {
		if r.opts.RefuseDeadLetter == nil {
			t.Skip("the backend supplies no RefuseDeadLetter hook")
		}
		q := uniqueName("q")
		mk := func(typ string, maxAttempts int) store.InsertJob {
			j := newJob(b.app.ID, typ)
			j.Queue, j.MaxAttempts = q, maxAttempts
			return j
		}
		in := b.insertNew(t, mk("poison", 1), mk("exhausted", 1), mk("retried", 3))
		poison, poisonToken := expire(t, b, in[0])
		exhausted, _ := expire(t, b, in[1])
		retried, _ := expire(t, b, in[2])
		allow := r.opts.RefuseDeadLetter(t, b.s, poison.ID)

		// One expired job whose move to the DLQ keeps failing must not hold back the rescue of
		// the others in its batch.
		res, err := b.s.RescueExpired(b.ctx, 100)
		if res != (store.RescueResult{Retried: 1, DeadLettered: 1}) {
			t.Fatalf("RescueExpired = %+v (error %v), want the other two rescued: 1 retried and 1 dead-lettered", res, err)
		}
		if err == nil || !strings.Contains(err.Error(), poison.ID.String()) {
			t.Fatalf("RescueExpired with a refused dead-letter insert: error %v, want one naming job %s", err, poison.ID)
		}
		if got := b.getJob(t, retried.ID); got.Status != store.StatusPending || len(got.ErrorHistory) != 1 {
			t.Fatalf("the retryable job was not rescued: %s", describeJob(got))
		}
		b.wantNoJob(t, exhausted.ID)
		if d := must(b.s.ListDead(b.ctx, store.DeadFilter{}, store.Page{Limit: 10}))(t); len(d) != 1 || d[0].OriginalJobID != exhausted.ID {
			t.Fatalf("the DLQ holds %d entries, want only the exhausted job's", len(d))
		}
		// The refused job is left exactly as it was: running, under its lease, never lost.
		wantSameJob(t, b.getJob(t, poison.ID), poison, "the job whose move was refused")

		allow()
		if res := must(b.s.RescueExpired(b.ctx, 100))(t); res != (store.RescueResult{DeadLettered: 1}) {
			t.Fatalf("RescueExpired once the insert is allowed = %+v, want 1 dead-lettered", res)
		}
		b.wantNoJob(t, poison.ID)
		b.wantFenced(t, store.Lease{JobID: poison.ID, Token: poisonToken}, "the refused job's worker")
	})

	r.run(t, "Limit", func(t *testing.T, b *bundle) {
		q := uniqueName("q")
		var in []store.InsertJob
		for range 3 {
			j := newJob(b.app.ID, "t")
			j.Queue = q
			in = append(in, j)
		}
		b.insertNew(t, in...)
		claimed, _ := b.claim(t, q, []string{"t"}, 10, time.Millisecond)
		if len(claimed) != 3 {
			t.Fatalf("claimed %d jobs, want 3", len(claimed))
		}
		latest := *claimed[0].LeaseExpiresAt
		for _, j := range claimed {
			if j.LeaseExpiresAt.After(latest) {
				latest = *j.LeaseExpiresAt
			}
		}
		b.waitClockPast(t, latest)
		total := func(r store.RescueResult) int { return r.Retried + r.DeadLettered }
		for i, want := range []int{2, 1, 0} {
			if got := total(must(b.s.RescueExpired(b.ctx, 2))(t)); got != want {
				t.Fatalf("RescueExpired(2) call %d rescued %d, want %d", i+1, got, want)
			}
		}
		for _, j := range claimed {
			if got := b.getJob(t, j.ID); got.Status != store.StatusPending {
				t.Fatalf("job %s was not rescued: %s", j.ID, describeJob(got))
			}
		}
	})
}

func testListen(t *testing.T, r *suite) {
	r.run(t, "ListenForJobs", func(t *testing.T, b *bundle) {
		ctx, cancel := context.WithCancel(b.ctx)
		woke := make(chan struct{}, 1)
		done := make(chan error, 1)
		returned := false
		defer func() {
			// On a failure, still stop the listener before the test ends.
			cancel()
			if !returned {
				<-done
			}
		}()
		go func() {
			done <- b.s.ListenForJobs(ctx, func(store.Notice) {
				select {
				case woke <- struct{}{}:
				default:
				}
			})
		}()
		if r.opts.Notifies {
			// A backend may wake once, spuriously, when it starts listening; a wake in two
			// separate rounds (each after draining) proves an insert woke it.
			rounds := 0
			deadline := time.Now().Add(waitTimeout)
			for rounds < 2 {
				if time.Now().After(deadline) {
					t.Fatalf("inserting due jobs woke the listener in %d rounds within %v, want 2", rounds, waitTimeout)
				}
				select {
				case <-woke:
				default:
				}
				b.insertNew(t, newJob(b.app.ID, "t"))
				select {
				case <-woke:
					rounds++
				case err := <-done:
					returned = true
					t.Fatalf("ListenForJobs returned early: %v", err)
				case <-time.After(100 * time.Millisecond): // a poll interval; the round repeats
				}
			}
		} else {
			select {
			case err := <-done:
				returned = true
				t.Fatalf("ListenForJobs returned before its context ended: %v", err)
			default:
			}
		}
		cancel()
		select {
		case err := <-done:
			returned = true
			if err != nil {
				t.Fatalf("ListenForJobs returned %v when its context ended, want nil", err)
			}
		case <-time.After(waitTimeout):
			returned = true // do not wait for it again; goleak reports the stuck goroutine
			t.Fatalf("ListenForJobs did not return within %v of its context ending", waitTimeout)
		}
	})
}
