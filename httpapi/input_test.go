package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// badCase is one bad input: the request (sent with the admin token unless it names another),
// and the 4xx answer it must get, naming field. With safe set, the request may instead be
// answered 200 having matched nothing (a filter value that is valid text, matched literally).
type badCase struct {
	route  string
	name   string
	c      call
	status int
	field  string
	safe   bool
}

// sqlInjections are classic injection strings, tried in every filter.
var sqlInjections = []string{
	`' OR '1'='1`,
	`x'OR'1'='1`,
	`'; DROP TABLE job_dlq; --`,
	`1; DELETE FROM jobs`,
	`" OR ""="`,
	`%' OR 1=1 --`,
	`\'; TRUNCATE apps; --`,
}

// bodyCases are the malformed-body cases of a route whose valid body is valid (a JSON
// object whose first field is firstField).
func bodyCases(route, method, path, valid, firstField string) []badCase {
	c := func(name, body string, status int, field string) badCase {
		return badCase{route: route, name: name, c: call{method: method, path: path, body: body}, status: status, field: field}
	}
	inner := strings.TrimSuffix(strings.TrimPrefix(valid, "{"), "}")
	return []badCase{
		c("malformed JSON", `{"`+firstField+`":`, 400, "body"),
		c("malformed JSON, bad token", `{"`+firstField+`": tru}`, 400, "body"),
		c("an array", `[`+valid+`]`, 400, "body"),
		c("a string", `"x"`, 400, "body"),
		c("null", `null`, 400, "body"),
		c("empty body", ``, 400, "body"),
		c("unknown field", `{"nope":1,`+inner+`}`, 400, "nope"),
		c("unknown field, wrong case", `{"`+strings.ToUpper(firstField[:1])+firstField[1:]+`":1}`, 400, strings.ToUpper(firstField[:1])+firstField[1:]),
		c("trailing object", valid+` {}`, 400, "body"),
		c("trailing garbage", valid+`x`, 400, "body"),
		c("field twice", `{`+inner+`,`+inner+`}`, 400, firstField),
		c("invalid UTF-8", `{"`+firstField+`":"`+"\xff\xfe"+`"}`, 400, firstField),
		c("over the limit", `{"`+firstField+`":"`+strings.Repeat("a", DefaultMaxBodyBytes)+`"}`, 413, "body"),
	}
}

// noBodyCases are the cases of a route that takes no body.
func noBodyCases(route, method, path string) []badCase {
	c := func(name, body string, status int) badCase {
		return badCase{route: route, name: name, c: call{method: method, path: path, body: body}, status: status, field: "body"}
	}
	return []badCase{
		c("a body", `{}`, 400),
		c("garbage", `x`, 400),
		c("over the limit", strings.Repeat(" ", DefaultMaxBodyBytes+1), 413),
	}
}

// badIDs are path ids that are no UUID.
var badIDs = []string{"not-a-uuid", "123", url.PathEscape(`' OR 1=1 --`), "%00", "01a21a55-eb18-7ddf-8bab-c095c1bcf03", "01a21a55-eb18-7ddf-8bab-c095c1bcf03fz"}

// listCases are the paging and filter cases of a listing at path, where other is a query of
// another filter than the first page's and cursor is a real cursor of path's unfiltered
// first page.
func listCases(route, path, cursor, other string, params []string) []badCase {
	get := func(name, query string, status int, field string) badCase {
		return badCase{route: route, name: name, c: call{method: "GET", path: path + "?" + query}, status: status, field: field}
	}
	tampered := tamperCursor(cursor)
	out := []badCase{
		get("limit 0", "limit=0", 400, "limit"),
		get("limit -1", "limit=-1", 400, "limit"),
		get("limit 10^12", "limit=1000000000000", 400, "limit"),
		get("limit 1001", "limit=1001", 400, "limit"),
		get("limit x", "limit=x", 400, "limit"),
		get("limit 1.5", "limit=1.5", 400, "limit"),
		get("limit huge", "limit=99999999999999999999999", 400, "limit"),
		get("limit twice", "limit=1&limit=2", 400, "limit"),
		get("garbage cursor", "cursor=garbage", 400, "cursor"),
		get("truncated cursor", "cursor="+cursor[:len(cursor)/2], 400, "cursor"),
		get("tampered cursor", "cursor="+tampered, 400, "cursor"),
		get("future cursor version", "cursor="+base64.RawURLEncoding.EncodeToString([]byte(`{"v":2}`)), 400, "cursor"),
		get("cursor of another filter", other+"&cursor="+cursor, 400, "cursor"),
		get("unknown parameter", "nope=1", 400, "nope"),
		get("bad escape", "limit=%zz", 400, "query"),
	}
	for _, p := range params {
		out = append(out, get(p+" NUL", p+"=%00", 400, p), get(p+" invalid UTF-8", p+"=%FF%FE", 400, p))
	}
	return out
}

