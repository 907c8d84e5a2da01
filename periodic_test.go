package sluice_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/clock"
	"github.com/sluicehq/sluice/internal/testdb"
)

// TestPeriodic ticks one schedule from two clients on one database, by a fake clock the test
// moves: every tick enqueues exactly one job, a long gap enqueues one (CatchUpLatest) or none
// (CatchUpNone), and the listing shows the last and next ticks. It installs the process's
// tick clock, so it does not run in parallel with other periodic tests.
func TestPeriodic(t *testing.T) {
	for name, newURL := range backends {
		t.Run(name, func(t *testing.T) {
			fake := clock.NewFake(time.Date(2026, 11, 27, 12, 0, 30, 0, time.UTC))
			clock.UseForTicks(fake)
			defer clock.UseForTicks(nil)
			url := newURL(t)
			b := setup(t, url, nil)
			other, err := sluice.Open(b.ctx, url, fastConfig())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				other.Close(ctx)
			})
			schedules := []sluice.Schedule{
				{Name: "minutely", App: b.app.Name, Type: "report.minutely", Every: time.Minute, Payload: map[string]int{"n": 1}},
				{Name: "strict", App: b.app.ID.String(), Type: "report.strict", Cron: "*/5 * * * *", CatchUp: sluice.CatchUpNone},
			}
			clients := []*sluice.Client{b.client, other}
			for _, c := range clients {
				for _, s := range schedules {
					if err := c.Periodic(s); err != nil {
						t.Fatalf("Periodic(%s): %v", s.Name, err)
					}
				}
			}
			for _, c := range clients {
				if err := c.Start(b.ctx); err != nil {
					t.Fatal(err)
				}
			}
			idle := func() {
				t.Helper()
				ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
				defer cancel()
				if err := fake.BlockUntilIdle(ctx, len(clients)); err != nil {
					t.Fatalf("the schedulers did not finish their pass at %s: %v", fake.Now(), err)
				}
			}
			count := func(typ string) int {
				t.Helper()
				page, err := b.client.ListJobs(b.ctx, sluice.JobFilter{App: b.app.Name, Type: typ}, sluice.ListOptions{Limit: 1000})
				if err != nil {
					t.Fatal(err)
				}
				return len(page.Items)
			}
			idle()
			if n := count("report.minutely"); n != 0 {
				t.Fatalf("%d jobs before the first tick after registration, want 0", n)
			}
			// Twelve minutes, one at a time: one job per tick, each under its tick's key.
			for k := 1; k <= 12; k++ {
				fake.Advance(time.Minute)
				idle()
				if n := count("report.minutely"); n != k {
					t.Fatalf("after %d ticks there are %d jobs, want %d", k, n, k)
				}
			}
			page, _ := b.client.ListJobs(b.ctx, sluice.JobFilter{App: b.app.Name, Type: "report.minutely"}, sluice.ListOptions{Limit: 1})
			last := page.Items[0]
			want := sluice.TickKey("minutely", time.Date(2026, 11, 27, 12, 12, 0, 0, time.UTC))
			var payload map[string]int
			json.Unmarshal(last.Payload, &payload)
			if last.UniqueKey != want || payload["n"] != 1 {
				t.Fatalf("the last job has key %q and payload %s, want %q and {\"n\":1}", last.UniqueKey, last.Payload, want)
			}
			strictBefore := count("report.strict")
			if strictBefore != 2 { // 12:05 and 12:10
				t.Fatalf("%d jobs of the */5 schedule, want 2", strictBefore)
			}

			// Three hours pass unseen (as if every process were down): one job for the latest
			// minute, the 179 before it skipped; the strict schedule skips them all.
			fake.Advance(3 * time.Hour)
			idle()
			if n := count("report.minutely"); n != 13 {
				t.Fatalf("after a 3h gap there are %d jobs, want 13 (one more)", n)
			}
			if n := count("report.strict"); n != strictBefore {
				t.Fatalf("after a 3h gap the CatchUpNone schedule has %d jobs, want %d (none more)", n, strictBefore)
			}
			infos, err := b.client.Schedules(b.ctx, b.app.Name)
			if err != nil || len(infos) != 2 {
				t.Fatalf("Schedules = %d, %v; want 2", len(infos), err)
			}
			byName := map[string]sluice.ScheduleInfo{}
			for _, s := range infos {
				byName[s.Name] = s
			}
			min, strict := byName["minutely"], byName["strict"]
			wantLast := time.Date(2026, 11, 27, 15, 12, 0, 0, time.UTC)
			if min.LastTickAt == nil || !min.LastTickAt.Equal(wantLast) || min.TicksEnqueued != 13 || min.TicksSkipped != 179 || min.Stale {
				t.Fatalf("minutely = last tick %v, %d enqueued, %d skipped, stale %v; want %s, 13, 179, false",
					min.LastTickAt, min.TicksEnqueued, min.TicksSkipped, min.Stale, wantLast)
			}
			if min.NextTickAt == nil || min.NextTickAt.Before(wantLast) || min.LastJobID == nil {
				t.Fatalf("minutely: next tick %v, last job %v", min.NextTickAt, min.LastJobID)
			}
			if strict.TicksEnqueued != 2 || strict.TicksSkipped != 36 || !strict.LastTickAt.Equal(time.Date(2026, 11, 27, 15, 10, 0, 0, time.UTC)) {
				t.Fatalf("strict = last tick %v, %d enqueued, %d skipped; want 15:10, 2, 36", strict.LastTickAt, strict.TicksEnqueued, strict.TicksSkipped)
			}
			// On time again, the strict schedule enqueues its next tick.
			fake.Set(time.Date(2026, 11, 27, 15, 15, 20, 0, time.UTC))
			idle()
			if n := count("report.strict"); n != strictBefore+1 {
				t.Fatalf("an on-time tick of the CatchUpNone schedule: %d jobs, want %d", n, strictBefore+1)
			}

			// An operator deletes a schedule a client still runs: it is registered again, afresh.
			if err := b.client.DeleteSchedule(b.ctx, min.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := b.client.GetSchedule(b.ctx, min.ID); !errors.Is(err, sluice.ErrNotFound) {
				t.Fatalf("GetSchedule of a deleted schedule: %v", err)
			}
		})
	}
}

