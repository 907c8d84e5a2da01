package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/store"
)

// page is a listing's JSON.
type page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor"`
}

// walk follows nextCursor from path (which has a query) until the last page, and returns every
// item's id in order and how many pages there were.
func walk(b *bundle, token, path string) ([]uuid.UUID, int) {
	b.t.Helper()
	var ids []uuid.UUID
	cursor := ""
	for pages := 1; ; pages++ {
		if pages > 100 {
			b.t.Fatal("paging does not end")
		}
		p := path
		if cursor != "" {
			p += "&cursor=" + url.QueryEscape(cursor)
		}
		var pg page[struct{ ID uuid.UUID }]
		b.ok(200, call{method: "GET", path: p, token: token}).decode(b.t, &pg)
		for _, it := range pg.Items {
			ids = append(ids, it.ID)
		}
		if pg.NextCursor == "" {
			return ids, pages
		}
		cursor = pg.NextCursor
	}
}

// checkNewestFirst fails unless ids are distinct and in descending order.
func checkNewestFirst(t *testing.T, ids []uuid.UUID) {
	t.Helper()
	for i := 1; i < len(ids); i++ {
		if strings.Compare(ids[i-1].String(), ids[i].String()) <= 0 {
			t.Fatalf("not newest first, or repeated: %v", ids)
		}
	}
}

func TestAppsAndEnqueue(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, dbURL string) {
		b := setup(t, dbURL, Options{})
		var apps page[sluice.App]
		b.ok(200, call{method: "GET", path: "/v1/apps", token: b.adminRO}).decode(t, &apps)
		if len(apps.Items) != 2 || apps.Items[0].Name != "acme" || apps.Items[1].Name != "globex" || apps.NextCursor != "" {
			t.Fatalf("apps: %+v", apps)
		}
		var app sluice.App
		r := b.ok(201, call{method: "POST", path: "/v1/apps", token: b.admin, body: `{"name":"initech"}`})
		r.decode(t, &app)
		if app.Name != "initech" || app.ID == uuid.Nil || !strings.Contains(string(r.body), `"createdAt":"`) {
			t.Fatalf("created app: %s", r.body)
		}
		e := b.fail(409, "name", call{method: "POST", path: "/v1/apps", token: b.admin, body: `{"name":"initech"}`})
		if !strings.Contains(e.Error, "already exists") {
			t.Fatalf("taken name: %q", e.Error)
		}

		type enqueued struct {
			Job       sluice.Job `json:"job"`
			Duplicate bool       `json:"duplicate"`
		}
		var first enqueued
		body := `{"type":"invoice.charge","payload":{"invoice":"INV-7","lines":[1,2]},"queue":"billing","priority":-5,"maxAttempts":3,"runAt":"2030-01-02T03:04:05Z","uniqueKey":"INV-7"}`
		r = b.ok(201, call{method: "POST", path: "/v1/apps/acme/jobs", token: b.acmeTok, body: body})
		r.decode(t, &first)
		j := first.Job
		if first.Duplicate || j.AppID != b.acme.ID || j.Type != "invoice.charge" || j.Queue != "billing" || j.Priority != -5 ||
			j.MaxAttempts != 3 || !j.RunAt.Equal(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) || j.UniqueKey != "INV-7" ||
			j.Status != sluice.StatusPending || j.Attempts != 0 || !sameJSON(t, j.Payload, `{"invoice":"INV-7","lines":[1,2]}`) {
			t.Fatalf("enqueued: %s", r.body)
		}
		if !strings.Contains(string(r.body), `"runAt":"2030-01-02T03:04:05.000Z"`) {
			t.Fatalf("times are RFC 3339 UTC with milliseconds: %s", r.body)
		}
		// The same unique key while the job is pending: 200, that job, nothing inserted.
		var dup enqueued
		b.ok(200, call{method: "POST", path: "/v1/apps/" + b.acme.ID.String() + "/jobs", token: b.admin, body: `{"type":"other","payload":[],"uniqueKey":"INV-7"}`}).decode(t, &dup)
		if !dup.Duplicate || dup.Job.ID != j.ID {
			t.Fatalf("duplicate enqueue: %+v", dup)
		}
		// Defaults.
		var plain enqueued
		b.ok(201, call{method: "POST", path: "/v1/apps/globex/jobs", token: b.globexTok, body: `{"type":"t","payload":[]}`}).decode(t, &plain)
		if plain.Job.Queue != "default" || plain.Job.MaxAttempts != 25 || plain.Job.Priority != 0 || plain.Job.AppID != b.globex.ID {
			t.Fatalf("defaults: %+v", plain.Job)
		}
		var got sluice.Job
		b.ok(200, call{method: "GET", path: "/v1/jobs/" + j.ID.String(), token: b.acmeRO}).decode(t, &got)
		if got.ID != j.ID || got.UniqueKey != "INV-7" {
			t.Fatalf("GET job: %+v", got)
		}
	})
}

