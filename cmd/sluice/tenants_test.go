package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice"
)

func TestAppsRenameAndDelete(t *testing.T) {
	t.Parallel()
	e := setup(t)
	var billing sluice.App
	e.json(&billing, "apps", "create", "billing")
	e.ok("apps", "create", "other")
	e.ok("jobs", "enqueue", "--app", "billing", "--type", "t", "--payload", "{}")
	if r := e.run("tokens", "create", "--app", "billing"); r.code != 0 {
		t.Fatalf("tokens create: %s", r)
	}

	r := e.ok("apps", "rename", "billing", "invoicing")
	if !strings.Contains(r.stdout, "invoicing") || !strings.Contains(r.stdout, billing.ID.String()) {
		t.Fatalf("apps rename: %s", r)
	}
	var renamed sluice.App
	e.json(&renamed, "apps", "rename", billing.ID.String(), "invoicing-2")
	if renamed.ID != billing.ID || renamed.Name != "invoicing-2" {
		t.Fatalf("apps rename --json: %+v", renamed)
	}
	e.fail(exitRuntime, []string{`NAME: an app named "other" already exists`}, "apps", "rename", "invoicing-2", "other")
	e.fail(exitUsage, []string{"NAME: must not look like a UUID"}, "apps", "rename", "invoicing-2", "0190a5a4-0000-7000-8000-000000000000")
	e.fail(exitUsage, []string{`APP: no app has the id or name "billing"`}, "apps", "rename", "billing", "x")
	e.fail(exitUsage, []string{"apps rename takes APP NAME, got 1 arguments"}, "apps", "rename", "x")
	// The jobs listing finds the job by the new name.
	var jobs page[sluice.Job]
	e.json(&jobs, "jobs", "list", "--app", "invoicing-2")
	if len(jobs.Items) != 1 || jobs.Items[0].AppID != billing.ID {
		t.Fatalf("jobs of the renamed app: %+v", jobs)
	}

	e.fail(exitRuntime, []string{"the app still holds 1 pending job, 1 token that is not revoked",
		"sluice apps delete invoicing-2 --purge"}, "apps", "delete", "invoicing-2")
	e.fail(exitUsage, []string{"--batch-size: is only for --purge"}, "apps", "delete", "invoicing-2", "--batch-size", "5")
	e.fail(exitUsage, []string{"--batch-size: must be between 1 and 10000, got 10001"}, "apps", "delete", "invoicing-2", "--purge", "--batch-size", "10001")
	e.fail(exitUsage, []string{"--batch-size: must be between 1 and 10000, got 0"}, "apps", "delete", "invoicing-2", "--purge", "--batch-size", "0")

	var res sluice.AppDeletion
	stderr := e.json(&res, "apps", "delete", "invoicing-2", "--purge", "--batch-size", "1")
	if !res.Done || res.App.ID != billing.ID || res.Deleted != (sluice.AppRows{Jobs: 1, Tokens: 1}) || res.Batches != 2 {
		t.Fatalf("apps delete --purge --json: %+v", res)
	}
	if !strings.Contains(stderr, "Purged so far: 1 jobs, 0 dead-letter entries, 1 tokens, 0 retention policies.") {
		t.Fatalf("purge progress on stderr: %q", stderr)
	}
	var apps page[sluice.App]
	e.json(&apps, "apps", "list")
	if len(apps.Items) != 1 || apps.Items[0].Name != "other" {
		t.Fatalf("apps after the purge: %+v", apps)
	}
	if r := e.ok("apps", "delete", "other"); r.stdout != "Deleted app other ("+apps.Items[0].ID.String()+").\n" {
		t.Fatalf("apps delete: %s", r)
	}
	e.fail(exitUsage, []string{`APP: no app has the id or name "other"`}, "apps", "delete", "other")

	audit, err := e.client().ListAudit(context.Background(), sluice.ListOptions{})
	if err != nil || len(audit.Items) != 4 {
		t.Fatalf("audit: %+v, %v", audit.Items, err)
	}
	for i, action := range []string{"app.delete", "app.purge", "app.rename", "app.rename"} {
		if a := audit.Items[i]; a.Action != action || !strings.HasPrefix(a.Actor, "cli:") {
			t.Errorf("audit row %d = %+v, want %s by cli:…", i, a, action)
		}
	}
}

