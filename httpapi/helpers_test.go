package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/goleak"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/testdb"
	"github.com/sluicehq/sluice/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// backends are the stores every test runs against; each returns a fresh database URL.
var backends = []struct {
	name string
	url  func(testing.TB) string
}{{"postgres", testdb.Postgres}, {"sqlite", testdb.SQLite}}

// forEachBackend runs fn as a parallel subtest per store.
func forEachBackend(t *testing.T, fn func(t *testing.T, dbURL string)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			fn(t, b.url(t))
		})
	}
}

// bundle is one test's world: a migrated database with two apps (acme, globex), a job and
// dead-letter entries in each, tokens of every kind, and the API served over a real listener.
type bundle struct {
	t      *testing.T
	ctx    context.Context
	url    string
	client *sluice.Client
	srv    *httptest.Server
	log    *syncBuffer

	acme, globex   sluice.App
	acmeJob        sluice.Job
	globexJob      sluice.Job
	acmeEntries    []sluice.DeadJob // newest first
	globexEntries  []sluice.DeadJob // newest first
	admin, adminRO string           // token strings
	acmeTok        string
	acmeRO         string
	globexTok      string
	revoked        string
	adminID        uuid.UUID
	secrets        []string // every token string, which must never reach the log
	// walkReplays are acme's replay operations the route walk's samples name.
	walkReplays map[string]string
	// walkPolicy and walkReport are an acme retention policy and trim report for the walk.
	walkPolicy, walkReport string
	// walkSchedule is an acme periodic schedule for the walk.
	walkSchedule string
	// walkJobs are acme's pending jobs the walk's job changes name, by change.
	walkJobs map[string]string
}

// fastConfig keeps the test worker's waits short; correctness never depends on it.
func fastConfig() *sluice.Config {
	return &sluice.Config{PollInterval: 20 * time.Millisecond, RescueInterval: 50 * time.Millisecond, LeaseDuration: 5 * time.Second}
}

