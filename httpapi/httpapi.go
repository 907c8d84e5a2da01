// Package httpapi is Sluice's HTTP API, the one `sluice serve` runs: JSON under /v1/ for apps,
// jobs, the dead-letter queue, stats and the audit log, bearer-token (or session-cookie)
// authentication, /healthz, /metrics and the web UI at /. docs/http-api.md is its contract;
// the OpenAPI 3.1 document it serves at /v1/openapi.json says the same for machines.
//
// # Routes and permissions
//
// Every route is one entry of a route table (routes.go) holding its method, path pattern,
// the access it needs and what its path names; the mux is built from that table alone, so a
// route cannot exist without an access decision. The order of checks on every request is:
//
//  1. authentication: a missing, malformed, unknown, revoked or expired token is 401 with
//     WWW-Authenticate: Bearer; a cookie-authenticated write from another origin is 403;
//  2. access: a read-only token on a write, or an app token on an admin route, is 403;
//  3. the resource the path names (an app, a job, a dead-letter entry) is looked up, and for
//     an app token one of another app is 404 exactly like one that does not exist;
//  4. only then is the body read, strictly: unknown fields, malformed JSON, trailing data
//     and wrong types are 400 naming the field, a body over the limit is 413.
//
// # Errors
//
// Every error is {"error": "...", "field": "..."}, field naming the bad input as the request
// spelled it. A *sluice.FieldError is 400 with its field (409 when it wraps
// sluice.ErrConflict), sluice.ErrNotFound 404, sluice.ErrAlreadyReplayed and sluice.ErrConflict
// 409, sluice.ErrUnauthorized 401, a database that does not answer 503, anything else 500
// with a generic message (the detail goes to the log).
package httpapi

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice"
)

// Options configure the handler New returns. The zero value is valid.
type Options struct {
	// Logger receives one line per request (method, route pattern, status, duration, token
	// id; never a token secret) and the detail of every internal error. Defaults to a logger
	// that discards.
	Logger *slog.Logger
	// Metrics serves GET /metrics in the Prometheus text format. Nil answers 404.
	Metrics http.Handler
	// PublicMetrics lets GET /metrics answer without a token. Otherwise it needs an admin
	// token (the metrics cover every app).
	PublicMetrics bool
	// UI serves the web UI: GET on every path outside /v1/, /healthz and /metrics. Nil
	// serves a short text page pointing to the API.
	UI http.Handler
	// MaxBodyBytes bounds a request body; a larger one is a 413. Defaults to 2 MiB.
	MaxBodyBytes int64
	// TraceURL, when set, links each job and dead-letter entry that has a trace context to
	// its trace: the template's {trace_id} is replaced by the trace id, and the result is
	// the JSON's "traceUrl" (the web UI shows it as a link). It must pass CheckTraceURL.
	TraceURL string
	// Timeout bounds one request's database work, except for bulk replays and purges, which
	// run until they are done or the client goes away. A request that runs out of it is a
	// 503. Defaults to 30s.
	Timeout time.Duration
}

// Defaults of Options.
const (
	DefaultMaxBodyBytes = 2 << 20
	DefaultTimeout      = 30 * time.Second
	// healthTimeout bounds /healthz's query: a database slower than that is not healthy.
	healthTimeout = 2 * time.Second
)

// server is the handler New returns.
type server struct {
	client *sluice.Client
	opts   Options
	log    *slog.Logger
	csrf   *http.CrossOriginProtection
	routes []route

	mux *http.ServeMux
	// apiPaths holds the API's path patterns without methods, to tell a wrong method (405)
	// from a path that is no route (404); allow lists each pattern's methods.
	apiPaths *http.ServeMux
	allow    map[string][]string
}

// New returns the HTTP API on client: every route of docs/http-api.md. It panics if a route
// of its table lacks an access decision (a programming error, caught by the tests), or if
// opts.TraceURL fails CheckTraceURL (check it first).
func New(client *sluice.Client, opts Options) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.TraceURL != "" {
		if err := CheckTraceURL(opts.TraceURL); err != nil {
			panic("httpapi: Options.TraceURL " + err.Error())
		}
	}
	s := &server{client: client, opts: opts, log: opts.Logger, csrf: http.NewCrossOriginProtection(),
		mux: http.NewServeMux(), apiPaths: http.NewServeMux(), allow: map[string][]string{}}
	s.routes = s.routeTable()
	for _, rt := range s.routes {
		if err := rt.check(); err != nil {
			panic("httpapi: " + err.Error())
		}
		s.mux.Handle(rt.method+" "+rt.pattern, s.handle(rt))
		if isAPIPath(rt.pattern) {
			if _, ok := s.allow[rt.pattern]; !ok {
				s.apiPaths.Handle(rt.pattern, http.NotFoundHandler())
			}
			s.allow[rt.pattern] = append(s.allow[rt.pattern], rt.method)
		}
	}
	return s
}

// isAPIPath reports whether a path belongs to the JSON API, whose every answer is JSON.
func isAPIPath(path string) bool { return path == "/v1" || strings.HasPrefix(path, "/v1/") }

// requestInfo is what a request's log line needs from deeper down.
type requestInfo struct {
	tokenID uuid.UUID
}

type requestInfoKey struct{}

// ServeHTTP routes the request and logs it.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	info := &requestInfo{}
	r = r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info))
	sw := &statusWriter{ResponseWriter: w}
	s.dispatch(sw, r)
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	pattern := r.Pattern
	if pattern == "" {
		pattern = "(no route)"
	}
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("pattern", pattern),
		slog.Int("status", sw.status),
		slog.Duration("duration", time.Since(start)),
	}
	if info.tokenID != uuid.Nil {
		attrs = append(attrs, slog.String("token", info.tokenID.String()))
	}
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "http request", attrs...)
}

// dispatch hands the request to its route. A path under /v1/ that no route takes is answered
// in JSON: 405 naming the allowed methods when the path exists, else 404.
func (s *server) dispatch(w http.ResponseWriter, r *http.Request) {
	if isAPIPath(r.URL.Path) {
		if _, pattern := s.mux.Handler(r); pattern == "" || !isAPIPath(patternPath(pattern)) {
			s.noRoute(w, r)
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// patternPath is the path part of a mux pattern ("GET /v1/dlq/{id}" -> "/v1/dlq/{id}").
func patternPath(pattern string) string {
	if i := strings.IndexByte(pattern, ' '); i >= 0 {
		return pattern[i+1:]
	}
	return pattern
}

// noRoute answers a request under /v1/ that matches no route.
func (s *server) noRoute(w http.ResponseWriter, r *http.Request) {
	if _, path := s.apiPaths.Handler(r); path != "" {
		methods := slices.Clone(s.allow[path])
		if slices.Contains(methods, http.MethodGet) {
			methods = append(methods, http.MethodHead)
		}
		w.Header().Set("Allow", strings.Join(methods, ", "))
		s.writeError(w, r, &apiError{status: http.StatusMethodNotAllowed,
			msg: r.Method + " is not allowed on " + path + "; allowed: " + strings.Join(methods, ", ")})
		return
	}
	s.writeError(w, r, &apiError{status: http.StatusNotFound, msg: "no route for " + r.Method + " " + r.URL.Path})
}

// statusWriter remembers the status a handler wrote, for the log line.
type statusWriter struct {
	http.ResponseWriter
	status int
}

// WriteHeader records the status and writes it.
func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write records the implicit 200 of a body written without a status.
func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
