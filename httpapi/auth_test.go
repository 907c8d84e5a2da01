package httpapi

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice"
)

// target says whose resource a sample request names: acme's own, or one that does not exist.
type target int

const (
	own target = iota
	missing
)

// sample is how the tests call one route of the table.
type sample struct {
	// names is set when the request names an app's resource, in its path or as an app
	// filter: an app token of another app must get the same 404 as for a missing one.
	names bool
	// call is the request on acme's resources (own) or on missing ones.
	call func(b *bundle, tgt target) call
	// okStatus is what an admin token gets for call(b, own), on a server with a UI and a
	// metrics handler.
	okStatus int
}

// newID is a fresh id nothing has.
func newID() string { return uuid.Must(uuid.NewV7()).String() }

// pick returns the own or the missing value.
func pick(tgt target, ownValue, missingValue string) string {
	if tgt == own {
		return ownValue
	}
	return missingValue
}

// samples has one entry per route of the table, by "METHOD pattern"; TestRouteTableAuth
// fails for a route without one.
var samples = map[string]sample{
	"GET /healthz": {okStatus: 200, call: func(b *bundle, _ target) call { return call{method: "GET", path: "/healthz"} }},
	"POST /v1/session": {okStatus: 204, call: func(b *bundle, _ target) call {
		return call{method: "POST", path: "/v1/session", body: `{"token":"` + b.acmeRO + `"}`}
	}},
	"GET /v1/session":    {okStatus: 200, call: func(b *bundle, _ target) call { return call{method: "GET", path: "/v1/session"} }},
	"DELETE /v1/session": {okStatus: 204, call: func(b *bundle, _ target) call { return call{method: "DELETE", path: "/v1/session"} }},
	"GET /v1/apps":       {okStatus: 200, call: func(b *bundle, _ target) call { return call{method: "GET", path: "/v1/apps"} }},
	"POST /v1/apps": {okStatus: 201, call: func(b *bundle, _ target) call {
		return call{method: "POST", path: "/v1/apps", body: `{"name":"walked"}`}
	}},
	"PUT /v1/apps/{app}/limits": {names: true, okStatus: 200, call: func(b *bundle, tgt target) call {
		return call{method: "PUT", path: "/v1/apps/" + pick(tgt, "acme", "no-such-app") + "/limits", body: `{"maxRunning":50}`}
	}},
	// Renaming acme to its own name: the later samples still find it by name.
	"PATCH /v1/apps/{app}": {names: true, okStatus: 200, call: func(b *bundle, tgt target) call {
		return call{method: "PATCH", path: "/v1/apps/" + pick(tgt, "acme", "no-such-app"), body: `{"name":"acme"}`}
	}},
	"GET /v1/apps/{app}/holdings": {names: true, okStatus: 200, call: func(b *bundle, tgt target) call {
		return call{method: "GET", path: "/v1/apps/" + pick(tgt, "acme", "no-such-app") + "/holdings"}
	}},
	// acme holds jobs, so even the admin is refused (409) and nothing changes; the deletion
	// itself is TestAppLifecycle's.
	"DELETE /v1/apps/{app}": {names: true, okStatus: 409, call: func(b *bundle, tgt target) call {
		return call{method: "DELETE", path: "/v1/apps/" + pick(tgt, "acme", "no-such-app")}
	}},
	// Disabled, then enabled again at once: the later samples enqueue into acme.
	"POST /v1/apps/{app}/disable": {names: true, okStatus: 200, call: func(b *bundle, tgt target) call {
		return call{method: "POST", path: "/v1/apps/" + pick(tgt, "acme", "no-such-app") + "/disable"}
	}},
	"POST /v1/apps/{app}/enable": {names: true, okStatus: 200, call: func(b *bundle, tgt target) call {
		return call{method: "POST", path: "/v1/apps/" + pick(tgt, "acme", "no-such-app") + "/enable"}
	}},
	"POST /v1/apps/{app}/jobs": {names: true, okStatus: 201, call: func(b *bundle, tgt target) call {
		return call{method: "POST", path: "/v1/apps/" + pick(tgt, "acme", "no-such-app") + "/jobs", body: `{"type":"walk","payload":{"a":1}}`}
	}},
	"GET /v1/jobs": {names: true, okStatus: 200, call: func(b *bundle, tgt target) call {
		return call{method: "GET", path: "/v1/jobs?app=" + pick(tgt, "acme", "no-such-app")}
	}},
	"GET /v1/jobs/{id}": {names: true, okStatus: 200, call: func(b *bundle, tgt target) call {
		return call{method: "GET", path: "/v1/jobs/" + pick(tgt, b.acmeJob.ID.String(), newID())}
	}},
	"POST /v1/jobs/{id}/cancel": {names: true, okStatus: 200, call: func(b *bundle, tgt target) call {
		return call{method: "POST", path: "/v1/jobs/" + pick(tgt, b.walkJobs["cancel"], newID()) + "/cancel"}
	}},
	"POST /v1/jobs/{id}/retry": {names: true, okStatus: 200, call: func(b *bundle, tgt target) call {
		return call{method: "POST", path: "/v1/jobs/" + pick(tgt, b.walkJobs["retry"], newID()) + "/retry"}
	}},
	"DELETE /v1/jobs/{id}": {names: true, okStatus: 200, call: func(b *bundle, tgt target) call {
		return call{method: "DELETE", path: "/v1/jobs/" + pick(tgt, b.walkJobs["delete"], newID())}
	}},
	"GET /v1/pauses": {names: true, okStatus: 200, call: func(b *bundle, tgt target) call {
		return call{method: "GET", path: "/v1/pauses?app=" + pick(tgt, "acme", "no-such-app")}
	}},
	// Paused, then resumed by the next sample.
	"POST /v1/pauses": {names: true, okStatus: 200, call: func(b *bundle, tgt target) call {
		return call{method: "POST", path: "/v1/pauses", body: `{"app":"` + pick(tgt, "acme", "no-such-app") + `","queue":"walk"}`}
	}},
	"DELETE /v1/pauses": {names: true, okStatus: 200, call: func(b *bundle, tgt target) call {
		return call{method: "DELETE", path: "/v1/pauses?queue=walk&app=" + pick(tgt, "acme", "no-such-app")}
	}},
	"GET /v1/dlq": {names: true, okStatus: 200, call: func(b *bundle, tgt target) call {
		return call{method: "GET", path: "/v1/dlq?app=" + pick(tgt, b.acme.ID.String(), newID())}
	}},
	"GET /v1/dlq/groups": {names: true, okStatus: 200, call: func(b *bundle, tgt target) call {
		return call{method: "GET", path: "/v1/dlq/groups?app=" + pick(tgt, "acme", "no-such-app")}
	}},
	"GET /v1/alerts": {names: true, okStatus: 200, call: func(b *bundle, tgt target) call {
		return call{method: "GET", path: "/v1/alerts?app=" + pick(tgt, "acme", "no-such-app")}
	}},
	"GET /v1/dlq/{id}": {names: true, okStatus: 200, call: func(b *bundle, tgt target) call {
		return call{method: "GET", path: "/v1/dlq/" + pick(tgt, b.acmeEntries[0].ID.String(), newID())}
	}},
	"POST /v1/dlq/{id}/replay": {names: true, okStatus: 200, call: func(b *bundle, tgt target) call {
		return call{method: "POST", path: "/v1/dlq/" + pick(tgt, b.acmeEntries[1].ID.String(), newID()) + "/replay"}
	}},
	"DELETE /v1/dlq/{id}": {names: true, okStatus: 204, call: func(b *bundle, tgt target) call {
		return call{method: "DELETE", path: "/v1/dlq/" + pick(tgt, b.acmeEntries[2].ID.String(), newID())}
	}},
	"POST /v1/dlq/replay": {names: true, okStatus: 200, call: func(b *bundle, tgt target) call {
		return call{method: "POST", path: "/v1/dlq/replay", body: `{"app":"` + pick(tgt, "acme", "no-such-app") + `","dryRun":true}`}
	}},
	"GET /v1/replays": {names: true, okStatus: 200, call: func(b *bundle, tgt target) call {
		return call{method: "GET", path: "/v1/replays?app=" + pick(tgt, "acme", "no-such-app")}
	}},
	"GET /v1/replays/{id}": {names: true, okStatus: 200, call: func(b *bundle, tgt target) call {
		return call{method: "GET", path: "/v1/replays/" + pick(tgt, b.walkReplays["get"], newID())}
	}},
	"POST /v1/replays/{id}/pause": {names: true, okStatus: 200, call: func(b *bundle, tgt target) call {
		return call{method: "POST", path: "/v1/replays/" + pick(tgt, b.walkReplays["pause"], newID()) + "/pause"}
	}},
	"POST /v1/replays/{id}/resume": {names: true, okStatus: 200, call: func(b *bundle, tgt target) call {
		return call{method: "POST", path: "/v1/replays/" + pick(tgt, b.walkReplays["resume"], newID()) + "/resume"}
	}},
	"POST /v1/replays/{id}/cancel": {names: true, okStatus: 200, call: func(b *bundle, tgt target) call {
		return call{method: "POST", path: "/v1/replays/" + pick(tgt, b.walkReplays["cancel"], newID()) + "/cancel"}
	}},
	"POST /v1/dlq/purge": {names: true, okStatus: 200, call: func(b *bundle, tgt target) call {
		return call{method: "POST", path: "/v1/dlq/purge", body: `{"app":"` + pick(tgt, "acme", "no-such-app") + `","dryRun":true}`}
	}},
	"GET /v1/retention": {okStatus: 200, call: func(b *bundle, _ target) call { return call{method: "GET", path: "/v1/retention"} }},
	"PUT /v1/retention": {okStatus: 200, call: func(b *bundle, _ target) call {
		return call{method: "PUT", path: "/v1/retention", body: `{"kind":"completed","maxAge":"3d"}`}
	}},
	"DELETE /v1/retention/{id}": {names: true, okStatus: 204, call: func(b *bundle, tgt target) call {
		return call{method: "DELETE", path: "/v1/retention/" + pick(tgt, b.walkPolicy, newID())}
	}},
	"GET /v1/retention/reports": {okStatus: 200, call: func(b *bundle, _ target) call {
		return call{method: "GET", path: "/v1/retention/reports?all=true"}
	}},
	"POST /v1/retention/reports/{id}/dismiss": {names: true, okStatus: 200, call: func(b *bundle, tgt target) call {
		return call{method: "POST", path: "/v1/retention/reports/" + pick(tgt, b.walkReport, newID()) + "/dismiss"}
	}},
	"GET /v1/schedules": {names: true, okStatus: 200, call: func(b *bundle, tgt target) call {
		return call{method: "GET", path: "/v1/schedules?app=" + pick(tgt, "acme", "no-such-app")}
	}},
	"GET /v1/schedules/{id}": {names: true, okStatus: 200, call: func(b *bundle, tgt target) call {
		return call{method: "GET", path: "/v1/schedules/" + pick(tgt, b.walkSchedule, newID())}
	}},
	"DELETE /v1/schedules/{id}": {names: true, okStatus: 204, call: func(b *bundle, tgt target) call {
		return call{method: "DELETE", path: "/v1/schedules/" + pick(tgt, b.walkSchedule, newID())}
	}},
	"GET /v1/stats":        {okStatus: 200, call: func(b *bundle, _ target) call { return call{method: "GET", path: "/v1/stats"} }},
	"GET /v1/audit":        {okStatus: 200, call: func(b *bundle, _ target) call { return call{method: "GET", path: "/v1/audit"} }},
	"GET /v1/openapi.json": {okStatus: 200, call: func(b *bundle, _ target) call { return call{method: "GET", path: "/v1/openapi.json"} }},
	"GET /metrics":         {okStatus: 200, call: func(b *bundle, _ target) call { return call{method: "GET", path: "/metrics"} }},
	"GET /":                {okStatus: 200, call: func(b *bundle, _ target) call { return call{method: "GET", path: "/"} }},
}

