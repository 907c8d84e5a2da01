package storetest

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/store"
)

// scheduleDef returns a definition of an every-minute schedule of the app.
func scheduleDef(appID uuid.UUID, name string) store.ScheduleDef {
	return store.ScheduleDef{ID: newID(), AppID: appID, Name: name, Type: "report.send", Every: time.Minute,
		TimeZone: "UTC", Queue: "default", MaxAttempts: 3, Payload: json.RawMessage(`{"report":"daily"}`),
		CatchUp: store.CatchUpLatest}
}

// sync registers the definitions, failing the test on error.
func (b *bundle) sync(t *testing.T, defs ...store.ScheduleDef) []store.Schedule {
	t.Helper()
	out, err := b.s.SyncSchedules(b.ctx, defs)
	if err != nil {
		t.Fatalf("SyncSchedules: %v", err)
	}
	if len(out) != len(defs) {
		t.Fatalf("SyncSchedules returned %d schedules for %d definitions", len(out), len(defs))
	}
	return out
}

// tick runs TickSchedule, failing the test on error.
func (b *bundle) tick(t *testing.T, p store.TickParams) store.TickResult {
	t.Helper()
	res, err := b.s.TickSchedule(b.ctx, p)
	if err != nil {
		t.Fatalf("TickSchedule(%s at %s): %v", p.ScheduleID, p.Tick, err)
	}
	return res
}

// tickJob returns the job a tick of the schedule enqueues.
func tickJob(sch store.Schedule, tick time.Time) *store.InsertJob {
	return &store.InsertJob{ID: newID(), AppID: sch.AppID, Type: sch.Type, Queue: sch.Queue,
		Priority: sch.Priority, Payload: sch.Payload, MaxAttempts: sch.MaxAttempts,
		UniqueKey: "periodic:" + sch.Name + "@" + tick.UTC().Format(time.RFC3339)}
}

// jobsOfType lists every job of the app and type.
func (b *bundle) jobsOfType(t *testing.T, appID uuid.UUID, typ string) []store.Job {
	t.Helper()
	return must(b.s.ListJobs(b.ctx, store.JobFilter{AppID: &appID, Type: typ}, store.Page{Limit: 1000}))(t)
}