// setup builds the bundle on the database at url, serving New(client, opts) (its Logger is
// replaced by one writing to b.log).
func setup(t *testing.T, url string, opts Options) *bundle {
	t.Helper()
	ctx := context.Background()
	c, err := sluice.Open(ctx, url, fastConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	if _, err := c.Store().MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	b := &bundle{t: t, ctx: ctx, url: url, client: c, log: &syncBuffer{}}
	b.acme = b.must(c.CreateApp(ctx, "acme"))
	b.globex = b.must(c.CreateApp(ctx, "globex"))
	entries := b.deadLetter(
		failing("acme", "email.send", "smtp: connection refused"),
		failing("globex", "email.send", "smtp: connection refused"),
		failing("acme", "email.send", "smtp: timeout after 30s"),
		failing("globex", "sms.send", "gateway said no"),
		failing("acme", "sms.send", "gateway said no"),
	)
	for _, e := range entries {
		if e.AppID == b.acme.ID {
			b.acmeEntries = append(b.acmeEntries, e)
		} else {
			b.globexEntries = append(b.globexEntries, e)
		}
	}
	// Jobs of a type no worker handles stay pending.
	b.acmeJob = b.enqueue(sluice.NewJob{App: "acme", Type: "report.build", Payload: map[string]int{"n": 1}}).Job
	b.globexJob = b.enqueue(sluice.NewJob{App: "globex", Type: "report.build", Payload: map[string]int{"n": 2}}).Job

	var tok sluice.Token
	tok, b.admin = b.token(sluice.TokenParams{Name: "admin"})
	b.adminID = tok.ID
	_, b.adminRO = b.token(sluice.TokenParams{Name: "admin-ro", ReadOnly: true})
	_, b.acmeTok = b.token(sluice.TokenParams{Name: "acme", App: "acme"})
	_, b.acmeRO = b.token(sluice.TokenParams{Name: "acme-ro", App: "acme", ReadOnly: true})
	_, b.globexTok = b.token(sluice.TokenParams{Name: "globex", App: "globex"})
	rt, revoked := b.token(sluice.TokenParams{Name: "revoked"})
	if err := c.RevokeToken(ctx, rt.ID); err != nil {
		t.Fatal(err)
	}
	b.revoked = revoked

	opts.Logger = slog.New(slog.NewTextHandler(b.log, nil))
	b.srv = httptest.NewServer(New(c, opts))
	t.Cleanup(b.srv.Close)
	t.Cleanup(func() {
		for _, s := range b.secrets {
			if strings.Contains(b.log.String(), s) {
				t.Errorf("a token secret reached the log")
			}
		}
	})
	return b
}

// must returns v, failing the test on err.
func (b *bundle) must(v sluice.App, err error) sluice.App {
	b.t.Helper()
	if err != nil {
		b.t.Fatal(err)
	}
	return v
}

// token makes a token and remembers its secret.
func (b *bundle) token(p sluice.TokenParams) (sluice.Token, string) {
	b.t.Helper()
	tok, secret, err := b.client.CreateToken(b.ctx, p)
	if err != nil {
		b.t.Fatal(err)
	}
	b.secrets = append(b.secrets, secret)
	return tok, secret
}

// enqueue enqueues one job through the Go API.
func (b *bundle) enqueue(j sluice.NewJob) sluice.EnqueueResult {
	b.t.Helper()
	res, err := b.client.Enqueue(b.ctx, j)
	if err != nil {
		b.t.Fatal(err)
	}
	return res
}

// failArgs is the payload of the jobs deadLetter runs: the handler fails with Err.
type failArgs struct {
	Err string `json:"err"`
}

// failing is a job of app and type whose handler fails with errText.
func failing(app, jobType, errText string) sluice.NewJob {
	return sluice.NewJob{App: app, Type: jobType, Payload: failArgs{Err: errText}}
}

// deadLetter runs the jobs through a worker whose handlers always fail, one attempt each, and
// returns once all are in the dead-letter queue: the entries, newest first.
func (b *bundle) deadLetter(jobs ...sluice.NewJob) []sluice.DeadJob {
	b.t.Helper()
	w, err := sluice.Open(b.ctx, b.url, fastConfig())
	if err != nil {
		b.t.Fatal(err)
	}
	defer w.Close(b.ctx)
	fail := func(_ context.Context, _ *sluice.Job, a failArgs) error { return errors.New(a.Err) }
	seen := map[string]bool{}
	for _, j := range jobs {
		if !seen[j.Type] {
			seen[j.Type] = true
			sluice.Handle(w, j.Type, fail, &sluice.TypeOptions{MaxAttempts: 1})
		}
	}
	before := len(b.allDead())
	if err := w.Start(b.ctx); err != nil {
		b.t.Fatal(err)
	}
	defer w.Stop(b.ctx)
	if _, err := w.EnqueueMany(b.ctx, jobs); err != nil {
		b.t.Fatal(err)
	}
	waitFor(b.t, "the jobs to reach the dead-letter queue", func() bool { return len(b.allDead()) >= before+len(jobs) })
	return b.allDead()[:len(jobs)]
}

// waitFor polls cond until it holds, failing the test after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// allDead lists every dead-letter entry, replayed or not, newest first.
func (b *bundle) allDead() []sluice.DeadJob {
	b.t.Helper()
	var out []sluice.DeadJob
	opts := sluice.ListOptions{Limit: sluice.MaxPageSize, All: true}
	for {
		page, err := b.client.DLQ().List(b.ctx, sluice.Filter{}, opts)
		if err != nil {
			b.t.Fatal(err)
		}
		out = append(out, page.Items...)
		if page.NextCursor == "" {
			return out
		}
		opts.Cursor = page.NextCursor
	}
}

// allJobs lists every job, newest first.
func (b *bundle) allJobs() []sluice.Job {
	b.t.Helper()
	var out []sluice.Job
	opts := sluice.ListOptions{Limit: sluice.MaxPageSize}
	for {
		page, err := b.client.ListJobs(b.ctx, sluice.JobFilter{}, opts)
		if err != nil {
			b.t.Fatal(err)
		}
		out = append(out, page.Items...)
		if page.NextCursor == "" {
			return out
		}
		opts.Cursor = page.NextCursor
	}
}

// snapshot is every table's content, to check that a request changed nothing.
func (b *bundle) snapshot() string {
	b.t.Helper()
	apps, err := b.client.ListApps(b.ctx)
	if err != nil {
		b.t.Fatal(err)
	}
	tokens, err := b.client.ListTokens(b.ctx)
	if err != nil {
		b.t.Fatal(err)
	}
	audit, err := b.client.ListAudit(b.ctx, sluice.ListOptions{Limit: sluice.MaxPageSize})
	if err != nil {
		b.t.Fatal(err)
	}
	policies, err := b.client.ListRetention(b.ctx)
	if err != nil {
		b.t.Fatal(err)
	}
	reports, err := b.client.TrimReports(b.ctx, sluice.ListOptions{Limit: sluice.MaxPageSize, All: true})
	if err != nil {
		b.t.Fatal(err)
	}
	schedules, err := b.client.Schedules(b.ctx, "")
	if err != nil {
		b.t.Fatal(err)
	}
	pauses, err := b.client.ListPauses(b.ctx)
	if err != nil {
		b.t.Fatal(err)
	}
	raw, err := json.Marshal(map[string]any{"apps": apps, "jobs": b.allJobs(), "dlq": b.allDead(), "tokens": tokens, "audit": audit,
		"retention": policies, "trimReports": reports.Items, "schedules": schedules, "pauses": pauses})
	if err != nil {
		b.t.Fatal(err)
	}
	return string(raw)
}

// call is one HTTP request for send.
type call struct {
	method, path string
	body         string
	token        string // sent as Authorization: Bearer TOKEN when set
	cookie       string // sent as the session cookie when set
	header       map[string]string
}

// reply is what the server answered.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// String shows the reply, for test failures.
func (r reply) String() string { return http.StatusText(r.status) + " " + string(r.body) }

// errorBody decodes the reply as the error shape.
func (r reply) errorBody(t *testing.T) errorBody {
	t.Helper()
	var e errorBody
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || e.Error == "" {
		t.Fatalf("not an error body (%v): %s", err, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error Content-Type %q", ct)
	}
	return e
}

// decode decodes the reply's JSON body into v.
func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("reply is not JSON (%v): %s", err, r.body)
	}
}