func TestJobsPaging(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, dbURL string) {
		b := setup(t, dbURL, Options{})
		var want []uuid.UUID
		for i := range 7 {
			want = append(want, b.enqueue(sluice.NewJob{App: "acme", Type: "walk", Payload: map[string]int{"i": i}}).Job.ID)
		}
		b.enqueue(sluice.NewJob{App: "globex", Type: "walk", Payload: []int{}})
		slices.Reverse(want)
		ids, pages := walk(b, b.admin, "/v1/jobs?app=acme&type=walk&limit=2")
		if !slices.Equal(ids, want) || pages != 4 {
			t.Fatalf("walk: %d pages %v, want %v", pages, ids, want)
		}
		// The app token's implicit filter, and status.
		ids, _ = walk(b, b.acmeRO, "/v1/jobs?type=walk&status=pending&limit=3")
		if !slices.Equal(ids, want) {
			t.Fatalf("app-token walk: %v", ids)
		}
		ids, _ = walk(b, b.admin, "/v1/jobs?status=completed")
		if len(ids) != 0 {
			t.Fatalf("completed jobs: %v", ids)
		}
		all, _ := walk(b, b.admin, "/v1/jobs?limit=1000")
		checkNewestFirst(t, all)
		if len(all) != 10 {
			t.Fatalf("every job: %d", len(all))
		}
	})
}

