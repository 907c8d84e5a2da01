package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice"
)

func TestJobsEnqueue(t *testing.T) {
	t.Parallel()
	e := setup(t)
	var app sluice.App
	e.json(&app, "apps", "create", "billing")

	r := e.ok("jobs", "enqueue", "--app", "billing", "--type", "email.send", "--payload", `{"to":"a@example.com"}`)
	for _, want := range []string{"type:", "email.send", "status:", "pending", "attempts:", "0 of 25", "(billing)", `"to": "a@example.com"`} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("jobs enqueue: stdout lacks %q: %s", want, r)
		}
	}
	if !humanTime.MatchString(r.stdout) {
		t.Fatalf("jobs enqueue: no millisecond UTC time: %s", r)
	}

	// Every flag, and the app by id.
	runAt := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	var out enqueueOutput
	e.json(&out, "jobs", "enqueue", "--app", app.ID.String(), "--type", "report.build", "--payload", `[1,2,3]`,
		"--queue", "reports", "--priority", "-5", "--max-attempts", "3", "--run-at", runAt.Format(time.RFC3339), "--unique-key", "k1")
	j := out.Job
	if out.Duplicate || j.AppID != app.ID || j.Type != "report.build" || j.Queue != "reports" || j.Priority != -5 ||
		j.MaxAttempts != 3 || !j.RunAt.Equal(runAt) || j.UniqueKey != "k1" || compact(t, j.Payload) != "[1,2,3]" {
		t.Fatalf("jobs enqueue --json: %+v", out)
	}

	// The same unique key returns the live job and says so on stderr.
	var dup enqueueOutput
	stderr := e.json(&dup, "jobs", "enqueue", "--app", "billing", "--type", "report.build", "--payload", `{}`, "--unique-key", "k1")
	if !dup.Duplicate || dup.Job.ID != j.ID || !strings.Contains(stderr, `unique key "k1"`) {
		t.Fatalf("duplicate enqueue: %+v, stderr %q", dup, stderr)
	}

	// A relative --run-at counts from now.
	before := time.Now()
	e.json(&out, "jobs", "enqueue", "--app", "billing", "--type", "later", "--payload", `{}`, "--run-at", "+1d2h")
	if want := before.Add(26 * time.Hour); out.Job.RunAt.Before(want.Add(-time.Minute)) || out.Job.RunAt.After(want.Add(time.Minute)) {
		t.Fatalf("--run-at +1d2h gave %s, want about %s", out.Job.RunAt, want)
	}

	// The payload from a file and from stdin.
	file := filepath.Join(t.TempDir(), "payload.json")
	if err := os.WriteFile(file, []byte(`{"from":"file"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	e.json(&out, "jobs", "enqueue", "--app", "billing", "--type", "t", "--payload", "@"+file)
	if compact(t, out.Job.Payload) != `{"from":"file"}` {
		t.Fatalf("--payload @FILE: %s", out.Job.Payload)
	}
	r = run(t, e.url, `{"from":"stdin"}`, "jobs", "enqueue", "--app", "billing", "--type", "t", "--payload", "-", "--json")
	decodeOne(t, r.stdout, &out)
	if r.code != 0 || compact(t, out.Job.Payload) != `{"from":"stdin"}` {
		t.Fatalf("--payload -: %s", r)
	}
}

func TestJobsEnqueueRejects(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.ok("apps", "create", "billing")
	big := filepath.Join(t.TempDir(), "big.json")
	if err := os.WriteFile(big, []byte(`{"a":"`+strings.Repeat("x", 1<<20)+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		code int
		args []string // after --app billing --type t --payload {}
		want string
	}{
		{"bad JSON", exitUsage, []string{"--payload", `{"a":`}, "--payload: is not valid JSON"},
		{"NUL", exitUsage, []string{"--payload", `{"a":"\u0000"}`}, `--payload: contains a NUL character (\u0000)`},
		{"duplicate key", exitUsage, []string{"--payload", `{"a":1,"a":2}`}, `--payload: has the key "a" twice`},
		{"not a container", exitUsage, []string{"--payload", `"text"`}, "--payload: must be a JSON object or array"},
		{"oversize", exitUsage, []string{"--payload", "@" + big}, "--payload: is 1048584 bytes, more than the 1048576-byte (1 MiB) limit"},
		{"missing file", exitUsage, []string{"--payload", "@" + big + ".missing"}, "--payload: cannot read the file"},
		{"unknown app", exitUsage, []string{"--app", "nope"}, `--app: no app has the id or name "nope"`},
		{"unknown app id", exitUsage, []string{"--app", "0190a5a4-0000-7000-8000-000000000000"}, "--app: no app has the id or name"},
		{"empty type", exitUsage, []string{"--type", ""}, "--type: is required"},
		{"bad type", exitUsage, []string{"--type", "a b"}, "--type: must be printable ASCII"},
		{"bad queue", exitUsage, []string{"--queue", "q\x7f"}, "--queue: must be printable ASCII"},
		{"max-attempts 0", exitUsage, []string{"--max-attempts", "0"}, "--max-attempts: must be between 1 and 1000, got 0"},
		{"max-attempts 1001", exitUsage, []string{"--max-attempts", "1001"}, "--max-attempts: must be between 1 and 1000, got 1001"},
		{"max-attempts text", exitUsage, []string{"--max-attempts", "many"}, `invalid argument "many" for "--max-attempts"`},
		{"priority 101", exitUsage, []string{"--priority", "101"}, "--priority: must be between -100 and 100, got 101"},
		{"bad run-at", exitUsage, []string{"--run-at", "tomorrow"}, `--run-at: must be an RFC 3339 time`},
		{"run-at without zone", exitUsage, []string{"--run-at", "2026-01-02T15:04:05"}, `--run-at: must be an RFC 3339 time`},
		{"run-at too late", exitUsage, []string{"--run-at", "+3000000d"}, "--run-at: must be between"},
		{"long unique key", exitUsage, []string{"--unique-key", strings.Repeat("k", 256)}, "--unique-key: must be at most 255 characters"},
		{"unknown flag", exitUsage, []string{"--colour", "red"}, "unknown flag: --colour"},
		{"argument", exitUsage, []string{"extra"}, `unknown command "extra" for "sluice jobs enqueue"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A flag given twice takes its last value, so tc.args override these.
			args := append([]string{"jobs", "enqueue", "--app", "billing", "--type", "t", "--payload", "{}"}, tc.args...)
			r := checkFail(t, e.run(args...), tc.code, []string{tc.want}, args)
			if !strings.HasPrefix(r.stderr, "Error: ") {
				t.Fatalf("errors start with \"Error: \": %s", r)
			}
		})
	}
	e.fail(exitUsage, []string{`required flag(s) "payload", "type" not set`}, "jobs", "enqueue", "--app", "billing")

	// Nothing was inserted by any of them.
	var jobs page[sluice.Job]
	e.json(&jobs, "jobs", "list", "--limit", "1000")
	if len(jobs.Items) != 0 {
		t.Fatalf("rejected enqueues inserted %d jobs", len(jobs.Items))
	}
}

func TestJobsListAndShow(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.ok("apps", "create", "billing")
	e.ok("apps", "create", "search")
	var ids []string // oldest first
	for i, typ := range []string{"a", "b", "a", "b", "a"} {
		app := "billing"
		if i == 4 {
			app = "search"
		}
		var out enqueueOutput
		e.json(&out, "jobs", "enqueue", "--app", app, "--type", typ, "--payload", `{"i":1}`)
		ids = append(ids, out.Job.ID.String())
	}

	// Walk every page of two: each job once, newest first.
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		args := []string{"jobs", "list", "--limit", "2"}
		if cursor != "" {
			args = append(args, "--cursor", cursor)
		}
		var p page[sluice.Job]
		e.json(&p, args...)
		for _, j := range p.Items {
			seen = append(seen, j.ID.String())
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	if want := []string{ids[4], ids[3], ids[2], ids[1], ids[0]}; strings.Join(seen, " ") != strings.Join(want, " ") {
		t.Fatalf("paged walk:\n got %v\nwant %v", seen, want)
	}

	// The human listing: a table on stdout, the next cursor on stderr.
	r := e.run("jobs", "list", "--limit", "2")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[1], ids[4]) ||
		!strings.Contains(lines[1], "search") || !humanTime.MatchString(lines[1]) {
		t.Fatalf("jobs list: %s", r)
	}
	m := cursorHint.FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("jobs list: no cursor hint on stderr: %s", r)
	}
	r = e.run("jobs", "list", "--limit", "2", "--cursor", m[1])
	if r.code != 0 || !strings.Contains(r.stdout, ids[2]) || !strings.Contains(r.stdout, ids[1]) || strings.Contains(r.stdout, ids[3]) {
		t.Fatalf("second page: %s", r)
	}
	if r := e.ok("jobs", "list", "--limit", "5"); strings.Contains(r.stderr, "--cursor") {
		t.Fatalf("the last page has no cursor hint: %s", r)
	}

	// A cursor belongs to its filter.
	e.fail(exitUsage, []string{"--cursor: belongs to a listing with a different filter"}, "jobs", "list", "--type", "a", "--cursor", m[1])
	e.fail(exitUsage, []string{"--cursor: is not a cursor this listing issued"}, "jobs", "list", "--cursor", "nonsense")
	e.fail(exitUsage, []string{"--limit: must be between 1 and 1000, got 0"}, "jobs", "list", "--limit", "0")
	e.fail(exitUsage, []string{"--limit: must be between 1 and 1000, got 1001"}, "jobs", "list", "--limit", "1001")
	e.fail(exitUsage, []string{`--status: must be one of pending, running, completed, cancelled, got "done"`}, "jobs", "list", "--status", "done")
	e.fail(exitUsage, []string{`--app: no app has the id or name "nope"`}, "jobs", "list", "--app", "nope")

	// Filters.
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--type", "a"}, []string{ids[4], ids[2], ids[0]}},
		{[]string{"--app", "billing", "--type", "a"}, []string{ids[2], ids[0]}},
		{[]string{"--app", "search", "--status", "pending"}, []string{ids[4]}},
		{[]string{"--status", "completed"}, nil},
	} {
		var p page[sluice.Job]
		e.json(&p, append([]string{"jobs", "list"}, tc.args...)...)
		var got []string
		for _, j := range p.Items {
			got = append(got, j.ID.String())
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Fatalf("jobs list %q: got %v, want %v", tc.args, got, tc.want)
		}
	}
	if r := e.ok("jobs", "list", "--status", "running"); r.stdout != "No jobs.\n" {
		t.Fatalf("empty listing: %s", r)
	}

	// show, human and JSON.
	r = e.ok("jobs", "show", ids[4])
	for _, want := range []string{"id:", ids[4], "(search)", "status:", "pending", `"i": 1`, "error history:"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("jobs show: stdout lacks %q: %s", want, r)
		}
	}
	var job sluice.Job
	e.json(&job, "jobs", "show", ids[4])
	if job.ID.String() != ids[4] || job.Type != "a" || job.Status != sluice.StatusPending {
		t.Fatalf("jobs show --json: %+v", job)
	}
	e.fail(exitRuntime, []string{"no job has the id 0190a5a4-0000-7000-8000-000000000000"}, "jobs", "show", "0190a5a4-0000-7000-8000-000000000000")
	e.fail(exitUsage, []string{`ID: must be a UUID, got "42"`}, "jobs", "show", "42")
	e.fail(exitUsage, []string{"jobs show takes ID, got 0 arguments"}, "jobs", "show")
}
