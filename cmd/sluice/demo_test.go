package main

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice"
)

func TestEmbeddedDefaultDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := runIn(t, dir, "", "", "apps", "create", "first")
	// Every migration there is: the count grows with the schema.
	if r.code != 0 || !regexp.MustCompile(`Created \./sluice\.db \(SQLite\) and applied [1-9][0-9]* migrations\.`).MatchString(r.stderr) {
		t.Fatalf("first command on a new directory: %s", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "sluice.db")); err != nil {
		t.Fatal(err)
	}
	r = runIn(t, dir, "", "", "apps", "list", "--json")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("second command: %s", r)
	}
	var page sluice.Page[sluice.App]
	decodeOne(t, r.stdout, &page)
	if len(page.Items) != 1 || page.Items[0].Name != "first" {
		t.Fatalf("apps in ./sluice.db: %+v", page.Items)
	}
	r = runIn(t, dir, "", "", "migrate", "status", "--json")
	if r.code != 0 || strings.Contains(r.stdout, "null") {
		t.Fatalf("migrate status: %s", r)
	}
}

func TestDemoRunsAndLeavesTheDatabaseForTheDLQ(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := runIn(t, dir, "", "", "demo", "--duration", "3s", "--addr", "off")
	if r.code != 0 {
		t.Fatalf("demo: %s", r)
	}
	for _, want := range []string{"acme", "globex", "initech", "email.send", "image.resize", "invoice.charge", "DEAD", "sluice dlq list"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("demo output lacks %q: %s", want, r)
		}
	}
	if strings.Contains(r.stdout, "\x1b[") {
		t.Fatalf("demo drew terminal escapes into a pipe: %q", r.stdout)
	}
	// invoice.charge always fails with two attempts 100ms apart, and the first batch holds one
	// of every app and type: its entries are there long before three seconds pass.
	r = runIn(t, dir, "", "", "dlq", "list", "--type", "invoice.charge", "--json")
	var page sluice.Page[sluice.DeadJob]
	decodeOne(t, r.stdout, &page)
	if r.code != 0 || len(page.Items) < 3 {
		t.Fatalf("dlq list after the demo: %d entries: %s", len(page.Items), r)
	}
	for _, d := range page.Items {
		if d.Attempts != 2 || len(d.ErrorHistory) != 2 || !strings.Contains(d.LastError(), "card declined") {
			t.Fatalf("entry %+v", d)
		}
	}

	// A second run reuses the database; --json prints only the final counts.
	r = runIn(t, dir, "", "", "demo", "--duration", "1s", "--json", "--addr", "127.0.0.1:0")
	var rows []demoRow
	decodeOne(t, r.stdout, &rows)
	if r.code != 0 || len(rows) != 9 || !strings.Contains(r.stderr, "Web UI: http://127.0.0.1:") {
		t.Fatalf("demo --json: %d rows: %s", len(rows), r)
	}
}

func TestDemoOnPostgres(t *testing.T) {
	t.Parallel()
	e := setup(t)
	r := run(t, e.url, "", "demo", "--duration", "1s", "--rate", "50", "--addr", "off")
	if r.code != 0 || !strings.Contains(r.stdout, "invoice.charge") {
		t.Fatalf("demo on PostgreSQL: %s", r)
	}
	checkFail(t, run(t, e.url, "", "demo", "--rate", "0"), exitUsage, []string{"--rate: must be between 1 and 10000"}, []string{"demo", "--rate", "0"})
}

// TestDemoServesTheUIAndAPI runs the demo as a process: while it runs, the web UI and the API
// answer on --addr with the token it prints, and the token dies with the demo.
func TestDemoServesTheUIAndAPI(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p := start(t, e.url, "demo", "--duration", "5m", "--addr", "127.0.0.1:0")
	m := p.waitStderr(regexp.MustCompile(`Web UI: (http://127\.0\.0\.1:\d+)  \(token: (sluice_\S+)\)`))
	base, token := m[1], m[2]
	if code, body := get(t, base+"/", ""); code != 200 || !strings.Contains(body, "<html") {
		t.Fatalf("the demo's web UI: %d %.200s", code, body)
	}
	// Dead-letter entries appear within seconds.
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, body := get(t, base+"/v1/dlq?type=invoice.charge", token)
		if code != 200 {
			t.Fatalf("the demo's API: %d %s", code, body)
		}
		if strings.Contains(body, `"originalJobId"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no dead-letter entry through the demo's API: %s", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code := p.stop(os.Interrupt); code != 0 {
		t.Fatalf("demo exited %d on Ctrl-C:\n%s", code, p.stderr.String())
	}
	ctx := context.Background()
	if _, err := e.client().Authenticate(ctx, token); !errors.Is(err, sluice.ErrUnauthorized) {
		t.Fatalf("the demo's token outlives it: %v", err)
	}

	// A port that is taken: the demo says so and runs without serving.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r := run(t, e.url, "", "demo", "--duration", "1s", "--addr", ln.Addr().String())
	if r.code != 0 || !strings.Contains(r.stderr, "Web UI: not served: cannot listen on "+ln.Addr().String()) {
		t.Fatalf("demo on a taken port: %s", r)
	}
}