func TestDLQ(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, dbURL string) {
		b := setup(t, dbURL, Options{})
		// Listing and paging: newest first, every entry once.
		all := b.allDead()
		var want []uuid.UUID
		for _, e := range all {
			want = append(want, e.ID)
		}
		for _, limit := range []int{1, 2, 3, 50} {
			ids, pages := walk(b, b.adminRO, fmt.Sprintf("/v1/dlq?limit=%d", limit))
			if !slices.Equal(ids, want) || pages != (len(want)+limit-1)/limit {
				t.Fatalf("limit %d: %d pages %v, want %v", limit, pages, ids, want)
			}
		}
		for query, n := range map[string]int{
			"type=sms.send": 2, "errorContains=timeout": 1, "app=globex&type=email.send": 1,
			"errorContains=" + url.QueryEscape("connection refused"): 2, "failedAfter=2999-01-01T00:00:00Z": 0,
			"failedBefore=2000-01-01T00:00:00Z": 0, "failedAfter=2000-01-01T00:00:00Z&failedBefore=2999-01-01T00:00:00Z": 5,
			"errorContains=%25": 0, "errorContains=_": 0,
		} {
			ids, _ := walk(b, b.admin, "/v1/dlq?limit=1&"+query)
			if len(ids) != n {
				t.Fatalf("%s: %d entries, want %d", query, len(ids), n)
			}
		}

		// One entry, with its full history.
		var acmeEmail []sluice.DeadJob
		for _, e := range b.acmeEntries {
			if e.Type == "email.send" {
				acmeEmail = append(acmeEmail, e)
			}
		}
		target := acmeEmail[0]
		var entry sluice.DeadJob
		r := b.ok(200, call{method: "GET", path: "/v1/dlq/" + target.ID.String(), token: b.acmeRO})
		r.decode(t, &entry)
		if entry.ID != target.ID || len(entry.ErrorHistory) != 1 || entry.ErrorHistory[0].Timestamp == 0 || entry.ReplayedAt != nil ||
			!strings.Contains(string(r.body), `"replayedAt":null`) || !strings.Contains(string(r.body), `"originalJobId":"`) {
			t.Fatalf("GET entry: %s", r.body)
		}

		// Replay one: the new job, then 409.
		var job sluice.Job
		b.ok(200, call{method: "POST", path: "/v1/dlq/" + target.ID.String() + "/replay", token: b.acmeTok}).decode(t, &job)
		if job.ReplayedFrom == nil || *job.ReplayedFrom != target.ID || job.Attempts != 0 || job.Type != target.Type || job.AppID != b.acme.ID {
			t.Fatalf("replayed job: %+v", job)
		}
		e := b.fail(409, "", call{method: "POST", path: "/v1/dlq/" + target.ID.String() + "/replay", token: b.admin})
		if !strings.Contains(e.Error, "already replayed") {
			t.Fatalf("second replay: %q", e.Error)
		}
		ids, _ := walk(b, b.admin, "/v1/dlq?limit=10")
		if slices.Contains(ids, target.ID) || len(ids) != 4 {
			t.Fatalf("the replayed entry is still listed: %v", ids)
		}
		ids, _ = walk(b, b.admin, "/v1/dlq?limit=10&all=true")
		if !slices.Contains(ids, target.ID) {
			t.Fatal("all=true lacks the replayed entry")
		}
		b.ok(200, call{method: "GET", path: "/v1/jobs/" + job.ID.String(), token: b.admin})

		// Delete one.
		gone := acmeEmail[1]
		b.ok(204, call{method: "DELETE", path: "/v1/dlq/" + gone.ID.String(), token: b.acmeTok})
		b.fail(404, "id", call{method: "GET", path: "/v1/dlq/" + gone.ID.String(), token: b.admin})
		b.fail(404, "id", call{method: "DELETE", path: "/v1/dlq/" + gone.ID.String(), token: b.admin})

		// Bulk replay: a dry run counts and changes nothing; then for real, with a rate.
		before := b.snapshot()
		var res replayResult
		b.ok(200, call{method: "POST", path: "/v1/dlq/replay", token: b.admin, body: `{"type":"sms.send","dryRun":true}`}).decode(t, &res)
		if res.Matched != 2 || res.Replayed != 0 || !res.DryRun {
			t.Fatalf("dry run: %+v", res)
		}
		if b.snapshot() != before {
			t.Fatal("a dry run changed the tables")
		}
		r = b.ok(202, call{method: "POST", path: "/v1/dlq/replay", token: b.admin, body: `{"type":"sms.send","rate":1000,"failedAfter":"2000-01-01T00:00:00Z"}`})
		if op := b.runReplay(r); op.Matched != 2 || op.Replayed != 2 || op.Failed != 0 || op.Rate != 1000 || op.Type != "sms.send" {
			t.Fatalf("bulk replay: %+v", op)
		}
		var op sluice.ReplayOperation
		b.ok(200, call{method: "GET", path: "/v1/replays/" + r.header.Get("Location")[len("/v1/replays/"):], token: b.admin}).decode(t, &op)
		if op.Status != sluice.ReplayDone || op.Replayed != 2 {
			t.Fatalf("GET the operation: %+v", op)
		}
		replayedFrom := map[uuid.UUID]bool{}
		for _, j := range b.allJobs() {
			if j.ReplayedFrom != nil {
				replayedFrom[*j.ReplayedFrom] = true
			}
		}
		if len(replayedFrom) != 3 {
			t.Fatalf("jobs replayed from entries: %v", replayedFrom)
		}

		// Purge: a dry run, then the replayed ones.
		var pr purgeResult
		b.ok(200, call{method: "POST", path: "/v1/dlq/purge", token: b.admin, body: `{"replayedOnly":true,"dryRun":true}`}).decode(t, &pr)
		if pr.Matched != 3 || pr.Purged != 0 || !pr.DryRun {
			t.Fatalf("purge dry run: %+v", pr)
		}
		b.ok(200, call{method: "POST", path: "/v1/dlq/purge", token: b.admin, body: `{"replayedOnly":true}`}).decode(t, &pr)
		if pr.Matched != 3 || pr.Purged != 3 || pr.DryRun {
			t.Fatalf("purge: %+v", pr)
		}
		if left := b.allDead(); len(left) != 1 || left[0].AppID != b.globex.ID || left[0].Type != "email.send" {
			t.Fatalf("left after the purge: %+v", left)
		}

		// The audit log: every change, by the token that made it, newest first, paged.
		var audit page[sluice.AuditEntry]
		r = b.ok(200, call{method: "GET", path: "/v1/audit?limit=10", token: b.adminRO})
		r.decode(t, &audit)
		acmeTok, err := b.client.Authenticate(b.ctx, b.acmeTok)
		if err != nil {
			t.Fatal(err)
		}
		wantAudit := []struct {
			action, actor string
			count         int
		}{
			{"dlq.purge", "token:" + b.adminID.String(), 3},
			{"dlq.replay_many", "token:" + b.adminID.String(), 2},
			{"dlq.delete", "token:" + acmeTok.ID.String(), 1},
			{"dlq.replay", "token:" + acmeTok.ID.String(), 1},
		}
		if len(audit.Items) != len(wantAudit) {
			t.Fatalf("audit: %s", r.body)
		}
		for i, w := range wantAudit {
			a := audit.Items[i]
			if a.Action != w.action || a.Actor != w.actor || a.Count != w.count {
				t.Errorf("audit %d: %+v, want %+v", i, a, w)
			}
		}
		if !humanTime.MatchString(string(r.body)) {
			t.Fatalf("audit times: %s", r.body)
		}
		ids, pages := walk(b, b.admin, "/v1/audit?limit=1")
		if len(ids) != 4 || pages != 4 {
			t.Fatalf("audit walk: %d ids, %d pages", len(ids), pages)
		}
		checkNewestFirst(t, ids)
	})
}