// tamperCursor gives a cursor another filter fingerprint, as a client editing it would.
func tamperCursor(cursor string) string {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		panic(err)
	}
	var st map[string]any
	if err := json.Unmarshal(raw, &st); err != nil {
		panic(err)
	}
	st["f"] = "AAAAAAAAAAAAAAAA"
	raw, _ = json.Marshal(st)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// injectionCases try every injection string in each filter parameter of a listing; each is
// refused naming the parameter, or safely matches nothing.
func injectionCases(route, path string, params []string) []badCase {
	var out []badCase
	for _, p := range params {
		for _, inj := range sqlInjections {
			out = append(out, badCase{route: route, name: p + " injection " + inj, safe: true, status: 400, field: p,
				c: call{method: "GET", path: path + "?" + p + "=" + url.QueryEscape(inj)}})
		}
	}
	return out
}

// bulkInjectionCases try every injection string in each filter field of a bulk body, for
// real (not a dry run): each is refused naming the field, or matches nothing and changes
// nothing.
func bulkInjectionCases(route, path string, fields []string) []badCase {
	var out []badCase
	for _, f := range fields {
		for _, inj := range sqlInjections {
			// A dry run: the injected value is checked all the same, and nothing is recorded.
			body, _ := json.Marshal(map[string]any{f: inj, "dryRun": true})
			out = append(out, badCase{route: route, name: f + " injection " + inj, safe: true, status: 400, field: f,
				c: call{method: "POST", path: path, body: string(body)}})
		}
	}
	return out
}

