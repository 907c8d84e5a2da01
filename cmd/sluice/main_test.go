package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/testdb"
)

// binary is the sluice command built once for all tests, which run it as a process.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "sluice")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building sluice: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		// The in-process tests (serve's, the fuzz targets') must leave no goroutine behind.
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// result is what one run of the command did.
type result struct {
	code           int
	stdout, stderr string
}

// String shows the whole result, for test failures.
func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s--- stderr:\n%s", r.code, r.stdout, r.stderr)
}

// run runs the command with args, SLUICE_DATABASE_URL set to url (unset when url is ""),
// and stdin as its input, in a directory of its own.
func run(t *testing.T, url, stdin string, args ...string) result {
	t.Helper()
	return runIn(t, t.TempDir(), url, stdin, args...)
}

// runIn is run in the directory dir, where a command without a database URL finds or
// makes ./sluice.db.
func runIn(t *testing.T, dir, url, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, databaseURLEnv+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if url != "" {
		cmd.Env = append(cmd.Env, databaseURLEnv+"="+url)
	}
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running sluice %q: %v", args, err)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

// env is one test's database (a fresh, migrated schema) and the ways to run the command on it.
type env struct {
	t   *testing.T
	url string
}

// setup gives the test a fresh schema, migrated with `sluice migrate up`.
func setup(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, url: testdb.Postgres(t)}
	e.ok("migrate", "up")
	return e
}

// run runs the command on the test's database.
func (e *env) run(args ...string) result {
	e.t.Helper()
	return run(e.t, e.url, "", args...)
}

// ok runs the command and fails the test unless it exits 0 with nothing on stderr.
func (e *env) ok(args ...string) result {
	e.t.Helper()
	r := e.run(args...)
	if r.code != 0 || r.stderr != "" {
		e.t.Fatalf("sluice %q: want exit 0 and an empty stderr, got %s", args, r)
	}
	return r
}

// fail runs the command and fails the test unless it exits with code, prints nothing on
// stdout, and says on stderr each of the wanted texts.
func (e *env) fail(code int, want []string, args ...string) result {
	e.t.Helper()
	return checkFail(e.t, e.run(args...), code, want, args)
}

func checkFail(t *testing.T, r result, code int, want []string, args []string) result {
	t.Helper()
	if r.code != code || r.stdout != "" {
		t.Fatalf("sluice %q: want exit %d and an empty stdout, got %s", args, code, r)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Fatalf("sluice %q: stderr lacks %q: %s", args, w, r)
		}
	}
	return r
}

// json runs the command with --json, checks that it exits 0 and that stdout is exactly one
// JSON document, and decodes that into v. It returns stderr.
func (e *env) json(v any, args ...string) string {
	e.t.Helper()
	r := e.run(append(args, "--json")...)
	if r.code != 0 {
		e.t.Fatalf("sluice %q --json: %s", args, r)
	}
	decodeOne(e.t, r.stdout, v)
	return r.stderr
}

// decodeOne decodes s into v and fails the test unless s is exactly one JSON document.
func decodeOne(t *testing.T, s string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, s)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		t.Fatalf("stdout holds more than one JSON document (%v):\n%s", err, s)
	}
}

// compact returns raw JSON without insignificant white space.
func compact(t *testing.T, raw []byte) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatalf("not JSON: %v: %s", err, raw)
	}
	return b.String()
}

// client opens a Go API client on the test's database, closed when the test ends.
func (e *env) client() *sluice.Client {
	e.t.Helper()
	ctx := context.Background()
	c, err := sluice.Open(ctx, e.url, &sluice.Config{PollInterval: 20 * time.Millisecond})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close(ctx) })
	return c
}

// failArgs is the payload of the jobs deadLetter makes: the handler fails with Err.
type failArgs struct {
	Err string `json:"err"`
}

// deadLetter runs jobs through a worker whose handlers always fail, with one attempt each, and
// returns once every one of them is in the dead-letter queue: the entries, newest first.
func (e *env) deadLetter(jobs ...sluice.NewJob) []sluice.DeadJob {
	e.t.Helper()
	ctx := context.Background()
	c := e.client()
	fail := func(_ context.Context, _ *sluice.Job, a failArgs) error { return errors.New(a.Err) }
	types := map[string]bool{}
	for _, j := range jobs {
		if !types[j.Type] {
			types[j.Type] = true
			sluice.Handle(c, j.Type, fail, &sluice.TypeOptions{MaxAttempts: 1})
		}
	}
	before := e.deadCount(c)
	if err := c.Start(ctx); err != nil {
		e.t.Fatal(err)
	}
	defer c.Stop(ctx)
	if _, err := c.EnqueueMany(ctx, jobs); err != nil {
		e.t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for e.deadCount(c) < before+len(jobs) {
		if time.Now().After(deadline) {
			e.t.Fatalf("the jobs did not reach the dead-letter queue in time: %d of %d", e.deadCount(c)-before, len(jobs))
		}
		time.Sleep(20 * time.Millisecond)
	}
	page, err := c.DLQ().List(ctx, sluice.Filter{}, sluice.ListOptions{Limit: len(jobs), All: true})
	if err != nil {
		e.t.Fatal(err)
	}
	return page.Items
}

// deadCount counts every dead-letter entry, replayed or not.
func (e *env) deadCount(c *sluice.Client) int {
	e.t.Helper()
	n := 0
	opts := sluice.ListOptions{Limit: sluice.MaxPageSize, All: true}
	for {
		page, err := c.DLQ().List(context.Background(), sluice.Filter{}, opts)
		if err != nil {
			e.t.Fatal(err)
		}
		n += len(page.Items)
		if page.NextCursor == "" {
			return n
		}
		opts.Cursor = page.NextCursor
	}
}

// failing is a job for deadLetter: of app and type, failing with errText.
func failing(app, jobType, errText string) sluice.NewJob {
	return sluice.NewJob{App: app, Type: jobType, Payload: failArgs{Err: errText}}
}

// humanTime matches a time in human output: RFC 3339, UTC, milliseconds.
var humanTime = regexp.MustCompile(`\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\b`)

// page is a listing's JSON.
type page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor"`
}

// resumeHint finds the flags a listing's next-page hint on stderr says to repeat.
var resumeHint = regexp.MustCompile(`repeat with (.*)`)

// cursorHint finds the next-page cursor a human listing printed on stderr.
var cursorHint = regexp.MustCompile(`--cursor (\S+)`)