// humanTime matches a time as the API writes it: RFC 3339, UTC, milliseconds.
var humanTime = regexp.MustCompile(`"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"`)

// sameJSON reports whether raw and want are the same JSON value (PostgreSQL does not keep key
// order).
func sameJSON(t *testing.T, raw []byte, want string) bool {
	t.Helper()
	var a, b any
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatalf("not JSON: %v: %s", err, raw)
	}
	if err := json.Unmarshal([]byte(want), &b); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(a, b)
}

func TestStats(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, dbURL string) {
		b := setup(t, dbURL, Options{})
		var stats page[statsRow]
		r := b.ok(200, call{method: "GET", path: "/v1/stats", token: b.adminRO})
		r.decode(t, &stats)
		got := map[string]statsRow{}
		for _, s := range stats.Items {
			got[s.AppName+"/"+s.Type] = s
		}
		for key, want := range map[string][2]int64{
			"acme/email.send": {0, 2}, "acme/sms.send": {0, 1}, "acme/report.build": {1, 0},
			"globex/email.send": {0, 1}, "globex/sms.send": {0, 1}, "globex/report.build": {1, 0},
		} {
			s, ok := got[key]
			if !ok || s.Pending != want[0] || s.Dead != want[1] {
				t.Errorf("stats %s: %+v, want pending %d dead %d", key, s, want[0], want[1])
			}
		}
		if len(stats.Items) != 6 || !strings.Contains(string(r.body), `"appName":"acme"`) || !strings.Contains(string(r.body), `"oldestDeadAt":"`) {
			t.Fatalf("stats: %s", r.body)
		}
	})
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, dbURL string) {
		b := setup(t, dbURL, Options{})
		r := b.ok(200, call{method: "GET", path: "/healthz"})
		if string(r.body) != `{"status":"ok"}`+"\n" {
			t.Fatalf("healthz: %s", r.body)
		}
		// A database that is gone: healthz says so.
		c, err := sluice.Open(context.Background(), dbURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(New(c, Options{}))
		defer srv.Close()
		if err := c.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		r = send(t, srv, call{method: "GET", path: "/healthz"})
		if r.status != 503 || r.errorBody(t).Error != msgUnavailable {
			t.Fatalf("healthz on a closed store: %s", r)
		}
	})
}

func TestRoutingAndDefaults(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, dbURL string) {
		b := setup(t, dbURL, Options{})
		b.fail(404, "", call{method: "GET", path: "/v1/nope", token: b.admin})
		b.fail(404, "", call{method: "GET", path: "/v1", token: b.admin})
		r := b.send(call{method: "PUT", path: "/v1/dlq/replay", token: b.admin})
		if r.status != 405 || r.header.Get("Allow") != "POST" {
			t.Fatalf("PUT /v1/dlq/replay: %s %v", r, r.header)
		}
		r = b.send(call{method: "PATCH", path: "/v1/dlq/" + newID(), token: b.admin})
		if r.status != 405 || r.header.Get("Allow") != "GET, DELETE, HEAD" {
			t.Fatalf("PATCH /v1/dlq/{id}: %s %v", r, r.header)
		}
		r.errorBody(t)
		b.fail(400, "id", call{method: "GET", path: "/v1/dlq/replay", token: b.admin})
		// No UI: a text page at / and 404 elsewhere; no metrics: 404.
		r = b.ok(200, call{method: "GET", path: "/"})
		if !strings.Contains(string(r.body), "HTTP API") || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
			t.Fatalf("/ without a UI: %s", r)
		}
		b.fail(404, "", call{method: "GET", path: "/nope"})
		b.fail(404, "", call{method: "GET", path: "/metrics", token: b.admin})
		b.fail(401, "", call{method: "GET", path: "/metrics"})

		// With --public-metrics, /metrics needs no token; the UI gets every other GET path.
		srv := httptest.NewServer(New(b.client, Options{PublicMetrics: true, Metrics: stubHandler("sluice_up 1\n"), UI: stubHandler("ui")}))
		defer srv.Close()
		for path, want := range map[string]string{"/metrics": "sluice_up 1\n", "/": "ui", "/assets/app.js": "ui"} {
			if r := send(t, srv, call{method: "GET", path: path}); r.status != 200 || string(r.body) != want {
				t.Fatalf("GET %s: %s", path, r)
			}
		}
		if r := send(t, srv, call{method: "GET", path: "/v1/unknown"}); r.status != 404 {
			t.Fatalf("/v1/unknown with a UI: %s", r)
		}

		// The request log: method, pattern, status, duration and the token's id.
		b.ok(200, call{method: "GET", path: "/v1/dlq/" + b.acmeEntries[0].ID.String(), token: b.admin})
		found := false
		for _, line := range strings.Split(b.log.String(), "\n") {
			if strings.Contains(line, `pattern="GET /v1/dlq/{id}"`) && strings.Contains(line, "status=200") &&
				strings.Contains(line, "method=GET") && strings.Contains(line, "duration=") && strings.Contains(line, "token="+b.adminID.String()) {
				found = true
			}
		}
		if !found {
			t.Fatalf("no request log line for GET /v1/dlq/{id}:\n%s", b.log.String())
		}
	})
}