// send makes the request over the test server's listener.
func (b *bundle) send(c call) reply {
	b.t.Helper()
	return send(b.t, b.srv, c)
}

func send(t *testing.T, srv *httptest.Server, c call) reply {
	t.Helper()
	req, err := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.cookie != "" {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: c.cookie})
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", c.method, c.path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: body}
}

// ok sends the request and fails the test unless the status is want.
func (b *bundle) ok(want int, c call) reply {
	b.t.Helper()
	r := b.send(c)
	if r.status != want {
		b.t.Fatalf("%s %s: want %d, got %s", c.method, c.path, want, r)
	}
	return r
}

// fail sends the request and fails the test unless it is an error answer of status about
// field ("" for none).
func (b *bundle) fail(status int, field string, c call) errorBody {
	b.t.Helper()
	r := b.send(c)
	if r.status != status {
		b.t.Fatalf("%s %s %.200q: want %d, got %d %s", c.method, c.path, c.body, status, r.status, r.body)
	}
	e := r.errorBody(b.t)
	if e.Field != field {
		b.t.Fatalf("%s %s %.200q: want field %q, got %q (%s)", c.method, c.path, c.body, field, e.Field, e.Error)
	}
	return e
}

// syncBuffer is a bytes.Buffer safe for the server's concurrent log writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends to the buffer.
func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