// TestPeriodicRefusesBadSchedules checks that each bad schedule is a *FieldError naming its
// field, and that Start refuses a schedule of an unknown app.
func TestPeriodicRefusesBadSchedules(t *testing.T) {
	t.Parallel()
	b := setup(t, testdb.SQLite(t), nil)
	ok := sluice.Schedule{Name: "n", App: b.app.Name, Type: "t", Every: time.Minute}
	cases := []struct {
		field string
		mod   func(s *sluice.Schedule)
	}{
		{"name", func(s *sluice.Schedule) { s.Name = "" }},
		{"name", func(s *sluice.Schedule) { s.Name = "has space" }},
		{"app", func(s *sluice.Schedule) { s.App = "" }},
		{"app", func(s *sluice.Schedule) { s.App = "bad\x00app" }},
		{"type", func(s *sluice.Schedule) { s.Type = "" }},
		{"cron", func(s *sluice.Schedule) { s.Every = 0 }},
		{"cron", func(s *sluice.Schedule) { s.Every, s.Cron = 0, "every day" }},
		{"cron", func(s *sluice.Schedule) { s.Every, s.Cron = 0, "@every 1m" }},
		{"every", func(s *sluice.Schedule) { s.Cron = "* * * * *" }},
		{"every", func(s *sluice.Schedule) { s.Every = time.Millisecond }},
		{"timeZone", func(s *sluice.Schedule) { s.Every, s.Cron, s.TimeZone = 0, "0 9 * * *", "Nowhere/Land" }},
		{"payload", func(s *sluice.Schedule) { s.Payload = "a string" }},
		{"queue", func(s *sluice.Schedule) { s.Queue = "bad queue" }},
		{"priority", func(s *sluice.Schedule) { s.Priority = 101 }},
		{"maxAttempts", func(s *sluice.Schedule) { s.MaxAttempts = 1001 }},
		{"catchUp", func(s *sluice.Schedule) { s.CatchUp = "all" }},
	}
	for _, c := range cases {
		s := ok
		c.mod(&s)
		var fe *sluice.FieldError
		if err := b.client.Periodic(s); !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("Periodic(%+v) = %v, want a *FieldError on %q", s, err, c.field)
		}
	}
	if err := b.client.Periodic(ok); err != nil {
		t.Fatal(err)
	}
	var fe *sluice.FieldError
	if err := b.client.Periodic(ok); !errors.As(err, &fe) || fe.Field != "name" || !errors.Is(err, sluice.ErrConflict) {
		t.Fatalf("a second schedule of the same name: %v, want a conflict on \"name\"", err)
	}
	ghost := ok
	ghost.Name, ghost.App = "ghost", "no-such-app"
	if err := b.client.Periodic(ghost); err != nil {
		t.Fatal(err)
	}
	if err := b.client.Start(b.ctx); !errors.As(err, &fe) || fe.Field != "app" || !errors.Is(err, sluice.ErrNotFound) {
		t.Fatalf("Start with a schedule of an unknown app = %v, want a *FieldError on \"app\" wrapping ErrNotFound", err)
	}
}
