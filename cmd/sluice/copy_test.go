package main

import (
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/testdb"
	"github.com/sluicehq/sluice/store/storecopy"
)

// TestMigrateCopy moves the demo's SQLite database into a fresh PostgreSQL schema with
// `sluice migrate copy`, checks that the copy answers the CLI as the original does, that a
// second copy into it is refused, and copies it back into SQLite with --json.
func TestMigrateCopy(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lite := "sqlite:" + filepath.Join(dir, "demo.db")
	if r := run(t, lite, "", "demo", "--duration", "3s", "--addr", "off"); r.code != 0 {
		t.Fatalf("demo: %s", r)
	}
	src := &env{t: t, url: lite}
	if r := src.run("tokens", "create", "--admin", "--name", "ops"); r.code != 0 {
		t.Fatalf("tokens create: %s", r)
	}
	dst := &env{t: t, url: testdb.Postgres(t)}

	r := dst.run("migrate", "copy", "--from", lite, "--to", dst.url, "--batch-size", "7")
	if r.code != 0 || !strings.Contains(r.stderr, "copied jobs") || !strings.Contains(r.stderr, "copied job_dlq") {
		t.Fatalf("migrate copy: %s", r)
	}
	for _, want := range []string{"TABLE", "api_tokens", "verified every row", "schema version"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("migrate copy's output lacks %q: %s", want, r)
		}
	}
	for _, args := range [][]string{
		{"dlq", "list", "--all", "--limit", "1000"},
		{"jobs", "list", "--limit", "1000"},
		{"apps", "list"},
		{"tokens", "list"},
	} {
		var a, b any
		src.json(&a, args...)
		dst.json(&b, args...)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("sluice %q differs after the copy:\nsqlite:   %v\npostgres: %v", args, a, b)
		}
	}

	dst.fail(exitUsage, []string{"--to: holds rows in table"}, "migrate", "copy", "--from", lite, "--to", dst.url)
	dst.fail(exitUsage, []string{"--from: is required"}, "migrate", "copy", "--to", dst.url)
	dst.fail(exitUsage, []string{"--batch-size: must be between 1 and 10000"}, "migrate", "copy", "--from", lite, "--to", dst.url, "--batch-size", "0")
	dst.fail(exitUsage, []string{"--to: "}, "migrate", "copy", "--from", lite, "--to", "mysql://x")
	r = dst.fail(exitRuntime, []string{"cannot open the --to store at postgres://u:xxxxx@127.0.0.1:1/db"},
		"migrate", "copy", "--from", lite, "--to", "postgres://u:hunter22@127.0.0.1:1/db")
	if strings.Contains(r.stderr, "hunter22") {
		t.Fatalf("the password shows: %s", r)
	}

	var report storecopy.Report
	stderr := dst.json(&report, "migrate", "copy", "--from", dst.url, "--to", "sqlite:"+filepath.Join(dir, "back.db"))
	if report.Rows == 0 || len(report.Tables) < 8 || !strings.Contains(stderr, "copied jobs") {
		t.Fatalf("copy back: %+v\n%s", report, stderr)
	}
}

// TestMaskListenURL: the password of pgstore's listen_url, a URL inside the URL, is masked too.
func TestMaskListenURL(t *testing.T) {
	t.Parallel()
	raw := "postgres://u:outer@bouncer:6432/db?pgbouncer=true&listen_url=" + url.QueryEscape("postgres://u:inner@db:5432/db")
	masked := maskURL(raw)
	if strings.Contains(masked, "outer") || strings.Contains(masked, "inner") || !strings.Contains(masked, "listen_url=") {
		t.Fatalf("maskURL: %s", masked)
	}
	if s := scrubPassword("dial postgres://u:inner@db:5432/db failed", raw); strings.Contains(s, "inner") {
		t.Fatalf("scrubPassword: %s", s)
	}
}