// String returns what was written.
func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// runReplay decodes a 202 answer's replay operation and runs it to its end in the test's
// process (the test server's client is not started, so no upkeep runs it), returning it.
func (b *bundle) runReplay(r reply) sluice.ReplayOperation {
	b.t.Helper()
	var op sluice.ReplayOperation
	r.decode(b.t, &op)
	if op.Status != sluice.ReplayRunning || r.header.Get("Location") != "/v1/replays/"+op.ID.String() {
		b.t.Fatalf("a started replay: %s %v", r.body, r.header)
	}
	done, err := b.client.DLQ().RunReplay(b.ctx, op.ID, nil)
	if err != nil || done.Status != sluice.ReplayDone {
		b.t.Fatalf("running replay operation %s: %v %+v", op.ID, err, done)
	}
	return done
}

// newReplay starts a replay operation over acme's (nonexistent) entries of one type, paused
// when asked, and returns its id.
func (b *bundle) newReplay(paused bool) string {
	b.t.Helper()
	op, err := b.client.DLQ().StartReplay(b.ctx, sluice.Filter{App: "acme", Type: "walk.none"}, sluice.ReplayOptions{})
	if err != nil {
		b.t.Fatal(err)
	}
	if paused {
		if _, err := b.client.DLQ().PauseReplay(b.ctx, op.ID); err != nil {
			b.t.Fatal(err)
		}
	}
	return op.ID.String()
}

// newPolicy sets an acme retention policy that deletes nothing of the world, and returns its id.
func (b *bundle) newPolicy() string {
	b.t.Helper()
	p, err := b.client.SetRetention(b.ctx, sluice.Policy{Kind: sluice.RetainReplayed, App: "acme", Type: "walk.policy", MaxCount: 1000})
	if err != nil {
		b.t.Fatal(err)
	}
	return p.ID.String()
}

// newSchedule stores an acme periodic schedule, as a started client registers one, and
// returns its id.
func (b *bundle) newSchedule() string {
	b.t.Helper()
	got, err := b.client.Store().SyncSchedules(b.ctx, []store.ScheduleDef{{ID: uuid.Must(uuid.NewV7()), AppID: b.acme.ID,
		Name: "walk", Type: "walk.schedule", Cron: "0 3 * * *", TimeZone: "UTC", Queue: "default", MaxAttempts: 25,
		Payload: json.RawMessage(`{}`), CatchUp: store.CatchUpLatest}})
	if err != nil {
		b.t.Fatal(err)
	}
	return got[0].ID.String()
}

// newTrimReport makes retention delete one of two acme entries of its own type (by a max
// count of 1, so no clock is involved) and returns the trim report's id.
func (b *bundle) newTrimReport() string {
	b.t.Helper()
	b.deadLetter(failing("acme", "walk.trim", "trimmed 1"), failing("acme", "walk.trim", "trimmed 2"))
	p, err := b.client.SetRetention(b.ctx, sluice.Policy{Kind: sluice.RetainUnreplayed, App: "acme", Type: "walk.trim", MaxCount: 1})
	if err != nil {
		b.t.Fatal(err)
	}
	if res, err := b.client.RunRetention(b.ctx, sluice.RetentionOptions{}); err != nil || res.Deleted[sluice.RetainUnreplayed] != 1 {
		b.t.Fatalf("RunRetention: %+v, %v", res, err)
	}
	if err := b.client.DeleteRetention(b.ctx, p.ID); err != nil {
		b.t.Fatal(err)
	}
	page, err := b.client.TrimReports(b.ctx, sluice.ListOptions{})
	if err != nil || len(page.Items) != 1 {
		b.t.Fatalf("trim reports: %+v, %v", page.Items, err)
	}
	return page.Items[0].ID.String()
}

// newWalkJobs enqueues acme's jobs for the walk's job changes, of types no worker handles:
// one to cancel, one scheduled for later to retry, one to delete.
func (b *bundle) newWalkJobs() map[string]string {
	b.t.Helper()
	out := map[string]string{}
	for _, change := range []string{"cancel", "retry", "delete"} {
		j := sluice.NewJob{App: "acme", Type: "walk." + change, Payload: map[string]int{}}
		if change == "retry" {
			j.RunAt = time.Now().Add(time.Hour)
		}
		out[change] = b.enqueue(j).Job.ID.String()
	}
	return out
}