func testPeriodic(t *testing.T, r *suite) {
	base := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

	r.run(t, "SyncCreatesUpdatesAndMarksSeen", func(t *testing.T, b *bundle) {
		before := b.dbNow(t)
		d1, d2 := scheduleDef(b.app.ID, "nightly"), scheduleDef(b.app2.ID, "nightly")
		d2.Cron, d2.Every, d2.TimeZone = "0 3 * * *", 0, "Europe/Berlin"
		got := b.sync(t, d1, d2)
		for i, d := range []store.ScheduleDef{d1, d2} {
			g := got[i]
			if g.ID != d.ID || g.AppID != d.AppID || g.Name != d.Name || g.Cron != d.Cron || g.Every != d.Every ||
				g.TimeZone != d.TimeZone || g.Queue != d.Queue || g.MaxAttempts != d.MaxAttempts ||
				canonJSON(g.Payload) != canonJSON(d.Payload) || g.CatchUp != d.CatchUp {
				t.Fatalf("SyncSchedules stored %+v, want the definition %+v", g.ScheduleDef, d)
			}
			if g.LastTickAt != nil || g.LastJobID != nil || g.TicksEnqueued != 0 || g.TicksSkipped != 0 {
				t.Fatalf("a new schedule has ticks: %+v", g)
			}
			if g.SeenAt.Before(before) || g.ReadAt.Before(g.SeenAt) || g.CreatedAt.Before(before) {
				t.Fatalf("SeenAt %s, CreatedAt %s, ReadAt %s, want them at or after %s, ReadAt last", g.SeenAt, g.CreatedAt, g.ReadAt, before)
			}
		}
		b.tick(t, store.TickParams{ScheduleID: got[0].ID, Tick: base})

		// Registering again keeps the id and the ticks, replaces the definition, and marks it seen.
		b.waitClockPast(t, got[0].SeenAt)
		again := scheduleDef(b.app.ID, "nightly") // a new id, which the existing row ignores
		again.Every, again.Priority, again.CatchUp = 5*time.Minute, -7, store.CatchUpNone
		upd := b.sync(t, again)[0]
		if upd.ID != got[0].ID || upd.Every != 5*time.Minute || upd.Priority != -7 || upd.CatchUp != store.CatchUpNone {
			t.Fatalf("re-registered schedule = %+v, want id %s with the new definition", upd.ScheduleDef, got[0].ID)
		}
		if upd.LastTickAt == nil || !upd.LastTickAt.Equal(base) || !upd.SeenAt.After(got[0].SeenAt) || !upd.CreatedAt.Equal(got[0].CreatedAt) {
			t.Fatalf("re-registered schedule: last tick %v, seen %s (was %s), created %s (was %s)",
				upd.LastTickAt, upd.SeenAt, got[0].SeenAt, upd.CreatedAt, got[0].CreatedAt)
		}
		if g := must(b.s.GetSchedule(b.ctx, upd.ID))(t); g.Every != upd.Every || !g.SeenAt.Equal(upd.SeenAt) {
			t.Fatalf("GetSchedule = %+v, want what SyncSchedules returned", g)
		}

		// An unknown app writes nothing, not even the other definitions.
		bad := scheduleDef(uuid.New(), "orphan")
		other := scheduleDef(b.app.ID, "other")
		_, err := b.s.SyncSchedules(b.ctx, []store.ScheduleDef{other, bad})
		wantFieldError(t, err, store.UnknownApp(), "SyncSchedules with an unknown app")
		if all := must(b.s.ListSchedules(b.ctx, nil))(t); len(all) != 2 {
			t.Fatalf("after a refused SyncSchedules there are %d schedules, want 2", len(all))
		}
	})

	r.run(t, "TickIsCompareAndSet", func(t *testing.T, b *bundle) {
		sch := b.sync(t, scheduleDef(b.app.ID, "cas"))[0]
		// The first tick a schedule sees is recorded without a job.
		first := b.tick(t, store.TickParams{ScheduleID: sch.ID, Tick: base})
		if !first.Won || first.Job != nil || first.Schedule.LastTickAt == nil || !first.Schedule.LastTickAt.Equal(base) {
			t.Fatalf("first tick = %+v, want it won without a job, last tick %s", first, base)
		}
		// The same tick, and an earlier one, change nothing.
		for _, tick := range []time.Time{base, base.Add(-time.Minute)} {
			res := b.tick(t, store.TickParams{ScheduleID: sch.ID, Tick: tick, Job: tickJob(sch, tick), Skipped: 3})
			if res.Won || res.Job != nil || !res.Schedule.LastTickAt.Equal(base) || res.Schedule.TicksSkipped != 0 {
				t.Fatalf("tick at %s after the last tick %s = %+v, want nothing changed", tick, base, res)
			}
		}
		if jobs := b.jobsOfType(t, b.app.ID, sch.Type); len(jobs) != 0 {
			t.Fatalf("ticks that lost inserted %d jobs", len(jobs))
		}
		// A later tick wins and inserts its job, counting the ticks it skipped.
		next := base.Add(3 * time.Minute)
		job := tickJob(sch, next)
		res := b.tick(t, store.TickParams{ScheduleID: sch.ID, Tick: next, Job: job, Skipped: 2})
		if !res.Won || res.Job == nil || res.Job.Duplicate || res.Job.Job.ID != job.ID {
			t.Fatalf("later tick = %+v, want it won with job %s inserted", res, job.ID)
		}
		s := res.Schedule
		if !s.LastTickAt.Equal(next) || !eqIDPtr(s.LastJobID, &job.ID) || s.LastEnqueuedAt == nil ||
			s.TicksEnqueued != 1 || s.TicksSkipped != 2 {
			t.Fatalf("schedule after the tick = %+v, want last tick %s, job %s, 1 enqueued, 2 skipped", s, next, job.ID)
		}
		got := b.getJob(t, job.ID)
		if got.AppID != b.app.ID || got.Type != sch.Type || got.Queue != "default" || got.MaxAttempts != 3 ||
			got.UniqueKey != job.UniqueKey || canonJSON(got.Payload) != canonJSON(sch.Payload) || got.Status != store.StatusPending {
			t.Fatalf("tick's job = %s, want the schedule's", describeJob(got))
		}
		// A skipped tick moves the last tick without a job and keeps the last job.
		skip := b.tick(t, store.TickParams{ScheduleID: sch.ID, Tick: next.Add(time.Minute), Skipped: 1})
		if !skip.Won || skip.Job != nil || !eqIDPtr(skip.Schedule.LastJobID, &job.ID) || skip.Schedule.TicksSkipped != 3 {
			t.Fatalf("skipped tick = %+v, want it won, last job kept, 3 skipped", skip)
		}
	})

	r.run(t, "TickAfterItsJobCompletedDoesNotEnqueueAgain", func(t *testing.T, b *bundle) {
		sch := b.sync(t, scheduleDef(b.app.ID, "done"))[0]
		b.tick(t, store.TickParams{ScheduleID: sch.ID, Tick: base})
		tick := base.Add(time.Minute)
		res := b.tick(t, store.TickParams{ScheduleID: sch.ID, Tick: tick, Job: tickJob(sch, tick)})
		claimed, token := b.claimOne(t, res.Job.Job, time.Minute)
		b.finishOne(t, store.Lease{JobID: claimed.ID, Token: token}, store.OutcomeComplete, "", 0)
		// The unique key is free again now; the last tick still refuses the tick.
		again := b.tick(t, store.TickParams{ScheduleID: sch.ID, Tick: tick, Job: tickJob(sch, tick)})
		if again.Won || again.Job != nil {
			t.Fatalf("the same tick after its job completed = %+v, want nothing", again)
		}
		if jobs := b.jobsOfType(t, b.app.ID, sch.Type); len(jobs) != 1 {
			t.Fatalf("%d jobs of the schedule, want 1", len(jobs))
		}
	})

	r.run(t, "ConcurrentTicksEnqueueOnce", func(t *testing.T, b *bundle) {
		sch := b.sync(t, scheduleDef(b.app.ID, "race"))[0]
		const ticks, racers = 5, 6
		for i := range ticks {
			tick := base.Add(time.Duration(i) * time.Minute)
			var wg sync.WaitGroup
			var mu sync.Mutex
			won := 0
			for range racers {
				wg.Go(func() {
					res, err := b.s.TickSchedule(b.ctx, store.TickParams{ScheduleID: sch.ID, Tick: tick, Job: tickJob(sch, tick)})
					if err != nil {
						t.Errorf("TickSchedule: %v", err)
						return
					}
					if res.Won {
						mu.Lock()
						won++
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if won != 1 {
				t.Fatalf("tick %d: %d of %d concurrent calls won, want exactly 1", i, won, racers)
			}
		}
		if jobs := b.jobsOfType(t, b.app.ID, sch.Type); len(jobs) != ticks {
			t.Fatalf("%d jobs after %d ticks raced by %d callers each, want %d", len(jobs), ticks, racers, ticks)
		}
		if s := must(b.s.GetSchedule(b.ctx, sch.ID))(t); s.TicksEnqueued != ticks {
			t.Fatalf("TicksEnqueued = %d, want %d", s.TicksEnqueued, ticks)
		}
	})

	r.run(t, "TickWhoseUniqueKeyIsHeld", func(t *testing.T, b *bundle) {
		sch := b.sync(t, scheduleDef(b.app.ID, "held"))[0]
		tick := base
		live := tickJob(sch, tick)
		b.insertNew(t, *live)
		res := b.tick(t, store.TickParams{ScheduleID: sch.ID, Tick: tick, Job: tickJob(sch, tick)})
		if !res.Won || res.Job == nil || !res.Job.Duplicate || res.Job.Job.ID != live.ID || !eqIDPtr(res.Schedule.LastJobID, &live.ID) {
			t.Fatalf("tick whose key a live job holds = %+v, want it won with that job (%s) as its own", res, live.ID)
		}
		if jobs := b.jobsOfType(t, b.app.ID, sch.Type); len(jobs) != 1 {
			t.Fatalf("%d jobs, want the live one only", len(jobs))
		}
	})

	r.run(t, "RefusedInsertLeavesTheTick", func(t *testing.T, b *bundle) {
		sch := b.sync(t, scheduleDef(b.app.ID, "atomic"))[0]
		b.tick(t, store.TickParams{ScheduleID: sch.ID, Tick: base})
		tick := base.Add(time.Minute)
		job := tickJob(sch, tick)
		job.AppID = uuid.New() // the database refuses the insert
		_, err := b.s.TickSchedule(b.ctx, store.TickParams{ScheduleID: sch.ID, Tick: tick, Job: job})
		if err == nil {
			t.Fatal("a tick whose job the database refused succeeded")
		}
		s := must(b.s.GetSchedule(b.ctx, sch.ID))(t)
		if !s.LastTickAt.Equal(base) || s.TicksEnqueued != 0 {
			t.Fatalf("after a refused insert the last tick is %v (%d enqueued), want %s unchanged", s.LastTickAt, s.TicksEnqueued, base)
		}
		if res := b.tick(t, store.TickParams{ScheduleID: sch.ID, Tick: tick, Job: tickJob(sch, tick)}); !res.Won || res.Job == nil {
			t.Fatalf("the tick after a refused insert = %+v, want it won", res)
		}
	})

	r.run(t, "ListGetDelete", func(t *testing.T, b *bundle) {
		got := b.sync(t, scheduleDef(b.app2.ID, "b"), scheduleDef(b.app.ID, "z"), scheduleDef(b.app.ID, "a"))
		all := must(b.s.ListSchedules(b.ctx, nil))(t)
		if len(all) != 3 {
			t.Fatalf("ListSchedules(nil) returned %d, want 3", len(all))
		}
		for i := 1; i < len(all); i++ {
			p, c := all[i-1], all[i]
			if idCmp(p.AppID, c.AppID) > 0 || (p.AppID == c.AppID && p.Name >= c.Name) {
				t.Fatalf("ListSchedules order: %s/%s before %s/%s, want app id then name", p.AppID, p.Name, c.AppID, c.Name)
			}
		}
		mine := must(b.s.ListSchedules(b.ctx, &b.app.ID))(t)
		if len(mine) != 2 || mine[0].Name != "a" || mine[1].Name != "z" {
			t.Fatalf("ListSchedules(alpha) = %d schedules, want a and z", len(mine))
		}
		if none := must(b.s.ListSchedules(b.ctx, ptr(uuid.New())))(t); none == nil || len(none) != 0 {
			t.Fatalf("ListSchedules of an unknown app = %v, want an empty list", none)
		}
		if err := b.s.DeleteSchedule(b.ctx, got[1].ID); err != nil {
			t.Fatalf("DeleteSchedule: %v", err)
		}
		wantErrIs(t, b.s.DeleteSchedule(b.ctx, got[1].ID), store.ErrNotFound, "DeleteSchedule twice")
		_, err := b.s.GetSchedule(b.ctx, got[1].ID)
		wantErrIs(t, err, store.ErrNotFound, "GetSchedule of a deleted schedule")
		_, err = b.s.TickSchedule(b.ctx, store.TickParams{ScheduleID: got[1].ID, Tick: base})
		wantErrIs(t, err, store.ErrNotFound, "TickSchedule of a deleted schedule")
		if n := len(must(b.s.ListSchedules(b.ctx, nil))(t)); n != 2 {
			t.Fatalf("after a delete ListSchedules returned %d, want 2", n)
		}
	})

	r.run(t, "NowIsTheDatabaseClock", func(t *testing.T, b *bundle) {
		before := b.dbNow(t)
		now := must(b.s.Now(b.ctx))(t)
		after := b.dbNow(t)
		if now.Before(before) || now.After(after) || now.Location() != time.UTC {
			t.Fatalf("Now = %s, want a UTC time between %s and %s", now, before, after)
		}
	})
}
