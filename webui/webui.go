// Package webui serves Sluice's web UI for dead-letter triage: one page, its script, style
// sheet and icon, embedded in the binary. The page talks to the JSON API under /v1/ (see
// docs/http-api.md) with the HttpOnly session cookie that POST /v1/session sets; it never
// holds the token itself.
//
// The UI routes with the URL fragment (#/dlq?app=acme&type=invoice.charge), so the server
// answers only "/" with the page, the assets under /assets/ by their content-hashed names,
// and 404 for anything else. Every response carries a strict Content-Security-Policy: the
// page runs only its own script and style sheet, cannot be framed, and renders everything
// the API returns as text.
package webui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// ContentSecurityPolicy is the policy every response of the UI carries. It allows the
// page's own script, style sheet and images (and data: images), and nothing inline.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

//go:embed static
var static embed.FS

// assetNames are the files index.html refers to as "assets/NAME"; the handler serves each
// under a name that carries a hash of its content, so a browser may cache it for good.
var assetNames = []string{"app.js", "app.css", "favicon.svg"}

var contentTypes = map[string]string{
	".js":  "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
	".svg": "image/svg+xml",
}

type file struct {
	body        []byte
	contentType string
	etag        string
}

type handler struct {
	index  file
	assets map[string]file // by URL path
}

var build = sync.OnceValue(func() *handler {
	h := &handler{assets: map[string]file{}}
	index := mustRead("index.html")
	for _, name := range assetNames {
		body := mustRead(name)
		sum := sha256.Sum256(body)
		hash := hex.EncodeToString(sum[:6])
		ext := path.Ext(name)
		hashed := "assets/" + strings.TrimSuffix(name, ext) + "." + hash + ext
		ref := []byte(`"assets/` + name + `"`)
		if !bytes.Contains(index, ref) {
			panic("webui: index.html does not refer to assets/" + name)
		}
		index = bytes.ReplaceAll(index, ref, []byte(`"`+hashed+`"`))
		h.assets["/"+hashed] = file{body: body, contentType: contentTypes[ext], etag: `"` + hash + `"`}
	}
	sum := sha256.Sum256(index)
	h.index = file{body: index, contentType: "text/html; charset=utf-8", etag: `"` + hex.EncodeToString(sum[:6]) + `"`}
	return h
})

func mustRead(name string) []byte {
	b, err := static.ReadFile("static/" + name)
	if err != nil {
		panic("webui: " + err.Error())
	}
	return b
}

// Handler returns the handler of the web UI, to be mounted at "/". It answers GET and HEAD
// only: "/" (and "/index.html") with the page, revalidated on every load; "/assets/…" with
// the page's script, style sheet and icon under content-hashed names, cached for a year;
// anything else with 404. Every answer carries ContentSecurityPolicy, X-Content-Type-Options:
// nosniff, Referrer-Policy: no-referrer and X-Frame-Options: DENY.
func Handler() http.Handler { return build() }

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", ContentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var f file
	switch p := r.URL.Path; {
	case p == "/" || p == "/index.html":
		f = h.index
		hd.Set("Cache-Control", "no-cache")
	default:
		var ok bool
		if f, ok = h.assets[p]; !ok {
			hd.Set("Cache-Control", "no-store")
			http.NotFound(w, r)
			return
		}
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	}
	hd.Set("Content-Type", f.contentType)
	hd.Set("ETag", f.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}
