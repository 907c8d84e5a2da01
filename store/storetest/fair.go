package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/store"
)

// testFair checks that a claim is shared between apps (store.FairShares): one app's flood
// cannot starve another's jobs.
func testFair(t *testing.T, r *suite) {
	// flood inserts n due jobs of type "t" for each app, in a queue of their own, with the
	// priority prio(app index).
	flood := func(t *testing.T, b *bundle, q string, n []int, apps []store.App, prio func(i int) int) {
		t.Helper()
		var in []store.InsertJob
		for i, a := range apps {
			for range n[i] {
				j := newJob(a.ID, "t")
				j.Queue, j.Priority = q, prio(i)
				in = append(in, j)
			}
		}
		b.insertNew(t, in...)
	}
	count := func(jobs []store.Job) map[uuid.UUID]int {
		got := map[uuid.UUID]int{}
		for _, j := range jobs {
			got[j.AppID]++
		}
		return got
	}
	claimRound := func(t *testing.T, b *bundle, q string, limit int, round uint64) []store.Job {
		t.Helper()
		jobs, err := b.s.ClaimJobs(b.ctx, store.ClaimParams{Queue: q, Types: []string{"t"}, Limit: limit,
			LeaseToken: newID(), LeaseDuration: time.Hour, Round: round})
		if err != nil {
			t.Fatalf("ClaimJobs: %v", err)
		}
		return jobs
	}
	zero := func(int) int { return 0 }

	r.run(t, "FloodDoesNotStarveAnotherApp", func(t *testing.T, b *bundle) {
		q := uniqueName("q")
		// The flooding app's jobs are older and more urgent: a claim in global priority
		// order would take only them.
		flood(t, b, q, []int{300, 3}, []store.App{b.app, b.app2}, func(i int) int { return -100 * (1 - i) })
		got := claimRound(t, b, q, 10, 0)
		if n := count(got); len(got) != 10 || n[b.app2.ID] != 3 || n[b.app.ID] != 7 {
			t.Fatalf("a claim of 10 took %d of the flooding app's and %d of the other's (%d in all); want 7 and 3",
				n[b.app.ID], n[b.app2.ID], len(got))
		}
	})

	r.run(t, "EvenSharesInTurn", func(t *testing.T, b *bundle) {
		q := uniqueName("q")
		flood(t, b, q, []int{50, 50}, []store.App{b.app, b.app2}, zero)
		got := claimRound(t, b, q, 10, 0)
		if n := count(got); n[b.app.ID] != 5 || n[b.app2.ID] != 5 {
			t.Fatalf("a claim of 10 between two flooded apps took %d and %d; want 5 and 5", n[b.app.ID], n[b.app2.ID])
		}
		// The apps take turns in the claim's order, so their jobs also start in turn.
		for i := 1; i < len(got); i++ {
			if got[i].AppID == got[i-1].AppID {
				t.Fatalf("claimed jobs %d and %d are of one app: the apps do not take turns", i-1, i)
			}
		}
	})

	r.run(t, "WhatOneAppCannotTakeGoesToTheOthers", func(t *testing.T, b *bundle) {
		q := uniqueName("q")
		flood(t, b, q, []int{50, 2}, []store.App{b.app, b.app2}, zero)
		got := claimRound(t, b, q, 10, 0)
		if n := count(got); n[b.app.ID] != 8 || n[b.app2.ID] != 2 {
			t.Fatalf("a claim of 10 took %d and %d; want 8 and 2 (the share the second app could not take goes to the first)",
				n[b.app.ID], n[b.app2.ID])
		}
	})

	r.run(t, "MoreAppsThanTheClaimTakeTurns", func(t *testing.T, b *bundle) {
		q := uniqueName("q")
		apps := []store.App{b.app, b.app2}
		for i := range 3 {
			apps = append(apps, b.createApp(t, fmt.Sprintf("tenant-%d", i)))
		}
		flood(t, b, q, []int{3, 3, 3, 3, 3}, apps, zero)
		// Five claims of two, their rounds counting up as a claimer's do: every app gets two.
		var all []store.Job
		for round := range uint64(5) {
			got := claimRound(t, b, q, 2, round)
			if n := count(got); len(got) != 2 || len(n) != 2 {
				t.Fatalf("round %d: claimed %d jobs of %d apps; want one each of two apps", round, len(got), len(n))
			}
			all = append(all, got...)
		}
		for _, a := range apps {
			if n := count(all)[a.ID]; n != 2 {
				t.Errorf("app %s got %d jobs in five claims of two; want 2", a.Name, n)
			}
		}
	})

	r.run(t, "PriorityOrdersOneAppsJobs", func(t *testing.T, b *bundle) {
		q := uniqueName("q")
		low, high := newJob(b.app.ID, "t"), newJob(b.app.ID, "t")
		low.Queue, high.Queue, low.Priority, high.Priority = q, q, 5, -5
		b.insertNew(t, low, high)
		got := claimRound(t, b, q, 1, 0)
		wantIDs(t, jobIDs(got), []uuid.UUID{high.ID}, "claim of one of an app's jobs")
	})

	setLimits := func(t *testing.T, b *bundle, app store.App, l store.AppLimits) store.App {
		t.Helper()
		got, err := b.s.SetAppLimits(b.ctx, app.ID, l)
		if err != nil {
			t.Fatalf("SetAppLimits(%+v): %v", l, err)
		}
		return got
	}

	r.run(t, "LimitsAreKeptAndCleared", func(t *testing.T, b *bundle) {
		l := store.AppLimits{MaxRunning: 7, Rate: 2.5, Burst: 4}
		if got := setLimits(t, b, b.app, l); got.AppLimits != l || got.ID != b.app.ID || got.Name != b.app.Name {
			t.Fatalf("SetAppLimits returned %+v", got)
		}
		if got, err := b.s.GetApp(b.ctx, b.app.ID); err != nil || got.AppLimits != l {
			t.Fatalf("GetApp after SetAppLimits: %+v, %v", got, err)
		}
		if got := setLimits(t, b, b.app, store.AppLimits{}); got.Limited() {
			t.Fatalf("limits not cleared: %+v", got)
		}
		_, err := b.s.SetAppLimits(b.ctx, newID(), l)
		wantErrIs(t, err, store.ErrNotFound, "SetAppLimits of an unknown app")
	})

	r.run(t, "MaxRunningCapsTheApp", func(t *testing.T, b *bundle) {
		q := uniqueName("q")
		flood(t, b, q, []int{10, 10}, []store.App{b.app, b.app2}, zero)
		setLimits(t, b, b.app, store.AppLimits{MaxRunning: 3})
		got := claimRound(t, b, q, 10, 0)
		if n := count(got); n[b.app.ID] != 3 || n[b.app2.ID] != 7 {
			t.Fatalf("first claim took %d of the capped app's (cap 3) and %d of the other's; want 3 and 7", n[b.app.ID], n[b.app2.ID])
		}
		if n := count(claimRound(t, b, q, 10, 1)); n[b.app.ID] != 0 {
			t.Fatalf("a claim with the cap reached took %d of the capped app's jobs", n[b.app.ID])
		}
		for _, j := range got {
			if j.AppID == b.app.ID {
				b.finishOne(t, store.Lease{JobID: j.ID, Token: *j.LeaseToken}, store.OutcomeComplete, "", 0)
				break
			}
		}
		if n := count(claimRound(t, b, q, 10, 2)); n[b.app.ID] != 1 {
			t.Fatalf("after one of its jobs completed, a claim took %d of the capped app's; want 1", n[b.app.ID])
		}
	})

	r.run(t, "ConcurrentClaimsRespectTheCap", func(t *testing.T, b *bundle) {
		const limit, claimers = 5, 8
		q := uniqueName("q")
		flood(t, b, q, []int{100}, []store.App{b.app}, zero)
		setLimits(t, b, b.app, store.AppLimits{MaxRunning: limit})
		var mu sync.Mutex
		total := 0
		var wg sync.WaitGroup
		for c := range claimers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for round := range uint64(5) {
					jobs, err := b.s.ClaimJobs(b.ctx, store.ClaimParams{Queue: q, Types: []string{"t"}, Limit: 4,
						LeaseToken: newID(), LeaseDuration: time.Hour, Round: uint64(c) + round})
					if err != nil {
						t.Errorf("ClaimJobs: %v", err)
						return
					}
					mu.Lock()
					total += len(jobs)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if total != limit {
			t.Fatalf("%d concurrent claimers took %d jobs of an app capped at %d", claimers, total, limit)
		}
	})

	r.run(t, "RateBucketSpendsAndRefills", func(t *testing.T, b *bundle) {
		q := uniqueName("q")
		flood(t, b, q, []int{20}, []store.App{b.app}, zero)
		// One job per 1,000 seconds: nothing refills during the test.
		setLimits(t, b, b.app, store.AppLimits{Rate: 0.001, Burst: 3})
		if got := claimRound(t, b, q, 10, 0); len(got) != 3 {
			t.Fatalf("a full bucket of 3 gave %d jobs", len(got))
		}
		if got := claimRound(t, b, q, 10, 0); len(got) != 0 {
			t.Fatalf("an empty bucket gave %d jobs", len(got))
		}
		// 1,000 a second, burst 2: setting a rate fills the bucket; it refills to the burst,
		// never past it, in the milliseconds it takes the database clock to move on.
		setLimits(t, b, b.app, store.AppLimits{Rate: 1000, Burst: 2})
		if got := claimRound(t, b, q, 10, 0); len(got) != 2 {
			t.Fatalf("a refilled bucket of 2 gave %d jobs", len(got))
		}
		b.waitClockPast(t, b.dbNow(t).Add(10*time.Millisecond))
		if got := claimRound(t, b, q, 10, 0); len(got) != 2 {
			t.Fatalf("after 10 ms at 1,000 a second the bucket of 2 gave %d jobs; want 2 (the burst)", len(got))
		}
	})
}
