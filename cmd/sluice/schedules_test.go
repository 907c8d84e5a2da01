package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/store"
)

// TestSchedulesCommands runs sluice schedules list | show | delete against both stores, on
// schedules registered as a started client registers them.
func TestSchedulesCommands(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.ok("apps", "create", "billing")
		e.ok("apps", "create", "other")
		cl := e.client()
		ctx := context.Background()
		billing, err := cl.GetApp(ctx, "billing")
		if err != nil {
			t.Fatal(err)
		}
		other, _ := cl.GetApp(ctx, "other")
		defs := []store.ScheduleDef{
			{ID: uuid.Must(uuid.NewV7()), AppID: billing.ID, Name: "nightly", Type: "invoice.run", Cron: "0 3 * * *",
				TimeZone: "Europe/Berlin", Queue: "default", MaxAttempts: 3, Payload: json.RawMessage(`{"scope":"all"}`), CatchUp: "latest"},
			{ID: uuid.Must(uuid.NewV7()), AppID: other.ID, Name: "quarter", Type: "ping", Every: 15 * time.Minute,
				TimeZone: "UTC", Queue: "default", MaxAttempts: 25, Payload: json.RawMessage(`{}`), CatchUp: "none"},
		}
		got, err := cl.Store().SyncSchedules(ctx, defs)
		if err != nil {
			t.Fatal(err)
		}
		tick := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
		if _, err := cl.Store().TickSchedule(ctx, store.TickParams{ScheduleID: got[0].ID, Tick: tick}); err != nil {
			t.Fatal(err)
		}

		var list sluice.Page[sluice.ScheduleInfo]
		e.json(&list, "schedules", "list")
		if len(list.Items) != 2 {
			t.Fatalf("schedules list: %+v", list.Items)
		}
		e.json(&list, "schedules", "list", "--app", "billing")
		if len(list.Items) != 1 || list.Items[0].Name != "nightly" || list.Items[0].LastTickAt == nil ||
			!list.Items[0].LastTickAt.Equal(tick) || list.Items[0].NextTickAt == nil || list.Items[0].Stale {
			t.Fatalf("schedules list --app billing: %+v", list.Items)
		}
		out := e.ok("schedules", "list").stdout
		for _, want := range []string{"billing", "nightly", "0 3 * * * (Europe/Berlin)", "2026-11-27T02:00:00.000Z", "every 15m0s", "active"} {
			if !strings.Contains(out, want) {
				t.Fatalf("schedules list (human) lacks %q:\n%s", want, out)
			}
		}
		raw := e.ok("schedules", "show", got[1].ID.String(), "--json").stdout
		if !strings.Contains(raw, `"every": "15m0s"`) || !strings.Contains(raw, `"catchUp": "none"`) {
			t.Fatalf("schedules show --json:\n%s", raw)
		}
		if out := e.ok("schedules", "show", got[0].ID.String()).stdout; !strings.Contains(out, "Europe/Berlin") || !strings.Contains(out, "0 enqueued, 0 skipped") {
			t.Fatalf("schedules show:\n%s", out)
		}

		e.fail(2, []string{"--app"}, "schedules", "list", "--app", "nobody")
		e.fail(2, []string{"ID"}, "schedules", "show", "not-an-id")
		e.fail(1, []string{"no periodic schedule"}, "schedules", "delete", uuid.NewString())
		if out := e.ok("schedules", "delete", got[0].ID.String()).stdout; !strings.Contains(out, "Deleted periodic schedule") {
			t.Fatalf("schedules delete: %s", out)
		}
		e.fail(1, []string{"no periodic schedule"}, "schedules", "show", got[0].ID.String())
		e.json(&list, "schedules", "list")
		if len(list.Items) != 1 {
			t.Fatalf("after delete, schedules list: %+v", list.Items)
		}
	})
}
