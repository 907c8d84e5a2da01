package badinput_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/badinput"
	"github.com/sluicehq/sluice/internal/validate"
	"github.com/sluicehq/sluice/store"
)

// world is one run's database: migrated, holding the fixture, with a Go API client that
// makes cursors, takes snapshots and checks what legal inputs did.
type world struct {
	t      *testing.T
	ctx    context.Context
	url    string
	client *sluice.Client
}

// newWorld migrates the database at url and makes the fixture.
func newWorld(t *testing.T, url string) *world {
	t.Helper()
	ctx := context.Background()
	c, err := sluice.Open(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	if _, err := c.Store().MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, ctx: ctx, url: url, client: c}
	for _, name := range badinput.FixtureApps {
		if _, err := c.CreateApp(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	for _, j := range badinput.FixtureJobs {
		w.enqueue(sluice.NewJob{App: j.App, Type: j.Type, Payload: map[string]string{"label": j.Label}, Tags: j.Tags})
	}
	for i, e := range badinput.FixtureDead {
		w.deadLetter(i, e)
	}
	return w
}

// enqueue enqueues a job through the Go API.
func (w *world) enqueue(j sluice.NewJob) sluice.Job {
	w.t.Helper()
	res, err := w.client.Enqueue(w.ctx, j)
	if err != nil {
		w.t.Fatal(err)
	}
	return res.Job
}

// deadLetter makes the fixture's i-th entry the way a worker does: a job of a queue of its
// own, claimed, and failed for good with the entry's error. Entries are made one at a time,
// so their ids come in the fixture's order on both stores.
func (w *world) deadLetter(i int, e badinput.FixtureEntry) {
	w.t.Helper()
	queue := fmt.Sprintf("fixture-%d", i)
	job := w.enqueue(sluice.NewJob{App: e.App, Type: e.Type, Queue: queue, MaxAttempts: 1, Payload: map[string]string{"label": e.Label}, Tags: e.Tags})
	st := w.client.Store()
	token := uuid.Must(uuid.NewV7())
	claimed, err := st.ClaimJobs(w.ctx, store.ClaimParams{Queue: queue, Types: []string{e.Type}, Limit: 1, LeaseToken: token, LeaseDuration: time.Hour})
	if err != nil || len(claimed) != 1 || claimed[0].ID != job.ID {
		w.t.Fatalf("claiming fixture job %d: %v (%d claimed)", i, err, len(claimed))
	}
	ok, err := st.FinishJobs(w.ctx, []store.Finish{{Lease: store.Lease{JobID: job.ID, Token: token}, Outcome: store.OutcomeDeadLetter, Error: e.Error}})
	if err != nil || !ok[0] {
		w.t.Fatalf("dead-lettering fixture job %d: %v", i, err)
	}
	if !e.Replayed {
		return
	}
	dead := w.snapshot().dead
	if _, err := w.client.DLQ().Replay(w.ctx, dead[0].ID); err != nil {
		w.t.Fatalf("replaying fixture entry %d: %v", i, err)
	}
}

// snapshot is everything a case could change.
type snapshot struct {
	apps     []sluice.App
	jobs     []sluice.Job     // newest first
	dead     []sluice.DeadJob // newest first, replayed or not
	audit    []sluice.AuditEntry
	tokens   []sluice.Token
	policies []sluice.RetentionPolicy
	digest   string
}

// text is the snapshot as one comparable string, made when the snapshot was taken.
func (s snapshot) text() string { return s.digest }

// digestOf is the snapshot as one comparable string, each payload in it replaced by its
// SHA-256: the corpus stores payloads of up to 1 MiB, and re-encoding them for every case
// would take most of the test's time.
func (s snapshot) digestOf() string {
	jobs := slices.Clone(s.jobs)
	for i := range jobs {
		jobs[i].Payload = payloadDigest(jobs[i].Payload)
	}
	dead := slices.Clone(s.dead)
	for i := range dead {
		dead[i].Payload = payloadDigest(dead[i].Payload)
	}
	raw, err := json.Marshal([]any{s.apps, jobs, dead, s.audit, s.tokens, s.policies})
	if err != nil {
		panic(err)
	}
	return string(raw)
}

// payloadDigest is a payload's SHA-256 as a JSON string.
func payloadDigest(p json.RawMessage) json.RawMessage {
	sum := sha256.Sum256(p)
	return json.RawMessage(`"` + hex.EncodeToString(sum[:]) + `"`)
}

func (w *world) snapshot() snapshot {
	w.t.Helper()
	var s snapshot
	var err error
	if s.apps, err = w.client.ListApps(w.ctx); err != nil {
		w.t.Fatal(err)
	}
	if s.tokens, err = w.client.ListTokens(w.ctx); err != nil {
		w.t.Fatal(err)
	}
	if s.policies, err = w.client.ListRetention(w.ctx); err != nil {
		w.t.Fatal(err)
	}
	s.jobs = walk(w, func(o sluice.ListOptions) (sluice.Page[sluice.Job], error) {
		return w.client.ListJobs(w.ctx, sluice.JobFilter{}, o)
	})
	s.dead = walk(w, func(o sluice.ListOptions) (sluice.Page[sluice.DeadJob], error) {
		o.All = true
		return w.client.DLQ().List(w.ctx, sluice.Filter{}, o)
	})
	s.audit = walk(w, func(o sluice.ListOptions) (sluice.Page[sluice.AuditEntry], error) {
		return w.client.ListAudit(w.ctx, o)
	})
	s.digest = s.digestOf()
	return s
}

// walk returns every item of a listing, page by page.
func walk[T any](w *world, list func(sluice.ListOptions) (sluice.Page[T], error)) []T {
	w.t.Helper()
	var out []T
	opts := sluice.ListOptions{Limit: sluice.MaxPageSize}
	for {
		page, err := list(opts)
		if err != nil {
			w.t.Fatal(err)
		}
		out = append(out, page.Items...)
		if page.NextCursor == "" {
			return out
		}
		opts.Cursor = page.NextCursor
	}
}

// cursor makes a case's cursor; after is the id it resumes after (uuid.Nil for a raw one).
func (w *world) cursor(c *badinput.Cursor) (cursor string, after uuid.UUID) {
	w.t.Helper()
	if c == nil {
		return "", uuid.Nil
	}
	if c.Of == nil {
		return c.Raw, uuid.Nil
	}
	in, one := c.Of.In, sluice.ListOptions{Limit: 1, All: c.Of.In.All}
	var next string
	var id uuid.UUID
	var err error
	switch c.Of.Op {
	case badinput.ListJobs:
		var p sluice.Page[sluice.Job]
		p, err = w.client.ListJobs(w.ctx, sluice.JobFilter{App: in.App, Type: in.Type, Status: sluice.JobStatus(in.Status), Tag: in.Tag}, one)
		if err == nil && len(p.Items) > 0 {
			next, id = p.NextCursor, p.Items[0].ID
		}
	case badinput.ListDead:
		var p sluice.Page[sluice.DeadJob]
		p, err = w.client.DLQ().List(w.ctx, sluice.Filter{App: in.App, Type: in.Type, ErrorContains: in.ErrorContains, Group: in.Group, Tag: in.Tag}, one)
		if err == nil && len(p.Items) > 0 {
			next, id = p.NextCursor, p.Items[0].ID
		}
	case badinput.ListAudit:
		var p sluice.Page[sluice.AuditEntry]
		p, err = w.client.ListAudit(w.ctx, one)
		if err == nil && len(p.Items) > 0 {
			next, id = p.NextCursor, p.Items[0].ID
		}
	}
	if err != nil || next == "" {
		w.t.Fatalf("the fixture issues no second-page cursor for %s %+v (%v)", c.Of.Op, in, err)
	}
	if c.Tamper != nil {
		next = c.Tamper(next)
	}
	return next, id
}

// relativeTime reads the CLI's relative times the corpus uses ("-2h", "+10m").
var relativeTime = regexp.MustCompile(`^([+-])(\d+)([hm])$`)

// neutralTime reads a corpus time as the surface that accepted it did: RFC 3339, or relative
// to now. ok is false for text no surface accepts, and for the zero time, which only the Go
// API accepts, as absent.
func neutralTime(s string, now time.Time) (time.Time, bool) {
	if t, ok := validate.ParseTime(s); ok {
		return t, !t.IsZero()
	}
	m := relativeTime.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, false
	}
	n, _ := strconv.Atoi(m[2])
	d := time.Duration(n) * time.Hour
	if m[3] == "m" {
		d = time.Duration(n) * time.Minute
	}
	if m[1] == "-" {
		d = -d
	}
	return now.Add(d), true
}

// appID finds the app a reference names, by id or exact name.
func (s snapshot) appID(ref string) (uuid.UUID, bool) {
	for _, a := range s.apps {
		if a.ID.String() == ref || a.Name == ref {
			return a.ID, true
		}
	}
	return uuid.Nil, false
}

// matchJobs is the reference for a jobs listing: the snapshot's jobs the filter matches,
// newest first, below after (when set).
func (s snapshot) matchJobs(in badinput.Input, after uuid.UUID) []uuid.UUID {
	app, _ := s.appID(in.App)
	var out []uuid.UUID
	for _, j := range s.jobs {
		if (in.App == "" || j.AppID == app) && (in.Type == "" || j.Type == in.Type) &&
			(in.Status == "" || string(j.Status) == in.Status) && (in.Tag == "" || slices.Contains(j.Tags, in.Tag)) && below(j.ID, after) {
			out = append(out, j.ID)
		}
	}
	return out
}

// matchDead is the reference for the dead-letter filter: the snapshot's entries it matches,
// newest first, below after (when set); replayed ones only with all.
func (s snapshot) matchDead(in badinput.Input, all bool, after uuid.UUID, now time.Time) []uuid.UUID {
	app, _ := s.appID(in.App)
	fa, hasFA := neutralTime(in.FailedAfter, now)
	fb, hasFB := neutralTime(in.FailedBefore, now)
	var out []uuid.UUID
	for _, d := range s.dead {
		if (in.App == "" || d.AppID == app) && (in.Type == "" || d.Type == in.Type) &&
			(!hasFA || !d.FailedAt.Before(fa)) && (!hasFB || d.FailedAt.Before(fb)) &&
			(in.ErrorContains == "" || slices.ContainsFunc(d.ErrorHistory, func(r sluice.ErrorRecord) bool {
				return strings.Contains(r.Error, in.ErrorContains)
			})) && (in.Group == "" || d.ErrorSignature == in.Group || in.Group == "unknown" && d.ErrorSignature == "") &&
			(in.Tag == "" || slices.Contains(d.Tags, in.Tag)) && (all || d.ReplayedAt == nil) && below(d.ID, after) {
			out = append(out, d.ID)
		}
	}
	return out
}

// matchAudit is the reference for the audit log.
func (s snapshot) matchAudit(after uuid.UUID) []uuid.UUID {
	var out []uuid.UUID
	for _, a := range s.audit {
		if below(a.ID, after) {
			out = append(out, a.ID)
		}
	}
	return out
}

func below(id, after uuid.UUID) bool {
	return after == uuid.Nil || bytes.Compare(id[:], after[:]) < 0
}

// label names a listed item in a summary, the same on both stores.
func (s snapshot) label(id uuid.UUID) string {
	for _, j := range s.jobs {
		if j.ID == id {
			return "job " + j.Type + " " + payloadLabel(j.Payload)
		}
	}
	for _, d := range s.dead {
		if d.ID == id {
			return "entry " + payloadLabel(d.Payload)
		}
	}
	for _, a := range s.audit {
		if a.ID == id {
			return "audit " + a.Action
		}
	}
	return "unknown " + id.String()
}

func payloadLabel(p json.RawMessage) string {
	var v struct{ Label string }
	if json.Unmarshal(p, &v) == nil && v.Label != "" {
		return v.Label
	}
	return canonical(p)
}

// canonical is a JSON document in a form that compares equal exactly when the documents are
// equal as JSON values: keys sorted, white space dropped, numbers as exact fractions (so that
// 1E2, 100 and 100.0 compare equal, and PostgreSQL's 0.000…1 equals SQLite's 1e-400).
func canonical(raw []byte) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "not JSON: " + err.Error()
	}
	out, err := json.Marshal(exact(v))
	if err != nil {
		return "not JSON: " + err.Error()
	}
	return string(out)
}

// exact replaces every number with its exact value as a fraction.
func exact(v any) any {
	switch x := v.(type) {
	case json.Number:
		r, ok := new(big.Rat).SetString(string(x))
		if !ok {
			return "bad number " + string(x)
		}
		return "number " + r.RatString()
	case []any:
		for i := range x {
			x[i] = exact(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = exact(x[k])
		}
	}
	return v
}
