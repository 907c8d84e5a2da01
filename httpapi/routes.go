package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// access is what a route asks of the request's token. The zero value is no decision, which
// New refuses.
type access int

const (
	accessUnset access = iota
	// accessPublic: no token (health, the web UI's files, logging in with a token in the body).
	accessPublic
	// accessSession: any valid token, read-only ones included, whatever the method: the
	// session itself (who am I, log out).
	accessSession
	// accessRead: any valid token; GET routes only.
	accessRead
	// accessWrite: a token that is not read-only.
	accessWrite
	// accessAdminRead: an admin token; GET routes only.
	accessAdminRead
	// accessAdminWrite: an admin token that is not read-only.
	accessAdminWrite
	// accessMetrics: accessAdminRead, or accessPublic when Options.PublicMetrics is set.
	accessMetrics
)

// String names the access for messages and tests.
func (a access) String() string {
	switch a {
	case accessPublic:
		return "public"
	case accessSession:
		return "session"
	case accessRead:
		return "read"
	case accessWrite:
		return "write"
	case accessAdminRead:
		return "admin-read"
	case accessAdminWrite:
		return "admin-write"
	case accessMetrics:
		return "metrics"
	}
	return "unset"
}

// resource is what a route's path names. It is looked up, and checked against an app token's
// app, before the body is read.
type resource int

const (
	resourceNone resource = iota
	// resourceApp: {app}, an app id or name.
	resourceApp
	// resourceJob: {id}, a job id.
	resourceJob
	// resourceEntry: {id}, a dead-letter entry id.
	resourceEntry
	// resourceReplay: {id}, a replay operation id. An app token sees the operations whose
	// filter names its app.
	resourceReplay
	// resourcePolicy: {id}, a retention policy id. An app token sees its app's policies.
	resourcePolicy
	// resourceReport: {id}, a trim report id. An app token sees its app's reports.
	resourceReport
	// resourceSchedule: {id}, a periodic schedule id. An app token sees its app's schedules.
	resourceSchedule
)

// handler serves one route once its request is authorised and its resource resolved.
type handler func(w http.ResponseWriter, r *request) error

// route is one entry of the route table: the mux is built from the table alone, and the tests
// walk the same table.
type route struct {
	method  string
	pattern string
	access  access
	// resource is what {app} or {id} in the pattern names.
	resource resource
	// long routes (bulk replay, purge) run without Options.Timeout.
	long    bool
	handler handler
}

// check reports a route whose table entry is inconsistent.
func (rt route) check() error {
	name := rt.method + " " + rt.pattern
	switch {
	case rt.access == accessUnset:
		return fmt.Errorf("route %s has no access decision", name)
	case rt.handler == nil:
		return fmt.Errorf("route %s has no handler", name)
	case rt.method != http.MethodGet && (rt.access == accessRead || rt.access == accessAdminRead || rt.access == accessMetrics):
		return fmt.Errorf("route %s changes state but only asks for read access", name)
	case rt.resource == resourceApp && !strings.Contains(rt.pattern, "{app}"),
		(rt.resource == resourceJob || rt.resource == resourceEntry || rt.resource == resourceReplay ||
			rt.resource == resourcePolicy || rt.resource == resourceReport || rt.resource == resourceSchedule) && !strings.Contains(rt.pattern, "{id}"):
		return fmt.Errorf("route %s names a resource its pattern lacks", name)
	case rt.resource == resourceNone && strings.Contains(rt.pattern, "{"):
		return fmt.Errorf("route %s has a path value but no resource to resolve it", name)
	}
	return nil
}

