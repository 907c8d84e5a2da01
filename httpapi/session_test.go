package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// sessionCookieOf returns the session cookie a reply sets, failing the test unless there is
// exactly one Set-Cookie header.
func sessionCookieOf(t *testing.T, r reply) *http.Cookie {
	t.Helper()
	raw := r.header.Values("Set-Cookie")
	if len(raw) != 1 {
		t.Fatalf("want one Set-Cookie, got %q", raw)
	}
	c, err := http.ParseSetCookie(raw[0])
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSession logs in with POST /v1/session and checks the cookie's attributes exactly, that
// the cookie authenticates reads and same-origin writes, that cross-origin cookie writes are
// 403 and change nothing (bearer writes are exempt), and logging out.
func TestSession(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, dbURL string) {
		b := setup(t, dbURL, Options{})
		r := b.ok(204, call{method: "POST", path: "/v1/session", body: `{"token":"` + b.admin + `"}`})
		c := sessionCookieOf(t, r)
		if c.Name != "sluice_session" || c.Value != b.admin || c.Path != "/" || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode ||
			c.Secure || c.Domain != "" || c.MaxAge != 0 || !c.Expires.IsZero() {
			t.Fatalf("session cookie over plain HTTP: %q", r.header.Get("Set-Cookie"))
		}
		if want := "sluice_session=" + b.admin + "; Path=/; HttpOnly; SameSite=Strict"; r.header.Get("Set-Cookie") != want {
			t.Fatalf("Set-Cookie %q, want %q", r.header.Get("Set-Cookie"), want)
		}
		if len(r.body) != 0 {
			t.Fatalf("204 with a body: %s", r.body)
		}

		// Over TLS the cookie is Secure.
		tlsSrv := httptest.NewTLSServer(b.srv.Config.Handler)
		defer tlsSrv.Close()
		r = send(t, tlsSrv, call{method: "POST", path: "/v1/session", body: `{"token":"` + b.acmeRO + `"}`})
		if c := sessionCookieOf(t, r); r.status != 204 || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
			t.Fatalf("session cookie over TLS: %s %q", r, r.header.Get("Set-Cookie"))
		}

		// A bad token sets no cookie.
		r = b.send(call{method: "POST", path: "/v1/session", body: `{"token":"` + b.revoked + `"}`})
		if r.status != 401 || r.header.Get("WWW-Authenticate") != "Bearer" || len(r.header.Values("Set-Cookie")) != 0 {
			t.Fatalf("login with a revoked token: %s %v", r, r.header)
		}

		// The cookie authenticates reads.
		var who sessionInfo
		b.ok(200, call{method: "GET", path: "/v1/session", cookie: b.admin}).decode(t, &who)
		if !who.Admin || who.ReadOnly || who.AppID != nil || who.Name != "admin" || who.TokenID != b.adminID {
			t.Fatalf("session: %+v", who)
		}
		b.ok(200, call{method: "GET", path: "/v1/dlq", cookie: b.admin, header: map[string]string{"Sec-Fetch-Site": "cross-site"}})

		// Cross-origin writes with the cookie are refused and change nothing.
		entry := "/v1/dlq/" + b.acmeEntries[0].ID.String()
		before := b.snapshot()
		for name, h := range map[string]map[string]string{
			"Sec-Fetch-Site cross-site":                  {"Sec-Fetch-Site": "cross-site"},
			"Sec-Fetch-Site same-site":                   {"Sec-Fetch-Site": "same-site"},
			"foreign Origin":                             {"Origin": "https://evil.example"},
			"foreign Origin, same host name, other port": {"Origin": "http://127.0.0.1:1"},
		} {
			for _, c := range []call{
				{method: "POST", path: entry + "/replay"},
				{method: "DELETE", path: entry},
				{method: "POST", path: "/v1/dlq/purge", body: `{"all":true}`},
				{method: "POST", path: "/v1/dlq/replay", body: `{"type":"email.send"}`},
				{method: "POST", path: "/v1/apps/acme/jobs", body: `{"type":"t","payload":{}}`},
				{method: "POST", path: "/v1/apps", body: `{"name":"csrf"}`},
				{method: "DELETE", path: "/v1/session"},
				{method: "POST", path: "/v1/session", body: `{"token":"` + b.acmeTok + `"}`},
			} {
				c.cookie, c.header = b.admin, h
				r := b.send(c)
				if r.status != 403 || len(r.header.Values("Set-Cookie")) != 0 {
					t.Fatalf("%s %s with %s: %s", c.method, c.path, name, r)
				}
				if e := r.errorBody(t); !strings.Contains(e.Error, "cross-origin") {
					t.Fatalf("%s %s with %s: %q", c.method, c.path, name, e.Error)
				}
			}
		}
		if b.snapshot() != before {
			t.Fatal("refused cross-origin writes changed the tables")
		}

		// The same writes from the same origin work: Sec-Fetch-Site, or an Origin of this server.
		b.ok(200, call{method: "POST", path: entry + "/replay", cookie: b.admin, header: map[string]string{"Sec-Fetch-Site": "same-origin"}})
		b.ok(204, call{method: "DELETE", path: entry, cookie: b.admin, header: map[string]string{"Origin": b.srv.URL}})
		b.ok(201, call{method: "POST", path: "/v1/apps/acme/jobs", cookie: b.admin, body: `{"type":"t","payload":{}}`,
			header: map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": b.srv.URL}})
		// A read-only token's cookie still may not write, from any origin.
		b.fail(403, "", call{method: "POST", path: "/v1/dlq/" + b.acmeEntries[1].ID.String() + "/replay", cookie: b.acmeRO,
			header: map[string]string{"Sec-Fetch-Site": "same-origin"}})
		// Bearer-token writes are not subject to the origin check.
		b.ok(200, call{method: "POST", path: "/v1/dlq/" + b.acmeEntries[1].ID.String() + "/replay", token: b.admin,
			header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}})

		// Logging out clears the cookie; a read-only token may log out.
		r = b.ok(204, call{method: "DELETE", path: "/v1/session", cookie: b.acmeRO, header: map[string]string{"Sec-Fetch-Site": "same-origin"}})
		if c := sessionCookieOf(t, r); c.Name != "sluice_session" || c.Value != "" || c.MaxAge != -1 || c.Path != "/" || !c.HttpOnly ||
			c.SameSite != http.SameSiteStrictMode || !strings.Contains(r.header.Get("Set-Cookie"), "Max-Age=0") {
			t.Fatalf("logout: %q", r.header.Get("Set-Cookie"))
		}
		// A cookie whose token was revoked no longer works.
		if err := b.client.RevokeToken(b.ctx, b.adminID); err != nil {
			t.Fatal(err)
		}
		b.fail(401, "", call{method: "GET", path: "/v1/session", cookie: b.admin})
	})
}
