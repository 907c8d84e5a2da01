package storetest

import (
	"testing"
	"time"

	"github.com/sluicehq/sluice/store"
)

func testStats(t *testing.T, r *suite) {
	r.run(t, "CountsEveryStatePerAppAndType", func(t *testing.T, b *bundle) {
		if got := must(b.s.Stats(b.ctx))(t); len(got) != 0 {
			t.Fatalf("Stats of an empty store: %+v", got)
		}
		// Type "s" in app alpha: one of each job state, two dead entries (one replayed).
		due := newJob(b.app.ID, "s")
		later := newJob(b.app.ID, "s")
		later.RunAt = ptr(b.dbNow(t).Add(time.Hour).Truncate(time.Millisecond))
		toRun, toComplete, toCancel, toRetry := newJob(b.app.ID, "s"), newJob(b.app.ID, "s"), newJob(b.app.ID, "s"), newJob(b.app.ID, "s")
		for i, j := range []*store.InsertJob{&toRun, &toComplete, &toCancel, &toRetry} {
			j.Queue = uniqueName("q") + string(rune('a'+i))
		}
		inserted := b.insertNew(t, due, later, toRun, toComplete, toCancel, toRetry)
		b.claimOne(t, inserted[2], time.Hour)
		_, tok := b.claimOne(t, inserted[3], time.Hour)
		b.finishOne(t, store.Lease{JobID: inserted[3].ID, Token: tok}, store.OutcomeComplete, "", 0)
		_, tok = b.claimOne(t, inserted[4], time.Hour)
		b.finishOne(t, store.Lease{JobID: inserted[4].ID, Token: tok}, store.OutcomeCancel, "stop", 0)
		_, tok = b.claimOne(t, inserted[5], time.Hour)
		b.finishOne(t, store.Lease{JobID: inserted[5].ID, Token: tok}, store.OutcomeRetry, "again", time.Hour)
		dead := b.killN(t, 2, b.app.ID, "s")
		replayed := b.replay(t, dead[1].ID) // one more pending job, one dead entry fewer
		// Type "t" in app beta: dead only.
		other := b.killN(t, 1, b.app2.ID, "t")

		got := must(b.s.Stats(b.ctx))(t)
		if len(got) != 2 {
			t.Fatalf("Stats: %d rows, want 2: %+v", len(got), got)
		}
		first, second := got[0], got[1]
		if idCmp(first.AppID, second.AppID) > 0 {
			t.Fatalf("Stats not ordered by app id: %+v", got)
		}
		byApp := map[string]store.TypeStats{first.Type: first, second.Type: second}
		s, tt := byApp["s"], byApp["t"]
		want := store.TypeStats{AppID: b.app.ID, Type: "s", Pending: 3, Retrying: 1, Running: 1, Completed: 1, Cancelled: 1, Dead: 1, DeadGroups: 1}
		if s.AppID != want.AppID || s.Pending != want.Pending || s.Retrying != want.Retrying || s.Running != want.Running ||
			s.Completed != want.Completed || s.Cancelled != want.Cancelled || s.Dead != want.Dead || s.DeadGroups != want.DeadGroups {
			t.Fatalf("Stats of alpha/s = %+v, want counts %+v", s, want)
		}
		if s.OldestDeadAt == nil || !s.OldestDeadAt.Equal(dead[0].FailedAt) {
			t.Errorf("alpha/s oldest dead = %v, want %v", s.OldestDeadAt, dead[0].FailedAt)
		}
		if s.OldestPendingRunAt == nil || !s.OldestPendingRunAt.Equal(inserted[0].RunAt) {
			t.Errorf("alpha/s oldest pending = %v, want %v (replayed job due %v)", s.OldestPendingRunAt, inserted[0].RunAt, replayed.RunAt)
		}
		if tt.AppID != b.app2.ID || tt.Dead != 1 || tt.DeadGroups != 1 || tt.Pending+tt.Retrying+tt.Running+tt.Completed+tt.Cancelled != 0 ||
			tt.OldestPendingRunAt != nil || tt.OldestDeadAt == nil || !tt.OldestDeadAt.Equal(other[0].FailedAt) {
			t.Errorf("Stats of beta/t = %+v", tt)
		}
	})
}
