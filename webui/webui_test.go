package webui_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/webui"
)

func get(t *testing.T, h http.Handler, method, path string, header ...string) *http.Response {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// assetRefs finds the hashed asset paths the page refers to.
var assetRefs = regexp.MustCompile(`"assets/([a-z]+)\.([0-9a-f]{12})\.(js|css|svg)"`)

func TestPageAndAssets(t *testing.T) {
	t.Parallel()
	h := webui.Handler()
	res := get(t, h, http.MethodGet, "/")
	page := body(t, res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /: %d", res.StatusCode)
	}
	for k, want := range map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Content-Security-Policy": webui.ContentSecurityPolicy,
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"X-Frame-Options":         "DENY",
		"Cache-Control":           "no-cache",
	} {
		if got := res.Header.Get(k); got != want {
			t.Errorf("GET / %s = %q, want %q", k, got, want)
		}
	}
	for _, d := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
		"frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"} {
		if !strings.Contains(webui.ContentSecurityPolicy, d) {
			t.Errorf("the policy lacks %q", d)
		}
	}
	if strings.Contains(webui.ContentSecurityPolicy, "unsafe") {
		t.Errorf("the policy allows something unsafe: %s", webui.ContentSecurityPolicy)
	}

	refs := assetRefs.FindAllStringSubmatch(page, -1)
	types := map[string]string{"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8", "svg": "image/svg+xml"}
	if len(refs) != 3 {
		t.Fatalf("the page refers to %d hashed assets, want 3:\n%s", len(refs), page)
	}
	for _, ref := range refs {
		path := "/assets/" + ref[1] + "." + ref[2] + "." + ref[3]
		res := get(t, h, http.MethodGet, path)
		b := body(t, res)
		if res.StatusCode != http.StatusOK || len(b) == 0 {
			t.Fatalf("GET %s: %d, %d bytes", path, res.StatusCode, len(b))
		}
		if got := res.Header.Get("Content-Type"); got != types[ref[3]] {
			t.Errorf("GET %s: Content-Type %q, want %q", path, got, types[ref[3]])
		}
		if got := res.Header.Get("Cache-Control"); !strings.Contains(got, "immutable") {
			t.Errorf("GET %s: Cache-Control %q, want immutable (the name carries the hash)", path, got)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff", path)
		}
		etag := res.Header.Get("ETag")
		if etag == "" {
			t.Fatalf("GET %s: no ETag", path)
		}
		if res := get(t, h, http.MethodGet, path, "If-None-Match", etag); res.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: %d, want 304", path, res.StatusCode)
		}
		if res := get(t, h, http.MethodHead, path); res.StatusCode != http.StatusOK || body(t, res) != "" {
			t.Errorf("HEAD %s: %d", path, res.StatusCode)
		}
		// The name without the hash, or with another hash, is not served: a page always
		// asks for exactly the version it was built with.
		for _, stale := range []string{"/assets/" + ref[1] + "." + ref[3], "/assets/" + ref[1] + ".000000000000." + ref[3]} {
			if res := get(t, h, http.MethodGet, stale); res.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", stale, res.StatusCode)
			}
		}
	}
}

func TestUnknownPathsAndMethods(t *testing.T) {
	t.Parallel()
	h := webui.Handler()
	for _, path := range []string{"/dlq", "/assets/", "/assets/evil.js", "/static/app.js", "/index.htm", "/../webui.go"} {
		res := get(t, h, http.MethodGet, path)
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, res.StatusCode)
		}
		if res.Header.Get("Content-Security-Policy") == "" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: the 404 lacks the security headers", path)
		}
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		res := get(t, h, m, "/")
		if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s /: %d, Allow %q", m, res.StatusCode, res.Header.Get("Allow"))
		}
	}
}

// TestNoMarkupFromData guards the rule the browser tests prove for the screens they visit:
// the page has no inline script or style, and the script never parses HTML.
func TestNoMarkupFromData(t *testing.T) {
	t.Parallel()
	h := webui.Handler()
	page := body(t, get(t, h, http.MethodGet, "/"))
	if regexp.MustCompile(`<script(?:\s+type="module")?>|<style|\sstyle=|\son[a-z]+=`).MatchString(page) {
		t.Errorf("index.html has an inline script, style or event handler:\n%s", page)
	}
	ref := assetRefs.FindStringSubmatch(page)
	for _, m := range assetRefs.FindAllStringSubmatch(page, -1) {
		if m[3] == "js" {
			ref = m
		}
	}
	script := body(t, get(t, h, http.MethodGet, "/assets/"+ref[1]+"."+ref[2]+".js"))
	for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "createContextualFragment",
		"DOMParser", "eval(", "new Function", "setAttribute('style'", ".style."} {
		if strings.Contains(script, sink) {
			t.Errorf("app.js uses %s", sink)
		}
	}
}
