package main

import (
	"strings"
	"testing"

	"github.com/sluicehq/sluice"
)

func TestApps(t *testing.T) {
	t.Parallel()
	e := setup(t)

	r := e.ok("apps", "create", "billing")
	if !strings.Contains(r.stdout, "name:") || !strings.Contains(r.stdout, "billing") || !humanTime.MatchString(r.stdout) {
		t.Fatalf("apps create: %s", r)
	}
	var created sluice.App
	e.json(&created, "apps", "create", "search")
	if created.Name != "search" || created.ID.Version() != 7 {
		t.Fatalf("apps create --json: %+v", created)
	}

	e.fail(exitRuntime, []string{`NAME: an app named "billing" already exists`}, "apps", "create", "billing")
	for _, bad := range []struct{ name, want string }{
		{"", "NAME: is required"},
		{"0190a5a4-0000-7000-8000-000000000000", "NAME: must not look like a UUID"},
		{"bad\x01name", "NAME: must not contain control characters"},
		{" padded", "NAME: must not start or end with white space"},
		{strings.Repeat("x", 129), "NAME: must be at most 128 characters, got 129"},
	} {
		e.fail(exitUsage, []string{bad.want}, "apps", "create", bad.name)
	}
	e.fail(exitUsage, []string{"apps create takes NAME, got 0 arguments"}, "apps", "create")
	e.fail(exitUsage, []string{"apps create takes NAME, got 2 arguments"}, "apps", "create", "a", "b")

	var apps page[sluice.App]
	e.json(&apps, "apps", "list")
	if len(apps.Items) != 2 || apps.Items[0].Name != "billing" || apps.Items[1].ID != created.ID {
		t.Fatalf("apps list --json: %+v", apps)
	}
	r = e.ok("apps", "list")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[2], created.ID.String()) {
		t.Fatalf("apps list: %s", r)
	}
}

func TestAppsListEmpty(t *testing.T) {
	t.Parallel()
	e := setup(t)
	var apps page[sluice.App]
	e.json(&apps, "apps", "list")
	if apps.Items == nil || len(apps.Items) != 0 {
		t.Fatalf("an empty listing must be {\"items\": []}: %+v", apps)
	}
	if r := e.ok("apps", "list"); r.stdout != "No apps.\n" {
		t.Fatalf("apps list: %s", r)
	}
}

func TestAppsLimit(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.ok("apps", "create", "billing")

	var app sluice.App
	e.json(&app, "apps", "limit", "billing", "--max-running", "3", "--rate", "2.5")
	if app.Name != "billing" || app.MaxRunning != 3 || app.Rate != 2.5 || app.Burst != 3 {
		t.Fatalf("apps limit --json: %+v; want max running 3, rate 2.5, burst 3 (the rate rounded up)", app)
	}
	var apps page[sluice.App]
	e.json(&apps, "apps", "list")
	if len(apps.Items) != 1 || apps.Items[0].AppLimits != app.AppLimits {
		t.Fatalf("apps list --json after apps limit: %+v", apps)
	}
	if r := e.ok("apps", "limit", "billing", "--rate", "10", "--burst", "20"); !strings.Contains(r.stdout, "20") || !strings.Contains(r.stdout, "max running:") {
		t.Fatalf("apps limit: %s", r)
	}
	var cleared sluice.App
	e.json(&cleared, "apps", "limit", "billing")
	if cleared.Name != "billing" || cleared.Limited() {
		t.Fatalf("apps limit with no flags left limits: %+v", cleared)
	}

	e.fail(exitUsage, []string{"--burst: needs a rate"}, "apps", "limit", "billing", "--burst", "2")
	e.fail(exitUsage, []string{"--max-running: must be between 0 (no cap) and 1000000, got -1"}, "apps", "limit", "billing", "--max-running", "-1")
	e.fail(exitUsage, []string{"--rate: must be between 0"}, "apps", "limit", "billing", "--rate", "NaN")
	e.fail(exitUsage, []string{`APP: no app has the id or name "nope"`}, "apps", "limit", "nope", "--max-running", "1")
	apps = page[sluice.App]{}
	e.json(&apps, "apps", "list")
	if apps.Items[0].Limited() {
		t.Fatalf("a refused apps limit changed the app: %+v", apps.Items[0])
	}
}