func TestTokensTTLAndRotate(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.ok("apps", "create", "billing")
	var made createdToken
	before := time.Now()
	e.json(&made, "tokens", "create", "--app", "billing", "--ttl", "30d", "--name", "ci")
	if made.Token.ExpiresAt == nil || made.Token.ExpiresAt.Before(before.Add(30*24*time.Hour-time.Minute)) ||
		made.Token.ExpiresAt.After(time.Now().Add(30*24*time.Hour+time.Minute)) {
		t.Fatalf("tokens create --ttl 30d: %+v", made.Token)
	}
	e.fail(exitUsage, []string{`--ttl: must be a positive duration like 90m, 36h or 7d, got "soon"`}, "tokens", "create", "--admin", "--ttl", "soon")
	e.fail(exitUsage, []string{"--ttl: must be between 1m0s and"}, "tokens", "create", "--admin", "--ttl", "10s")
	if r := e.run("tokens", "create", "--admin", "--name", "forever"); r.code != 0 {
		t.Fatalf("tokens create: %s", r)
	}

	r := e.ok("tokens", "list")
	if !strings.Contains(r.stdout, "EXPIRES AT") || !strings.Contains(r.stdout, made.Token.ExpiresAt.UTC().Format("2006-01-02T15:04:05")) {
		t.Fatalf("tokens list shows no expiry: %s", r)
	}
	var soon page[sluice.Token]
	e.json(&soon, "tokens", "list", "--expiring-within", "31d")
	if len(soon.Items) != 1 || soon.Items[0].ID != made.Token.ID {
		t.Fatalf("tokens expiring within 31 days: %+v", soon)
	}
	e.json(&soon, "tokens", "list", "--expiring-within", "29d")
	if len(soon.Items) != 0 {
		t.Fatalf("tokens expiring within 29 days: %+v", soon)
	}

	// Rotation with a grace: both secrets work; the new one is the last line of stdout.
	id := made.Token.ID.String()
	r = e.run("tokens", "rotate", id, "--grace", "1h")
	if r.code != 0 || !strings.Contains(r.stderr, "The previous secret keeps working until") {
		t.Fatalf("tokens rotate --grace 1h: %s", r)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	fresh := lines[len(lines)-1]
	if !strings.HasPrefix(fresh, "sluice_") || fresh == made.Secret || !strings.Contains(r.stdout, "previous secret until") {
		t.Fatalf("tokens rotate --grace 1h: %s", r)
	}
	c := e.client()
	ctx := context.Background()
	for _, s := range []string{made.Secret, fresh} {
		if got, err := c.Authenticate(ctx, s); err != nil || got.ID != made.Token.ID {
			t.Fatalf("authenticating during the grace: %+v, %v", got, err)
		}
	}
	var rotated createdToken
	e.json(&rotated, "tokens", "rotate", id)
	if rotated.Token.ID != made.Token.ID || rotated.Token.Name != "ci" || rotated.Secret == fresh || rotated.Token.PreviousExpiresAt != nil {
		t.Fatalf("tokens rotate --json: %+v", rotated)
	}
	for _, s := range []string{made.Secret, fresh} {
		if _, err := c.Authenticate(ctx, s); !errors.Is(err, sluice.ErrUnauthorized) {
			t.Fatalf("a replaced secret after a rotation without grace: %v", err)
		}
	}
	if _, err := c.Authenticate(ctx, rotated.Secret); err != nil {
		t.Fatal(err)
	}
	e.fail(exitUsage, []string{`--grace: must be 0 or a positive duration like 90m, 36h or 7d, got "-1h"`}, "tokens", "rotate", id, "--grace", "-1h")
	e.fail(exitUsage, []string{"--grace: must be between 0 and 720h0m0s (30d), got 744h0m0s"}, "tokens", "rotate", id, "--grace", "31d")
	e.fail(exitRuntime, []string{"no token has the id 01938c5e-7a8b-7cde-8f01-23456789abcd"}, "tokens", "rotate", "01938c5e-7a8b-7cde-8f01-23456789abcd")
	e.ok("tokens", "revoke", id)
	e.fail(exitRuntime, []string{"the token is revoked: make a new one"}, "tokens", "rotate", id)
}