// badInputs is the corpus, for every route that takes input.
func badInputs(b *bundle) []badCase {
	t := b.t
	var jobsPage, deadPage struct{ NextCursor string }
	b.ok(200, call{method: "GET", path: "/v1/jobs?limit=1", token: b.admin}).decode(t, &jobsPage)
	b.ok(200, call{method: "GET", path: "/v1/dlq?limit=1", token: b.admin}).decode(t, &deadPage)
	if jobsPage.NextCursor == "" || deadPage.NextCursor == "" {
		t.Fatal("the fixtures need a second page")
	}
	var cs []badCase
	add := func(route string, cases ...badCase) {
		for _, c := range cases {
			c.route = route
			cs = append(cs, c)
		}
	}
	q := func(name, route, path string, status int, field string) badCase {
		return badCase{route: route, name: name, c: call{method: strings.Fields(route)[0], path: path}, status: status, field: field}
	}
	post := func(name, path, body string, status int, field string) badCase {
		return badCase{name: name, c: call{method: "POST", path: path, body: body}, status: status, field: field}
	}

	// Session.
	add("POST /v1/session", bodyCases("", "POST", "/v1/session", `{"token":"`+b.admin+`"}`, "token")...)
	add("POST /v1/session",
		post("no token", "/v1/session", `{}`, 400, "token"),
		post("token a number", "/v1/session", `{"token":1}`, 400, "token"),
		post("token NUL", "/v1/session", `{"token":"sluice_\u0000"}`, 401, ""),
		post("garbage token", "/v1/session", `{"token":"garbage"}`, 401, ""),
		post("revoked token", "/v1/session", `{"token":"`+b.revoked+`"}`, 401, ""))
	for _, r := range []string{"GET /v1/session", "GET /v1/apps", "GET /v1/stats", "GET /v1/openapi.json"} {
		add(r, q("unknown parameter", r, strings.Fields(r)[1]+"?x=1", 400, "x"))
	}
	add("DELETE /v1/session", noBodyCases("", "DELETE", "/v1/session")...)

	// Apps.
	add("POST /v1/apps", bodyCases("", "POST", "/v1/apps", `{"name":"fresh"}`, "name")...)
	for name, body := range map[string]string{
		"empty name":       `{"name":""}`,
		"no name":          `{}`,
		"NUL in name":      `{"name":"a\u0000b"}`,
		"newline in name":  `{"name":"a\nb"}`,
		"UUID-shaped name": `{"name":"01a21a55-eb18-7ddf-8bab-c095c1bcf03f"}`,
		"129-char name":    `{"name":"` + strings.Repeat("n", 129) + `"}`,
		"name an array":    `{"name":["x"]}`,
		"name a number":    `{"name":7}`,
		"padded name":      `{"name":" acme"}`,
	} {
		add("POST /v1/apps", post(name, "/v1/apps", body, 400, "name"))
	}
	add("POST /v1/apps", post("taken name", "/v1/apps", `{"name":"acme"}`, 409, "name"))

	// Limits.
	const lim = "/v1/apps/acme/limits"
	put := func(name, path, body string, status int, field string) badCase {
		return badCase{name: name, c: call{method: "PUT", path: path, body: body}, status: status, field: field}
	}
	add("PUT /v1/apps/{app}/limits", bodyCases("", "PUT", lim, `{"maxRunning":3}`, "maxRunning")...)
	for _, app := range []string{"%00", "no-such-app", "01a21a55-eb18-7ddf-8bab-c095c1bcf03f"} {
		add("PUT /v1/apps/{app}/limits", put("app "+app, "/v1/apps/"+app+"/limits", `{"maxRunning":3}`, 404, "app"))
	}
	for _, tc := range []struct{ name, body, field string }{
		{"maxRunning -1", `{"maxRunning":-1}`, "maxRunning"},
		{"maxRunning 10^6+1", `{"maxRunning":1000001}`, "maxRunning"},
		{"maxRunning 1.5", `{"maxRunning":1.5}`, "maxRunning"},
		{"maxRunning a string", `{"maxRunning":"3"}`, "maxRunning"},
		{"rate -1", `{"rate":-1}`, "rate"},
		{"rate 10^7", `{"rate":1e7}`, "rate"},
		{"rate a string", `{"rate":"fast"}`, "rate"},
		{"burst without a rate", `{"burst":5}`, "burst"},
		{"burst -1", `{"rate":1,"burst":-1}`, "burst"},
	} {
		add("PUT /v1/apps/{app}/limits", put(tc.name, lim, tc.body, 400, tc.field))
	}

	// Rename, holdings, delete.
	const acmePath = "/v1/apps/acme"
	patch := func(name, path, body string, status int, field string) badCase {
		return badCase{name: name, c: call{method: "PATCH", path: path, body: body}, status: status, field: field}
	}
	add("PATCH /v1/apps/{app}", bodyCases("", "PATCH", acmePath, `{"name":"acme"}`, "name")...)
	for name, body := range map[string]string{
		"empty name":       `{"name":""}`,
		"no name":          `{}`,
		"NUL in name":      `{"name":"a\u0000b"}`,
		"UUID-shaped name": `{"name":"01a21a55-eb18-7ddf-8bab-c095c1bcf03f"}`,
		"129-char name":    `{"name":"` + strings.Repeat("n", 129) + `"}`,
		"name a number":    `{"name":7}`,
	} {
		add("PATCH /v1/apps/{app}", patch(name, acmePath, body, 400, "name"))
	}
	add("PATCH /v1/apps/{app}", patch("taken name", acmePath, `{"name":"globex"}`, 409, "name"))
	for _, app := range []string{"%00", "no-such-app", "01a21a55-eb18-7ddf-8bab-c095c1bcf03f"} {
		add("PATCH /v1/apps/{app}", patch("app "+app, "/v1/apps/"+app, `{"name":"x"}`, 404, "app"))
		add("GET /v1/apps/{app}/holdings", q("app "+app, "GET /v1/apps/{app}/holdings", "/v1/apps/"+app+"/holdings", 404, "app"))
		add("DELETE /v1/apps/{app}", badCase{name: "app " + app, c: call{method: "DELETE", path: "/v1/apps/" + app}, status: 404, field: "app"})
	}
	add("GET /v1/apps/{app}/holdings", q("a parameter", "GET /v1/apps/{app}/holdings", acmePath+"/holdings?x=1", 400, "x"))
	const delApp = "DELETE /v1/apps/{app}"
	add(delApp, noBodyCases("", "DELETE", acmePath+"?purge=true")...)
	for _, tc := range []struct{ name, query, field string }{
		{"purge yes", "purge=yes", "purge"},
		{"purge 1", "purge=1", "purge"},
		{"batchSize without purge", "batchSize=10", "batchSize"},
		{"batchSize 0", "purge=true&batchSize=0", "batchSize"},
		{"batchSize -1", "purge=true&batchSize=-1", "batchSize"},
		{"batchSize 10001", "purge=true&batchSize=10001", "batchSize"},
		{"batchSize 10^12", "purge=true&batchSize=1000000000000", "batchSize"},
		{"batchSize x", "purge=true&batchSize=x", "batchSize"},
		{"unknown parameter", "force=true", "force"},
		{"purge twice", "purge=true&purge=true", "purge"},
	} {
		add(delApp, badCase{name: tc.name, c: call{method: "DELETE", path: acmePath + "?" + tc.query}, status: 400, field: tc.field})
	}

	// Enqueue.
	const enq = "/v1/apps/acme/jobs"
	add("POST /v1/apps/{app}/jobs", bodyCases("", "POST", enq, `{"type":"t","payload":{}}`, "type")...)
	for _, app := range []string{"%00", url.PathEscape(`' OR '1'='1`), strings.Repeat("a", 200), "no-such-app", "01a21a55-eb18-7ddf-8bab-c095c1bcf03f", "%FF"} {
		add("POST /v1/apps/{app}/jobs", post("app "+app, "/v1/apps/"+app+"/jobs", `{"type":"t","payload":{}}`, 404, "app"))
	}
	deep := strings.Repeat("[", 101) + strings.Repeat("]", 101)
	for _, tc := range []struct{ name, body, field string }{
		{"no type", `{"payload":{}}`, "type"},
		{"type with a space", `{"type":"a b","payload":{}}`, "type"},
		{"type NUL", `{"type":"a\u0000","payload":{}}`, "type"},
		{"type injection", `{"type":"'; DROP TABLE jobs; --","payload":{}}`, "type"},
		{"type a number", `{"type":1,"payload":{}}`, "type"},
		{"no payload", `{"type":"t"}`, "payload"},
		{"payload null", `{"type":"t","payload":null}`, "payload"},
		{"payload a string", `{"type":"t","payload":"x"}`, "payload"},
		{"payload a number", `{"type":"t","payload":1}`, "payload"},
		{"payload NUL", `{"type":"t","payload":{"a":"\u0000"}}`, "payload"},
		{"payload NUL key", `{"type":"t","payload":{"\u0000":1}}`, "payload"},
		{"payload invalid UTF-8", "{\"type\":\"t\",\"payload\":{\"a\":\"\xff\"}}", "payload"},
		{"payload lone surrogate", `{"type":"t","payload":{"a":"\ud800"}}`, "payload"},
		{"payload duplicate keys", `{"type":"t","payload":{"a":1,"a":2}}`, "payload"},
		{"payload too deep", `{"type":"t","payload":` + deep + `}`, "payload"},
		{"payload over 1 MiB", `{"type":"t","payload":{"a":"` + strings.Repeat("x", 1<<20) + `"}}`, "payload"},
		{"payload huge number", `{"type":"t","payload":[1e400]}`, "payload"},
		{"priority 101", `{"type":"t","payload":{},"priority":101}`, "priority"},
		{"priority -101", `{"type":"t","payload":{},"priority":-101}`, "priority"},
		{"priority 1.5", `{"type":"t","payload":{},"priority":1.5}`, "priority"},
		{"priority a string", `{"type":"t","payload":{},"priority":"1"}`, "priority"},
		{"maxAttempts 0", `{"type":"t","payload":{},"maxAttempts":0}`, "maxAttempts"},
		{"maxAttempts -1", `{"type":"t","payload":{},"maxAttempts":-1}`, "maxAttempts"},
		{"maxAttempts 2^31", `{"type":"t","payload":{},"maxAttempts":2147483648}`, "maxAttempts"},
		{"maxAttempts 10^30", `{"type":"t","payload":{},"maxAttempts":1e30}`, "maxAttempts"},
		{"runAt words", `{"type":"t","payload":{},"runAt":"tomorrow"}`, "runAt"},
		{"runAt 1900", `{"type":"t","payload":{},"runAt":"1900-01-01T00:00:00Z"}`, "runAt"},
		{"runAt a number", `{"type":"t","payload":{},"runAt":1}`, "runAt"},
		{"queue with a space", `{"type":"t","payload":{},"queue":"a b"}`, "queue"},
		{"uniqueKey NUL", `{"type":"t","payload":{},"uniqueKey":"k\u0000"}`, "uniqueKey"},
		{"uniqueKey 256 chars", `{"type":"t","payload":{},"uniqueKey":"` + strings.Repeat("k", 256) + `"}`, "uniqueKey"},
	} {
		add("POST /v1/apps/{app}/jobs", post(tc.name, enq, tc.body, 400, tc.field))
	}

	// Jobs.
	add("GET /v1/jobs", listCases("", "/v1/jobs", jobsPage.NextCursor, "type=report.build", []string{"app", "type", "status"})...)
	add("GET /v1/jobs", injectionCases("", "/v1/jobs", []string{"app", "type", "status"})...)
	add("GET /v1/jobs",
		q("status bogus", "GET /v1/jobs", "/v1/jobs?status=dead", 400, "status"),
		q("unknown app", "GET /v1/jobs", "/v1/jobs?app=no-such-app", 400, "app"),
		q("type with a space", "GET /v1/jobs", "/v1/jobs?type=a+b", 400, "type"))
	for _, id := range badIDs {
		add("GET /v1/jobs/{id}", q("id "+id, "GET /v1/jobs/{id}", "/v1/jobs/"+id, 400, "id"))
		add("GET /v1/dlq/{id}", q("id "+id, "GET /v1/dlq/{id}", "/v1/dlq/"+id, 400, "id"))
		add("POST /v1/dlq/{id}/replay", q("id "+id, "POST /v1/dlq/{id}/replay", "/v1/dlq/"+id+"/replay", 400, "id"))
		add("DELETE /v1/dlq/{id}", q("id "+id, "DELETE /v1/dlq/{id}", "/v1/dlq/"+id, 400, "id"))
	}
	add("GET /v1/jobs/{id}", q("a parameter", "GET /v1/jobs/{id}", "/v1/jobs/"+b.acmeJob.ID.String()+"?x=1", 400, "x"))
	add("GET /v1/dlq/{id}", q("a parameter", "GET /v1/dlq/{id}", "/v1/dlq/"+b.acmeEntries[0].ID.String()+"?x=1", 400, "x"))

	// The dead-letter queue.
	dlqParams := []string{"app", "type", "failedAfter", "failedBefore", "errorContains", "all"}
	add("GET /v1/dlq", listCases("", "/v1/dlq", deadPage.NextCursor, "all=true", dlqParams)...)
	add("GET /v1/dlq", injectionCases("", "/v1/dlq", dlqParams)...)
	add("GET /v1/dlq",
		q("failedAfter words", "GET /v1/dlq", "/v1/dlq?failedAfter=yesterday", 400, "failedAfter"),
		q("failedAfter month 13", "GET /v1/dlq", "/v1/dlq?failedAfter=2026-13-01T00:00:00Z", 400, "failedAfter"),
		q("failedAfter relative", "GET /v1/dlq", "/v1/dlq?failedAfter=-2h", 400, "failedAfter"),
		q("failedBefore 1900", "GET /v1/dlq", "/v1/dlq?failedBefore=1900-01-01T00:00:00Z", 400, "failedBefore"),
		q("failedBefore not after failedAfter", "GET /v1/dlq", "/v1/dlq?failedAfter=2026-01-02T00:00:00Z&failedBefore=2026-01-01T00:00:00Z", 400, "failedBefore"),
		q("all yes", "GET /v1/dlq", "/v1/dlq?all=yes", 400, "all"),
		q("all 1", "GET /v1/dlq", "/v1/dlq?all=1", 400, "all"),
		q("errorContains 256 chars", "GET /v1/dlq", "/v1/dlq?errorContains="+strings.Repeat("e", 256), 400, "errorContains"),
		q("unknown app", "GET /v1/dlq", "/v1/dlq?app=no-such-app", 400, "app"))
	const groups = "GET /v1/dlq/groups"
	add(groups, injectionCases("", "/v1/dlq/groups", []string{"app", "type", "failedAfter", "failedBefore", "errorContains", "group"})...)
	add(groups,
		q("unknown parameter", groups, "/v1/dlq/groups?x=1", 400, "x"),
		q("a cursor", groups, "/v1/dlq/groups?cursor=abc", 400, "cursor"),
		q("all", groups, "/v1/dlq/groups?all=true", 400, "all"),
		q("limit 0", groups, "/v1/dlq/groups?limit=0", 400, "limit"),
		q("limit 10^12", groups, "/v1/dlq/groups?limit=1000000000000", 400, "limit"),
		q("group not a signature", groups, "/v1/dlq/groups?group=zz", 400, "group"),
		q("failedAfter words", groups, "/v1/dlq/groups?failedAfter=yesterday", 400, "failedAfter"),
		q("failedBefore not after failedAfter", groups, "/v1/dlq/groups?failedAfter=2026-01-02T00:00:00Z&failedBefore=2026-01-01T00:00:00Z", 400, "failedBefore"),
		q("unknown app", groups, "/v1/dlq/groups?app=no-such-app", 400, "app"))
	const alerts = "GET /v1/alerts"
	add(alerts, injectionCases("", "/v1/alerts", []string{"app", "status"})...)
	add(alerts,
		q("unknown parameter", alerts, "/v1/alerts?x=1", 400, "x"),
		q("status unknown", alerts, "/v1/alerts?status=lost", 400, "status"),
		q("status upper case", alerts, "/v1/alerts?status=PENDING", 400, "status"),
		q("limit 0", alerts, "/v1/alerts?limit=0", 400, "limit"),
		q("limit 10^12", alerts, "/v1/alerts?limit=1000000000000", 400, "limit"),
		q("tampered cursor", alerts, "/v1/alerts?cursor=abc", 400, "cursor"),
		q("unknown app", alerts, "/v1/alerts?app=no-such-app", 400, "app"))
	entry := "/v1/dlq/" + b.acmeEntries[0].ID.String()
	add("POST /v1/dlq/{id}/replay", noBodyCases("", "POST", entry+"/replay")...)
	add("DELETE /v1/dlq/{id}", noBodyCases("", "DELETE", entry)...)

	filterFields := []string{"app", "type", "errorContains"}
	for _, r := range []struct{ route, path string }{{"POST /v1/dlq/replay", "/v1/dlq/replay"}, {"POST /v1/dlq/purge", "/v1/dlq/purge"}} {
		add(r.route, bodyCases("", "POST", r.path, `{"type":"email.send","dryRun":true}`, "type")...)
		add(r.route, bulkInjectionCases("", r.path, filterFields)...)
		for _, tc := range []struct{ name, body, field string }{
			{"empty filter", `{}`, "filter"},
			{"only dryRun", `{"dryRun":true}`, "filter"},
			{"app NUL", `{"app":"\u0000"}`, "app"},
			{"unknown app", `{"app":"no-such-app"}`, "app"},
			{"app a number", `{"app":1}`, "app"},
			{"type NUL", `{"type":"a\u0000"}`, "type"},
			{"failedAfter words", `{"failedAfter":"yesterday"}`, "failedAfter"},
			{"failedAfter a number", `{"failedAfter":1700000000}`, "failedAfter"},
			{"failedBefore 1900", `{"failedBefore":"1900-01-01T00:00:00Z"}`, "failedBefore"},
			{"failedBefore not after failedAfter", `{"failedAfter":"2026-01-02T00:00:00Z","failedBefore":"2026-01-01T00:00:00Z"}`, "failedBefore"},
			{"errorContains NUL", `{"errorContains":"a\u0000"}`, "errorContains"},
			{"dryRun a string", `{"type":"x","dryRun":"yes"}`, "dryRun"},
		} {
			add(r.route, post(tc.name, r.path, tc.body, 400, tc.field))
		}
	}
	add("POST /v1/dlq/replay",
		post("rate -1", "/v1/dlq/replay", `{"type":"email.send","rate":-1}`, 400, "rate"),
		post("rate a string", "/v1/dlq/replay", `{"type":"email.send","rate":"fast"}`, 400, "rate"),
		post("rate 1e400", "/v1/dlq/replay", `{"type":"email.send","rate":1e400}`, 400, "rate"),
		post("a purge field", "/v1/dlq/replay", `{"type":"email.send","all":true}`, 400, "all"),
		post("attempts 1001", "/v1/dlq/replay", `{"type":"email.send","attempts":1001}`, 400, "attempts"),
		post("attempts -1", "/v1/dlq/replay", `{"type":"email.send","attempts":-1}`, 400, "attempts"),
		post("attempts a string", "/v1/dlq/replay", `{"type":"email.send","attempts":"3"}`, 400, "attempts"),
		post("payloadPatch an array", "/v1/dlq/replay", `{"type":"email.send","payloadPatch":[1]}`, 400, "payloadPatch"),
		post("payloadPatch a string", "/v1/dlq/replay", `{"type":"email.send","payloadPatch":"{}"}`, 400, "payloadPatch"),
		post("payloadPatch NUL", "/v1/dlq/replay", `{"type":"email.send","payloadPatch":{"a":"\u0000"}}`, 400, "payloadPatch"),
		post("payloadPatch duplicate keys", "/v1/dlq/replay", `{"type":"email.send","payloadPatch":{"a":1,"a":2}}`, 400, "payloadPatch"),
		post("payloadPatch over 64 KiB", "/v1/dlq/replay", `{"type":"email.send","payloadPatch":{"a":"`+strings.Repeat("x", 65536)+`"}}`, 400, "payloadPatch"),
		post("includeLoops a string", "/v1/dlq/replay", `{"type":"email.send","includeLoops":"yes"}`, 400, "includeLoops"),
		post("batchSize", "/v1/dlq/replay", `{"type":"email.send","batchSize":10}`, 400, "batchSize"))

	// Retention (before the replay operations: making a trim report runs a worker, whose
	// upkeep would advance them).
	add("GET /v1/retention", q("unknown parameter", "GET /v1/retention", "/v1/retention?x=1", 400, "x"))
	const ret = "PUT /v1/retention"
	add(ret, bodyCases("", "PUT", "/v1/retention", `{"kind":"completed","maxAge":"3d"}`, "kind")...)
	for _, tc := range []struct{ name, body, field string }{
		{"no kind", `{"maxAge":"1h"}`, "kind"},
		{"unknown kind", `{"kind":"all","maxAge":"1h"}`, "kind"},
		{"kind a number", `{"kind":1,"maxAge":"1h"}`, "kind"},
		{"no limits", `{"kind":"completed"}`, "maxAge"},
		{"maxAge garbage", `{"kind":"completed","maxAge":"soon"}`, "maxAge"},
		{"maxAge negative", `{"kind":"completed","maxAge":"-1h"}`, "maxAge"},
		{"maxAge 0s", `{"kind":"completed","maxAge":"0s"}`, "maxAge"},
		{"maxAge 1ns", `{"kind":"completed","maxAge":"1ns"}`, "maxAge"},
		{"maxAge 10^6 days", `{"kind":"completed","maxAge":"1000000d"}`, "maxAge"},
		{"maxAge a number", `{"kind":"completed","maxAge":3600}`, "maxAge"},
		{"maxCount -1", `{"kind":"completed","maxCount":-1}`, "maxCount"},
		{"maxCount 1.5", `{"kind":"completed","maxCount":1.5}`, "maxCount"},
		{"maxCount 10^30", `{"kind":"completed","maxCount":1000000000000000000000000000000}`, "maxCount"},
		{"maxCount a string", `{"kind":"completed","maxCount":"5"}`, "maxCount"},
		{"unknown app", `{"kind":"completed","maxAge":"1h","app":"no-such-app"}`, "app"},
		{"app NUL", `{"kind":"completed","maxAge":"1h","app":"\u0000"}`, "app"},
		{"type with a space", `{"kind":"completed","maxAge":"1h","type":"a b"}`, "type"},
		{"type NUL", `{"kind":"completed","maxAge":"1h","type":"\u0000"}`, "type"},
	} {
		add(ret, badCase{name: tc.name, c: call{method: "PUT", path: "/v1/retention", body: tc.body}, status: 400, field: tc.field})
	}
	policy, report := b.newPolicy(), b.newTrimReport()
	add("DELETE /v1/retention/{id}", noBodyCases("", "DELETE", "/v1/retention/"+policy)...)
	const reports = "GET /v1/retention/reports"
	add(reports,
		q("unknown parameter", reports, "/v1/retention/reports?x=1", 400, "x"),
		q("limit 0", reports, "/v1/retention/reports?limit=0", 400, "limit"),
		q("limit x", reports, "/v1/retention/reports?limit=x", 400, "limit"),
		q("all maybe", reports, "/v1/retention/reports?all=maybe", 400, "all"),
		q("garbage cursor", reports, "/v1/retention/reports?cursor=abc", 400, "cursor"),
		q("a foreign cursor", reports, "/v1/retention/reports?cursor="+deadPage.NextCursor, 400, "cursor"))
	add("POST /v1/retention/reports/{id}/dismiss", noBodyCases("", "POST", "/v1/retention/reports/"+report+"/dismiss")...)
	for _, id := range badIDs {
		add("DELETE /v1/retention/{id}", badCase{name: "id " + id, c: call{method: "DELETE", path: "/v1/retention/" + id}, status: 400, field: "id"})
		add("POST /v1/retention/reports/{id}/dismiss", post("id "+id, "/v1/retention/reports/"+id+"/dismiss", "", 400, "id"))
	}

	// Replay operations.
	const replays = "GET /v1/replays"
	add(replays,
		q("unknown parameter", replays, "/v1/replays?x=1", 400, "x"),
		q("limit 0", replays, "/v1/replays?limit=0", 400, "limit"),
		q("limit 10^12", replays, "/v1/replays?limit=1000000000000", 400, "limit"),
		q("a foreign cursor", replays, "/v1/replays?cursor="+deadPage.NextCursor, 400, "cursor"),
		q("garbage cursor", replays, "/v1/replays?cursor=abc", 400, "cursor"),
		q("unknown app", replays, "/v1/replays?app=no-such-app", 400, "app"),
		q("app NUL", replays, "/v1/replays?app=%00", 400, "app"))
	op := b.newReplay(false)
	add("GET /v1/replays/{id}", q("a parameter", "GET /v1/replays/{id}", "/v1/replays/"+op+"?x=1", 400, "x"))
	for _, id := range badIDs {
		add("GET /v1/replays/{id}", q("id "+id, "GET /v1/replays/{id}", "/v1/replays/"+id, 400, "id"))
	}
	for _, verb := range []string{"pause", "resume", "cancel"} {
		route := "POST /v1/replays/{id}/" + verb
		add(route, noBodyCases("", "POST", "/v1/replays/"+op+"/"+verb)...)
		for _, id := range badIDs {
			add(route, post("id "+id, "/v1/replays/"+id+"/"+verb, "", 400, "id"))
		}
	}
	add("POST /v1/dlq/purge",
		post("replayedOnly a string", "/v1/dlq/purge", `{"replayedOnly":"yes"}`, 400, "replayedOnly"),
		post("all a string", "/v1/dlq/purge", `{"all":"true"}`, 400, "all"),
		post("a replay field", "/v1/dlq/purge", `{"type":"email.send","rate":1}`, 400, "rate"))

	// Periodic schedules.
	const schedules = "GET /v1/schedules"
	add(schedules,
		q("unknown parameter", schedules, "/v1/schedules?x=1", 400, "x"),
		q("unknown app", schedules, "/v1/schedules?app=no-such-app", 400, "app"),
		q("app NUL", schedules, "/v1/schedules?app=%00", 400, "app"),
		q("app injection", schedules, "/v1/schedules?app="+url.QueryEscape(`' OR '1'='1`), 400, "app"))
	schedule := b.newSchedule()
	add("GET /v1/schedules/{id}", q("a parameter", "GET /v1/schedules/{id}", "/v1/schedules/"+schedule+"?x=1", 400, "x"))
	add("DELETE /v1/schedules/{id}", noBodyCases("", "DELETE", "/v1/schedules/"+schedule)...)
	for _, id := range badIDs {
		add("GET /v1/schedules/{id}", q("id "+id, "GET /v1/schedules/{id}", "/v1/schedules/"+id, 400, "id"))
		add("DELETE /v1/schedules/{id}", badCase{name: "id " + id, c: call{method: "DELETE", path: "/v1/schedules/" + id}, status: 400, field: "id"})
	}

	// Job changes, pauses, disabling apps: refused before anything changes.
	for _, verb := range []string{"disable", "enable"} {
		route := "POST /v1/apps/{app}/" + verb
		add(route, noBodyCases("", "POST", acmePath+"/"+verb)...)
		for _, app := range []string{"%00", "no-such-app", "01a21a55-eb18-7ddf-8bab-c095c1bcf03f", url.PathEscape(`' OR '1'='1`)} {
			add(route, post("app "+app, "/v1/apps/"+app+"/"+verb, "", 404, "app"))
		}
	}
	job := "/v1/jobs/" + b.acmeJob.ID.String()
	for _, verb := range []string{"cancel", "retry"} {
		route := "POST /v1/jobs/{id}/" + verb
		add(route, noBodyCases("", "POST", job+"/"+verb)...)
		for _, id := range badIDs {
			add(route, post("id "+id, "/v1/jobs/"+id+"/"+verb, "", 400, "id"))
		}
	}
	add("DELETE /v1/jobs/{id}", noBodyCases("", "DELETE", job)...)
	for _, id := range badIDs {
		add("DELETE /v1/jobs/{id}", badCase{name: "id " + id, c: call{method: "DELETE", path: "/v1/jobs/" + id}, status: 400, field: "id"})
	}
	const pauses = "GET /v1/pauses"
	add(pauses,
		q("unknown parameter", pauses, "/v1/pauses?x=1", 400, "x"),
		q("a cursor", pauses, "/v1/pauses?cursor=abc", 400, "cursor"),
		q("unknown app", pauses, "/v1/pauses?app=no-such-app", 400, "app"),
		q("app NUL", pauses, "/v1/pauses?app=%00", 400, "app"),
		q("app injection", pauses, "/v1/pauses?app="+url.QueryEscape(`' OR '1'='1`), 400, "app"))
	add("POST /v1/pauses", bodyCases("", "POST", "/v1/pauses", `{"queue":"walk"}`, "queue")...)
	for _, tc := range []struct{ name, body, field string }{
		{"empty scope", `{}`, "scope"},
		{"empty strings", `{"app":"","queue":"","type":""}`, "scope"},
		{"unknown app", `{"app":"no-such-app"}`, "app"},
		{"app NUL", `{"app":"\u0000"}`, "app"},
		{"app injection", `{"app":"' OR '1'='1"}`, "app"},
		{"app a number", `{"app":1}`, "app"},
		{"queue with a space", `{"queue":"a b"}`, "queue"},
		{"queue NUL", `{"queue":"q\u0000"}`, "queue"},
		{"queue 129 chars", `{"queue":"` + strings.Repeat("q", 129) + `"}`, "queue"},
		{"queue a number", `{"queue":1}`, "queue"},
		{"type injection", `{"type":"'; DROP TABLE pauses; --"}`, "type"},
		{"type an array", `{"type":["t"]}`, "type"},
		{"a field of another route", `{"queue":"q","dryRun":true}`, "dryRun"},
	} {
		add("POST /v1/pauses", post(tc.name, "/v1/pauses", tc.body, 400, tc.field))
	}
	const resume = "DELETE /v1/pauses"
	del := func(name, query string, status int, field string) badCase {
		return badCase{name: name, c: call{method: "DELETE", path: "/v1/pauses?" + query}, status: status, field: field}
	}
	add(resume, noBodyCases("", "DELETE", "/v1/pauses?queue=walk")...)
	add(resume,
		del("empty scope", "", 400, "scope"),
		del("empty values", "app=&queue=", 400, "scope"),
		del("unknown parameter", "queue=q&x=1", 400, "x"),
		del("queue twice", "queue=a&queue=b", 400, "queue"),
		del("queue with a space", "queue=a+b", 400, "queue"),
		del("type NUL", "type=%00", 400, "type"),
		del("type invalid UTF-8", "type=%FF%FE", 400, "type"),
		del("unknown app", "app=no-such-app", 400, "app"),
		del("app injection", "app="+url.QueryEscape(`' OR '1'='1`), 400, "app"),
		del("not paused", "queue=never-paused", 404, "scope"))

	// The audit log.
	add("GET /v1/audit", listCases("", "/v1/audit", deadPage.NextCursor, "limit=5", nil)...)
	return cs
}