// routeTable is every route of docs/http-api.md.
func (s *server) routeTable() []route {
	return []route{
		{method: "GET", pattern: "/healthz", access: accessPublic, handler: s.healthz},
		{method: "POST", pattern: "/v1/session", access: accessPublic, handler: s.createSession},
		{method: "GET", pattern: "/v1/session", access: accessSession, handler: s.getSession},
		{method: "DELETE", pattern: "/v1/session", access: accessSession, handler: s.deleteSession},
		{method: "GET", pattern: "/v1/apps", access: accessRead, handler: s.listApps},
		{method: "POST", pattern: "/v1/apps", access: accessAdminWrite, handler: s.createApp},
		{method: "PUT", pattern: "/v1/apps/{app}/limits", access: accessAdminWrite, resource: resourceApp, handler: s.setLimits},
		{method: "PATCH", pattern: "/v1/apps/{app}", access: accessAdminWrite, resource: resourceApp, handler: s.renameApp},
		{method: "GET", pattern: "/v1/apps/{app}/holdings", access: accessAdminRead, resource: resourceApp, handler: s.appHoldings},
		{method: "DELETE", pattern: "/v1/apps/{app}", access: accessAdminWrite, resource: resourceApp, long: true, handler: s.deleteApp},
		{method: "POST", pattern: "/v1/apps/{app}/disable", access: accessAdminWrite, resource: resourceApp, handler: s.disableApp},
		{method: "POST", pattern: "/v1/apps/{app}/enable", access: accessAdminWrite, resource: resourceApp, handler: s.enableApp},
		{method: "POST", pattern: "/v1/apps/{app}/jobs", access: accessWrite, resource: resourceApp, handler: s.enqueue},
		{method: "GET", pattern: "/v1/jobs", access: accessRead, handler: s.listJobs},
		{method: "GET", pattern: "/v1/jobs/{id}", access: accessRead, resource: resourceJob, handler: s.getJob},
		{method: "POST", pattern: "/v1/jobs/{id}/cancel", access: accessWrite, resource: resourceJob, handler: s.cancelJob},
		{method: "POST", pattern: "/v1/jobs/{id}/retry", access: accessWrite, resource: resourceJob, handler: s.retryJob},
		{method: "DELETE", pattern: "/v1/jobs/{id}", access: accessWrite, resource: resourceJob, handler: s.deleteJob},
		{method: "GET", pattern: "/v1/pauses", access: accessRead, handler: s.listPauses},
		{method: "POST", pattern: "/v1/pauses", access: accessWrite, handler: s.pause},
		{method: "DELETE", pattern: "/v1/pauses", access: accessWrite, handler: s.resume},
		{method: "GET", pattern: "/v1/dlq", access: accessRead, handler: s.listDead},
		{method: "GET", pattern: "/v1/dlq/groups", access: accessRead, handler: s.listGroups},
		{method: "GET", pattern: "/v1/dlq/{id}", access: accessRead, resource: resourceEntry, handler: s.getDead},
		{method: "POST", pattern: "/v1/dlq/{id}/replay", access: accessWrite, resource: resourceEntry, handler: s.replayOne},
		{method: "DELETE", pattern: "/v1/dlq/{id}", access: accessWrite, resource: resourceEntry, handler: s.deleteDead},
		{method: "POST", pattern: "/v1/dlq/replay", access: accessWrite, handler: s.replayMany},
		{method: "GET", pattern: "/v1/replays", access: accessRead, handler: s.listReplays},
		{method: "GET", pattern: "/v1/replays/{id}", access: accessRead, resource: resourceReplay, handler: s.getReplay},
		{method: "POST", pattern: "/v1/replays/{id}/pause", access: accessWrite, resource: resourceReplay, handler: s.pauseReplay},
		{method: "POST", pattern: "/v1/replays/{id}/resume", access: accessWrite, resource: resourceReplay, handler: s.resumeReplay},
		{method: "POST", pattern: "/v1/replays/{id}/cancel", access: accessWrite, resource: resourceReplay, handler: s.cancelReplay},
		{method: "POST", pattern: "/v1/dlq/purge", access: accessWrite, long: true, handler: s.purge},
		{method: "GET", pattern: "/v1/retention", access: accessAdminRead, handler: s.listRetention},
		{method: "PUT", pattern: "/v1/retention", access: accessAdminWrite, handler: s.putRetention},
		{method: "DELETE", pattern: "/v1/retention/{id}", access: accessAdminWrite, resource: resourcePolicy, handler: s.deleteRetention},
		{method: "GET", pattern: "/v1/retention/reports", access: accessAdminRead, handler: s.listTrimReports},
		{method: "POST", pattern: "/v1/retention/reports/{id}/dismiss", access: accessAdminWrite, resource: resourceReport, handler: s.dismissTrimReport},
		{method: "GET", pattern: "/v1/schedules", access: accessRead, handler: s.listSchedules},
		{method: "GET", pattern: "/v1/schedules/{id}", access: accessRead, resource: resourceSchedule, handler: s.getSchedule},
		{method: "DELETE", pattern: "/v1/schedules/{id}", access: accessWrite, resource: resourceSchedule, handler: s.deleteSchedule},
		{method: "GET", pattern: "/v1/stats", access: accessRead, handler: s.stats},
		{method: "GET", pattern: "/v1/audit", access: accessAdminRead, handler: s.listAudit},
		{method: "GET", pattern: "/v1/alerts", access: accessRead, handler: s.listAlerts},
		{method: "GET", pattern: "/v1/openapi.json", access: accessRead, handler: s.openAPI},
		{method: "GET", pattern: "/metrics", access: accessMetrics, handler: s.metrics},
		{method: "GET", pattern: "/", access: accessPublic, handler: s.ui},
	}
}

// handle runs one route: authorise, resolve the path's resource, then the handler; any error
// becomes the JSON error answer.
func (s *server) handle(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, hr *http.Request) {
		r := &request{Request: hr, w: w, s: s}
		if !rt.long {
			ctx, cancel := context.WithTimeout(hr.Context(), s.opts.Timeout)
			defer cancel()
			r.Request = hr.WithContext(ctx)
		}
		err := s.authorize(r, rt)
		if err == nil || errors.Is(err, errAdminOnly) && rt.resource != resourceNone {
			// An app token on an admin route learns nothing of other apps: their resources
			// are 404s like missing ones, and only its own app's gets the 403.
			if rerr := s.resolve(r, rt.resource); rerr != nil {
				err = rerr
			}
		}
		if err == nil {
			err = rt.handler(w, r)
		}
		if err != nil {
			s.writeError(w, r.Request, err)
		}
	})
}

// errNoMetrics answers /metrics when the server has no metrics handler.
var errNoMetrics = &apiError{status: http.StatusNotFound, msg: "metrics are not enabled on this server"}

// metrics serves GET /metrics with Options.Metrics.
func (s *server) metrics(w http.ResponseWriter, r *request) error {
	if s.opts.Metrics == nil {
		return errNoMetrics
	}
	s.opts.Metrics.ServeHTTP(w, r.Request)
	return nil
}

// uiPage is what / shows when the server has no web UI.
const uiPage = `Sluice

This server runs the Sluice HTTP API (see /v1/openapi.json, with a token) but not the web UI.
`

// ui serves the web UI, or the text page when there is none.
func (s *server) ui(w http.ResponseWriter, r *request) error {
	if s.opts.UI != nil {
		s.opts.UI.ServeHTTP(w, r.Request)
		return nil
	}
	if r.URL.Path != "/" {
		return &apiError{status: http.StatusNotFound, msg: "no page at " + r.URL.Path}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, uiPage) // a failed write has no one to tell
	return nil
}
