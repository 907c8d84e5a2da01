package main

import (
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/testdb"
	"github.com/sluicehq/sluice/store"
)

func TestMigrate(t *testing.T) {
	t.Parallel()
	e := &env{t: t, url: testdb.Postgres(t)}

	status := func() []store.Migration {
		var p page[store.Migration]
		e.json(&p, "migrate", "status")
		return p.Items
	}
	applied := func() (n int) {
		for _, m := range status() {
			if m.AppliedAt != nil {
				n++
			}
		}
		return n
	}

	all := status()
	if len(all) < 3 || all[0].Version != 1 || all[0].Name != "initial" || all[1].Name != "job_dlq" {
		t.Fatalf("status of a fresh schema: %+v", all)
	}
	if n := applied(); n != 0 {
		t.Fatalf("a fresh schema has %d migrations applied", n)
	}
	r := e.ok("migrate", "status")
	if !strings.Contains(r.stdout, "0002     job_dlq") || !strings.Contains(r.stdout, "pending") {
		t.Fatalf("human status: %s", r)
	}

	r = e.ok("migrate", "up")
	if !strings.Contains(r.stdout, "applied 0001_initial") || !strings.Contains(r.stdout, "applied 0002_job_dlq") {
		t.Fatalf("migrate up: %s", r)
	}
	if n := applied(); n != len(all) {
		t.Fatalf("after up, %d of %d applied", n, len(all))
	}
	if r := e.ok("migrate", "status"); strings.Contains(r.stdout, "pending") || !humanTime.MatchString(r.stdout) {
		t.Fatalf("human status after up: %s", r)
	}
	if r := e.ok("migrate", "up"); !strings.Contains(r.stdout, "Nothing to do") {
		t.Fatalf("second migrate up: %s", r)
	}

	// down without --to undoes exactly one version.
	r = e.ok("migrate", "down")
	if !strings.Contains(r.stdout, "undid "+migrationName(all[len(all)-1])) {
		t.Fatalf("migrate down: %s", r)
	}
	if n := applied(); n != len(all)-1 {
		t.Fatalf("after one down, %d applied, want %d", n, len(all)-1)
	}

	var res migrationResult
	if stderr := e.json(&res, "migrate", "down", "--to", "1"); !strings.Contains(stderr, "undid 0002_job_dlq") {
		t.Fatalf("progress belongs on stderr with --json: %q", stderr)
	}
	if res.Version != 1 || len(res.Undone) != len(all)-2 || res.Undone[len(res.Undone)-1].Version != 2 {
		t.Fatalf("migrate down --to 1: %+v", res)
	}
	if r := e.ok("migrate", "down", "--to", "5"); !strings.Contains(r.stdout, "Nothing to do") {
		t.Fatalf("down --to above the current version: %s", r)
	}
	e.fail(exitUsage, []string{"--to: must be 0 or more, got -1"}, "migrate", "down", "--to", "-1")
	e.fail(exitUsage, []string{`unknown command "2"`}, "migrate", "down", "2")

	if e.json(&res, "migrate", "up"); res.Version != len(all) || len(res.Applied) != len(all)-1 {
		t.Fatalf("migrate up --json: %+v", res)
	}
	if e.json(&res, "migrate", "down", "--to", "0"); res.Version != 0 || len(res.Undone) != len(all) {
		t.Fatalf("migrate down --to 0: %+v", res)
	}
	if r := e.ok("migrate", "down"); !strings.Contains(r.stdout, "Nothing to do") {
		t.Fatalf("down with nothing applied: %s", r)
	}
}