// TestBadInput sends the bad-input corpus to every route that takes input: each request gets
// a 4xx JSON error naming the bad field (or, for a filter value that is valid text, matches
// nothing), and changes nothing in any table.
func TestBadInput(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, dbURL string) {
		b := setup(t, dbURL, Options{})
		cases := badInputs(b)
		covered := map[string]int{}
		for _, c := range cases {
			covered[c.route]++
		}
		for _, rt := range b.table() {
			key := rt.method + " " + rt.pattern
			if covered[key] == 0 && key != "GET /healthz" && key != "GET /metrics" && key != "GET /" {
				t.Errorf("route %s has no bad-input cases", key)
			}
		}
		before := b.snapshot()
		for _, bc := range cases {
			c := bc.c
			if c.token == "" {
				c.token = b.admin
			}
			r := b.send(c)
			what := bc.route + ": " + bc.name
			switch {
			case bc.safe && r.status == http.StatusOK:
				var res struct {
					Items   []json.RawMessage `json:"items"`
					Matched *int              `json:"matched"`
				}
				r.decode(t, &res)
				if len(res.Items) != 0 || res.Matched != nil && *res.Matched != 0 {
					t.Errorf("%s: matched something: %s", what, r.body)
				}
			case r.status != bc.status:
				t.Errorf("%s: want %d, got %s", what, bc.status, r)
				continue
			default:
				e := r.errorBody(t)
				if e.Field != bc.field {
					t.Errorf("%s: want field %q, got %q (%s)", what, bc.field, e.Field, e.Error)
				}
				if e.Field != "" && !strings.HasPrefix(e.Error, e.Field+": ") && r.status < 500 {
					t.Errorf("%s: the message does not start with the field: %q", what, e.Error)
				}
			}
			if after := b.snapshot(); after != before {
				t.Fatalf("%s changed the tables", what)
			}
		}
		t.Logf("%d bad inputs", len(cases))
	})
}
