package main

import (
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/testdb"
)

func TestFlagsBeforeAndAfterArguments(t *testing.T) {
	t.Parallel()
	e := setup(t)
	var app sluice.App
	e.json(&app, "apps", "create", "billing")
	var out enqueueOutput
	e.json(&out, "jobs", "enqueue", "--app", "billing", "--type", "t", "--payload", "{}")
	id := out.Job.ID.String()

	// The database URL from the flag, anywhere on the line, and no SLUICE_DATABASE_URL.
	for _, args := range [][]string{
		{"--database-url", e.url, "--json", "apps", "list"},
		{"apps", "--json", "list", "--database-url=" + e.url},
		{"apps", "list", "--json", "--database-url", e.url},
		{"--json", "jobs", "show", id, "--database-url", e.url},
		{"jobs", "show", "--json", "--database-url", e.url, id},
		{"jobs", "--database-url", e.url, "show", id, "--json"},
		{"--json", "dlq", "list", "--app=billing", "--database-url", e.url},
		{"dlq", "list", "--database-url", e.url, "--app", app.ID.String(), "--json", "--all"},
	} {
		r := run(t, "", "", args...)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("sluice %q: %s", args, r)
		}
		var v map[string]any
		decodeOne(t, r.stdout, &v)
	}

	// The flag wins over the environment.
	r := run(t, "postgres://nobody@127.0.0.1:1/nowhere", "", "apps", "list", "--database-url", e.url)
	if r.code != 0 || !strings.Contains(r.stdout, "billing") {
		t.Fatalf("--database-url over %s: %s", databaseURLEnv, r)
	}
}

func TestDatabaseURL(t *testing.T) {
	t.Parallel()
	checkFail(t, run(t, "mysql://u:p@localhost/db", "", "apps", "list", "--json"), exitUsage,
		[]string{"--database-url: must start with postgres://, postgresql:// or sqlite:, or be a file path"}, []string{"apps", "list", "--json"})

	// The password is never printed, whatever goes wrong.
	const secret = "s3cr3t-Pa55"
	for _, url := range []string{
		"postgres://postgres:" + secret + "@127.0.0.1:1/test?sslmode=disable&connect_timeout=5",
		"postgres://nobody:" + secret + "@127.0.0.1:5432/test?sslmode=disable",
		"postgresql://postgres@127.0.0.1:1/test?sslmode=disable&password=" + secret,
		"postgres://postgres:" + secret + "@127.0.0.1:notaport/test",
	} {
		for _, args := range [][]string{{"apps", "list"}, {"migrate", "up", "--json"}, {"dlq", "list", "--database-url", url}} {
			r := run(t, url, "", args...)
			if r.code == 0 || r.stdout != "" || strings.Contains(r.stderr, secret) || !strings.HasPrefix(r.stderr, "Error: ") {
				t.Fatalf("sluice %q on %s: %s", args, url, r)
			}
		}
	}
	r := run(t, "postgres://postgres:"+secret+"@127.0.0.1:1/test?sslmode=disable", "", "apps", "list")
	if r.code != exitRuntime || !strings.Contains(r.stderr, "cannot open the database at postgres://postgres:xxxxx@127.0.0.1:1/test") {
		t.Fatalf("the masked URL: %s", r)
	}
}

func TestCommandLineErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{}, {"dlq"}, {"jobs", "--help"}, {"help", "dlq", "purge"}} {
		if r := run(t, "", "", args...); r.code != 0 || !strings.Contains(r.stdout, "Usage:") {
			t.Fatalf("sluice %q: %s", args, r)
		}
	}
	if r := run(t, "", "", "--help"); !strings.Contains(r.stdout, "Exit status:") {
		t.Fatalf("the exit statuses are documented: %s", r)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bogus"}, `unknown command "bogus" for "sluice"`},
		{[]string{"dlq", "bogus"}, `unknown command "bogus" for "sluice dlq"`},
		{[]string{"apps", "list", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"tokens", "bogus"}, `unknown command "bogus" for "sluice tokens"`},
		{[]string{"dlq", "show"}, "dlq show takes ID, got 0 arguments"},
	} {
		r := checkFail(t, run(t, "", "", tc.args...), exitUsage, []string{tc.want}, tc.args)
		if !strings.Contains(r.stderr, "--help' for usage.") {
			t.Fatalf("sluice %q: a usage error points to --help: %s", tc.args, r)
		}
	}
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"2026-01-02T15:04:05Z", time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)},
		{"2026-01-02T15:04:05.123+02:00", time.Date(2026, 1, 2, 13, 4, 5, 123e6, time.UTC)},
		{"-2h", now.Add(-2 * time.Hour)},
		{"-30m", now.Add(-30 * time.Minute)},
		{"+1h30m", now.Add(90 * time.Minute)},
		{"-1d", now.AddDate(0, 0, -1)},
		{"-2d12h", now.Add(-60 * time.Hour)},
		{"+0d", now},
	} {
		got, err := parseTime("t", tc.in, now)
		if err != nil || !got.Equal(tc.want) || got.Location() != time.UTC {
			t.Errorf("parseTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "2h", "-", "+", "yesterday", "2026-01-02", "2026-01-02T15:04:05", "--2h", "-+2h", "-d", "-1.5d", "-1d-2h", "-+1d", "- 2h"} {
		if _, err := parseTime("run-at", in, now); err == nil || !strings.HasPrefix(err.Error(), "--run-at: must be an RFC 3339 time") {
			t.Errorf("parseTime(%q): want a --run-at error, got %v", in, err)
		}
	}
}

func TestMaskURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"postgres://u:secret@h:5432/db?sslmode=disable": "postgres://u:xxxxx@h:5432/db?sslmode=disable",
		"postgres://u@h/db?password=secret":             "postgres://u@h/db?password=xxxxx",
		"postgres://h/db":                               "postgres://h/db",
	} {
		if got := maskURL(in); got != want {
			t.Errorf("maskURL(%q) = %q, want %q", in, got, want)
		}
	}
	for _, tc := range []struct{ text, url, want string }{
		{"at postgres://u:p%40ss@h/db and u:p@ss@h", "postgres://u:p%40ss@h/db", "at postgres://u:xxxxx@h/db and u:xxxxx@h"},
		{"at postgres://u@h/db?password=p%26w&a=b", "postgres://u@h/db?password=p%26w", "at postgres://u@h/db?password=xxxxx&a=b"},
		{"bad URL postgres://u:s3cret@h:port/db", "postgres://u:s3cret@h:port/db", "bad URL postgres://u:xxxxx@h:port/db"},
		{"a short password p is not scrubbed from postgres://", "postgres://u:p@h/db", "a short password p is not scrubbed from postgres://"},
	} {
		if got := scrubPassword(tc.text, tc.url); got != tc.want {
			t.Errorf("scrubPassword(%q, %q) = %q, want %q", tc.text, tc.url, got, tc.want)
		}
	}
}

func TestNotMigrated(t *testing.T) {
	t.Parallel()
	e := &env{t: t, url: testdb.Postgres(t)}
	e.fail(exitRuntime, []string{"pending migrations: run 'sluice migrate up'"}, "apps", "create", "billing")
	e.ok("migrate", "up")
	e.ok("apps", "create", "billing")
}
