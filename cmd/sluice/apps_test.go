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