func TestClassify(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err    error
		status int
		field  string
	}{
		{&sluice.FieldError{Field: "limit", Message: "bad"}, 400, "limit"},
		{&sluice.FieldError{Field: "app", Message: "no app", Err: sluice.ErrNotFound}, 400, "app"},
		{&sluice.FieldError{Field: "uniqueKey", Message: "held", Err: sluice.ErrConflict}, 409, "uniqueKey"},
		{&sluice.FieldError{Field: "app", Message: "disabled", Err: sluice.ErrAppDisabled}, 409, "app"},
		{&sluice.FieldError{Field: "id", Message: "the job is running", Err: sluice.ErrConflict}, 409, "id"},
		{fmt.Errorf("replay: %w", sluice.ErrAlreadyReplayed), 409, ""},
		{sluice.ErrConflict, 409, ""},
		{sluice.ErrNotFound, 404, ""},
		{sluice.ErrUnauthorized, 401, ""},
		{context.DeadlineExceeded, 503, ""},
		{fmt.Errorf("query: %w", context.Canceled), 503, ""},
		{&pgconn.ConnectError{}, 503, ""},
		{&pgconn.PgError{Code: "57P01"}, 503, ""},
		{&pgconn.PgError{Code: "08006"}, 503, ""},
		{&net.OpError{Op: "dial", Err: errors.New("refused")}, 503, ""},
		{&pgconn.PgError{Code: "22021", Message: "invalid byte sequence"}, 500, ""},
		{errors.New("secret detail"), 500, ""},
	} {
		e := classify(tc.err)
		if e.status != tc.status || e.field != tc.field {
			t.Errorf("%v: %d %q, want %d %q", tc.err, e.status, e.field, tc.status, tc.field)
		}
		if e.status == 500 && e.msg != msgInternal {
			t.Errorf("a 500 shows its detail: %q", e.msg)
		}
	}
}

// TestSchedulesListing: GET /v1/schedules shows an admin every app's schedules and an app
// token only its own app's, with their next tick; GET /v1/schedules/{id} shows one.
func TestSchedulesListing(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, dbURL string) {
		b := setup(t, dbURL, Options{})
		acme := b.newSchedule()
		if _, err := b.client.Store().SyncSchedules(b.ctx, []store.ScheduleDef{{ID: uuid.Must(uuid.NewV7()), AppID: b.globex.ID,
			Name: "quarter", Type: "ping", Every: 15 * time.Minute, TimeZone: "UTC", Queue: "default", MaxAttempts: 25,
			Payload: json.RawMessage(`{}`), CatchUp: store.CatchUpNone}}); err != nil {
			t.Fatal(err)
		}
		var all, mine sluice.Page[sluice.ScheduleInfo]
		b.send(call{method: "GET", path: "/v1/schedules", token: b.admin}).decode(t, &all)
		if len(all.Items) != 2 {
			t.Fatalf("admin sees %d schedules, want 2", len(all.Items))
		}
		b.send(call{method: "GET", path: "/v1/schedules", token: b.globexTok}).decode(t, &mine)
		if len(mine.Items) != 1 || mine.Items[0].Name != "quarter" || mine.Items[0].AppID != b.globex.ID || mine.Items[0].NextTickAt == nil {
			t.Fatalf("globex's token sees %+v, want only its own schedule, with a next tick", mine.Items)
		}
		var one sluice.ScheduleInfo
		b.send(call{method: "GET", path: "/v1/schedules/" + acme, token: b.admin}).decode(t, &one)
		if one.ID.String() != acme || one.Cron != "0 3 * * *" || one.Stale {
			t.Fatalf("GET /v1/schedules/%s = %+v", acme, one)
		}
	})
}