// stubHandler answers every request with 200 and text, standing in for the UI and metrics.
func stubHandler(text string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, text) })
}

// table returns the route table of the bundle's server.
func (b *bundle) table() []route { return b.srv.Config.Handler.(*server).routes }

func TestRouteTableIsComplete(t *testing.T) {
	t.Parallel()
	s := New(nil, Options{}).(*server)
	seen := map[string]bool{}
	for _, rt := range s.routes {
		key := rt.method + " " + rt.pattern
		if seen[key] {
			t.Errorf("route %s twice", key)
		}
		seen[key] = true
		if err := rt.check(); err != nil {
			t.Error(err)
		}
		if _, ok := samples[key]; !ok {
			t.Errorf("route %s has no sample: add one so the auth walk covers it", key)
		}
	}
	for key := range samples {
		if !seen[key] {
			t.Errorf("sample %s is no route", key)
		}
	}
	// A route without an access decision cannot be served.
	defer func() {
		if recover() == nil {
			t.Error("a route without an access decision did not panic")
		}
	}()
	route{method: "GET", pattern: "/x", handler: s.healthz}.mustCheck()
}

// mustCheck panics as New does on an inconsistent route.
func (rt route) mustCheck() {
	if err := rt.check(); err != nil {
		panic(err)
	}
}

