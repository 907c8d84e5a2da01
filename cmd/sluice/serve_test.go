package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/httpapi"
	"github.com/sluicehq/sluice/internal/testdb"
)

// backends are the stores the process tests run against; each returns a fresh database URL.
var backends = []struct {
	name string
	url  func(testing.TB) string
}{{"postgres", testdb.Postgres}, {"sqlite", testdb.SQLite}}

// forEachBackend runs fn as a parallel subtest per store, on a migrated database.
func forEachBackend(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			e := &env{t: t, url: b.url(t)}
			e.ok("migrate", "up")
			fn(t, e)
		})
	}
}

// lockedBuffer collects a running process's output.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends to the buffer.
func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// proc is the command running in the background.
type proc struct {
	t              *testing.T
	cmd            *exec.Cmd
	stdout, stderr lockedBuffer
	done           chan struct{}
	code           int
}

// start runs the command with args in the background on the database at url, in a directory
// of its own. It is killed when the test ends if it is still running.
func start(t *testing.T, url string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, cmd: exec.Command(binary, args...), done: make(chan struct{})}
	p.cmd.Dir = t.TempDir()
	p.cmd.Env = append(os.Environ(), databaseURLEnv+"="+url)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := p.cmd.Wait()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			p.code = -1
		} else {
			p.code = p.cmd.ProcessState.ExitCode()
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// waitStderr polls the process's stderr until re matches it, and returns the submatches.
func (p *proc) waitStderr(re *regexp.Regexp) []string {
	p.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if m := re.FindStringSubmatch(p.stderr.String()); m != nil {
			return m
		}
		select {
		case <-p.done:
			p.t.Fatalf("the process exited %d before stderr matched %s:\nstdout: %s\nstderr: %s", p.code, re, p.stdout.String(), p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("stderr did not match %s in time:\n%s", re, p.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop sends sig and returns the exit status once the process is gone.
func (p *proc) stop(sig os.Signal) int {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
	select {
	case <-p.done:
		return p.code
	case <-time.After(60 * time.Second):
		p.t.Fatalf("the process did not exit after %s:\n%s", sig, p.stderr.String())
		return 0
	}
}

// get makes a GET request with an optional bearer token and returns the status and body.
func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// lastLine is the last line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

var listening = regexp.MustCompile(`Listening on (http://\S+)`)

// TestServe runs `sluice serve` as a process: it starts, answers /healthz, an authenticated
// GET, the web UI and /metrics, refuses a request without a token, and exits 0 on SIGTERM.
func TestServe(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		e.ok("apps", "create", "billing")
		r := e.run("tokens", "create", "--admin")
		if r.code != 0 {
			t.Fatalf("tokens create: %s", r)
		}
		token := lastLine(r.stdout)

		p := start(t, e.url, "serve", "--addr", "127.0.0.1:0", "--json")
		base := p.waitStderr(listening)[1]
		if code, body := get(t, base+"/healthz", ""); code != 200 || body != `{"status":"ok"}`+"\n" {
			t.Fatalf("healthz: %d %s", code, body)
		}
		if code, body := get(t, base+"/v1/apps", token); code != 200 || !strings.Contains(body, `"name":"billing"`) {
			t.Fatalf("GET /v1/apps: %d %s", code, body)
		}
		if code, _ := get(t, base+"/v1/apps", ""); code != 401 {
			t.Fatalf("GET /v1/apps without a token: %d", code)
		}
		if code, body := get(t, base+"/", ""); code != 200 || !strings.Contains(body, "<html") {
			t.Fatalf("the web UI: %d %.200s", code, body)
		}
		if code, body := get(t, base+"/metrics", token); code != 200 || !strings.Contains(body, "sluice_") {
			t.Fatalf("/metrics: %d %.200s", code, body)
		}
		if code := p.stop(syscall.SIGTERM); code != 0 {
			t.Fatalf("serve exited %d on SIGTERM:\n%s", code, p.stderr.String())
		}
		var out serveOutput
		decodeOne(t, p.stdout.String(), &out)
		if out.URL != base || !strings.Contains(p.stderr.String(), "Stopped.") || strings.Contains(p.stderr.String(), token) {
			t.Fatalf("serve output: %+v\n%s", out, p.stderr.String())
		}
		if !strings.Contains(p.stderr.String(), `pattern="GET /v1/apps" status=200`) {
			t.Fatalf("no request log on stderr:\n%s", p.stderr.String())
		}
	})
}

func TestServeFailsClearly(t *testing.T) {
	t.Parallel()
	// An unmigrated database.
	url := testdb.Postgres(t)
	r := run(t, url, "", "serve", "--addr", "127.0.0.1:0")
	if r.code != exitRuntime || !strings.Contains(r.stderr, "sluice migrate up") {
		t.Fatalf("serve on an unmigrated database: %s", r)
	}
	// A port that is taken.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	e := setup(t)
	checkFail(t, run(t, e.url, "", "serve", "--addr", ln.Addr().String()), exitRuntime,
		[]string{"--addr: cannot listen on " + ln.Addr().String()}, []string{"serve"})
	checkFail(t, run(t, e.url, "", "serve", "extra"), exitUsage, []string{"unknown command"}, []string{"serve", "extra"})
	checkFail(t, run(t, e.url, "", "serve", "--addr", "8080"), exitUsage, []string{`--addr: must be host:port, like 127.0.0.1:8080 (port 0: any free port), got "8080"`}, []string{"serve"})
	checkFail(t, run(t, e.url, "", "demo", "--addr", "localhost"), exitUsage, []string{`--addr: must be host:port`}, []string{"demo"})
}

// TestTokens runs tokens create, list and revoke as processes.
func TestTokens(t *testing.T) {
	t.Parallel()
	e := setup(t)
	var billing sluice.App
	e.json(&billing, "apps", "create", "billing")
	cl := e.client()
	ctx := context.Background()
	tokenRE := regexp.MustCompile(`^sluice_[0-9a-f]{32}_[A-Za-z0-9_-]{43}$`)

	r := e.run("tokens", "create", "--admin", "--name", "ops")
	admin := lastLine(r.stdout)
	if r.code != 0 || !tokenRE.MatchString(admin) || !strings.Contains(r.stdout, "admin") || !strings.Contains(r.stderr, "shown this once") {
		t.Fatalf("tokens create --admin: %s", r)
	}
	adminTok, err := cl.Authenticate(ctx, admin)
	if err != nil || adminTok.Name != "ops" || adminTok.AppID != nil || adminTok.ReadOnly {
		t.Fatalf("the admin token: %v %+v", err, adminTok)
	}

	var created createdToken
	e.json(&created, "tokens", "create", "--app", "billing", "--read-only", "--name", "dash")
	appTok, err := cl.Authenticate(ctx, created.Secret)
	if err != nil || appTok.ID != created.Token.ID || created.Token.AppID == nil || *created.Token.AppID != billing.ID ||
		!created.Token.ReadOnly || created.Token.Name != "dash" || appTok.AppID == nil || !appTok.ReadOnly {
		t.Fatalf("tokens create --app --json: %v %+v", err, created)
	}

	r = e.ok("tokens", "list")
	for _, want := range []string{adminTok.ID.String(), appTok.ID.String(), "admin", "app billing", "read-only", "read-write", "active", "ops", "dash"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("tokens list lacks %q:\n%s", want, r.stdout)
		}
	}
	var list page[map[string]any]
	stderr := e.json(&list, "tokens", "list")
	raw := e.run("tokens", "list", "--json").stdout
	if len(list.Items) != 2 || stderr != "" || strings.Contains(raw, "sluice_") || strings.Contains(strings.ToLower(raw), "secret") || strings.Contains(strings.ToLower(raw), "hash") {
		t.Fatalf("tokens list --json: %s", raw)
	}

	r = e.ok("tokens", "revoke", adminTok.ID.String())
	if !strings.Contains(r.stdout, "Revoked token "+adminTok.ID.String()) {
		t.Fatalf("tokens revoke: %s", r)
	}
	if _, err := cl.Authenticate(ctx, admin); !errors.Is(err, sluice.ErrUnauthorized) {
		t.Fatalf("a revoked token authenticates: %v", err)
	}
	if r := e.ok("tokens", "list"); !strings.Contains(r.stdout, "revoked ") {
		t.Fatalf("tokens list after revoke: %s", r)
	}

	e.fail(exitRuntime, []string{"no token has the id"}, "tokens", "revoke", uuid.Must(uuid.NewV7()).String())
	e.fail(exitUsage, []string{`ID: must be a UUID, got "nope"`}, "tokens", "revoke", "nope")
	e.fail(exitUsage, []string{"exactly one of --admin and --app"}, "tokens", "create")
	e.fail(exitUsage, []string{"exactly one of --admin and --app"}, "tokens", "create", "--admin", "--app", "billing")
	e.fail(exitUsage, []string{`--app: no app has the id or name "nobody"`}, "tokens", "create", "--app", "nobody")
	e.fail(exitUsage, []string{"--name: must be at most 128 characters without control characters"}, "tokens", "create", "--admin", "--name", "a\nb")
	if n, err := cl.ListTokens(ctx); err != nil || len(n) != 2 {
		t.Fatalf("refused creates made tokens: %v %d", err, len(n))
	}
}

// TestReplayRaceAPIAndCLI replays one entry 20 times at once through the API and 5 times at
// once with `sluice dlq replay`: exactly one succeeds, every other attempt is a 409 or a
// non-zero exit saying it was already replayed, and exactly one job links back to the entry.
func TestReplayRaceAPIAndCLI(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		e.ok("apps", "create", "billing")
		d := e.deadLetter(failing("billing", "charge", "card declined"))[0]
		cl := e.client()
		ctx := context.Background()
		_, token, err := cl.CreateToken(ctx, sluice.TokenParams{Name: "racer"})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(httpapi.New(cl, httpapi.Options{}))
		defer srv.Close()

		type outcome struct {
			ok   bool
			text string
		}
		var (
			mu       sync.Mutex
			outcomes []outcome
			wg       sync.WaitGroup
		)
		record := func(o outcome) {
			mu.Lock()
			defer mu.Unlock()
			outcomes = append(outcomes, o)
		}
		begin := make(chan struct{})
		for range 20 {
			wg.Go(func() {
				<-begin
				req, _ := http.NewRequest("POST", srv.URL+"/v1/dlq/"+d.ID.String()+"/replay", nil)
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := srv.Client().Do(req)
				if err != nil {
					record(outcome{text: err.Error()})
					return
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				switch resp.StatusCode {
				case 200:
					record(outcome{ok: true})
				case 409:
					record(outcome{text: string(body)})
				default:
					record(outcome{text: "unexpected " + resp.Status + " " + string(body)})
				}
			})
		}
		for range 5 {
			cmd := exec.Command(binary, "dlq", "replay", d.ID.String())
			cmd.Dir = t.TempDir()
			cmd.Env = append(os.Environ(), databaseURLEnv+"="+e.url)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			wg.Go(func() {
				<-begin
				err := cmd.Run()
				var exit *exec.ExitError
				switch {
				case err == nil:
					record(outcome{ok: true})
				case errors.As(err, &exit) && exit.ExitCode() == exitRuntime:
					record(outcome{text: stderr.String()})
				default:
					record(outcome{text: "unexpected " + err.Error() + " " + stderr.String()})
				}
			})
		}
		close(begin)
		wg.Wait()
		wins := 0
		for _, o := range outcomes {
			if o.ok {
				wins++
			} else if !strings.Contains(o.text, "already replayed") {
				t.Errorf("a losing replay: %q", o.text)
			}
		}
		if len(outcomes) != 25 || wins != 1 {
			t.Fatalf("%d outcomes, %d successes; want 25 and exactly 1", len(outcomes), wins)
		}
		linked := 0
		opts := sluice.ListOptions{Limit: sluice.MaxPageSize}
		for {
			jobs, err := cl.ListJobs(ctx, sluice.JobFilter{}, opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range jobs.Items {
				if j.ReplayedFrom != nil && *j.ReplayedFrom == d.ID {
					linked++
				}
			}
			if jobs.NextCursor == "" {
				break
			}
			opts.Cursor = jobs.NextCursor
		}
		if linked != 1 {
			t.Fatalf("%d jobs replayed from the entry, want 1", linked)
		}
		audit, err := cl.ListAudit(ctx, sluice.ListOptions{})
		if err != nil || len(audit.Items) != 1 || audit.Items[0].Action != "dlq.replay" || audit.Items[0].Count != 1 {
			t.Fatalf("audit after the race: %v %+v", err, audit.Items)
		}
	})
}

// TestCLIAuditActor checks that replays and purges from the command line are audited as
// cli:<user>.
func TestCLIAuditActor(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.ok("apps", "create", "billing")
	entries := e.deadLetter(failing("billing", "charge", "declined"), failing("billing", "charge", "declined"))
	e.ok("dlq", "replay", entries[0].ID.String())
	e.ok("dlq", "replay", "--type", "charge")
	e.ok("dlq", "purge", "--replayed-only", "--all")
	audit, err := e.client().ListAudit(context.Background(), sluice.ListOptions{})
	if err != nil || len(audit.Items) != 3 {
		t.Fatalf("audit: %v %+v", err, audit.Items)
	}
	for _, a := range audit.Items {
		if a.Actor != cliActor() || !strings.HasPrefix(a.Actor, "cli:") || a.Actor == "cli:" {
			t.Fatalf("audit actor %q, want %q", a.Actor, cliActor())
		}
	}
}