// TestRouteTableAuth walks the route table and, for every route: no token, a garbage token,
// a well-formed unknown one, a revoked one, a garbage cookie and another auth scheme are 401
// with WWW-Authenticate: Bearer; an app token of another app on a request naming acme's
// resource gets the same 404 (status and body) as for a resource that does not exist; a
// read-only token on a write is 403; an app token on an admin route is 403; none of these
// changes anything; and an admin token gets the route's success.
func TestRouteTableAuth(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, dbURL string) {
		b := setup(t, dbURL, Options{UI: stubHandler("ui"), Metrics: stubHandler("sluice_up 1\n")})
		unknown := "sluice_" + strings.Repeat("ab", 16) + "_" + strings.Repeat("A", 43)
		// The retention policy and trim report the samples name (made first: dead-lettering
		// runs a worker, whose upkeep would advance the replay operations below).
		b.walkPolicy, b.walkReport = b.newPolicy(), b.newTrimReport()
		b.walkSchedule = b.newSchedule()
		b.walkJobs = b.newWalkJobs()
		// The replay operations the samples name, one per route that changes one.
		b.walkReplays = map[string]string{"get": b.newReplay(false), "pause": b.newReplay(false),
			"resume": b.newReplay(true), "cancel": b.newReplay(false)}
		for _, rt := range b.table() {
			key := rt.method + " " + rt.pattern
			smp, ok := samples[key]
			if !ok {
				t.Errorf("route %s has no sample", key)
				continue
			}
			if rt.resource != resourceNone && !smp.names {
				t.Errorf("route %s names a resource but its sample does not say so", key)
			}
			t.Run(key, func(t *testing.T) {
				b.t = t
				before := b.snapshot()
				c := smp.call(b, own)
				if rt.access == accessPublic {
					if r := b.send(c); r.status == http.StatusUnauthorized {
						t.Fatalf("public route %s: %s", key, r)
					}
				} else {
					for name, mod := range map[string]func(call) call{
						"no token":           func(c call) call { return c },
						"garbage token":      func(c call) call { c.token = "garbage"; return c },
						"unknown token":      func(c call) call { c.token = unknown; return c },
						"revoked token":      func(c call) call { c.token = b.revoked; return c },
						"garbage cookie":     func(c call) call { c.cookie = "garbage"; return c },
						"revoked cookie":     func(c call) call { c.cookie = b.revoked; return c },
						"basic auth":         func(c call) call { c.header = map[string]string{"Authorization": "Basic " + b.admin}; return c },
						"empty bearer":       func(c call) call { c.header = map[string]string{"Authorization": "Bearer "}; return c },
						"token after cookie": func(c call) call { c.cookie = b.admin; c.token = "garbage"; return c },
					} {
						r := b.send(mod(c))
						if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") != "Bearer" {
							t.Fatalf("%s: want 401 with WWW-Authenticate: Bearer, got %s %v", name, r, r.header)
						}
						r.errorBody(t)
					}
					if smp.names {
						foreign, none := c, smp.call(b, missing)
						foreign.token, none.token = b.globexTok, b.globexTok
						rf, rn := b.send(foreign), b.send(none)
						if rf.status != http.StatusNotFound || rn.status != rf.status || !bytes.Equal(rf.body, rn.body) {
							t.Fatalf("another app's token: on acme's resource %s, on a missing one %s; want the same 404", rf, rn)
						}
						if rt.resource != resourceNone && rt.method != http.MethodGet {
							// Decided before the body is read: a body that is malformed, or
							// over the limit, does not change the answer.
							for _, body := range []string{`{"not json`, strings.Repeat("x", DefaultMaxBodyBytes+1)} {
								foreign.body = body
								if r := b.send(foreign); r.status != rf.status || !bytes.Equal(r.body, rf.body) {
									t.Fatalf("another app's token with a bad body: %s, want the 404 %s", r, rf)
								}
							}
						}
						if rt.resource != resourceNone {
							none.token = b.admin
							if ra := b.send(none); ra.status != http.StatusNotFound || !bytes.Equal(ra.body, rf.body) {
								t.Fatalf("admin token on a missing resource: %s, want the 404 %s", ra, rf)
							}
						}
					}
					if rt.method != http.MethodGet && rt.access != accessSession {
						for _, ro := range []string{b.adminRO, b.acmeRO} {
							for _, body := range []string{c.body, `{"not json`} {
								bad := c
								bad.token, bad.body = ro, body
								if r := b.send(bad); r.status != http.StatusForbidden {
									t.Fatalf("read-only token on a write: %s", r)
								}
							}
						}
					}
					if slices.Contains([]access{accessAdminRead, accessAdminWrite, accessMetrics}, rt.access) {
						c.token = b.acmeTok
						if r := b.send(c); r.status != http.StatusForbidden {
							t.Fatalf("app token on an admin route: %s", r)
						}
					}
				}
				if after := b.snapshot(); after != before {
					t.Fatalf("refused requests changed the tables:\nbefore %s\nafter  %s", before, after)
				}
				c = smp.call(b, own)
				c.token = b.admin
				if r := b.send(c); r.status != smp.okStatus {
					t.Fatalf("admin token: want %d, got %s", smp.okStatus, r)
				}
			})
		}
		b.t = t
		if got := strings.Count(b.log.String(), "token="+b.adminID.String()); got == 0 {
			t.Errorf("the request log does not name the admin token's id:\n%s", b.log.String())
		}
	})
}

// TestAppTokenScope checks what an app token sees beyond single resources: listings and
// stats are limited to its app, an explicit foreign app filter is 404, bulk operations touch
// only its app, and admin-only routes are 403.
func TestAppTokenScope(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, dbURL string) {
		b := setup(t, dbURL, Options{})
		var apps struct{ Items []struct{ Name string } }
		b.ok(200, call{method: "GET", path: "/v1/apps", token: b.acmeRO}).decode(t, &apps)
		if len(apps.Items) != 1 || apps.Items[0].Name != "acme" {
			t.Fatalf("an app token's apps: %+v", apps.Items)
		}
		for _, path := range []string{"/v1/dlq", "/v1/dlq?all=true", "/v1/jobs", "/v1/jobs?app=acme", "/v1/dlq?app=" + b.acme.ID.String()} {
			var page struct{ Items []struct{ AppID uuid.UUID } }
			b.ok(200, call{method: "GET", path: path, token: b.acmeRO}).decode(t, &page)
			if len(page.Items) == 0 {
				t.Fatalf("%s: nothing listed", path)
			}
			for _, it := range page.Items {
				if it.AppID != b.acme.ID {
					t.Fatalf("%s: an app token sees another app's item", path)
				}
			}
		}
		var stats struct{ Items []statsRow }
		b.ok(200, call{method: "GET", path: "/v1/stats", token: b.acmeTok}).decode(t, &stats)
		if len(stats.Items) == 0 {
			t.Fatal("no stats for the app token")
		}
		for _, s := range stats.Items {
			if s.AppID != b.acme.ID || s.AppName != "acme" {
				t.Fatalf("stats of an app token: %+v", s)
			}
		}
		for _, ref := range []string{"globex", b.globex.ID.String(), "no-such-app", newID()} {
			e := b.fail(404, "app", call{method: "GET", path: "/v1/dlq?app=" + ref, token: b.acmeTok})
			if e.Error != "app: no app has this id or name" {
				t.Fatalf("foreign app filter: %q", e.Error)
			}
		}
		// A bulk replay with an app token and only a type replays its own app's entries.
		op := b.runReplay(b.ok(202, call{method: "POST", path: "/v1/dlq/replay", token: b.acmeTok, body: `{"type":"email.send"}`}))
		if op.Matched != 2 || op.Replayed != 2 || op.AppID == nil || *op.AppID != b.acme.ID {
			t.Fatalf("app-token bulk replay: %+v", op)
		}
		// The operation is acme's: globex's token sees it as missing, and lists none.
		b.fail(404, "id", call{method: "GET", path: "/v1/replays/" + op.ID.String(), token: b.globexTok})
		b.fail(404, "id", call{method: "POST", path: "/v1/replays/" + op.ID.String() + "/cancel", token: b.globexTok})
		var ops struct{ Items []sluice.ReplayOperation }
		b.ok(200, call{method: "GET", path: "/v1/replays", token: b.globexTok}).decode(t, &ops)
		if len(ops.Items) != 0 {
			t.Fatalf("globex lists acme's operations: %+v", ops.Items)
		}
		b.ok(200, call{method: "GET", path: "/v1/replays", token: b.acmeTok}).decode(t, &ops)
		if len(ops.Items) != 1 || ops.Items[0].ID != op.ID {
			t.Fatalf("acme's operations: %+v", ops.Items)
		}
		// An operation over every app is an admin's only.
		var all sluice.ReplayOperation
		b.ok(202, call{method: "POST", path: "/v1/dlq/replay", token: b.admin, body: `{"type":"none"}`}).decode(t, &all)
		b.fail(404, "id", call{method: "GET", path: "/v1/replays/" + all.ID.String(), token: b.acmeTok})
		b.ok(200, call{method: "GET", path: "/v1/replays/" + all.ID.String(), token: b.admin})
		for _, e := range b.allDead() {
			if (e.ReplayedAt != nil) != (e.AppID == b.acme.ID && e.Type == "email.send") {
				t.Fatalf("entry %s of app %s type %s replayed=%v", e.ID, e.AppID, e.Type, e.ReplayedAt != nil)
			}
		}
		// An app token's implicit app is no filter: an empty bulk body is still refused.
		b.fail(400, "filter", call{method: "POST", path: "/v1/dlq/replay", token: b.acmeTok, body: `{}`})
		b.fail(400, "filter", call{method: "POST", path: "/v1/dlq/purge", token: b.acmeTok, body: `{"dryRun":true}`})
		// purge all with an app token purges only its app.
		var pr purgeResult
		b.ok(200, call{method: "POST", path: "/v1/dlq/purge", token: b.acmeTok, body: `{"all":true}`}).decode(t, &pr)
		if pr.Matched != 3 || pr.Purged != 3 {
			t.Fatalf("app-token purge all: %+v", pr)
		}
		if left := b.allDead(); len(left) != 2 || left[0].AppID != b.globex.ID || left[1].AppID != b.globex.ID {
			t.Fatalf("after an app token's purge: %+v", left)
		}
		for _, c := range []call{
			{method: "POST", path: "/v1/apps", token: b.acmeTok, body: `{"name":"x"}`},
			{method: "GET", path: "/v1/audit", token: b.acmeTok},
			{method: "GET", path: "/metrics", token: b.acmeTok},
		} {
			b.fail(403, "", c)
		}
		var who sessionInfo
		b.ok(200, call{method: "GET", path: "/v1/session", token: b.acmeRO}).decode(t, &who)
		if who.Admin || !who.ReadOnly || who.AppName != "acme" || who.AppID == nil || *who.AppID != b.acme.ID || who.Name != "acme-ro" {
			t.Fatalf("session of the acme read-only token: %+v", who)
		}
	})
}
